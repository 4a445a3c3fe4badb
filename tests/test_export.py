"""`python -m tfhar.export`: on-device bundles from a one-modality and a multimodal run.

Two tiny synthetic runs are trained once for the module: SimCLR on the inertial modality (one
pre-training epoch, then its encoder fine-tuned with the labels, which makes the classifier
confident enough for int8 to keep its decisions: a barely trained classifier ties many
windows, and any rounding flips those), and CMC on both modalities started from given frozen
encoders so that only its fusion classifier is trained. The SimCLR run is also exported with
raw samples in, standardization inside and the fully integer int8_full format.
"""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.signal
import tensorflow as tf

import tfhar.models  # noqa: F401  (registers the custom layers)
from tfhar import export, predict, tflite_utils, train
from tfhar.config import config_hash, dump_config, load_config
from tfhar.experiment import load_splits
from tfhar.experiment.run_directory import write_marker
from tfhar.models import build_hcn_encoder, phone
from tfhar.tflite_utils import LiteRTModel

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "synthetic"
# Fully fine-tuned encoders after one pre-training epoch: confident classifiers in seconds
# (the checkpoint of lowest validation loss: these fixtures were sized with it).
FAST = ["runtime.verbose=0", "data.options.noise=0.05",
        "data.options.samples_per_class_per_subject=6", "finetune.epochs=15",
        "finetune.learning_rate=0.003", "finetune.trainable_encoders=true",
        "finetune.monitor=val_loss"]


def _sets(values: list[str]) -> list[str]:
    return [arg for value in values for arg in ("--set", value)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """{name: run dir} of the two trained runs, each exported to <tmp>/exports/<name>."""
    root = tmp_path_factory.mktemp("export")
    runs = {"simclr": root / "simclr", "cmc": root / "cmc"}
    args = ["--config", str(CONFIGS / "simclr_inertial.yaml"), "--run-dir", str(runs["simclr"])]
    assert train.main(args + _sets(FAST + ["pretrain.epochs=1"])) == 0
    skeleton = root / "skeleton.keras"
    build_hcn_encoder(output_dim=load_config(CONFIGS / "cmc.yaml").model.skeleton.output_dim
                           ).save(skeleton)
    # CMC fine-tuning from given encoders: the SimCLR run's fine-tuned inertial encoder and a
    # fresh skeleton encoder, both frozen, so that the test pays for the fusion classifier only.
    given = [f"finetune.encoders.inertial={runs['simclr'] / 'model' / 'inertial_encoder.keras'}",
             f"finetune.encoders.skeleton={skeleton}", "finetune.trainable_encoders=false",
             "finetune.epochs=4"]
    args = ["--config", str(CONFIGS / "cmc.yaml"), "--run-dir", str(runs["cmc"])]
    assert train.main(args + _sets(FAST + given)) == 0
    for name, run_dir in runs.items():
        assert export.main(["--run-dir", str(run_dir), "--out", str(root / "exports" / name)]) == 0
    assert export.main(["--run-dir", str(runs["simclr"]), "--out", str(root / "exports" / "raw"),
                        "--raw-input", "--standardize",
                        "--formats", "float32,int8,int8_full"]) == 0
    return runs


def _out(runs: dict[str, Path], name: str) -> Path:
    return runs["simclr"].parent / "exports" / name


def _test_split(run_dir: Path):
    return load_splits(load_config(run_dir / "config.yaml")).test


@pytest.mark.parametrize("name", ["simclr", "cmc"])
def test_bundle_files_and_metadata(runs, name):
    out = _out(runs, name)
    assert sorted(p.name for p in out.glob("*.tflite")) == [
        f"model_{fmt}.tflite" for fmt in sorted(tflite_utils.DEFAULT_FORMATS)]
    for fmt in tflite_utils.DEFAULT_FORMATS:
        assert (out / f"model_{fmt}.tflite").stat().st_size > 0
    assert (out / "saved_model" / "saved_model.pb").is_file()
    config = load_config(out / "config.yaml")
    assert dump_config(config) == (runs[name] / "config.yaml").read_text()
    meta = json.loads((out / "metadata.json").read_text())
    test = _test_split(runs[name])
    assert (out / "labels.txt").read_text().splitlines() == list(test.class_names)
    assert meta["class_names"] == list(test.class_names)
    assert meta["model"]["input"]["shape"] == [1, 50, 6]
    assert meta["model"]["input"]["kind"] == "window"
    assert meta["standardization"] is None and "integer_io" not in meta["model"]
    assert meta["window"] == {"steps": 50, "duration_s": 3.0, "raw_samples": 150}
    assert meta["raw_rate_hz"] == 50.0
    assert meta["channels"]["names"] == list(test.channel_names)
    assert meta["channels"]["units"] == ["g", "g", "g", "deg/s", "deg/s", "deg/s"]
    assert "scipy.signal.resample" in meta["preprocessing"]["resample"]
    assert meta["training"]["config_hash"] == config_hash(config)
    assert meta["training"]["method"] == config.method
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", ["simclr", "cmc"])
def test_report_limits_hold_and_are_recomputed(runs, name):
    out = _out(runs, name)
    report = json.loads((out / "report.json").read_text())
    rows = report["formats"]
    assert report["failures"] == []
    assert rows["float32"]["max_abs_diff"] <= 1e-4
    assert rows["int8"]["top1_agreement"] >= 0.98
    assert rows["int8"]["accuracy"] >= report["keras_accuracy"] - 0.01
    assert report["int8_calibration_windows"] == 108
    # int8 keeps the first convolution in float, not the two others nor the feed-forward.
    kinds = [kind for kind, _ in tflite_utils.operators((out / "model_int8.tflite").read_bytes())]
    assert rows["int8"]["float_operators"]["CONV_2D"] == 1 and kinds.count("CONV_2D") == 3
    assert rows["int8"]["float_operators"]["FULLY_CONNECTED"] < kinds.count("FULLY_CONNECTED")
    test = _test_split(runs[name])
    served = tf.saved_model.load(str(out / "saved_model"))  # Keep it: `serve` needs it alive.
    reference = served.serve(tf.constant(test.inertial)).numpy()
    assert report["num_test_windows"] == len(test.labels)
    assert np.mean(reference.argmax(1) == test.labels) == pytest.approx(report["keras_accuracy"])
    float32 = LiteRTModel(out / "model_float32.tflite").predict(test.inertial)
    int8 = LiteRTModel(out / "model_int8.tflite").predict(test.inertial)
    assert np.max(np.abs(float32 - reference)) <= 1e-4
    agreement = np.mean(int8.argmax(1) == reference.argmax(1))
    assert agreement == pytest.approx(rows["int8"]["top1_agreement"])
    assert agreement >= 0.98
    assert rows["int8"]["size_bytes"] < rows["float32"]["size_bytes"]


def test_saved_model_serves_any_batch_of_probabilities(runs):
    served = tf.saved_model.load(str(_out(runs, "simclr") / "saved_model"))
    windows = _test_split(runs["simclr"]).inertial
    for batch in (1, 5):
        probabilities = served.serve(tf.constant(windows[:batch])).numpy()
        assert probabilities.shape == (batch, 6)
        np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)


