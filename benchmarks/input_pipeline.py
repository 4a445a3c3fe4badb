"""Clips per second that each tf.data builder delivers on UTD-MHAD (augmentations on).

A clip is one training example: two augmented views for SimCLR, one view per modality for CMC,
one labelled example otherwise; the same unit as benchmarks/train_speed.py.

    TFHAR_DATA_DIR=/path/to/data python benchmarks/input_pipeline.py [--batches 300]

Data are in memory (the preprocessed cache); every builder is iterated for a fixed number of
batches after a warm-up, repeating the dataset so epochs do not end the measurement.
"""

from __future__ import annotations

import argparse
import time

import tfhar.data as data
from tfhar.augment import build_augmenter
from tfhar.augment.specs import DEFAULTS
from tfhar.input import cmc_dataset, labeled_dataset, simclr_dataset


def rate(dataset, clips_per_batch: int, batches: int, warmup: int = 20) -> float:
    iterator = iter(dataset.repeat())
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return clips_per_batch * batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    record = data.load("utd_mhad")
    train = data.split(record, "cross_subject")["train"]
    spec = DEFAULTS["utd_mhad"]
    inertial = build_augmenter("inertial", spec["inertial"])
    skeleton = build_augmenter("skeleton", spec["skeleton"])
    # Pipelines cycle over the 861 windows so small splits do not limit the batch count.
    rows = [
        ("simclr inertial (2 views, batch 128)",
         simclr_dataset(record.inertial, inertial, 128), 128),
        ("simclr skeleton (2 views, batch 32)",
         simclr_dataset(record.skeleton, skeleton, 32), 32),
        ("cmc (inertial + skeleton view, batch 64)",
         cmc_dataset(record.inertial, record.skeleton, inertial, skeleton, 64), 64),
        ("labelled, both modalities, no augmentation (batch 64)",
         labeled_dataset({"inertial": train.inertial, "skeleton": train.skeleton},
                         train.labels, 64, shuffle=True, drop_remainder=True), 64),
        ("labelled, both modalities, augmented (batch 64)",
         labeled_dataset({"inertial": train.inertial, "skeleton": train.skeleton},
                         train.labels, 64, shuffle=True, drop_remainder=True,
                         augmenters={"inertial": inertial, "skeleton": skeleton}), 64),
    ]
    from tfhar.machine import describe_cpu

    print(describe_cpu())
    print(f"{'pipeline':58s} {'clips/s':>12s}")
    for name, dataset, per_batch in rows:
        print(f"{name:58s} {rate(dataset, per_batch, args.batches):12.0f}", flush=True)


if __name__ == "__main__":
    main()
