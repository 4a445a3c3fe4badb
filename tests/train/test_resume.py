"""Resuming: a killed run continues from its last completed epoch; run directories are guarded."""

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

# The multimodal smoke config on inertial windows only: its skeleton and fusion sizes back to
# their defaults, as values a run never uses are refused.
INERTIAL_ONLY = ["--set", "data.modalities=[inertial]", "--set", "model.skeleton.output_dim=256",
                 "--set", "model.fusion_hidden_dim=256"]


def snapshot(folder: Path) -> dict[str, str]:
    """{relative path: content hash} of every file under `folder` (directories as "dir")."""
    return {str(path.relative_to(folder)): "dir" if path.is_dir()
            else hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*"))}


def test_killed_pretraining_resumes_from_its_last_completed_epoch(smoke_config, train_cli,
                                                                  tmp_path):
    run_dir = tmp_path / "run"
    epochs = 12
    arguments = ["--config", smoke_config("simclr_inertial"), "--set", f"pretrain.epochs={epochs}",
                 "--set", "finetune.epochs=1",
                 "--set", "data.options.samples_per_class_per_subject=2"]
    history = run_dir / "logs" / "history_pretrain_simclr_inertial.csv"
    with open(tmp_path / "first.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tfhar.train", "--run-dir", str(run_dir), *arguments],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        # Kill as soon as one pre-training epoch is logged (the header and one row) and its
        # wall time recorded.
        times = run_dir / "checkpoints" / "wall_times.json"
        while process.poll() is None and time.monotonic() < deadline and not (
                history.is_file() and len(history.read_text().splitlines()) >= 2
                and times.is_file()):
            time.sleep(0.05)
        process.kill()  # SIGKILL, and no signal at all once the process has been reaped.
        assert process.wait() == -signal.SIGKILL, (tmp_path / "first.log").read_text()[-3000:]
    logged_before = pd.read_csv(history)
    assert 1 <= len(logged_before) < epochs
    assert not (run_dir / "encoders" / "inertial.keras").exists()
    assert not (run_dir / "metrics.json").exists()
    first_seconds = json.loads(times.read_text())["pretrain_simclr_inertial"]
    assert first_seconds > 0

    # The same command again (in this process, which spares a TensorFlow import).
    second = train_cli(run_dir, *arguments)
    assert second.code == 0
    assert second.stdout.startswith("resuming simclr")
    logged = pd.read_csv(history)
    resumed_at = logged["epoch"].iloc[len(logged_before)]
    assert resumed_at >= 1  # Continued, not restarted at epoch 0.
    assert logged["epoch"].is_monotonic_increasing and logged["epoch"].is_unique
    assert logged["epoch"].iloc[-1] == epochs - 1
    # Keras counts the resumed epochs from where the backup left off too.
    shown = [int(k) for k in re.findall(rf"^Epoch (\d+)/{epochs}$", second.stdout, re.M)]
    assert shown[0] == resumed_at + 1
    assert (run_dir / "metrics.json").is_file()
    # The stage's wall time adds both processes' time, not only the second's.
    assert second.metrics["stage_wall_time_s"]["pretrain_simclr_inertial"] > first_seconds


def test_same_config_resumes_a_finished_run_without_training(copied_run, smoke_config,
                                                             smoke_run, train_cli, recwarn):
    run_dir = copied_run("supervised_multimodal")
    history = (run_dir / "history.csv").read_text()
    again = train_cli(run_dir, "--config", smoke_config("supervised_multimodal"))
    assert again.code == 0
    assert not [w for w in recwarn if "Skipping variable loading" in str(w.message)]
    assert again.stdout.startswith("resuming supervised")
    assert "Epoch " not in again.stdout  # Nothing trained again.
    assert (run_dir / "history.csv").read_text() == history
    original = smoke_run("supervised_multimodal").metrics
    assert again.metrics["accuracy"] == original["accuracy"]
    assert again.metrics["confusion_matrix"] == original["confusion_matrix"]


def test_resumed_fine_tuning_keeps_the_best_checkpoint_of_earlier_epochs(
        smoke_config, tiny_supervised, train_cli, tmp_path):
    run_dir = tmp_path / "run"
    # A rule that keeps a best checkpoint (auto tests a supervised model's last epoch).
    arguments = ["--config", smoke_config("supervised_multimodal"), *tiny_supervised,
                 *INERTIAL_ONLY, "--set", "finetune.monitor=val_accuracy"]
    assert train_cli(run_dir, *arguments).code == 0
    # As if the stage had been interrupted after an epoch with a perfect validation accuracy.
    (run_dir / "checkpoints" / "supervised.done").unlink()
    log = run_dir / "logs" / "history_supervised.csv"
    logged = pd.read_csv(log)
    record = run_dir / "checkpoints" / "supervised_best.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "val_accuracy": 1.0}))
    best = run_dir / "checkpoints" / "supervised_best.weights.h5"
    saved_at = best.stat().st_mtime_ns

    assert train_cli(run_dir, *arguments).code == 0
    assert len(pd.read_csv(log)) == len(logged) + 1  # It trained again...
    assert best.stat().st_mtime_ns == saved_at  # ...but no epoch beat the earlier best.


def test_a_run_directory_with_another_config_is_refused(copied_run, smoke_config, train_cli,
                                                        capsys):
    run_dir = copied_run("supervised_multimodal")
    before = snapshot(run_dir)
    refused = train_cli(run_dir, "--config", smoke_config("supervised_multimodal"),
                        "--set", "finetune.epochs=3")
    assert refused.code == 2
    assert refused.stdout == ""
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1
    assert error[0].startswith("error: ") and str(run_dir) in error[0]
    assert "different config" in error[0]
    assert snapshot(run_dir) == before


def test_a_non_empty_directory_without_a_config_is_refused(smoke_config, tmp_path, train_cli,
                                                           capsys):
    (tmp_path / "notes.txt").write_text("mine")
    refused = train_cli(tmp_path, "--config", smoke_config("cmc"))
    assert refused.code == 2
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and str(tmp_path) in error[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_overwrite_replaces_a_run_with_another_config(copied_run, smoke_config, tiny_supervised,
                                                      train_cli):
    run_dir = copied_run("supervised_multimodal")
    (run_dir / "stale.txt").write_text("from the old run")
    run = train_cli(run_dir, "--config", smoke_config("supervised_multimodal"),
                    *tiny_supervised,
                    *INERTIAL_ONLY, "--overwrite")
    assert run.code == 0
    assert run.metrics["modalities"] == ["inertial"]
    assert not (run_dir / "stale.txt").exists()
    assert len(pd.read_csv(run_dir / "history.csv")) == 1  # The old run's epochs are gone.


def test_without_backup_an_interrupted_fine_tuning_starts_again(smoke_config, tiny_supervised,
                                                                 train_cli, tmp_path):
    run_dir = tmp_path / "run"
    arguments = ["--config", smoke_config("supervised_multimodal"), *tiny_supervised,
                 *INERTIAL_ONLY, "--set", "finetune.epochs=2",
                 "--set", "runtime.backup=false"]
    assert train_cli(run_dir, *arguments).code == 0
    assert not (run_dir / "checkpoints" / "supervised").exists()  # No per-epoch backup.
    # As if the stage had been interrupted after an epoch with a perfect validation accuracy.
    (run_dir / "checkpoints" / "supervised.done").unlink()
    log = run_dir / "logs" / "history_supervised.csv"
    assert len(pd.read_csv(log)) == 2
    record = run_dir / "checkpoints" / "supervised_best.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "val_accuracy": 1.0}))
    best = run_dir / "checkpoints" / "supervised_best.weights.h5"
    saved_at = best.stat().st_mtime_ns

    again = train_cli(run_dir, *arguments)
    assert again.code == 0 and again.stdout.startswith("resuming supervised")
    relogged = pd.read_csv(log)  # Trained again from epoch 0; the stale epochs are gone.
    assert relogged["epoch"].tolist() == [0, 1]
    assert best.is_file() and best.stat().st_mtime_ns != saved_at  # Not the stale best.


def test_a_config_yaml_written_before_a_new_key_still_resumes(copied_run, smoke_config,
                                                              train_cli):
    run_dir = copied_run("supervised_multimodal")
    saved = run_dir / "config.yaml"
    lines = saved.read_text().splitlines(keepends=True)
    # `runtime.backup` was added later with its default: an older run directory lacks it.
    older = [line for line in lines if not line.strip().startswith("backup:")]
    assert len(older) == len(lines) - 1
    saved.write_text("".join(older))
    again = train_cli(run_dir, "--config", smoke_config("supervised_multimodal"))
    assert again.code == 0
    assert again.stdout.startswith("resuming supervised")
    assert "Epoch " not in again.stdout


def test_refit_keeps_the_pretraining_and_fine_tunes_again(smoke_config, tiny, train_cli,
                                                          tmp_path, capsys):
    run_dir = tmp_path / "run"
    arguments = ["--config", smoke_config("simclr_inertial"), *tiny]
    assert train_cli(run_dir, *arguments).code == 0
    encoder = run_dir / "encoders" / "inertial.keras"
    pretrained, first = encoder.read_bytes(), json.loads((run_dir / "metrics.json").read_text())
    pretraining_time = first["stage_wall_time_s"]["pretrain_simclr_inertial"]

    # Another pre-training: refused in one line, nothing touched.
    before = snapshot(run_dir)
    refused = train_cli(run_dir, *arguments, "--refit", "--set", "pretrain.temperature=0.5")
    assert refused.code == 2 and snapshot(run_dir) == before
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and "pre-trained with other settings" in error[0]

    # Other fine-tuning settings: the encoders are kept, only fine-tuning and testing run.
    run = train_cli(run_dir, *arguments, "--refit", "--set", "finetune.epochs=3",
                    "--set", "finetune.monitor=last")
    assert run.code == 0 and "done earlier" in run.stdout
    assert encoder.read_bytes() == pretrained
    assert run.metrics["checkpoint_epoch"] == 2
    assert run.metrics["stage_wall_time_s"]["pretrain_simclr_inertial"] == pretraining_time
    history = pd.read_csv(run_dir / "history.csv")
    assert (history.stage == "finetune").sum() == 3
    assert (history.stage == "pretrain_simclr_inertial").sum() > 0
    assert "epochs: 3" in (run_dir / "config.yaml").read_text()
    # The same config again just resumes (it finished): nothing is trained.
    again = train_cli(run_dir, *arguments, "--refit", "--set", "finetune.epochs=3",
                      "--set", "finetune.monitor=last")
    assert again.code == 0 and again.metrics == run.metrics
