"""Shared fixtures: the real-data root (skips with a reason when TFHAR_DATA_DIR is unset)."""

import os
from pathlib import Path

import pytest

import tfhar  # noqa: F401  (before TensorFlow loads: it sets TF's environment, as for users)


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
