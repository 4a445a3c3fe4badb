"""The Berkeley-MHAD loader on miniature layouts with the release's quirks: unsynchronised
units, bursts, repeated timestamps, a glitch, packet gaps, missing and misplaced files.

Every accelerometer channel is a linear function of time, so linear interpolation reproduces
it exactly: the loader's output must be that function sampled on a 30 Hz grid over the units'
common interval, FFT-resampled, whatever the timestamps look like.
"""

import re

import numpy as np
import pytest
import scipy.signal

import tfhar.data
from tfhar.data import DataError
from tfhar.data import timeseries as ts
from tfhar.data.datasets import berkeley_mhad

# The quirky trial's glitch is reported on every load; the tests that check it use pytest.warns.
pytestmark = pytest.mark.filterwarnings("ignore:Berkeley-MHAD.*glitch samples:UserWarning")

T0 = 1_309_539_264.0  # Unix time, as in the release.
KEYS = ((2, 1, 3), (1, 2, 1), (1, 1, 1))  # (action, subject, repetition), unsorted.
QUIRKY = (1, 1, 1)
RATE = 31.0  # The units' real rate; the grid is 30 Hz.


def signal(key, unit, times):
    """(T, 3): channel value = a + b (t - T0), a and b distinct per key, unit and axis."""
    action, subject, repetition = key
    axis = np.arange(3)
    a = 0.1 * unit - 0.3 * axis + 0.05 * action - 0.02 * subject + 0.01 * repetition
    b = 0.02 * (unit - 3.5) + 0.01 * axis - 0.005 * action
    return a + b * (np.asarray(times)[:, None] - T0)


def unit_times(unit, start=0.0, stop=4.0, seed=0):
    """Receive times at ~31 Hz with +-8 ms jitter from T0 + start to T0 + stop."""
    rng = np.random.default_rng(seed + 10 * unit)
    times = np.arange(start, stop, 1 / RATE)
    times[1:-1] += rng.uniform(-0.008, 0.008, len(times) - 2)
    return T0 + np.round(np.sort(times), 6)


def write_unit(root, key, unit, times, values=None):
    action, subject, repetition = key
    folder = root / "Accelerometer" / f"Shimmer{unit:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"acc_h{unit:02d}_s{subject:02d}_a{action:02d}_r{repetition:02d}.txt"
    values = signal(key, unit, times) if values is None else values
    np.savetxt(path, np.column_stack([values, times]), fmt="%.9f")
    return path


def quirky_units(key):
    """{unit: (times, values)} with every quirk of the release, in one trial."""
    units = {u: unit_times(u, start=0.05 * u, stop=4.0 - 0.04 * u) for u in range(1, 7)}
    units[2] = unit_times(2, start=0.6)  # Starts late: the overlap begins here.
    units[1] = unit_times(1, stop=3.2)  # Stops early: the overlap ends here.
    values = {u: signal(key, u, t) for u, t in units.items()}
    burst = units[3]  # A backlog: ten packets within 100 us.
    burst[40:50] = burst[40] + np.arange(10) * 1e-5
    t4 = np.repeat(units[4], 2)  # Every timestamp twice: values +-0.1 around the line.
    values[4] = np.repeat(values[4], 2, axis=0) + np.tile([[0.1], [-0.1]], (len(units[4]), 3))
    units[4] = t4
    values[5][60, 1] = 30.0  # A glitch far above the +-2 g range.
    keep = (units[6] < T0 + 1.5) | (units[6] > T0 + 2.5)  # A packet gap of about 1 s.
    units[6], values[6] = units[6][keep], values[6][keep]
    values[3] = signal(key, 3, units[3])
    return {u: (units[u], values[u]) for u in units}


def write_layout(root, keys=KEYS, units_of=None):
    """Write the official layout for `keys`; returns {key: {unit: times}}."""
    written = {}
    for key in keys:
        units = (units_of or {}).get(key) or (
            quirky_units(key)
            if key == QUIRKY
            else {u: (unit_times(u, 0.02 * u), None) for u in range(1, 7)}
        )
        written[key] = {}
        for unit, (times, values) in units.items():
            write_unit(root, key, unit, times, values)
            written[key][unit] = times
    return written


