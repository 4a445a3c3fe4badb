"""A synthetic, learnable stand-in for UTD-MHAD: one motion per class seen by both modalities.

Each class is a 3D trajectory of the right wrist, a sum of two sinusoids with class-specific
directions, frequencies and phases. The skeleton moves its arm joints with that trajectory; the
IMU on the wrist measures its second derivative plus gravity (accelerometer, g) and the angular
rate of the forearm about the elbow (gyroscope, deg/s), so the two modalities agree. Subjects
differ in amplitude, speed and body size; samples in phase and amplitude; noise is added last.
"""

from __future__ import annotations

import numpy as np

from tfhar.data import preprocess
from tfhar.data.datasets.utd_mhad import JOINT_NAMES
from tfhar.data.errors import DataError
from tfhar.data.record import Record

NAME = "synthetic"
DURATION_S = 3.0
GRAVITY = 9.81
# A standing body in metres (x right, y up, z forward), in the UTD-MHAD joint order.
_POSE = np.array(
    [
        [0, 0.70, 0],
        [0, 0.50, 0],
        [0, 0.20, 0],
        [0, 0, 0],
        [-0.18, 0.45, 0],
        [-0.25, 0.20, 0],
        [-0.28, -0.02, 0],
        [-0.29, -0.10, 0],
        [0.18, 0.45, 0],
        [0.25, 0.20, 0],
        [0.28, -0.02, 0],
        [0.29, -0.10, 0],
        [-0.10, -0.05, 0],
        [-0.11, -0.45, 0],
        [-0.11, -0.85, 0],
        [-0.11, -0.90, 0.08],
        [0.10, -0.05, 0],
        [0.11, -0.45, 0],
        [0.11, -0.85, 0],
        [0.11, -0.90, 0.08],
    ]
)
_ELBOW, _WRIST, _HAND = 9, 10, 11


def _body(num_joints: int) -> tuple[np.ndarray, np.ndarray]:
    """Base pose (J, 3) in metres and how much each joint follows the wrist motion (J,)."""
    extra = np.random.default_rng(1234).normal(0.0, 0.3, (max(num_joints - len(_POSE), 0), 3))
    pose = np.concatenate([_POSE, extra])[:num_joints]
    follow = np.zeros(num_joints)
    if num_joints > _HAND:
        follow[[_ELBOW, _WRIST, _HAND]] = 0.5, 1.0, 1.15
    else:  # A small body: its last joint is the wrist.
        follow[-1] = 1.0
    return pose, follow


def _check(**sizes: object) -> None:
    for key, value in sizes.items():
        low = 2 if key == "window_length" else 1
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise DataError(f"synthetic: {key}={value!r}; expected an integer >= {low}")


