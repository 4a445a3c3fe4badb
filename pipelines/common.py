"""Helpers shared by the pipelines: run a training CLI unless its results exist, read them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def config_path(dataset: str, name: str) -> Path:
    """The shipped config configs/<dataset>/<name>.yaml (inside the package when installed)."""
    from tfhar.config import resolve_config_path

    return resolve_config_path(f"{dataset}/{name}")


def default_out(dataset: str) -> Path:
    """Where a pipeline writes its tables by default: results/<dataset> under the current
    directory (the repository's committed results are written with --out)."""
    return Path("results") / dataset


def same_config(run_dir: Path, config: Path, overrides: list[str]) -> bool:
    """Whether the run directory's resolved config.yaml is the config it would be run with.

    Runs without a config.yaml (written by hand) count as the same.
    """
    from tfhar.config import ConfigError, load_config, matches_saved

    saved = run_dir / "config.yaml"
    if not saved.is_file():
        return True
    try:
        wanted = load_config(config, overrides)
    except ConfigError:
        return False
    return matches_saved(saved, wanted)


def finished(run_dir: Path, config: Path, overrides: list[str]) -> bool:
    """Whether `run_dir` holds finished results of this config (for --existing-only)."""
    if not (run_dir / "metrics.json").is_file():
        return False
    if not same_config(run_dir, config, overrides):
        print(f"  {run_dir}: results of another config than {config}, left out", flush=True)
        return False
    return True


def train(config: Path, run_dir: Path, overrides: list[str], log: Path) -> dict:
    """Run `python -m tfhar.train` into `run_dir` unless it finished before; its metrics.

    A run (finished or interrupted) whose config differs from the one asked for (the config
    file changed since) is trained again from scratch, with a message.
    """
    metrics = run_dir / "metrics.json"
    # A run of the same config resumes (or is reused when finished); one of another config,
    # finished or not, is replaced.
    overwrite = not same_config(run_dir, config, overrides)
    if metrics.is_file() and not overwrite:
        return json.loads(metrics.read_text())
    if overwrite:
        print(f"  {run_dir} holds a run of another config than {config} with "
              f"{overrides}: training it again", flush=True)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tfhar.train", "--config", str(config),
               "--run-dir", str(run_dir)] + (["--overwrite"] if overwrite else [])
    for override in overrides:
        command += ["--set", override]
    print(f"  running {' '.join(command[1:])} (log: {log})", flush=True)
    with open(log, "a") as handle:
        result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0 or not metrics.is_file():
        tail = log.read_text().strip().splitlines()[-1:] or ["(empty log)"]
        raise RuntimeError(f"training failed for {run_dir} (exit {result.returncode}): "
                           f"{tail[0]}; see {log}")
    return json.loads(metrics.read_text())


def best_val_accuracy(run_dir: Path, metrics: dict) -> float | None:
    """The validation accuracy (fraction) of the checkpoint a run tested, if it had one.

    From metrics.json, or for runs written before it held the value, the best `val_accuracy`
    of the classifier stage (`supervised` or `finetune`) in history.csv.
    """
    if metrics.get("val_accuracy") is not None:
        return float(metrics["val_accuracy"])
    try:
        import pandas as pd

        history = pd.read_csv(run_dir / "history.csv")
        chosen = history[history.stage.isin(["supervised", "finetune"])]
        values = chosen["val_accuracy"].dropna()
    except (FileNotFoundError, KeyError, ValueError):
        return None
    return float(values.max()) if not values.empty else None


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