def expected(key, times_by_unit, window_length=50, rate=30.0):
    """The reference: each unit's line sampled on the common grid, then FFT-resampled."""
    start = max(t[0] for t in times_by_unit.values())
    end = min(t[-1] for t in times_by_unit.values())
    grid = start + np.arange(int(np.floor((end - start) * rate + 1e-9)) + 1) / rate
    lines = np.concatenate([signal(key, u, grid) for u in range(1, 7)], axis=1)
    return scipy.signal.resample(lines, window_length, axis=0), (len(grid) - 1) / rate


def _load(root, cache_dir, **options):
    options.setdefault("modalities", ("inertial",))
    return tfhar.data.load("berkeley_mhad", root, cache_dir=cache_dir, **options)


def _row(record, key):
    action, subject, repetition = key
    (row,) = np.flatnonzero(
        (record.labels == action - 1) & (record.subjects == subject) & (record.trials == repetition)
    )
    return row


@pytest.fixture
def root(tmp_path):
    return tmp_path / "berkeley_mhad"


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def test_each_unit_comes_out_as_its_line_on_the_common_grid(root, cache_dir):
    written = write_layout(root)
    record = _load(root, cache_dir)
    assert record.inertial.shape == (3, 50, 18) and record.inertial.dtype == np.float32
    for key in KEYS:
        reference, duration = expected(key, written[key])
        np.testing.assert_allclose(record.inertial[_row(record, key)], reference, atol=1e-5)
        assert record.durations[_row(record, key)] == pytest.approx(duration, abs=1e-6)
    # The quirky trial's common interval: unit 2's start (0.6 s) to unit 1's end (~3.2 s).
    assert record.durations[_row(record, QUIRKY)] == pytest.approx(2.6, abs=0.05)


def test_rows_are_sorted_and_labelled(root, cache_dir):
    write_layout(root)
    record = _load(root, cache_dir)
    np.testing.assert_array_equal(record.labels, [0, 0, 1])
    np.testing.assert_array_equal(record.subjects, [1, 2, 1])
    np.testing.assert_array_equal(record.trials, [1, 1, 3])


def test_metadata(root, cache_dir):
    write_layout(root)
    record = _load(root, cache_dir)
    assert record.name == "berkeley_mhad" and record.num_classes == 11
    assert record.class_names[0] == "jumping in place" and record.class_names[10] == "stand up"
    assert record.class_names[5] == "waving one hand (right)"
    assert record.channel_names[:4] == ("h01_acc_x", "h01_acc_y", "h01_acc_z", "h02_acc_x")
    assert record.channel_names[-1] == "h06_acc_z" and len(record.channel_names) == 18
    assert record.channel_units == ("g",) * 18
    assert record.inertial_rate_hz == 30.0 and record.skeleton is None
    repeats = len(unit_times(4, start=0.2, stop=3.84))  # Unit 4 repeats every timestamp.
    assert (
        f"30 Hz grid over the six units' common interval: 1 glitch samples (|a| > 2.5 g) "
        f"dropped, {repeats} repeated timestamps merged, gaps up to 1.0" in record.source
    )


def test_glitches_are_counted_in_a_warning_naming_the_file(root, cache_dir):
    write_layout(root)
    with pytest.warns(
        UserWarning,
        match=re.escape(
            "Berkeley-MHAD: 1 sequences with 1 glitch samples (|a| > 2.5 g) interpolated, "
            "3 sequences kept: s01_a01_r01 (acc_h05_s01_a01_r01.txt: 1)"
        ),
    ):
        _load(root, cache_dir)


def test_the_glitch_is_what_dropping_removes(root, cache_dir):
    written = write_layout(root)
    record = _load(root, cache_dir, glitch_g=100.0)  # Keeps the 30 g sample.
    reference, _ = expected(QUIRKY, written[QUIRKY])
    error = np.abs(record.inertial[_row(record, QUIRKY)] - reference)
    assert error[:, 13].max() > 0.5  # Unit 5, y.
    np.testing.assert_allclose(np.delete(error, 13, axis=1), 0, atol=1e-5)


def test_grid_rate_and_window_length_are_options(root, cache_dir):
    written = write_layout(root)
    record = _load(root, cache_dir, grid_rate_hz=50.0, window_length=20)
    assert record.inertial_rate_hz == 50.0
    reference, _ = expected(KEYS[0], written[KEYS[0]], window_length=20, rate=50.0)
    np.testing.assert_allclose(record.inertial[_row(record, KEYS[0])], reference, atol=1e-5)


