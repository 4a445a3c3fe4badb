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


@pytest.mark.parametrize(
    ("num_samples", "length", "hop", "expected"),
    [
        (10, 4, 3, [0, 3, 6]),
        (10, 4, 1, [0, 1, 2, 3, 4, 5, 6]),
        (10, 10, 5, [0]),
        (9, 10, 1, []),
        (0, 1, 1, []),
        (450, 150, 75, [0, 75, 150, 225, 300]),
    ],
)
def test_window_starts(num_samples, length, hop, expected):
    starts = preprocess.window_starts(num_samples, length, hop)
    assert starts.tolist() == expected and starts.dtype == np.int64


@pytest.mark.parametrize(("length", "hop"), [(0, 1), (4, 0), (4.0, 1), (4, True)])
def test_window_starts_rejects_bad_sizes(length, hop):
    with pytest.raises(ValueError, match="window_starts: (length|hop) must be a positive integer"):
        preprocess.window_starts(10, length, hop)


def test_sliding_windows():
    x = np.arange(10)[:, None] * np.ones((1, 3))
    windows = preprocess.sliding_windows(x, 4, 3)
    assert windows.shape == (3, 4, 3)
    np.testing.assert_array_equal(windows[:, 0, 0], [0, 3, 6])
    np.testing.assert_array_equal(windows[2, :, 1], [6, 7, 8, 9])
    assert preprocess.sliding_windows(x, 11, 1).shape == (0, 11, 3)


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([0.0, 1.0, 2.0, 3.0], [(0, 4)]),
        ([0.0, 1.0, 2.0, 5.0, 6.0], [(0, 3), (3, 5)]),
        ([0.0, 3.0, 3.5, 10.0], [(0, 1), (1, 3), (3, 4)]),
        ([0.0, 2.0, 4.0], [(0, 3)]),  # Exactly max_step apart: no gap.
        ([], []),
    ],
)
def test_contiguous_runs_split_where_steps_exceed_the_limit(times, expected):
    assert preprocess.contiguous_runs(np.array(times), 2.0) == expected


def _frames(num_frames=10, seed=0):
    return np.random.default_rng(seed).normal(size=(num_frames, 4, 3)) + 5.0


@pytest.mark.parametrize(
    ("holes", "kept", "filled"),
    [
        ([], slice(0, 10), []),
        ([4], slice(0, 10), [4]),
        ([3, 4, 5], slice(0, 10), [3, 4, 5]),
        ([0, 1, 9], slice(2, 9), []),  # Leading and trailing: trimmed.
        ([0, 4, 6, 9], slice(1, 9), [4, 6]),
    ],
)
def test_fill_missing_frames_trims_ends_and_interpolates_inside(holes, kept, filled):
    frames = _frames()
    missing = np.isin(np.arange(10), holes)
    frames[missing] = 0.0
    out, count = preprocess.fill_missing_frames(frames, missing, max_run=3)
    assert count == len(filled)
    present = ~missing
    expected = frames.copy()
    for i in filled:  # Straight line between the nearest present frames, joint by joint.
        before = max(j for j in range(i) if present[j])
        after = min(j for j in range(i + 1, 10) if present[j])
        w = (i - before) / (after - before)
        expected[i] = (1 - w) * frames[before] + w * frames[after]
    np.testing.assert_allclose(out, expected[kept])


@pytest.mark.parametrize(
    ("holes", "message"),
    [
        ([2, 3, 4, 5], r"1 run\(s\) of more than 3 missing frames .* at frames 2\.\.5 \(0-based\)"),
        ([1, 2, 3, 4, 6, 7, 8], r"1 run\(s\) .* at frames 1\.\.4 "),
        (list(range(10)), "all 10 frames are missing"),
    ],
)
def test_fill_missing_frames_refuses_long_runs(holes, message):
    missing = np.isin(np.arange(10), holes)
    with pytest.raises(ValueError, match=message):
        preprocess.fill_missing_frames(_frames(), missing, max_run=3)