def test_one_modality_run_keeps_its_classifier(runs):
    report = json.loads((_out(runs, "simclr") / "report.json").read_text())
    metrics = json.loads((runs["simclr"] / "metrics.json").read_text())
    assert report["classifier"] == "the run's own"
    assert report["keras_accuracy"] == pytest.approx(metrics["accuracy"])


def test_multimodal_run_gets_an_inertial_classifier(runs):
    report = json.loads((_out(runs, "cmc") / "report.json").read_text())
    meta = json.loads((_out(runs, "cmc") / "metadata.json").read_text())
    assert report["classifier"].startswith("trained on the frozen inertial encoder")
    assert report["classifier_test_accuracy"] == pytest.approx(report["keras_accuracy"])
    assert meta["training"]["modalities"] == ["inertial", "skeleton"]
    assert meta["test_accuracy"] == pytest.approx(report["keras_accuracy"])
    # The new classifier reads the frozen CMC encoder: same weights as the run's encoder.
    encoder = keras.models.load_model(runs["cmc"] / "model" / "inertial_encoder.keras")
    served = tf.saved_model.load(str(_out(runs, "cmc") / "saved_model"))
    kernel = encoder.get_layer("conv1").kernel.numpy()
    assert any(np.array_equal(v.numpy(), kernel) for v in served.variables
               if tuple(v.shape) == kernel.shape)


