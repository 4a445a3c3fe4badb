"""Your own data end to end: a folder of CSV and .npy files -> `python -m tfhar.train`
(supervised and CMC, one epoch each) -> `tfhar.export` -> `tfhar.predict` on a new recording
with a timestamp column. Tiny models; the point is that every step accepts the folder."""

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tfhar import export, predict, train

CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
JOINTS = ["pelvis", "spine", "neck", "head", "left_hand", "right_hand"]
LABELS = ["walk", "wave", "sit"]
RATE = 32.0
T0 = 1_700_000_000.0
MODEL = {
    "skeleton": {"output_dim": 16},
    "inertial": {"filters": [8, 16], "kernel_size": 3, "num_heads": 2, "num_layers": 1,
                 "feedforward_dim": 16, "reduction": "mean"},
    "classifier_hidden_dims": [16], "fusion_hidden_dim": 16,
}
PROJECTION = {"projection_hidden_dim": 16, "projection_dim": 8}  # Pre-training only.


def motion(label: int, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 6): each class swings at its own frequency, with noise."""
    phase = 2 * np.pi * (0.7 + 0.8 * label) * times[:, None] + np.arange(6)
    return np.sin(phase) + 0.1 * rng.normal(size=(len(times), 6))


def write_folder(root: Path) -> Path:
    """3 classes x 6 subjects x 2 sequences, both modalities, ~32 Hz timestamps with jitter."""
    rng = np.random.default_rng(0)
    for sub in ("inertial", "skeleton"):
        (root / sub).mkdir(parents=True)
    rows = []
    for subject in range(1, 7):
        for label, name in enumerate(LABELS):
            for take in range(2):
                sequence = f"s{subject}_{name}_{take}"
                duration = rng.uniform(2.5, 3.5)
                times = np.arange(0, duration, 1 / RATE)
                times[1:-1] += rng.uniform(-0.005, 0.005, len(times) - 2)
                frame = pd.DataFrame(motion(label, times, rng), columns=CHANNELS)
                frame.insert(0, "timestamp", T0 + times)
                frame.to_csv(root / "inertial" / f"{sequence}.csv", index=False)
                frames = int(duration * 30)
                pose = np.arange(len(JOINTS))[None, :, None] + rng.normal(size=(1, 6, 3))
                swing = np.sin(2 * np.pi * (0.7 + 0.8 * label) * np.arange(frames) / 30)
                np.save(root / "skeleton" / f"{sequence}.npy",
                        pose + 0.2 * swing[:, None, None] + 0.02 * rng.normal(size=(frames, 6, 3)))
                rows.append((sequence, name, subject))
    pd.DataFrame(rows, columns=["sequence", "label", "subject"]).to_csv(root / "labels.csv",
                                                                       index=False)
    spec = {
        "name": "my_watch_study",
        "inertial": {"rate_hz": RATE, "channels": CHANNELS, "units": ["g"] * 3 + ["deg/s"] * 3,
                     "sensors": {"acc": CHANNELS[:3], "gyro": CHANNELS[3:]}},
        "skeleton": {"rate_hz": 30, "joints": JOINTS, "center_joint": "spine",
                     "scale_joints": ["spine", "neck"]},
        "splits": {"train": [1, 2, 3], "val": [4], "test": [5, 6]},
    }
    (root / "dataset.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


def write_config(path: Path, root: Path, method: str) -> Path:
    config = {
        "method": method,
        "data": {"dataset": "folder", "root": str(root), "protocol": "dataset",
                 "modalities": ["inertial", "skeleton"]},
        "model": dict(MODEL),
        "finetune": {"epochs": 1, "batch_size": 8},
        "runtime": {"seed": 0, "verbose": 0, "embedding_plot": False},
    }
    if method == "cmc":
        config["pretrain"] = {"epochs": 1, "batch_size": 8}
        config["model"].update(PROJECTION)
        config["augment"] = {"inertial": {"jitter": {"p": 0.75, "sigma": 0.05},
                                          "rotate_3d": {"p": 0.5, "max_angle_degrees": 30.0}},
                             "skeleton": {"jitter": {"p": 1.0, "sigma": 0.02}}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def call(main, argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


@pytest.fixture(autouse=True)
def restore_op_determinism():
    """`train.main` enables TF op determinism process-wide; later tests get it back off."""
    yield
    from tensorflow.python.framework import config as tf_config  # No public switch-off.

    tf_config.disable_op_determinism()


def test_a_folder_trains_exports_and_predicts(tmp_path):
    root = write_folder(tmp_path / "my_data")
    runs = {}
    for method in ("supervised", "cmc"):
        config = write_config(tmp_path / f"{method}.yaml", root, method)
        runs[method] = tmp_path / "runs" / method
        code, _ = call(train.main, ["--config", str(config), "--run-dir", str(runs[method])])
        assert code == 0
        metrics = json.loads((runs[method] / "metrics.json").read_text())
        assert 0.0 <= metrics["accuracy"] <= 1.0

    out = tmp_path / "export"
    code, _ = call(export.main, ["--run-dir", str(runs["cmc"]), "--out", str(out),
                                 "--formats", "float32"])
    assert code == 0
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["channels"]["names"] == CHANNELS
    assert metadata["class_names"] == sorted(LABELS) and metadata["raw_rate_hz"] == RATE

    rng = np.random.default_rng(1)
    times = np.arange(0, 12, 1 / RATE)
    times[1:-1] += rng.uniform(-0.005, 0.005, len(times) - 2)
    recording = pd.DataFrame(np.concatenate([motion(0, times[:192], rng),
                                             motion(1, times[192:], rng)]), columns=CHANNELS)
    recording.insert(0, "timestamp", T0 + times)
    recording.to_csv(tmp_path / "recording.csv", index=False)
    code, printed = call(predict.main, ["--model", str(out / "model_float32.tflite"),
                                        "--input", str(tmp_path / "recording.csv")])
    assert code == 0
    assert "time column 'timestamp' in seconds" in printed
    labels = [line.split()[2] for line in printed.splitlines()
              if line.strip()[:1].isdigit() and len(line.split()) == 4]
    assert labels and set(labels) <= set(LABELS)
    assert "segments:" in printed
