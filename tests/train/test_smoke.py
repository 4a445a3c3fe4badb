"""Each synthetic smoke config trains end to end, learns, and leaves a complete run directory."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfhar.config import load_config
from tfhar.machine import cpu_info

# Stage names (history_<stage>.csv, "[<stage>] ..." lines, stage_wall_time_s keys) per config.
STAGES = {
    "cmc": ["pretrain_cmc", "finetune"],
    "simclr_fusion": ["pretrain_simclr_inertial", "pretrain_simclr_skeleton", "finetune"],
    "simclr_inertial": ["pretrain_simclr_inertial", "finetune"],
    "supervised_multimodal": ["supervised"],
}
# simclr_fusion is the slowest config; its parts run in the others (SimCLR, fusion classifier).
NAMES = [pytest.param(name, marks=pytest.mark.slow) if name == "simclr_fusion" else name
         for name in sorted(STAGES)]
NUM_CLASSES = 6
NUM_TEST_SUBJECTS = 4  # Cross-subject protocol: subjects 2, 4, 6, 8.


def expected_epochs(config, stage: str) -> int:
    if stage.startswith("pretrain_simclr_"):
        override = getattr(config.pretrain, stage.removeprefix("pretrain_simclr_")).epochs
        return config.pretrain.epochs if override is None else override
    return config.pretrain.epochs if stage.startswith("pretrain") else config.finetune.epochs


@pytest.mark.parametrize("name", NAMES)
def test_smoke_config_learns_well_above_chance(smoke_run, name):
    run = smoke_run(name)
    assert run.code == 0
    metrics = run.metrics
    assert metrics["accuracy"] >= 0.5  # Chance is 1/6.
    assert 0.4 <= metrics["macro_f1"] <= 1.0
    assert set(metrics["stage_wall_time_s"]) == set(STAGES[name])
    assert all(seconds > 0 for seconds in metrics["stage_wall_time_s"].values())


@pytest.mark.parametrize("name", NAMES)
def test_metrics_json_is_consistent(smoke_run, smoke_config, name):
    metrics = smoke_run(name).metrics
    options = load_config(smoke_config(name)).data.options
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (NUM_CLASSES, NUM_CLASSES)
    assert metrics["num_test_samples"] == matrix.sum() == (
        NUM_CLASSES * NUM_TEST_SUBJECTS * options["samples_per_class_per_subject"])
    assert metrics["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert len(metrics["per_class_f1"]) == NUM_CLASSES
    assert all(0.0 <= f1 <= 1.0 for f1 in metrics["per_class_f1"].values())
    assert metrics["macro_f1"] == pytest.approx(np.mean(list(metrics["per_class_f1"].values())))
    # The tested checkpoint (finetune.monitor's default, last), with its validation accuracy:
    # the classifier stage's last epoch, after supervised training and on frozen encoders.
    history = pd.read_csv(smoke_run(name).run_dir / "history.csv")
    stage = "supervised" if name.startswith("supervised") else "finetune"
    tested = history[history.stage == stage].iloc[-1]
    assert metrics["val_accuracy"] == pytest.approx(tested.val_accuracy)
    assert metrics["checkpoint_epoch"] == tested.epoch
    # The machine it ran on, and a wall time covering at least the stages.
    assert metrics["machine"]["cpu"] == cpu_info()
    assert metrics["machine"]["tensorflow"] == tf.__version__
    assert metrics["wall_time_s"] >= sum(metrics["stage_wall_time_s"].values()) > 0
    assert metrics["val_loss"] == pytest.approx(tested.val_loss)


@pytest.mark.parametrize("name", NAMES)
def test_run_directory_layout(smoke_run, smoke_config, name):
    run_dir = smoke_run(name).run_dir
    config = load_config(smoke_config(name))
    assert load_config(run_dir / "config.yaml") == config
    assert (run_dir / "checkpoints").is_dir()
    encoders = sorted(path.name for path in (run_dir / "encoders").iterdir())
    pretrained = [] if name == "supervised_multimodal" else sorted(config.data.modalities)
    assert encoders == [f"{modality}.keras" for modality in pretrained]
    for stage in STAGES[name]:
        assert (run_dir / "logs" / f"history_{stage}.csv").is_file()
        assert any((run_dir / "logs" / stage).rglob("events.out.tfevents.*"))  # TensorBoard.
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history["stage"].unique()) == sorted(STAGES[name])
    for stage in STAGES[name]:
        epochs = history.loc[history["stage"] == stage, "epoch"]
        assert list(epochs) == list(range(expected_epochs(config, stage)))
    assert history["loss"].notna().all()


@pytest.mark.parametrize("name", NAMES)
def test_stage_summary_lines_are_printed(smoke_run, name):
    lines = smoke_run(name).stdout.splitlines()
    for stage in STAGES[name]:
        assert any(line.startswith(f"[{stage}] ") for line in lines), stage
    assert any(line.startswith("[test] accuracy ") for line in lines)


def test_help_lists_the_options():
    result = subprocess.run([sys.executable, "-m", "tfhar.train", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for option in ("--config", "--set", "--run-dir", "--overwrite"):
        assert option in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_figures_are_written(smoke_run, smoke_config, name):
    run_dir = smoke_run(name).run_dir
    assert (run_dir / "confusion_matrix.png").stat().st_size > 1000
    assert (run_dir / "per_class_f1.csv").is_file()
    config = load_config(smoke_config(name))
    embeddings = sorted(p.name for p in run_dir.glob("embedding_*.png"))
    expected = ([f"embedding_{m}.png" for m in sorted(config.data.modalities)]
                if config.runtime.embedding_plot else [])
    assert embeddings == expected
