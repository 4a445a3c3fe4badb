"""Recordings -> arrays (numpy only, never TensorFlow): loaders, splits, label fractions.

record = tfhar.data.load("utd_mhad")            # root: $TFHAR_DATA_DIR/utd_mhad
parts = tfhar.data.split(record, "cross_subject")  # {"train", "val", "test"}
few = tfhar.data.label_fraction(parts["train"], 0.1, seed=0)
"""

from tfhar.data.datasets import available_datasets, default_root, load, loader_options
from tfhar.data.download import download_dataset
from tfhar.data.errors import DataError
from tfhar.data.record import Record
from tfhar.data.splits import label_fraction, label_fraction_index, protocols, split

__all__ = [
    "DataError",
    "Record",
    "available_datasets",
    "default_root",
    "download_dataset",
    "label_fraction",
    "label_fraction_index",
    "load",
    "loader_options",
    "protocols",
    "split",
]
