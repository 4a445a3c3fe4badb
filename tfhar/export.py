"""`python -m tfhar.export`: a training run -> the on-device inertial model, checked.

    python -m tfhar.export --run-dir runs/utd-cmc --out saved_models/utd_cmc
    python -m tfhar.export --run-dir runs/smoke --formats float32,int8

    python -m tfhar.export --run-dir runs/utd --raw-input --formats float32,int8,int8_full

Writes into --out (default saved_models/<run name>): saved_model/ (Keras `model.export`,
dynamic batch), model_<format>.tflite, labels.txt, metadata.json (input, window, channels,
units, sampling rate, preprocessing), config.yaml (the run's) and report.json (every .tflite
checked with LiteRT against Keras on the run's test windows; for UTD-MHAD runs also the stream
evaluation of tfhar.evaluate_stream). The model takes one inertial window (1, 50, C) float32
and returns class probabilities; with --raw-input it takes D seconds of raw samples (1, N, C)
and FFT-resamples them inside with a constant matrix (exactly scipy.signal.resample); with
--standardize it standardizes each channel inside (training-split mean and std, folded into
the first convolution's weights). int8_full (asked for by name) is fully integer: int8 input
(standardized) and output, no float operator. Runs whose classifier also reads skeletons get
a new classifier on the frozen inertial encoder first, trained like the run's fine-tuning.
Everything is written to a temporary folder beside --out and renamed at the end; an existing
--out is replaced only when it is an export folder tfhar wrote (never a folder of yours).

Over 300 lines: the export's checks, its metadata (window or raw samples,
standardization, integer input and output) and the stream figures; the model building is in
tfhar.models.phone.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfhar.config import ConfigError, classifier_modalities, config_hash, load_config
from tfhar.data import DataError, preprocess
from tfhar.experiment.run_directory import (
    OwnershipError,
    check_replaceable,
    replace_folder,
    scratch_folder,
    write_marker,
)
from tfhar.files import read_json, write_json
from tfhar.tflite_utils import DEFAULT_FORMATS, FORMATS, INTEGER_FORMATS

EXPORT_KIND = "export"


class ExportError(ValueError):
    """The run cannot be exported, or an exported model fails its checks."""


@dataclass(frozen=True)
class ExportRequest:
    run_dir: Path
    out: Path
    formats: tuple[str, ...]
    raw_input: bool = False  # The model takes raw samples and resamples inside.
    standardize: bool = False  # The float-input models standardize each channel inside.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tfhar.export", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True, help="a finished `tfhar.train` run")
    parser.add_argument("--out", help="destination folder (default saved_models/<run name>)")
    parser.add_argument("--formats", default=",".join(DEFAULT_FORMATS),
                        help=f"comma-separated .tflite formats among {','.join(FORMATS)} "
                             f"(default {','.join(DEFAULT_FORMATS)})")
    parser.add_argument("--raw-input", action="store_true",
                        help="the model takes D s of raw samples and resamples them inside")
    parser.add_argument("--standardize", action="store_true",
                        help="standardize each channel inside the model (training statistics)")
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
    if classifier_modalities(config) == ("inertial",):
        needed.append(run_dir / "model" / "classifier.keras")
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise ExportError(f"missing model file(s) {', '.join(missing)}: did the run finish?")
    out = Path(args.out) if args.out else Path("saved_models") / run_dir.resolve().name
    check_replaceable(out, EXPORT_KIND, "--out", is_legacy_export)
    # A run trained on standardized windows (data.standardize) has an encoder that reads them:
    # its phone model always standardizes inside, so that phones feed raw units.
    standardize = args.standardize or config.data.standardize
    return ExportRequest(run_dir, out, formats, args.raw_input, standardize), config


def inertial_classifier(config, splits, encoder, scratch: Path):
    """A classifier on the frozen inertial encoder, fitted like the run's fine-tuning.

    Its checkpoint rule is the run's `finetune.monitor` resolved for frozen encoders
    (`checkpoint_rule`). A run whose own rule resolves like the default's (`last`) uses the
    default, so configs of one hash (`auto` and `last` on a supervised run) fit the same
    classifier.
    Returns (classifier, test metrics of encoder + classifier).
    """
    import dataclasses

    from tfhar.config import FinetuneConfig, checkpoint_rule, trains_encoders
    from tfhar.experiment import RunContext, RunDirectory, evaluate, finetune

    trains = trains_encoders(config)
    default = FinetuneConfig().monitor
    if checkpoint_rule(config.finetune.monitor, trains) == checkpoint_rule(default, trains):
        config = dataclasses.replace(
            config, finetune=dataclasses.replace(config.finetune, monitor=default))
    run_dir = RunDirectory(scratch)
    for sub in ("checkpoints", "logs"):
        (scratch / sub).mkdir(parents=True, exist_ok=True)
    model = finetune(RunContext(config, run_dir, splits), {"inertial": encoder},
                     stage="inertial_classifier", trainable_encoders=False)
    return model.classifier, evaluate(model, splits.test)


def inertial_parts(request: ExportRequest, config, splits, scratch: Path):
    """(float32 encoder, float32 classifier, how the classifier came about (for the report))."""
    import keras

    import tfhar.models  # noqa: F401  (registers the custom layers for loading)
    from tfhar.models.phone import float32_copy

    keras.utils.set_random_seed(config.runtime.seed)
    folder = request.run_dir / "model"
    encoder = float32_copy(keras.models.load_model(folder / "inertial_encoder.keras"))
    expected = tuple(splits.train.inertial.shape[1:])
    if tuple(encoder.input_shape[1:]) != expected:
        raise ExportError(f"{folder / 'inertial_encoder.keras'} takes windows shaped "
                          f"{tuple(encoder.input_shape[1:])}, the run's data {expected}")
    if classifier_modalities(config) == ("inertial",):
        classifier = float32_copy(keras.models.load_model(folder / "classifier.keras"))
        return encoder, classifier, {"classifier": "the run's own"}
    encoder.trainable = False
    classifier, metrics = inertial_classifier(config, splits, encoder, scratch)
    return encoder, float32_copy(classifier), {
        "classifier": "trained on the frozen inertial encoder by tfhar.export",
        "classifier_test_accuracy": metrics["accuracy"]}


def raw_sample_count(train) -> int | None:
    """Raw samples in one window: the median recording duration D times the raw rate."""
    duration = float(np.median(train.durations)) if train.durations is not None else None
    rate = train.inertial_rate_hz
    return round(duration * rate) if duration and rate else None


def _preprocessing(request: ExportRequest, window_steps: int, duration, raw_samples) -> dict:
    """The preprocessing section of metadata.json: how a stream becomes the model's input."""
    resample = (f"cut {duration} s of raw samples per channel and FFT-resample them to "
                f"{window_steps} steps with scipy.signal.resample(x, {window_steps}, axis=0), "
                "as training resampled each recording")
    if request.raw_input:
        resample = (f"none: the model takes {raw_samples} raw samples ({duration} s) per "
                    f"channel and FFT-resamples them to {window_steps} steps inside, exactly as "
                    f"scipy.signal.resample(x, {window_steps}, axis=0) (a constant matrix); at "
                    f"another rate, FFT-resample each {duration} s window to {raw_samples} "
                    "samples first")
    normalization = "none: raw values in the units above, channels in the order above"
    if request.standardize:
        normalization += ("; the model standardizes each channel inside ((x - mean) / std, "
                          "`standardization`)")
    if any(f in INTEGER_FORMATS for f in request.formats):
        normalization += ("; model_int8_full.tflite alone takes standardized, quantized values "
                          "(model.integer_io)")
    return {"resample": resample, "normalization": normalization,
            "stream": f"slide a {duration} s window over the stream (e.g. hop "
                      f"{duration / 2 if duration else None} s), "
                      f"{'' if request.raw_input else 'resample each window, '}run the "
                      "model once per window; python -m tfhar.predict does exactly this"}