def _gap_units(key, gap_seconds):
    units = {u: (unit_times(u), None) for u in range(1, 7)}
    times = units[6][0]
    units[6] = (times[(times < T0 + 1.0) | (times > T0 + 1.0 + gap_seconds)], None)
    return {key: units}


def test_a_gap_longer_than_max_gap_raises_naming_the_file(root, cache_dir):
    write_layout(root, units_of=_gap_units(KEYS[0], 2.0))
    with pytest.raises(DataError, match=r"no samples for 2\.0\d s .*up to 1\.5 s") as error:
        _load(root, cache_dir)
    assert "Shimmer06/acc_h06_s01_a02_r03.txt" in str(error.value)
    written = write_layout(root, units_of=_gap_units(KEYS[0], 2.0))
    record = _load(root, cache_dir, max_gap_s=2.5)  # Bridged: the line is exact again.
    reference, _ = expected(KEYS[0], written[KEYS[0]])
    np.testing.assert_allclose(record.inertial[_row(record, KEYS[0])], reference, atol=1e-5)


def _late_unit(root):
    units = {u: (unit_times(u), None) for u in range(1, 7)}
    units[2] = (unit_times(2, start=3.5), None)  # Overlaps the others for 0.5 s only.
    write_layout(root, units_of={KEYS[1]: units})
    return root / "Accelerometer" / "Shimmer02" / "acc_h02_s02_a01_r01.txt"


def test_a_tiny_overlap_raises_naming_the_late_unit(root, cache_dir):
    path = _late_unit(root)
    with pytest.raises(DataError, match=r"overlap for only 0\.4\d s .*starts 3\.5\d s late"):
        _load(root, cache_dir)
    with pytest.raises(DataError, match=re.escape(str(path))):
        _load(root, cache_dir)


def test_min_overlap_applies_to_a_fraction_of_the_trial_too(root, cache_dir):
    units = {u: (unit_times(u, stop=10.0), None) for u in range(1, 7)}
    units[5] = (unit_times(5, stop=3.0), None)  # 3 s of 10: under 40% of the trial.
    write_layout(root, keys=(KEYS[0],), units_of={KEYS[0]: units})
    with pytest.raises(DataError, match=r"Shimmer05.*stops 7\.0\d s early.*40%"):
        _load(root, cache_dir)


def _missing_unit(root):
    path = root / "Accelerometer" / "Shimmer03" / "acc_h03_s01_a02_r03.txt"
    path.unlink()
    return path, "missing, but other units"


def _corrupt(root):
    path = root / "Accelerometer" / "Shimmer01" / "acc_h01_s02_a01_r01.txt"
    path.write_bytes(b"\x00\x01 this is not text \xff" * 20)
    return path, "cannot read rows"


def _empty(root):
    path = root / "Accelerometer" / "Shimmer04" / "acc_h04_s01_a01_r01.txt"
    path.write_text("")
    return path, "0 rows"


def _three_columns(root):
    path = root / "Accelerometer" / "Shimmer02" / "acc_h02_s01_a02_r03.txt"
    path.write_text("0.1 0.2 0.3\n0.1 0.2 0.3\n")
    return path, "2 rows of 3 columns; expected at least 2 rows of 4 columns"


def _ragged(root):
    path = root / "Accelerometer" / "Shimmer05" / "acc_h05_s02_a01_r01.txt"
    path.write_text(path.read_text() + "0.1 0.2 1309539300.0\n")
    return path, "cannot read rows"


