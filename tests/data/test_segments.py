"""tfhar.data.segments: fixed D-second windows cut from raw recordings, as the phone cuts them."""

import numpy as np
import pytest
import scipy.signal

from tfhar.data import segments


def _ramp(num_samples: int, channels: int = 3) -> np.ndarray:
    """(T, C) whose rows are all different, so a window says where it was cut."""
    return np.arange(num_samples * channels, dtype=np.float64).reshape(num_samples, channels)


@pytest.mark.parametrize(("duration_s", "rate_hz", "expected"),
                         [(3.52, 50.0, 176), (3.5, 50.0, 175), (3.519, 50.0, 176), (0.001, 50, 1)])
def test_window_samples_is_the_window_tfhar_predict_cuts(duration_s, rate_hz, expected):
    from tfhar import predict

    assert segments.window_samples(duration_s, rate_hz) == expected
    recording = predict.Recording(np.zeros((400, 1)), np.arange(400) / rate_hz, rate_hz,
                                  1 / rate_hz, ())
    assert predict.window_plan(recording, duration_s, duration_s)[0] == expected


@pytest.mark.parametrize("num_samples", [176, 200, 326])
def test_windows_of_a_long_recording_are_exact_slices_of_it(num_samples):
    x = _ramp(num_samples)
    windows = segments.segment_windows(x, 176, 20, np.random.default_rng(0))
    assert windows.shape == (20, 176, 3)
    for window in windows:
        start = int(window[0, 0]) // 3
        assert 0 <= start <= num_samples - 176
        np.testing.assert_array_equal(window, x[start : start + 176])


def test_a_short_recording_is_padded_with_its_edge_samples_at_a_random_offset():
    x = _ramp(107)  # The shortest UTD-MHAD recording, under a 176-sample window.
    starts = segments.segment_starts(107, 176, 50, np.random.default_rng(1))
    assert starts.min() >= 107 - 176 and starts.max() <= 0
    assert len(set(starts.tolist())) > 10  # Not always the same place.
    windows = segments.segment_windows(x, 176, 50, np.random.default_rng(1))
    for start, window in zip(starts, windows, strict=True):
        before = -int(start)
        np.testing.assert_array_equal(window[:before], np.repeat(x[:1], before, 0))
        np.testing.assert_array_equal(window[before : before + 107], x)
        np.testing.assert_array_equal(window[before + 107 :],
                                      np.repeat(x[-1:], 176 - 107 - before, 0))


@pytest.mark.parametrize(("num_samples", "window"), [(200, 176), (107, 176)])
def test_offsets_reach_both_ends_uniformly(num_samples, window):
    starts = segments.segment_starts(num_samples, window, 20000, np.random.default_rng(2))
    low, high = sorted((0, num_samples - window))
    assert (starts.min(), starts.max()) == (low, high)
    counts = np.bincount(starts - low)
    assert len(counts) == high - low + 1
    assert counts.min() > 0.6 * counts.mean() and counts.max() < 1.4 * counts.mean()


def test_a_recording_of_exactly_one_window_gives_itself():
    x = _ramp(176)
    windows = segments.segment_windows(x, 176, 4, np.random.default_rng(3))
    np.testing.assert_array_equal(windows, np.stack([x] * 4))


def test_the_same_seed_gives_the_same_windows_and_another_seed_others():
    x = np.random.default_rng(0).normal(size=(300, 6))

    def windows(seed):
        return segments.segment_windows(x, 176, 8, np.random.default_rng([seed, 1, 2, 3]), 50)

    np.testing.assert_array_equal(windows(0), windows(0))
    assert not np.array_equal(windows(0), windows(1))


@pytest.mark.parametrize("num_samples", [107, 300])
def test_windows_are_resampled_like_scipy(num_samples):
    x = np.random.default_rng(4).normal(size=(num_samples, 6))
    raw = segments.segment_windows(x, 176, 5, np.random.default_rng(5))
    resampled = segments.segment_windows(x, 176, 5, np.random.default_rng(5), 50)
    assert resampled.shape == (5, 50, 6)
    for window, expected in zip(resampled, raw, strict=True):
        np.testing.assert_allclose(window, scipy.signal.resample(expected, 50, axis=0),
                                   rtol=0, atol=1e-12)


def test_cut_repeats_the_edges():
    x = _ramp(4, 1)
    np.testing.assert_array_equal(segments.cut(x, -2, 8)[:, 0], [0, 0, 0, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(segments.cut(x, 1, 2)[:, 0], [1, 2])


def test_segment_options_hold_the_checked_values():
    options = segments.segment_options("utd_mhad", ("inertial",), 3.52, 4, 7)
    assert options == segments.SegmentOptions(3.52, 4, 7)
    assert options.settings() == {"segment_s": 3.52, "segments_per_recording": 4,
                                  "segment_seed": 7}
    x = np.random.default_rng(6).normal(size=(200, 6))
    np.testing.assert_array_equal(
        options.windows(x, (1, 2, 3), 50.0, 50),
        segments.segment_windows(x, 176, 4, np.random.default_rng([7, 1, 2, 3]), 50))
    assert segments.segment_options("utd_mhad", ("inertial",), None, 1, 0) is None


@pytest.mark.parametrize(
    ("modalities", "values", "message"),
    [
        (("inertial",), (0, 1, 0), "segment_s"),
        (("inertial",), (-3.5, 1, 0), "segment_s"),
        (("inertial",), (float("nan"), 1, 0), "segment_s"),
        (("inertial",), ("median", 1, 0), "segment_s"),
        (("inertial",), (True, 1, 0), "segment_s"),
        (("inertial",), (3.5, 0, 0), "segments_per_recording"),
        (("inertial",), (3.5, 2.0, 0), "segments_per_recording"),
        (("inertial",), (3.5, 1, -1), "segment_seed"),
        (("inertial",), (None, 4, 0), "apply only with segment_s"),
        (("inertial",), (None, 1, 3), "apply only with segment_s"),
        (("inertial", "skeleton"), (3.5, 1, 0), "inertial windows only"),
        (("skeleton",), (3.5, 1, 0), "inertial windows only"),
    ],
)
def test_bad_segment_options_are_named(modalities, values, message):
    with pytest.raises(ValueError, match=message):
        segments.segment_options("utd_mhad", modalities, *values)
