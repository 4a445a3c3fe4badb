"""Inertial augmentations (the CSSHAR set), stateless: `(window, seed, **params) -> window`.

A window is (time, channels) or a batch (batch, time, channels); every batch element draws its
own randomness from `seed` (an int32/int64 tensor of shape [2]) via `tf.random.stateless_*`,
so the functions are reproducible and run inside `tf.data.Dataset.map` and `tf.function`.
Shape and dtype are kept. Defaults are those of `tfhar.augment.specs.INERTIAL`.
Source: Khaertdinov et al., CSSHAR (IJCB 2021) and the paper's reference code, with permutation
and channel shuffle on the right axes (the reference code swapped time and channels).
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfhar.augment.batching import batched, split_seed, static_dim
from tfhar.validation import check_int


def _check_int(value: object, minimum: int, name: str, param: str) -> None:
    check_int(f"{name}: {param}", value, low=minimum)


def _channel_groups(window: tf.Tensor, group_size: int, name: str) -> int:
    """How many groups of `group_size` channels the window has (channels must divide evenly)."""
    _check_int(group_size, 1, name, "group_size")
    channels = static_dim(window, -1, name, "channels")
    if channels % group_size:
        raise ValueError(
            f"{name}: {channels} channels do not split into groups of {group_size} "
            "(three-axis sensors: channels must be a multiple of the group size)"
        )
    return channels // group_size


Groups = tuple[tuple[int, ...], ...]


def _contiguous_groups(window: tf.Tensor, group_size: int, name: str) -> Groups:
    """Channels 0..g-1, g..2g-1, ... as groups of `group_size` (channels must divide evenly)."""
    count = _channel_groups(window, group_size, name)
    return tuple(tuple(range(g * group_size, (g + 1) * group_size)) for g in range(count))


def _explicit_groups(window: tf.Tensor, groups: object, name: str, size: int | None) -> Groups:
    """`groups` checked against the window: index tuples (of `size` each when given) of distinct
    channels, none in two groups."""
    channels = static_dim(window, -1, name, "channels")
    if not isinstance(groups, tuple | list) or not groups or not all(
            isinstance(g, tuple | list) and g and all(
                isinstance(i, int) and not isinstance(i, bool) for i in g) for g in groups):
        raise ValueError(f"{name}: groups must be a non-empty tuple of tuples of channel "
                         f"indices, got {groups!r}")
    flat = [i for g in groups for i in g]
    outside = [i for i in flat if not 0 <= i < channels]
    if outside:
        raise ValueError(f"{name}: groups {groups!r} name channel {outside[0]}, outside "
                         f"0..{channels - 1} of the window's {channels} channels")
    if len(set(flat)) != len(flat):
        raise ValueError(f"{name}: groups {groups!r} name a channel twice")
    if size is not None and any(len(g) != size for g in groups):
        raise ValueError(f"{name}: groups {groups!r}: every group must have {size} channels "
                         "(three-axis sensors)")
    return tuple(tuple(g) for g in groups)


def _put_back(window: tf.Tensor, grouped: tf.Tensor, groups: Groups) -> tf.Tensor:
    """The window with the grouped channels (B, T, K), in `groups` order, written back to
    their places; every other channel unchanged."""
    channels = window.shape[-1]
    position = {c: k for k, c in enumerate(c for g in groups for c in g)}
    source = [channels + position[c] if c in position else c for c in range(channels)]
    if source == list(range(channels, 2 * channels)):
        return grouped  # Every channel grouped, in order (the contiguous default).
    return tf.gather(tf.concat([window, grouped], axis=2), source, axis=2)


@batched(base_rank=2)
def jitter(window: tf.Tensor, seed: tf.Tensor, sigma: float = 1.0) -> tf.Tensor:
    """Add Gaussian noise N(0, sigma) to every value. window: (T, C) or (B, T, C)."""
    return window + tf.random.stateless_normal(tf.shape(window), seed, 0.0, sigma, window.dtype)


@batched(base_rank=2)
def scale(
    window: tf.Tensor, seed: tf.Tensor, sigma: float = 1.0, per_element: bool = False
) -> tf.Tensor:
    """Multiply each channel by one factor drawn from N(1, sigma). window: (T, C) or (B, T, C).

    With `per_element`, every value draws its own factor (multiplicative noise), as the
    authors' code does; the default is the CSSHAR scaling, one factor per channel.
    """
    if not isinstance(per_element, bool):
        raise ValueError(f"scale: per_element must be true or false, got {per_element!r}")
    shape = tf.shape(window) if per_element else [tf.shape(window)[0], 1, tf.shape(window)[2]]
    return window * tf.random.stateless_normal(shape, seed, 1.0, sigma, window.dtype)


@batched(base_rank=2)
def permute(window: tf.Tensor, seed: tf.Tensor, max_segments: int = 5) -> tf.Tensor:
    """Cut time into 2..max_segments random-length segments and shuffle their order.

    window: (T, C) or (B, T, C). The number of segments is uniform in [2, max_segments] (at most
    T), the cut points are distinct and uniform over the T - 1 gaps, and every order but the
    original one is possible: when the shuffle draws the original order, the segments are
    reversed instead, so the augmentation always changes a window with T >= 2.
    """
    _check_int(max_segments, 2, "permute", "max_segments")
    batch, steps = tf.shape(window)[0], tf.shape(window)[1]
    count_seed, cut_seed, order_seed = split_seed(seed, 3)
    num_segments = tf.random.stateless_uniform(
        [batch], count_seed, minval=2, maxval=max_segments + 1, dtype=tf.int32
    )
    num_segments = tf.minimum(num_segments, steps)
    # The num_segments - 1 gaps with the smallest random keys become cut points.
    cut_keys = tf.random.stateless_uniform([batch, steps - 1], cut_seed)
    cut_rank = tf.argsort(tf.argsort(cut_keys, axis=1), axis=1)
    is_cut = tf.cast(cut_rank < (num_segments - 1)[:, tf.newaxis], tf.int32)
    segment = tf.concat([tf.zeros([batch, 1], tf.int32), tf.cumsum(is_cut, axis=1)], axis=1)
    # A random key per segment gives its new place; absent segments get keys above all others.
    ids = tf.range(max_segments, dtype=tf.float32)[tf.newaxis]
    present = ids < tf.cast(num_segments, tf.float32)[:, tf.newaxis]
    order_keys = tf.where(
        present, tf.random.stateless_uniform([batch, max_segments], order_seed), 1.0 + ids
    )
    unchanged = tf.reduce_all(order_keys[:, 1:] > order_keys[:, :-1], axis=1, keepdims=True)
    order_keys = tf.where(unchanged & present, -ids, order_keys)
    # Steps of one segment share a key; a stable sort keeps their order inside the segment.
    step_keys = tf.gather(order_keys, segment, axis=1, batch_dims=1)
    order = tf.argsort(step_keys, axis=1, stable=True)
    return tf.gather(window, order, axis=1, batch_dims=1)


@batched(base_rank=2)
def permute_equal(window: tf.Tensor, seed: tf.Tensor, max_segments: int = 5) -> tf.Tensor:
    """The authors' permutation: cut time into n equal segments and put them in a random order.

    window: (T, C) or (B, T, C). n is uniform in [1, max_segments - 1] (numpy's `randint(1,
    max_segments)`, as the reference code draws it; at most T), the segments are those of
    `np.array_split(range(T), n)` (the first T mod n one step longer), and their order is
    uniformly random, the original one included: with max_segments 3 a window is left as it is
    half the time (n = 1) and a quarter more (n = 2, same order). `permute` is the stronger
    variant (2..max_segments random-length segments, never the original order).
    Source: the time-series permutation of Um et al. (ICMI 2017) as in the CSSHAR and CMC-CMKM
    code (their seg_mode "equal").
    """
    _check_int(max_segments, 3, "permute_equal", "max_segments")  # 2: always one segment.
    batch, steps = tf.shape(window)[0], tf.shape(window)[1]
    count_seed, order_seed = split_seed(seed, 2)
    count = tf.random.stateless_uniform([batch], count_seed, minval=1, maxval=max_segments,
                                        dtype=tf.int32)
    count = tf.minimum(count, steps)[:, tf.newaxis]
    # np.array_split: the first r = T mod n segments hold q + 1 = T // n + 1 steps, the rest q.
    longer, remainder = steps // count + 1, steps % count
    t = tf.range(steps)[tf.newaxis]
    first_short = remainder * longer
    segment = tf.where(t < first_short, t // longer,
                       remainder + (t - first_short) // tf.maximum(longer - 1, 1))
    # A random key per segment gives its new place; a stable sort keeps steps in order inside.
    keys = tf.random.stateless_uniform([batch, max_segments], order_seed)
    order = tf.argsort(tf.gather(keys, segment, axis=1, batch_dims=1), axis=1, stable=True)
    return tf.gather(window, order, axis=1, batch_dims=1)


@batched(base_rank=2)
def channel_shuffle(window: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Permute the channels with a uniformly random permutation. window: (T, C) or (B, T, C)."""
    keys = tf.random.stateless_uniform([tf.shape(window)[0], tf.shape(window)[2]], seed)
    return tf.gather(window, tf.argsort(keys, axis=1), axis=2, batch_dims=1)


@batched(base_rank=2)
def flip_rotate(
    window: tf.Tensor, seed: tf.Tensor, group_size: int = 3, *, groups: Groups | None = None
) -> tf.Tensor:
    """CSSHAR's "rotation": flip the sign of each channel at random and permute the axes
    inside each group of `group_size` channels (one three-axis sensor).

    window: (T, C) or (B, T, C), C a multiple of group_size. `groups` (index tuples, e.g. a
    record's `channel_groups`) names the sensors' channels explicitly instead: then only their
    channels are flipped and permuted, each within its group, and the others are unchanged. A
    signed permutation of a sensor's axes is a rotation by multiples of 90 degrees or a
    reflection. The reference code flipped the sign of every value independently; here a flip
    applies to the whole channel.
    """
    if groups is None:
        groups = _contiguous_groups(window, group_size, "flip_rotate")
    else:
        groups = _explicit_groups(window, groups, "flip_rotate", None)
    flat = [c for g in groups for c in g]
    batch = tf.shape(window)[0]
    sign_seed, order_seed = split_seed(seed, 2)
    keys = tf.random.stateless_uniform([batch, len(flat)], order_seed)
    orders, start = [], 0
    for group in groups:  # Each group's channels are shuffled among themselves.
        orders.append(tf.argsort(keys[:, start:start + len(group)], axis=1) + start)
        start += len(group)
    order = tf.concat(orders, axis=1)
    flips = tf.random.stateless_uniform([batch, 1, len(flat)], sign_seed) < 0.5
    grouped = tf.gather(window, flat, axis=2) if flat != list(range(window.shape[-1])) \
        else window
    permuted = tf.gather(grouped, order, axis=2, batch_dims=1)
    return _put_back(window, tf.where(flips, -permuted, permuted), groups)


def axis_angle_matrix(axis: tf.Tensor, angle: tf.Tensor) -> tf.Tensor:
    """Rotation matrices (..., 3, 3) from unit axes (..., 3) and angles (...) in radians."""
    x, y, z = tf.unstack(axis, axis=-1)
    zero = tf.zeros_like(x)
    cross = tf.stack(
        [tf.stack([zero, -z, y], -1), tf.stack([z, zero, -x], -1), tf.stack([-y, x, zero], -1)],
        axis=-2,
    )
    sin = tf.sin(angle)[..., tf.newaxis, tf.newaxis]
    cos = tf.cos(angle)[..., tf.newaxis, tf.newaxis]
    # Rodrigues' formula; at angle 0 both terms vanish and the matrix is exactly the identity.
    return tf.eye(3, dtype=axis.dtype) + sin * cross + (1.0 - cos) * tf.matmul(cross, cross)


@batched(base_rank=2)
def rotate_3d(
    window: tf.Tensor,
    seed: tf.Tensor,
    max_angle_degrees: float = 180.0,
    group_size: int = 3,
    same_rotation_for_all_groups: bool = True,
    *,
    groups: Groups | None = None,
) -> tf.Tensor:
    """Rotate each three-axis sensor group (channels 0-2, 3-5, ...) by a random 3D rotation.

    window: (T, C) or (B, T, C), C a multiple of 3; or `groups` (index triples, e.g. a
    record's `channel_groups`) names the sensors' channels explicitly, in x, y, z order, and
    the channels outside them are unchanged. The axis is uniform on the sphere and the angle
    uniform in [-max_angle_degrees, max_angle_degrees]. With `same_rotation_for_all_groups`
    (default) one rotation per example turns every triad, which is the physical choice for
    sensors rigidly mounted together (a device's accelerometer and gyroscope); otherwise every
    triad draws its own rotation. Vector norms per triad are kept.
    """
    if group_size != 3:
        raise ValueError(f"rotate_3d: group_size must be 3 (three-axis sensors), got {group_size}")
    if groups is None:
        groups = _contiguous_groups(window, group_size, "rotate_3d")
    else:
        groups = _explicit_groups(window, groups, "rotate_3d", 3)
    flat = [c for g in groups for c in g]
    count = len(groups)
    batch, steps = tf.shape(window)[0], tf.shape(window)[1]
    num_rotations = 1 if same_rotation_for_all_groups else count
    axis_seed, angle_seed = split_seed(seed, 2)
    axis = tf.random.stateless_normal([batch, num_rotations, 3], axis_seed, dtype=window.dtype)
    limit = max_angle_degrees * math.pi / 180.0
    angle = tf.random.stateless_uniform(
        [batch, num_rotations], angle_seed, -limit, limit, dtype=window.dtype
    )
    matrices = axis_angle_matrix(tf.math.l2_normalize(axis, axis=-1), angle)
    matrices = tf.broadcast_to(matrices, [batch, count, 3, 3])
    grouped = tf.gather(window, flat, axis=2) if flat != list(range(window.shape[-1])) \
        else window
    triads = tf.reshape(grouped, [batch, steps, count, 3])
    rotated = tf.einsum("bgij,btgj->btgi", matrices, triads)
    return _put_back(window, tf.reshape(rotated, [batch, steps, 3 * count]), groups)
