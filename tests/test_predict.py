"""`python -m tfhar.predict`: long recordings -> per-window activities and merged segments.

Synthetic tests use a small classifier trained here on synthetic windows and written like an
export (SavedModel -> .tflite + metadata.json), also as a raw-input model (raw/); recordings
are test windows stretched back to their 3 s at 50 Hz and concatenated. The real-data test
trains a small supervised inertial model on UTD-MHAD, exports it with tfhar.export, labels a
recording made of raw test sequences and checks the export's stream evaluation.
"""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.signal

from tfhar import evaluate_stream, export, predict, tflite_utils, train
from tfhar.config import load_config
from tfhar.data import preprocess
from tfhar.experiment.data import load_splits
from tfhar.models import phone
from tfhar.tflite_utils import LiteRTModel

ROOT = Path(__file__).resolve().parents[1]
DURATION_S = 3.0  # What one synthetic window stands for.


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """(folder with model_<format>.tflite + metadata.json, synthetic test Record)."""
    folder = tmp_path_factory.mktemp("predict") / "model"
    config = load_config(ROOT / "configs" / "synthetic" / "simclr_inertial.yaml",
                         ["data.options.noise=0.05"])
    splits = load_splits(config)
    train_split, test = splits.train, splits.test
    keras.utils.set_random_seed(0)
    inputs = keras.Input((50, 6))
    x = keras.layers.Rescaling([1.0, 1.0, 1.0, 0.01, 0.01, 0.01])(inputs)
    x = keras.layers.Conv1D(32, 5, activation="relu")(x)
    x = keras.layers.Dense(32, activation="relu")(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(train_split.inertial, train_split.labels, epochs=60, batch_size=36, verbose=0)
    model.export(str(folder / "saved_model"), verbose=False)
    for fmt in ("float32", "int8"):
        content = tflite_utils.convert(folder / "saved_model", fmt, train_split.inertial)
        (folder / f"model_{fmt}.tflite").write_bytes(content)
    request = export.ExportRequest(folder, folder, ("float32", "int8"))
    accuracy = float(np.mean(model.predict(test.inertial, verbose=0).argmax(1) == test.labels))
    export.write_json(folder / "metadata.json",
                      export.metadata(request, config, train_split, accuracy, {}))
    # The same classifier fed raw samples: 150 per 3 s window, resampled inside.
    raw = folder / "raw"
    phone.with_raw_input(model, 150).export(str(raw / "saved_model"), verbose=False)
    (raw / "model_float32.tflite").write_bytes(
        tflite_utils.convert(raw / "saved_model", "float32"))
    request = export.ExportRequest(folder, raw, ("float32",), raw_input=True)
    export.write_json(raw / "metadata.json",
                      export.metadata(request, config, train_split, accuracy, {}))
    return folder, test


def recording(windows: np.ndarray, channels, rate: float = 50.0, time_column: str | None = "time"
              ) -> pd.DataFrame:
    """Windows (N, 50, C) stretched to DURATION_S at `rate` and concatenated, as a CSV table."""
    samples = round(DURATION_S * rate)
    raw = np.concatenate([scipy.signal.resample(w, samples, axis=0) for w in windows])
    frame = pd.DataFrame(raw, columns=list(channels))
    if time_column:
        frame.insert(0, time_column, np.arange(len(raw)) / rate)
    return frame


def run_predict(tmp_path: Path, model: Path, frame: pd.DataFrame, *options: str):
    """(exit code, per-window table or None)."""
    frame.to_csv(tmp_path / "recording.csv", index=False)
    out = tmp_path / "windows.csv"
    code = predict.main(["--model", str(model), "--input", str(tmp_path / "recording.csv"),
                         "--output", str(out), *options])
    return code, (pd.read_csv(out) if code == 0 else None)


@pytest.mark.parametrize("fmt", ["float32", "int8"])
def test_windows_aligned_with_segments_match_the_model(bundle, tmp_path, fmt):
    folder, test = bundle
    picked = np.arange(0, len(test), 12)  # 12 windows, every class twice.
    code, table = run_predict(tmp_path, folder / f"model_{fmt}.tflite",
                              recording(test.inertial[picked], test.channel_names),
                              "--hop", str(DURATION_S))
    assert code == 0
    expected = LiteRTModel(folder / f"model_{fmt}.tflite").predict(test.inertial[picked])
    assert len(table) == len(picked)
    np.testing.assert_allclose(table["start_s"], DURATION_S * np.arange(len(picked)))
    np.testing.assert_allclose(table["end_s"] - table["start_s"], DURATION_S)
    assert list(table["label"]) == [test.class_names[i] for i in expected.argmax(1)]
    # Resampling 150 samples back to 50 steps restores the windows the model was tested on.
    np.testing.assert_allclose(table["probability"], expected.max(1), atol=2e-3)
    true = [test.class_names[i] for i in test.labels[picked]]
    assert np.mean(table["label"] == true) >= 0.75


def test_default_hop_is_half_a_window_and_segments_merge(bundle, tmp_path, capsys):
    folder, test = bundle
    windows = test.inertial[test.labels == 2][:3]  # One activity for 9 s.
    code, table = run_predict(tmp_path, folder / "model_float32.tflite",
                              recording(windows, test.channel_names))
    assert code == 0
    np.testing.assert_allclose(table["start_s"], np.arange(0, 6.01, 1.5))
    out = capsys.readouterr().out
    segment_lines = out.split("segments:\n")[1].strip().splitlines()
    changes = int(np.sum(table["label"].to_numpy()[1:] != table["label"].to_numpy()[:-1]))
    assert len(segment_lines) == 1 + changes
    assert segment_lines[0].split()[0] == "0.00"
    assert segment_lines[-1].split()[2] == f"{table['end_s'].iloc[-1]:.2f}"


@pytest.mark.parametrize("time_column, options", [
    (None, ["--rate", "100"]),  # Rate given on the command line.
    ("timestamp", []),  # Rate read from the time column.
])
def test_other_rates_give_the_same_labels(bundle, tmp_path, time_column, options):
    folder, test = bundle
    picked = np.arange(0, len(test), 24)
    model = folder / "model_float32.tflite"
    _, at_50 = run_predict(tmp_path, model, recording(test.inertial[picked],
                                                     test.channel_names), "--hop", "3")
    code, at_100 = run_predict(
        tmp_path, model, recording(test.inertial[picked], test.channel_names, 100.0,
                                   time_column), "--hop", "3", *options)
    assert code == 0
    assert list(at_100["label"]) == list(at_50["label"])
    np.testing.assert_allclose(at_100["start_s"], at_50["start_s"])


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_raw_input_model_labels_like_the_window_model(bundle, tmp_path, rate):
    folder, test = bundle
    meta = json.loads((folder / "raw" / "metadata.json").read_text())
    assert meta["model"]["input"]["kind"] == "raw_samples"
    assert meta["model"]["input"]["shape"] == [1, 150, 6]
    picked = np.arange(0, len(test), 12)
    frame = recording(test.inertial[picked], test.channel_names, rate)
    _, reference = run_predict(tmp_path, folder / "model_float32.tflite", frame, "--hop", "1.5")
    code, table = run_predict(tmp_path, folder / "raw" / "model_float32.tflite", frame,
                              "--hop", "1.5")
    assert code == 0 and len(table) == 2 * len(picked) - 1
    pd.testing.assert_frame_equal(table, reference, atol=2e-4)


def test_raw_input_model_gets_the_raw_samples_themselves(bundle, monkeypatch):
    folder, _ = bundle
    info = predict.read_metadata(folder / "raw" / "model_float32.tflite")
    assert (info.raw_samples, info.input_steps, info.window_steps) == (150, 150, 50)
    samples = np.random.default_rng(0).normal(size=(150, 6))
    np.testing.assert_array_equal(predict.model_input(info, samples), samples.astype("float32"))
    np.testing.assert_allclose(predict.model_input(info, samples[:120]),
                               scipy.signal.resample(samples[:120], 150), atol=1e-5)


EPOCH_NS = 1_700_000_000_123_456_789  # 2023-11-14 in nanoseconds since the epoch.


# (column name, its values for rows 0, 1, 2, ... at 50 Hz, the unit the rate line names)
TIME_COLUMNS = {
    "ms": ("time", lambda i: i * 20, "milliseconds (from the median step 20)"),
    "us": ("timestamp", lambda i: i * 20_000, "microseconds (from the median step 20000)"),
    "ns epoch": ("timestamp", lambda i: EPOCH_NS + i * 20_000_000, "nanoseconds (from the "
                 "median step 2e+07)"),
    "s epoch": ("time", lambda i: 1_700_000_000.0 + i / 50, "seconds (from the median step"),
    "capitalised": ("Time", lambda i: i / 50, "seconds (from the median step 0.02)"),
    "upper case": ("TIMESTAMP", lambda i: i * 20, "milliseconds (from the median step 20)"),
    "unit in name": ("time_ms", lambda i: i * 20.0, "milliseconds (from its name)"),
    "unit in brackets": ("Time (s)", lambda i: i / 50, "seconds (from its name)"),
    "elapsed": ("seconds_elapsed", lambda i: i / 50, "seconds (from its name)"),
}


@pytest.mark.parametrize("case", TIME_COLUMNS)
def test_time_columns_in_any_unit_and_case_give_seconds(bundle, tmp_path, capsys, case):
    folder, test = bundle
    name, values, unit = TIME_COLUMNS[case]
    picked = np.arange(0, len(test), 24)
    model = folder / "model_float32.tflite"
    _, reference = run_predict(tmp_path, model, recording(test.inertial[picked],
                                                          test.channel_names), "--hop", "3")
    capsys.readouterr()
    frame = recording(test.inertial[picked], test.channel_names)
    frame = _with_time(frame, values(np.arange(len(frame))), name)
    code, table = run_predict(tmp_path, model, frame, "--hop", "3")
    assert code == 0
    pd.testing.assert_frame_equal(table, reference, atol=1e-3)  # Starts and ends in seconds.
    out = capsys.readouterr().out
    assert f"rate: 50 Hz from the time column {name!r} in {unit}" in out
    assert f"times: seconds from the first row ({name} = {frame[name].iloc[0]})" in out


def test_time_unit_option_forces_the_unit(bundle, tmp_path, capsys):
    folder, test = bundle
    frame = recording(test.inertial[:2], test.channel_names)
    frame = _with_time(frame, np.arange(len(frame)) * 0.5)  # Ambiguous: 2 Hz or 2 kHz.
    code, table = run_predict(tmp_path, folder / "model_float32.tflite", frame,
                              "--time-unit", "s", "--hop", "3")
    assert code == 0
    # At 2 Hz a 3 s window is 6 rows: the 300 rows (150 s) hold 50 of them.
    np.testing.assert_allclose(table["start_s"], 3.0 * np.arange(50))
    assert "rate: 2 Hz from the time column 'time' in seconds (from the unit requested)" in (
        capsys.readouterr().out)


@pytest.mark.parametrize("rate, code, message", [
    ("2", 0, "rate: 2 Hz as given; time column 'time' in seconds (from the median step 0.5 and "
             "the rate given): median step 500 ms, 2 Hz"),
    ("2500", 2, "error: time column 'time': its median step 0.5 gives several plausible"),
])
def test_rate_picks_the_unit_of_an_ambiguous_time_column(bundle, tmp_path, capsys, rate, code,
                                                          message):
    folder, test = bundle
    frame = recording(test.inertial[:1], test.channel_names)
    frame = _with_time(frame, np.arange(len(frame)) * 0.5)  # 2 Hz in s or 2 kHz in ms.
    assert run_predict(tmp_path, folder / "model_float32.tflite", frame, "--rate", rate)[0] == code
    captured = capsys.readouterr()
    assert message in (captured.out if code == 0 else captured.err)


def test_rate_within_ten_percent_of_the_time_column_is_used(bundle, tmp_path, capsys):
    folder, test = bundle
    frame = recording(test.inertial[:2], test.channel_names)  # 50 Hz by its time column.
    code, table = run_predict(tmp_path, folder / "model_float32.tflite", frame,
                              "--rate", "54", "--hop", "3")
    assert code == 0
    # --rate decides the window length, 162 rows: one window fits in the 300 rows.
    assert table["start_s"].tolist() == [0.0]
    assert table["end_s"].iloc[0] == pytest.approx(161 / 50 + 1 / 54, abs=1e-4)
    assert "rate: 54 Hz as given; time column 'time' in seconds" in capsys.readouterr().out


def _gapped(test, drop_s: tuple[float, float]) -> pd.DataFrame:
    """Four 3 s windows of one class at 50 Hz with the rows in [drop_s) removed."""
    frame = recording(test.inertial[test.labels == 1][:4], test.channel_names)
    return frame[(frame["time"] < drop_s[0] - 1e-9) | (frame["time"] >= drop_s[1] - 1e-9)]


def test_no_window_spans_a_gap_and_gaps_are_reported(bundle, tmp_path, capsys):
    folder, test = bundle
    frame = _gapped(test, (6.0, 9.0))  # 3 s missing in the middle.
    code, table = run_predict(tmp_path, folder / "model_float32.tflite", frame)
    assert code == 0
    windows = table[table["label"] != predict.GAP_LABEL]
    # Segments 0..6 s and 9..12 s, each windowed alone every 1.5 s.
    np.testing.assert_allclose(windows["start_s"], [0.0, 1.5, 3.0, 9.0])
    np.testing.assert_allclose(windows["end_s"], windows["start_s"] + 3.0)
    gap = table[table["label"] == predict.GAP_LABEL]
    assert gap[["start_s", "end_s"]].values.tolist() == [[6.0, 9.0]]
    assert gap.index[0] == 3 and np.isnan(gap["probability"].iloc[0])  # In time order.
    out = capsys.readouterr().out
    assert "gap: no data from 6.00 s to 9.00 s (3.00 s)" in out
    segment_lines = out.split("segments:\n")[1].strip().splitlines()
    # Segments never merge across the gap.
    assert [line.split()[:3] for line in segment_lines if "(no data)" in line] == [
        ["6.00", "-", "9.00"]]
    assert segment_lines[-1].split()[:3] == ["9.00", "-", "12.00"]


def test_segments_shorter_than_a_window_are_counted(bundle, tmp_path, capsys):
    folder, test = bundle
    frame = _gapped(test, (3.0, 4.0))
    frame = frame[(frame["time"] < 5.0 - 1e-9) | (frame["time"] >= 6.0 - 1e-9)]
    code, table = run_predict(tmp_path, folder / "model_float32.tflite", frame, "--hop", "3")
    assert code == 0
    np.testing.assert_allclose(table["start_s"], [0.0, 3.0, 5.0, 6.0, 9.0])
    assert list(table["label"] == predict.GAP_LABEL) == [False, True, True, False, False]
    out = capsys.readouterr().out
    assert "1 of 3 contiguous segment(s) shorter than one 3.00 s window, not classified: " \
        "1.00 s at 4.00 s" in out


def test_a_short_step_jitter_is_not_a_gap(bundle, tmp_path, capsys):
    folder, test = bundle
    frame = recording(test.inertial[:3], test.channel_names)
    # Steps of 0.002..0.038 s: irregular, but none over 2 median steps (0.04 s).
    frame["time"] += np.random.default_rng(0).uniform(-0.009, 0.009, len(frame))
    code, table = run_predict(tmp_path, folder / "model_float32.tflite", frame, "--hop", "3")
    assert code == 0 and len(table) >= 2 and predict.GAP_LABEL not in set(table["label"])
    assert "gap:" not in capsys.readouterr().out


def test_exact_duplicate_rows_are_dropped_and_counted(bundle, tmp_path, capsys):
    folder, test = bundle
    frame = recording(test.inertial[:2], test.channel_names)
    _, reference = run_predict(tmp_path, folder / "model_float32.tflite", frame, "--hop", "3")
    doubled = pd.concat([frame, frame.iloc[[10, 11, 200]]]).sort_index(kind="stable")
    code, table = run_predict(tmp_path, folder / "model_float32.tflite", doubled, "--hop", "3")
    assert code == 0
    pd.testing.assert_frame_equal(table, reference)
    assert "dropped 3 row(s) repeating the previous row exactly" in capsys.readouterr().out


def test_windows_come_from_the_shared_window_starts(bundle, tmp_path, monkeypatch):
    folder, test = bundle
    calls = []

    def spy(num_samples, length, hop):
        calls.append((num_samples, length, hop))
        return window_starts(num_samples, length, hop)

    window_starts = preprocess.window_starts
    monkeypatch.setattr(preprocess, "window_starts", spy)
    code, table = run_predict(tmp_path, folder / "model_float32.tflite",
                              recording(test.inertial[:3], test.channel_names), "--hop", "0.5")
    assert code == 0 and calls == [(450, 150, 25)] and len(table) == 13


def test_segments_merge_consecutive_equal_labels():
    windows = pd.DataFrame({"start_s": [0.0, 1.0, 2.0, 3.0], "end_s": [2.0, 3.0, 4.0, 5.0],
                            "label": ["a", "a", "b", "a"], "probability": [0.5, 0.7, 0.9, 0.4]})
    merged = predict.segments(windows)
    assert merged.to_dict("list") == {
        "start_s": [0.0, 2.0, 3.0], "end_s": [3.0, 4.0, 5.0], "label": ["a", "b", "a"],
        "windows": [2, 1, 1], "mean_probability": [0.6, 0.9, 0.4]}


def _with_time(frame: pd.DataFrame, values, name: str = "time") -> pd.DataFrame:
    frame = frame.drop(columns=["time"])
    frame.insert(0, name, values)
    return frame


def _bad_case(case: str, folder: Path, test, tmp_path: Path
              ) -> tuple[Path, pd.DataFrame, list[str]]:
    model = folder / "model_float32.tflite"
    frame = recording(test.inertial[:2], test.channel_names)
    options: list[str] = []
    if case == "missing channel":
        frame = frame.drop(columns=["gyro_y"])
    elif case == "NaN":
        frame.loc[10, "acc_x"] = np.nan
    elif case == "NaN time":
        frame["time"] = frame["time"].astype(object)
        frame.loc[7, "time"] = "n/a"
    elif case == "shorter than D":
        frame = frame.iloc[:100]
    elif case == "only short segments":
        frame = frame.drop(index=range(100, 200))  # 2 s, a 2 s gap, then 2 s.
    elif case == "time goes back":
        frame.loc[40, "time"] = 0.5
    elif case == "same time, other values":
        frame.loc[41, "time"] = frame.loc[40, "time"]
    elif case == "ambiguous unit":
        frame["time"] = np.arange(len(frame)) * 0.5  # 2 Hz in s or 2 kHz in ms.
    elif case == "implausible forced unit":
        frame["time"] = np.arange(len(frame)) * 20  # 0.05 Hz in seconds.
        options = ["--time-unit", "s"]
    elif case == "no rate fits":
        frame["time"] = np.arange(len(frame)) * 20.0 * 1e9 * 1e3  # 20000 s per step in ns.
    elif case == "rate disagrees":
        options = ["--rate", "60"]
    elif case == "time unit without time column":
        frame = frame.drop(columns=["time"])
        options = ["--time-unit", "ms"]
    elif case == "several time columns":
        frame.insert(1, "Timestamp", frame["time"])
    elif case == "unknown time column":
        options = ["--time-column", "clock"]
    elif case == "bad time unit":
        options = ["--time-unit", "minutes"]
    elif case == "no metadata":
        model = tmp_path / "lonely" / "model.tflite"
        model.parent.mkdir()
        shutil.copy(folder / "model_float32.tflite", model)
    elif case == "not a tflite":
        model = tmp_path / "fake" / "model.tflite"
        model.parent.mkdir()
        model.write_text("not a flatbuffer")
        shutil.copy(folder / "metadata.json", model.parent / "metadata.json")
    elif case == "wrong model type":
        model = folder / "saved_model" / "saved_model.pb"
    elif case == "metadata mismatch":
        model = tmp_path / "other" / "model.tflite"
        model.parent.mkdir()
        shutil.copy(folder / "model_float32.tflite", model)
        meta = json.loads((folder / "metadata.json").read_text())
        meta["class_names"] = meta["class_names"][:4]
        (model.parent / "metadata.json").write_text(json.dumps(meta))
    return model, frame, options


@pytest.mark.parametrize("case, message", [
    ("missing channel", "lacks channel column(s) gyro_y"),
    ("NaN", "column 'acc_x' at data row 11"),
    ("NaN time", "in column 'time', the first at data row 8"),
    ("shorter than D", "shorter than one 3.00 s window"),
    ("only short segments", "longest contiguous stretch lasts 2.00 s (2 segment(s) at 50 Hz), "
                            "shorter than one 3.00 s window"),
    ("time goes back", "column 'time' goes back in time at data row 41"),
    ("same time, other values", "data rows 41 and 42 have the same 'time' but different"),
    ("ambiguous unit", "median step 0.5 gives several plausible rate(s) (1..10000 Hz) for the "
                       "units tried (s: 2 Hz, ms: 2e+03 Hz)"),
    ("implausible forced unit", "in seconds (from the unit requested): median step 2e+04 ms, "
                                "0.05 Hz, outside the plausible 1..10000 Hz"),
    ("no rate fits", "gives no plausible rate(s)"),
    ("rate disagrees", "rate 60 Hz disagrees with the time column 'time' in seconds"),
    ("time unit without time column", "--time-unit ms: "),
    ("several time columns", "several time columns (time, Timestamp)"),
    ("unknown time column", "time column 'clock': no such column"),
    ("bad time unit", "argument --time-unit: invalid choice: 'minutes'"),
    ("no metadata", "no metadata.json beside"),
    ("not a tflite", "cannot load it with LiteRT"),
    ("wrong model type", "expected an existing .tflite file"),
    ("metadata mismatch", "its metadata.json says (1, 50, 6) and 4 classes"),
])
def test_bad_input_one_line_exit_2(bundle, tmp_path, capsys, case, message):
    folder, test = bundle
    model, frame, options = _bad_case(case, folder, test, tmp_path)
    try:
        code, table = run_predict(tmp_path, model, frame, *options)
    except SystemExit as exit_:  # argparse's own refusal of a bad choice.
        code, table = exit_.code, None
    captured = capsys.readouterr()
    err = captured.err.splitlines()[-1] + "\n"
    assert code == 2 and table is None
    assert err.startswith("error: ") and message in err, err
    assert captured.out == ""  # Nothing printed (nor written) before the refusal.
    assert not (tmp_path / "windows.csv").exists()


# The real-data test: a model small enough to train in under a minute on two CPU cores (64%
# test accuracy; it labels about 74% of the windows inside one segment right).
UTD_SETTINGS = ["runtime.verbose=0", "finetune.epochs=15", "finetune.batch_size=32",
                "finetune.learning_rate=0.003", "model.inertial.filters=[32,64,64]",
                "model.inertial.num_layers=1", "model.inertial.feedforward_dim=128",
                "model.inertial.reduction=mean"]


# Stream majority accuracy this small model reaches on the test subjects' streams: measured
# 0.38 (macro F1 0.37, tolerant 0.40; 1121 windows of 3.52 s) against a segment accuracy of
# 0.71. Whole recordings of 2 to 6.5 s were each squeezed into one window in training; a
# stream window is a fixed 3.52 s that often holds parts of two recordings.
STREAM_FLOOR = 0.3


def test_utd_mhad_recording_segments_are_labelled(utd_root, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHAR_DATA_DIR", str(utd_root.parent))
    run_dir, out = tmp_path / "run", tmp_path / "model"
    args = ["--config", str(ROOT / "configs" / "utd_mhad" / "supervised_inertial.yaml"),
            "--run-dir", str(run_dir)]
    assert train.main(args + [a for s in UTD_SETTINGS for a in ("--set", s)]) == 0
    assert export.main(["--run-dir", str(run_dir), "--out", str(out),
                        "--formats", "float32"]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    duration = meta["window"]["duration_s"]
    test = load_splits(load_config(run_dir / "config.yaml")).test
    probabilities = LiteRTModel(out / "model_float32.tflite").predict(test.inertial)
    # Per test subject, six sequences of different actions that the model gets right, each
    # lasting about one window (the model saw whole sequences in training): 24 segments.
    known = ((probabilities.argmax(1) == test.labels) & (probabilities.max(1) > 0.6)
             & (test.durations > 0.8 * duration) & (test.durations < 1.4 * duration))
    rows = [int(np.flatnonzero(known & (test.subjects == subject) & (test.labels == label))[0])
            for subject in (2, 4, 6, 8)
            for label in np.unique(test.labels[known & (test.subjects == subject)])[:6]]
    assert len(rows) == 24
    pieces = [scipy.io.loadmat(utd_root / "Inertial" / f"a{test.labels[i] + 1}_s"
                               f"{test.subjects[i]}_t{test.trials[i]}_inertial.mat")["d_iner"]
              for i in rows]
    bounds = np.cumsum([0] + [len(p) for p in pieces]) / meta["raw_rate_hz"]
    frame = pd.DataFrame(np.concatenate(pieces), columns=meta["channels"]["names"])
    code, table = run_predict(tmp_path, out / "model_float32.tflite", frame,
                              "--hop", str(duration / 4))
    assert code == 0
    # A window is judged where one segment holds most of it (over 75%), against that segment.
    overlap = (np.minimum(table["end_s"].to_numpy()[:, None], bounds[None, 1:])
               - np.maximum(table["start_s"].to_numpy()[:, None], bounds[None, :-1]))
    inside = overlap.max(1) > 0.75 * duration
    truth = np.array([test.class_names[test.labels[i]] for i in rows])[overlap.argmax(1)]
    share = np.mean(table["label"].to_numpy()[inside] == truth[inside])
    assert inside.sum() >= 30
    assert share >= 0.6, f"{share:.2f} of {inside.sum()} windows labelled right"
    # The export's stream evaluation: the test subjects' recordings as continuous streams.
    report = json.loads((out / "report.json").read_text())
    stream = report["stream"]["formats"]["float32"]
    assert report["stream"]["settings"]["subjects"] == [2, 4, 6, 8]
    assert stream["segment_accuracy"] == report["formats"]["float32"]["accuracy"]
    assert stream["num_windows"] > 1000
    assert stream["tolerant"]["accuracy"] >= stream["majority"]["accuracy"] >= STREAM_FLOOR
    assert stream["majority"]["macro_f1"] >= STREAM_FLOOR - 0.05
    # The command line gives the same figures (same seed: the run's, 0).
    assert evaluate_stream.main(["--model", str(out / "model_float32.tflite"), "--dataset",
                                 "utd_mhad", "--out", str(tmp_path / "stream.json")]) == 0
    figures = json.loads((tmp_path / "stream.json").read_text())
    assert {k: figures[k] for k in stream} == stream
