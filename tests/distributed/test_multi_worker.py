"""Two worker processes on 127.0.0.1 under MultiWorkerMirroredStrategy (TF_CONFIG per worker):
they train as one process on the global batches, and a job whose worker is killed resumes."""

import time

import numpy as np
import pandas as pd
import pytest


def window_keys(windows: np.ndarray) -> list[bytes]:
    return [w.tobytes() for w in windows]


def test_two_workers_train_as_one_process_on_the_same_global_batches(
        cluster, worker_command, worker_module, normal_shards, tmp_path):
    import tensorflow as tf

    from tfhar.data.shards import read_shards

    out = tmp_path / "out"
    out.mkdir()
    processes = cluster.start([worker_command("steps", out, normal_shards)] * 2)
    assert cluster.wait(processes, timeout=180) == [0, 0], cluster.logs()
    workers = [np.load(out / f"worker{i}.npz") for i in range(2)]
    batches = [w["batches"] for w in workers]  # (steps, 2 views, 4, 20, 6) per worker.

    # Sharded by file: per epoch the workers read disjoint halves of the corpus, all of it.
    corpus = sorted(window_keys(read_shards(normal_shards)["inertial"]))
    steps = len(batches[0]) // worker_module.EPOCHS
    for epoch in range(worker_module.EPOCHS):
        seen = [window_keys(b[epoch * steps:(epoch + 1) * steps, 0].reshape(-1, 20, 6))
                for b in batches]
        assert not set(seen[0]) & set(seen[1])
        assert sorted(seen[0] + seen[1]) == corpus

    # Both end with the same weights, BatchNorm statistics included (synchronized).
    names = [k for k in workers[0].files if k.startswith("weight")]
    for name in names:
        np.testing.assert_array_equal(workers[0][name], workers[1][name])

    # One process on the global batches (both workers' local batches) matches them.
    model = worker_module.build_model(worker_module.tiny_config())
    initial = worker_module.part_weights(model)
    global_batches = np.concatenate(batches, axis=2)  # (steps, 2 views, 8, 20, 6)
    losses = []
    for epoch in range(worker_module.EPOCHS):
        views = global_batches[epoch * steps:(epoch + 1) * steps]
        dataset = tf.data.Dataset.from_tensor_slices((views[:, 0], views[:, 1]))
        losses += model.fit(dataset, epochs=1, verbose=0, shuffle=False).history["loss"]
    # Up to rounding, which a few steps magnify (as MirroredStrategy on one machine does).
    np.testing.assert_allclose(workers[0]["loss"], losses, rtol=1e-4)
    final = worker_module.part_weights(model)
    assert max(np.abs(f - i).max() for f, i in zip(final, initial, strict=True)) > 1e-2
    for name, single in zip(names, final, strict=True):
        np.testing.assert_allclose(workers[0][name], single, rtol=1e-4, atol=1e-5)


def wait_for_rows(path, rows: int, processes, timeout: float) -> None:
    """Until the CSV at `path` has `rows` data rows, or a process ended, or `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in processes):
        if path.is_file() and len(path.read_text().splitlines()) > rows:
            return
        time.sleep(0.05)


def test_a_job_whose_worker_was_killed_resumes_from_the_last_completed_epoch(
        cluster, worker_command, worker_module, synthetic_shards, tmp_path):
    epochs = worker_module.STAGE_EPOCHS
    run, out = tmp_path / "run", tmp_path / "out"
    out.mkdir()
    command = worker_command("stage", out, run, synthetic_shards)
    history = run / "logs" / "history_pretrain_simclr_inertial.csv"
    first = cluster.start([command, command])
    wait_for_rows(history, 1, first, timeout=120)
    first[1].kill()  # The worker dies mid-run...
    assert first[1].wait() == -9, cluster.logs()
    first[0].kill()  # ...and the job is restarted: every task, as a cluster manager does.
    first[0].wait()
    logged_before = pd.read_csv(history)
    assert 1 <= len(logged_before) < epochs, cluster.logs()
    assert not (run / "encoders" / "inertial.keras").exists()
    temporary = cluster.folder / "tmp"
    assert len(list(temporary.glob("tfhar-worker1-*"))) == 1  # What the killed worker wrote.

    second = cluster.start([command, command], attempt="_restart")
    assert cluster.wait(second, timeout=180) == [0, 0], cluster.logs()
    logged = pd.read_csv(history)
    resumed_at = logged["epoch"].iloc[len(logged_before)]
    assert 1 <= resumed_at <= len(logged_before) + 1  # Continued, not restarted at epoch 0.
    assert logged["epoch"].is_monotonic_increasing and logged["epoch"].is_unique
    assert logged["epoch"].iloc[-1] == epochs - 1
    assert (run / "encoders" / "inertial.keras").is_file()
    # Both workers restored the chief's backup and ended with the same weights.
    workers = [np.load(out / f"worker{i}.npz") for i in range(2)]
    for name in workers[0].files:
        np.testing.assert_array_equal(workers[0][name], workers[1][name])
    # Only the chief's run directory remains: worker 1 wrote to a temporary folder, removed
    # when it finished (and its killed predecessor's was replaced, not left behind).
    assert not list(temporary.glob("tfhar-*"))
    assert not list(run.rglob("*worker*"))


@pytest.mark.slow
def test_two_train_cli_workers_resume_after_a_kill(cluster, smoke_config, synthetic_shards,
                                                   tmp_path):
    """`python -m tfhar.train` on two workers end to end, killed once: slow (over a minute on
    2 cores: two TensorFlow processes, twice, through fine-tuning and test)."""
    import sys

    run = tmp_path / "run"
    command = [sys.executable, "-m", "tfhar.train", "--config", smoke_config("simclr_inertial"),
               "--run-dir", str(run), "--set", "runtime.strategy=multi_worker",
               "--set", f"pretrain.shards={synthetic_shards}", "--set", "pretrain.epochs=8",
               "--set", "data.window_length=20", "--set", "pretrain.batch_size=8",
               "--set", "pretrain.shuffle_buffer=16", "--set", "finetune.epochs=1",
               "--set", "data.options.samples_per_class_per_subject=2"]
    history = run / "logs" / "history_pretrain_simclr_inertial.csv"
    first = cluster.start([command, command])
    wait_for_rows(history, 1, first, timeout=240)
    for process in (first[1], first[0]):
        process.kill()
        process.wait()
    logged_before = pd.read_csv(history)
    second = cluster.start([command, command], attempt="_restart")
    assert cluster.wait(second, timeout=400) == [0, 0], cluster.logs()
    logged = pd.read_csv(history)
    assert logged["epoch"].iloc[len(logged_before)] >= 1
    assert logged["epoch"].iloc[-1] == 7
    assert (run / "metrics.json").is_file()
    assert not list((cluster.folder / "tmp").glob("tfhar-*"))
