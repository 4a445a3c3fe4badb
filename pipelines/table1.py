"""Reproduce the paper's Table 1 (full labels) over several seeds.

    python -m pipelines.table1 --dataset utd_mhad [--seeds 3] [--out pipelines/results/utd_mhad]
        [--protocol cross_subject|paper] [--set KEY=VALUE ...]

Runs every row with `python -m tfhar.train` and the configs in configs/<dataset>/, one run
directory per (row, seed) under --runs-dir; a run whose metrics.json exists is not run again,
so an interrupted pipeline continues where it stopped. The SSL simple-fusion row reuses the
encoders of the two SimCLR rows of the same seed instead of pre-training them again (its wall
time excludes that pre-training); so does CMC-CMKM for its two mining encoders (the authors'
code loads SimCLR checkpoints too; ours are the SimCLR rows' settings, so the inertial one has
batch 64 and temperature 0.1 where their mining encoder had 128 and 0.05). Writes table1.csv,
table1.md and table1_runs.csv into --out, a folder that is absent, empty or one a pipeline
wrote (marked by its .tfhar.json); any other folder, and a run directory tfhar did not write,
stop it with one error line (exit status 2).

--protocol paper is the paper's own split, like for like: train on every training subject
(UTD-MHAD 1, 3, 5, 7), no validation subject, test on the same test subjects; with nothing to
pick a checkpoint on, the last epoch of a fixed schedule is tested (finetune.monitor=last; the
plateau schedule follows the training loss). Choose that schedule (finetune.epochs, ...) by
leave-one-subject-out over the training subjects (tfhar-tune, e.g. tune/utd_mhad_checkpoint_rule)
and pass it with --set. Its runs go to <runs-dir>_paper and its files are table1_paper*.
"""

from __future__ import annotations

import argparse
import json
import time
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
    finished,
    train,
    write_results,
)

# model -> (config stem, paper UTD-MHAD accuracy, the authors' later code's accuracy); None
# where there is no number (CMC-CMKM is the authors' follow-up, not in the paper).
ROWS = {
    "utd_mhad": {
        "inertial supervised": ("supervised_inertial", 78.84, 76.74),
        "inertial simclr": ("simclr_inertial", 75.84, 72.09),
        "skeleton supervised": ("supervised_skeleton", 94.42, 94.65),
        "skeleton simclr": ("simclr_skeleton", 93.72, 95.11),
        "multimodal supervised": ("supervised_multimodal", 90.93, 97.21),
        "simclr fusion": ("simclr_fusion", 94.88, None),
        "cmc": ("cmc", 93.82, 96.04),
        "cmc-cmkm": ("cmc_cmkm", None, 97.67),
    },
    # The six accelerometers only: the motion-capture skeletons are not available here.
    "berkeley_mhad": {
        "inertial supervised": ("supervised_inertial", 89.82, None),
        "inertial simclr": ("simclr_inertial", 93.09, None),
    },
}


# Rows that reuse the two SimCLR rows' encoders of their seed, and the config key they go to.
REUSED_SIMCLR_ENCODERS = {"simclr fusion": "finetune.encoders",
                          "cmc-cmkm": "cmkm.encoders"}

PROTOCOLS = ("cross_subject", "paper")
# --protocol paper: no validation subject, so the last epoch is tested.
PAPER_OVERRIDES = ["data.protocol=paper", "finetune.monitor=last"]


def row_overrides(model: str, runs_dir: Path, seed: int, extra: list[str] | None = None
                  ) -> list[str]:
    """Extra --set values of a row: the seed, `extra` (the protocol's and the user's), and
    the SimCLR rows' encoders of the same seed: the encoders fusion fine-tunes, and the
    mining encoders of CMC-CMKM."""
    overrides = ["runtime.verbose=2"] + ([f"runtime.seed={seed}"] if seed else [])
    overrides += list(extra or [])
    key = REUSED_SIMCLR_ENCODERS.get(model)
    for modality in ("inertial", "skeleton") if key else ():
        path = runs_dir / f"simclr_{modality}-seed{seed}" / "encoders" / f"{modality}.keras"
        overrides.append(f"{key}.{modality}={path}")
    return overrides


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100 * fraction


def planned(dataset: str, seeds: int, runs_dir: Path, only: list[str] | None
            ) -> list[tuple[str, int, Path]]:
    """(model, seed, run directory) of every run asked for."""
    return [(model, seed, runs_dir / f"{stem}-seed{seed}")
            for model, (stem, _, _) in ROWS[dataset].items() if not only or model in only
            for seed in range(seeds)]


def check_overrides(dataset: str, extra: list[str]) -> None:
    """Every row's config with `extra` applied is valid (ConfigError naming the row and the
    problem otherwise), before any training."""
    from tfhar.config import ConfigError, load_config

    for model, (stem, _, _) in ROWS[dataset].items():
        try:
            load_config(config_path(dataset, stem), extra)
        except ConfigError as error:
            raise PipelineError(f"--set on row {model!r}: {error}") from None


