"""Skeleton augmentations, stateless: `(window, seed, **params) -> window`.

A window is (time, joints, coords) or a batch (batch, time, joints, coords), coords 2 or 3;
every batch element draws its own randomness from `seed` (an int32/int64 tensor of shape [2])
via `tf.random.stateless_*`, so the functions are reproducible and run inside
`tf.data.Dataset.map` and `tf.function`. Shape and dtype are kept. The geometric transforms act
about the coordinate origin, which normalization puts at the first frame's spine joint.
Defaults are those of `tfhar.augment.specs.SKELETON` (the paper's UTD-MHAD settings).
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfhar.augment.batching import batched, split_seed, static_dim


def _coords(window: tf.Tensor, name: str, allowed: tuple[int, ...] | None = None) -> int:
    coords = static_dim(window, -1, name, "coordinates")
    if allowed is not None and coords not in allowed:
        raise ValueError(f"{name}: expected coordinates of size {allowed}, got {coords}")
    return coords


def _transform(window: tf.Tensor, matrices: tf.Tensor) -> tf.Tensor:
    """Apply one (D, D) matrix per example to every joint: (B, T, J, D) x (B, D, D)."""
    return tf.einsum("bij,btkj->btki", matrices, window)


@batched(base_rank=3)
def jitter(window: tf.Tensor, seed: tf.Tensor, sigma: float = 0.1) -> tf.Tensor:
    """Add Gaussian noise N(0, sigma) to every coordinate. window: (T, J, D) or (B, T, J, D)."""
    return window + tf.random.stateless_normal(tf.shape(window), seed, 0.0, sigma, window.dtype)


@batched(base_rank=3)
def crop_resize(
    window: tf.Tensor, seed: tf.Tensor, min_fraction: float = 0.8, max_fraction: float = 0.9
) -> tf.Tensor:
    """Crop a random contiguous stretch of time and stretch it back to T frames.

    window: (T, J, D) or (B, T, J, D). The crop spans a fraction U(min_fraction, max_fraction)
    of the sequence's duration (T - 1 frame intervals) from a uniformly random start; its T
    output frames are equally spaced inside it and linearly interpolated between neighbouring
    frames (the crop's ends are continuous positions, not whole frames). Fraction 1 is the
    identity.
    """
    batch, steps = tf.shape(window)[0], tf.shape(window)[1]
    fraction_seed, start_seed = split_seed(seed, 2)
    last = tf.cast(steps - 1, window.dtype)
    length = last * tf.random.stateless_uniform(
        [batch, 1], fraction_seed, min_fraction, max_fraction, dtype=window.dtype
    )
    start = (last - length) * tf.random.stateless_uniform(
        [batch, 1], start_seed, dtype=window.dtype
    )
    step = length / tf.maximum(last, 1.0)
    frames = tf.cast(tf.range(steps), window.dtype)
    positions = tf.clip_by_value(start + step * frames, 0.0, last)
    lower = tf.cast(tf.floor(positions), tf.int32)
    upper = tf.minimum(lower + 1, steps - 1)
    weight = (positions - tf.cast(lower, window.dtype))[:, :, tf.newaxis, tf.newaxis]
    below = tf.gather(window, lower, axis=1, batch_dims=1)
    above = tf.gather(window, upper, axis=1, batch_dims=1)
    return below + weight * (above - below)


@batched(base_rank=3)
def scale(window: tf.Tensor, seed: tf.Tensor, low: float = 0.7, high: float = 1.2) -> tf.Tensor:
    """Multiply each coordinate axis by a factor U(low, high). window: (T, J, D) or (B, T, J, D)."""
    coords = _coords(window, "scale")
    factors = tf.random.stateless_uniform(
        [tf.shape(window)[0], 1, 1, coords], seed, low, high, dtype=window.dtype
    )
    return window * factors


def rotation_matrices(angles: tf.Tensor) -> tf.Tensor:
    """(B, D, D) rotations from angles in radians: (B, 1) in-plane for D = 2; (B, 3) for D = 3,
    the product Rx @ Ry @ Rz of rotations about the x, y and z axes."""
    cos, sin = tf.cos(angles), tf.sin(angles)
    if angles.shape[-1] == 1:
        c, s = cos[:, 0], sin[:, 0]
        return tf.reshape(tf.stack([c, -s, s, c], axis=-1), [-1, 2, 2])
    one, zero = tf.ones_like(cos[:, 0]), tf.zeros_like(cos[:, 0])
    (cx, cy, cz), (sx, sy, sz) = tf.unstack(cos, axis=1), tf.unstack(sin, axis=1)
    rx = tf.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], axis=-1)
    ry = tf.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], axis=-1)
    rz = tf.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], axis=-1)
    rx, ry, rz = (tf.reshape(r, [-1, 3, 3]) for r in (rx, ry, rz))
    return rx @ ry @ rz


@batched(base_rank=3)
def rotate(window: tf.Tensor, seed: tf.Tensor, max_degrees: float = 10.0) -> tf.Tensor:
    """Rotate the whole sequence about the origin. window: (T, J, D) or (B, T, J, D).

    3D: about the x, y and z axes by independent angles U(-max_degrees, max_degrees);
    2D: in the image plane by one such angle. Distances between joints are kept.
    """
    coords = _coords(window, "rotate", allowed=(2, 3))
    limit = max_degrees * math.pi / 180.0
    angles = tf.random.stateless_uniform(
        [tf.shape(window)[0], 1 if coords == 2 else 3], seed, -limit, limit, dtype=window.dtype
    )
    return _transform(window, rotation_matrices(angles))


@batched(base_rank=3)
def shear(window: tf.Tensor, seed: tf.Tensor, sigma: float = 0.2) -> tf.Tensor:
    """Apply a random shear: identity diagonal, each off-diagonal factor drawn from N(0, sigma).

    window: (T, J, D) or (B, T, J, D). The reference code tied the factors of each row; here
    every off-diagonal entry is independent.
    """
    coords = _coords(window, "shear")
    factors = tf.random.stateless_normal(
        [tf.shape(window)[0], coords, coords], seed, 0.0, sigma, window.dtype
    )
    eye = tf.eye(coords, dtype=window.dtype)
    return _transform(window, eye + factors * (1.0 - eye))
