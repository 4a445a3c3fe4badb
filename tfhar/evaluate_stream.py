"""`python -m tfhar.evaluate_stream`: an exported model on continuous streams of real recordings.

    python -m tfhar.evaluate_stream --model saved_models/utd/model_int8.tflite --dataset utd_mhad
    python -m tfhar.evaluate_stream --model M.tflite --dataset utd_mhad --seed 1 --out stream.json

A model's test accuracy is measured on whole pre-segmented recordings (the segment accuracy, in
its report.json); on a phone it sees one continuous stream. Here each test subject's raw
UTD-MHAD recordings are concatenated into one stream, in a random order drawn from
numpy.random.default_rng([seed, subject]), each recording after the first preceded by a rest:
`rest_s` seconds (default 1) of that recording's first sample repeated, a still sensor in the
pose the action starts from. The test subjects are those of the model's training protocol
(metadata.json; UTD-MHAD cross-subject: 2, 4, 6, 8). Windows of the model's duration D are cut
every --hop seconds (default D/2) and classified exactly as tfhar.predict does (its
`window_plan` and `classify`). Every window is scored; none is left out:
- majority: against the action holding most of the window's samples (a tie goes to the earlier
  one). Rest samples belong to no action, count for none and are never a target: the model has
  no rest class, and a rest is shorter than a window, so every window holds some action.
- tolerant: a window holding samples of several recordings is right when it predicts any of
  their actions (its truth is then the predicted action, else the majority one).
The report gives accuracy and macro F1 (scikit-learn, via tfhar.evaluate) per scoring, the
number of windows and of windows spanning two recordings, beside the segment accuracy.

A little over 300 lines: building the streams, scoring two ways and the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfhar import predict
from tfhar.data.errors import DataError
from tfhar.evaluate import classification_metrics

DATASETS = ("utd_mhad",)
REST_S = 1.0
REST = "each recording after the first follows rest_s seconds of its own first sample repeated"


class StreamError(ValueError):
    """A model or option the stream evaluation cannot use."""


@dataclass(frozen=True)
class Stream:
    """One subject's stream: samples (T, C) at rate_hz; segments int64 (S, 3), one row (first,
    stop, label) per recording, in stream order, stop exclusive; rests lie between them."""

    subject: int
    samples: np.ndarray
    segments: np.ndarray
    rate_hz: float


def build_streams(
    sequences: list[np.ndarray],
    labels: np.ndarray,
    subjects: np.ndarray,
    rate_hz: float,
    seed: int = 0,
    rest_s: float = REST_S,
) -> list[Stream]:
    """One Stream per subject (in increasing order) of its recordings (T_i, C) in the order
    default_rng([seed, subject]).permutation draws, a rest of round(rest_s * rate_hz) samples
    (the next recording's first sample repeated) between consecutive ones."""
    if not rest_s >= 0:
        raise StreamError(f"rest_s={rest_s!r}; expected seconds >= 0")
    rest = round(rest_s * rate_hz)
    labels, subjects = np.asarray(labels), np.asarray(subjects)
    streams = []
    for subject in np.unique(subjects):
        rows = np.flatnonzero(subjects == subject)
        rows = rows[np.random.default_rng([seed, int(subject)]).permutation(len(rows))]
        pieces, segments, first = [], [], 0
        for index, row in enumerate(rows):
            x = np.asarray(sequences[row])
            if index and rest:
                pieces.append(np.repeat(x[:1], rest, axis=0))
                first += rest
            pieces.append(x)
            segments.append((first, first + len(x), int(labels[row])))
            first += len(x)
        streams.append(
            Stream(
                int(subject), np.concatenate(pieces), np.array(segments, np.int64), float(rate_hz)
            )
        )
    return streams


def window_truth(
    starts: np.ndarray, window: int, segments: np.ndarray, predicted: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(majority label (N,), tolerant label (N,), spans two recordings or more (N,) bool) of the
    windows [start, start + window) against segments (S, 3) (first, stop, label), given the
    predicted labels (N,). See the module docstring for the two scorings."""
    starts, predicted = np.asarray(starts, np.int64), np.asarray(predicted)
    overlap = np.maximum(
        0,
        np.minimum(starts[:, None] + window, segments[None, :, 1])
        - np.maximum(starts[:, None], segments[None, :, 0]),
    )
    if len(starts) and not np.all(overlap.max(1) > 0):
        raise StreamError(
            f"window(s) starting at sample(s) "
            f"{starts[overlap.max(1) == 0][:3].tolist()} hold no action: is the "
            "rest longer than a window?"
        )
    majority = segments[overlap.argmax(1), 2] if len(starts) else np.zeros(0, np.int64)
    hit = np.any((overlap > 0) & (segments[None, :, 2] == predicted[:, None]), axis=1)
    return majority, np.where(hit, predicted, majority), (overlap > 0).sum(1) > 1


def stream_windows(stream: Stream, duration_s: float, hop_s: float) -> tuple[int, np.ndarray]:
    """(window length in samples, first sample of each window): tfhar.predict's window plan."""
    times = np.arange(len(stream.samples)) / stream.rate_hz
    recording = predict.Recording(stream.samples, times, stream.rate_hz, 1 / stream.rate_hz, ())
    window, starts, _, _ = predict.window_plan(recording, duration_s, hop_s)
    return window, starts


def evaluate_model(
    model, info: predict.ModelInfo, streams: list[Stream], hop_s: float | None = None
) -> dict:
    """Score `model` (anything with tfhar.predict's `predict_one`) on the streams: num_windows,
    num_transition_windows (spanning two recordings or more) and {accuracy, macro_f1} for the
    majority and tolerant scorings."""
    hop_s = hop_s or info.duration_s / 2
    parts = []
    for stream in streams:
        window, starts = stream_windows(stream, info.duration_s, hop_s)
        predicted = predict.classify(model, info, stream.samples, window, starts).argmax(1)
        parts.append((*window_truth(starts, window, stream.segments, predicted), predicted))
    majority, tolerant, spans, predicted = (np.concatenate(p) for p in zip(*parts, strict=True))
    figures = {"num_windows": int(len(predicted)), "num_transition_windows": int(spans.sum())}
    for name, truth in (("majority", majority), ("tolerant", tolerant)):
        metrics = classification_metrics(truth, predicted, info.class_names)
        figures[name] = {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}
    return figures


def protocol_test_subjects(meta: dict) -> tuple[int, ...]:
    """The test subjects of the training protocol metadata.json names (default cross_subject)."""
    from tfhar.data.datasets import utd_mhad
    from tfhar.data.record import Record
    from tfhar.data.splits import resolve

    training = meta.get("training", {})
    options = training.get("config", {}).get("data", {}).get("protocol_options") or {}
    subjects = np.arange(1, utd_mhad.NUM_SUBJECTS + 1, dtype=np.int32)
    record = Record(
        utd_mhad.NAME,
        np.zeros_like(subjects),
        subjects,
        utd_mhad.CLASS_NAMES,
        inertial=np.zeros((len(subjects), 1, 1), np.float32),
    )
    protocol = resolve(record, training.get("protocol") or "cross_subject", options)
    if protocol.by != "subjects":
        raise StreamError(f"protocol {training.get('protocol')!r} splits by {protocol.by}")
    return tuple(int(s) for s in protocol.test)


def load_streams(
    meta: dict, info: predict.ModelInfo, root: str | Path | None, seed: int, rest_s: float
) -> tuple[list[Stream], dict]:
    """(the test subjects' UTD-MHAD streams, the settings that describe them)."""
    from tfhar.data import default_root
    from tfhar.data.datasets import utd_mhad

    if (info.class_names, info.channel_names) != (utd_mhad.CLASS_NAMES, utd_mhad.CHANNEL_NAMES):
        raise StreamError(
            "the model's classes and channels are not UTD-MHAD's (27 actions; "
            f"{', '.join(utd_mhad.CHANNEL_NAMES)})"
        )
    if not 0 <= rest_s < info.duration_s:
        raise StreamError(
            f"rest {rest_s!r} s: expected 0 <= rest < the window's "
            f"{info.duration_s} s, so that every window holds an action"
        )
    root = Path(root) if root else default_root(utd_mhad.NAME)
    subjects = protocol_test_subjects(meta)
    sequences, labels, owners = utd_mhad.load_raw_inertial(root, subjects)
    streams = build_streams(sequences, labels, owners, utd_mhad.INERTIAL_RATE_HZ, seed, rest_s)
    duration = sum(len(s.samples) for s in streams) / utd_mhad.INERTIAL_RATE_HZ
    return streams, {
        "dataset": utd_mhad.NAME,
        "root": str(root),
        "subjects": list(subjects),
        "seed": seed,
        "rest_s": rest_s,
        "rest": REST,
        "window_s": info.duration_s,
        "num_recordings": len(sequences),
        "duration_s": round(duration, 2),
    }


def evaluate_file(
    model_path: str | Path,
    dataset: str = "utd_mhad",
    root: str | Path | None = None,
    seed: int = 0,
    hop_s: float | None = None,
    rest_s: float = REST_S,
) -> dict:
    """The stream report of one exported .tflite (metadata.json beside it), with the segment
    accuracy of its report.json when there is one (else None)."""
    if dataset not in DATASETS:
        raise StreamError(f"--dataset {dataset!r}: streams are built for {', '.join(DATASETS)}")
    path = Path(model_path)
    info = predict.read_metadata(path)
    model = predict.load_model(path, info)
    streams, settings = load_streams(
        json.loads(path.with_name("metadata.json").read_text()), info, root, seed, rest_s
    )
    hop_s = hop_s or info.duration_s / 2
    report = path.with_name("report.json")
    rows = json.loads(report.read_text()).get("formats", {}) if report.is_file() else {}
    segment = next((row["accuracy"] for row in rows.values() if row.get("file") == path.name), None)
    return {
        "model": str(path),
        **settings,
        "hop_s": hop_s,
        **evaluate_model(model, info, streams, hop_s),
        "segment_accuracy": segment,
    }


def evaluate_export(
    folder: Path, formats: tuple[str, ...], root: str | Path | None, seed: int, report: dict
) -> dict:
    """tfhar.export's stream figures: {"settings", "formats": {format: figures and the
    format's segment accuracy from `report`}}, the streams built once."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    infos = {f: predict.read_metadata(folder / f"model_{f}.tflite") for f in formats}
    info = infos[formats[0]]
    streams, settings = load_streams(meta, info, root, seed, REST_S)
    out = {"settings": {**settings, "hop_s": info.duration_s / 2}, "formats": {}}
    for fmt, info in infos.items():
        model = predict.load_model(folder / f"model_{fmt}.tflite", info)
        out["formats"][fmt] = {
            **evaluate_model(model, info, streams),
            "segment_accuracy": report["formats"][fmt]["accuracy"],
        }
    return out


def summary(figures: dict) -> str:
    """One line: stream accuracy and macro F1 per scoring beside the segment accuracy."""
    segment = figures.get("segment_accuracy")
    majority, tolerant = figures["majority"], figures["tolerant"]
    return (
        f"{figures['num_windows']} windows: majority accuracy {majority['accuracy']:.4f} "
        f"(macro F1 {majority['macro_f1']:.4f}), tolerant {tolerant['accuracy']:.4f} "
        f"(macro F1 {tolerant['macro_f1']:.4f}); segment accuracy "
        f"{'n/a' if segment is None else f'{segment:.4f}'}"
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """A bad option: one `error:` line and exit status 2, like every other refusal."""
        self.exit(2, f"error: {message}\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(
        prog="python -m tfhar.evaluate_stream",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="a .tflite written by tfhar.export")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--root", help="dataset folder (default $TFHAR_DATA_DIR/<dataset>)")
    parser.add_argument("--seed", type=int, default=0, help="order of the recordings")
    parser.add_argument("--hop", type=float, help="seconds between windows (default D/2)")
    parser.add_argument(
        "--rest",
        type=float,
        default=REST_S,
        help=f"seconds of rest between recordings (default {REST_S:g})",
    )
    parser.add_argument("--out", help="write the report as JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.hop is not None and not (np.isfinite(args.hop) and args.hop > 0):
            raise StreamError(f"--hop must be a positive number, got {args.hop!r}")
        figures = evaluate_file(args.model, args.dataset, args.root, args.seed, args.hop, args.rest)
    except (StreamError, predict.PredictError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"{figures['num_recordings']} recordings of subjects {figures['subjects']} in "
        f"{len(figures['subjects'])} streams ({figures['duration_s']:.0f} s, seed "
        f"{figures['seed']}, {figures['rest_s']:g} s rests); {figures['window_s']:g} s "
        f"windows every {figures['hop_s']:g} s"
    )
    print(summary(figures))
    if args.out:
        from tfhar.files import write_json

        write_json(args.out, figures)
        print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
