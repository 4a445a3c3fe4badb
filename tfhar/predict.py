"""`python -m tfhar.predict`: an exported .tflite + a long IMU recording -> activities over time.

    python -m tfhar.predict --model saved_models/utd/model_int8.tflite --input walk.csv
    python -m tfhar.predict --model M.tflite --input rec.csv --rate 100 --hop 0.5 --output out.csv

The recording is a CSV whose header names the channels listed in the model's metadata.json
(e.g. acc_x, ..., gyro_z, in their units), optionally with a time column: matched without regard
to case, it is named time, timestamp(s), elapsed or elapsed_time, optionally with a unit
(`time_ms`, `Time (s)`, `timestamp[ns]`), or seconds_elapsed; --time-column names it when
several match, or when it is named otherwise. Its unit (s, ms, us or ns, also
since the epoch) comes from --time-unit, else the name, else the size of the median step between
rows: the one unit giving a rate in 1 Hz..10 kHz (refused when none or several do; --rate then
picks between several). Rows must go forward in time; exact duplicate rows are dropped and
counted. Where consecutive rows lie more than 2 median steps apart, data are missing: the stream
is cut there and each contiguous segment windowed alone, so no window spans a gap. With --rate
and a time column, the two must agree within 10%; --rate is then the rate used.

Windows of the model's duration D are cut every --hop seconds (default D/2), FFT-resampled to
the model's steps as in training, and classified with LiteRT. A model exported with --raw-input
(its metadata.json says `"kind": "raw_samples"`) resamples inside: it gets each window's raw
samples as they are, or FFT-resampled to its number of raw samples when the recording's rate
is not the model's. A fully integer model (int8 input and output) gets each window
standardized with its metadata's statistics and quantized with its input scale and zero
point. The rate used and where it came from, and each gap, are printed first. One row per
window (start_s, end_s, label, probability; seconds from the recording's first sample) and one
per gap (label "(no data)", from the end of the last sample before it to the first sample after
it) go to --output (or the screen), followed by the predicted segments: consecutive windows
with the same label merged, never across a gap.

A little over 300 lines: time columns and their units, gaps, and both kinds of model
(windows or raw samples, float or integer input).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tfhar.data import preprocess, timestamps
from tfhar.data.errors import DataError

GAP_STEPS = 2.0  # Rows more than this many median steps apart have data missing between them.
GAP_LABEL = "(no data)"


class PredictError(ValueError):
    """Bad model, metadata, recording or option."""


@dataclass(frozen=True)
class ModelInfo:
    """What metadata.json says a model takes. raw_samples: the raw samples per window a
    raw-input model takes (None: the model takes `window_steps` resampled steps);
    standardization: (mean (C,), std (C,)) that integer-input models need, or None."""

    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    window_steps: int
    duration_s: float
    raw_rate_hz: float
    raw_samples: int | None = None
    standardization: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    @property
    def input_steps(self) -> int:
        """Time steps of the model's input: raw samples or resampled steps."""
        return self.raw_samples or self.window_steps


@dataclass(frozen=True)
class Recording:
    """samples (T, C) in the model's channel order; times (T,) in s from the first sample;
    rate_hz: the sampling rate used; step_s: the median step between rows in s; notes: lines
    saying where the rate and times came from and what was dropped."""

    samples: np.ndarray
    times: np.ndarray
    rate_hz: float
    step_s: float
    notes: tuple[str, ...]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """A bad option: one `error:` line and exit status 2, like every other refusal."""
        self.exit(2, f"error: {message}\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(
        prog="python -m tfhar.predict", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a .tflite written by tfhar.export "
                        "(metadata.json beside it)")
    parser.add_argument("--input", required=True, help="recording CSV with a header row")
    parser.add_argument("--rate", type=float, help="sampling rate in Hz (default: from the "
                        "time column, else the model's training rate)")
    parser.add_argument("--time-unit", default="auto", choices=("auto", *timestamps.TIME_UNITS),
                        help="unit of the time column (default auto: from its name or steps)")
    parser.add_argument("--time-column", help="name of the time column when several match")
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
        raw = meta["model"]["input"].get("kind") == "raw_samples"
        stats = meta.get("standardization")
        info = ModelInfo(tuple(meta["class_names"]), tuple(meta["channels"]["names"]),
                         int(meta["window"]["steps"]), float(meta["window"]["duration_s"]),
                         float(meta["raw_rate_hz"]),
                         int(meta["model"]["input"]["shape"][1]) if raw else None,
                         (tuple(map(float, stats["mean"])), tuple(map(float, stats["std"])))
                         if stats else None)
    except (ValueError, KeyError, TypeError) as error:
        raise PredictError(f"{path}: not a tfhar.export metadata file ({error!r})") from None
    if info.duration_s <= 0 or info.raw_rate_hz <= 0 or not info.class_names:
        raise PredictError(f"{path}: window duration, rate and class names must be set")
    return info


