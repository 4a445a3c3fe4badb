"""`python -m tfhar.export`: a training run -> the on-device inertial model, checked.

    python -m tfhar.export --run-dir runs/utd-cmc --out saved_models/utd_cmc
    python -m tfhar.export --run-dir runs/smoke --formats float32,int8

Writes into --out (default saved_models/<run name>): saved_model/ (Keras `model.export`,
dynamic batch), model_<format>.tflite, labels.txt, metadata.json (window, channels, units,
sampling rate, preprocessing), config.yaml (the run's) and report.json (every .tflite checked
with LiteRT against Keras on the run's test windows). The model takes one inertial window
(1, 50, C) float32 and returns class probabilities. Runs whose classifier also reads skeletons
get a new classifier on the frozen inertial encoder first, trained like the run's fine-tuning.
Everything is written to a temporary folder beside --out and renamed at the end; an existing
--out is replaced only when it is an export folder tfhar wrote (never a folder of yours).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfhar.config import ConfigError, config_hash, load_config
from tfhar.data import DataError
from tfhar.experiment.run_directory import (
    OwnershipError,
    check_replaceable,
    replace_folder,
    scratch_folder,
    write_marker,
)
from tfhar.files import read_json, write_json
from tfhar.tflite_utils import FORMATS

EXPORT_KIND = "export"


class ExportError(ValueError):
    """The run cannot be exported, or an exported model fails its checks."""


@dataclass(frozen=True)
class ExportRequest:
    run_dir: Path
    out: Path
    formats: tuple[str, ...]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tfhar.export", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True, help="a finished `tfhar.train` run")
    parser.add_argument("--out", help="destination folder (default saved_models/<run name>)")
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help=f"comma-separated .tflite formats (default {','.join(FORMATS)})")
    return parser.parse_args(argv)


def check_request(args: argparse.Namespace):
    """Validate the run directory and options before anything is written.

    Returns (request, config); raises ExportError or ConfigError naming what is wrong.
    """
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise ExportError(f"run directory {str(run_dir)!r} not found")
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ExportError(f"--formats {args.formats!r}: unknown format(s) "
                          f"{', '.join(unknown) or '(none given)'}; choose from "
                          f"{', '.join(FORMATS)}")
    if not (run_dir / "config.yaml").is_file():
        raise ExportError(f"{run_dir / 'config.yaml'} not found: is {str(run_dir)!r} a "
                          "`python -m tfhar.train` run directory?")
    config = load_config(run_dir / "config.yaml")
    if "inertial" not in config.data.modalities:
        raise ExportError(f"run {str(run_dir)!r} has no inertial encoder (data.modalities: "
                          f"{list(config.data.modalities)}); the phone model reads an IMU")
    needed = [run_dir / "model" / "inertial_encoder.keras"]
    if config.data.modalities == ("inertial",):
        needed.append(run_dir / "model" / "classifier.keras")
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise ExportError(f"missing model file(s) {', '.join(missing)}: did the run finish?")
    out = Path(args.out) if args.out else Path("saved_models") / run_dir.resolve().name
    check_replaceable(out, EXPORT_KIND, "--out", is_legacy_export)
    return ExportRequest(run_dir, out, formats), config


def float32_copy(model):
    """`model` itself when it computes in float32, else a float32 clone with its weights.

    A run trained under a mixed-precision policy saves layers that compute in float16; the
    phone model computes in float32 whatever the run used.
    """
    import keras

    if all(layer.dtype_policy.compute_dtype == "float32" for layer in model.layers):
        return model

    def float32_layer(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    clone = keras.models.clone_model(model, clone_function=float32_layer)
    clone.set_weights(model.get_weights())
    return clone


def phone_model(encoder, classifier):
    """Functional keras.Model: inertial window (B, T, C) -> class probabilities (B, K)."""
    import keras

    inputs = keras.Input(encoder.input_shape[1:], name="inertial")
    logits = classifier(encoder(inputs, training=False), training=False)
    outputs = keras.layers.Softmax(name="probabilities", dtype="float32")(logits)
    return keras.Model(inputs, outputs, name="tfhar_inertial")


def inertial_classifier(config, splits, encoder, scratch: Path):
    """A classifier on the frozen inertial encoder, fitted like the run's fine-tuning.

    Returns (classifier, test metrics of encoder + classifier).
    """
    from tfhar.experiment import RunContext, RunDirectory, evaluate, finetune

    run_dir = RunDirectory(scratch)
    for sub in ("checkpoints", "logs"):
        (scratch / sub).mkdir(parents=True, exist_ok=True)
    model = finetune(RunContext(config, run_dir, splits), {"inertial": encoder},
                     stage="inertial_classifier", trainable_encoders=False)
    return model.classifier, evaluate(model, splits.test)


def build_phone_model(request: ExportRequest, config, splits, scratch: Path):
    """The on-device keras.Model and how its classifier came about (for the report)."""
    import keras

    import tfhar.models  # noqa: F401  (registers the custom layers for loading)

    keras.utils.set_random_seed(config.runtime.seed)
    folder = request.run_dir / "model"
    encoder = float32_copy(keras.models.load_model(folder / "inertial_encoder.keras"))
    expected = tuple(splits.train.inertial.shape[1:])
    if tuple(encoder.input_shape[1:]) != expected:
        raise ExportError(f"{folder / 'inertial_encoder.keras'} takes windows shaped "
                          f"{tuple(encoder.input_shape[1:])}, the run's data {expected}")
    if config.data.modalities == ("inertial",):
        classifier = float32_copy(keras.models.load_model(folder / "classifier.keras"))
        return phone_model(encoder, classifier), {"classifier": "the run's own"}
    encoder.trainable = False
    classifier, metrics = inertial_classifier(config, splits, encoder, scratch)
    return phone_model(encoder, float32_copy(classifier)), {
        "classifier": "trained on the frozen inertial encoder by tfhar.export",
        "classifier_test_accuracy": metrics["accuracy"]}


def metadata(request: ExportRequest, config, train, keras_accuracy: float, origin: dict
             ) -> dict:
    """What a phone app needs to feed the model: window, channels, units, rate, labels."""
    from tfhar.config import to_dict

    window_steps = int(train.inertial.shape[1])
    duration = float(np.median(train.durations)) if train.durations is not None else None
    rate = train.inertial_rate_hz
    run_metrics = request.run_dir / "metrics.json"
    run_accuracy = (json.loads(run_metrics.read_text()).get("accuracy")
                    if run_metrics.is_file() else None)
    return {
        "model": {"input": {"name": "inertial", "shape": [1, window_steps,
                                                          int(train.inertial.shape[2])],
                            "dtype": "float32"},
                  "output": {"shape": [1, train.num_classes], "dtype": "float32",
                             "meaning": "class probabilities (softmax), in labels.txt order"},
                  "files": {f: f"model_{f}.tflite" for f in request.formats}},
        "class_names": list(train.class_names),
        "window": {"steps": window_steps, "duration_s": duration,
                   "raw_samples": round(duration * rate) if duration and rate else None},
        "channels": {"names": list(train.channel_names), "units": list(train.channel_units)},
        "raw_rate_hz": rate,
        "preprocessing": {
            "resample": f"cut {duration} s of raw samples per channel and FFT-resample them to "
                        f"{window_steps} steps with scipy.signal.resample(x, {window_steps}, "
                        "axis=0), as training resampled each recording",
            "normalization": "none: raw values in the units above, channels in the order above",
            "stream": f"slide a {duration} s window over the stream (e.g. hop "
                      f"{duration / 2 if duration else None} s), resample each window, run the "
                      "model once per window; python -m tfhar.predict does exactly this"},
        "training": {"run_dir": str(request.run_dir), "method": config.method,
                     "dataset": config.data.dataset, "protocol": config.data.protocol,
                     "modalities": list(config.data.modalities),
                     "config_hash": config_hash(config), "run_test_accuracy": run_accuracy,
                     **origin, "config": to_dict(config)},
        "test_accuracy": keras_accuracy,
    }


def export(request: ExportRequest, config, splits, tmp: Path, scratch: Path) -> dict:
    """Build, export, convert and check into `tmp`; returns the report."""
    from tfhar import tflite_utils
    from tfhar.config import dump_config

    train, test = splits.train, splits.test
    model, origin = build_phone_model(request, config, splits, scratch)
    keras_probabilities = model.predict(test.inertial, batch_size=256, verbose=0)
    keras_accuracy = float(np.mean(keras_probabilities.argmax(1) == test.labels))
    model.export(str(tmp / "saved_model"), verbose=False)
    for fmt in request.formats:
        content = tflite_utils.convert(tmp / "saved_model", fmt, train.inertial)
        (tmp / f"model_{fmt}.tflite").write_bytes(content)
    (tmp / "labels.txt").write_text("\n".join(train.class_names) + "\n")
    write_json(tmp / "metadata.json",
               metadata(request, config, train, keras_accuracy, origin))
    (tmp / "config.yaml").write_text(dump_config(config))
    report = tflite_utils.check_formats(tmp, request.formats, test.inertial, test.labels,
                                        keras_probabilities)
    report.update(int8_calibration_windows=len(train.inertial) if "int8" in request.formats
                  else 0, **origin)
    write_json(tmp / "report.json", report)
    if report["failures"]:
        raise ExportError("the exported model failed its checks: "
                          + "; ".join(report["failures"]))
    write_marker(tmp, EXPORT_KIND)
    return report


def is_legacy_export(folder: Path) -> bool:
    """An export folder written before markers existed: tfhar's metadata.json and a model."""
    meta = read_json(folder / "metadata.json") or {}
    return {"model", "class_names", "window", "channels"} <= set(meta) and any(
        folder.glob("model_*.tflite"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        request, config = check_request(args)
        from tfhar.experiment.data import load_splits

        splits = load_splits(config)
    except (ExportError, ConfigError, DataError, OwnershipError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    request.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with scratch_folder(request.out.parent, f".{request.out.name}.tmp-") as tmp, \
                scratch_folder(request.out.parent, f".{request.out.name}.train-") as scratch:
            report = export(request, config, splits, tmp, scratch)
            replace_folder(tmp, request.out, EXPORT_KIND, "--out", is_legacy_export)
    except (ExportError, OwnershipError) as error:
        print(f"error: {error} (nothing written to {request.out})", file=sys.stderr)
        return 2
    for fmt, row in report["formats"].items():
        print(f"[{fmt}] {row['size_bytes'] / 1024:.1f} KiB, max |diff| {row['max_abs_diff']:.2e}, "
              f"agreement {row['top1_agreement']:.4f}, accuracy {row['accuracy']:.4f}")
    print(f"exported {request.run_dir} -> {request.out} (Keras test accuracy "
          f"{report['keras_accuracy']:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
