"""The paper's semi-supervised scenario: few labels per class, 10 repeats, 95% intervals.

    python -m pipelines.semi_supervised --dataset utd_mhad
        [--fractions 0.01 0.05 0.1 0.25 0.5] [--repeats 10] [--out pipelines/results/utd_mhad]
        [--methods ...] [--set KEY=VALUE ...] [--existing-only]

Encoders are pre-trained on all (unlabelled) training data: the CMC and SimCLR encoders of the
Table 1 runs of seeds 0..--pretrain-seeds-1 (pre-trained here when absent); repeat r uses those
of seed r mod --pretrain-seeds, so the intervals cover pre-training's variation too. For each
label fraction and repeat, a different per-class subset of the labels
(`data.label_fraction_seed` = repeat) is used to fine-tune the SSL simple fusion and CMC
classifiers on the frozen encoders, to train the supervised multimodal model from scratch, and
to train a classifier on frozen randomly initialized encoders (their BatchNorm statistics
estimated on the training windows, `finetune.batch_norm_statistics: training_windows`). Every
run is a `python -m tfhar.train` run (in this process, so TensorFlow starts once); finished
runs are skipped (--existing-only: nothing is trained). Fractions that round to the same number
of windows per class draw the same subset for the same repeat; such a run is trained once and
counted at each of those fractions (wall time 0 at the others). Writes semi_supervised.csv
(every run, with its number of labelled windows), semi_supervised_summary.csv (mean and 95%
confidence interval) and semi_supervised.png into --out, a folder that is absent, empty or one
a pipeline wrote (marked by its .tfhar.json). """

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .common import (
    EXPECTED_ERRORS,
    PipelineError,
    check_out,
    checkpoint_rule_of,
    config_path,
    default_out,
    fail,
    finished,
    train,
    write_results,
)

METHODS = ("simclr fusion", "cmc", "multimodal supervised", "random frozen")
DATASETS = ["utd_mhad", "synthetic"]


def pretrained(dataset: str, table1_runs: Path, seeds: int
               ) -> list[dict[str, dict[str, Path]]]:
    """Encoders pre-trained on all training data with seeds 0..seeds-1 (the Table 1 runs of
    those seeds, trained here when absent); `encoder_paths` of each seed."""
    from .table1 import row_overrides

    for seed in range(seeds):
        for stem, row in (("cmc", "cmc"), ("simclr_inertial", "inertial simclr"),
                          ("simclr_skeleton", "skeleton simclr")):
            train(config_path(dataset, stem), table1_runs / f"{stem}-seed{seed}",
                  row_overrides(row, table1_runs, seed), table1_runs / f"{stem}-seed{seed}.log")
    return [encoder_paths(table1_runs, seed) for seed in range(seeds)]


def encoder_paths(table1_runs: Path, seed: int = 0) -> dict[str, dict[str, Path]]:
    """Where the pre-trained encoders of each SSL method are (the Table 1 runs of `seed`)."""
    return {
        "cmc": {m: table1_runs / f"cmc-seed{seed}" / "encoders" / f"{m}.keras"
                for m in ("inertial", "skeleton")},
        "simclr fusion": {m: table1_runs / f"simclr_{m}-seed{seed}" / "encoders" / f"{m}.keras"
                          for m in ("inertial", "skeleton")},
    }


def method_run(method: str, encoders: list[dict], fraction: float, repeat: int
               ) -> tuple[str, list[str]]:
    """(config stem, overrides) of one method on one labelled subset. Repeat r uses the
    encoders pre-trained with seed r mod len(encoders), so the repeats span pre-training's
    variation too; the random frozen baseline's random encoders take that seed likewise, and
    their BatchNorm statistics are estimated on the training windows (never estimated, they
    would handicap it)."""
    seed = repeat % len(encoders)
    overrides = [f"data.label_fraction={fraction}", f"data.label_fraction_seed={repeat}",
                 "runtime.verbose=0", "runtime.embedding_plot=false",
                 # Runs of minutes: backing up every epoch cost more than restarting one.
                 "runtime.backup=false"]
    if method in ("cmc", "simclr fusion"):
        stem = "cmc" if method == "cmc" else "simclr_fusion"
        overrides += [f"finetune.encoders.{m}={p}" for m, p in encoders[seed][method].items()]
        return stem, overrides
    if method == "random frozen":  # CMC with no pre-training: frozen random encoders.
        return "cmc", overrides + ["pretrain.epochs=0", f"runtime.seed={seed}",
                                   "finetune.batch_norm_statistics=training_windows"]
    return "supervised_multimodal", overrides


def labelled_subsets(config: Path, fractions: list[float], repeats: int
                     ) -> dict[tuple[float, int], np.ndarray]:
    """{(fraction, repeat): indices of the labelled training windows that run sees}."""
    from tfhar.config import load_config
    from tfhar.data import label_fraction_index
    from tfhar.experiment import load_splits

    labels = load_splits(load_config(config)).unlabeled.labels
    return {(f, r): label_fraction_index(labels, f, r) for f in fractions for r in range(repeats)}


