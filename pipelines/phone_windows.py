"""Train for what the phone sees: whole recordings against D-second windows, on streams.

    python -m pipelines.phone_windows --out pipelines/results/utd_mhad --seeds 3
        [--runs-dir runs/phone] [--stream-seed 0] [--choose]

The supervised inertial model (configs/utd_mhad/supervised_inertial.yaml) is trained two ways,
each with `python -m tfhar.train` over --seeds seeds: `whole`, each UTD-MHAD recording squeezed
into one window (today's training), and `segments`, fixed windows of D seconds cut at seeded
random offsets from the raw recordings and resampled as the phone resamples them
(`data.options.segment_s`, tfhar.data.segments). D is the duration the whole-recording model's
export says: the median training recording duration, on the 50 Hz sample grid. Each run is
exported (float32 only, `python -m tfhar.export`) and its .tflite measured on:
- the whole test recordings, each resampled to one window (`segment_accuracy`: the test set of
  report.json for whole-recording runs, the same for every run);
- the run's own test windows (`window_accuracy`: for `segments`, its D-second test windows);
- streams of the test subjects' raw recordings (tfhar.evaluate_stream.evaluate_file, the same
  streams for every run: --stream-seed), majority and tolerant scoring;
- streams of the validation subject's recordings (`val_stream_*`), which chose the settings.
The segment settings (windows per recording, epochs) were chosen with --choose: seed 0 of every
`CANDIDATES` entry, scored on the validation subject only (`best_candidate`: its stream majority
accuracy, then its window accuracy), into phone_windows_choice.csv; the pipeline computes no
test figure there (tfhar.export's own report.json and log hold some: they are not read).
Writes phone_windows.csv (one row per run) and phone_windows_summary.csv (mean and std per
variant) into --out. Finished runs and exports are reused, so an interrupted pipeline goes on
where it stopped; --out, a run directory or an export folder tfhar did not write stop it with
one error line (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .common import (
    EXPECTED_ERRORS,
    PipelineError,
    best_val_accuracy,
    check_out,
    check_run_dir,
    config_path,
    fail,
    train,
    write_results,
)

CONFIG = ("utd_mhad", "supervised_inertial")
BASE = ["runtime.verbose=2", "runtime.embedding_plot=false"]
# Segment settings measured by --choose: name -> (windows per recording, fine-tuning epochs).
# k1 and k4_e25 take as many gradient steps as whole-recording training, k4 and k16_e25 four
# times as many.
CANDIDATES = {"segments_k1": (1, 100), "segments_k4": (4, 100), "segments_k4_e25": (4, 25),
              "segments_k16_e25": (16, 25)}
CHOSEN = "segments_k4_e25"  # best_candidate on the validation subject (phone_windows_choice.csv)
VARIANTS = ("whole", "segments")
STREAM = ("majority_accuracy", "majority_macro_f1", "tolerant_accuracy", "tolerant_macro_f1")
COLUMNS = ["variant", "seed", "window_s", "segments_per_recording", "epochs", "val_accuracy",
           "segment_accuracy", "window_accuracy", *(f"stream_{k}" for k in STREAM),
           "stream_windows", "stream_transition_windows", *(f"val_stream_{k}" for k in STREAM),
           "run_dir"]


def window_duration(durations: np.ndarray, rate_hz: float) -> float:
    """D: the median of the training recordings' durations (s), as tfhar.export computes it,
    put on the sample grid (round(D x rate) samples, the window tfhar.predict cuts)."""
    return round(float(np.median(durations)) * rate_hz) / rate_hz


def run_name(variant: str, seed: int) -> str:
    """The run's folder: `segments` runs are named after their settings (CHOSEN), so that the
    chosen candidate's seed-0 run of --choose is reused."""
    return f"{CHOSEN if variant == 'segments' else variant}-seed{seed}"


def overrides(variant: str, seed: int, window_s: float) -> list[str]:
    """--set values of one run: `whole`, or a CANDIDATES name (`segments` is CHOSEN)."""
    changes = [*BASE, f"runtime.seed={seed}"]
    if variant == "whole":
        return changes
    count, epochs = CANDIDATES[CHOSEN if variant == "segments" else variant]
    changes += [f"data.options.segment_s={window_s!r}",
                f"data.options.segments_per_recording={count}"]
    return changes + ([f"finetune.epochs={epochs}"] if epochs != 100 else [])


