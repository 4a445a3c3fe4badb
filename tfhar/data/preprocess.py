"""Pure preprocessing functions (numpy / scipy, no TensorFlow).

The reference (Khaertdinov et al., and the authors' code) FFT-resamples every raw sequence to 50
steps and normalizes a skeleton by its first frame, after resampling.
"""

from __future__ import annotations

import numpy as np


def resample(x: np.ndarray, length: int, axis: int = 0) -> np.ndarray:
    """FFT-resample `x` to `length` steps along `axis` with `scipy.signal.resample`.

    x: (T, ...) with time on `axis` -> float64 of the same shape with `length` steps there.
    """
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 1:
        raise ValueError(f"resample: length must be a positive integer, got {length!r}")
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


def sliding_windows(x: np.ndarray, length: int, step: int) -> np.ndarray:
    """Cut a long recording into overlapping windows.

    x: (T, ...) -> (num_windows, length, ...), windows starting at 0, step, 2 * step, ...;
    a recording shorter than `length` gives zero windows.
    """
    if length < 1 or step < 1:
        raise ValueError(f"sliding_windows: length and step must be >= 1, got {length}, {step}")
    x = np.asarray(x)
    starts = range(0, x.shape[0] - length + 1, step)
    if not starts:
        return np.zeros((0, length, *x.shape[1:]), x.dtype)
    return np.stack([x[s : s + length] for s in starts])
