"""Fixtures for the `python -m tfhar.train` tests (train_cli and smoke_run are in
tests/conftest.py, shared with the pipelines' tests): tiny overrides, copies of smoke runs."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

# A tiny variant of the smoke data and schedules for tests about the CLI rather than learning:
# 2 windows per class and subject (train 36, validation 12, test 48), one epoch per stage.
TINY = ["data.options.samples_per_class_per_subject=2", "finetune.epochs=1",
        "runtime.verbose=0"]
PRETRAIN_TINY = ["pretrain.epochs=1"]  # Refused for supervised configs, which never pre-train.


@pytest.fixture(scope="session", autouse=True)
def restore_op_determinism():
    """`main` enables TF op determinism process-wide; later test folders get it back off."""
    yield
    from tensorflow.python.framework import config as tf_config  # No public switch-off.

    tf_config.disable_op_determinism()


@pytest.fixture(scope="session")
def tiny() -> list[str]:
    """`--set` arguments for a tiny, fast run of a synthetic SSL smoke config."""
    return [arg for override in TINY + PRETRAIN_TINY for arg in ("--set", override)]


@pytest.fixture(scope="session")
def tiny_supervised() -> list[str]:
    """`--set` arguments for a tiny, fast run of a synthetic supervised smoke config."""
    return [arg for override in TINY for arg in ("--set", override)]


@pytest.fixture
def copied_run(smoke_run, tmp_path) -> Callable[[str], Path]:
    """`copied_run(name)`: a private copy of a smoke run directory, for tests that change it."""

    def copy(name: str) -> Path:
        return Path(shutil.copytree(smoke_run(name).run_dir, tmp_path / f"copy_{name}"))

    return copy
