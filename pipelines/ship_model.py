"""The shipped phone model: train (or reuse) a run, export it for phones, add an example.

    python -m pipelines.ship_model --config my_small.yaml \
        --out saved_models/utd_mhad_imu [--set KEY=VALUE ...] [--run-dir runs/ship/utd_mhad_imu]

1. `python -m tfhar.train` of the config (reused when finished);
2. `python -m tfhar.export --raw-input --standardize --formats FORMATS` into --out (default
   float32,int8_full): the phone feeds D seconds of raw samples in g and deg/s, the float
   model resamples and standardizes inside, the fully integer one takes standardized int8
   samples (metadata.json: model.integer_io); report.json holds segment and stream accuracy
   of every format. `int8` (float in and out) quantizes the raw input with one scale for g
   and deg/s channels, which costs the small model its agreement check (97.7% < 98%);
   `int8_full` standardizes before quantizing and passes;
3. the run's pre-trained inertial encoder copied beside it (`inertial_encoder.keras`), for
   `finetune.encoders.inertial` when fine-tuning on your own 6-channel data;
4. `example/recording.csv`: a continuous stream of UTD-MHAD test recordings (--example-subject,
   default the first test subject, --example-recordings of them in a seeded order, each after a
   1 s rest), with a `timestamp` column in seconds and the model's channel names;
   `example/truth.csv` (start_s, end_s, label of each recording) and `example/expected.json`
   (the stream accuracy of each .tflite on it, scored as tfhar.evaluate_stream scores a window:
   the action it overlaps most), so that
   `tfhar-predict --model saved_models/utd_mhad_imu/model_int8.tflite --input
   saved_models/utd_mhad_imu/example/recording.csv` can be checked against it (a test does).

--out must be absent or an export folder tfhar wrote; a folder of yours stops it (exit 2).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tfhar.files import write_json, write_text

from .common import EXPECTED_ERRORS, PipelineError, check_run_dir, fail, train

FORMATS = "float32,int8_full"
EXAMPLE_SEED = 0


def export(run_dir: Path, out: Path, log: Path, formats: str = FORMATS) -> None:
    """`python -m tfhar.export` of the run into `out` (its checks must pass)."""
    print(f"[ship_model] exporting {run_dir} -> {out} (log: {log})", flush=True)
    with open(log, "a") as handle:
        status = subprocess.run(
            [sys.executable, "-m", "tfhar.export", "--run-dir", str(run_dir), "--out", str(out),
             "--formats", formats, "--raw-input", "--standardize"],
            stdout=handle, stderr=subprocess.STDOUT, check=False).returncode
    if status != 0:
        raise PipelineError(f"exporting {str(run_dir)!r} failed (exit {status}); see {log}")


def example_stream(meta: dict, subject: int | None, count: int, root: Path | None):
    """(Stream of `count` test recordings of one test subject, that subject)."""
    from tfhar.data import default_root
    from tfhar.data.datasets import utd_mhad
    from tfhar.evaluate_stream import build_streams, protocol_test_subjects

    test = protocol_test_subjects(meta)
    subject = test[0] if subject is None else subject
    if subject not in test:
        raise PipelineError(f"--example-subject {subject}: not a test subject of the model's "
                            f"protocol ({', '.join(map(str, test))})")
    sequences, labels, owners = utd_mhad.load_raw_inertial(
        root or default_root(utd_mhad.NAME), (subject,))
    chosen = np.random.default_rng([EXAMPLE_SEED, subject]).permutation(len(sequences))[:count]
    chosen.sort()  # The stream's own order is drawn by build_streams.
    (stream,) = build_streams([sequences[i] for i in chosen], labels[chosen], owners[chosen],
                              utd_mhad.INERTIAL_RATE_HZ, EXAMPLE_SEED)
    return stream, subject


def write_example(out: Path, subject: int | None, count: int, root: Path | None) -> dict:
    """example/recording.csv, truth.csv and expected.json in `out`; the expected figures."""
    from tfhar import predict
    from tfhar.evaluate_stream import evaluate_model

    meta = json.loads((out / "metadata.json").read_text())
    info = predict.read_metadata(out / "model_float32.tflite")
    stream, subject = example_stream(meta, subject, count, root)
    times = np.arange(len(stream.samples)) / stream.rate_hz
    recording = pd.DataFrame(stream.samples, columns=list(info.channel_names))
    recording.insert(0, "timestamp", times)
    truth = pd.DataFrame({"start_s": stream.segments[:, 0] / stream.rate_hz,
                          "end_s": stream.segments[:, 1] / stream.rate_hz,
                          "label": [info.class_names[k] for k in stream.segments[:, 2]]})
    folder = out / "example"
    folder.mkdir(exist_ok=True)
    write_text(folder / "recording.csv", recording.to_csv(index=False, float_format="%.6g"))
    write_text(folder / "truth.csv", truth.to_csv(index=False, float_format="%.4f"))
    expected = {"subject": int(subject), "recordings": len(stream.segments),
                "duration_s": round(len(stream.samples) / stream.rate_hz, 2),
                "hop_s": info.duration_s / 2, "formats": {}}
    for name in meta["model"]["files"].values():
        path = out / name
        model_info = predict.read_metadata(path)
        figures = evaluate_model(predict.load_model(path, model_info), model_info, [stream])
        expected["formats"][name] = {"num_windows": figures["num_windows"],
                                     "majority_accuracy": figures["majority"]["accuracy"],
                                     "tolerant_accuracy": figures["tolerant"]["accuracy"]}
    write_json(folder / "expected.json", expected)
    return expected


def copy_encoder(run_dir: Path, out: Path) -> None:
    """The run's inertial encoder beside the .tflite files (for finetune.encoders.inertial)."""
    source = run_dir / "model" / "inertial_encoder.keras"
    if not source.is_file():
        raise PipelineError(f"{source} not found: did the run finish?")
    shutil.copyfile(source, out / ".inertial_encoder.keras.tmp")
    (out / ".inertial_encoder.keras.tmp").replace(out / "inertial_encoder.keras")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.ship_model",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="training config (file or shipped name)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=Path("saved_models/utd_mhad_imu"))
    parser.add_argument("--run-dir", type=Path, default=Path("runs/ship/utd_mhad_imu"))
    parser.add_argument("--example-subject", type=int, help="default: the first test subject")
    parser.add_argument("--example-recordings", type=int, default=12)
    parser.add_argument("--root", type=Path, help="UTD-MHAD folder (default $TFHAR_DATA_DIR)")
    parser.add_argument("--formats", default=FORMATS, help=f".tflite formats (default {FORMATS})")
    args = parser.parse_args(argv)
    if args.example_recordings < 1:
        parser.error(f"--example-recordings must be >= 1, got {args.example_recordings}")
    from tfhar.config import load_config, resolve_config_path
    from tfhar.experiment.run_directory import OwnershipError, check_replaceable
    from tfhar.export import EXPORT_KIND

    try:
        config = resolve_config_path(args.config)
        if load_config(config, args.set).data.dataset != "utd_mhad":
            raise PipelineError("the example stream is built from UTD-MHAD: use a utd_mhad config")
        check_run_dir(args.run_dir)
        try:
            check_replaceable(args.out, EXPORT_KIND, "--out")
        except OwnershipError as error:
            raise PipelineError(str(error)) from None
        train(config, args.run_dir, ["runtime.verbose=2", *args.set],
              args.run_dir.with_name(f"{args.run_dir.name}.log"))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        export(args.run_dir, args.out, args.out.with_name(f"{args.out.name}.export.log"),
               args.formats)
        copy_encoder(args.run_dir, args.out)
        expected = write_example(args.out, args.example_subject, args.example_recordings,
                                 args.root)
    except EXPECTED_ERRORS as error:
        return fail(error)
    print(json.dumps(expected, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
