"""A config's data section -> the splits every stage reads (numpy records, no TensorFlow)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tfhar.config import Config
from tfhar.data import Record


@dataclass
class Splits:
    train: Record  # The labelled training windows (a fraction of them when semi-supervised).
    val: Record | None
    test: Record
    unlabeled: Record | None = None  # Every training window, for pre-training (default: train).
    # (mean (C,), std (C,)) float32 the inertial windows were standardized with, or None.
    standardization: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def pretrain(self) -> Record:
        """The windows pre-training sees (without their labels)."""
        return self.train if self.unlabeled is None else self.unlabeled


def standardized(splits: Splits) -> Splits:
    """`splits` with every inertial window standardized per channel, (x - mean) / std, with
    the mean and std of all training windows (`splits.pretrain`, over windows and steps; a
    constant channel keeps std 1): `data.standardize`. g and deg/s channels then share one
    scale, which jitter's single sigma and int8's single input scale assume."""
    from tfhar.models.phone import channel_statistics

    if splits.standardization is not None:
        raise ValueError("these splits are standardized already")
    mean, std = channel_statistics(splits.pretrain.inertial)

    def scaled(record: Record | None) -> Record | None:
        if record is None:
            return None
        return dataclasses.replace(record, inertial=((record.inertial - mean) / std).astype(
            np.float32))

    return Splits(train=scaled(splits.train), val=scaled(splits.val), test=scaled(splits.test),
                  unlabeled=scaled(splits.unlabeled), standardization=(mean, std))


def load_splits(config: Config, download: bool = False, raw: bool = False) -> Splits:
    """Load and split the config's dataset; with `download`, fetch UTD-MHAD when absent.

    `Splits.unlabeled` holds every training window (pre-training sees them all, without labels;
    with `data.pretrain_subjects: all` every validation and test window too),
    `Splits.train` the `data.label_fraction` of them that fine-tuning and supervised training
    see, then `val` (None for protocols without one) and `test`. With `data.standardize` the
    inertial windows are `standardized` unless `raw` (tfhar.export builds the phone model, which
    takes raw units, from raw splits). Raises tfhar.data.DataError.
    """
    import tfhar.data as data

    root = config.data.root
    if download and config.data.dataset == "utd_mhad":
        data.download_dataset("utd_mhad", root)
    options = dict(config.data.options)
    options.setdefault("window_length", config.data.window_length)
    record = data.load(config.data.dataset, root=root, modalities=config.data.modalities,
                       **options)
    parts = data.split(record, config.data.protocol, config.data.protocol_options)
    labeled = parts["train"]
    if config.data.label_fraction < 1.0:
        labeled = data.label_fraction(labeled, config.data.label_fraction,
                                      config.data.label_fraction_seed)
    unlabeled = parts["train"]
    if config.data.pretrain_subjects == "all":  # Transductive: every subject, no label used.
        unlabeled = unlabeled.concat(*(parts[name] for name in ("val", "test")
                                       if parts.get(name) is not None))
    splits = Splits(train=labeled, val=parts.get("val"), test=parts["test"],
                    unlabeled=unlabeled)
    return standardized(splits) if config.data.standardize and not raw else splits