def metadata(request: ExportRequest, config, train, keras_accuracy: float, origin: dict,
             standardization: tuple[np.ndarray, np.ndarray] | None = None,
             integer_io: dict | None = None) -> dict:
    """What a phone app needs to feed the model: input, window, channels, units, rate, labels,
    the standardization statistics (when used) and the integer model's quantization."""
    from tfhar.config import to_dict

    window_steps = int(train.inertial.shape[1])
    duration = float(np.median(train.durations)) if train.durations is not None else None
    rate = train.inertial_rate_hz
    raw_samples = raw_sample_count(train)
    run_metrics = request.run_dir / "metrics.json"
    run_accuracy = (json.loads(run_metrics.read_text()).get("accuracy")
                    if run_metrics.is_file() else None)
    model = {"input": {"name": "inertial",
                       "shape": [1, raw_samples if request.raw_input else window_steps,
                                 int(train.inertial.shape[2])],
                       "dtype": "float32",
                       "kind": "raw_samples" if request.raw_input else "window"},
             "output": {"shape": [1, train.num_classes], "dtype": "float32",
                        "meaning": "class probabilities (softmax), in labels.txt order"},
             "files": {f: f"model_{f}.tflite" for f in request.formats}}
    if integer_io:
        model["integer_io"] = integer_io
    stats = None if standardization is None else {
        "mean": [float(v) for v in standardization[0]],
        "std": [float(v) for v in standardization[1]],
        "inside_model": request.standardize,
        "source": "per channel over the training windows the run was trained on, standardized "
                  "(data.standardize)" if config.data.standardize else
                  f"per channel over the run's {len(train.labels)} training windows"}
    return {
        "model": model,
        "class_names": list(train.class_names),
        "window": {"steps": window_steps, "duration_s": duration, "raw_samples": raw_samples},
        "channels": {"names": list(train.channel_names), "units": list(train.channel_units)},
        "raw_rate_hz": rate,
        "standardization": stats,
        "preprocessing": _preprocessing(request, window_steps, duration, raw_samples),
        "training": {"run_dir": str(request.run_dir), "method": config.method,
                     "dataset": config.data.dataset, "protocol": config.data.protocol,
                     "modalities": list(config.data.modalities),
                     "config_hash": config_hash(config), "run_test_accuracy": run_accuracy,
                     **origin, "config": to_dict(config)},
        "test_accuracy": keras_accuracy,
    }


