"""tf.data input pipelines: in-memory arrays or TFRecord shards -> batched views and labelled
examples.

Augmentations are applied after batching (one vectorized call per batch, which is several times
faster than per-window maps), with a per-batch seed drawn from a seeded random stream that
changes every epoch, so a pipeline is deterministic given its seed yet never repeats a view.

Shards (`tfhar.data.shards`) are streamed: files interleaved, windows through a bounded shuffle
buffer, batched, parsed and prefetched, never the whole corpus in memory. Under a multi-worker
strategy tf.data auto-shards them: by file when there are at least as many files as workers
(each worker reads its own), else by data (each reads all and keeps its part of every batch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

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


def _sharded_by(dataset: tf.data.Dataset, policy) -> tf.data.Dataset:
    """`dataset` auto-sharded across the workers of a multi-worker strategy by `policy`."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return dataset.with_options(options)


def _batched(arrays: tuple, batch_size: int, seed: int | None, shuffle: bool,
             drop_remainder: bool) -> tf.data.Dataset:
    """Shuffle (seeded, reshuffled each epoch) and batch a tuple of equal-length arrays.
    Across workers each keeps its part of every batch (arrays are no files to share out)."""
    num_examples = len(arrays[0])
    _check_batch(num_examples, batch_size, drop_remainder)
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return _sharded_by(dataset, tf.data.experimental.AutoShardPolicy.DATA)


