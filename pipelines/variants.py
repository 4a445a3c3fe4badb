"""Variants of the Table 1 rows, each decided on the validation subject.

    python -m pipelines.variants --dataset utd_mhad [--only NAME ...] [--existing-only]
        [--runs-dir runs/variants] [--table1-runs runs/table1] [--out pipelines/results/utd_mhad]

Each variant changes one thing in a Table 1 row: it is a config in configs/<dataset>/variants/
or a row's config with `--set` overrides. Fine-tuning-only variants reuse the encoders of that
row's seed-0 Table 1 run instead of pre-training again. A variant is compared with the row's
seed-0 run on the validation subject, which decides it (`rule`), and on the test subjects,
which are reported only. Finished runs are skipped; --existing-only trains nothing. A variant
not asked for (--only) or whose runs are not here keeps its row of the existing variants.csv
(numbers unchanged, description from `VARIANTS`). Writes variants.csv and variants.md into
--out (absent, empty or written by a pipeline before).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from .common import (
    EXPECTED_ERRORS,
    PipelineError,
    best_val_accuracy,
    check_out,
    check_run_dir,
    config_path,
    default_out,
    fail,
    finished,
    train,
    write_results,
)
from .table1 import ROWS, row_overrides

TRAIN_MODE = "finetune.frozen_encoder_mode=train"
SHUFFLE = "augment.inertial.channel_shuffle.p=0.75"  # As in the CSSHAR augmentation set.

# The validation subject of each dataset and its windows: the unit of the decision rule.
VALIDATION = {"utd_mhad": ("UTD-MHAD subject 7", 108)}
MIN_GAIN_WINDOWS = 2


def rule(subject: str, windows: int) -> str:
    """The decision rule, as stated in variants.md and docs/experiments.md."""
    return ("The row's setting is the reference (the paper; where it is silent, the authors' "
            "code). A variant replaces it only when it raises validation accuracy by at least "
            f"two validation windows (on {subject}: {windows} windows, so at least "
            f"{100 * MIN_GAIN_WINDOWS / windows:.2f} points); smaller differences are within "
            "the noise of one validation subject, and the reference stays. Test accuracy is "
            "reported, never used.")


# name -> (Table 1 row, config relative to configs/<dataset>/, overrides, reused encoders
# {modality: Table 1 config stem whose seed-0 encoder to load}, what changes)
VARIANTS = {
    "simclr_inertial_trainmode": (
        "inertial simclr", "simclr_inertial.yaml", [TRAIN_MODE],
        {"inertial": "simclr_inertial"},
        "frozen encoder in training mode (BatchNorm batch statistics, dropout) while "
        "fine-tuning, as Lightning runs it"),
    "simclr_inertial_channel_shuffle": (
        "inertial simclr", "simclr_inertial.yaml", [SHUFFLE],
        {},
        "the former row: pre-trained with channel shuffle (p 0.75, from the CSSHAR "
        "augmentation set), which mixes accelerometer and gyroscope axes"),
    "simclr_inertial_linear": (
        "inertial simclr", "simclr_inertial.yaml", ["model.classifier=linear"],
        {"inertial": "simclr_inertial"},
        "linear classifier on the frozen encoder instead of the MLP 256-128"),
    "simclr_inertial_element_scale": (
        "inertial simclr", "simclr_inertial.yaml",
        [SHUFFLE, "augment.inertial.scale.per_element=true"], {},
        "the former row (with channel shuffle), pre-trained with a scaling factor N(1, 1) per "
        "value (the authors' code) instead of per channel (CSSHAR)"),
    "simclr_inertial_jitter_0.1": (
        "inertial simclr", "simclr_inertial.yaml",
        [SHUFFLE, "augment.inertial.jitter.sigma=0.1"], {},
        "the former row (with channel shuffle), pre-trained with jitter sigma 0.1 instead of 1 "
        "(on raw values, sigma 1 exceeds the accelerometer's spread, std 0.5-0.75 g; "
        "gyroscope std 100-125 deg/s)"),
    "cmc_no_channel_shuffle": (
        "cmc", "cmc.yaml", ["augment.inertial.channel_shuffle.p=0"], {},
        "pre-trained without inertial channel shuffle (as the inertial SimCLR row now is)"),
    "cmc_trainmode": (
        "cmc", "cmc.yaml", [TRAIN_MODE], {"inertial": "cmc", "skeleton": "cmc"},
        "frozen encoders in training mode while fine-tuning"),
    "simclr_skeleton_trainmode": (
        "skeleton simclr", "simclr_skeleton.yaml", [TRAIN_MODE],
        {"skeleton": "simclr_skeleton"},
        "frozen encoder in training mode while fine-tuning"),
    "simclr_fusion_trainmode": (
        "simclr fusion", "simclr_fusion.yaml", [TRAIN_MODE],
        {"inertial": "simclr_inertial", "skeleton": "simclr_skeleton"},
        "frozen encoders in training mode while fine-tuning"),
    "supervised_skeleton_mlp": (
        "skeleton supervised", "variants/supervised_skeleton_mlp.yaml", [], {},
        "the former row: no augmentation, MLP 256-128 classifier (the row now has the "
        "authors' skeleton augmentation and a linear classifier)"),
    "supervised_multimodal_mlp": (
        "multimodal supervised", "variants/supervised_multimodal_mlp.yaml", [], {},
        "the former row: no augmentation, MLP 256-128 after the fusion, LR patience 10 "
        "(the row now: skeleton augmentation, linear layer, patience 5)"),
    "supervised_multimodal_no_inertial_augment": (
        "multimodal supervised", "supervised_multimodal.yaml", ["augment.inertial=none"], {},
        "inertial windows not augmented, as the authors' code trains the row (the row augments "
        "them with the contrastive pre-training set, which its config long applied by leaving "
        "the section out)"),
    "supervised_inertial_k3_mlp": (
        "inertial supervised", "variants/supervised_inertial_k3_mlp.yaml", [], {},
        "the former row: kernel 3, MLP 256-128 classifier (the row now: kernel 5 and a linear "
        "classifier, as the authors' unimodal config)"),
}


def variant_overrides(name: str, table1_runs: Path) -> list[str]:
    _, _, overrides, reused, _ = VARIANTS[name]
    encoders = [f"finetune.encoders.{modality}="
                f"{table1_runs / f'{stem}-seed0' / 'encoders' / f'{modality}.keras'}"
                for modality, stem in reused.items()]
    return ["runtime.verbose=2", *overrides, *encoders]


def decide(val: float, row_val: float | None, windows: int) -> tuple[int | None, str]:
    """(validation windows gained over the row, decision) by `rule`. Accuracies in %."""
    if row_val is None or math.isnan(row_val):
        return None, "undecided: the row has no validation accuracy"
    gained = round((val - row_val) * windows / 100)  # Accuracies are multiples of 1/windows.
    return gained, "adopted" if gained >= MIN_GAIN_WINDOWS else "reference kept"


def _run(name: str, dataset: str, runs_dir: Path, table1_runs: Path, existing_only: bool
         ) -> dict | None:
    """The variant's row of variants.csv from its run and its Table 1 row's seed-0 run, or
    None when one of them has not finished (--existing-only: trains nothing)."""
    row, config, _, _, change = VARIANTS[name]
    base_dir = table1_runs / f"{ROWS[dataset][row][0]}-seed0"
    if not finished(base_dir, config_path(dataset, ROWS[dataset][row][0]),
                    row_overrides(row, table1_runs, 0)):
        return None
    run_dir = runs_dir / f"{name}-seed0"
    config, overrides = config_path(dataset, config.removesuffix(".yaml")), (
        variant_overrides(name, table1_runs))
    if existing_only and not finished(run_dir, config, overrides):
        return None
    print(f"[variants] {name}: {run_dir}", flush=True)
    metrics = train(config, run_dir, overrides, run_dir.with_name(f"{name}-seed0.log"))
    base = json.loads((base_dir / "metrics.json").read_text())
    base_val = best_val_accuracy(base_dir, base)
    return {"variant": name, "row": row, "change": change,
            "val_accuracy": round(100 * best_val_accuracy(run_dir, metrics), 2),
            "row_val_accuracy": round(100 * base_val, 2) if base_val is not None else None,
            "test_accuracy": round(100 * metrics["accuracy"], 2),
            "row_test_accuracy": round(100 * base["accuracy"], 2),
            "wall_time_s": round(metrics.get("wall_time_s", float("nan")), 1),
            "run_dir": str(run_dir)}


def _kept(name: str, previous: pd.DataFrame | None) -> dict | None:
    """The variant's row of the existing variants.csv, with today's description."""
    rows = previous[previous.variant == name] if previous is not None else []
    if len(rows) == 0:
        return None
    return {**rows.iloc[0].to_dict(), "change": VARIANTS[name][4]}


def _previous(path: Path) -> pd.DataFrame | None:
    """The existing variants.csv (None when absent); PipelineError when it is not one."""
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise PipelineError(f"{str(path)!r} cannot be read as a table: {error}") from None
    missing = {"variant", "val_accuracy", "row_val_accuracy"} - set(table.columns)
    if missing:
        raise PipelineError(f"{str(path)!r} is not a variants table (no {sorted(missing)})")
    return table


def run_all(dataset: str, runs_dir: Path, table1_runs: Path, only: list[str] | None,
            existing_only: bool = False, previous: pd.DataFrame | None = None
            ) -> pd.DataFrame:
    """variants.csv: a row per variant from its finished run (trained unless --existing-only);
    a variant not asked for (--only) or without runs keeps its row of `previous`."""
    names = [name for name in VARIANTS if not only or name in only]
    if not existing_only:  # A folder tfhar did not write stops the pipeline before training.
        for name in names:
            check_run_dir(runs_dir / f"{name}-seed0")
    rows = []
    for name in VARIANTS:
        row = _run(name, dataset, runs_dir, table1_runs, existing_only) if name in names else None
        if row is None:
            row = _kept(name, previous)
            print(f"[variants] {name}: " + ("not asked for" if name not in names else
                                            "no finished run of it and of its Table 1 row's "
                                            "seed 0") + (": its row of variants.csv is kept"
                                                         if row else ": left out"), flush=True)
        if row is not None:
            rows.append(row)
    return tabulate(rows, VALIDATION[dataset][1])


def tabulate(rows: list[dict], windows: int) -> pd.DataFrame:
    """variants.csv: the rows with the validation windows, the windows gained, the decision."""
    table = pd.DataFrame(rows, columns=[
        "variant", "row", "change", "val_accuracy", "row_val_accuracy", "test_accuracy",
        "row_test_accuracy", "wall_time_s", "run_dir"])
    decided = [decide(r.val_accuracy, r.row_val_accuracy, windows) for r in table.itertuples()]
    table.insert(5, "val_windows", windows)
    table.insert(6, "val_gain_windows", pd.array([g for g, _ in decided], dtype="Int64"))
    table.insert(7, "decision", [d for _, d in decided])
    return table


def table_lines(table: pd.DataFrame) -> list[str]:
    """variants.csv as a Markdown table (also in docs/experiments.md)."""
    lines = ["| variant | row | change | val | row val | gain (windows) | decision | test "
             "| row test |", "|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        gain = "-" if pd.isna(r.val_gain_windows) else f"{r.val_gain_windows:+d}"
        row_val = "-" if pd.isna(r.row_val_accuracy) else f"{r.row_val_accuracy:.2f}"
        lines.append(f"| {r.variant} | {r.row} | {r.change} | {r.val_accuracy:.2f} "
                     f"| {row_val} | {gain} | {r.decision} "
                     f"| {r.test_accuracy:.2f} | {r.row_test_accuracy:.2f} |")
    return lines


def markdown(table: pd.DataFrame, dataset: str) -> str:
    lines = [f"# Variants of Table 1 rows on {dataset} (seed 0, accuracy %)", "",
             rule(*VALIDATION[dataset]), "", *table_lines(table)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.variants",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="utd_mhad", choices=sorted(VALIDATION))
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=list(VARIANTS))
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/variants"))
    parser.add_argument("--table1-runs", type=Path, default=Path("runs/table1"))
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default results/<dataset>): absent, empty or "
                             "written by a pipeline before")
    parser.add_argument("--existing-only", action="store_true",
                        help="train nothing: tabulate the finished runs (variants without "
                             "runs keep their row of the existing variants.csv)")
    args = parser.parse_args(argv)
    out = args.out or default_out(args.dataset)
    try:
        check_out(out)  # Before any training: a folder of the user's is never written into.
        previous = _previous(out / "variants.csv")
        table = run_all(args.dataset, args.runs_dir, args.table1_runs, args.only,
                        args.existing_only, previous)
        if table.empty:
            raise PipelineError(f"no variant has finished runs in {str(args.runs_dir)!r} with "
                                f"its Table 1 row's in {str(args.table1_runs)!r}")
        write_results(out, {"variants.csv": table.to_csv(index=False),
                            "variants.md": markdown(table, args.dataset)})
    except EXPECTED_ERRORS as error:
        return fail(error)
    print(markdown(table, args.dataset))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
