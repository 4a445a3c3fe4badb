"""Keras callbacks of a training stage: schedule, logs, backup, best checkpoint, wall time.

All are Keras' own except two small ones: `TrackedCheckpoint` (Keras' ModelCheckpoint that also
records which epoch it kept, when it keeps it) and `StageTimer` (wall time summed over the
processes that ran a stage, as an interrupted run is resumed by another process).
"""

from __future__ import annotations

import time
from pathlib import Path

import keras

from tfhar.experiment.run_directory import RunDirectory
from tfhar.files import read_json, write_json


class TrackedCheckpoint(keras.callbacks.ModelCheckpoint):
    """Save-best-only weights (or, with `keep_last`, every epoch's: the last one is kept), and
    beside them `record` (JSON): the kept epoch (0-based, as in history.csv) and its logs. A
    resumed stage starts from the recorded best value."""

    def __init__(self, weights: Path, record: Path, monitor: str, mode: str,
                 keep_last: bool = False):
        previous = read_json(record) if Path(weights).is_file() else None
        super().__init__(str(weights), monitor=monitor, mode=mode, save_best_only=not keep_last,
                         save_weights_only=True, initial_value_threshold=(
                             previous or {}).get(monitor))
        self.record, self.keep_last = Path(record), keep_last

    def on_epoch_end(self, epoch, logs=None):
        before = self.best
        super().on_epoch_end(epoch, logs)
        if self.keep_last or self.best != before:
            write_json(self.record, {"epoch": int(epoch), **{
                k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}})


class StageTimer:
    """Adds a stage's wall time to the run directory as it goes (each epoch and at the end),
    so a stage interrupted and resumed by another process records the time of both."""

    def __init__(self, run_dir: RunDirectory, stage: str):
        self.run_dir, self.stage = run_dir, stage
        self.started = self.mark = time.perf_counter()

    def flush(self) -> float:
        """Record the time since the last flush; returns this process's time in the stage."""
        now = time.perf_counter()
        self.run_dir.add_wall_time(self.stage, now - self.mark)
        self.mark = now
        return now - self.started

    @property
    def callback(self) -> keras.callbacks.Callback:
        return keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: self.flush())


def stage_callbacks(run_dir: RunDirectory, stage: str, monitor: str, mode: str, patience: int,
                    factor: float, backup: bool, timer: StageTimer,
                    checkpoint: TrackedCheckpoint | None = None) -> list[keras.callbacks.Callback]:
    """Backup (with `backup`: an interrupted stage resumes from its last epoch; first, so it
    restores before the others), plateau schedule, best checkpoint, CSV and TensorBoard logs,
    wall time. The checkpoint precedes the CSV logger, so a logged epoch's weights are saved
    when it is the best. Without a backup an interrupted stage starts again: its log goes."""
    if not backup:
        run_dir.stage_history(stage).unlink(missing_ok=True)
    return [
        *([keras.callbacks.BackupAndRestore(str(run_dir.checkpoints / stage),
                                            double_checkpoint=True)] if backup else []),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=factor,
                                          patience=patience, verbose=0),
        *([checkpoint] if checkpoint is not None else []),
        keras.callbacks.CSVLogger(str(run_dir.stage_history(stage)), append=True),
        keras.callbacks.TensorBoard(str(run_dir.logs / stage), write_graph=False),
        timer.callback,
    ]
