"""Helpers shared by the pipelines: run a training CLI unless its results exist, read them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def train(config: Path, run_dir: Path, overrides: list[str], log: Path) -> dict:
    """Run `python -m tfhar.train` into `run_dir` unless it finished before; its metrics."""
    metrics = run_dir / "metrics.json"
    if metrics.is_file():
        return json.loads(metrics.read_text())
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tfhar.train", "--config", str(config),
               "--run-dir", str(run_dir)]
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
