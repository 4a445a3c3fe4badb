"""Does pre-training with skeletons pay off for the IMU-only (phone) model?

    python -m pipelines.imu_only --dataset utd_mhad --seeds 3 --out pipelines/results/utd_mhad
        [--pretrained cmc cmc_cmkm simclr_inertial] [--table1-runs runs/table1]
        [--runs-dir runs/imu_only]

The phone sees only the IMU. For each pre-trained row (CMC and CMC-CMKM: inertial and skeleton
encoders trained together; inertial SimCLR: the IMU alone, for comparison) and seed, the Table
1 run of that row and seed gives its inertial encoder (`--table1-runs`; trained by `python -m
pipelines.table1`'s settings when missing). An IMU-only classifier is then trained on it with
the labels, two ways: the encoder `frozen` (a classifier on its features, as the paper
fine-tunes) and `fine-tuned` (encoder and classifier trained together). Both are compared with
the supervised IMU model of the same seed (Table 1's "inertial supervised" row), which sees the
same labelled windows and no skeleton. Every run is `python -m tfhar.train` with the inertial
SimCLR row's config and the encoder given (`finetune.encoders.inertial`), so that the
classifier, schedule and checkpoint rule are those of the other rows (`finetune.monitor: last`,
the default: the last epoch, frozen or fine-tuned, as for the supervised IMU model).

`cmc_transductive` is CMC trained as Table 1's row but pre-trained on every subject's
unlabelled windows, the test subjects' too (`data.pretrain_subjects: all`; its runs in
--runs-dir as pretrain-cmc_transductive-seed<N>): a phone that pre-trains on its wearer's own
unlabelled recordings before anyone labels them. Labels, checkpoints and scores are as in the
other rows; the row measures what seeing the wearer's unlabelled data is worth.

Writes imu_only.csv (one row per run: test and validation accuracy, the checkpoint rule, and
the best validation accuracy of any epoch, a diagnostic of what the features allow whatever the
rule) and imu_only_summary.csv (mean and std over seeds, and the mean gain over the supervised
IMU model) into --out.
Finished runs are reused; a folder tfhar did not write stops it with one error line (exit 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from .common import (
    EXPECTED_ERRORS,
    PipelineError,
    best_val_accuracy,
    check_out,
    check_run_dir,
    checkpoint_rule_of,
    config_path,
    default_out,
    fail,
    max_val_accuracy,
    train,
    write_results,
)
from .table1 import ROWS, row_overrides

# Pre-trained row -> (its Table 1 config stem, its Table 1 row name).
PRETRAINED = {"cmc": ("cmc", "cmc"), "cmc_cmkm": ("cmc_cmkm", "cmc-cmkm"),
              "simclr_inertial": ("simclr_inertial", "inertial simclr"),
              "cmc_transductive": ("cmc", "cmc")}
# Rows pre-trained here rather than in Table 1, with their extra --set values: CMC as Table 1
# trains it, but on every subject's unlabelled windows, the test subjects' too (as a phone
# could pre-train on its wearer's own unlabelled recordings before anyone labels them).
TRANSDUCTIVE = {"cmc_transductive": ["data.pretrain_subjects=all"]}
SUPERVISED = ("supervised_inertial", "inertial supervised")
MODES = {"frozen": ["finetune.trainable_encoders=false"],
         "fine-tuned": ["finetune.trainable_encoders=true"]}
CLASSIFIER_CONFIG = "simclr_inertial"  # The IMU-only fine-tuning every row gets.
COLUMNS = ["pretrained", "mode", "seed", "accuracy", "val_accuracy", "macro_f1", "run_dir",
           "encoder", "checkpoint_rule", "max_val_accuracy"]


def table1_run(dataset: str, stem: str, row: str, seed: int, table1_runs: Path) -> Path:
    """The Table 1 run of `row` and `seed`, trained (as pipelines.table1 would) when missing."""
    run_dir = table1_runs / f"{stem}-seed{seed}"
    train(config_path(dataset, stem), run_dir, row_overrides(row, table1_runs, seed),
          table1_runs / f"{stem}-seed{seed}.log")
    return run_dir


def pretraining_run(dataset: str, name: str, seed: int, table1_runs: Path, runs_dir: Path
                    ) -> Path:
    """The run whose inertial encoder the IMU-only runs of `name` and `seed` read: the Table 1
    run, or for a TRANSDUCTIVE row its own run in `runs_dir` (trained when missing)."""
    stem, row = PRETRAINED[name]
    if name not in TRANSDUCTIVE:
        return table1_run(dataset, stem, row, seed, table1_runs)
    run_dir = pretraining_dir(name, seed, runs_dir)
    train(config_path(dataset, stem), run_dir,
          row_overrides(row, table1_runs, seed, TRANSDUCTIVE[name]),
          run_dir.with_name(f"{run_dir.name}.log"))
    return run_dir


def pretraining_dir(name: str, seed: int, runs_dir: Path) -> Path:
    return runs_dir / f"pretrain-{name}-seed{seed}"


def overrides(encoder: Path, mode: str, seed: int) -> list[str]:
    """--set values of one IMU-only run on a given inertial encoder."""
    return ["runtime.verbose=2", "runtime.embedding_plot=false", f"runtime.seed={seed}",
            f"finetune.encoders.inertial={encoder}", *MODES[mode]]


def planned(pretrained: list[str], seeds: int, runs_dir: Path) -> list[tuple[str, str, int]]:
    """(pretrained row, mode, seed) of every IMU-only run; PipelineError before any training
    when one of their run directories is not tfhar's."""
    runs = [(p, m, s) for p in pretrained for m in MODES for s in range(seeds)]
    for name, mode, seed in runs:
        check_run_dir(runs_dir / run_name(name, mode, seed))
    return runs