def _nan(root):
    path = root / "Accelerometer" / "Shimmer06" / "acc_h06_s01_a02_r03.txt"
    lines = path.read_text().splitlines()
    lines[5] = "nan " + lines[5].split(" ", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    return path, "1 NaN/Inf"


def _backwards(root):
    path = root / "Accelerometer" / "Shimmer01" / "acc_h01_s01_a02_r03.txt"
    rows = np.loadtxt(path)
    rows[[10, 11]] = rows[[11, 10]]
    np.savetxt(path, rows, fmt="%.9f")
    return path, "timestamps go backwards at row 12"


def _one_row(root):
    path = root / "Accelerometer" / "Shimmer02" / "acc_h02_s02_a01_r01.txt"
    path.write_text("0.1 0.2 0.3 1309539264.5\n")
    return path, "1 rows of 4 columns"


def _subject_13(root):
    return write_unit(root, (1, 13, 1), 1, unit_times(1)), "subject 13 outside .*1..12"


def _action_12(root):
    return write_unit(root, (12, 1, 1), 1, unit_times(1)), "action 12 outside .*1..11"


def _repetition_6(root):
    return write_unit(root, (1, 1, 6), 1, unit_times(1)), "repetition 6 outside .*1..5"


def _sensor_7(root):
    return write_unit(root, (1, 1, 1), 7, unit_times(7)), "sensor 07 in folder Shimmer07"


def _sensor_in_another_folder(root):
    source = root / "Accelerometer" / "Shimmer03" / "acc_h03_s01_a01_r01.txt"
    path = root / "Accelerometer" / "Shimmer04" / source.name
    path.write_bytes(source.read_bytes())
    return path, "sensor 03 in folder Shimmer04"


BAD = {
    f.__name__.lstrip("_"): f
    for f in (
        _missing_unit,
        _corrupt,
        _empty,
        _three_columns,
        _ragged,
        _nan,
        _backwards,
        _one_row,
        _subject_13,
        _action_12,
        _repetition_6,
        _sensor_7,
        _sensor_in_another_folder,
    )
}
# Files outside the grid are extra files: the three real sequences stay.
KEPT = {
    "subject_13": 3,
    "action_12": 3,
    "repetition_6": 3,
    "sensor_7": 3,
    "sensor_in_another_folder": 3,
}


@pytest.mark.parametrize("case", BAD)
def test_bad_file_raises_naming_the_file(root, cache_dir, case):
    write_layout(root)
    path, message = BAD[case](root)
    with pytest.raises(DataError, match=message) as error:
        _load(root, cache_dir)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("case", BAD)
def test_bad_file_is_skipped_and_counted_on_request(root, cache_dir, case):
    write_layout(root)
    path, _ = BAD[case](root)
    message = r"Berkeley-MHAD: 1 bad files or sequences left out \(on_error='skip'\)"
    with pytest.warns(UserWarning, match=message) as w:
        record = _load(root, cache_dir, on_error="skip")
    assert len(record) == KEPT.get(case, 2)
    assert path.name in str(w[0].message)


def test_skip_counts_every_bad_file(root, cache_dir):
    write_layout(root)
    _corrupt(root), _nan(root), _sensor_7(root)
    with pytest.warns(UserWarning, match="3 bad files or sequences left out .*, 1 sequences kept"):
        assert len(_load(root, cache_dir, on_error="skip")) == 1


def test_nothing_usable_raises(root, cache_dir):
    write_layout(root, keys=(KEYS[0],))
    _three_columns(root)
    with pytest.raises(DataError, match="no usable Berkeley-MHAD sequences .*1 skipped"):
        _load(root, cache_dir, on_error="skip")


def test_missing_root_says_where_to_get_the_data(tmp_path):
    with pytest.raises(DataError, match="not found: .*nowhere does not exist.*tele-immersion"):
        tfhar.data.load("berkeley_mhad", tmp_path / "nowhere", cache=False)


def test_inertial_needs_only_the_accelerometer_folder_and_skeleton_says_so(root, cache_dir):
    write_layout(root)
    assert len(_load(root, cache_dir)) == 3  # No Mocap folder.
    with pytest.raises(DataError) as error:
        _load(root, cache_dir, modalities=("inertial", "skeleton"))
    message = str(error.value)
    assert "\n" not in message
    assert str(root / "Mocap" / "SkeletalData") in message and "('inertial',)" in message


def test_second_load_comes_from_the_cache(root, cache_dir, monkeypatch):
    write_layout(root)
    first = _load(root, cache_dir)

    def fail(*args, **kwargs):
        raise AssertionError("np.loadtxt called although the cache is valid")

    monkeypatch.setattr(np, "loadtxt", fail)
    second = _load(root, cache_dir)
    np.testing.assert_array_equal(second.inertial, first.inertial)
    assert second.source == first.source
    with pytest.raises(AssertionError, match="loadtxt called"):
        _load(root, cache_dir, max_gap_s=1.0)  # Other settings: another cache entry.


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"window_length": 1}, "window_length=1"),
        ({"grid_rate_hz": 0}, "grid_rate_hz=0"),
        ({"max_gap_s": "long"}, "max_gap_s='long'"),
        ({"modalities": ("depth",)}, "modalities=('depth',)"),
        ({"on_error": "ignore"}, "on_error='ignore'"),
        ({"scale_joints": "Neck"}, "scale_joints='Neck'"),
    ],
)
def test_bad_options_are_echoed(root, cache_dir, option, message):
    write_layout(root, keys=(KEYS[0],))
    with pytest.raises(DataError, match=re.escape(message)):
        _load(root, cache_dir, **option)


