"""Fixtures of the pipelines' tests: finished tfhar runs written without training."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def tfhar_run() -> Callable[..., Path]:
    """`tfhar_run(run_dir, config, overrides, **metrics)`: a finished run directory as
    tfhar.train leaves it (marker, resolved config.yaml, metrics.json), without training."""
    from tfhar.config import dump_config, load_config
    from tfhar.experiment.run_directory import RunDirectory, write_marker

    def make(run_dir: Path, config: Path, overrides: list[str], **metrics) -> Path:
        run_dir.mkdir(parents=True)
        write_marker(run_dir, RunDirectory.KIND)
        (run_dir / "config.yaml").write_text(dump_config(load_config(config, overrides)))
        (run_dir / "metrics.json").write_text(json.dumps(
            {"macro_f1": 0.5, "num_test_samples": 430, "wall_time_s": 10.0, **metrics}))
        return run_dir

    return make


@pytest.fixture
def no_training(monkeypatch) -> None:
    """Any training (a subprocess or tfhar.train in this process) fails the test."""

    def fail(*args, **kwargs):
        raise AssertionError("a training run was started")

    monkeypatch.setattr("subprocess.run", fail)
    monkeypatch.setattr("tfhar.train.main", fail)
