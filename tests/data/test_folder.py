"""The folder dataset (your own data) on tiny layouts written here: what a record holds, the
dataset's own protocol, the cache and the summary.

Every inertial channel is a linear function of time, so interpolation onto the regular grid
reproduces it exactly: the loader's windows must equal that function sampled on the
declared-rate grid from the first timestamp, FFT-resampled with scipy, whatever the timestamps.
"""

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import yaml

import tfhar.data
from tfhar.data import DataError
from tfhar.data.summary import describe

T0 = 1_700_000_000.0  # Unix time, as a phone writes it.
RATE, SKELETON_RATE = 32.0, 30.0
CHANNELS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
JOINTS = ("pelvis", "spine", "neck", "head")
LABELS = ("wave", "Walk", "sit")  # Sorted by code point: Walk, sit, wave.
SUBJECTS = (1, 2, 3, 4)
SPEC = {
    "name": "my_watch_study",
    "inertial": {
        "rate_hz": RATE,
        "channels": list(CHANNELS),
        "units": ["m/s^2"] * 3 + ["rad/s"] * 3,
        "sensors": {"watch_gyro": ["gyro_x", "gyro_y", "gyro_z"],
                    "watch_acc": ["acc_x", "acc_y", "acc_z"]},
    },
    "skeleton": {"rate_hz": SKELETON_RATE, "joints": list(JOINTS), "center_joint": "spine",
                 "scale_joints": ["spine", "neck"]},
    "splits": {"train": [1, 2], "val": [3], "test": [4]},
}


def coefficients(sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """(a, b), (6,) each: channel c of `sequence` is a_c + b_c (t - T0)."""
    seed = sum(ord(ch) * (i + 1) for i, ch in enumerate(sequence))
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, len(CHANNELS)), rng.uniform(-1, 1, len(CHANNELS))


def line(sequence: str, times: np.ndarray) -> np.ndarray:
    a, b = coefficients(sequence)
    return a + b * (np.asarray(times, np.float64)[:, None] - T0)