def integer_io_metadata(path: Path, stats: tuple[np.ndarray, np.ndarray]) -> dict:
    """How an app feeds the int8_full model and reads it: quantization of input and output."""
    from tfhar.tflite_utils import LiteRTModel

    model = LiteRTModel(path, standardization=stats)
    (in_scale, in_zero), (out_scale, out_zero) = model.quantization(), model.quantization("output")
    return {"file": path.name,
            "input": {"shape": list(model.input_shape), "dtype": "int8", "scale": in_scale,
                      "zero_point": in_zero,
                      "formula": "q = clip(round((x - mean) / std / scale) + zero_point, -128, "
                                 "127), per channel with `standardization`'s mean and std"},
            "output": {"dtype": "int8", "scale": out_scale, "zero_point": out_zero,
                       "formula": "p = (q - zero_point) * scale: class probabilities"}}


def export(request: ExportRequest, config, splits, tmp: Path, scratch: Path) -> dict:
    """Build, export, convert and check into `tmp`; returns the report."""
    import keras

    from tfhar import tflite_utils
    from tfhar.config import dump_config
    from tfhar.experiment.data import standardized
    from tfhar.models.phone import channel_statistics, phone_model, standardized_encoder

    train, test = splits.train, splits.test
    trained_standardized = config.data.standardize
    encoder, classifier, origin = inertial_parts(
        request, config, standardized(splits) if trained_standardized else splits, scratch)
    raw_samples = raw_sample_count(train) if request.raw_input else None
    if request.raw_input and not raw_samples:
        raise ExportError("--raw-input needs the recordings' durations and sampling rate, "
                          f"which dataset {config.data.dataset!r} does not give")
    integer = [f for f in request.formats if f in INTEGER_FORMATS]
    if trained_standardized:  # The encoder reads windows standardized as in training.
        stats = channel_statistics(splits.pretrain.inertial)
        reads_standardized = encoder
    else:
        stats = channel_statistics(train.inertial) if request.standardize or integer else None
        try:
            reads_standardized = (standardized_encoder(encoder, *stats) if stats is not None
                                  else None)
        except ValueError as error:
            raise ExportError(str(error)) from None
    model = phone_model(reads_standardized if request.standardize else encoder, classifier,
                        raw_samples, stats if request.standardize else None)
    # Raw-input models are fed the windows FFT-resampled to the raw samples they stand for.
    calibration, inputs = (w if raw_samples is None else preprocess.resample(
        w, raw_samples, axis=1).astype(np.float32) for w in (train.inertial, test.inertial))
    keras_probabilities = model.predict(inputs, batch_size=256, verbose=0)
    keras_accuracy = float(np.mean(keras_probabilities.argmax(1) == test.labels))
    model.export(str(tmp / "saved_model"), verbose=False)
    if integer:  # One window at a time, standardized: no float operator, no shape arithmetic.
        fixed = phone_model(reads_standardized, classifier, raw_samples)
        fixed.export(str(scratch / "integer_model"), verbose=False, input_signature=[
            keras.InputSpec(shape=(1, *inputs.shape[1:]), dtype="float32")])
    for fmt in request.formats:
        content = (tflite_utils.convert(scratch / "integer_model", fmt,
                                        (calibration - stats[0]) / stats[1]) if fmt in integer
                   else tflite_utils.convert(tmp / "saved_model", fmt, calibration))
        (tmp / f"model_{fmt}.tflite").write_bytes(content)
    (tmp / "labels.txt").write_text("\n".join(train.class_names) + "\n")
    integer_io = integer_io_metadata(tmp / f"model_{integer[0]}.tflite", stats) if integer \
        else None
    write_json(tmp / "metadata.json", metadata(request, config, train, keras_accuracy, origin,
                                               stats, integer_io))
    (tmp / "config.yaml").write_text(dump_config(config))
    report = tflite_utils.check_formats(tmp, request.formats, inputs, test.labels,
                                        keras_probabilities, stats)
    report.update(int8_calibration_windows=len(train.inertial) if any(
        f.startswith("int8") for f in request.formats) else 0, **origin)
    if raw_samples:
        report["test_inputs"] = f"test windows FFT-resampled to {raw_samples} raw samples"
    if config.data.dataset == "utd_mhad":
        report["stream"] = stream_figures(tmp, request.formats, config, report)
    write_json(tmp / "report.json", report)
    if report["failures"]:
        raise ExportError("the exported model failed its checks: "
                          + "; ".join(report["failures"]))
    write_marker(tmp, EXPORT_KIND)
    return report


def stream_figures(folder: Path, formats: tuple[str, ...], config, report: dict) -> dict:
    """tfhar.evaluate_stream on the test subjects' UTD-MHAD recordings for every format."""
    from tfhar import evaluate_stream

    try:
        return evaluate_stream.evaluate_export(folder, formats, config.data.root,
                                               config.runtime.seed, report)
    except DataError as error:
        raise ExportError(f"stream evaluation: {error}") from None


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

        splits = load_splits(config, raw=True)  # The phone model takes raw units.
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
    if "stream" in report:
        from tfhar.evaluate_stream import summary

        for fmt, figures in report["stream"]["formats"].items():
            print(f"[{fmt}] stream: {summary(figures)}")
    print(f"exported {request.run_dir} -> {request.out} (Keras test accuracy "
          f"{report['keras_accuracy']:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
