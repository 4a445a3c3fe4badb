"""Shared plumbing for the augmentations: one window or a batch in, the same shape and dtype out.

Every augmentation is written once for a batch (leading batch axis) in a float compute dtype;
`batched` adds a batch axis to a single window, casts half-precision inputs to float32 (random
draws and trigonometry in float16 lose too much), and undoes both on the way out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import tensorflow as tf

_HALF_DTYPES = (tf.float16, tf.bfloat16)


def check_seed(seed: Any, name: str) -> tf.Tensor:
    """The seed (int32 or int64, shape [2]) as int64, or a ValueError naming `name`.

    Casting to one dtype makes int32 and int64 seeds with the same values give the same draws
    (`stateless_split` depends on the dtype).
    """
    seed = tf.convert_to_tensor(seed)
    if seed.dtype not in (tf.int32, tf.int64):
        raise ValueError(
            f"{name}: seed must be an int32 or int64 tensor, got dtype {seed.dtype.name}"
        )
    if seed.shape.rank is not None and seed.shape.as_list() != [2]:
        raise ValueError(f"{name}: seed must have shape [2], got {seed.shape}")
    return tf.cast(seed, tf.int64)


def check_window(window: Any, base_rank: int, name: str) -> tf.Tensor:
    """The window as a float tensor of rank base_rank (one window) or base_rank + 1 (a batch)."""
    window = tf.convert_to_tensor(window)
    rank = window.shape.rank
    if rank not in (base_rank, base_rank + 1):
        raise ValueError(
            f"{name}: expected one window of rank {base_rank} or a batch of rank "
            f"{base_rank + 1} (leading batch axis), got shape {window.shape}"
        )
    if not window.dtype.is_floating:
        raise ValueError(f"{name}: expected a floating-point window, got dtype {window.dtype.name}")
    return window


def static_dim(x: tf.Tensor, axis: int, name: str, what: str) -> int:
    """The statically known size of one axis, or a ValueError (e.g. channels must be known)."""
    size = x.shape[axis]
    if size is None:
        raise ValueError(f"{name}: the number of {what} must be known when tracing, got {x.shape}")
    return size


def batched(base_rank: int) -> Callable:
    """Decorate `fn(batch, seed, **params)`, written for a batch, to take one window or a batch.

    The decorated function receives a (B, ...) tensor in float32 (float16/bfloat16 inputs) or
    the input's own float dtype, and a checked seed; its result is cast back to the input dtype.
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(window: tf.Tensor, seed: tf.Tensor, *args: Any, **kwargs: Any) -> tf.Tensor:
            window = check_window(window, base_rank, fn.__name__)
            seed = check_seed(seed, fn.__name__)
            dtype = tf.float32 if window.dtype in _HALF_DTYPES else window.dtype
            single = window.shape.rank == base_rank
            x = tf.cast(window, dtype)
            out = fn(x[tf.newaxis] if single else x, seed, *args, **kwargs)
            return tf.cast(out[0] if single else out, window.dtype)

        return wrapper

    return decorate


def split_seed(seed: tf.Tensor, num: int) -> list[tf.Tensor]:
    """`num` independent seeds derived from one, each of shape [2]."""
    return tf.unstack(tf.random.experimental.stateless_split(seed, num))
