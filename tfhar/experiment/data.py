"""A config's data section -> the splits every stage reads (numpy records, no TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass

from tfhar.config import Config
from tfhar.data import Record


@dataclass
class Splits:
    train: Record  # The labelled training windows (a fraction of them when semi-supervised).
    val: Record | None
    test: Record
    unlabeled: Record | None = None  # Every training window, for pre-training (default: train).

    @property
    def pretrain(self) -> Record:
        """The windows pre-training sees (without their labels)."""
        return self.train if self.unlabeled is None else self.unlabeled


def load_splits(config: Config, download: bool = False) -> Splits:
    """Load and split the config's dataset; with `download`, fetch UTD-MHAD when absent.

    `Splits.unlabeled` holds every training window (pre-training sees them all, without labels),
    `Splits.train` the `data.label_fraction` of them that fine-tuning and supervised training
    see, then `val` (None for protocols without one) and `test`. Raises tfhar.data.DataError.
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
    return Splits(train=labeled, val=parts.get("val"), test=parts["test"],
                  unlabeled=parts["train"])