def run_name(pretrained: str, mode: str, seed: int) -> str:
    return f"{pretrained}-{mode}-seed{seed}"


def _row(pretrained: str, mode: str, seed: int, run_dir: Path, metrics: dict, encoder: str
         ) -> dict:
    val = best_val_accuracy(run_dir, metrics)
    return {"pretrained": pretrained, "mode": mode, "seed": seed,
            "accuracy": 100 * metrics["accuracy"],
            "val_accuracy": None if val is None else 100 * val,
            "macro_f1": 100 * metrics["macro_f1"], "run_dir": str(run_dir), "encoder": encoder,
            "checkpoint_rule": checkpoint_rule_of(run_dir),
            "max_val_accuracy": None if (best := max_val_accuracy(run_dir)) is None
            else 100 * best}


def run_all(dataset: str, pretrained: list[str], seeds: int, table1_runs: Path,
            runs_dir: Path) -> pd.DataFrame:
    runs = planned(pretrained, seeds, runs_dir)
    for seed in range(seeds):  # Before any training, too.
        for stem, _ in [PRETRAINED[p] for p in pretrained if p not in TRANSDUCTIVE] + [
                SUPERVISED]:
            check_run_dir(table1_runs / f"{stem}-seed{seed}")
        for name in set(pretrained) & set(TRANSDUCTIVE):
            check_run_dir(pretraining_dir(name, seed, runs_dir))
    rows = []
    for seed in range(seeds):
        stem, row = SUPERVISED
        run_dir = table1_run(dataset, stem, row, seed, table1_runs)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        rows.append(_row("none (supervised)", "trained", seed, run_dir, metrics, "-"))
    for name, mode, seed in runs:
        row = PRETRAINED[name][1]
        source = pretraining_run(dataset, name, seed, table1_runs, runs_dir)
        encoder = source / "encoders" / "inertial.keras"
        if not encoder.is_file():
            raise PipelineError(f"{source} has no encoders/inertial.keras: not a finished "
                                f"pre-training run of {row!r}")
        run_dir = runs_dir / run_name(name, mode, seed)
        print(f"[imu_only] {name}, {mode}, seed {seed}: {run_dir}", flush=True)
        metrics = train(config_path(dataset, CLASSIFIER_CONFIG), run_dir,
                        overrides(encoder, mode, seed), run_dir.with_name(f"{run_dir.name}.log"))
        rows.append(_row(name, mode, seed, run_dir, metrics, str(encoder)))
    return pd.DataFrame(rows, columns=COLUMNS)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (pretrained, mode): seeds, mean and std of test and validation accuracy, and the
    mean over seeds of the gain over the supervised IMU model of the same seed."""
    supervised = runs[runs["mode"] == "trained"].set_index("seed").accuracy
    table = []
    for (name, mode), group in runs.groupby(["pretrained", "mode"], sort=False):
        gains = group.accuracy.to_numpy() - supervised.reindex(group.seed).to_numpy()
        table.append({
            "pretrained": name, "mode": mode, "seeds": len(group),
            "mean_accuracy": group.accuracy.mean(),
            "std_accuracy": group.accuracy.std(ddof=1) if len(group) > 1 else 0.0,
            "mean_val_accuracy": group.val_accuracy.astype(float).mean(),
            "mean_max_val_accuracy": group.max_val_accuracy.astype(float).mean(),
            "gain_over_supervised": float(pd.Series(gains).mean())})
    return pd.DataFrame(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.imu_only",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="utd_mhad", choices=["utd_mhad"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pretrained", nargs="+", default=list(PRETRAINED),
                        choices=list(PRETRAINED))
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default results/<dataset>)")
    parser.add_argument("--table1-runs", type=Path, default=Path("runs/table1"),
                        help="pipelines.table1's runs (its --runs-dir): encoders and the "
                             "supervised IMU model")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/imu_only"))
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    missing = [p for p in args.pretrained if PRETRAINED[p][1] not in ROWS[args.dataset]]
    if missing:
        parser.error(f"--pretrained {missing}: no such Table 1 row on {args.dataset}")
    out = args.out or default_out(args.dataset)
    try:
        check_out(out)  # Before any training: a folder of the user's is never written into.
        runs = run_all(args.dataset, args.pretrained, args.seeds, args.table1_runs,
                       args.runs_dir)
        table = summarize(runs)
        written = write_results(out, {"imu_only.csv": runs.to_csv(index=False),
                                      "imu_only_summary.csv": table.to_csv(index=False)})
    except EXPECTED_ERRORS as error:
        return fail(error)
    print(table.to_string(index=False))
    print(json.dumps({"written": [str(path) for path in written]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