def shard_batches(directory: str | Path, modalities: tuple[str, ...], batch_size: int,
                  seed: int = 0, shuffle_buffer: int = 10_000, num_workers: int = 1,
                  cycle_length: int = 8) -> tf.data.Dataset:
    """Full batches of windows streamed from the shards in `directory`, with their seeds:
    ((one (batch_size, *shape) float32 batch per entry of `modalities`), [2] int64 seed).

    Files in a seeded order, `cycle_length` read at once (interleaved), windows through a
    shuffle buffer of `shuffle_buffer` (memory: that many windows, not the corpus), batched and
    parsed; both orders change every epoch. A batch's seed is the fingerprint of its records
    with `seed`: deterministic, new every epoch (the batches change), and read from the data,
    so that the pipeline has one source, the files, which tf.data can shard by file across
    `num_workers` workers (by data when there are fewer files than workers). The stream
    repeats; an epoch is count // batch_size global batches (`cardinality`), so every worker
    steps as often whatever its files hold. ValueError for a modality the shards lack or a
    batch larger than the corpus; tfhar.data.DataError for a bad folder.
    """
    from tfhar.data.shards import read_index, shard_files

    index = read_index(directory)
    missing = [m for m in modalities if m not in index["modalities"]]
    if missing:
        raise ValueError(f"shards in {directory} hold {sorted(index['modalities'])}, not "
                         f"{', '.join(missing)}")
    _check_batch(index["count"], batch_size, True)
    if shuffle_buffer < 1:
        raise ValueError(f"shuffle_buffer must be >= 1, got {shuffle_buffer}")
    files = shard_files(directory, index)
    shapes = [index["modalities"][m]["shape"] for m in modalities]
    spec = {m: tf.io.FixedLenFeature([], tf.string) for m in modalities}

    def parse(serialized: tf.Tensor) -> tuple[tuple[tf.Tensor, ...], tf.Tensor]:
        features = tf.io.parse_example(serialized, spec)
        windows = tuple(tf.reshape(tf.io.decode_raw(features[m], tf.float32), [-1, *shape])
                        for m, shape in zip(modalities, shapes, strict=True))
        fingerprint = tf.fingerprint(tf.reshape(tf.strings.reduce_join(serialized), [1]))
        return windows, tf.stack([tf.bitcast(fingerprint[0], tf.int64),
                                  tf.constant(seed, tf.int64)])

    dataset = tf.data.Dataset.from_tensor_slices(files)
    dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=min(cycle_length,
                                 len(files)), num_parallel_calls=AUTOTUNE, deterministic=True)
    dataset = dataset.shuffle(shuffle_buffer, seed=seed + 1, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(parse, num_parallel_calls=AUTOTUNE, deterministic=True)
    dataset = dataset.repeat().take(index["count"] // batch_size)
    policy = tf.data.experimental.AutoShardPolicy
    return _sharded_by(dataset, policy.FILE if len(files) >= num_workers else policy.DATA)


def _seeded(batches: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """(batch, [2] int64 seed) pairs: each batch of arrays with the next seed of a stream."""
    return tf.data.Dataset.zip(batches, _batch_seeds(seed + 1))


def _simclr_views(seeded: tf.data.Dataset, augmenter: Augmenter | None) -> tf.data.Dataset:
    """(view_a, view_b) of each (batch of 1-tuples, seed) pair."""
    augment = augmenter or _identity

    def two_views(batch: tuple, seeds: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        (x,) = batch
        seed_a, seed_b = tf.unstack(tf.random.experimental.stateless_split(seeds, 2))
        return augment(x, seed_a), augment(x, seed_b)

    return seeded.map(two_views, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(
        AUTOTUNE)


def simclr_dataset(windows: np.ndarray, augmenter: Augmenter | None, batch_size: int,
                   seed: int = 0, shuffle: bool = True) -> tf.data.Dataset:
    """Two independently augmented views of each window of one modality.

    windows: (N, T, ...) float32. Yields (view_a, view_b), each (batch_size, T, ...); the last
    partial batch is dropped so every contrastive batch has the same number of negatives.
    """
    batches = _batched((np.asarray(windows, np.float32),), batch_size, seed, shuffle, True)
    return _simclr_views(_seeded(batches, seed), augmenter)


def simclr_shard_dataset(directory: str | Path, modality: str, augmenter: Augmenter | None,
                         batch_size: int, seed: int = 0, shuffle_buffer: int = 10_000,
                         num_workers: int = 1) -> tf.data.Dataset:
    """`simclr_dataset` of the `modality` windows streamed from shards (`shard_batches`)."""
    return _simclr_views(shard_batches(directory, (modality,), batch_size, seed,
                                       shuffle_buffer, num_workers), augmenter)


def _cmc_views(seeded: tf.data.Dataset, inertial_augmenter: Augmenter | None,
               skeleton_augmenter: Augmenter | None) -> tf.data.Dataset:
    """One augmented view per modality of each ((inertial, skeleton) batch, seed) pair."""
    augment_inertial = inertial_augmenter or _identity
    augment_skeleton = skeleton_augmenter or _identity

    def views(batch: tuple, seeds: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x_inertial, x_skeleton = batch
        seed_i, seed_s = tf.unstack(tf.random.experimental.stateless_split(seeds, 2))
        return augment_inertial(x_inertial, seed_i), augment_skeleton(x_skeleton, seed_s)

    return seeded.map(views, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def cmc_shard_dataset(directory: str | Path, inertial_augmenter: Augmenter | None,
                      skeleton_augmenter: Augmenter | None, batch_size: int, seed: int = 0,
                      shuffle_buffer: int = 10_000, num_workers: int = 1) -> tf.data.Dataset:
    """`cmc_dataset` of the aligned windows streamed from shards (`shard_batches`)."""
    seeded = shard_batches(directory, ("inertial", "skeleton"), batch_size, seed,
                           shuffle_buffer, num_workers)
    return _cmc_views(seeded, inertial_augmenter, skeleton_augmenter)


def cmc_dataset(inertial: np.ndarray, skeleton: np.ndarray, inertial_augmenter: Augmenter | None,
                skeleton_augmenter: Augmenter | None, batch_size: int, seed: int = 0,
                shuffle: bool = True) -> tf.data.Dataset:
    """One augmented view per modality of the same recordings, aligned row by row.

    inertial: (N, T, C); skeleton: (N, T, J, D). Yields (inertial_view, skeleton_view).
    """
    if len(inertial) != len(skeleton):
        raise ValueError(
            f"inertial has {len(inertial)} rows but skeleton has {len(skeleton)}: not aligned")
    arrays = (np.asarray(inertial, np.float32), np.asarray(skeleton, np.float32))
    batches = _batched(arrays, batch_size, seed, shuffle, True)
    return _cmc_views(_seeded(batches, seed), inertial_augmenter, skeleton_augmenter)


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
