"""The synthetic dataset: shapes, determinism, agreement of the modalities, learnability."""

import numpy as np
import pytest

import tfhar.data
from tfhar.data import DataError

SMALL = {"num_classes": 3, "num_subjects": 4, "samples_per_class_per_subject": 2}


def test_default_shapes_and_fields():
    record = tfhar.data.load("synthetic")
    n = 6 * 8 * 6
    assert record.inertial.shape == (n, 50, 6) and record.skeleton.shape == (n, 50, 20, 3)
    assert record.inertial.dtype == record.skeleton.dtype == np.float32
    assert record.labels.dtype == record.subjects.dtype == record.trials.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(record.labels), [48] * 6)
    np.testing.assert_array_equal(np.unique(record.subjects), np.arange(1, 9))
    np.testing.assert_array_equal(np.unique(record.trials), np.arange(1, 7))
    np.testing.assert_allclose(record.durations, 3.0)
    assert (record.inertial_rate_hz, record.skeleton_rate_hz) == (50.0, 30.0)
    assert record.channel_names == ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
    assert record.channel_units == ("g", "g", "g", "deg/s", "deg/s", "deg/s")
    assert len(record.joint_names) == 20 and record.num_classes == 6
    assert np.all(np.isfinite(record.inertial)) and np.all(np.isfinite(record.skeleton))


@pytest.mark.parametrize(
    "sizes",
    [
        {
            "num_classes": 2,
            "num_subjects": 3,
            "samples_per_class_per_subject": 1,
            "window_length": 8,
            "num_joints": 5,
            "num_coords": 2,
            "num_channels": 3,
        },
        {
            "num_classes": 27,
            "num_subjects": 2,
            "samples_per_class_per_subject": 1,
            "window_length": 30,
            "num_joints": 25,
            "num_coords": 3,
            "num_channels": 14,
        },
        {
            "num_classes": 1,
            "num_subjects": 1,
            "samples_per_class_per_subject": 1,
            "num_joints": 1,
            "num_coords": 1,
            "num_channels": 1,
        },
    ],
)
def test_any_size(sizes):
    record = tfhar.data.load("synthetic", **sizes)
    n = sizes["num_classes"] * sizes["num_subjects"] * sizes["samples_per_class_per_subject"]
    length = sizes.get("window_length", 50)
    assert record.inertial.shape == (n, length, sizes["num_channels"])
    assert record.skeleton.shape == (n, length, sizes["num_joints"], sizes["num_coords"])
    assert len(record.channel_names) == len(record.channel_units) == sizes["num_channels"]
    assert len(record.joint_names) == sizes["num_joints"]
    assert np.all(np.isfinite(record.inertial)) and np.all(np.isfinite(record.skeleton))


def test_same_seed_same_data_other_seed_other_data():
    a, b = (
        tfhar.data.load("synthetic", seed=3, **SMALL),
        tfhar.data.load("synthetic", seed=3, **SMALL),
    )
    np.testing.assert_array_equal(a.inertial, b.inertial)
    np.testing.assert_array_equal(a.skeleton, b.skeleton)
    c = tfhar.data.load("synthetic", seed=4, **SMALL)
    assert not np.allclose(a.inertial, c.inertial)


def test_root_is_ignored(tmp_path):
    a = tfhar.data.load("synthetic", tmp_path / "does_not_exist", **SMALL)
    np.testing.assert_array_equal(a.inertial, tfhar.data.load("synthetic", **SMALL).inertial)


@pytest.mark.parametrize("modality", ["inertial", "skeleton"])
def test_one_modality(modality):
    record = tfhar.data.load("synthetic", modalities=(modality,), **SMALL)
    assert record.modalities == (modality,)


def test_noise_changes_the_data():
    clean = tfhar.data.load("synthetic", noise=0.0, **SMALL)
    noisy = tfhar.data.load("synthetic", noise=0.5, **SMALL)
    spread = np.std(noisy.inertial - clean.inertial, axis=(0, 1)) / np.std(
        clean.inertial, axis=(0, 1)
    )
    np.testing.assert_allclose(spread, 0.5, rtol=0.2)


def test_the_accelerometer_measures_the_skeleton_wrist_motion():
    record = tfhar.data.load("synthetic", noise=0.0, **SMALL)
    wrist = record.skeleton[:, :, 10].astype(np.float64)
    second_difference = wrist[:, 2:] - 2 * wrist[:, 1:-1] + wrist[:, :-2]
    acceleration = record.inertial[:, 1:-1, :3] - np.array([0.0, 1.0, 0.0])  # Minus gravity.
    correlation = [
        np.corrcoef(d.ravel(), a.ravel())[0, 1]
        for d, a in zip(second_difference, acceleration, strict=True)
    ]
    assert min(correlation) > 0.99
    np.testing.assert_allclose(record.inertial[:, :, :3].mean(axis=(0, 1)), [0, 1, 0], atol=0.2)


def test_the_gyroscope_measures_the_skeleton_forearm_rotation():
    record = tfhar.data.load("synthetic", noise=0.0, **SMALL)
    forearm = (record.skeleton[:, :, 10] - record.skeleton[:, :, 9]).astype(np.float64)
    step = 3.0 / 50
    change = (forearm[:, 2:] - forearm[:, :-2]) / (2 * step)
    middle = forearm[:, 1:-1]
    rate = np.degrees(np.cross(middle, change) / np.sum(middle**2, -1, keepdims=True))
    gyroscope = record.inertial[:, 1:-1, 3:]
    assert np.abs(rate - gyroscope).mean() < 0.05 * np.abs(gyroscope).mean()


def _nearest_centroid_accuracy(record, modality):
    parts = tfhar.data.split(record, "paper")
    train, test = (
        getattr(parts[p], modality).reshape(len(parts[p]), -1) for p in ("train", "test")
    )
    mean, scale = train.mean(0), train.std(0) + 1e-6
    train, test = (train - mean) / scale, (test - mean) / scale
    labels = parts["train"].labels
    centroids = np.stack([train[labels == c].mean(0) for c in range(record.num_classes)])
    predicted = np.argmin(((test[:, None] - centroids[None]) ** 2).sum(-1), 1)
    return np.mean(predicted == parts["test"].labels)


@pytest.mark.parametrize("modality", ["inertial", "skeleton"])
def test_classes_are_separable_across_subjects_but_not_trivially(modality):
    accuracy = _nearest_centroid_accuracy(tfhar.data.load("synthetic"), modality)
    assert 0.5 < accuracy < 1.0  # Chance is 1/6.


def test_subjects_differ():
    record = tfhar.data.load(
        "synthetic", noise=0.0, num_classes=1, num_subjects=2, samples_per_class_per_subject=20
    )
    by_subject = [record.inertial[record.subjects == s].std() for s in (1, 2)]
    assert abs(by_subject[0] - by_subject[1]) > 0.01 * max(by_subject)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_classes": 0}, "num_classes"),
        ({"window_length": 1}, "window_length"),
        ({"num_coords": 4}, "num_coords"),
        ({"num_channels": 2.0}, "num_channels"),
        ({"noise": -1.0}, "noise"),
        ({"modalities": ("depth",)}, "modalities"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(DataError, match=message):
        tfhar.data.load("synthetic", **options)
