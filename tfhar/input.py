"""tf.data input pipelines: in-memory arrays -> batched views and labelled examples.

Augmentations are applied after batching (one vectorized call per batch, which is several times
faster than per-window maps), with a per-batch seed drawn from a seeded random stream that
changes every epoch, so a pipeline is deterministic given its seed yet never repeats a view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

Augmenter = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
AUTOTUNE = tf.data.AUTOTUNE


def _identity(windows: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    return windows


def _check_batch(num_examples: int, batch_size: int, drop_remainder: bool) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if drop_remainder and num_examples < batch_size:
        raise ValueError(
            f"batch_size {batch_size} is larger than the {num_examples} examples available: "
            "no full batch can be formed; lower the batch size")


def _batch_seeds(seed: int) -> tf.data.Dataset:
    """An endless stream of [2] int64 stateless seeds, new on every epoch, fixed by `seed`."""
    stream = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return stream.batch(2, drop_remainder=True)


def _batched(arrays: tuple, batch_size: int, seed: int | None, shuffle: bool,
             drop_remainder: bool) -> tf.data.Dataset:
    """Shuffle (seeded, reshuffled each epoch) and batch a tuple of equal-length arrays."""
    num_examples = len(arrays[0])
    _check_batch(num_examples, batch_size, drop_remainder)
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=drop_remainder)


def simclr_dataset(windows: np.ndarray, augmenter: Augmenter | None, batch_size: int,
                   seed: int = 0, shuffle: bool = True) -> tf.data.Dataset:
    """Two independently augmented views of each window of one modality.

    windows: (N, T, ...) float32. Yields (view_a, view_b), each (batch_size, T, ...); the last
    partial batch is dropped so every contrastive batch has the same number of negatives.
    """
    augment = augmenter or _identity
    dataset = _batched((np.asarray(windows, np.float32),), batch_size, seed, shuffle, True)

    def two_views(batch: tuple, seeds: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        (x,) = batch
        seed_a, seed_b = tf.unstack(tf.random.experimental.stateless_split(seeds, 2))
        return augment(x, seed_a), augment(x, seed_b)

    dataset = tf.data.Dataset.zip(dataset, _batch_seeds(seed + 1))
    return dataset.map(two_views, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(
        AUTOTUNE)


def cmc_dataset(inertial: np.ndarray, skeleton: np.ndarray, inertial_augmenter: Augmenter | None,
                skeleton_augmenter: Augmenter | None, batch_size: int, seed: int = 0,
                shuffle: bool = True) -> tf.data.Dataset:
    """One augmented view per modality of the same recordings, aligned row by row.

    inertial: (N, T, C); skeleton: (N, T, J, D). Yields (inertial_view, skeleton_view).
    """
    if len(inertial) != len(skeleton):
        raise ValueError(
            f"inertial has {len(inertial)} rows but skeleton has {len(skeleton)}: not aligned")
    augment_inertial = inertial_augmenter or _identity
    augment_skeleton = skeleton_augmenter or _identity
    arrays = (np.asarray(inertial, np.float32), np.asarray(skeleton, np.float32))
    dataset = _batched(arrays, batch_size, seed, shuffle, True)

    def views(batch: tuple, seeds: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x_inertial, x_skeleton = batch
        seed_i, seed_s = tf.unstack(tf.random.experimental.stateless_split(seeds, 2))
        return augment_inertial(x_inertial, seed_i), augment_skeleton(x_skeleton, seed_s)

    dataset = tf.data.Dataset.zip(dataset, _batch_seeds(seed + 1))
    return dataset.map(views, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def labeled_dataset(features: Mapping[str, np.ndarray], labels: np.ndarray, batch_size: int,
                    seed: int = 0, shuffle: bool = False,
                    augmenters: Mapping[str, Augmenter] | None = None,
                    drop_remainder: bool = False) -> tf.data.Dataset:
    """Labelled examples of one or several modalities.

    features: {modality: (N, T, ...)}; labels: (N,) int. Yields ({modality: batch}, labels).
    Augmentation (optional, per modality) uses seeded per-batch streams like the views above.
    """
    if not features:
        raise ValueError("labeled_dataset needs at least one modality")
    names = sorted(features)
    for name in names:
        if len(features[name]) != len(labels):
            raise ValueError(
                f"{name} has {len(features[name])} rows but labels has {len(labels)}")
    arrays = tuple(np.asarray(features[n], np.float32) for n in names)
    dataset = _batched(arrays + (np.asarray(labels, np.int32),), batch_size, seed, shuffle,
                       drop_remainder)
    augmenters = dict(augmenters or {})

    if not augmenters:
        def pack(*batch: tf.Tensor) -> tuple[dict, tf.Tensor]:
            return dict(zip(names, batch[:-1], strict=True)), batch[-1]

        return dataset.map(pack, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)

    def augment(batch: tuple, seeds: tf.Tensor) -> tuple[dict, tf.Tensor]:
        keys = tf.unstack(tf.random.experimental.stateless_split(seeds, len(names)))
        out = {n: augmenters.get(n, _identity)(x, k)
               for n, x, k in zip(names, batch[:-1], keys, strict=True)}
        return out, batch[-1]

    dataset = tf.data.Dataset.zip(dataset, _batch_seeds(seed + 1))
    return dataset.map(augment, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(
        AUTOTUNE)
