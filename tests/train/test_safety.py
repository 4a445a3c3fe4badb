"""`tfhar-train` never deletes what tfhar did not write, and one process trains a run at a time."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tfhar.config import dump_config, load_config
from tfhar.experiment.run_directory import RunDirectory


def user_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "thesis.tex").write_text("years of work")
    return path


def one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_overwrite_never_deletes_a_folder_of_the_users(smoke_config, tiny, train_cli, tmp_path,
                                                       capsys):
    folder = user_folder(tmp_path / "Documents")
    result = train_cli(folder, "--config", smoke_config("simclr_inertial"), *tiny, "--overwrite")
    assert result.code == 2 and result.stdout == ""
    assert str(folder) in one_error_line(capsys)
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


def test_overwrite_of_the_current_directory_is_refused(smoke_config, tiny, train_cli, tmp_path,
                                                       capsys, monkeypatch):
    folder = user_folder(tmp_path / "project")
    monkeypatch.chdir(folder)
    result = train_cli(Path("."), "--config", smoke_config("simclr_inertial"), *tiny,
                       "--overwrite")
    assert result.code == 2
    assert "did not write" in one_error_line(capsys)
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


def test_a_linked_run_directory_is_not_replaced(smoke_config, tiny, train_cli, tmp_path, capsys):
    target = user_folder(tmp_path / "target")
    link = tmp_path / "link"
    link.symlink_to(target)
    result = train_cli(link, "--config", smoke_config("simclr_inertial"), *tiny, "--overwrite")
    assert result.code == 2
    assert "symbolic link" in one_error_line(capsys)
    assert sorted(p.name for p in target.iterdir()) == ["thesis.tex"]


def test_a_run_directory_in_use_is_refused(copied_run, smoke_config, train_cli, capsys):
    run_dir = copied_run("simclr_inertial")
    holder = RunDirectory(run_dir)
    holder.lock()  # As another training process holds it.
    try:
        result = train_cli(run_dir, "--config", smoke_config("simclr_inertial"))
    finally:
        holder.unlock()
    assert result.code == 2 and result.stdout == ""
    error = one_error_line(capsys)
    assert str(run_dir) in error and f"process {os.getpid()}" in error


def test_two_processes_started_together_one_trains_one_is_refused(smoke_config, tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "tfhar.train", "--run-dir", str(run_dir),
               "--config", smoke_config("simclr_inertial"), "--set", "pretrain.epochs=4",
               "--set", "finetune.epochs=2", "--set", "runtime.verbose=0",
               "--set", "data.options.samples_per_class_per_subject=2"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert [line for line in refused.splitlines() if line.startswith("error: ")] == [
        next(line for line in refused.splitlines() if line.startswith("error: "))]
    assert "in use by process" in refused and str(run_dir) in refused
    history = (run_dir / "history.csv").read_text().splitlines()
    assert history[0].startswith("stage,") and not any(
        line.startswith("stage,") for line in history[1:])  # One header, no repeated epochs.
    assert len(history) == 1 + 4 + 2


def test_print_config_prints_every_default_and_writes_nothing(smoke_config, train_cli, tmp_path,
                                                              capsys):
    run_dir = tmp_path / "run"
    result = train_cli(run_dir, "--config", smoke_config("cmc"), "--set", "pretrain.epochs=3",
                       "--print-config")
    assert result.code == 0
    printed = yaml.safe_load(result.stdout)
    expected = load_config(smoke_config("cmc"), ["pretrain.epochs=3"])
    assert result.stdout == dump_config(expected)
    assert printed["pretrain"]["epochs"] == 3 and "lr_factor" in printed["pretrain"]
    assert not run_dir.exists()


def test_help_names_methods_shipped_configs_and_the_field_reference():
    result = subprocess.run([sys.executable, "-m", "tfhar.train", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    for word in ("supervised", "simclr_fusion", "cmc", "utd_mhad/cmc", "synthetic/cmc",
                 "docs/configuration.md", "--print-config"):
        assert word in result.stdout, word


def test_reporting_settings_never_block_a_resume(copied_run, smoke_config, train_cli):
    run_dir = copied_run("simclr_inertial")
    again = train_cli(run_dir, "--config", smoke_config("simclr_inertial"),
                      "--set", "runtime.verbose=0", "--set", "runtime.embedding_plot=false")
    assert again.code == 0 and again.stdout.startswith("resuming simclr")
    assert "Epoch " not in again.stdout
    assert load_config(run_dir / "config.yaml").runtime.verbose == 0


def test_a_shipped_config_runs_by_name(tiny, train_cli, tmp_path):
    run = train_cli(tmp_path / "run", "--config", "synthetic/simclr_inertial", *tiny)
    assert run.code == 0 and run.metrics["method"] == "simclr"
