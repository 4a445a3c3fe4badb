"""Helpers shared by the pipelines: the folders they may write, and `python -m tfhar.train`
run unless its results exist.

Folders are tfhar's or the user's: a pipeline writes its tables only into a results folder
that is absent, empty or marked as one (`.tfhar.json` of kind "results"), and counts, reuses
or trains into a run directory only when tfhar wrote it (`.tfhar.json` of kind "run" and its
config.yaml). Anything else stops the pipeline with a `PipelineError`, which its CLI prints
as one `error:` line (exit status 2) before writing anything.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

from tfhar.config import ConfigError
from tfhar.data.errors import DataError
from tfhar.experiment.run_directory import (
    LOCK,
    MARKER,
    OwnershipError,
    RunDirectory,
    RunDirError,
    check_replaceable,
    marker_kind,
    write_marker,
)
from tfhar.files import write_text

RESULTS = "results"  # The marker kind of a folder holding a pipeline's tables.


class PipelineError(ValueError):
    """A pipeline cannot go on: a folder tfhar did not write, a failed training run."""


# What a pipeline's CLI reports as one `error:` line and exit status 2 (anything else is a bug).
EXPECTED_ERRORS = (PipelineError, ConfigError, DataError, OwnershipError, RunDirError)


def fail(error: Exception) -> int:
    """Print `error` as one line on stderr; the exit status of a pipeline that stopped."""
    print(f"error: {error}", file=sys.stderr)
    return 2


def config_path(dataset: str, name: str) -> Path:
    """The shipped config configs/<dataset>/<name>.yaml (inside the package when installed)."""
    from tfhar.config import resolve_config_path

    return resolve_config_path(f"{dataset}/{name}")


def default_out(dataset: str) -> Path:
    """Where a pipeline writes its tables by default: results/<dataset> under the current
    directory (the repository's committed results are written with --out)."""
    return Path("results") / dataset


def check_out(out: Path) -> None:
    """Raise PipelineError unless the tables may be written into `out`: absent, empty, or a
    results folder a pipeline wrote (its marker), under a folder (not a file)."""
    if (out.is_dir() and not out.is_symlink() and marker_kind(out) != RESULTS
            and any(out.iterdir())):
        raise PipelineError(f"--out folder {str(out)!r} holds files tfhar did not write (no "
                            f"{MARKER} of kind {RESULTS!r}); the pipelines write their tables "
                            "only into a new or empty folder or one they wrote: choose "
                            "another --out")
    try:  # A link or a file.
        check_replaceable(out, RESULTS, "--out folder")
    except OwnershipError as error:
        raise PipelineError(str(error)) from None
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise PipelineError(f"--out folder {str(out)!r} cannot be made: {str(existing)!r} is a "
                            "file; choose another folder")


def write_results(out: Path, files: dict[str, str]) -> list[Path]:
    """Write {name: text} into the results folder `out` (checked again, made and marked when
    new), each file atomically; the paths written."""
    check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    if marker_kind(out) != RESULTS:
        write_marker(out, RESULTS)
    for name, text in files.items():
        write_text(out / name, text)
    return [out / name for name in files]


def same_config(run_dir: Path, config: Path, overrides: list[str]) -> bool:
    """Whether the run directory's resolved config.yaml is the config it would be run with
    (False without one). ConfigError when the config and overrides are not valid."""
    from tfhar.config import load_config, matches_saved

    saved = run_dir / "config.yaml"
    return saved.is_file() and matches_saved(saved, load_config(config, overrides))


def same_pretraining(run_dir: Path, config: Path, overrides: list[str]) -> bool:
    """Whether `tfhar.train --refit` would keep this run directory's pre-training for the
    config: it holds pre-trained encoders of the same `pretraining_hash`, and the config
    fine-tunes no given encoders (the check the CLI makes, `RunDirectory.check_refit`)."""
    from tfhar.config import load_config, own_pretraining_hash, pretraining_hash

    try:
        wanted = load_config(config, overrides)
    except ConfigError:
        return False
    if wanted.finetune.encoders:
        return False
    key = pretraining_hash(wanted)
    try:
        RunDirectory(run_dir).check_refit(lambda path: own_pretraining_hash(path) == key)
    except (OwnershipError, RunDirError):
        return False
    return True


def _not_ours(run_dir: Path) -> str:
    return (f"{str(run_dir)!r} is not a tfhar run directory (no {MARKER} of kind 'run' with its "
            "config.yaml)")


def finished(run_dir: Path, config: Path, overrides: list[str]) -> bool:
    """Whether `run_dir` holds tfhar's finished results of this config (for --existing-only).
    A folder tfhar did not write or a run of another config is reported and left alone."""
    if not (run_dir / "metrics.json").is_file():
        return False
    if not RunDirectory(run_dir).is_owned():
        print(f"  {_not_ours(run_dir)}: left out and left alone", flush=True)
        return False
    try:
        same = same_config(run_dir, config, overrides)
    except ConfigError as error:  # E.g. the encoders it would fine-tune are gone.
        print(f"  {run_dir}: its config does not load ({error}), left out", flush=True)
        return False
    if not same:
        print(f"  {run_dir}: results of another config than {config}, left out", flush=True)
    return same


def check_run_dir(run_dir: Path) -> None:
    """Raise PipelineError unless a pipeline may train into `run_dir`: absent, empty, or
    marked as a run directory by tfhar."""
    if run_dir.exists() and not run_dir.is_dir():
        raise PipelineError(f"{str(run_dir)!r} is a file, not a run directory: move it or "
                            "choose another --runs-dir")
    if (run_dir.is_dir() and marker_kind(run_dir) != RunDirectory.KIND
            and any(p.name != LOCK for p in run_dir.iterdir())):
        raise PipelineError(f"{_not_ours(run_dir)} and holds files: the pipeline never trains "
                            "into it nor counts it; move them or choose another --runs-dir")


def train(config: Path, run_dir: Path, overrides: list[str], log: Path,
          in_process: bool = False) -> dict:
    """Run `python -m tfhar.train` into `run_dir` unless it finished before; its metrics.

    A run (finished or interrupted) whose config differs from the one asked for (the config
    file changed since) is trained again from scratch, with a message, or only fine-tuned
    again when its pre-training is the one asked for (`same_pretraining`, `--refit`); a folder
    tfhar did not write stops the pipeline (PipelineError), as does a failed run.
    `in_process`: call the CLI in this process (TensorFlow starts once for many short runs).
    """
    check_run_dir(run_dir)
    metrics = run_dir / "metrics.json"
    # A run of the same config resumes (or is reused when finished); one of another config,
    # finished or not, is replaced.
    overwrite = run_dir.is_dir() and marker_kind(run_dir) == RunDirectory.KIND and not (
        same_config(run_dir, config, overrides))
    if metrics.is_file() and not overwrite:
        return json.loads(metrics.read_text())
    refit = overwrite and same_pretraining(run_dir, config, overrides)
    if overwrite:
        print(f"  {run_dir} holds a run of another config than {config} with "
              f"{overrides}: " + ("same pre-training, fine-tuning it again" if refit
                                  else "training it again"), flush=True)
    argv = ["--config", str(config), "--run-dir", str(run_dir)] + (
        ["--refit"] if refit else ["--overwrite"] if overwrite else [])
    for override in overrides:
        argv += ["--set", override]
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"  running tfhar.train {' '.join(argv)} (log: {log})", flush=True)
    status = _train_in_process(argv, log) if in_process else _train_subprocess(argv, log)
    if status != 0 or not metrics.is_file():
        raise PipelineError(f"training {str(run_dir)!r} failed (exit {status}): "
                            f"{_last_error(log)}; see {log}")
    return json.loads(metrics.read_text())


