import numpy as np
import pytest
import scipy.signal

from tfhar.data import preprocess


@pytest.mark.parametrize("length", [7, 50, 131])
def test_resample_matches_scipy_fft_resampling(length):
    x = np.random.default_rng(0).normal(size=(83, 6))
    out = preprocess.resample(x, 50)
    np.testing.assert_allclose(out, scipy.signal.resample(x, 50, axis=0))
    assert out.shape == (50, 6)
    assert preprocess.resample(x[:length], 50).shape == (50, 6)


def test_resample_keeps_a_sinusoid_and_other_axes():
    t = np.arange(100) / 100
    x = np.stack([np.sin(2 * np.pi * 3 * t), np.cos(2 * np.pi * 2 * t)], -1)[:, :, None]
    out = preprocess.resample(x, 50)
    t50 = np.arange(50) / 50
    expected = np.stack([np.sin(2 * np.pi * 3 * t50), np.cos(2 * np.pi * 2 * t50)], -1)
    np.testing.assert_allclose(out[:, :, 0], expected, atol=1e-9)
    assert preprocess.resample(np.zeros((3, 11)), 4, axis=1).shape == (3, 4)


@pytest.mark.parametrize("length", [0, -1, 2.5, True])
def test_resample_rejects_bad_length(length):
    with pytest.raises(ValueError, match="length"):
        preprocess.resample(np.zeros((10, 2)), length)


def test_skeleton_frames_moves_time_first():
    x = np.arange(20 * 3 * 5).reshape(20, 3, 5)
    frames = preprocess.skeleton_frames(x)
    assert frames.shape == (5, 20, 3)
    assert frames[4, 7, 2] == x[7, 2, 4]


def _skeleton(seed=0):
    return np.random.default_rng(seed).normal(size=(12, 20, 3))


def test_normalize_skeleton_centres_and_scales_by_the_first_frame():
    x = _skeleton()
    out = preprocess.normalize_skeleton(x)
    np.testing.assert_allclose(out[0, 2], 0, atol=1e-12)
    assert np.linalg.norm(out[0, 1] - out[0, 2]) == pytest.approx(1.0)
    scale = np.linalg.norm(x[0, 1] - x[0, 2])
    np.testing.assert_allclose(out, (x - x[0, 2]) / scale)


def test_normalize_skeleton_is_invariant_to_translation_and_scale():
    x = _skeleton()
    moved = 3.5 * x + np.array([10.0, -2.0, 7.0])
    np.testing.assert_allclose(
        preprocess.normalize_skeleton(moved), preprocess.normalize_skeleton(x), atol=1e-12
    )


def test_normalize_skeleton_with_other_joints():
    x = _skeleton()
    out = preprocess.normalize_skeleton(x, center_joint=0, scale_joints=(4, 8))
    np.testing.assert_allclose(out[0, 0], 0, atol=1e-12)
    assert np.linalg.norm(out[0, 4] - out[0, 8]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.zeros((5, 20, 3)), "coincide"),
        (np.zeros((5, 20)), "time, joints, coords"),
        (np.ones((5, 2, 3)), "joint 2 outside"),
    ],
)
def test_normalize_skeleton_rejects_bad_input(x, message):
    with pytest.raises(ValueError, match=message):
        preprocess.normalize_skeleton(x)


def test_sliding_windows():
    x = np.arange(10)[:, None] * np.ones((1, 3))
    windows = preprocess.sliding_windows(x, 4, 3)
    assert windows.shape == (3, 4, 3)
    np.testing.assert_array_equal(windows[:, 0, 0], [0, 3, 6])
    assert preprocess.sliding_windows(x, 11, 1).shape == (0, 11, 3)