def reference(config: Path):
    """The whole-recording splits: D, the validation subjects and the whole test recordings."""
    from tfhar.config import load_config
    from tfhar.experiment import load_splits

    splits = load_splits(load_config(config))
    if splits.val is None:
        raise PipelineError(f"{config}: its protocol has no validation subject")
    return (window_duration(splits.train.durations, splits.train.inertial_rate_hz),
            tuple(int(s) for s in np.unique(splits.val.subjects)), splits.test)


def export_run(run_dir: Path, export_dir: Path, log: Path) -> Path:
    """`python -m tfhar.export --formats float32` of the run unless its export is current (an
    export folder tfhar wrote of this run's config, newer than its metrics); the .tflite."""
    from tfhar.config import config_hash, load_config
    from tfhar.experiment.run_directory import check_replaceable, marker_kind
    from tfhar.export import EXPORT_KIND

    model = export_dir / "model_float32.tflite"
    check_replaceable(export_dir, EXPORT_KIND, "export folder")
    meta = export_dir / "metadata.json"
    if (marker_kind(export_dir) == EXPORT_KIND and model.is_file() and meta.is_file()
            and meta.stat().st_mtime >= (run_dir / "metrics.json").stat().st_mtime
            and json.loads(meta.read_text())["training"]["config_hash"]
            == config_hash(load_config(run_dir / "config.yaml"))):
        return model
    print(f"  exporting {run_dir} -> {export_dir} (log: {log})", flush=True)
    with open(log, "a") as handle:
        status = subprocess.run(
            [sys.executable, "-m", "tfhar.export", "--run-dir", str(run_dir), "--out",
             str(export_dir), "--formats", "float32"], stdout=handle, stderr=subprocess.STDOUT,
            check=False).returncode
    if status != 0 or not model.is_file():
        raise PipelineError(f"exporting {str(run_dir)!r} failed (exit {status}); see {log}")
    return model


def _stream(figures: dict, prefix: str) -> dict:
    return {f"{prefix}{scoring}_{name}": figures[scoring][name]
            for scoring in ("majority", "tolerant") for name in ("accuracy", "macro_f1")}


def measure_validation(model_path: Path, val_subjects: tuple[int, ...], stream_seed: int
                       ) -> dict:
    """The validation subjects' stream figures (val_stream_*) of one .tflite."""
    from tfhar import evaluate_stream, predict
    from tfhar.data import default_root
    from tfhar.data.datasets import utd_mhad

    info = predict.read_metadata(model_path)
    sequences, labels, subjects = utd_mhad.load_raw_inertial(default_root(utd_mhad.NAME),
                                                             val_subjects)
    streams = evaluate_stream.build_streams(sequences, labels, subjects,
                                            utd_mhad.INERTIAL_RATE_HZ, stream_seed)
    return _stream(evaluate_stream.evaluate_model(predict.load_model(model_path, info), info,
                                                  streams), "val_stream_")


def measure_test(model_path: Path, whole_test, stream_seed: int) -> dict:
    """Test figures of one .tflite: whole test recordings, its own test windows, streams."""
    from tfhar import evaluate_stream, predict

    info = predict.read_metadata(model_path)
    model = predict.load_model(model_path, info)
    predicted = np.array([model.predict_one(w).argmax() for w in whole_test.inertial])
    figures = evaluate_stream.evaluate_file(model_path, "utd_mhad", seed=stream_seed)
    return {"window_s": round(info.duration_s, 6),  # metadata.json holds a float32 median.
            "segment_accuracy": float(np.mean(predicted == whole_test.labels)),
            "window_accuracy": figures["segment_accuracy"], **_stream(figures, "stream_"),
            "stream_windows": figures["num_windows"],
            "stream_transition_windows": figures["num_transition_windows"]}


def run_one(variant: str, seed: int, runs_dir: Path, window_s: float) -> tuple[Path, Path]:
    """Train (unless finished) and export (unless current) one run: (run dir, .tflite)."""
    run_dir = runs_dir / run_name(variant, seed)
    print(f"[phone_windows] {variant}, seed {seed}: {run_dir}", flush=True)
    train(config_path(*CONFIG), run_dir, overrides(variant, seed, window_s),
          run_dir.with_name(f"{run_dir.name}.log"))
    export_dir = runs_dir / "exports" / run_dir.name
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    return run_dir, export_run(run_dir, export_dir, export_dir.with_name(f"{run_dir.name}.log"))


def row(variant: str, seed: int, run_dir: Path) -> dict:
    """The run's settings and validation accuracy (its checkpoint's)."""
    from tfhar.config import load_config

    config = load_config(run_dir / "config.yaml")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"variant": variant, "seed": seed, "run_dir": str(run_dir),
            "segments_per_recording": config.data.options.get("segments_per_recording", 0),
            "epochs": config.finetune.epochs, "val_accuracy": best_val_accuracy(run_dir, metrics)}


