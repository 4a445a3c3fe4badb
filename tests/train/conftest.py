"""Fixtures for the `python -m tfhar.train` tests: the CLI in this process, shared smoke runs.

Training is the slow part, so each synthetic smoke config is trained at most once per session
and its run directory is shared; tests that change a run work on a copy.
"""

import contextlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tfhar.train import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "synthetic"
# A tiny variant of the smoke data and schedules for tests about the CLI rather than learning:
# 2 windows per class and subject (train 36, validation 12, test 48), one epoch per stage.
TINY = ["data.options.samples_per_class_per_subject=2", "pretrain.epochs=1",
        "finetune.epochs=1", "runtime.verbose=0"]


@dataclass(frozen=True)
class Run:
    """A finished `main([...])` call: exit code, what it printed and its run directory."""

    code: int
    stdout: str
    run_dir: Path

    @property
    def metrics(self) -> dict:
        return json.loads((self.run_dir / "metrics.json").read_text())


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Preprocessed-data caches go to a temporary folder, for this process and subprocesses."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFHAR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session", autouse=True)
def restore_op_determinism():
    """`main` enables TF op determinism process-wide; later test folders get it back off."""
    yield
    from tensorflow.python.framework import config as tf_config  # No public switch-off.

    tf_config.disable_op_determinism()


@pytest.fixture(scope="session")
def smoke_config() -> Callable[[str], str]:
    """`smoke_config(name)`: the path of configs/synthetic/<name>.yaml."""
    return lambda name: str(CONFIGS / f"{name}.yaml")


@pytest.fixture(scope="session")
def tiny() -> list[str]:
    """`--set` arguments for a tiny, fast run of any synthetic smoke config."""
    return [arg for override in TINY for arg in ("--set", override)]


@pytest.fixture(scope="session")
def train_cli() -> Callable[..., Run]:
    """`train_cli(run_dir, *args)`: `python -m tfhar.train --run-dir RUN_DIR ARGS` in-process."""

    def call(run_dir: Path, *args: str) -> Run:
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            code = main(["--run-dir", str(run_dir), *args])
        return Run(code, stdout.getvalue(), Path(run_dir))

    return call


@pytest.fixture(scope="session")
def smoke_run(train_cli, smoke_config, tmp_path_factory) -> Callable[[str], Run]:
    """`smoke_run(name)`: the finished run of configs/synthetic/<name>.yaml, trained once."""
    runs: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in runs:
            run_dir = tmp_path_factory.mktemp("smoke") / name
            runs[name] = train_cli(run_dir, "--config", smoke_config(name))
        return runs[name]

    return get


@pytest.fixture
def copied_run(smoke_run, tmp_path) -> Callable[[str], Path]:
    """`copied_run(name)`: a private copy of a smoke run directory, for tests that change it."""

    def copy(name: str) -> Path:
        return Path(shutil.copytree(smoke_run(name).run_dir, tmp_path / f"copy_{name}"))

    return copy