def test_an_imu_only_classifier_of_a_cmc_run_is_exported_as_it_is(runs, tmp_path):
    """finetune.modalities [inertial]: the CMC run fits the phone's classifier itself, on its
    inertial encoder alone; the export keeps it."""
    run_dir = tmp_path / "cmc_imu"
    config = load_config(runs["cmc"] / "config.yaml")
    given = [f"finetune.encoders.{m}={p}" for m, p in config.finetune.encoders.items()]
    assert train.main(["--config", str(CONFIGS / "cmc.yaml"), "--run-dir", str(run_dir)]
                      + _sets(FAST + given + ["finetune.trainable_encoders=false",
                                              "finetune.epochs=4",
                                              "finetune.modalities=[inertial]"])) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["modalities"] == ["inertial", "skeleton"]
    assert metrics["classifier_modalities"] == ["inertial"]
    assert sorted(p.name for p in (run_dir / "model").iterdir()) == [
        "classifier.keras", "inertial_encoder.keras"]
    classifier = keras.models.load_model(run_dir / "model" / "classifier.keras")
    encoder = keras.models.load_model(run_dir / "model" / "inertial_encoder.keras")
    assert classifier.input_shape == encoder.output_shape  # No fusion: one modality's features.
    out = tmp_path / "export"
    assert export.main(["--run-dir", str(run_dir), "--out", str(out),
                        "--formats", "float32"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["classifier"] == "the run's own"
    assert report["keras_accuracy"] == pytest.approx(metrics["accuracy"])


def _raw_windows(windows: np.ndarray) -> np.ndarray:
    """Windows (N, 50, C) stretched to their 150 raw samples, with noise as a sensor has."""
    raw = scipy.signal.resample(windows, 150, axis=1)
    noise = np.random.default_rng(0).normal(0.0, 0.05, raw.shape) * raw.std((0, 1))
    return (raw + noise).astype(np.float32)


def test_raw_input_model_matches_scipy_resampling_then_the_window_model(runs):
    window_out, raw_out = _out(runs, "simclr"), _out(runs, "raw")
    raw = _raw_windows(_test_split(runs["simclr"]).inertial)
    windows = scipy.signal.resample(raw, 50, axis=1).astype(np.float32)
    served = {o: tf.saved_model.load(str(o / "saved_model")) for o in (window_out, raw_out)}
    reference = served[window_out].serve(tf.constant(windows)).numpy()
    keras_raw = served[raw_out].serve(tf.constant(raw)).numpy()
    litert_raw = LiteRTModel(raw_out / "model_float32.tflite").predict(raw)
    litert_windows = LiteRTModel(window_out / "model_float32.tflite").predict(windows)
    assert np.max(np.abs(keras_raw - reference)) <= 1e-4
    assert np.max(np.abs(litert_raw - reference)) <= 1e-4
    assert np.max(np.abs(litert_raw - litert_windows)) <= 1e-4


def test_raw_input_metadata_and_report(runs):
    out = _out(runs, "raw")
    meta = json.loads((out / "metadata.json").read_text())
    report = json.loads((out / "report.json").read_text())
    train_windows = load_splits(load_config(runs["simclr"] / "config.yaml")).train.inertial
    assert meta["model"]["input"] == {"name": "inertial", "shape": [1, 150, 6],
                                      "dtype": "float32", "kind": "raw_samples"}
    assert meta["window"] == {"steps": 50, "duration_s": 3.0, "raw_samples": 150}
    assert "150 raw samples" in meta["preprocessing"]["resample"]
    stats = meta["standardization"]
    assert stats["inside_model"] is True
    np.testing.assert_allclose(stats["mean"], train_windows.mean((0, 1)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stats["std"], train_windows.std((0, 1)), rtol=1e-4)
    assert report["failures"] == [] and report["formats"]["float32"]["max_abs_diff"] <= 1e-4
    assert report["test_inputs"] == "test windows FFT-resampled to 150 raw samples"


def test_fully_integer_model_has_no_float_operator_and_keeps_the_int8_limits(runs):
    out = _out(runs, "raw")
    meta = json.loads((out / "metadata.json").read_text())
    report = json.loads((out / "report.json").read_text())
    row = report["formats"]["int8_full"]
    content = (out / "model_int8_full.tflite").read_bytes()
    assert tflite_utils.float_operators(content, strict=True) == {} == row["float_operators"]
    assert tflite_utils.float_operators((out / "model_int8.tflite").read_bytes(), strict=True)
    assert row["top1_agreement"] >= 0.98
    assert row["accuracy"] >= report["keras_accuracy"] - 0.01
    # Fed by hand from metadata.json alone, as an app (or a microcontroller) would.
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    (given,), (taken,) = interpreter.get_input_details(), interpreter.get_output_details()
    io = meta["model"]["integer_io"]
    assert io["file"] == "model_int8_full.tflite" and meta["model"]["files"]["int8_full"]
    assert given["dtype"] == taken["dtype"] == np.int8 and list(given["shape"]) == [1, 150, 6]
    mean, std = (np.array(meta["standardization"][k], np.float32) for k in ("mean", "std"))
    raw = _raw_windows(_test_split(runs["simclr"]).inertial[:8])
    by_hand = []
    for x in raw:
        q = np.clip(np.round((x - mean) / std / io["input"]["scale"])
                    + io["input"]["zero_point"], -128, 127).astype(np.int8)
        interpreter.set_tensor(given["index"], q[None])
        interpreter.invoke()
        out_q = interpreter.get_tensor(taken["index"])[0].astype(np.float32)
        by_hand.append((out_q - io["output"]["zero_point"]) * io["output"]["scale"])
    model = LiteRTModel(out / "model_int8_full.tflite", standardization=(mean, std))
    np.testing.assert_allclose(model.predict(raw), np.array(by_hand), atol=1e-6)


@pytest.mark.parametrize("fmt, min_agreement, atol", [("float32", 1.0, 2e-4),
                                                       ("int8_full", 0.9, 0.25)])
def test_predict_feeds_raw_and_integer_models(runs, tmp_path, fmt, min_agreement, atol):
    test = _test_split(runs["simclr"])
    picked = np.arange(0, len(test), 12)
    raw = scipy.signal.resample(test.inertial[picked], 150, axis=1).reshape(-1, 6)
    frame = pd.DataFrame(raw, columns=list(test.channel_names))
    frame.insert(0, "time", np.arange(len(raw)) / 50.0)
    frame.to_csv(tmp_path / "recording.csv", index=False)
    tables = {}
    for name, model in (("window", _out(runs, "simclr") / "model_float32.tflite"),
                        ("raw", _out(runs, "raw") / f"model_{fmt}.tflite")):
        assert predict.main(["--model", str(model), "--input", str(tmp_path / "recording.csv"),
                             "--output", str(tmp_path / f"{name}.csv")]) == 0
        tables[name] = pd.read_csv(tmp_path / f"{name}.csv")
    window, raw_table = tables["window"], tables["raw"]
    assert len(raw_table) == len(window) == 2 * len(picked) - 1
    np.testing.assert_allclose(raw_table["start_s"], window["start_s"])
    assert np.mean(raw_table["label"] == window["label"]) >= min_agreement
    np.testing.assert_allclose(raw_table["probability"], window["probability"], atol=atol)


@pytest.mark.parametrize("num_samples, steps", [(150, 50), (37, 50), (50, 50), (151, 50)])
def test_resample_matrix_is_scipy_resample(num_samples, steps):
    x = np.random.default_rng(0).normal(size=(num_samples, 3))
    np.testing.assert_allclose(phone.resample_matrix(num_samples, steps) @ x,
                               scipy.signal.resample(x, steps, axis=0), atol=1e-12)


def test_standardized_encoder_gives_the_same_features():
    from tfhar.models import build_cnn_transformer_encoder

    encoder = build_cnn_transformer_encoder(filters=(8, 16), num_layers=1, feedforward_dim=16,
                                            reduction="mean")
    rng = np.random.default_rng(0)
    units = np.array([0.3, 0.2, 0.4, 80.0, 15.0, 60.0])
    x = (rng.normal(size=(4, 50, 6)) * units + [0.0, 1.0, 0.0, -1.0, 1.0, 0.5]).astype("float32")
    mean, std = phone.channel_statistics(x)
    folded = phone.standardized_encoder(encoder, mean, std)
    assert "conv1_standardized" in [layer.name for layer in folded.layers]
    np.testing.assert_allclose(folded((x - mean) / std), encoder(x), rtol=1e-4, atol=1e-4)


def test_standardized_input_needs_a_convolution_first():
    inputs = keras.Input((50, 6))
    model = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    with pytest.raises(ValueError, match="zero padding and a convolution"):
        phone.standardized_encoder(model, np.zeros(6), np.ones(6))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_crash_mid_export_leaves_out_untouched(runs, tmp_path, monkeypatch):
    out = tmp_path / "model"
    (out / "saved_model").mkdir(parents=True)
    (out / "metadata.json").write_text('{"previous": true}')
    write_marker(out, "export")  # A previous export of tfhar's, which a new one may replace.
    before = _snapshot(out)
    convert = tflite_utils.convert

    def crash_on_int8(saved_model_dir, fmt, calibration_windows=None):
        if fmt == "int8":
            raise RuntimeError("simulated crash")
        return convert(saved_model_dir, fmt, calibration_windows)

    monkeypatch.setattr(tflite_utils, "convert", crash_on_int8)
    with pytest.raises(RuntimeError, match="simulated crash"):
        export.main(["--run-dir", str(runs["simclr"]), "--out", str(out),
                     "--formats", "float32,int8"])
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_failed_check_exits_2_and_leaves_out_untouched(runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "model"
    out.mkdir()
    (out / "report.json").write_text("{}")
    write_marker(out, "export")
    before = _snapshot(out)
    monkeypatch.setattr(tflite_utils, "MIN_INT8_AGREEMENT", 1.01)  # Unreachable on purpose.
    code = export.main(["--run-dir", str(runs["simclr"]), "--out", str(out), "--formats", "int8"])
    assert code == 2
    assert "int8: top-1 agreement" in capsys.readouterr().err
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def _bad_run(tmp_path: Path, case: str, runs: dict[str, Path]) -> list[str]:
    run_dir = tmp_path / "run"
    if case == "missing run dir":
        return ["--run-dir", str(run_dir)]
    run_dir.mkdir()
    if case == "no config":
        return ["--run-dir", str(run_dir)]
    name = "simclr_skeleton" if case == "skeleton only" else "simclr_inertial"
    config = load_config(CONFIGS / f"{name}.yaml")
    (run_dir / "config.yaml").write_text(dump_config(config))
    if case == "unknown format":
        return ["--run-dir", str(runs["simclr"]), "--formats", "float32,int4"]
    return ["--run-dir", str(run_dir)]


@pytest.mark.parametrize("case, message", [
    ("missing run dir", "not found"),
    ("no config", "config.yaml not found"),
    ("skeleton only", "has no inertial encoder"),
    ("missing model files", "missing model file(s)"),
    ("unknown format", "unknown format(s) int4"),
])
def test_bad_input_one_line_exit_2_nothing_written(runs, tmp_path, capsys, case, message):
    args = _bad_run(tmp_path, case, runs)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = tmp_path / "out"
    assert export.main(args + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_cli_reports_bad_input_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tfhar.export", "--run-dir", str(tmp_path / "nope")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: run directory {str(tmp_path / 'nope')!r} not found"]
    assert list(tmp_path.iterdir()) == []


def test_float32_copy_of_a_mixed_precision_encoder():
    from tfhar.models import build_cnn_transformer_encoder

    windows = np.random.default_rng(0).normal(size=(2, 50, 6)).astype("float32")
    keras.config.set_dtype_policy("mixed_float16")
    try:
        mixed = build_cnn_transformer_encoder(filters=(8, 16), num_layers=1, feedforward_dim=16,
                                       reduction="mean")
    finally:
        keras.config.set_dtype_policy("float32")
    copy = phone.float32_copy(mixed)
    assert phone.float32_copy(copy) is copy
    assert copy(windows).dtype == "float32"
    np.testing.assert_allclose(copy(windows), mixed(windows), atol=0.05)


@pytest.mark.parametrize("case", ["folder of the user's", "link", "file"])
def test_out_that_tfhar_did_not_write_is_never_replaced(runs, tmp_path, capsys, case):
    target = tmp_path / "Documents"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    out = {"folder of the user's": target, "link": tmp_path / "link",
           "file": target / "thesis.tex"}[case]
    if case == "link":
        out.symlink_to(target)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert export.main(["--run-dir", str(runs["simclr"]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(out) in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (target / "thesis.tex").read_text() == "years of work"


def test_an_export_of_tfhars_is_replaced(runs, tmp_path):
    out = tmp_path / "model"
    assert export.main(["--run-dir", str(runs["simclr"]), "--out", str(out),
                        "--formats", "float32"]) == 0
    first = (out / ".tfhar.json").read_text()
    assert export.main(["--run-dir", str(runs["simclr"]), "--out", str(out),
                        "--formats", "float32"]) == 0
    assert (out / "model_float32.tflite").is_file() and (out / ".tfhar.json").is_file()
    assert json.loads(first)["kind"] == "export"
