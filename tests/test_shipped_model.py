"""The shipped phone model (saved_models/utd_mhad_imu, written by `python -m pipelines.ship_model`):
tfhar-predict on its committed example recording scores what the pipeline measured, its files
are small, its encoder loads for fine-tuning, and it runs from an installed tfhar."""

import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import tfhar.models  # noqa: F401  (registers the custom layers)
from tfhar import predict
from tfhar.evaluate_stream import window_truth

SHIPPED = Path(__file__).resolve().parents[1] / "saved_models" / "utd_mhad_imu"
EXAMPLE = SHIPPED / "example"


@pytest.mark.parametrize("name", ["model_float32.tflite", "model_int8_full.tflite"])
def test_predict_on_the_example_scores_what_was_measured(name, tmp_path, capsys):
    out = tmp_path / "windows.csv"
    assert predict.main(["--model", str(SHIPPED / name), "--input",
                         str(EXAMPLE / "recording.csv"), "--output", str(out)]) == 0
    windows = pd.read_csv(out)
    truth = pd.read_csv(EXAMPLE / "truth.csv")
    info = predict.read_metadata(SHIPPED / name)
    classes = {label: k for k, label in enumerate(info.class_names)}
    rate = info.raw_rate_hz
    segments = np.stack([np.round(truth.start_s * rate), np.round(truth.end_s * rate),
                         truth.label.map(classes)], axis=1).astype(np.int64)
    starts = np.round(windows.start_s.to_numpy() * rate).astype(np.int64)
    window = round(info.duration_s * rate)
    predicted = windows.label.map(classes).to_numpy()
    majority, _, _ = window_truth(starts, window, segments, predicted)
    expected = json.loads((EXAMPLE / "expected.json").read_text())["formats"][name]
    assert len(windows) == expected["num_windows"]
    assert np.mean(predicted == majority) == pytest.approx(expected["majority_accuracy"])
    assert expected["majority_accuracy"] > 1 / len(info.class_names)  # Above chance.


def test_files_are_small_and_say_what_they_take():
    sizes = {p.name: p.stat().st_size for p in SHIPPED.glob("*.tflite")}
    assert sizes["model_int8_full.tflite"] < 150_000  # The phone target (issue 16).
    assert sizes["model_float32.tflite"] < 400_000
    meta = json.loads((SHIPPED / "metadata.json").read_text())
    assert meta["model"]["input"]["kind"] == "raw_samples"
    assert meta["standardization"]["inside_model"] is True
    report = json.loads((SHIPPED / "report.json").read_text())
    assert report["failures"] == [] and "stream" in report


def test_the_encoder_loads_for_fine_tuning():
    encoder = keras.models.load_model(SHIPPED / "inertial_encoder.keras")
    meta = json.loads((SHIPPED / "metadata.json").read_text())
    assert tuple(encoder.input_shape[1:]) == (meta["window"]["steps"],
                                              len(meta["channels"]["names"]))
    features = encoder(np.zeros((2, *encoder.input_shape[1:]), np.float32))
    assert features.shape[0] == 2
