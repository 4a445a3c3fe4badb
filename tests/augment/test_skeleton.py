"""What each skeleton augmentation does, beyond the shared properties in test_common.py."""

import numpy as np
import pytest
import tensorflow as tf

from tfhar.augment import skeleton

SEEDS = [tf.constant([s, 9]) for s in range(5)]


def poses(batch: int = 8, steps: int = 12, joints: int = 6, coords: int = 3) -> np.ndarray:
    rng = np.random.default_rng(coords)
    return rng.normal(size=(batch, steps, joints, coords)).astype(np.float32)


def joint_distances(x: np.ndarray) -> np.ndarray:
    """(..., J, J) distances between every pair of joints in each frame."""
    return np.linalg.norm(x[..., :, None, :] - x[..., None, :, :], axis=-1)


def fitted_matrices(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per example, the (D, D) matrix M with y = x @ M.T (least squares over frames, joints)."""
    rows = [a.reshape(-1, a.shape[-1]) for a in x], [b.reshape(-1, b.shape[-1]) for b in y]
    return np.stack([np.linalg.lstsq(a, b, rcond=None)[0].T for a, b in zip(*rows, strict=True)])


def test_jitter_adds_noise_of_the_given_sigma():
    noise = skeleton.jitter(tf.zeros([4, 50, 20, 3]), SEEDS[0], sigma=0.1).numpy()
    assert abs(noise.mean()) < 0.005
    assert noise.std() == pytest.approx(0.1, rel=0.05)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("min_fraction, max_fraction", [(0.8, 0.9), (0.5, 0.5), (0.7, 1.0)])
def test_crop_resize_stretches_a_contiguous_crop_back_to_full_length(
    seed, min_fraction, max_fraction
):
    steps = 50
    ramp = np.arange(steps, dtype=np.float32)[None, :, None, None]  # Value = frame index.
    x = tf.constant(np.broadcast_to(ramp, (16, steps, 4, 3)))
    y = skeleton.crop_resize(x, seed, min_fraction, max_fraction).numpy()
    assert y.shape == x.shape
    frames = y[:, :, 0, 0]
    np.testing.assert_array_equal(y, np.broadcast_to(frames[:, :, None, None], y.shape))
    assert frames.min() >= 0.0 and frames.max() <= steps - 1
    span = frames[:, -1] - frames[:, 0]
    assert np.all(span >= min_fraction * (steps - 1) - 1e-3)
    assert np.all(span <= max_fraction * (steps - 1) + 1e-3)
    # Equally spaced samples of the crop: the linear ramp stays linear.
    spacing = np.diff(frames, axis=1)
    np.testing.assert_allclose(spacing, np.repeat(span[:, None] / (steps - 1), 49, 1), atol=1e-4)


def test_crop_resize_start_varies_over_the_allowed_range():
    x = tf.constant(
        np.broadcast_to(np.arange(50.0, dtype=np.float32)[None, :, None, None], (64, 50, 1, 1))
    )
    start = skeleton.crop_resize(x, SEEDS[0], 0.5, 0.5).numpy()[:, 0, 0, 0]
    assert start.min() < 3.0 and start.max() > 21.5


def test_crop_resize_interpolates_between_neighbouring_frames():
    x = poses(batch=16)
    y = skeleton.crop_resize(tf.constant(x), SEEDS[0], 0.6, 0.6).numpy()
    lower, upper = np.minimum(x[:, :-1], x[:, 1:]), np.maximum(x[:, :-1], x[:, 1:])
    # Every output frame lies between two consecutive input frames, coordinate by coordinate.
    inside = (y[:, :, None] >= lower[:, None] - 1e-5) & (y[:, :, None] <= upper[:, None] + 1e-5)
    assert np.all(inside.all(axis=(-1, -2)).any(axis=2))


@pytest.mark.parametrize("coords", [2, 3])
def test_scale_multiplies_each_axis_by_a_factor_in_range(coords):
    x = np.abs(poses(batch=64, coords=coords)) + 0.5
    ratio = skeleton.scale(tf.constant(x), SEEDS[0], low=0.7, high=1.2).numpy() / x
    per_axis = ratio[:, :1, :1, :]
    np.testing.assert_allclose(ratio, np.broadcast_to(per_axis, ratio.shape), rtol=1e-5)
    assert per_axis.min() >= 0.7 - 1e-6 and per_axis.max() <= 1.2 + 1e-6
    assert per_axis.max() - per_axis.min() > 0.3
    assert not np.allclose(per_axis[..., 0], per_axis[..., 1])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("coords", [2, 3])
def test_rotate_keeps_distances_between_joints(seed, coords):
    x = poses(coords=coords)
    y = skeleton.rotate(tf.constant(x), seed, max_degrees=10.0).numpy()
    np.testing.assert_allclose(joint_distances(y), joint_distances(x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-4)
    assert not np.allclose(y, x, atol=1e-3)


@pytest.mark.parametrize("max_degrees", [10.0, 30.0])
def test_rotate_2d_turns_in_the_plane_within_the_angle_limit(max_degrees):
    x = poses(batch=64, coords=2)
    y = skeleton.rotate(tf.constant(x), SEEDS[0], max_degrees=max_degrees).numpy()
    matrices = fitted_matrices(x, y)
    np.testing.assert_allclose(np.linalg.det(matrices), 1.0, atol=1e-4)
    angles = np.degrees(np.abs(np.arctan2(matrices[:, 1, 0], matrices[:, 0, 0])))
    assert angles.max() <= max_degrees + 1e-3
    assert angles.max() >= 0.8 * max_degrees


@pytest.mark.parametrize("max_degrees", [10.0, 15.0])
def test_rotate_3d_turns_about_each_axis_within_the_angle_limit(max_degrees):
    x = poses(batch=64, coords=3)
    y = skeleton.rotate(tf.constant(x), SEEDS[0], max_degrees=max_degrees).numpy()
    r = fitted_matrices(x, y)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-4)
    # R = Rx @ Ry @ Rz: R[0, 2] = sin(y), R[0, :2] ~ (cos z, -sin z), R[1:, 2] ~ (-sin x, cos x).
    angles = np.degrees(
        np.stack(
            [
                np.arctan2(-r[:, 1, 2], r[:, 2, 2]),
                np.arcsin(np.clip(r[:, 0, 2], -1.0, 1.0)),
                np.arctan2(-r[:, 0, 1], r[:, 0, 0]),
            ],
            axis=1,
        )
    )
    assert np.abs(angles).max() <= max_degrees + 1e-2
    assert np.all(np.abs(angles).max(axis=0) >= 0.8 * max_degrees)
    assert np.all(angles.min(axis=0) < 0) and np.all(angles.max(axis=0) > 0)


def test_rotate_rejects_coordinates_that_are_not_2d_or_3d():
    with pytest.raises(ValueError, match="coordinates"):
        skeleton.rotate(tf.zeros([10, 5, 4]), SEEDS[0])


@pytest.mark.parametrize("coords", [2, 3])
def test_shear_is_a_linear_map_with_unit_diagonal(coords):
    x = poses(batch=64, coords=coords)
    y = skeleton.shear(tf.constant(x), SEEDS[0], sigma=0.2).numpy()
    matrices = fitted_matrices(x, y)
    np.testing.assert_allclose(y, np.einsum("bij,btkj->btki", matrices, x), atol=1e-4)
    np.testing.assert_allclose(np.diagonal(matrices, axis1=1, axis2=2), 1.0, atol=1e-4)
    off_diagonal = matrices[:, ~np.eye(coords, dtype=bool)]
    assert off_diagonal.std() == pytest.approx(0.2, rel=0.2)
