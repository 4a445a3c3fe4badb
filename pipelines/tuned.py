"""A finished search's results, and its best config trained over seeds and tested once each.

    python -m pipelines.tuned --project tune/utd_mhad_simclr_inertial \
        --out pipelines/results/utd_mhad/tune_simclr_inertial --seeds 3 \
        [--set pretrain.epochs=300] [--runs-dir runs/tuned] [--existing-only]

Copies the search's trials.csv, search.png and best.yaml (the config chosen on the folds of
the training subjects) into --out, trains best.yaml (with the --set changes, e.g. the full
pre-training the search shortened) with seeds 0..N-1 through `python -m tfhar.train`, and
writes best_runs.csv (each seed's test and validation accuracy) and best.csv (the best
trial's cross-validated score beside the test accuracy over seeds). Finished runs are reused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from tfhar.experiment.run_directory import marker_kind
from tfhar.files import write_bytes

from .common import EXPECTED_ERRORS, PipelineError, check_out, fail, finished, train, write_results


def _project_files(project: Path) -> tuple[pd.DataFrame, str, bytes]:
    if marker_kind(project) != "tune" or not (project / "trials.csv").is_file():
        raise PipelineError(f"--project {str(project)!r} is not a finished tfhar-tune search "
                            "(no marker of kind 'tune' with trials.csv)")
    best = project / "best.yaml"
    if not best.is_file():
        raise PipelineError(f"{str(best)!r} not found: run tfhar-tune to the end first")
    figure = project / "search.png"
    return (pd.read_csv(project / "trials.csv"), best.read_text(),
            figure.read_bytes() if figure.is_file() else b"")


def run(project: Path, out: Path, seeds: int, overrides: list[str], runs_dir: Path,
        existing_only: bool) -> pd.DataFrame:
    trials, best_text, figure = _project_files(project)
    check_out(out)
    write_results(out, {"trials.csv": trials.to_csv(index=False), "best.yaml": best_text})
    if figure:
        write_bytes(out / "search.png", figure)
    rows = []
    for seed in range(seeds):
        run_dir = runs_dir / f"{project.name}-best-seed{seed}"
        changes = [*overrides, f"runtime.seed={seed}"]
        if existing_only and not finished(run_dir, out / "best.yaml", changes):
            continue
        metrics = train(out / "best.yaml", run_dir, changes, runs_dir / f"{run_dir.name}.log")
        rows.append({"seed": seed, "accuracy": 100 * metrics["accuracy"],
                     "macro_f1": 100 * metrics["macro_f1"],
                     "val_accuracy": 100 * metrics["val_accuracy"]
                     if metrics.get("val_accuracy") is not None else None,
                     "wall_time_s": metrics.get("wall_time_s"), "run_dir": str(run_dir)})
    runs = pd.DataFrame(rows)
    winner = trials.loc[trials.score.idxmax()]
    summary = pd.DataFrame([{
        "trial_id": winner.trial_id, "cv_score": 100 * winner.score,
        "cv_score_std": 100 * winner.score_std if not pd.isna(winner.score_std) else None,
        "trials": int(trials.score.notna().sum()), "seeds": len(runs),
        "test_mean": runs.accuracy.mean() if len(runs) else None,
        "test_std": runs.accuracy.std(ddof=1) if len(runs) > 1 else None,
        "changes": " ".join(overrides)}])
    files = {"best.csv": summary.to_csv(index=False)}
    if len(runs):
        files["best_runs.csv"] = runs.to_csv(index=False)
    write_results(out, files)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.tuned",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, required=True, help="a tfhar-tune project")
    parser.add_argument("--out", type=Path, required=True, help="results folder to write")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/tuned"))
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="change to best.yaml for the seeded runs")
    parser.add_argument("--existing-only", action="store_true",
                        help="train nothing: tabulate the finished runs")
    args = parser.parse_args(argv)
    if args.seeds < 0:
        parser.error(f"--seeds must be >= 0, got {args.seeds}")
    try:
        summary = run(args.project, args.out, args.seeds, args.overrides, args.runs_dir,
                      args.existing_only)
    except EXPECTED_ERRORS as error:
        return fail(error)
    print(summary.to_string(index=False))
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