def jittered_times(duration: float = 3.0, rate: float = RATE, seed: int = 0) -> np.ndarray:
    """Timestamps at ~`rate` with +-4 ms jitter, from T0 + 0.25 s."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, duration, 1 / rate)
    times[1:-1] += rng.uniform(-0.004, 0.004, len(times) - 2)
    return T0 + 0.25 + times


def write_csv(root: Path, sequence: str, times: np.ndarray | None, values: np.ndarray | None = None,
              time_column: str = "timestamp", extra: bool = True) -> Path:
    """inertial/<sequence>.csv: columns shuffled, an extra column, an optional time column."""
    import pandas as pd

    values = line(sequence, times if times is not None else T0 + np.arange(96) / RATE) \
        if values is None else values
    columns = {name: values[:, c] for c, name in enumerate(CHANNELS)}
    order = ["gyro_z", "acc_y", "acc_x", "gyro_x", "acc_z", "gyro_y"]
    frame = pd.DataFrame({name: columns[name] for name in order})
    if extra:
        frame.insert(2, "battery", 0.9)
    if times is not None:
        frame.insert(0, time_column, times)
    (root / "inertial").mkdir(parents=True, exist_ok=True)
    path = root / "inertial" / f"{sequence}.csv"
    frame.to_csv(path, index=False, float_format="%.9f")
    return path


def skeleton_frames(sequence: str, frames: int = 90, dims: int = 3) -> np.ndarray:
    rng = np.random.default_rng(len(sequence) + 7 * frames)
    pose = rng.normal(size=(1, len(JOINTS), dims)) + np.arange(len(JOINTS))[None, :, None]
    return pose + 0.05 * rng.normal(size=(frames, len(JOINTS), dims))


def write_npy(root: Path, sequence: str, array: np.ndarray | None = None) -> Path:
    (root / "skeleton").mkdir(parents=True, exist_ok=True)
    path = root / "skeleton" / f"{sequence}.npy"
    np.save(path, skeleton_frames(sequence) if array is None else array)
    return path


def write_labels(root: Path, rows: list[tuple], header: str = "sequence,label,subject") -> Path:
    path = root / "labels.csv"
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def write_spec(root: Path, spec: dict | None = None) -> Path:
    path = root / "dataset.yaml"
    path.write_text(yaml.safe_dump(SPEC if spec is None else spec, sort_keys=False))
    return path


def sequence_names() -> list[tuple[str, str, int]]:
    return [(f"s{s}_{label.lower()}", label, s) for s in SUBJECTS for label in LABELS]


def write_folder(root: Path, spec: dict | None = None) -> Path:
    """12 sequences (3 labels x 4 subjects), both modalities, jittered ~32 Hz timestamps."""
    rows = sequence_names()
    for i, (sequence, _, _) in enumerate(rows):
        write_csv(root, sequence, jittered_times(seed=i))
        write_npy(root, sequence)
    write_labels(root, rows)
    write_spec(root, spec)
    return root


def expected_inertial(sequence: str, first_time: float, last_time: float,
                      window_length: int = 50) -> np.ndarray:
    """The line on the 32 Hz grid from the first to the last timestamp, FFT-resampled."""
    grid = first_time + np.arange(int(np.floor((last_time - first_time) * RATE + 1e-9)) + 1) / RATE
    return scipy.signal.resample(line(sequence, grid), window_length, axis=0)


def expected_skeleton(frames: np.ndarray, window_length: int = 50) -> np.ndarray:
    r = scipy.signal.resample(frames, window_length, axis=0)
    spine, neck = JOINTS.index("spine"), JOINTS.index("neck")
    return (r - r[0, spine]) / np.linalg.norm(r[0, spine] - r[0, neck])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "mine")


def load(root: Path, **options):
    return tfhar.data.load("folder", root=root, cache=False, **options)


def test_a_record_holds_what_dataset_yaml_and_labels_csv_say(folder):
    record = load(folder)
    rows = sequence_names()
    assert record.name == "my_watch_study" and len(record) == 12
    assert record.class_names == ("Walk", "sit", "wave")
    np.testing.assert_array_equal(record.labels, [("Walk", "sit", "wave").index(r[1])
                                                  for r in rows])
    np.testing.assert_array_equal(record.subjects, [r[2] for r in rows])
    np.testing.assert_array_equal(record.trials, np.ones(12))
    assert record.sessions is None
    assert record.channel_names == CHANNELS
    assert record.channel_units == ("m/s^2",) * 3 + ("rad/s",) * 3
    assert record.channel_groups == ((3, 4, 5), (0, 1, 2))  # In `sensors` order.
    assert record.joint_names == JOINTS
    assert (record.inertial_rate_hz, record.skeleton_rate_hz) == (RATE, SKELETON_RATE)
    assert record.inertial.shape == (12, 50, 6) and record.inertial.dtype == np.float32
    assert record.skeleton.shape == (12, 50, 4, 3)
    assert record.protocols["dataset"] == tfhar.data.splits.Protocol((1, 2), (3,), (4,))


def test_inertial_windows_are_the_signal_on_the_declared_grid(folder):
    record = load(folder, window_length=40)
    for i, (sequence, _, _) in enumerate(sequence_names()):
        times = jittered_times(seed=i)
        np.testing.assert_allclose(record.inertial[i],
                                   expected_inertial(sequence, times[0], times[-1], 40),
                                   atol=2e-5)
        samples = int(np.floor((times[-1] - times[0]) * RATE + 1e-9)) + 1
        assert record.durations[i] == pytest.approx(samples / RATE)


def test_skeletons_are_resampled_then_normalized_on_the_first_frame(folder):
    record = load(folder)
    for i, (sequence, _, _) in enumerate(sequence_names()):
        np.testing.assert_allclose(record.skeleton[i], expected_skeleton(
            skeleton_frames(sequence)), atol=1e-5)


def test_joints_may_be_named_by_index_and_2d_skeletons_load(tmp_path):
    spec = {**SPEC, "skeleton": {**SPEC["skeleton"], "center_joint": 1, "scale_joints": [1, 2]}}
    root = write_folder(tmp_path / "mine", spec)
    for sequence, _, _ in sequence_names():
        write_npy(root, sequence, skeleton_frames(sequence, dims=2))
    record = load(root, modalities=("skeleton",))
    assert record.skeleton.shape == (12, 50, 4, 2) and record.inertial is None
    np.testing.assert_allclose(record.skeleton[0], expected_skeleton(
        skeleton_frames(sequence_names()[0][0], dims=2)), atol=1e-5)
    assert record.durations[0] == pytest.approx(90 / SKELETON_RATE)


def test_without_a_time_column_samples_are_taken_at_the_declared_rate(tmp_path):
    root = write_folder(tmp_path / "mine")
    sequence = sequence_names()[0][0]
    values = line(sequence, T0 + np.arange(100) / RATE)
    write_csv(root, sequence, None, values)
    record = load(root)
    np.testing.assert_allclose(record.inertial[0], scipy.signal.resample(values, 50, axis=0),
                               atol=2e-5)
    assert record.durations[0] == pytest.approx(100 / RATE)
    assert "measured from the timestamps of 11 of 12 files" in record.source


@pytest.mark.parametrize(("column", "scale"), [("Timestamp", 1.0), ("time_ms", 1e3),
                                               ("TIME", 1e3), ("timestamp", 1e9)])
def test_time_columns_in_any_case_and_unit_give_the_same_windows(tmp_path, column, scale):
    root = write_folder(tmp_path / "mine")
    sequence = sequence_names()[0][0]
    times = jittered_times(seed=0)
    values = line(sequence, times)
    raw = np.round((times - T0) * scale) if scale == 1e9 else (times - T0) * scale
    write_csv(root, sequence, raw.astype(np.int64) if scale == 1e9 else raw, values,
              time_column=column)
    record = load(root)
    np.testing.assert_allclose(record.inertial[0], expected_inertial(sequence, times[0],
                                                                      times[-1]), atol=1e-4)


def test_sessions_and_trials_come_from_labels_csv(tmp_path):
    root = write_folder(tmp_path / "mine")
    rows = [(*row, 1 + i % 2, 5 + i) for i, row in enumerate(sequence_names())]
    write_labels(root, rows, "sequence,label,subject,session,trial")
    record = load(root)
    np.testing.assert_array_equal(record.sessions, [1 + i % 2 for i in range(12)])
    np.testing.assert_array_equal(record.trials, [5 + i for i in range(12)])
    assert tfhar.data.split(record, "dataset")["test"].sessions.tolist() == [2, 1, 2]


def test_the_datasets_splits_are_its_protocol(folder):
    parts = tfhar.data.split(load(folder), "dataset")
    assert sorted(set(parts["train"].subjects.tolist())) == [1, 2]
    assert parts["val"].subjects.tolist() == [3, 3, 3]
    assert parts["test"].subjects.tolist() == [4, 4, 4]


def test_without_splits_the_generic_protocols_work(tmp_path):
    root = write_folder(tmp_path / "mine", {k: v for k, v in SPEC.items() if k != "splits"})
    record = load(root)
    assert record.protocols == {}
    parts = tfhar.data.split(record, "leave_subjects_out", {"test": [2], "val": [4]})
    assert sorted(set(parts["train"].subjects.tolist())) == [1, 3]
    with pytest.raises(DataError, match="unknown protocol 'dataset'"):
        tfhar.data.split(record, "dataset")


def test_subjects_in_no_split_are_named_in_a_warning(tmp_path):
    spec = {**SPEC, "splits": {"train": [1], "test": [4]}}
    root = write_folder(tmp_path / "mine", spec)
    with pytest.warns(UserWarning, match=r"subjects \[2, 3\] of labels.csv are in no split"):
        record = load(root)
    assert record.protocols["dataset"].val is None


def test_the_modalities_default_to_those_declared(tmp_path):
    spec = {k: v for k, v in SPEC.items() if k != "skeleton"}
    root = write_folder(tmp_path / "mine", spec)
    record = load(root)
    assert record.modalities == ("inertial",) and record.joint_names == ()
    assert load(root, modalities="inertial").inertial.shape == (12, 50, 6)


def test_the_registry_and_its_options(folder):
    assert "folder" in tfhar.data.available_datasets()
    assert tfhar.data.loader_options("folder") == {
        "modalities": None, "window_length": 50, "cache": True, "cache_dir": None,
        "on_error": "raise"}


def test_a_second_load_reads_the_cache(folder, tmp_path, monkeypatch):
    from tfhar.data.datasets import folder as folder_module

    first = tfhar.data.load("folder", root=folder, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(folder_module, "_build", lambda *a, **k: pytest.fail("not cached"))
    second = tfhar.data.load("folder", root=folder, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(first.inertial, second.inertial)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert first.source == second.source and second.channel_groups == first.channel_groups


def test_the_summary_gives_counts_durations_and_measured_rates(folder):
    record = load(folder)
    text = describe(record)
    measured = [1 / np.median(np.diff(jittered_times(seed=i))) for i in range(12)]
    durations = record.durations
    assert "my_watch_study: 12 sequences, 3 classes, 4 subjects [1, 2, 3, 4]" in text
    assert (f"inertial rate: declared 32 Hz; measured from the timestamps of 12 of 12 files: "
            f"median {np.median(measured):.4g} Hz (files {min(measured):.4g}.."
            f"{max(measured):.4g} Hz)") in text
    assert "12 of 12 sequences in labels.csv kept" in text
    assert (f"durations: min {durations.min():.2f} s, median {np.median(durations):.2f} s, "
            f"max {durations.max():.2f} s") in text
    assert "sequences per subject: 1: 3, 2: 3, 3: 3, 4: 3" in text
    assert "sequences per modality: inertial 12, skeleton 12" in text
    assert "three-axis sensors (rotated together): gyro_x, gyro_y, gyro_z; acc_x, acc_y" in text
    assert "protocol 'dataset' (the dataset's own, by subjects): train [1, 2], val [3], " \
           "test [4]" in text
    assert "   0 Walk (4)" in text and "   2 wave (4)" in text


def test_the_data_command_line_summarises_a_folder(folder, capsys):
    from tfhar.data.__main__ import main

    assert main(["summary", "folder", "--root", str(folder), "--no-cache"]) == 0
    assert "my_watch_study: 12 sequences, 3 classes" in capsys.readouterr().out


def test_loading_a_folder_does_not_import_tensorflow(folder):
    import subprocess
    import sys

    code = ("import sys, tfhar.data; from tfhar.data.summary import describe; "
            f"describe(tfhar.data.load('folder', root={str(folder)!r}, cache=False)); "
            "print('tensorflow' in sys.modules)")
    project = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"
