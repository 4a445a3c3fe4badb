"""Fixed-duration windows cut from raw recordings, as a phone cuts them from a stream.

A phone classifies windows of D seconds (tfhar.export's `window.duration_s`, the median training
recording duration) cut from one continuous stream and FFT-resampled to the model's steps. A
model trained on whole recordings, each squeezed into one window whatever its length, never saw
such windows. `segment_windows` cuts them from one raw recording: `count` windows of exactly
`window` samples (round(D x rate), as tfhar.predict's window plan), each at an offset drawn from
a seeded generator, then resampled as tfhar.predict resamples a window (scipy.signal.resample).

A recording longer than a window gives windows at uniform offsets within it (each holds part of
the action). A shorter one is padded to the window as a stream's rest looks: its first sample
repeated before it and its last sample repeated after it (a still sensor), the action at a
uniform offset within the window. Both are one rule: the window starts at a uniform integer
`start` in [min(0, T - W), max(0, T - W)] and holds samples clip(start + 0..W-1, 0, T - 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfhar.data import preprocess
from tfhar.validation import check_int, check_positive


def window_samples(duration_s: float, rate_hz: float) -> int:
    """Samples in a window of `duration_s` at `rate_hz`: round(duration_s x rate_hz), as
    tfhar.predict's window plan cuts a stream (at least 1)."""
    return max(1, round(duration_s * rate_hz))


def segment_starts(num_samples: int, window: int, count: int, rng: np.random.Generator
                   ) -> np.ndarray:
    """int64 (count,): first sample of each window, uniform integers in [min(0, T - W),
    max(0, T - W)] (negative: the recording starts -start samples into the window)."""
    check_int("segment_starts: num_samples", num_samples)
    check_int("segment_starts: window", window)
    check_int("segment_starts: count", count)
    low, high = sorted((0, num_samples - window))
    return rng.integers(low, high, size=count, endpoint=True).astype(np.int64)


def cut(x: np.ndarray, start: int, window: int) -> np.ndarray:
    """x[start : start + window] of x (T, ...), the edge samples repeated where it runs past
    either end: (window, ...)."""
    x = np.asarray(x)
    return x[np.clip(np.arange(start, start + window), 0, len(x) - 1)]


def segment_windows(x: np.ndarray, window: int, count: int, rng: np.random.Generator,
                    length: int | None = None) -> np.ndarray:
    """`count` windows of `window` samples cut from x (T, C) at the offsets `segment_starts`
    draws from `rng`, each FFT-resampled to `length` steps (None: not resampled).

    -> float64 (count, length or window, C).
    """
    x = np.asarray(x, np.float64)
    if x.ndim < 1 or len(x) < 1:
        raise ValueError(f"segment_windows: need at least one sample, got shape {x.shape}")
    windows = np.stack([cut(x, int(s), window)
                        for s in segment_starts(len(x), window, count, rng)])
    return windows if length is None else preprocess.resample(windows, length, axis=1)


@dataclass(frozen=True)
class SegmentOptions:
    """A loader's segment option: windows of `duration_s` seconds, `count` per recording, their
    offsets drawn from default_rng([seed, *recording key])."""

    duration_s: float
    count: int
    seed: int

    def windows(self, x: np.ndarray, key: tuple[int, ...], rate_hz: float,
                length: int) -> np.ndarray:
        """float64 (count, length, C): `segment_windows` of recording x (T, C) at `rate_hz`."""
        rng = np.random.default_rng([self.seed, *key])
        return segment_windows(x, window_samples(self.duration_s, rate_hz), self.count, rng,
                               length)

    def settings(self) -> dict[str, object]:
        """The loader's option names and values (for its cache key)."""
        return {"segment_s": self.duration_s, "segments_per_recording": self.count,
                "segment_seed": self.seed}


def segment_options(dataset: str, modalities: tuple[str, ...], segment_s,
                    segments_per_recording, segment_seed) -> SegmentOptions | None:
    """The checked options (None when segment_s is None: whole recordings). ValueError naming
    the option unless segment_s is seconds > 0 with modalities ('inertial',) only,
    segments_per_recording a positive integer and segment_seed an integer >= 0; the latter two
    must keep their defaults (1, 0) without segment_s, where they would do nothing."""
    if segment_s is None:
        if (segments_per_recording, segment_seed) != (1, 0):
            raise ValueError(
                f"{dataset}: segments_per_recording={segments_per_recording!r} and "
                f"segment_seed={segment_seed!r} apply only with segment_s (seconds), which is "
                "not set")
        return None
    duration_s = check_positive(f"{dataset}: segment_s (seconds, the window duration D)",
                                segment_s)
    if tuple(modalities) != ("inertial",):
        raise ValueError(f"{dataset}: segment_s={segment_s!r} cuts inertial windows only; got "
                         f"modalities={tuple(modalities)!r}: use modalities ['inertial']")
    return SegmentOptions(duration_s,
                          check_int(f"{dataset}: segments_per_recording", segments_per_recording),
                          check_int(f"{dataset}: segment_seed", segment_seed, low=0))
