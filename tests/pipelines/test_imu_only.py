"""pipelines.imu_only: IMU-only classifiers on pre-trained inertial encoders against the
supervised IMU model, per seed; finished runs reused, folders of the user's refused."""

import pandas as pd
import pytest

from pipelines import imu_only, table1
from pipelines.common import config_path


@pytest.fixture
def finished(tmp_path, tfhar_run):
    """Every run of 2 seeds finished: Table 1's supervised IMU and CMC runs (with the CMC
    inertial encoder file) and the IMU-only runs on them."""
    table1_runs, runs_dir = tmp_path / "table1", tmp_path / "imu_only"
    for seed in range(2):
        tfhar_run(table1_runs / f"supervised_inertial-seed{seed}",
                  config_path("utd_mhad", "supervised_inertial"),
                  table1.row_overrides("inertial supervised", table1_runs, seed),
                  accuracy=0.70 + 0.02 * seed)
        cmc = tfhar_run(table1_runs / f"cmc-seed{seed}", config_path("utd_mhad", "cmc"),
                        table1.row_overrides("cmc", table1_runs, seed), accuracy=0.9)
        (cmc / "encoders").mkdir()
        encoder = cmc / "encoders" / "inertial.keras"
        encoder.write_bytes(b"")
        for mode, accuracy in (("frozen", 0.65), ("fine-tuned", 0.80)):
            tfhar_run(runs_dir / f"cmc-{mode}-seed{seed}",
                      config_path("utd_mhad", imu_only.CLASSIFIER_CONFIG),
                      imu_only.overrides(encoder, mode, seed), accuracy=accuracy,
                      val_accuracy=0.75)
    return table1_runs, runs_dir


def test_finished_runs_are_compared_seed_by_seed(tmp_path, finished, no_training):
    table1_runs, runs_dir = finished
    out = tmp_path / "out"
    assert imu_only.main(["--seeds", "2", "--pretrained", "cmc", "--table1-runs",
                          str(table1_runs), "--runs-dir", str(runs_dir), "--out", str(out)]) == 0
    runs = pd.read_csv(out / "imu_only.csv")
    assert len(runs) == 2 + 2 * 2
    summary = pd.read_csv(out / "imu_only_summary.csv").set_index("mode")
    assert summary.loc["trained", "mean_accuracy"] == pytest.approx(71.0)
    assert summary.loc["trained", "gain_over_supervised"] == pytest.approx(0.0)
    # Fine-tuned 80 against 70 and 72: +9 on average; frozen 65: -6.
    assert summary.loc["fine-tuned", "gain_over_supervised"] == pytest.approx(9.0)
    assert summary.loc["frozen", "gain_over_supervised"] == pytest.approx(-6.0)
    assert summary.loc["frozen", "mean_val_accuracy"] == pytest.approx(75.0)
    # Each run's checkpoint rule (finetune.monitor: last, the default), and the best
    # validation accuracy of any epoch from its history (one run's history written here; the
    # others have none).
    assert dict(zip(runs["mode"], runs.checkpoint_rule, strict=False)) == {
        "trained": "last", "frozen": "last", "fine-tuned": "last"}
    history = pd.DataFrame({"stage": ["pretrain_cmc", "finetune", "finetune"], "epoch": [0, 0, 1],
                            "val_accuracy": [None, 0.5, 0.625]})
    history.to_csv(runs_dir / "cmc-frozen-seed0" / "history.csv", index=False)
    assert imu_only.main(["--seeds", "2", "--pretrained", "cmc", "--table1-runs",
                          str(table1_runs), "--runs-dir", str(runs_dir), "--out", str(out)]) == 0
    runs = pd.read_csv(out / "imu_only.csv").set_index("run_dir")
    assert runs.loc[str(runs_dir / "cmc-frozen-seed0"), "max_val_accuracy"] == 62.5
    assert runs.max_val_accuracy.isna().sum() == len(runs) - 1


def test_a_folder_of_the_users_stops_it_before_training(tmp_path, finished, no_training, capsys):
    table1_runs, runs_dir = finished
    mine = runs_dir / "cmc-frozen-seed2"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert imu_only.main(["--seeds", "3", "--pretrained", "cmc", "--table1-runs",
                          str(table1_runs), "--runs-dir", str(runs_dir),
                          "--out", str(tmp_path / "out")]) == 2
    assert "cmc-frozen-seed2" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "mine"


def test_the_experiment_log_renders_the_comparison(tmp_path, finished, no_training):
    from pipelines import report

    table1_runs, runs_dir = finished
    out = tmp_path / "results" / "utd_mhad"
    assert imu_only.main(["--seeds", "2", "--pretrained", "cmc", "--table1-runs",
                          str(table1_runs), "--runs-dir", str(runs_dir), "--out", str(out)]) == 0
    text = report.render(tmp_path / "results", tmp_path)
    assert "| cmc | fine-tuned | 2 | 80.00 +- 0.00 | 75.00 | +9.00 |" in text


def test_the_transductive_row_reads_its_own_pretraining_on_every_subject(
        tmp_path, finished, tfhar_run, no_training):
    """cmc_transductive: CMC pre-trained with data.pretrain_subjects: all, in --runs-dir (not
    a Table 1 run), its IMU-only runs compared with the same supervised model."""
    from tfhar.config import load_config

    table1_runs, runs_dir = finished
    for seed in range(2):
        name = "cmc_transductive"
        pretraining = tfhar_run(
            imu_only.pretraining_dir(name, seed, runs_dir), config_path("utd_mhad", "cmc"),
            table1.row_overrides("cmc", table1_runs, seed, imu_only.TRANSDUCTIVE[name]),
            accuracy=0.9)
        assert load_config(pretraining / "config.yaml").data.pretrain_subjects == "all"
        (pretraining / "encoders").mkdir()
        encoder = pretraining / "encoders" / "inertial.keras"
        encoder.write_bytes(b"")
        for mode in imu_only.MODES:
            tfhar_run(runs_dir / imu_only.run_name(name, mode, seed),
                      config_path("utd_mhad", imu_only.CLASSIFIER_CONFIG),
                      imu_only.overrides(encoder, mode, seed), accuracy=0.76, val_accuracy=0.8)
    out = tmp_path / "out"
    assert imu_only.main(["--seeds", "2", "--pretrained", "cmc", "cmc_transductive",
                          "--table1-runs", str(table1_runs), "--runs-dir", str(runs_dir),
                          "--out", str(out)]) == 0
    runs = pd.read_csv(out / "imu_only.csv")
    transductive = runs[runs.pretrained == "cmc_transductive"]
    assert len(transductive) == 4 and transductive.encoder.str.contains(
        "pretrain-cmc_transductive-seed").all()
    summary = pd.read_csv(out / "imu_only_summary.csv").set_index(["pretrained", "mode"])
    assert summary.loc[("cmc_transductive", "frozen"), "gain_over_supervised"] == \
        pytest.approx(5.0)