def test_repeated_timestamps_are_averaged():
    times = np.array([0.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    values = np.array([[1.0], [2.0], [4.0], [0.0], [3.0], [6.0]])
    unique, merged, count = ts.merge_repeated(times, values)
    np.testing.assert_array_equal(unique, [0, 1, 2])
    np.testing.assert_array_equal(merged[:, 0], [1, 3, 3])
    assert count == 3


def test_largest_gap_only_looks_inside_the_interval():
    times = np.array([0.0, 3.0, 3.1, 3.2, 4.0, 9.0])
    assert ts.largest_gap(times, 3.05, 3.9) == pytest.approx((0.8, 3.2))
    assert ts.largest_gap(times, 2.0, 3.15) == pytest.approx((3.0, 0.0))
    assert ts.largest_gap(times, 3.05, 4.5) == pytest.approx((5.0, 4.0))  # Reaches past 4.0.


def test_regular_grid_includes_the_end_when_it_falls_on_the_grid():
    np.testing.assert_allclose(ts.regular_grid(1.0, 2.0, 4.0), [1, 1.25, 1.5, 1.75, 2])
    assert len(ts.regular_grid(0.0, 0.99, 4.0)) == 4


# Skeletons: a root that translates, three joints above it and one leg; no rotation, so the
# joint positions are the translation plus the summed offsets (forward kinematics itself is
# tested in test_bvh.py).
OFFSETS = {"Hips": (0, 90, 0), "spine": (0, 8, 1), "Neck": (0, 40, -2), "LeftUpLeg": (10, -5, 0)}
PARENTS = {"Hips": None, "spine": "Hips", "Neck": "spine", "LeftUpLeg": "Hips"}
FRAME_TIME = 1 / 480


def translation(key, num_frames):
    time = np.arange(num_frames) * FRAME_TIME
    action, subject, _ = key
    return np.stack([5 * np.sin(3 * time + action), 2 * time * subject, -time], axis=1)


def write_bvh(root, key, num_frames=700, joints=("Hips", "spine", "Neck", "LeftUpLeg")):
    moves = translation(key, num_frames)
    body = [
        "HIERARCHY",
        "ROOT Hips",
        "{",
        "OFFSET 0 90 0",
        "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
        "JOINT spine",
        "{",
        "OFFSET 0 8 1",
        "CHANNELS 3 Zrotation Xrotation Yrotation",
        "JOINT Neck",
        "{",
        "OFFSET 0 40 -2",
        "CHANNELS 3 Zrotation Xrotation Yrotation",
        "End Site",
        "{",
        "OFFSET 0 10 0",
        "}",
        "}",
        "}",
        "JOINT LeftUpLeg",
        "{",
        "OFFSET 10 -5 0",
        "CHANNELS 3 Zrotation Xrotation Yrotation",
        "End Site",
        "{",
        "OFFSET 0 -40 0",
        "}",
        "}",
        "}",
    ]
    text = "\n".join(body).replace("JOINT Neck", f"JOINT {joints[2]}")
    rows = np.concatenate([moves, np.zeros((num_frames, 12))], axis=1)
    text += f"\nMOTION\nFrames: {num_frames}\nFrame Time: {FRAME_TIME:.10f}\n"
    text += "\n".join(" ".join(f"{v:.6f}" for v in row) for row in rows) + "\n"
    action, subject, repetition = key
    folder = root / "Mocap" / "SkeletalData"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"skl_s{subject:02d}_a{action:02d}_r{repetition:02d}.bvh"
    path.write_text(text)
    return path


def skeleton_reference(key, num_frames=700, normalize=True):
    joints = {}
    for name, parent in PARENTS.items():
        base = translation(key, num_frames) if parent is None else joints[parent]
        joints[name] = base + np.array(OFFSETS[name], float)
    positions = scipy.signal.resample(np.stack(list(joints.values()), axis=1), 50, axis=0)
    if not normalize:
        return positions
    first = positions[0]
    return (positions - first[1]) / np.linalg.norm(first[2] - first[1])  # spine; Neck - spine


def test_skeleton_only_needs_the_mocap_folder(root, cache_dir):
    for key in KEYS:
        write_bvh(root, key)
    record = _load(root, cache_dir, modalities=("skeleton",))
    assert record.modalities == ("skeleton",) and record.skeleton.shape == (3, 50, 4, 3)
    assert record.joint_names == ("Hips", "spine", "Neck", "LeftUpLeg")
    assert record.skeleton_rate_hz == 480.0
    np.testing.assert_allclose(record.durations, 700 / 480, rtol=1e-5)
    for key in KEYS:
        np.testing.assert_allclose(
            record.skeleton[_row(record, key)], skeleton_reference(key), atol=1e-4
        )


def test_skeleton_normalization_options(root, cache_dir):
    write_bvh(root, KEYS[0])
    raw = _load(root, cache_dir, modalities=("skeleton",), normalize_skeleton=False)
    np.testing.assert_allclose(
        raw.skeleton[0], skeleton_reference(KEYS[0], normalize=False), atol=1e-3
    )
    hips = _load(
        root,
        cache_dir,
        modalities=("skeleton",),
        center_joint="Hips",
        scale_joints=("Hips", "LeftUpLeg"),
    )
    np.testing.assert_allclose(hips.skeleton[0, 0, 0], 0, atol=1e-6)
    assert np.linalg.norm(hips.skeleton[0, 0, 3] - hips.skeleton[0, 0, 0]) == pytest.approx(1)


def test_a_missing_normalization_joint_is_named(root, cache_dir):
    path = write_bvh(root, KEYS[0], joints=("Hips", "spine", "Chest", "LeftUpLeg"))
    with pytest.raises(DataError, match="no joint 'Neck' .*Hips, spine, Chest") as error:
        _load(root, cache_dir, modalities=("skeleton",))
    assert str(path) in str(error.value)


def test_files_with_other_joints_raise(root, cache_dir):
    write_bvh(root, KEYS[1])
    path = write_bvh(root, KEYS[0], joints=("Hips", "spine", "Chest", "LeftUpLeg"))
    with pytest.raises(DataError, match="differ from the other files") as error:
        _load(root, cache_dir, modalities=("skeleton",), normalize_skeleton=False)
    assert str(path) in str(error.value)


def test_a_bad_bvh_is_named_or_skipped(root, cache_dir):
    write_bvh(root, KEYS[0])
    path = write_bvh(root, KEYS[1])
    path.write_text(path.read_text().replace("Frames: 700", "Frames: 800"))
    with pytest.raises(DataError, match="expected 800 frames") as error:
        _load(root, cache_dir, modalities=("skeleton",))
    assert str(path) in str(error.value)
    with pytest.warns(UserWarning, match="1 bad files or sequences left out"):
        assert len(_load(root, cache_dir, modalities=("skeleton",), on_error="skip")) == 1


def test_both_modalities_keep_the_sequences_that_have_both(root, cache_dir):
    written = write_layout(root)
    write_bvh(root, KEYS[0]), write_bvh(root, KEYS[2]), write_bvh(root, (3, 1, 1))
    with pytest.warns(
        UserWarning,
        match="2 sequences dropped for lacking one of the two modalities, "
        "2 sequences kept: s02_a01_r01: inertial only; s01_a03_r01: skeleton only",
    ):
        record = _load(root, cache_dir, modalities=("skeleton", "inertial"))
    assert record.modalities == ("inertial", "skeleton")
    assert record.inertial.shape == (2, 50, 18) and record.skeleton.shape == (2, 50, 4, 3)
    for key in (KEYS[0], KEYS[2]):
        row = _row(record, key)
        np.testing.assert_allclose(record.inertial[row], expected(key, written[key])[0], atol=1e-5)
        np.testing.assert_allclose(record.skeleton[row], skeleton_reference(key), atol=1e-4)
    assert record.durations[_row(record, KEYS[0])] == pytest.approx(
        expected(KEYS[0], written[KEYS[0]])[1], abs=1e-6
    )  # The accelerometers' interval.


def test_skeletons_come_from_the_cache(root, cache_dir, monkeypatch):
    write_bvh(root, KEYS[0])
    first = _load(root, cache_dir, modalities=("skeleton",))

    def fail(path):
        raise AssertionError(f"read_bvh({path}) called although the cache is valid")

    monkeypatch.setattr(berkeley_mhad.bvh, "read_bvh", fail)
    second = _load(root, cache_dir, modalities=("skeleton",))
    np.testing.assert_array_equal(second.skeleton, first.skeleton)
    assert second.joint_names == first.joint_names
