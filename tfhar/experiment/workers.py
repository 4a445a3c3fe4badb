"""Multi-worker runs (tf.distribute.MultiWorkerMirroredStrategy): which task this process is
(from TF_CONFIG), and where a worker other than the chief writes: a temporary folder of its own,
never the run directory (TensorFlow's guide), started from the chief's state."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from tfhar.experiment.run_directory import RunDirectory, RunDirError, remove_folder


@dataclasses.dataclass(frozen=True)
class ClusterTask:
    """This process's task in a TF_CONFIG cluster: its type ("chief" or "worker"), its index,
    and the cluster's chief and worker counts."""

    type: str
    index: int
    num_workers: int  # Tasks of type "worker".
    has_chief: bool  # Whether the cluster has a task of type "chief".

    @property
    def is_chief(self) -> bool:
        """The chief task, or worker 0 of a cluster without one (TensorFlow's rule)."""
        return self.type == "chief" or (self.index == 0 and not self.has_chief)


def cluster_task(environ: Mapping[str, str] = os.environ) -> ClusterTask | None:
    """The task TF_CONFIG gives this process, or None without a TF_CONFIG cluster. RunDirError
    for a TF_CONFIG that is not JSON or makes this process a task other than chief or worker
    (TensorFlow's other cluster jobs, ps and evaluator, may be listed)."""
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
        cluster, task = config.get("cluster") or {}, config.get("task") or {}
        kind, index = str(task.get("type", "worker")), int(task.get("index", 0))
        counts = {job: len(cluster.get(job) or []) for job in ("chief", "worker")}
    except (ValueError, AttributeError, TypeError) as error:
        raise RunDirError(f"TF_CONFIG is not a cluster and a task in JSON ({error}); see "
                          "docs/distributed.md") from None
    if not cluster:
        return None
    if kind not in counts or set(cluster) - {*counts, "ps", "evaluator"}:
        raise RunDirError(f"TF_CONFIG: task type {kind!r} in a cluster of {sorted(cluster)}; "
                          "tfhar trains with MultiWorkerMirroredStrategy, whose training "
                          "tasks are chief and worker ones (no parameter servers or "
                          "evaluators run tfhar)")
    if not 0 <= index < counts[kind]:
        raise RunDirError(f"TF_CONFIG: task {kind} {index} is not in the cluster's "
                          f"{counts[kind]} {kind} address(es)")
    return ClusterTask(kind, index, counts["worker"], counts["chief"] > 0)


class WorkerRunDirectory(RunDirectory):
    """What a worker other than the chief writes: a temporary folder of its own, never the run
    directory, deleted by `unlock` when the worker finishes (TensorFlow's guide: non-chief
    workers save to temporary places, then remove them).

    The folder's name is fixed by the run directory and the task, so a worker restarted after
    a failure replaces the folder its killed predecessor left. `copy_from_chief` starts it from
    the chief's state: checkpoints (backups, finished-stage records, best weights) and encoders.
    """

    KIND = "worker"

    def __init__(self, run_path: str | os.PathLike, task: ClusterTask,
                 temporary_root: str | os.PathLike | None = None):
        self.chief = RunDirectory(run_path)
        digest = hashlib.sha256(str(Path(run_path).resolve()).encode()).hexdigest()[:12]
        root = Path(temporary_root or tempfile.gettempdir())
        super().__init__(root / f"tfhar-{task.type}{task.index}-{digest}")
        self._matches: Callable[[Path], bool] | None = None

    def __repr__(self) -> str:
        return f"WorkerRunDirectory({str(self.path)!r}, chief={str(self.chief.path)!r})"

    def check_usable(self, matches: Callable[[Path], bool], overwrite: bool) -> bool:
        """The chief decides about the run directory; a worker always starts a fresh folder."""
        return False

    def create(self, config_text: str, matches: Callable[[Path], bool], overwrite: bool) -> bool:
        """Lock the folder, replace what a killed predecessor left in it, write the marker and
        config; returns False (its state comes from the chief, `copy_from_chief`)."""
        self._matches = matches
        return super().create(config_text, matches, overwrite)

    def copy_from_chief(self) -> None:
        """Copy the chief's checkpoints/ and encoders/ here. RunDirError when the run directory
        does not hold this run's config (absent: not on storage this worker reads)."""
        config = self.chief.config_path
        if not config.is_file():
            raise RunDirError(f"this worker cannot see the chief's run directory "
                              f"{str(self.chief.path)!r}: every worker must read it (shared "
                              "storage, the same path) and run the same config")
        if self._matches is not None and not self._matches(config):
            raise RunDirError(f"the chief's run directory {str(self.chief.path)!r} holds "
                              "another config: every worker must run the same config")
        for sub in ("checkpoints", "encoders"):
            if (self.chief.path / sub).is_dir():
                shutil.copytree(self.chief.path / sub, self.path / sub, dirs_exist_ok=True)

    def unlock(self) -> None:
        """Release the folder and delete it: what a worker writes is temporary."""
        held = self._lock_file is not None
        super().unlock()
        if held:
            remove_folder(self.path, self.KIND, "worker folder")
