"""Training clips per second of each method on UTD-MHAD (steady state, after tracing).

    TFHAR_DATA_DIR=../shared/data python benchmarks/train_speed.py [--steps 30]
        [--methods cmc simclr_inertial ...] [--set model.inertial.feedforward_dim=256 ...]

For each method the model is built from its configs/utd_mhad config exactly as
`python -m tfhar.train` builds it, fed by the same tf.data pipeline with augmentation on, and
`fit` runs warm-up steps (tracing) before `--steps` timed steps. Also printed: the rate at
which the input pipeline alone delivers clips (so "input / train" is how many times faster the
pipeline is than the step that consumes it) and the process's peak resident memory. A clip is
one training example (two views for SimCLR, one view per modality for CMC). The authors'
PyTorch code, measured on the same 2-core CPU: CMC 77, SimCLR inertial 70, SimCLR skeleton 93,
supervised multimodal 75, supervised inertial 137 clips/s.
"""

from __future__ import annotations  # noqa: I001  (tfhar first: it sets TF's environment)

import argparse
import resource
import time
from pathlib import Path

import tfhar.data as data
import keras
import tensorflow as tf
from tfhar import builders
from tfhar.config import load_config
from tfhar.input import cmc_dataset, labeled_dataset, simclr_dataset
from tfhar.models import ClassifierModel, CMCModel, SimCLRModel
from tfhar.models.precision import set_precision

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "utd_mhad"
AUTHORS = {"cmc": 77, "simclr_inertial": 70, "simclr_skeleton": 93,
           "supervised_multimodal": 75, "supervised_inertial": 137}


def build(method: str, overrides: list[str], train: data.Record):
    """(model, dataset, clips per batch) for one method, as tfhar.train builds them."""
    config = load_config(CONFIGS / f"{method}.yaml", overrides)
    set_precision(config.runtime.precision)
    modalities = config.data.modalities
    augmenters = builders.build_augmenters(config, modalities)
    encoders = {m: builders.build_encoder(config, m, train) for m in modalities}
    optimizer = keras.optimizers.Adam(1e-3)
    if config.method == "cmc":
        heads = {m: builders.build_projection(config, e, f"{m}_projection")
                 for m, e in encoders.items()}
        model = CMCModel(encoders["inertial"], encoders["skeleton"], heads["inertial"],
                         heads["skeleton"], config.pretrain.temperature)
        batch = config.pretrain.batch_size
        dataset = cmc_dataset(train.inertial, train.skeleton, augmenters["inertial"],
                              augmenters["skeleton"], batch)
    elif config.method == "simclr":
        (modality,) = modalities
        override = getattr(config.pretrain, modality)
        batch = override.batch_size or config.pretrain.batch_size
        encoder = encoders[modality]
        head = builders.build_projection(config, encoder, f"{modality}_projection")
        model = SimCLRModel(encoder, head, config.pretrain.temperature)
        dataset = simclr_dataset(getattr(train, modality), augmenters[modality], batch)
    else:
        classifier = builders.build_classifier(config, encoders, train.num_classes)
        model = ClassifierModel(encoders, classifier, trainable_encoders=True)
        batch = config.finetune.batch_size
        dataset = labeled_dataset({m: getattr(train, m) for m in modalities}, train.labels,
                                  batch, shuffle=True, drop_remainder=True)
    model.compile(optimizer=optimizer, jit_compile=config.runtime.jit_compile)
    return model, dataset.repeat(), batch


def clips_per_second(model: keras.Model, dataset: tf.data.Dataset, batch: int, steps: int
                     ) -> float:
    model.fit(dataset, steps_per_epoch=5, epochs=1, verbose=0)  # Tracing and warm-up.
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - start)


def pipeline_rate(dataset: tf.data.Dataset, batch: int, steps: int) -> float:
    iterator = iter(dataset)
    for _ in range(5):
        next(iterator)
    start = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--methods", nargs="+", default=list(AUTHORS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    train = data.split(data.load("utd_mhad"), "cross_subject")["train"]
    print(f"overrides: {args.set or 'none (reference sizes)'}")
    print(f"{'method':24s} {'train clips/s':>14s} {'x authors':>10s} {'input clips/s':>14s} "
          f"{'input/train':>12s} {'peak RSS MB':>12s}")
    for method in args.methods:
        keras.backend.clear_session()
        model, dataset, batch = build(method, args.set, train)
        rate = clips_per_second(model, dataset, batch, args.steps)
        supply = pipeline_rate(dataset, batch, 4 * args.steps)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{method:24s} {rate:14.0f} {rate / AUTHORS[method]:10.2f} {supply:14.0f} "
              f"{supply / rate:12.1f} {peak:12.0f}", flush=True)


if __name__ == "__main__":
    main()