def run_all(dataset: str, seeds: int, runs_dir: Path, only: list[str] | None,
            existing_only: bool = False, extra: list[str] | None = None) -> pd.DataFrame:
    runs = planned(dataset, seeds, runs_dir, only)
    if not existing_only:  # A folder tfhar did not write stops the pipeline before training.
        for _, _, run_dir in runs:
            check_run_dir(run_dir)
    rows = []
    for model, seed, run_dir in runs:
        config = config_path(dataset, ROWS[dataset][model][0])
        overrides = row_overrides(model, runs_dir, seed, extra)
        if existing_only and not finished(run_dir, config, overrides):
            continue
        print(f"[table1] {model}, seed {seed}: {run_dir}", flush=True)
        start = time.perf_counter()
        metrics = train(config, run_dir, overrides, run_dir.with_name(f"{run_dir.name}.log"))
        rows.append({"model": model, "seed": seed, "run_dir": str(run_dir),
                     "accuracy": 100 * metrics["accuracy"],
                     "val_accuracy": _percent(best_val_accuracy(run_dir, metrics)),
                     "checkpoint_rule": checkpoint_rule_of(run_dir),
                     "macro_f1": 100 * metrics["macro_f1"],
                     "num_test_samples": metrics["num_test_samples"],
                     "wall_time_s": metrics.get("wall_time_s", time.perf_counter() - start)})
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    table = []
    for model, (_, paper, authors) in ROWS[dataset].items():
        chosen = runs[runs.model == model]
        if chosen.empty:
            continue
        table.append({
            "model": model, "seeds": len(chosen),
            "mean_accuracy": round(chosen.accuracy.mean(), 2),
            "std_accuracy": round(chosen.accuracy.std(ddof=1), 2) if len(chosen) > 1 else 0.0,
            "paper": float("nan") if paper is None else paper, "authors_code": authors,
            "wall_time_s": round(chosen.wall_time_s.sum(), 1),
            "checkpoint_rule": ", ".join(sorted(set(chosen.checkpoint_rule.dropna()))),
        })
    return pd.DataFrame(table)


def number(value: float | None, sign: bool = False) -> str:
    """A percentage with two decimals (and its sign with `sign`), or "-" where there is none."""
    if value is None or pd.isna(value):
        return "-"
    return f"{value:+.2f}" if sign else f"{value:.2f}"


def markdown(table: pd.DataFrame, dataset: str, protocol: str = "cross_subject") -> str:
    title = "" if protocol == "cross_subject" else ", the paper's protocol (no validation)"
    lines = [f"# Table 1 on {dataset}{title} (test accuracy %, mean +- std over seeds)", "",
             "| model | seeds | ours | paper | gap to paper | authors' code | checkpoint | "
             "wall time |", "|---|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        lines.append(
            f"| {row.model} | {row.seeds} | {row.mean_accuracy:.2f} +- {row.std_accuracy:.2f} "
            f"| {number(row.paper)} | {number(row.mean_accuracy - row.paper, sign=True)} "
            f"| {number(row.authors_code)} | {row.checkpoint_rule or '-'} "
            f"| {row.wall_time_s / 60:.1f} min |")
    lines += ["", "Checkpoint: the rule that picked the tested checkpoint (`finetune.monitor`; "
              "val_loss: the lowest validation loss, last: the last epoch, val_accuracy: the "
              "best validation accuracy). Wall time: summed "
              "over seeds on the machine that ran the pipeline; the simclr fusion row reuses "
              "the SimCLR rows' encoders, so its time is fine-tuning only."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.table1",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="utd_mhad", choices=sorted(ROWS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default results/<dataset>): absent, empty or "
                             "written by a pipeline before")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/table1"))
    parser.add_argument("--only", nargs="+", metavar="MODEL",
                        help="run only these rows (quoted model names, e.g. 'skeleton simclr')")
    parser.add_argument("--existing-only", action="store_true",
                        help="train nothing: tabulate the finished runs among the seeds asked")
    parser.add_argument("--protocol", default="cross_subject", choices=PROTOCOLS,
                        help="cross_subject (a validation subject picks the checkpoint) or "
                             "paper (the paper's training subjects, last epoch tested)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value of every row's config, e.g. the schedule "
                             "chosen for --protocol paper (repeatable)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    unknown = sorted(set(args.only or ()) - set(ROWS[args.dataset]))
    if unknown:
        parser.error(f"--only: no row {unknown} on {args.dataset}; the rows: "
                     f"{', '.join(ROWS[args.dataset])}")
    out = args.out or default_out(args.dataset)
    paper = args.protocol == "paper"
    runs_dir = args.runs_dir.with_name(f"{args.runs_dir.name}_paper") if paper else args.runs_dir
    extra = (PAPER_OVERRIDES if paper else []) + args.set
    stem = "table1_paper" if paper else "table1"
    try:
        check_out(out)  # Before any training: a folder of the user's is never written into.
        check_overrides(args.dataset, extra)
        runs = run_all(args.dataset, args.seeds, runs_dir, args.only, args.existing_only, extra)
        if runs.empty:
            raise PipelineError(f"no finished runs in {str(runs_dir)!r}")
        table = summarize(runs, args.dataset)
        text = markdown(table, args.dataset, args.protocol)
        written = write_results(out, {f"{stem}_runs.csv": runs.to_csv(index=False),
                                      f"{stem}.csv": table.to_csv(index=False),
                                      f"{stem}.md": text})
    except EXPECTED_ERRORS as error:
        return fail(error)
    print(text)
    print(json.dumps({"written": [str(path) for path in written]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
