"""Training clips per second of each method on UTD-MHAD (steady state, after tracing).

    TFHAR_DATA_DIR=/path/to/data python benchmarks/train_speed.py [--steps 30] [--epochs 5]
        [--methods cmc simclr_inertial ...] [--precisions float32 mixed_bfloat16]
        [--set model.inertial.feedforward_dim=256 ...] [--out results.json]

For each method (and precision) the model is built from its configs/utd_mhad config exactly
as `python -m tfhar.train` builds it, fed by the same tf.data pipeline with augmentation on.
Two rates, each with its spread (min / median / max): the step rate (`fit` runs warm-up steps
for tracing, then `--steps` timed steps, five times) and the whole-epoch rate (`--epochs`
epochs of the training split after a warm-up epoch, the input pipeline and per-epoch work
included: what a user experiences). Each method runs in a fresh process. Also printed: the
rate at which the input pipeline alone delivers clips (how many times faster than an epoch
consumes them) and the process's peak resident memory. A clip is
one training example (two views for SimCLR, one view per modality for CMC). The CPU model
and its vector / matrix flags are printed first: figures from different machines do not
compare. "x authors" divides the whole-epoch median by the authors' PyTorch Lightning code's
(razzu/cmc-cmkm, float32) whole-epoch rate measured on the same CPU model and flags, from
benchmarks/authors_rates.json (how they were measured is written there); on a CPU without an
entry the column is empty.
"""

from __future__ import annotations  # noqa: I001  (tfhar first: it sets TF's environment)

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import tfhar.data as data
import keras
import tensorflow as tf
from tfhar import builders
from tfhar.config import load_config
from tfhar.experiment.stages import fit_epochs
from tfhar.input import cmc_dataset, labeled_dataset, simclr_dataset
from tfhar.models import ClassifierModel, CMCModel, SimCLRModel
from tfhar.models.precision import set_precision

REPEATS = 5
METHODS = ("cmc", "simclr_inertial", "simclr_skeleton", "supervised_multimodal",
           "supervised_inertial")
AUTHORS_FILE = Path(__file__).resolve().parent / "authors_rates.json"


def authors_rates(cpu: dict) -> dict | None:
    """The authors' whole-epoch clips/s per method measured on this CPU (an entry of
    authors_rates.json whose `cpu` is part of this CPU's model name and whose `flags` and
    `cores` are this CPU's), or None: ratios to another CPU's figures are not like for like."""
    for entry in json.loads(AUTHORS_FILE.read_text())["measurements"]:
        if (entry["cpu"] in cpu["model"] and sorted(entry["flags"]) == sorted(cpu["flags"])
                and entry["cores"] == cpu["cores"]):
            return entry
    return None


def build(config_name: str, overrides: list[str], train: data.Record):
    """(model, dataset, clips per batch) of one config (a file or a shipped name such as
    utd_mhad/cmc), as tfhar.train builds them."""
    config = load_config(config_name, overrides)
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
    return model, dataset, batch


def step_rates(model: keras.Model, dataset: tf.data.Dataset, batch: int, steps: int
               ) -> list[float]:
    """Clips/s of `steps` training steps, REPEATS times, after tracing and warm-up steps."""
    repeated = dataset.repeat()
    model.fit(repeated, steps_per_epoch=5, epochs=1, verbose=0)  # Tracing and warm-up.
    rates = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        model.fit(repeated, steps_per_epoch=steps, epochs=1, verbose=0)
        rates.append(steps * batch / (time.perf_counter() - start))
    return rates


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)

    def on_train_begin(self, logs=None):
        self.times = []


def epoch_rates(model: keras.Model, dataset: tf.data.Dataset, batch: int, epochs: int
                ) -> list[float]:
    """Clips/s of whole training epochs on the training split, fitted as tfhar's stages fit
    (`fit_epochs`: the input pipeline and per-epoch work included; no validation, backups or
    logs, as in the authors' figures), after one warm-up epoch. Measured on a fresh model
    before the step rates: measured after them, epochs were bimodal and up to 2x slower."""
    timer = EpochTimer()
    fit_epochs(model, dataset, epochs + 1, verbose=0, callbacks=[timer])
    clips = batch * int(dataset.cardinality())
    return [clips / seconds for seconds in timer.times[1:]]


