"""Fixtures for the data tests: small fake UTD-MHAD layouts written with scipy.io.savemat."""

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest
import scipy.io

Key = tuple[int, int, int]
KEYS: tuple[Key, ...] = ((2, 1, 1), (1, 2, 1), (1, 1, 2), (1, 1, 1), (3, 4, 4))


def write_utd(
    root: Path,
    keys: Iterable[Key] = KEYS,
    inertial_length: int = 64,
    skeleton_length: int = 40,
    modalities: Iterable[str] = ("inertial", "skeleton"),
    seed: int = 0,
) -> Path:
    """Write aA_sS_tT_{inertial,skeleton}.mat files in the official layout under `root`."""
    rng = np.random.default_rng(seed)
    for modality in modalities:
        (root / modality.capitalize()).mkdir(parents=True, exist_ok=True)
    for action, subject, trial in keys:
        stem = f"a{action}_s{subject}_t{trial}"
        if "inertial" in modalities:
            scipy.io.savemat(
                root / "Inertial" / f"{stem}_inertial.mat",
                {"d_iner": rng.normal(size=(inertial_length, 6))},
            )
        if "skeleton" in modalities:
            pose = rng.normal(size=(20, 3, 1)) + np.arange(20)[:, None, None]
            scipy.io.savemat(
                root / "Skeleton" / f"{stem}_skeleton.mat",
                {"d_skel": pose + 0.1 * rng.normal(size=(20, 3, skeleton_length))},
            )
    return root


@pytest.fixture
def fake_utd(tmp_path: Path) -> Callable[..., Path]:
    """write_utd(**kwargs) into tmp_path / "utd_mhad"; returns the root."""
    return lambda **kwargs: write_utd(tmp_path / "utd_mhad", **kwargs)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