def _train_subprocess(argv: list[str], log: Path) -> int:
    with open(log, "a") as handle:
        return subprocess.run([sys.executable, "-m", "tfhar.train", *argv], stdout=handle,
                              stderr=subprocess.STDOUT, check=False).returncode


def _train_in_process(argv: list[str], log: Path) -> int:
    from tfhar.train import main  # noqa: I001  (tfhar before keras: it sets TF's environment)
    import keras

    keras.backend.clear_session()
    with (open(log, "a") as handle, contextlib.redirect_stdout(handle),
          contextlib.redirect_stderr(handle)):
        return main(argv)


def _last_error(log: Path) -> str:
    """The `error:` line tfhar.train printed last (else the log's last line)."""
    lines = log.read_text().strip().splitlines() if log.is_file() else []
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    return (errors or lines or ["(empty log)"])[-1]


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


def max_val_accuracy(run_dir: Path) -> float | None:
    """The highest validation accuracy (fraction) of any epoch of a run's classifier stage
    (`supervised` or `finetune`, history.csv): what the best checkpoint rule could reach on
    validation, a diagnostic (nothing is chosen by it). None without a history."""
    try:
        import pandas as pd

        history = pd.read_csv(run_dir / "history.csv")
        values = history[history.stage.isin(["supervised", "finetune"])]["val_accuracy"]
    except (FileNotFoundError, KeyError, ValueError):
        return None
    values = values.dropna()
    return float(values.max()) if not values.empty else None


def checkpoint_rule_of(run_dir: Path) -> str | None:
    """The checkpoint rule a run tested with (`finetune.monitor` resolved by
    `tfhar.config.checkpoint_rule`: val_loss, val_accuracy or last), from its config.yaml; None
    without a readable one."""
    import dataclasses

    from tfhar.config import Config, FinetuneConfig, checkpoint_rule, read_tree, trains_encoders

    try:
        tree = read_tree(run_dir / "config.yaml")
        # Only the fields that decide the rule: the whole may not load any more (an encoder
        # file given to fine-tune that is gone, a key of an older tfhar).
        section = tree.get("finetune") or {}
        config = dataclasses.replace(Config(), method=str(tree.get("method")), finetune=(
            dataclasses.replace(FinetuneConfig(),
                                monitor=str(section.get("monitor", "auto")),
                                trainable_encoders=bool(section.get("trainable_encoders")))))
    except (ConfigError, AttributeError):
        return None
    return checkpoint_rule(config.finetune.monitor, trains_encoders(config))
