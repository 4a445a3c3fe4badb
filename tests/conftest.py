"""Shared fixtures: the real-data root (skips with a reason when TFHAR_DATA_DIR is unset), an
isolated data cache, and `python -m tfhar.train` called in this process with its smoke runs.

Training is the slow part, so each synthetic smoke config is trained at most once per session
and its run directory is shared (by the train tests and the pipelines' tests); tests that change
a run work on a copy.
"""

import contextlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# Precision `auto` is bfloat16 on CPUs with bfloat16 units and float32 elsewhere: the suite's
# figures and tolerances must not depend on the machine it runs on.
os.environ.setdefault("TFHAR_AUTO_PRECISION", "float32")

import tfhar  # noqa: E402, F401  (before TensorFlow loads: it sets TF's environment, as for users)

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "synthetic"


@pytest.fixture(scope="session")
def utd_root() -> Path:
    """The real UTD-MHAD folder, from TFHAR_DATA_DIR (CI sets it to ../shared/data)."""
    data_dir = os.environ.get("TFHAR_DATA_DIR")
    if not data_dir:
        pytest.skip("TFHAR_DATA_DIR is not set: real UTD-MHAD tests need it (CI sets it)")
    root = Path(data_dir) / "utd_mhad"
    if not (root / "Inertial").is_dir():
        pytest.skip(f"no UTD-MHAD at {root}")
    return root


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


@pytest.fixture(scope="session")
def smoke_config() -> Callable[[str], str]:
    """`smoke_config(name)`: the path of configs/synthetic/<name>.yaml."""
    return lambda name: str(CONFIGS / f"{name}.yaml")


@pytest.fixture(scope="session")
def train_cli() -> Callable[..., Run]:
    """`train_cli(run_dir, *args)`: `python -m tfhar.train --run-dir RUN_DIR ARGS` in-process."""

    def call(run_dir: Path, *args: str) -> Run:
        from tfhar.train import main

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
