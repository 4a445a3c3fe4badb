"""Run directories and every other folder tfhar writes: paths, ownership, locks, stage markers.

The one module that deletes anything, and only folders tfhar wrote: each holds a marker file
`.tfhar.json` naming its kind ("run", "export", "tune", ...). A folder without it, a symbolic
link or a file is never deleted or replaced: the caller gets an `OwnershipError` naming it.

A run directory:
```
.tfhar.json          marker: {"kind": "run", "tfhar": version, "created": time}
.tfhar.lock          held (flock) by the process training into it
config.yaml          resolved config
checkpoints/         BackupAndRestore state per stage, best weights, <stage>.done markers,
                     wall_times.json (seconds per stage, summed over every process)
encoders/            pre-trained encoders (.keras)
logs/                TensorBoard logs and per-stage CSV histories
model/               the final model's parts
history.csv, metrics.json, per_class_f1.csv, confusion_matrix.png, embedding_*.png
```

Multi-worker runs (`runtime.strategy: multi_worker`, the cluster in TF_CONFIG): every worker runs
the same program, and only the chief writes the run directory. Another worker writes the same
files into a temporary folder of its own (`WorkerRunDirectory`), deleted when it finishes, as
TensorFlow's multi-worker guide does; it starts from the chief's state (a copy of its
checkpoints and encoders), so the run directory must be on storage every worker reads.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tfhar.files import read_json, write_json, write_text

MARKER = ".tfhar.json"
LOCK = ".tfhar.lock"


class OwnershipError(ValueError):
    """A folder tfhar would delete, replace or write into is not one tfhar wrote."""


class RunDirError(ValueError):
    """The run directory cannot be used: another config, another process, a file."""


def marker_kind(folder: Path) -> str | None:
    """The kind recorded in `folder`'s tfhar marker, or None when it has none."""
    marker = read_json(Path(folder) / MARKER)
    return str(marker.get("kind")) if marker and "kind" in marker else None


