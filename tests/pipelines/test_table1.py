"""pipelines.table1: finished runs are reused, tables are computed from the runs' metrics."""

import json

import pandas as pd
import pytest

from pipelines import table1
from pipelines.common import config_path


def fake_runs(runs_dir, seeds, accuracy_of):
    for model, (stem, _, _) in table1.ROWS["utd_mhad"].items():
        for seed in range(seeds):
            run_dir = runs_dir / f"{stem}-seed{seed}"
            run_dir.mkdir(parents=True)
            (run_dir / "metrics.json").write_text(json.dumps({
                "accuracy": accuracy_of(model, seed), "macro_f1": 0.5,
                "num_test_samples": 430, "wall_time_s": 10.0}))


def record_training(monkeypatch, run_dir):
    """subprocess.run replaced by a fake training that writes metrics; returns its commands."""
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        (run_dir / "metrics.json").write_text(json.dumps({"accuracy": 0.9}))
        return type("Result", (), {"returncode": 0})()

    monkeypatch.setattr("subprocess.run", fake_run)
    return calls


def test_existing_runs_are_summarised_without_training(tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was started again")

    monkeypatch.setattr("subprocess.run", no_training)
    fake_runs(tmp_path / "runs", 3, lambda model, seed: 0.80 + 0.01 * seed)
    out = tmp_path / "out"
    assert table1.main(["--seeds", "3", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(out)]) == 0
    table = pd.read_csv(out / "table1.csv")
    assert list(table.columns) == ["model", "seeds", "mean_accuracy", "std_accuracy", "paper",
                                   "authors_code", "wall_time_s"]
    assert set(table.model) == set(table1.ROWS["utd_mhad"])
    assert table.seeds.tolist() == [3] * 7
    assert table.mean_accuracy.tolist() == pytest.approx([81.0] * 7)
    assert table.std_accuracy.tolist() == pytest.approx([1.0] * 7)
    cmc = table[table.model == "cmc"].iloc[0]
    assert (cmc.paper, cmc.authors_code, cmc.wall_time_s) == (93.82, 96.04, 30.0)
    runs = pd.read_csv(out / "table1_runs.csv")
    assert len(runs) == 21
    assert "| cmc | 3 | 81.00 +- 1.00 | 93.82 | -12.82 | 96.04 |" in (out / "table1.md").read_text()


def test_fusion_reuses_the_simclr_encoders_of_its_seed(tmp_path):
    overrides = table1.row_overrides("simclr fusion", tmp_path, 2)
    assert "runtime.seed=2" in overrides
    assert (f"finetune.encoders.inertial={tmp_path}/simclr_inertial-seed2/encoders/inertial.keras"
            in overrides)
    assert (f"finetune.encoders.skeleton={tmp_path}/simclr_skeleton-seed2/encoders/skeleton.keras"
            in overrides)


def test_runs_table_has_the_validation_accuracy(tmp_path, monkeypatch):
    monkeypatch.setattr("subprocess.run", None)
    fake_runs(tmp_path / "runs", 1, lambda model, seed: 0.8)
    with_value = tmp_path / "runs" / "cmc-seed0" / "metrics.json"
    with_value.write_text(json.dumps({**json.loads(with_value.read_text()), "val_accuracy": 0.9}))
    # An older run without the value in metrics.json: read from its history.csv.
    pd.DataFrame({"stage": ["finetune", "finetune", "pretrain_cmc"],
                  "val_accuracy": [0.5, 0.75, None]}).to_csv(
        tmp_path / "runs" / "supervised_skeleton-seed0" / "history.csv", index=False)
    out = tmp_path / "out"
    assert table1.main(["--seeds", "1", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(out)]) == 0
    runs = pd.read_csv(out / "table1_runs.csv").set_index("model")
    assert runs.loc["cmc", "val_accuracy"] == pytest.approx(90.0)
    assert runs.loc["skeleton supervised", "val_accuracy"] == pytest.approx(75.0)
    assert runs["val_accuracy"].isna().sum() == 5


def test_a_run_of_a_changed_config_is_trained_again(tmp_path, monkeypatch):
    from tfhar.config import dump_config, load_config

    config = config_path("utd_mhad", "cmc")
    run_dir = tmp_path / "cmc-seed0"
    run_dir.mkdir()
    (run_dir / "metrics.json").write_text(json.dumps({"accuracy": 0.5}))
    calls = record_training(monkeypatch, run_dir)
    log = tmp_path / "log"
    same = load_config(config, ["runtime.verbose=2"])
    (run_dir / "config.yaml").write_text(dump_config(same))
    assert table1.train(config, run_dir, ["runtime.verbose=2"], log)["accuracy"] == 0.5
    assert calls == []  # Same config: reused.
    changed = load_config(config, ["runtime.verbose=2", "pretrain.epochs=3"])
    (run_dir / "config.yaml").write_text(dump_config(changed))
    assert table1.train(config, run_dir, ["runtime.verbose=2"], log)["accuracy"] == 0.9
    assert "--overwrite" in calls[0]


def test_existing_only_tabulates_finished_runs_without_training(tmp_path, monkeypatch):
    monkeypatch.setattr("subprocess.run", None)  # Any training attempt fails.
    fake_runs(tmp_path / "runs", 1, lambda model, seed: 0.8)
    (tmp_path / "runs" / "cmc-seed1").mkdir()
    (tmp_path / "runs" / "cmc-seed1" / "metrics.json").write_text(json.dumps({
        "accuracy": 0.9, "macro_f1": 0.5, "num_test_samples": 430, "wall_time_s": 10.0}))
    out = tmp_path / "out"
    assert table1.main(["--seeds", "3", "--existing-only", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(out)]) == 0
    table = pd.read_csv(out / "table1.csv").set_index("model")
    assert table.loc["cmc", "seeds"] == 2 and table.loc["cmc", "mean_accuracy"] == 85.0
    assert table.loc["inertial supervised", "seeds"] == 1
    assert table1.main(["--existing-only", "--runs-dir", str(tmp_path / "none"),
                        "--out", str(out)]) == 2


def test_an_interrupted_run_resumes_unless_its_config_changed(tmp_path, monkeypatch):
    from tfhar.config import dump_config, load_config

    config = config_path("utd_mhad", "cmc")
    run_dir = tmp_path / "cmc-seed0"
    run_dir.mkdir()
    calls = record_training(monkeypatch, run_dir)
    log = tmp_path / "log"
    # Interrupted (config.yaml, no metrics.json) with the same config: resumed in place.
    (run_dir / "config.yaml").write_text(dump_config(load_config(config, ["runtime.verbose=2"])))
    table1.train(config, run_dir, ["runtime.verbose=2"], log)
    assert "--overwrite" not in calls[-1]
    # Interrupted with another config: replaced (tfhar.train would refuse the directory).
    (run_dir / "metrics.json").unlink()
    changed = load_config(config, ["runtime.verbose=2", "pretrain.epochs=3"])
    (run_dir / "config.yaml").write_text(dump_config(changed))
    table1.train(config, run_dir, ["runtime.verbose=2"], log)
    assert "--overwrite" in calls[-1]
