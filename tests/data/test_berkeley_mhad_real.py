"""The Berkeley-MHAD loader on the real accelerometer release (needs TFHAR_DATA_DIR).

The shared folder holds the 658 complete trials of the official `Accelerometer/` folder and no
motion capture. Every one of them passes the loader's rules (largest packet gap inside a
common interval 1.19 s < 1.5 s; shortest common interval 1.21 s > 1.0 s and 48% of its trial
> 40%), so all 658 load; 16 glitch samples in 15 trials are dropped and interpolated.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

import tfhar.data
from tfhar.data.datasets import berkeley_mhad


@pytest.fixture(scope="module")
def berkeley_root() -> Path:
    data_dir = os.environ.get("TFHAR_DATA_DIR")
    if not data_dir:
        pytest.skip("TFHAR_DATA_DIR is not set: real Berkeley-MHAD tests need it (CI sets it)")
    root = Path(data_dir) / "berkeley_mhad"
    if not (root / "Accelerometer").is_dir():
        pytest.skip(f"no Berkeley-MHAD accelerometers at {root}")
    return root


@pytest.fixture(scope="module")
def loaded(berkeley_root, tmp_path_factory):
    """(record, the warnings its load gave)."""
    with pytest.warns(UserWarning) as warned:
        record = tfhar.data.load(
            "berkeley_mhad",
            berkeley_root,
            modalities=("inertial",),
            cache_dir=tmp_path_factory.mktemp("cache"),
        )
    return record, [str(w.message) for w in warned]


@pytest.fixture(scope="module")
def record(loaded):
    return loaded[0]


def test_counts_shapes_and_labels(record):
    assert record.inertial.shape == (658, 50, 18) and record.inertial.dtype == np.float32
    assert np.isfinite(record.inertial).all() and record.skeleton is None
    np.testing.assert_array_equal(np.unique(record.labels), np.arange(11))
    np.testing.assert_array_equal(np.unique(record.subjects), np.arange(1, 13))
    np.testing.assert_array_equal(np.unique(record.trials), np.arange(1, 6))
    # 60 per class but clapping (a07) and throwing (a08), each missing one absent trial.
    np.testing.assert_array_equal(np.bincount(record.labels), [60] * 6 + [59, 59] + [60] * 3)


def test_the_two_absent_trials_are_the_only_ones_missing(record):
    keys = set(zip(record.labels + 1, record.subjects, record.trials, strict=True))
    assert len(keys) == 658
    assert berkeley_mhad.ABSENT == {(7, 2, 5), (8, 4, 5)}  # s02_a07_r05 and s04_a08_r05.
    assert not berkeley_mhad.ABSENT & keys


def test_cleaning_summary_and_durations(loaded):
    record, warned = loaded
    assert warned == [
        "Berkeley-MHAD: 15 sequences with 16 glitch samples (|a| > 2.5 g) interpolated, 658 "
        "sequences kept: s03_a01_r01 (acc_h05_s03_a01_r01.txt: 1); s02_a02_r02 "
        "(acc_h05_s02_a02_r02.txt: 1); s06_a02_r01 (acc_h06_s06_a02_r01.txt: 1); ..."
    ]
    assert record.source.endswith(
        "accelerometers on a 30 Hz grid over the six units' common interval: 16 glitch samples "
        "(|a| > 2.5 g) dropped, 0 repeated timestamps merged, gaps up to 1.19 s interpolated"
    )
    assert 1.2 <= record.durations.min() and record.durations.max() <= 30.3
    # Saturation at 2 g, plus the ringing of the FFT resampling around it.
    assert np.abs(record.inertial).max() < 3.0


def test_a_trial_matches_an_independent_computation(record, berkeley_root):
    # s01_a01_r01: each unit linearly interpolated at 30 Hz over the common interval.
    rows = [
        np.loadtxt(
            berkeley_root / "Accelerometer" / f"Shimmer{u:02d}" / f"acc_h{u:02d}_s01_a01_r01.txt"
        )
        for u in range(1, 7)
    ]
    start, end = max(r[0, 3] for r in rows), min(r[-1, 3] for r in rows)
    grid = np.arange(0, end - start + 1e-9, 1 / 30)  # Seconds from the start, for precision.
    lines = np.concatenate(
        [np.stack([np.interp(grid, r[:, 3] - start, r[:, c]) for c in range(3)], 1) for r in rows],
        1,
    )
    (row,) = np.flatnonzero((record.labels == 0) & (record.subjects == 1) & (record.trials == 1))
    np.testing.assert_allclose(
        record.inertial[row], scipy.signal.resample(lines, 50), rtol=1e-4, atol=1e-4
    )


def test_splits_of_the_real_data(record):
    parts = tfhar.data.split(record, "cross_subject")
    assert sorted(np.unique(parts["train"].subjects)) == [1, 2, 3, 4, 5, 6]
    assert sorted(np.unique(parts["val"].subjects)) == [7]
    assert sorted(np.unique(parts["test"].subjects)) == [8, 9, 10, 11, 12]
    assert sum(len(p) for p in parts.values()) == 658
    paper = tfhar.data.split(record, "paper")
    assert (len(paper["train"]), paper["val"], len(paper["test"])) == (
        len(parts["train"]) + len(parts["val"]),
        None,
        len(parts["test"]),
    )
