"""The UTD-MHAD loader on the real data (needs TFHAR_DATA_DIR, see the `utd_root` fixture)."""

import warnings

import numpy as np
import pytest
import scipy.io
import scipy.signal

import tfhar.data
from tfhar.data.datasets import utd_mhad


@pytest.fixture(scope="module")
def record(utd_root, tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Nothing skipped or repaired in the official release.
        return tfhar.data.load("utd_mhad", utd_root, cache_dir=tmp_path_factory.mktemp("cache"))


def test_shapes_and_labels(record):
    assert record.inertial.shape == (861, 50, 6) and record.inertial.dtype == np.float32
    assert record.skeleton.shape == (861, 50, 20, 3) and record.skeleton.dtype == np.float32
    assert record.num_classes == 27 and len(record.class_names) == 27
    np.testing.assert_array_equal(np.unique(record.labels), np.arange(27))
    np.testing.assert_array_equal(np.unique(record.subjects), np.arange(1, 9))
    np.testing.assert_array_equal(np.unique(record.trials), np.arange(1, 5))
    assert record.class_names[2] == "right hand wave"
    assert record.joint_names[:3] == ("head", "shoulder_center", "spine")
    assert record.joint_names[-1] == "right_foot"


def test_rows_are_sorted_and_the_three_absent_sequences_missing(record):
    keys = list(zip(record.labels + 1, record.subjects, record.trials, strict=True))
    assert keys == sorted(keys)
    assert len(set(keys)) == 861
    assert not {(8, 1, 4), (23, 6, 4), (27, 8, 4)} & set(keys)


def test_durations_are_the_raw_inertial_lengths(record, utd_root):
    raw = scipy.io.loadmat(utd_root / "Inertial" / "a1_s1_t1_inertial.mat")["d_iner"]
    assert record.durations[0] == pytest.approx(len(raw) / 50)
    assert 107 / 50 <= record.durations.min() and record.durations.max() <= 326 / 50


@pytest.mark.parametrize("key", [(1, 1, 1), (8, 1, 3), (14, 5, 2), (27, 8, 3)])
def test_matches_an_independent_computation(record, utd_root, key):
    action, subject, trial = key
    stem = f"a{action}_s{subject}_t{trial}"
    (row,) = np.flatnonzero(
        (record.labels == action - 1) & (record.subjects == subject) & (record.trials == trial)
    )
    inertial = scipy.io.loadmat(utd_root / "Inertial" / f"{stem}_inertial.mat")["d_iner"]
    np.testing.assert_allclose(
        record.inertial[row], scipy.signal.resample(inertial, 50, axis=0), rtol=1e-5, atol=1e-4
    )
    joints = scipy.io.loadmat(utd_root / "Skeleton" / f"{stem}_skeleton.mat")["d_skel"]
    joints = scipy.signal.resample(joints, 50, axis=2)  # (20, 3, 50), as the authors' code.
    joints = joints - joints[2, :, 0][None, :, None]
    joints = joints / np.linalg.norm(joints[1, :, 0] - joints[2, :, 0])
    np.testing.assert_allclose(
        record.skeleton[row], joints.transpose(2, 0, 1), rtol=1e-5, atol=1e-4
    )


def test_the_real_data_passes_the_plausibility_checks_unchanged(
    record, utd_root, tmp_path, recwarn
):
    # No all-zero skeleton frame, no implausible duration: nothing skipped, repaired or warned
    # (the `record` fixture turns warnings into errors).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        skeleton = tfhar.data.load(
            "utd_mhad", utd_root, cache_dir=tmp_path, modalities=("skeleton",)
        )
    ratio = record.durations / skeleton.durations  # Inertial vs skeleton seconds, per sequence.
    assert 1.4 < ratio.min() and ratio.max() == pytest.approx(4.42 / (49 / 30), abs=1e-4)
    assert ratio.max() < utd_mhad.MAX_DURATION_RATIO
    assert skeleton.durations.min() == pytest.approx(41 / 30)
    assert record.durations.min() == pytest.approx(107 / 50)
    assert skeleton.durations.min() > utd_mhad.MIN_DURATION_S
    # The skeletons are those of the full load: no frame was trimmed or filled.
    np.testing.assert_array_equal(skeleton.skeleton, record.skeleton)


def test_second_load_comes_from_the_cache(utd_root, tmp_path, monkeypatch):
    first = tfhar.data.load("utd_mhad", utd_root, cache_dir=tmp_path, modalities=("inertial",))

    def fail(*args, **kwargs):
        raise AssertionError("loadmat called although the cache is valid")

    monkeypatch.setattr(scipy.io, "loadmat", fail)
    second = tfhar.data.load("utd_mhad", utd_root, cache_dir=tmp_path, modalities=("inertial",))
    np.testing.assert_array_equal(second.inertial, first.inertial)
    assert second.skeleton is None


def test_splits_of_the_real_data(record):
    parts = tfhar.data.split(record, "cross_subject")
    assert (len(parts["train"]), len(parts["val"]), len(parts["test"])) == (323, 108, 430)
    assert set(np.unique(parts["val"].subjects)) == {7}
