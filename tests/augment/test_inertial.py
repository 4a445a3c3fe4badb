"""What each inertial augmentation does, beyond the shared properties in test_common.py."""

import numpy as np
import pytest
import tensorflow as tf

from tfhar.augment import inertial

SEEDS = [tf.constant([s, 3]) for s in range(5)]


def grid(batch: int = 8, steps: int = 30, channels: int = 6) -> np.ndarray:
    """Value 100 * t + c at step t, channel c: every step and channel is recognisable."""
    t = np.arange(steps)[:, None] * 100.0 + np.arange(channels)[None, :]
    return np.repeat(t[None], batch, axis=0).astype(np.float32)


def test_jitter_adds_noise_of_the_given_sigma():
    x = tf.zeros([4, 500, 6])
    noise = inertial.jitter(x, SEEDS[0], sigma=0.5).numpy()
    assert abs(noise.mean()) < 0.03
    assert noise.std() == pytest.approx(0.5, rel=0.05)


def test_scale_multiplies_each_channel_by_one_factor():
    x = tf.constant(np.random.default_rng(0).uniform(1.0, 2.0, size=(64, 10, 6)), tf.float32)
    ratio = (inertial.scale(x, SEEDS[0], sigma=0.3) / x).numpy()
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :1], ratio.shape), rtol=1e-5)
    assert ratio[:, 0].mean() == pytest.approx(1.0, abs=0.05)
    assert ratio[:, 0].std() == pytest.approx(0.3, rel=0.15)


def test_scale_per_element_draws_a_factor_for_every_value():
    x = tf.ones([64, 10, 6])
    ratio = inertial.scale(x, SEEDS[0], sigma=0.3, per_element=True).numpy()
    # Factors differ along time (unlike the per-channel default) with the same distribution.
    assert np.abs(ratio - ratio[:, :1]).max() > 0.1
    assert ratio.mean() == pytest.approx(1.0, abs=0.02)
    assert ratio.std() == pytest.approx(0.3, rel=0.05)


def test_scale_per_element_must_be_a_bool():
    with pytest.raises(ValueError, match="per_element"):
        inertial.scale(tf.ones([2, 10, 6]), SEEDS[0], per_element="yes")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("max_segments", [2, 3, 5])
def test_permute_moves_whole_time_steps_in_contiguous_segments(seed, max_segments):
    x = grid()
    y = inertial.permute(tf.constant(x), seed, max_segments=max_segments).numpy()
    steps = y[:, :, 0] / 100.0
    # Every output step is a whole input step (channels move together) ...
    np.testing.assert_array_equal(y - y[:, :, :1], x - x[:, :, :1])
    # ... each input step appears exactly once, per channel too ...
    np.testing.assert_array_equal(np.sort(y, axis=1), x)
    # ... in 2..max_segments runs of consecutive steps, never in the original order.
    breaks = (np.diff(steps, axis=1) != 1).sum(axis=1)
    assert np.all(breaks >= 1)
    assert np.all(breaks <= max_segments - 1)


def test_permute_uses_varied_segment_counts_and_lengths():
    x = tf.constant(grid(batch=64))
    steps = inertial.permute(x, SEEDS[0], max_segments=4).numpy()[:, :, 0] / 100.0
    breaks = (np.diff(steps, axis=1) != 1).sum(axis=1)
    assert set(breaks) == {1, 2, 3}
    first_run = np.argmax(np.diff(steps, axis=1) != 1, axis=1) + 1  # Length of the first segment.
    assert len(set(first_run)) > 10


def test_permute_of_a_single_step_is_the_identity():
    x = tf.constant(grid(steps=1))
    np.testing.assert_array_equal(inertial.permute(x, SEEDS[0]), x)


@pytest.mark.parametrize("max_segments", [1, 2.5, True])
def test_permute_rejects_bad_max_segments(max_segments):
    with pytest.raises(ValueError, match="max_segments"):
        inertial.permute(tf.constant(grid()), SEEDS[0], max_segments=max_segments)


def _equal_parse(order: np.ndarray, max_segments: int) -> set[tuple[int, tuple[int, ...]]]:
    """Every (n, piece order) with n in 1..max_segments - 1 for which `order` (the source step
    of each output step) is np.array_split(range(T), n) concatenated in that piece order."""
    found = set()
    for n in range(1, max_segments):
        pieces = np.array_split(np.arange(len(order)), n)
        starts = {int(p[0]): i for i, p in enumerate(pieces)}
        position, used = 0, []
        while position < len(order) and int(order[position]) in starts:
            piece = pieces[starts[int(order[position])]]
            if not np.array_equal(order[position:position + len(piece)], piece):
                break
            used.append(starts[int(order[position])])
            position += len(piece)
        if position == len(order) and sorted(used) == list(range(n)):
            found.add((n, tuple(used)))
    return found


@pytest.mark.parametrize("max_segments", [3, 5])
@pytest.mark.parametrize("steps", [30, 31, 7])
def test_permute_equal_reorders_the_equal_pieces_of_array_split(max_segments, steps):
    x = tf.constant(grid(batch=200, steps=steps))
    y = inertial.permute_equal(x, SEEDS[1], max_segments=max_segments).numpy()
    orders = (y[:, :, 0] / 100.0).round().astype(int)
    np.testing.assert_array_equal(y - y[:, :, :1], x.numpy() - x.numpy()[:, :, :1])
    parses = [_equal_parse(order, max_segments) for order in orders]
    assert all(parses), "an output that is not a reordering of np.array_split's pieces"
    counts = {n for found in parses for n, _ in found}
    assert counts == set(range(1, max_segments))  # 1..max_segments - 1, as randint draws.
    unchanged = np.mean([np.array_equal(o, np.arange(steps)) for o in orders])
    # n = 1 leaves the window unchanged, and any n may draw the original order.
    assert 1 / (max_segments - 1) - 0.1 < unchanged < 1


