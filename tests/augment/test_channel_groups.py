"""Explicit three-axis channel groups (a folder dataset's `sensors`): rotate_3d and flip_rotate
turn only the named channels, each group as one sensor; build_augmenters passes a record's."""

import numpy as np
import pytest
import tensorflow as tf

from tfhar import builders
from tfhar.augment import build_augmenter, inertial
from tfhar.config import config_from_tree
from tfhar.data import Record

SEEDS = [tf.constant([s, 11]) for s in range(4)]
# Seven channels: a gyroscope (5, 0, 3), an accelerometer (6, 2, 1) in x, y, z order, and a
# barometer (4) that belongs to no sensor group.
GROUPS = ((5, 0, 3), (6, 2, 1))
OUTSIDE = [4]


def signal(batch: int = 8, steps: int = 20, channels: int = 7, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, steps, channels)).astype(np.float32)


def norms(x: np.ndarray, groups) -> np.ndarray:
    """(B, T, groups): each group's vector norm at every step."""
    return np.stack([np.linalg.norm(x[..., list(g)], axis=-1) for g in groups], axis=-1)


@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("seed", SEEDS)
def test_rotate_3d_keeps_each_groups_norm_and_leaves_other_channels(same, seed):
    x = signal()
    y = inertial.rotate_3d(tf.constant(x), seed, groups=GROUPS,
                           same_rotation_for_all_groups=same).numpy()
    np.testing.assert_allclose(norms(y, GROUPS), norms(x, GROUPS), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y[..., OUTSIDE], x[..., OUTSIDE])
    for group in GROUPS:  # Each group really turned.
        assert not np.allclose(y[..., list(group)], x[..., list(group)], atol=1e-3)


def fitted_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The (3, 3) R with b = a @ R.T, by least squares over time (one example)."""
    return np.linalg.lstsq(a, b, rcond=None)[0].T


def test_rotate_3d_turns_the_groups_as_ordered_vectors_with_one_shared_rotation():
    x = signal(batch=4)
    y = inertial.rotate_3d(tf.constant(x), SEEDS[0], groups=GROUPS).numpy()
    for example in range(4):
        gyro = fitted_rotation(x[example][:, [5, 0, 3]], y[example][:, [5, 0, 3]])
        acc = fitted_rotation(x[example][:, [6, 2, 1]], y[example][:, [6, 2, 1]])
        np.testing.assert_allclose(gyro, acc, atol=1e-4)
        np.testing.assert_allclose(np.linalg.det(gyro), 1.0, atol=1e-4)
        np.testing.assert_allclose(gyro @ gyro.T, np.eye(3), atol=1e-4)


def test_rotate_3d_with_the_contiguous_groups_equals_the_default():
    x = tf.constant(signal(channels=6))
    explicit = inertial.rotate_3d(x, SEEDS[1], groups=((0, 1, 2), (3, 4, 5)))
    np.testing.assert_array_equal(explicit.numpy(), inertial.rotate_3d(x, SEEDS[1]).numpy())


@pytest.mark.parametrize("seed", SEEDS)
def test_flip_rotate_signed_permutes_within_each_group_and_leaves_the_rest(seed):
    steps, channels = 10, 7
    x = (np.arange(channels)[None, None, :] + 1.0 + 100.0 * np.arange(steps)[None, :, None])
    x = np.repeat(x, 8, axis=0).astype(np.float32)  # Value 100 t + c + 1: its channel shows.
    y = inertial.flip_rotate(tf.constant(x), seed, groups=GROUPS).numpy()
    source = (np.abs(y[:, 0, :]) - 1.0).round().astype(int)  # Channel each output came from.
    np.testing.assert_array_equal(np.abs(y), np.take_along_axis(x, source[:, None, :], axis=2))
    for group in GROUPS:
        np.testing.assert_array_equal(np.sort(source[:, list(group)], axis=1),
                                      np.broadcast_to(sorted(group), (8, 3)))
    np.testing.assert_array_equal(y[..., OUTSIDE], x[..., OUTSIDE])
    assert (y[..., [c for g in GROUPS for c in g]] < 0).any()


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (((0, 1, 2), (2, 3, 4)), "name a channel twice"),
        (((0, 1, 7),), "channel 7, outside 0..6"),
        (((0, 1),), "every group must have 3 channels"),
        ((), "non-empty tuple of tuples"),
        ((("x", 1, 2),), "non-empty tuple of tuples"),
    ],
)
def test_rotate_3d_refuses_bad_groups(groups, message):
    with pytest.raises(ValueError, match=message):
        inertial.rotate_3d(tf.zeros([10, 7]), SEEDS[0], groups=groups)


def test_build_augmenter_passes_the_groups_to_the_rotations_only():
    x = tf.constant(signal())
    augment = build_augmenter("inertial", {"rotate_3d": {"p": 1.0}}, channel_groups=GROUPS)
    y = augment(x, SEEDS[2]).numpy()
    np.testing.assert_allclose(norms(y, GROUPS), norms(x.numpy(), GROUPS), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y[..., OUTSIDE], x.numpy()[..., OUTSIDE])
    with pytest.raises(ValueError, match="channel_groups apply to inertial"):
        build_augmenter("skeleton", {}, channel_groups=GROUPS)


def record(groups) -> Record:
    return Record(name="mine", labels=np.zeros(2, np.int32), subjects=np.ones(2, np.int32),
                  class_names=("a",), inertial=np.zeros((2, 20, 7), np.float32),
                  channel_groups=groups)


def test_build_augmenters_takes_the_records_channel_groups():
    config = config_from_tree({"augment": {"inertial": {"rotate_3d": {"p": 1.0}},
                                           "skeleton": "none"}})
    x = tf.constant(signal())
    grouped = builders.build_augmenters(config, ("inertial",), record(GROUPS))["inertial"]
    y = grouped(x, SEEDS[3]).numpy()
    np.testing.assert_allclose(norms(y, GROUPS), norms(x.numpy(), GROUPS), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y[..., OUTSIDE], x.numpy()[..., OUTSIDE])
    # Without groups (no record, or a record without them) seven channels are no triads.
    for augmenters in (builders.build_augmenters(config, ("inertial",)),
                       builders.build_augmenters(config, ("inertial",), record(()))):
        with pytest.raises(ValueError, match="groups of 3"):
            augmenters["inertial"](x, SEEDS[3])