def load(
    root: object = None,
    *,
    num_classes: int = 6,
    num_subjects: int = 8,
    samples_per_class_per_subject: int = 6,
    window_length: int = 50,
    num_joints: int = 20,
    num_coords: int = 3,
    num_channels: int = 6,
    noise: float = 0.3,
    seed: int = 0,
    modalities: tuple[str, ...] = ("inertial", "skeleton"),
) -> Record:
    """Generate N = classes x subjects x samples sequences: inertial (N, window_length,
    num_channels), skeleton (N, window_length, num_joints, num_coords), float32, deterministic
    in `seed`. `noise` is the noise standard deviation relative to each channel's spread.
    `root` is ignored (nothing is read)."""
    _check(
        num_classes=num_classes,
        num_subjects=num_subjects,
        window_length=window_length,
        samples_per_class_per_subject=samples_per_class_per_subject,
        num_joints=num_joints,
        num_coords=num_coords,
        num_channels=num_channels,
    )
    if num_coords > 3:
        raise DataError(f"synthetic: num_coords={num_coords}; expected 1, 2 or 3")
    if not isinstance(noise, int | float) or not noise >= 0:
        raise DataError(f"synthetic: noise={noise!r}; expected a number >= 0")
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    if not modalities or any(m not in ("inertial", "skeleton") for m in modalities):
        raise DataError(
            f"synthetic: modalities={modalities!r}; use a non-empty subset of "
            "('inertial', 'skeleton')"
        )
    rng = np.random.default_rng(seed)
    k, s, m = num_classes, num_subjects, samples_per_class_per_subject
    # Class motions: two sinusoids each, the first along well-spread (Fibonacci) directions.
    golden = np.pi * (3.0 - np.sqrt(5.0))
    height = 1.0 - 2.0 * (np.arange(k) + 0.5) / k
    ring = np.sqrt(1.0 - height**2)
    first = np.stack(
        [ring * np.cos(golden * np.arange(k)), height, ring * np.sin(golden * np.arange(k))], -1
    )
    second = rng.normal(size=(k, 3))
    direction = np.stack([first, second / np.linalg.norm(second, axis=1, keepdims=True)], 1)
    frequency = np.stack([0.5 + 0.3 * (np.arange(k) % 4), rng.uniform(0.3, 1.5, k)], 1)
    amplitude = np.stack([rng.uniform(0.12, 0.2, k), rng.uniform(0.04, 0.1, k)], 1)
    phase = rng.uniform(0, 2 * np.pi, (k, 2))
    subject_amplitude, subject_speed = rng.uniform(0.7, 1.3, s), rng.uniform(0.8, 1.2, s)
    subject_size = rng.uniform(0.85, 1.15, s)
    # Rows in (class, subject, sample) order.
    label, subject, trial = (
        g.ravel() for g in np.meshgrid(np.arange(k), np.arange(s), np.arange(m), indexing="ij")
    )
    n = len(label)
    amp = amplitude[label] * (subject_amplitude[subject] * rng.uniform(0.9, 1.1, n))[:, None]
    omega = (
        2
        * np.pi
        * frequency[label]
        * (subject_speed[subject] * rng.uniform(0.95, 1.05, n))[:, None]
    )
    time = np.arange(window_length) * (DURATION_S / window_length)
    angle = omega[:, :, None] * time + (phase[label] + rng.normal(0, 0.3, (n, 2)))[:, :, None]
    # Position, velocity and acceleration of the wrist relative to its rest position: (N, T, 3).
    weight = amp[:, :, None, None] * direction[label][:, :, None, :]
    position = np.sum(weight * np.sin(angle)[..., None], 1)
    velocity = np.sum(weight * (omega[:, :, None] * np.cos(angle))[..., None], 1)
    acceleration = -np.sum(weight * (omega[:, :, None] ** 2 * np.sin(angle))[..., None], 1)

    pose, follow = _body(num_joints)
    size = subject_size[subject][:, None, None]
    skeleton = size[..., None] * pose + follow[:, None] * position[:, :, None, :]
    # The IMU sits on the wrist; the forearm (elbow -> wrist) turns as the elbow moves half as far.
    forearm = size * (_POSE[_WRIST] - _POSE[_ELBOW]) + 0.5 * position
    angular_rate = np.cross(forearm, 0.5 * velocity) / np.sum(forearm**2, -1, keepdims=True)
    accelerometer = acceleration / GRAVITY + np.array([0.0, 1.0, 0.0])
    inertial = _channels(accelerometer, np.degrees(angular_rate), num_channels)
    skeleton = skeleton[..., :num_coords]
    if num_joints >= 3:
        skeleton = np.stack([preprocess.normalize_skeleton(x) for x in skeleton])
    inertial, skeleton = (
        x + noise * x.std(axis=(0, 1)) * rng.normal(size=x.shape) for x in (inertial, skeleton)
    )
    names, units = _channel_names(num_channels)
    return Record(
        name=NAME,
        labels=label.astype(np.int32),
        subjects=(subject + 1).astype(np.int32),
        class_names=tuple(f"motion_{i}" for i in range(k)),
        inertial=inertial.astype(np.float32) if "inertial" in modalities else None,
        skeleton=skeleton.astype(np.float32) if "skeleton" in modalities else None,
        trials=(trial + 1).astype(np.int32),
        durations=np.full(n, DURATION_S, np.float32),
        inertial_rate_hz=50.0,
        skeleton_rate_hz=30.0,
        channel_names=names,
        channel_units=units,
        joint_names=tuple(JOINT_NAMES[:num_joints])
        + tuple(f"joint_{j}" for j in range(len(JOINT_NAMES), num_joints)),
        source=f"synthetic motions (seed {seed}, noise {noise})",
    )


def _rotation(index: int) -> np.ndarray:
    """A fixed 3D rotation for the index-th extra sensor (identity for the first)."""
    if index == 0:
        return np.eye(3)
    q, r = np.linalg.qr(np.random.default_rng(index).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q * np.linalg.det(q)


def _channels(accelerometer: np.ndarray, gyroscope: np.ndarray, num_channels: int) -> np.ndarray:
    """(N, T, num_channels): acc xyz, gyro xyz, then rotated copies (more sensors) as needed."""
    groups = []
    for index in range(-(-num_channels // 6)):
        rotation = _rotation(index)
        groups += [accelerometer @ rotation.T, gyroscope @ rotation.T]
    return np.concatenate(groups, -1)[..., :num_channels]


def _channel_names(num_channels: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names, units = [], []
    for index in range(num_channels):
        sensor = index // 6 + 1
        kind, unit = ("acc", "g") if index % 6 < 3 else ("gyro", "deg/s")
        names.append(f"{kind}{sensor if sensor > 1 else ''}_{'xyz'[index % 3]}")
        units.append(unit)
    return tuple(names), tuple(units)