def test_permute_equal_refuses_max_segments_that_change_nothing():
    with pytest.raises(ValueError, match="max_segments"):
        inertial.permute_equal(tf.constant(grid()), SEEDS[0], max_segments=2)


def test_permute_equal_with_three_segments_is_mostly_gentle():
    """The reference set's max_segments 3: n is 1 or 2, so a window changes a quarter of the
    time (n = 2 and the two halves swapped)."""
    y = inertial.permute_equal(tf.constant(grid(batch=2000)), SEEDS[2], max_segments=3).numpy()
    changed = np.mean(np.any(y != grid(batch=1), axis=(1, 2)))
    assert changed == pytest.approx(0.25, abs=0.04)


@pytest.mark.parametrize("seed", SEEDS)
def test_channel_shuffle_keeps_the_set_of_channels(seed):
    x = grid()
    y = inertial.channel_shuffle(tf.constant(x), seed).numpy()
    source = y[:, 0, :].astype(int)  # Channel index each output channel came from.
    np.testing.assert_array_equal(np.sort(source, axis=1), np.broadcast_to(np.arange(6), (8, 6)))
    np.testing.assert_array_equal(y, np.take_along_axis(x, source[:, None, :], axis=2))


@pytest.mark.parametrize("seed", SEEDS)
def test_flip_rotate_flips_and_permutes_axes_within_each_sensor(seed):
    x = grid() + 1.0  # No zero values, so a sign flip always shows.
    y = inertial.flip_rotate(tf.constant(x), seed).numpy()
    source = (np.abs(y[:, 0, :]) - 1.0).astype(int)
    signs = np.sign(y[:, :1, :])
    np.testing.assert_array_equal(y, signs * np.take_along_axis(x, source[:, None, :], axis=2))
    np.testing.assert_array_equal(
        np.sort(source[:, :3], axis=1), np.broadcast_to([0, 1, 2], (8, 3))
    )
    np.testing.assert_array_equal(
        np.sort(source[:, 3:], axis=1), np.broadcast_to([3, 4, 5], (8, 3))
    )
    assert (signs < 0).any() and (signs > 0).any()


def test_flip_rotate_rejects_channels_that_do_not_form_triads():
    with pytest.raises(ValueError, match="groups of 3"):
        inertial.flip_rotate(tf.zeros([10, 5]), SEEDS[0])


def triad_norms(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x.reshape(*x.shape[:-1], -1, 3), axis=-1)


@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("channels", [3, 6, 12])
def test_rotate_3d_keeps_the_norm_of_each_sensor_triad(same, channels):
    x = np.random.default_rng(1).normal(size=(8, 20, channels)).astype(np.float32)
    y = inertial.rotate_3d(tf.constant(x), SEEDS[0], same_rotation_for_all_groups=same).numpy()
    np.testing.assert_allclose(triad_norms(y), triad_norms(x), rtol=1e-5)
    assert not np.allclose(y, x, atol=1e-3)


def fitted_rotations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per example, the (3, 3) matrix R with y = x @ R.T (least squares over time)."""
    return np.stack([np.linalg.lstsq(a, b, rcond=None)[0].T for a, b in zip(x, y, strict=True)])


def test_rotate_3d_is_a_proper_rotation_shared_by_acc_and_gyro():
    x = np.random.default_rng(2).normal(size=(16, 20, 6)).astype(np.float32)
    y = inertial.rotate_3d(tf.constant(x), SEEDS[0]).numpy()
    acc = fitted_rotations(x[..., :3], y[..., :3])
    gyro = fitted_rotations(x[..., 3:], y[..., 3:])
    np.testing.assert_allclose(acc, gyro, atol=1e-4)
    np.testing.assert_allclose(np.linalg.det(acc), 1.0, atol=1e-4)
    np.testing.assert_allclose(
        acc @ acc.transpose(0, 2, 1), np.broadcast_to(np.eye(3), acc.shape), atol=1e-4
    )


def test_rotate_3d_separate_rotations_differ_between_triads():
    x = np.random.default_rng(3).normal(size=(8, 20, 3)).astype(np.float32)
    doubled = tf.constant(np.concatenate([x, x], axis=-1))
    y = inertial.rotate_3d(doubled, SEEDS[0], same_rotation_for_all_groups=False).numpy()
    assert not np.allclose(y[..., :3], y[..., 3:], atol=1e-3)


@pytest.mark.parametrize("max_angle_degrees", [5.0, 45.0])
def test_rotate_3d_angle_stays_within_the_limit(max_angle_degrees):
    x = np.random.default_rng(4).normal(size=(32, 20, 3)).astype(np.float32)
    y = inertial.rotate_3d(tf.constant(x), SEEDS[1], max_angle_degrees=max_angle_degrees).numpy()
    rotations = fitted_rotations(x, y)
    angles = np.degrees(np.arccos(np.clip((np.trace(rotations, axis1=1, axis2=2) - 1) / 2, -1, 1)))
    assert angles.max() <= max_angle_degrees + 0.1
    assert angles.max() >= 0.5 * max_angle_degrees


def test_rotate_3d_rejects_a_group_size_other_than_three():
    with pytest.raises(ValueError, match="group_size"):
        inertial.rotate_3d(tf.zeros([10, 6]), SEEDS[0], group_size=2)