def planned(variants, seeds: int, runs_dir: Path) -> list[tuple[str, int]]:
    """(variant, seed) of every run asked for; PipelineError before any training when a run
    directory or export folder is not tfhar's."""
    from tfhar.experiment.run_directory import OwnershipError, check_replaceable

    runs = [(v, s) for v in variants for s in range(seeds)]
    for variant, seed in runs:
        check_run_dir(runs_dir / run_name(variant, seed))
        try:
            check_replaceable(runs_dir / "exports" / run_name(variant, seed), "export",
                              "export folder")
        except OwnershipError as error:
            raise PipelineError(str(error)) from None
    return runs


def run_all(seeds: int, runs_dir: Path, stream_seed: int) -> pd.DataFrame:
    runs = planned(VARIANTS, seeds, runs_dir)
    window_s, val_subjects, whole_test = reference(config_path(*CONFIG))
    rows = []
    for variant, seed in runs:
        run_dir, model = run_one(variant, seed, runs_dir, window_s)
        rows.append({**row(variant, seed, run_dir), **measure_test(model, whole_test, stream_seed),
                     **measure_validation(model, val_subjects, stream_seed)})
    return pd.DataFrame(rows, columns=COLUMNS)


def choose(runs_dir: Path, stream_seed: int) -> pd.DataFrame:
    """Seed 0 of `whole` and every candidate on the validation subject only."""
    names = ("whole", *CANDIDATES)
    planned(names, 1, runs_dir)
    window_s, val_subjects, _ = reference(config_path(*CONFIG))
    rows = []
    for name in names:
        run_dir, model = run_one(name, 0, runs_dir, window_s)
        rows.append({**row(name, 0, run_dir), "window_s": window_s,
                     **measure_validation(model, val_subjects, stream_seed)})
    table = pd.DataFrame(rows).drop(columns="seed")
    best = best_candidate(table)
    if best != CHOSEN:
        print(f"  the best candidate on validation is {best}, not CHOSEN ({CHOSEN}): set CHOSEN",
              flush=True)
    return table.assign(best=table.variant == best, chosen=table.variant == CHOSEN)


def best_candidate(table: pd.DataFrame) -> str:
    """The candidate with the highest validation stream majority accuracy, ties broken by the
    validation window accuracy, then by the fewer gradient steps (windows x epochs), then by
    the order of CANDIDATES."""
    candidates = table[table.variant.isin(list(CANDIDATES))].reset_index(drop=True)
    steps = [-np.prod(CANDIDATES[name]) for name in candidates.variant]
    order = candidates.assign(steps=steps, rank=-candidates.index).sort_values(
        ["val_stream_majority_accuracy", "val_accuracy", "steps", "rank"], kind="stable")
    return str(order.variant.iloc[-1])


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant: seeds, then mean and std (ddof 1; 0 for one seed) of every figure."""
    figures = [c for c in COLUMNS[5:] if c not in ("run_dir",)]
    table = []
    for variant, group in runs.groupby("variant", sort=False):
        line = {"variant": variant, "seeds": len(group),
                "window_s": group.window_s.iloc[0]}
        for name in figures:
            values = group[name].astype(float)
            line[f"{name}_mean"] = values.mean()
            line[f"{name}_std"] = values.std(ddof=1) if len(values) > 1 else 0.0
        table.append(line)
    return pd.DataFrame(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.phone_windows",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results") / CONFIG[0],
                        help="results folder: absent, empty or written by a pipeline before")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/phone"))
    parser.add_argument("--stream-seed", type=int, default=0,
                        help="order of the recordings in the streams (the same for every run)")
    parser.add_argument("--choose", action="store_true",
                        help="measure the CANDIDATES segment settings on the validation "
                             "subject only (phone_windows_choice.csv)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    try:
        check_out(args.out)  # Before any training: a folder of the user's is never written into.
        if args.choose:
            table = choose(args.runs_dir, args.stream_seed)
            files = {"phone_windows_choice.csv": table.to_csv(index=False)}
        else:
            runs = run_all(args.seeds, args.runs_dir, args.stream_seed)
            table = summarize(runs)
            files = {"phone_windows.csv": runs.to_csv(index=False),
                     "phone_windows_summary.csv": table.to_csv(index=False)}
        written = write_results(args.out, files)
    except EXPECTED_ERRORS as error:
        return fail(error)
    print(table.to_string(index=False))
    print(json.dumps({"written": [str(path) for path in written]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