def pipeline_rate(dataset: tf.data.Dataset, batch: int, steps: int) -> float:
    iterator = iter(dataset)
    for _ in range(5):
        next(iterator)
    start = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return steps * batch / (time.perf_counter() - start)


def _spread(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1]}


def measure(config_name: str, overrides: list[str], steps: int, epochs: int) -> dict:
    """One config's figures on UTD-MHAD's training split, measured in this process."""
    train = data.split(data.load("utd_mhad"), "cross_subject")["train"]
    model, dataset, batch = build(config_name, overrides, train)
    epochs_ = epoch_rates(model, dataset, batch, epochs)
    steps_ = step_rates(model, dataset, batch, steps)
    supply = pipeline_rate(dataset.repeat(), batch, 4 * steps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"config": config_name, "step": _spread(steps_), "epoch": _spread(epochs_),
            "input": supply, "peak_rss_mb": peak}


def measure_in_child(config_name: str, precision: str, overrides: list[str], steps: int,
                     epochs: int) -> dict:
    """`measure` in a fresh Python process (measured one after another in one process, later
    configs ran up to 2x slower: skeleton SimCLR 46 vs 94 clips/s here). SystemExit with the
    child's last error line when it fails."""
    command = [sys.executable, __file__, "--in-process", "--steps", str(steps), "--epochs",
               str(epochs), "--config", config_name, f"--set=runtime.precision={precision}"]
    command += [f"--set={value}" for value in overrides]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode or not lines:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"error: measuring {config_name} failed: {tail}")
    return {**json.loads(lines[-1]), "precision": precision}


def _ratio(rate: float, authors: dict | None, method: str) -> str:
    if authors is None or method not in authors["clips_per_s"]:
        return "-"
    return f"{rate / authors['clips_per_s'][method]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="steps per timed step run")
    parser.add_argument("--epochs", type=int, default=5, help="whole epochs timed")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--precisions", nargs="+", default=["float32"],
                        choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)  # The child's config.
    args = parser.parse_args()
    if args.in_process:  # A child of measure_in_child: one config, a JSON line.
        print(json.dumps(measure(args.config, args.set, args.steps, args.epochs)), flush=True)
        return
    from tfhar.machine import cpu_info, describe_cpu, machine_info

    print(describe_cpu())
    authors = authors_rates(cpu_info())
    if authors is None:
        print("x authors: the authors' code was not measured on this CPU (authors_rates.json)")
    else:
        print(f"x authors: whole-epoch rate / the authors' code's on this CPU ({authors['date']}, "
              f"commit {authors['commit'][:8]}, {authors['precision']})")
    print(f"overrides: {args.set or 'none (reference sizes)'}; clips/s as min / median / max "
          f"of {REPEATS} runs of {args.steps} steps, and of {args.epochs} whole epochs")
    print(f"{'method':22s} {'precision':15s} {'step clips/s':>18s} {'epoch clips/s':>18s} "
          f"{'x authors':>10s} {'input/epoch':>11s} {'RSS MB':>7s}")
    rows = []
    for method in args.methods:
        for precision in args.precisions:
            row = {**measure_in_child(f"utd_mhad/{method}", precision, args.set, args.steps,
                                      args.epochs), "method": method}
            rows.append(row)
            step, epoch = row["step"], row["epoch"]
            print(f"{method:22s} {precision:15s} "
                  f"{step['min']:5.0f} {step['median']:5.0f} {step['max']:5.0f}  "
                  f"{epoch['min']:5.0f} {epoch['median']:5.0f} {epoch['max']:5.0f}  "
                  f"{_ratio(epoch['median'], authors, method):>10s} "
                  f"{row['input'] / epoch['median']:11.1f} {row['peak_rss_mb']:7.0f}",
                  flush=True)
    if args.out:
        from tfhar.files import write_json

        write_json(args.out, {"command": " ".join(sys.argv), "machine": machine_info(),
                              "overrides": args.set, "rows": rows,
                              "authors": authors})


if __name__ == "__main__":
    main()
