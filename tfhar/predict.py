"""`python -m tfhar.predict`: an exported .tflite + a long IMU recording -> activities over time.

    python -m tfhar.predict --model saved_models/utd/model_int8.tflite --input walk.csv
    python -m tfhar.predict --model M.tflite --input rec.csv --rate 100 --hop 0.5 --output out.csv

The recording is a CSV whose header names the channels listed in the model's metadata.json
(e.g. acc_x, ..., gyro_z, in their units), optionally with a `time` or `timestamp` column in
seconds. Windows of the model's duration D are cut every --hop seconds (default D/2),
FFT-resampled to the model's steps as in training, and classified with LiteRT. One row per
window (start_s, end_s, label, probability) goes to --output (or the screen), followed by
the predicted segments: consecutive windows with the same label merged.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

TIME_COLUMNS = ("time", "timestamp")


class PredictError(ValueError):
    """Bad model, metadata or recording."""


@dataclass(frozen=True)
class ModelInfo:
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    window_steps: int
    duration_s: float
    raw_rate_hz: float


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tfhar.predict", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a .tflite written by tfhar.export "
                        "(metadata.json beside it)")
    parser.add_argument("--input", required=True, help="recording CSV with a header row")
    parser.add_argument("--rate", type=float, help="sampling rate in Hz (default: from the "
                        "time column, else the model's training rate)")
    parser.add_argument("--hop", type=float, help="seconds between window starts (default D/2)")
    parser.add_argument("--output", help="CSV of per-window predictions (default: print them)")
    return parser.parse_args(argv)


def read_metadata(model_path: Path) -> ModelInfo:
    """The window, channels and labels a model expects, from metadata.json beside it."""
    if model_path.suffix != ".tflite" or not model_path.is_file():
        raise PredictError(f"--model {str(model_path)!r}: expected an existing .tflite file")
    path = model_path.with_name("metadata.json")
    if not path.is_file():
        raise PredictError(f"no metadata.json beside {model_path}: export the model with "
                           "`python -m tfhar.export`")
    try:
        meta = json.loads(path.read_text())
        info = ModelInfo(tuple(meta["class_names"]), tuple(meta["channels"]["names"]),
                         int(meta["window"]["steps"]), float(meta["window"]["duration_s"]),
                         float(meta["raw_rate_hz"]))
    except (ValueError, KeyError, TypeError) as error:
        raise PredictError(f"{path}: not a tfhar.export metadata file ({error!r})") from None
    if info.duration_s <= 0 or info.raw_rate_hz <= 0 or not info.class_names:
        raise PredictError(f"{path}: window duration, rate and class names must be set")
    return info


def load_model(model_path: Path, info: ModelInfo):
    """A LiteRTModel, checked against the metadata's window and classes."""
    from tfhar.tflite_utils import LiteRTModel

    try:
        model = LiteRTModel(model_path)
    except (ValueError, RuntimeError) as error:
        raise PredictError(f"--model {str(model_path)!r}: cannot load it with LiteRT: "
                           f"{str(error).splitlines()[0]}") from None
    expected = (1, info.window_steps, len(info.channel_names))
    if model.input_shape != expected or model.num_outputs != len(info.class_names):
        raise PredictError(f"{model_path}: takes {model.input_shape} and gives "
                           f"{model.num_outputs} outputs; its metadata.json says {expected} "
                           f"and {len(info.class_names)} classes")
    return model


def read_recording(path: Path, channels: tuple[str, ...], rate: float | None, default_rate: float
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """CSV -> (samples (T, C) in `channels` order, times (T,) in s, rate in Hz)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise PredictError(f"--input {str(path)!r}: cannot read a CSV: "
                           f"{str(error).splitlines()[0]}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in channels if c not in frame.columns]
    if missing:
        raise PredictError(f"{path}: lacks channel column(s) {', '.join(missing)}; the model "
                           f"reads {', '.join(channels)}; found {', '.join(frame.columns)}")
    time_column = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    columns = list(channels) + ([time_column] if time_column else [])
    values = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise PredictError(f"{path}: {int(bad.sum())} missing, NaN or non-numeric value(s), "
                           f"the first in column {columns[column]!r} at data row {row + 1}")
    samples = values[:, : len(channels)]
    if time_column is None:
        rate = rate or default_rate
        return samples, np.arange(len(samples)) / rate, rate
    times = values[:, -1]
    steps = np.diff(times)
    if len(times) > 1 and not np.all(steps > 0):
        raise PredictError(f"{path}: column {time_column!r} must increase from row to row")
    if rate is None:
        rate = 1.0 / float(np.median(steps)) if len(steps) else default_rate
    return samples, times, rate


def window_starts(num_samples: int, window: int, hop: int) -> np.ndarray:
    """First sample of each full window."""
    return np.arange(0, num_samples - window + 1, hop)


def predict_windows(model, info: ModelInfo, samples: np.ndarray, times: np.ndarray,
                    rate: float, hop_s: float) -> pd.DataFrame:
    """One row per window: start_s, end_s, label, probability."""
    from tfhar.data.preprocess import resample

    window = round(info.duration_s * rate)
    hop = max(1, round(hop_s * rate))
    if len(samples) < window:
        raise PredictError(f"the recording lasts {len(samples) / rate:.2f} s "
                           f"({len(samples)} samples at {rate:g} Hz), shorter than one "
                           f"{info.duration_s:.2f} s window")
    rows = []
    for start in window_starts(len(samples), window, hop):
        x = resample(samples[start : start + window], info.window_steps).astype(np.float32)
        probabilities = model.predict_one(x)
        best = int(np.argmax(probabilities))
        rows.append((float(times[start]), float(times[start]) + window / rate,
                     info.class_names[best], float(probabilities[best])))
    return pd.DataFrame(rows, columns=["start_s", "end_s", "label", "probability"])


def segments(windows: pd.DataFrame) -> pd.DataFrame:
    """Consecutive windows with the same label merged: start_s, end_s, label, windows, mean p."""
    run = (windows["label"] != windows["label"].shift()).cumsum()
    grouped = windows.groupby(run, sort=False)
    return pd.DataFrame({
        "start_s": grouped["start_s"].first(), "end_s": grouped["end_s"].last(),
        "label": grouped["label"].first(), "windows": grouped.size(),
        "mean_probability": grouped["probability"].mean(),
    }).reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        for name in ("rate", "hop"):
            value = getattr(args, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise PredictError(f"--{name} must be a positive number, got {value!r}")
        model_path = Path(args.model)
        info = read_metadata(model_path)
        model = load_model(model_path, info)
        samples, times, rate = read_recording(Path(args.input), info.channel_names, args.rate,
                                              info.raw_rate_hz)
        hop = args.hop or info.duration_s / 2
        windows = predict_windows(model, info, samples, times, rate, hop)
    except PredictError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.output:
        windows.to_csv(args.output, index=False, float_format="%.4f")
        print(f"{len(windows)} windows of {info.duration_s:.2f} s every {hop:.2f} s "
              f"-> {args.output}")
    else:
        print(windows.to_string(index=False, float_format="%.3f"))
    print("segments:")
    for row in segments(windows).itertuples():
        print(f"  {row.start_s:8.2f} - {row.end_s:8.2f} s  {row.label}  ({row.windows} "
              f"window{'s' if row.windows > 1 else ''}, mean p {row.mean_probability:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