def write_marker(folder: Path, kind: str) -> None:
    """Mark `folder` as written by tfhar (kind: "run", "export", "tune", ...)."""
    from tfhar import __version__

    write_json(Path(folder) / MARKER, {
        "kind": kind, "tfhar": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")})


def check_replaceable(folder: Path, kind: str, what: str,
                      legacy: Callable[[Path], bool] | None = None, ignore: tuple[str, ...] = ()
                      ) -> None:
    """Raise OwnershipError unless tfhar may delete or replace `folder` (absent is fine).

    Allowed: a real folder (not a symbolic link) holding tfhar's marker of `kind` (or, for
    folders written before markers existed, one that `legacy` recognises), or a folder empty
    but for the names in `ignore`.
    """
    folder = Path(folder)
    if folder.is_symlink():
        raise OwnershipError(f"{what} {str(folder)!r} is a symbolic link; tfhar never deletes "
                             "through a link: choose another folder")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OwnershipError(f"{what} {str(folder)!r} is a file, not a folder tfhar wrote; "
                             "choose another folder")
    if marker_kind(folder) == kind or (legacy is not None and legacy(folder)):
        return
    if any(child.name not in ignore for child in folder.iterdir()):
        raise OwnershipError(
            f"{what} {str(folder)!r} holds files tfhar did not write (no {MARKER} of kind "
            f"{kind!r}); tfhar deletes only folders it wrote: choose another folder or empty it "
            "yourself")


def remove_folder(folder: Path, kind: str, what: str,
                  legacy: Callable[[Path], bool] | None = None, keep: tuple[str, ...] = ()
                  ) -> None:
    """Delete `folder` (or all of it but the names in `keep`) after `check_replaceable`."""
    check_replaceable(folder, kind, what, legacy, ignore=keep)
    folder = Path(folder)
    if not folder.exists():
        return
    if not keep:
        shutil.rmtree(folder)  # rmtree deletes links inside, never what they point to.
        return
    for child in folder.iterdir():
        if child.name not in keep:
            _remove(child)


def _remove(entry: Path) -> None:
    """Delete a file, a link (never what it points to) or a folder with all it holds."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


def replace_folder(new: Path, folder: Path, kind: str, what: str,
                   legacy: Callable[[Path], bool] | None = None) -> None:
    """Move the finished folder `new` to `folder`; a previous `folder` (checked as ours) goes
    only after `new` is in place, so an interruption leaves one complete version."""
    check_replaceable(folder, kind, what, legacy)
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.replace(folder, old)
    os.replace(new, folder)
    if old is not None:
        shutil.rmtree(old)


@contextlib.contextmanager
def scratch_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A new, uniquely named folder in `parent` for the block's work, deleted afterwards
    (whatever is left in it: it was made here, so it holds nothing but tfhar's files)."""

    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield folder
    finally:
        if folder.exists():
            shutil.rmtree(folder)


class RunDirectory:
    """The folder of one `tfhar.train` run: its paths, marker, lock and stage records."""

    KIND = "run"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock_file = None

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    # Paths.
    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    def encoder_path(self, modality: str) -> Path:
        """encoders/<modality>.keras: a pre-trained encoder other runs may load."""
        return self.path / "encoders" / f"{modality}.keras"

    def model_path(self, part: str) -> Path:
        """model/<part>.keras: a part of the final model (<modality>_encoder, classifier)."""
        return self.path / "model" / f"{part}.keras"

    def stage_history(self, stage: str) -> Path:
        return self.logs / f"history_{stage}.csv"

    # Ownership.
    def is_owned(self) -> bool:
        """Whether tfhar wrote this folder as a run directory (marker and config.yaml)."""
        return marker_kind(self.path) == self.KIND and self.config_path.is_file()

    @staticmethod
    def _legacy(folder: Path) -> bool:
        """A run directory written before markers existed: checkpoints/, logs/ and a
        config.yaml that loads as a tfhar config."""
        from tfhar.config import ConfigError, load_config

        if not ((folder / "checkpoints").is_dir() and (folder / "logs").is_dir()):
            return False
        try:
            load_config(folder / "config.yaml")
        except ConfigError:
            return False
        return True

    def check_usable(self, matches: Callable[[Path], bool], overwrite: bool) -> bool:
        """True to resume (it holds this config), False to start afresh; RunDirError or
        OwnershipError when it holds something else. Reads only: nothing is written."""
        path = self.path
        if path.is_symlink() and overwrite:
            raise OwnershipError(f"run directory {str(path)!r} is a symbolic link; tfhar never "
                                 "deletes through a link: choose another --run-dir")
        if path.exists() and not path.is_dir():
            raise RunDirError(f"run directory {str(path)!r} is a file; choose another --run-dir")
        if self.config_path.is_file() and (self.is_owned() or self._legacy(path)):
            if matches(self.config_path):
                return True
            if not overwrite:
                raise RunDirError(f"run directory {str(path)!r} holds a different config; "
                                  "choose another --run-dir or pass --overwrite to replace it")
        if overwrite:
            check_replaceable(path, self.KIND, "run directory", self._legacy, ignore=(LOCK,))
        elif path.exists() and any(p.name != LOCK for p in path.iterdir()):
            raise RunDirError(f"run directory {str(path)!r} is not empty and holds no tfhar run; "
                              "choose another --run-dir")
        return False

    def create(self, config_text: str, matches: Callable[[Path], bool], overwrite: bool) -> bool:
        """Lock the folder, decide again under the lock whether to resume (`check_usable`),
        empty it unless resuming (only if it is ours), write the marker and config.yaml.
        Returns whether it resumes. Raises RunDirError when another process holds the lock
        (nothing is written then) and what `check_usable` raises."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock()
        try:
            resume = self.check_usable(matches, overwrite)
        except (RunDirError, OwnershipError):
            self.unlock()
            raise
        if not resume:
            remove_folder(self.path, self.KIND, "run directory", self._legacy, keep=(LOCK,))
        for sub in ("checkpoints", "encoders", "logs"):
            (self.path / sub).mkdir(exist_ok=True)
        if marker_kind(self.path) != self.KIND:
            write_marker(self.path, self.KIND)
        write_text(self.config_path, config_text)
        return resume

    def check_refit(self, same_pretraining: Callable[[Path], bool]) -> None:
        """RunDirError unless `refit` may keep this run's pre-training: a run of tfhar's with
        pre-trained encoders whose saved config satisfies `same_pretraining`. Reads only."""
        path = self.path
        if path.is_symlink():
            raise OwnershipError(f"run directory {str(path)!r} is a symbolic link; tfhar never "
                                 "deletes through a link: choose another --run-dir")
        if not (path.is_dir() and self.config_path.is_file() and self.is_owned()):
            raise RunDirError(f"run directory {str(path)!r} holds no tfhar run to refit")
        if not same_pretraining(self.config_path):
            raise RunDirError(f"run directory {str(path)!r} was pre-trained with other "
                              "settings than this config's: --refit keeps a pre-training only "
                              "for the same one (pass --overwrite to replace the run)")
        if not any((path / "encoders").glob("*.keras")):
            raise RunDirError(f"run directory {str(path)!r} holds no pre-trained encoders to "
                              "keep (a supervised run, or one whose pre-training never saved)")

    def refit(self, config_text: str, same_pretraining: Callable[[Path], bool]) -> None:
        """Keep the run's pre-training and start everything after it afresh, for a config
        whose pre-training is the saved one's (`same_pretraining(config.yaml)`, e.g. the same
        `pretraining_hash`) but whose fine-tuning differs. Kept: encoders/, the pre-training
        stages' logs, backups and wall times; removed: every other file of the run (the run
        resumes at fine-tuning). Raises RunDirError (nothing written) when the folder holds no
        finished tfhar pre-training of that config or another process holds it."""
        path = self.path
        self.lock()
        try:
            self.check_refit(same_pretraining)
        except RunDirError:
            self.unlock()
            raise
        pretraining = ("pretrain", "history_pretrain")
        for child in path.iterdir():
            if child.name not in (MARKER, LOCK, "encoders", "checkpoints", "logs"):
                _remove(child)
        for folder in (self.checkpoints, self.logs):
            for child in list(folder.iterdir()) if folder.is_dir() else []:
                if not (child.name.startswith(pretraining) or child.name == "wall_times.json"):
                    _remove(child)
        times = {k: v for k, v in self.wall_times().items() if k.startswith("pretrain")}
        write_json(self.checkpoints / "wall_times.json", times)
        write_text(self.config_path, config_text)

    # One process at a time.
    def lock(self) -> None:
        """Hold an exclusive lock on the folder until `unlock` or the process ends."""
        if self._lock_file is not None:
            return
        handle = open(self.path / LOCK, "a+")  # noqa: SIM115 (held open while training)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # The holder writes its name right after it locks: wait a moment for it.
            holder = ""
            for _ in range(20):
                handle.seek(0)
                holder = handle.read().strip()
                if holder:
                    break
                time.sleep(0.05)
            handle.close()
            holder = holder or "another process"
            raise RunDirError(f"run directory {str(self.path)!r} is in use by {holder}; wait "
                              "for it to finish or choose another --run-dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {os.uname().nodename}")
        handle.flush()
        self._lock_file = handle

    def unlock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[RunDirectory]:
        self.lock()
        try:
            yield self
        finally:
            self.unlock()

    # Stage records.
    def stage_record(self, stage: str) -> dict | None:
        """What a finished stage recorded (e.g. its tested epoch), or None if unfinished."""
        return read_json(self.checkpoints / f"{stage}.done")

    def finish_stage(self, stage: str, **record: object) -> None:
        write_json(self.checkpoints / f"{stage}.done", record)

    def add_wall_time(self, stage: str, seconds: float) -> None:
        """Add `seconds` to the stage's wall time, summed over every process that ran it."""
        path = self.checkpoints / "wall_times.json"
        times = read_json(path) or {}
        times[stage] = float(times.get(stage, 0.0)) + float(seconds)
        write_json(path, times)

    def wall_times(self) -> dict[str, float]:
        return {k: float(v) for k, v in (read_json(self.checkpoints / "wall_times.json")
                                         or {}).items()}