def confidence_interval(values: np.ndarray) -> float:
    """Half-width of the 95% t-interval of the mean."""
    if len(values) < 2:
        return 0.0
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (method, fraction), group in runs.groupby(["method", "fraction"], sort=False):
        rows.append({"method": method, "fraction": fraction, "repeats": len(group),
                     "labelled": round(group.labelled.mean(), 1),
                     "mean_accuracy": group.accuracy.mean(),
                     "ci95": confidence_interval(group.accuracy.to_numpy())})
    return pd.DataFrame(rows)


def plot(summary: pd.DataFrame, path: Path, dataset: str) -> None:
    from tfhar.plots import plot_curves

    plot_curves(summary, path, title=f"{dataset}: accuracy vs labelled fraction "
                "(mean, 95% CI)")


def run_all(args: argparse.Namespace) -> pd.DataFrame:
    """Every run asked for (trained unless finished; --existing-only: the finished ones)."""
    subsets = labelled_subsets(config_path(args.dataset, "cmc"), args.fractions,
                               args.repeats)
    encoders = ([encoder_paths(args.table1_runs, s) for s in range(args.pretrain_seeds)]
                if args.existing_only
                else pretrained(args.dataset, args.table1_runs, args.pretrain_seeds))
    rows, seen = [], {}
    # Repeat by repeat, so an interrupted study has every fraction with fewer repeats.
    for repeat in range(args.repeats):
        for fraction in args.fractions:
            subset = subsets[fraction, repeat]
            for method in args.methods:
                # Fractions that round to the same windows per class (on UTD-MHAD 1%, 5% and
                # 10% are all one window per class) draw the same subset: the same run.
                key = (method, repeat, subset.tobytes())
                if key in seen:
                    rows.append({**seen[key], "fraction": fraction, "wall_time_s": 0.0})
                    print(f"[semi-supervised] {method:22s} p={fraction:<5g} repeat {repeat}: "
                          f"the windows of p={seen[key]['fraction']:g}, accuracy "
                          f"{rows[-1]['accuracy']:.2f}", flush=True)
                    continue
                stem, overrides = method_run(method, encoders, fraction, repeat)
                overrides += args.overrides
                name = f"{method.replace(' ', '_')}-p{fraction:g}-r{repeat}"
                run_dir = args.runs_dir / name
                config = config_path(args.dataset, stem)
                if args.existing_only:
                    if not finished(run_dir, config, overrides):
                        continue
                    metrics = json.loads((run_dir / "metrics.json").read_text())
                else:
                    metrics = train(config, run_dir, overrides, args.runs_dir / f"{name}.log",
                                    in_process=True)
                rows.append({"method": method, "fraction": fraction, "repeat": repeat,
                             "pretrain_seed": repeat % args.pretrain_seeds,
                             "labelled": len(subset),
                             "accuracy": 100 * metrics["accuracy"],
                             "macro_f1": 100 * metrics["macro_f1"],
                             "num_test_samples": metrics["num_test_samples"],
                             "wall_time_s": metrics.get("wall_time_s"),
                             "checkpoint_rule": checkpoint_rule_of(run_dir),
                             "run_dir": str(run_dir)})
                print(f"[semi-supervised] {method:22s} p={fraction:<5g} repeat {repeat}: "
                      f"accuracy {rows[-1]['accuracy']:.2f}", flush=True)
                seen[key] = rows[-1]
    if not rows:
        raise PipelineError(f"no finished runs in {str(args.runs_dir)!r}")
    return pd.DataFrame(rows).sort_values(["fraction", "repeat"], kind="stable",
                                          ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.semi_supervised",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="utd_mhad", choices=DATASETS,
                        help="configs/<dataset>/ holds the configs (synthetic: a smoke test)")
    parser.add_argument("--fractions", type=float, nargs="+",
                        default=[0.01, 0.05, 0.1, 0.25, 0.5])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--pretrain-seeds", type=int, default=3,
                        help="encoders pre-trained with seeds 0..N-1 (the Table 1 runs), "
                        "repeat r using seed r mod N (default 3)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default results/<dataset>): absent, empty or "
                             "written by a pipeline before")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/semi_supervised"))
    parser.add_argument("--table1-runs", type=Path, default=Path("runs/table1"))
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="config override for every fine-tuning / supervised run "
                             "(repeatable), e.g. finetune.epochs=50")
    parser.add_argument("--existing-only", action="store_true",
                        help="train nothing: tabulate the finished runs among those asked")
    args = parser.parse_args(argv)
    bad = [f for f in args.fractions if not 0 < f <= 1]
    if bad or args.repeats < 1 or args.pretrain_seeds < 1:
        parser.error(f"fractions must be in (0, 1], repeats and pretrain seeds >= 1, got "
                     f"{bad or (args.repeats, args.pretrain_seeds)}")
    out = args.out or default_out(args.dataset)
    try:
        check_out(out)  # Before any training: a folder of the user's is never written into.
        runs = run_all(args)
        summary = summarize(runs)
        write_results(out, {"semi_supervised.csv": runs.to_csv(index=False),
                            "semi_supervised_summary.csv": summary.to_csv(index=False)})
    except EXPECTED_ERRORS as error:
        return fail(error)
    plot(summary, out / "semi_supervised.png", args.dataset)
    print(summary.to_string(index=False))
    hours = runs.wall_time_s.sum() / 3600
    print(f"{len(runs)} results from {runs.run_dir.nunique()} runs, {hours:.2f} h of training "
          "(summed wall time of the runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
