"""Variants of the Table 1 rows, chosen on the validation subject (issue: beat the paper).

    python -m pipelines.variants --dataset utd_mhad [--only NAME ...]
        [--runs-dir runs/variants] [--table1-runs runs/table1] [--out pipelines/results/utd_mhad]

Each variant changes one thing in a Table 1 row: it is a config in configs/<dataset>/variants/
or a row's config with `--set` overrides. Fine-tuning-only variants reuse the encoders of that
row's seed-0 Table 1 run instead of pre-training again. A variant is compared with the row's
seed-0 run on the validation subject, which is what choosing a variant may use, and on the
test subjects, which are reported only. Finished runs are skipped. Writes variants.csv and
variants.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from .common import best_val_accuracy, config_path, default_out, train, write_atomic
from .table1 import ROWS

TRAIN_MODE = "finetune.frozen_encoder_mode=train"
SHUFFLE = "augment.inertial.channel_shuffle.p=0.75"  # The reference set's channel shuffle.

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
        "the row before stop 8: pre-trained with channel shuffle (p 0.75, the reference set), "
        "which mixes accelerometer and gyroscope axes"),
    "simclr_inertial_linear": (
        "inertial simclr", "simclr_inertial.yaml", ["model.classifier=linear"],
        {"inertial": "simclr_inertial"},
        "linear classifier on the frozen encoder instead of the MLP 256-128"),
    "simclr_inertial_element_scale": (
        "inertial simclr", "simclr_inertial.yaml",
        [SHUFFLE, "augment.inertial.scale.per_element=true"], {},
        "the row before stop 8 (with channel shuffle), pre-trained with a scaling factor "
        "N(1, 1) per value (the authors' code) instead of per channel (CSSHAR)"),
    "simclr_inertial_jitter_0.1": (
        "inertial simclr", "simclr_inertial.yaml",
        [SHUFFLE, "augment.inertial.jitter.sigma=0.1"], {},
        "the row before stop 8 (with channel shuffle), pre-trained with jitter sigma 0.1 "
        "instead of 1 (on raw values, sigma 1 exceeds the accelerometer's spread, std "
        "0.5-0.75 g; gyroscope std 100-125 deg/s)"),
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
        "the row before stop 7: no augmentation, MLP 256-128 classifier (the row now has the "
        "authors' skeleton augmentation and a linear classifier)"),
    "supervised_multimodal_mlp": (
        "multimodal supervised", "variants/supervised_multimodal_mlp.yaml", [], {},
        "the row before stop 7: no augmentation, MLP 256-128 after the fusion, LR patience 10 "
        "(the row now: skeleton augmentation, linear layer, patience 5)"),
    "supervised_inertial_k3_mlp": (
        "inertial supervised", "variants/supervised_inertial_k3_mlp.yaml", [], {},
        "the row before stop 7: kernel 3, MLP 256-128 classifier (the row now: kernel 5 and "
        "a linear classifier, as the authors' unimodal config)"),
}


def variant_overrides(name: str, table1_runs: Path) -> list[str]:
    _, _, overrides, reused, _ = VARIANTS[name]
    encoders = [f"finetune.encoders.{modality}="
                f"{table1_runs / f'{stem}-seed0' / 'encoders' / f'{modality}.keras'}"
                for modality, stem in reused.items()]
    return ["runtime.verbose=2", *overrides, *encoders]


def _metrics(run_dir: Path) -> dict | None:
    path = run_dir / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else None


def run_all(dataset: str, runs_dir: Path, table1_runs: Path, only: list[str] | None
            ) -> pd.DataFrame:
    rows = []
    for name, (row, config, _, _, change) in VARIANTS.items():
        if only and name not in only:
            continue
        base_dir = table1_runs / f"{ROWS[dataset][row][0]}-seed0"
        base = _metrics(base_dir)
        if base is None:
            print(f"[variants] {name}: skipped, its Table 1 run {base_dir} has no results yet",
                  flush=True)
            continue
        run_dir = runs_dir / f"{name}-seed0"
        print(f"[variants] {name}: {run_dir}", flush=True)
        metrics = train(config_path(dataset, config.removesuffix(".yaml")), run_dir,
                        variant_overrides(name, table1_runs), runs_dir / f"{name}-seed0.log")
        base_val = best_val_accuracy(base_dir, base)
        rows.append({
            "variant": name, "row": row, "change": change,
            "val_accuracy": round(100 * best_val_accuracy(run_dir, metrics), 2),
            "row_val_accuracy": round(100 * base_val, 2) if base_val is not None else None,
            "test_accuracy": round(100 * metrics["accuracy"], 2),
            "row_test_accuracy": round(100 * base["accuracy"], 2),
            "wall_time_s": round(metrics.get("wall_time_s", float("nan")), 1),
            "run_dir": str(run_dir),
        })
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, dataset: str) -> str:
    lines = [f"# Variants of Table 1 rows on {dataset} (seed 0, accuracy %)", "",
             "Chosen on the validation subject; test shown for reference only.", "",
             "| variant | row | change | val | row val | test | row test |",
             "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.variant} | {r.row} | {r.change} | {r.val_accuracy:.2f} "
                     f"| {r.row_val_accuracy:.2f} | {r.test_accuracy:.2f} "
                     f"| {r.row_test_accuracy:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.variants",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="utd_mhad", choices=sorted(ROWS))
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(VARIANTS))
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/variants"))
    parser.add_argument("--table1-runs", type=Path, default=Path("runs/table1"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or default_out(args.dataset)
    table = run_all(args.dataset, args.runs_dir, args.table1_runs, args.only)
    if table.empty:
        print("[variants] nothing to report: no Table 1 seed-0 runs found in "
              f"{args.table1_runs}")
        return 0
    write_atomic(out / "variants.csv", table.to_csv(index=False))
    write_atomic(out / "variants.md", markdown(table, args.dataset))
    print(markdown(table, args.dataset))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
