"""TF_CONFIG tasks and the folder a worker other than the chief writes (no TensorFlow)."""

import json

import pytest

from tfhar.experiment.run_directory import OwnershipError, RunDirectory, RunDirError
from tfhar.experiment.workers import ClusterTask, WorkerRunDirectory, cluster_task

WORKERS = ["10.0.0.1:2222", "10.0.0.2:2222"]


def tf_config(cluster: dict, kind: str, index: int) -> dict[str, str]:
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": kind,
                                                                  "index": index}})}


@pytest.mark.parametrize("cluster, kind, index, chief", [
    ({"worker": WORKERS}, "worker", 0, True),
    ({"worker": WORKERS}, "worker", 1, False),
    ({"chief": ["10.0.0.9:2222"], "worker": WORKERS}, "chief", 0, True),
    ({"chief": ["10.0.0.9:2222"], "worker": WORKERS}, "worker", 0, False),
    ({"worker": WORKERS, "ps": ["10.0.0.3:2222"]}, "worker", 0, True),
])
def test_the_chief_is_the_chief_task_or_worker_0_without_one(cluster, kind, index, chief):
    task = cluster_task(tf_config(cluster, kind, index))
    assert task.is_chief is chief
    assert (task.type, task.index) == (kind, index)


def test_no_tf_config_is_no_cluster():
    assert cluster_task({}) is None
    assert cluster_task({"TF_CONFIG": json.dumps({"task": {"type": "worker"}})}) is None


@pytest.mark.parametrize("environ, message", [
    ({"TF_CONFIG": "{not json"}, "not a cluster"),
    (tf_config({"worker": WORKERS, "ps": ["10.0.0.3:2222"]}, "ps", 0), "chief and worker"),
    (tf_config({"worker": WORKERS}, "evaluator", 0), "chief and worker"),
    (tf_config({"worker": WORKERS, "master": ["10.0.0.3:2222"]}, "worker", 0), "'master'"),
    (tf_config({"worker": WORKERS}, "worker", 2), "not in the cluster"),
])
def test_a_tf_config_tfhar_cannot_train_with_is_refused(environ, message):
    with pytest.raises(RunDirError, match=message):
        cluster_task(environ)


def matches(path) -> bool:
    return path.read_text() == "config A"


def chief_run(tmp_path) -> RunDirectory:
    chief = RunDirectory(tmp_path / "run")
    chief.create("config A", matches, overwrite=False)
    (chief.checkpoints / "pretrain_cmc").mkdir()
    (chief.checkpoints / "pretrain_cmc" / "training_metadata.json").write_text('{"epoch": 3}')
    (chief.checkpoints / "finetune.done").write_text("{}")
    chief.encoder_path("inertial").write_bytes(b"encoder")
    return chief


def test_a_worker_writes_only_its_temporary_folder_and_starts_from_the_chief(tmp_path):
    chief = chief_run(tmp_path)
    before = sorted(p.relative_to(chief.path) for p in chief.path.rglob("*"))
    worker = WorkerRunDirectory(chief.path, ClusterTask("worker", 1, 2, False), tmp_path / "tmp")
    assert worker.create("config A", matches, overwrite=False) is False
    for path in (worker.path, worker.checkpoints, worker.logs, worker.metrics_path,
                 worker.encoder_path("inertial"), worker.model_path("classifier")):
        assert path.is_relative_to(tmp_path / "tmp")
    worker.copy_from_chief()
    assert worker.stage_record("finetune") == {}
    assert (worker.checkpoints / "pretrain_cmc" / "training_metadata.json").is_file()
    assert worker.encoder_path("inertial").read_bytes() == b"encoder"
    worker.finish_stage("pretrain_cmc")
    worker.unlock()  # The worker is done: its folder goes.
    assert not worker.path.exists()
    assert sorted(p.relative_to(chief.path) for p in chief.path.rglob("*")) == before


def test_a_restarted_worker_replaces_what_its_killed_predecessor_left(tmp_path):
    chief = chief_run(tmp_path)
    task = ClusterTask("worker", 1, 2, False)
    killed = WorkerRunDirectory(chief.path, task, tmp_path / "tmp")
    killed.create("config A", matches, overwrite=False)
    (killed.logs / "stale.csv").write_text("old")
    killed._lock_file.close()  # What the OS does when a killed process held the lock.
    killed._lock_file = None
    again = WorkerRunDirectory(chief.path, task, tmp_path / "tmp")
    assert again.path == killed.path
    again.create("config A", matches, overwrite=False)
    assert not (again.logs / "stale.csv").exists()
    again.unlock()


def test_a_worker_that_cannot_see_the_run_directory_says_so(tmp_path):
    worker = WorkerRunDirectory(tmp_path / "elsewhere", ClusterTask("worker", 1, 2, False),
                                tmp_path / "tmp")
    worker.create("config A", matches, overwrite=False)
    with pytest.raises(RunDirError, match="cannot see the chief's run directory"):
        worker.copy_from_chief()
    chief = chief_run(tmp_path)
    other = WorkerRunDirectory(chief.path, ClusterTask("worker", 1, 2, False), tmp_path / "t2")
    other.create("config B", lambda path: path.read_text() == "config B", overwrite=False)
    with pytest.raises(RunDirError, match="holds another config"):
        other.copy_from_chief()
    worker.unlock()
    other.unlock()


def test_a_worker_folder_tfhar_did_not_write_is_never_deleted(tmp_path):
    task = ClusterTask("worker", 1, 2, False)
    worker = WorkerRunDirectory(tmp_path / "run", task, tmp_path / "tmp")
    worker.path.mkdir(parents=True)
    (worker.path / "yours.txt").write_text("keep")
    with pytest.raises(OwnershipError):
        worker.create("config A", matches, overwrite=False)
    assert (worker.path / "yours.txt").read_text() == "keep"