def load_model(model_path: Path, info: ModelInfo):
    """A LiteRTModel, checked against the metadata's window and classes."""
    from tfhar.tflite_utils import LiteRTModel

    try:
        model = LiteRTModel(model_path, standardization=info.standardization)
    except (ValueError, RuntimeError) as error:
        raise PredictError(f"--model {str(model_path)!r}: cannot load it with LiteRT: "
                           f"{str(error).splitlines()[0]}") from None
    expected = (1, info.input_steps, len(info.channel_names))
    if model.input_shape != expected or model.num_outputs != len(info.class_names):
        raise PredictError(f"{model_path}: takes {model.input_shape} and gives "
                           f"{model.num_outputs} outputs; its metadata.json says {expected} "
                           f"and {len(info.class_names)} classes")
    return model


def _time_values(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """The time column minus its first value, as float64; exact for integer epoch times."""
    raw = pd.to_numeric(frame[column], errors="coerce")
    bad = ~np.isfinite(raw.to_numpy(np.float64))
    if bad.any():
        raise PredictError(f"{path}: {int(bad.sum())} missing, infinite or non-numeric value(s) "
                           f"in column {column!r}, the first at data row {np.argmax(bad) + 1}")
    if pd.api.types.is_integer_dtype(raw):
        return (raw - raw.iloc[0]).to_numpy(np.float64)
    return raw.to_numpy(np.float64) - float(raw.iloc[0])


def read_recording(path: Path, channels: tuple[str, ...], rate: float | None,
                   default_rate: float, time_unit: str = "auto",
                   time_column: str | None = None) -> Recording:
    """CSV -> Recording in the `channels` order; see the module docstring for the time rules.

    rate: --rate in Hz or None; default_rate: the model's rate, used without time column nor
    rate. PredictError (one line) for an unreadable CSV, missing channels, NaN or non-numeric
    values, time going back, an ambiguous or implausible time unit, or --rate disagreeing.
    """
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise PredictError(f"--input {str(path)!r}: cannot read a CSV: "
                           f"{str(error).splitlines()[0]}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise PredictError(f"{path}: no data rows under the header")
    missing = [c for c in channels if c not in frame.columns]
    if missing:
        raise PredictError(f"{path}: lacks channel column(s) {', '.join(missing)}; the model "
                           f"reads {', '.join(channels)}; found {', '.join(frame.columns)}")
    values = frame[list(channels)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise PredictError(f"{path}: {int(bad.sum())} missing, NaN or non-numeric value(s), "
                           f"the first in column {channels[column]!r} at data row {row + 1}")
    try:
        column, named = timestamps.find_time_column(list(frame.columns), time_column)
        if column is None:
            if time_unit != "auto":
                raise PredictError(f"--time-unit {time_unit}: {path} has no time column")
            used = rate or default_rate
            source = "--rate" if rate else "the model's training rate"
            return Recording(values, np.arange(len(values)) / used, used, 1.0 / used,
                             (f"rate: {used:g} Hz from {source} (no time column)",))
        samples, raw_times, dropped = timestamps.drop_repeated_rows(
            values, _time_values(frame, column, path), column, str(path))
        if len(raw_times) < 2:
            raise PredictError(f"{path}: {len(raw_times)} distinct row(s): too few to measure "
                               "a rate")
        times, used, step_s, origin = timestamps.measure_rate(raw_times, column, time_unit,
                                                              named, rate)
    except DataError as error:
        raise PredictError(f"{error}; see --time-column, --time-unit and --rate") from None
    notes = [f"rate: {origin}", f"times: seconds from the first row ({column} = "
             f"{frame[column].iloc[0]})"]
    if dropped:
        notes.append(f"dropped {dropped} row(s) repeating the previous row exactly")
    return Recording(samples, times, used, step_s, tuple(notes))


def window_plan(recording: Recording, duration_s: float, hop_s: float
                ) -> tuple[int, np.ndarray, list[tuple[float, float]], list[str]]:
    """(window length in samples, first sample of each window, gaps (start_s, end_s), notes on
    the contiguous segments too short for a window). Windows never cross a gap: consecutive
    rows more than GAP_STEPS median steps apart."""
    rate, times = recording.rate_hz, recording.times
    window, hop = max(1, round(duration_s * rate)), max(1, round(hop_s * rate))
    runs = preprocess.contiguous_runs(times, GAP_STEPS * recording.step_s)
    starts = np.concatenate([first + preprocess.window_starts(stop - first, window, hop)
                             for first, stop in runs])
    gaps = [(float(times[a[1] - 1]) + 1 / rate, float(times[b[0]]))
            for a, b in zip(runs[:-1], runs[1:], strict=True)]
    short = [f"{times[stop - 1] - times[first] + 1 / rate:.2f} s at {times[first]:.2f} s"
             for first, stop in runs if stop - first < window]
    if not len(starts):
        longest = max(times[stop - 1] - times[first] + 1 / rate for first, stop in runs)
        raise PredictError(f"the recording's longest contiguous stretch lasts {longest:.2f} s "
                           f"({len(runs)} segment(s) at {rate:g} Hz), shorter than one "
                           f"{duration_s:.2f} s window")
    notes = [f"gap: no data from {a:.2f} s to {b:.2f} s ({b - a:.2f} s)" for a, b in gaps]
    if short:
        notes.append(f"{len(short)} of {len(runs)} contiguous segment(s) shorter than one "
                     f"{duration_s:.2f} s window, not classified: {'; '.join(short[:5])}")
    return window, starts, gaps, notes


def model_input(info: ModelInfo, samples: np.ndarray) -> np.ndarray:
    """One window's raw samples (W, C) -> what the model takes (info.input_steps, C) float32:
    FFT-resampled to the model's steps, or for a raw-input model the samples themselves
    (resampled to its raw samples only when W differs: a recording at another rate)."""
    if info.raw_samples and len(samples) == info.raw_samples:
        return np.asarray(samples, np.float32)
    return preprocess.resample(samples, info.input_steps).astype(np.float32)


def classify(model, info: ModelInfo, samples: np.ndarray, window: int, starts: np.ndarray
             ) -> np.ndarray:
    """(len(starts), K) outputs of `model.predict_one` on the windows samples[s : s + window]."""
    outputs = [model.predict_one(model_input(info, samples[start : start + window]))
               for start in starts]
    return np.stack(outputs) if outputs else np.zeros((0, len(info.class_names)), np.float32)


def predict_windows(model, info: ModelInfo, recording: Recording, window: int,
                    starts: np.ndarray, gaps: list[tuple[float, float]]) -> pd.DataFrame:
    """One row per window and per gap, in time order: start_s, end_s, label, probability."""
    rows = [(start_s, end_s, GAP_LABEL, np.nan) for start_s, end_s in gaps]
    outputs = classify(model, info, recording.samples, window, starts)
    for start, probabilities in zip(starts, outputs, strict=True):
        best = int(np.argmax(probabilities))
        rows.append((float(recording.times[start]),
                     float(recording.times[start + window - 1]) + 1 / recording.rate_hz,
                     info.class_names[best], float(probabilities[best])))
    table = pd.DataFrame(rows, columns=["start_s", "end_s", "label", "probability"])
    return table.sort_values("start_s", kind="stable").reset_index(drop=True)


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
        recording = read_recording(Path(args.input), info.channel_names, args.rate,
                                   info.raw_rate_hz, args.time_unit, args.time_column)
        hop = args.hop or info.duration_s / 2
        window, starts, gaps, notes = window_plan(recording, info.duration_s, hop)
    except PredictError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(recording.notes + tuple(notes)))
    windows = predict_windows(model, info, recording, window, starts, gaps)
    if args.output:
        windows.to_csv(args.output, index=False, float_format="%.4f")
        print(f"{len(starts)} windows of {info.duration_s:.2f} s every {hop:.2f} s"
              f"{f' and {len(gaps)} gap(s)' if gaps else ''} -> {args.output}")
    else:
        print(windows.to_string(index=False, float_format="%.3f"))
    print("segments:")
    for row in segments(windows).itertuples():
        detail = "" if row.label == GAP_LABEL else (
            f"  ({row.windows} window{'s' if row.windows > 1 else ''}, "
            f"mean p {row.mean_probability:.2f})")
        print(f"  {row.start_s:8.2f} - {row.end_s:8.2f} s  {row.label}{detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
