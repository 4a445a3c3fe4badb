"""Pure preprocessing functions (numpy / scipy, no TensorFlow): resampling, skeleton frames
and normalization, missing frames, and the one windowing of long recordings (`window_starts`,
used by `sliding_windows` and by tfhar.predict, per contiguous run of samples).

The reference (Khaertdinov et al., and the authors' code) FFT-resamples every raw sequence to 50
steps and normalizes a skeleton by its first frame, after resampling.
"""

from __future__ import annotations

import numpy as np

from tfhar.validation import check_int


def resample(x: np.ndarray, length: int, axis: int = 0) -> np.ndarray:
    """FFT-resample `x` to `length` steps along `axis` with `scipy.signal.resample`.

    x: (T, ...) with time on `axis` -> float64 of the same shape with `length` steps there.
    """
    check_int("resample: length", length)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 or x.shape[axis] < 1:
        raise ValueError(f"resample: need at least one step on axis {axis}, got shape {x.shape}")
    import scipy.signal  # Deferred: it takes seconds to import and most callers never resample.

    return scipy.signal.resample(x, int(length), axis=axis)


def skeleton_frames(joints_coords_time: np.ndarray) -> np.ndarray:
    """Reorder a skeleton stored (J, D, T), as in the UTD-MHAD .mat files, to (T, J, D)."""
    x = np.asarray(joints_coords_time)
    if x.ndim != 3:
        raise ValueError(f"skeleton_frames: expected (joints, coords, time), got shape {x.shape}")
    return np.transpose(x, (2, 0, 1))


def normalize_skeleton(
    sequence: np.ndarray, center_joint: int = 2, scale_joints: tuple[int, int] = (1, 2)
) -> np.ndarray:
    """Recentre on `center_joint` of the first frame; divide by the first-frame bone length.

    sequence: (T, J, D) -> float64 (T, J, D). Every joint of every frame has the first frame's
    `center_joint` position subtracted and is divided by the first-frame distance between the two
    `scale_joints` (0-based; UTD-MHAD: spine, and shoulder_center - spine).
    """
    x = np.asarray(sequence, dtype=np.float64)
    if x.ndim != 3 or x.shape[0] < 1:
        raise ValueError(f"normalize_skeleton: expected (time, joints, coords), got {x.shape}")
    num_joints = x.shape[1]
    for joint in (center_joint, *scale_joints):
        if not 0 <= joint < num_joints:
            raise ValueError(f"normalize_skeleton: joint {joint} outside 0..{num_joints - 1}")
    first = x[0]
    scale = float(np.linalg.norm(first[scale_joints[0]] - first[scale_joints[1]]))
    if not np.isfinite(scale) or scale <= 1e-12:
        raise ValueError(
            f"normalize_skeleton: joints {scale_joints[0]} and {scale_joints[1]} coincide in the "
            f"first frame (distance {scale}), so the skeleton cannot be scaled"
        )
    return (x - first[center_joint]) / scale


def window_starts(num_samples: int, length: int, hop: int) -> np.ndarray:
    """First sample of each full window of `length` samples, one every `hop` samples.

    -> int64 (num_windows,): 0, hop, 2 * hop, ... while start + length <= num_samples; empty when
    num_samples < length. ValueError when `length` or `hop` is not a positive integer.
    """
    for name, value in (("length", length), ("hop", hop)):
        check_int(f"window_starts: {name}", value)
    return np.arange(0, max(int(num_samples) - int(length) + 1, 0), int(hop), dtype=np.int64)


def sliding_windows(x: np.ndarray, length: int, step: int) -> np.ndarray:
    """Cut a long recording into overlapping windows.

    x: (T, ...) -> (num_windows, length, ...), the windows starting at `window_starts(T, length,
    step)`; a recording shorter than `length` gives zero windows.
    """
    x = np.asarray(x)
    starts = window_starts(x.shape[0], length, step)
    if not len(starts):
        return np.zeros((0, length, *x.shape[1:]), x.dtype)
    return np.stack([x[s : s + length] for s in starts])


def contiguous_runs(times: np.ndarray, max_step: float) -> list[tuple[int, int]]:
    """Split a stream where consecutive samples lie more than `max_step` apart (missing data).

    times: (T,) increasing, any unit -> [(first, stop), ...]: index ranges, stop exclusive, that
    cover 0..T in order; one range when there is no gap, none when T is 0.
    """
    times = np.asarray(times, np.float64)
    if not len(times):
        return []
    bounds = [0, *(np.flatnonzero(np.diff(times) > max_step) + 1).tolist(), len(times)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def fill_missing_frames(
    frames: np.ndarray, missing: np.ndarray, max_run: int
) -> tuple[np.ndarray, int]:
    """Trim missing frames at both ends and interpolate short interior runs of them linearly.

    frames: (T, ...); missing: bool (T,), True where a frame holds no data (a Kinect frame of
    zeros when the body was lost). -> (float64 (T', ...): the frames from the first to the last
    present one, each interior missing frame replaced by the linear interpolation between the
    present frames around it; the number of frames interpolated). ValueError naming the 0-based
    frame indices when an interior run is longer than `max_run` frames, or when all are missing.
    """
    x = np.array(frames, dtype=np.float64)
    missing = np.asarray(missing, dtype=bool)
    if missing.shape != x.shape[:1]:
        raise ValueError(f"fill_missing_frames: mask {missing.shape} for frames {x.shape}")
    present = np.flatnonzero(~missing)
    if not len(present):
        raise ValueError(f"all {len(x)} frames are missing")
    first, last = int(present[0]), int(present[-1])
    holes = np.flatnonzero(missing[first : last + 1]) + first
    runs = np.split(holes, np.flatnonzero(np.diff(holes) > 1) + 1) if len(holes) else []
    long_runs = [f"{r[0]}..{r[-1]}" for r in runs if len(r) > max_run]
    if long_runs:
        raise ValueError(
            f"{len(long_runs)} run(s) of more than {max_run} missing frames inside the "
            f"sequence, at frames {', '.join(long_runs[:5])}{', ...' if len(long_runs) > 5 else ''}"
            " (0-based)"
        )
    if len(holes):
        after = np.searchsorted(present, holes)
        before_frame, after_frame = present[after - 1], present[after]
        weight = ((holes - before_frame) / (after_frame - before_frame)).reshape(
            -1, *([1] * (x.ndim - 1))
        )
        x[holes] = (1 - weight) * x[before_frame] + weight * x[after_frame]
    return x[first : last + 1], len(holes)
