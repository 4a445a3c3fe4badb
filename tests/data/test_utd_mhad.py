"""The UTD-MHAD loader on small fake layouts: contents, options and bad input."""

import re

import numpy as np
import pytest
import scipy.io
import scipy.signal

import tfhar.data
from tfhar.data import DataError
from tfhar.data.datasets import utd_mhad


def _load(root, cache_dir, **options):
    return tfhar.data.load("utd_mhad", root, cache_dir=cache_dir, **options)


def test_loads_sorted_paired_and_preprocessed(fake_utd, cache_dir):
    root = fake_utd()
    record = _load(root, cache_dir)
    assert record.inertial.shape == (5, 50, 6) and record.skeleton.shape == (5, 50, 20, 3)
    assert record.inertial.dtype == np.float32 and record.skeleton.dtype == np.float32
    # Sorted by (action, subject, trial); labels are action - 1.
    np.testing.assert_array_equal(record.labels, [0, 0, 0, 1, 2])
    np.testing.assert_array_equal(record.subjects, [1, 1, 2, 1, 4])
    np.testing.assert_array_equal(record.trials, [1, 2, 1, 1, 4])
    raw = scipy.io.loadmat(root / "Inertial" / "a1_s1_t2_inertial.mat")["d_iner"]
    np.testing.assert_allclose(record.inertial[1], scipy.signal.resample(raw, 50), atol=1e-5)
    skeleton = record.skeleton[4]
    np.testing.assert_allclose(skeleton[0, 2], 0, atol=1e-6)
    assert np.linalg.norm(skeleton[0, 1] - skeleton[0, 2]) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(record.durations, 64 / 50)


def test_metadata(fake_utd, cache_dir):
    record = _load(fake_utd(), cache_dir)
    assert record.name == "utd_mhad" and record.num_classes == 27
    assert record.class_names[0] == "right arm swipe to the left"
    assert record.class_names[26] == "squat (two arms stretch out)"
    assert record.channel_names == ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
    assert record.channel_units == ("g", "g", "g", "deg/s", "deg/s", "deg/s")
    assert (record.inertial_rate_hz, record.skeleton_rate_hz) == (50.0, 30.0)
    assert record.joint_names == utd_mhad.JOINT_NAMES  # No joint-order file: the built-in list.


def test_joint_names_come_from_the_joint_order_file(fake_utd, cache_dir):
    root = fake_utd()
    names = [f"j{i}" for i in range(20)]
    (root / "Skeleton" / "Skeleton_joint_order.txt").write_text(
        "The order:\n\n" + "".join(f"{i + 1}. {n}; \n" for i, n in enumerate(names))
    )
    assert _load(root, cache_dir).joint_names == tuple(names)


def test_bad_joint_order_file_names_it(fake_utd, cache_dir):
    root = fake_utd()
    (root / "Skeleton" / "Skeleton_joint_order.txt").write_text("1. head;\n2. spine;\n")
    with pytest.raises(DataError, match="Skeleton_joint_order.txt: lists 2 joints"):
        _load(root, cache_dir)


@pytest.mark.parametrize("modality", ["inertial", "skeleton"])
def test_one_modality_needs_only_its_folder(fake_utd, cache_dir, modality):
    root = fake_utd(modalities=(modality,))
    record = _load(root, cache_dir, modalities=(modality,), window_length=30)
    assert record.modalities == (modality,)
    assert getattr(record, modality).shape[:2] == (5, 30)
    rate = 50 if modality == "inertial" else 30
    length = 64 if modality == "inertial" else 40
    np.testing.assert_allclose(record.durations, length / rate)


def test_skeleton_without_normalization_is_the_resampled_raw_sequence(fake_utd, cache_dir):
    root = fake_utd()
    record = _load(root, cache_dir, normalize_skeleton=False)
    raw = scipy.io.loadmat(root / "Skeleton" / "a3_s4_t4_skeleton.mat")["d_skel"]
    expected = scipy.signal.resample(raw, 50, axis=2).transpose(2, 0, 1)
    np.testing.assert_allclose(record.skeleton[4], expected, atol=1e-5)


def test_missing_root_says_where_and_how_to_download(tmp_path):
    root = tmp_path / "nowhere"
    with pytest.raises(DataError) as error:
        tfhar.data.load("utd_mhad", root, cache=False)
    assert str(root) in str(error.value)
    assert f"python -m tfhar.data download utd_mhad --root {root}" in str(error.value)


def test_missing_modality_folder_is_named(fake_utd):
    root = fake_utd(modalities=("inertial",))
    with pytest.raises(DataError, match=re.escape(str(root / "Skeleton"))):
        tfhar.data.load("utd_mhad", root, cache=False)


def _corrupt(root):
    path = root / "Inertial" / "a1_s2_t1_inertial.mat"
    path.write_bytes(b"this is not a MATLAB file" * 10)
    return path


def _empty(root):
    path = root / "Skeleton" / "a2_s1_t1_skeleton.mat"
    path.write_bytes(b"")
    return path


def _wrong_shape(root):
    path = root / "Inertial" / "a1_s1_t1_inertial.mat"
    scipy.io.savemat(path, {"d_iner": np.zeros((40, 5))})
    return path


def _wrong_skeleton_shape(root):
    path = root / "Skeleton" / "a1_s1_t1_skeleton.mat"
    scipy.io.savemat(path, {"d_skel": np.ones((25, 3, 40))})
    return path


def _wrong_variable(root):
    path = root / "Inertial" / "a3_s4_t4_inertial.mat"
    scipy.io.savemat(path, {"signal": np.zeros((40, 6))})
    return path


def _nan(root):
    path = root / "Skeleton" / "a1_s1_t2_skeleton.mat"
    data = scipy.io.loadmat(path)["d_skel"]
    data[3, 1, 7] = np.nan
    scipy.io.savemat(path, {"d_skel": data})
    return path


def _inf(root):
    path = root / "Inertial" / "a1_s1_t2_inertial.mat"
    scipy.io.savemat(path, {"d_iner": np.full((40, 6), np.inf)})
    return path


def _unpaired(root):
    path = root / "Skeleton" / "a1_s1_t1_skeleton.mat"
    path.unlink()
    return path


def _degenerate_skeleton(root):
    path = root / "Skeleton" / "a2_s1_t1_skeleton.mat"
    scipy.io.savemat(path, {"d_skel": np.ones((20, 3, 40))})
    return path


def _zero_frames(frames):
    def make(root):
        path = root / "Skeleton" / "a1_s1_t2_skeleton.mat"
        data = scipy.io.loadmat(path)["d_skel"]
        data[:, :, frames] = 0.0
        scipy.io.savemat(path, {"d_skel": data})
        return path

    return make


def _short_inertial(root):
    path = root / "Inertial" / "a1_s2_t1_inertial.mat"
    scipy.io.savemat(path, {"d_iner": np.random.default_rng(1).normal(size=(2, 6))})
    return path


def _long_skeleton(root):
    """160 frames (5.33 s) paired with 64 inertial samples (1.28 s): 4.2 times as long."""
    path = root / "Skeleton" / "a2_s1_t1_skeleton.mat"
    pose = np.arange(20)[:, None, None] + np.random.default_rng(2).normal(size=(20, 3, 160))
    scipy.io.savemat(path, {"d_skel": pose})
    return path


BAD_FILES = {
    "corrupt": (_corrupt, "cannot read MATLAB file"),
    "empty": (_empty, "cannot read MATLAB file"),
    "wrong shape": (_wrong_shape, r"shape \(40, 5\)"),
    "wrong skeleton shape": (_wrong_skeleton_shape, r"shape \(25, 3, 40\)"),
    "wrong variable": (_wrong_variable, "no variable 'd_iner'"),
    "nan": (_nan, "1 NaN/Inf"),
    "inf": (_inf, "240 NaN/Inf"),
    "unpaired": (_unpaired, "missing, but its pair"),
    "degenerate skeleton": (_degenerate_skeleton, "coincide"),
    "4 zero frames": (
        _zero_frames([9, 10, 11, 12]),
        r"all-zero skeleton frames \(no body tracked\): 1 run\(s\) of more than 3 missing "
        r"frames inside the sequence, at frames 9\.\.12 \(0-based\)",
    ),
    "zero frames only": (_zero_frames(slice(None)), "all 40 frames are missing"),
    "implausibly short": (
        _short_inertial,
        r"a1_s2_t1_inertial.mat: 2 samples at 50 Hz last 0.04 s, under the plausible minimum "
        r"0.5 s \(.*a1_s2_t1_inertial.mat lasts 0.04 s and .*a1_s2_t1_skeleton.mat lasts 1.33 s",
    ),
    "durations disagree": (
        _long_skeleton,
        r"a2_s1_t1_inertial.mat lasts 1.28 s and .*a2_s1_t1_skeleton.mat lasts 5.33 s: the "
        r"durations of one sequence differ by a factor 4.2, more than 4",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_file_raises_naming_the_file(fake_utd, cache_dir, case):
    make_bad, message = BAD_FILES[case]
    path = make_bad(fake_utd())
    with pytest.raises(DataError, match=message) as error:
        _load(root=path.parent.parent, cache_dir=cache_dir)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_file_is_skipped_with_a_warning_on_request(fake_utd, cache_dir, case):
    make_bad, _ = BAD_FILES[case]
    path = make_bad(fake_utd())
    with pytest.warns(UserWarning, match="skipped 1 of 5 UTD-MHAD sequences") as warned:
        record = _load(path.parent.parent, cache_dir, on_error="skip")
    assert len(record) == 4
    assert path.name in str(warned[0].message)
    action, subject, trial = (int(g) for g in re.findall(r"\d+", path.name))
    kept = set(zip(record.labels + 1, record.subjects, record.trials, strict=True))
    assert (action, subject, trial) not in kept


def test_skip_counts_every_skipped_sequence(fake_utd, cache_dir):
    root = fake_utd()
    _corrupt(root), _unpaired(root), _nan(root)
    with pytest.warns(UserWarning, match="skipped 3 of 5"):
        assert len(_load(root, cache_dir, on_error="skip")) == 2


def test_nothing_usable_raises(fake_utd, cache_dir):
    root = fake_utd(keys=((1, 1, 1),))
    (root / "Inertial" / "a1_s1_t1_inertial.mat").write_bytes(b"junk")
    with pytest.raises(DataError, match="no usable UTD-MHAD"):
        _load(root, cache_dir, on_error="skip")


def test_empty_folders_raise_with_the_download_hint(fake_utd, cache_dir):
    root = fake_utd(keys=())
    with pytest.raises(DataError, match="python -m tfhar.data download utd_mhad"):
        _load(root, cache_dir)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"modalities": ("depth",)}, "modalities"),
        ({"modalities": ()}, "modalities"),
        ({"window_length": 1}, "window_length"),
        ({"window_length": 50.0}, "window_length"),
        ({"on_error": "ignore"}, "on_error"),
    ],
)
def test_bad_option_values(fake_utd, cache_dir, options, message):
    with pytest.raises(DataError, match=message):
        _load(fake_utd(), cache_dir, **options)


def test_expected_files_are_the_official_861():
    files = utd_mhad.expected_files()
    assert set(files) == {"Inertial", "Skeleton"}
    assert len(files["Inertial"]) == len(set(files["Inertial"])) == 861
    assert "a8_s1_t4_inertial.mat" not in files["Inertial"]
    assert "a27_s8_t3_skeleton.mat" in files["Skeleton"]


def _raw_skeleton(root, stem):
    return scipy.io.loadmat(root / "Skeleton" / f"{stem}_skeleton.mat")["d_skel"]


@pytest.mark.parametrize(
    ("zeros", "filled", "kept"),
    [
        ([5], [5], slice(0, 40)),
        ([5, 20, 21, 22], [5, 20, 21, 22], slice(0, 40)),  # Runs of 1 and 3 frames.
        ([0, 1, 37, 38, 39], [], slice(2, 37)),  # At the ends: trimmed.
        ([0, 10, 11, 39], [10, 11], slice(1, 39)),
    ],
)
def test_zero_frames_are_interpolated_inside_and_trimmed_at_the_ends(
    fake_utd, cache_dir, zeros, filled, kept
):
    root = fake_utd()
    raw = _raw_skeleton(root, "a1_s1_t2")
    path = _zero_frames(zeros)(root)
    expected = raw.copy()  # Built by hand: each filled frame on the line between its neighbours.
    for frame in filled:
        before = max(f for f in range(frame) if f not in zeros)
        after = min(f for f in range(frame + 1, 40) if f not in zeros)
        w = (frame - before) / (after - before)
        expected[:, :, frame] = (1 - w) * raw[:, :, before] + w * raw[:, :, after]
    expected = expected[:, :, kept]
    trimmed = 40 - expected.shape[2]
    with pytest.warns(UserWarning, match="repaired 1 UTD-MHAD skeletons") as warned:
        record = _load(root, cache_dir, normalize_skeleton=False, modalities=("skeleton",))
    assert f"{path}: {len(filled)} all-zero frame(s) interpolated, {trimmed} trimmed" in str(
        warned[0].message
    )
    resampled = scipy.signal.resample(expected, 50, axis=2).transpose(2, 0, 1)
    np.testing.assert_allclose(record.skeleton[1], resampled, atol=1e-5)  # Row 1: a1_s1_t2.
    assert record.durations[1] == pytest.approx(expected.shape[2] / 30)


def test_repairs_are_warned_again_from_the_cache(fake_utd, cache_dir, monkeypatch):
    root = fake_utd()
    _zero_frames([7])(root)
    with pytest.warns(UserWarning, match="repaired 1 UTD-MHAD skeletons"):
        first = _load(root, cache_dir)
    monkeypatch.setattr(scipy.io, "loadmat", lambda *a, **k: pytest.fail("cache not used"))
    with pytest.warns(UserWarning, match="a1_s1_t2_skeleton.mat: 1 all-zero frame"):
        np.testing.assert_array_equal(_load(root, cache_dir).skeleton, first.skeleton)


def test_a_partly_zero_frame_is_data(fake_utd, cache_dir, recwarn):
    root = fake_utd()
    path = root / "Skeleton" / "a1_s1_t2_skeleton.mat"
    data = scipy.io.loadmat(path)["d_skel"]
    data[:19, :, 5] = 0.0  # One joint still tracked: not a lost body.
    scipy.io.savemat(path, {"d_skel": data})
    record = _load(root, cache_dir, normalize_skeleton=False)
    expected = scipy.signal.resample(data, 50, axis=2).transpose(2, 0, 1)
    np.testing.assert_allclose(record.skeleton[1], expected, atol=1e-5)
    assert not recwarn.list


OUTSIDE_GRID = {
    "action 28": ("a28_s1_t1", "a28_s1_t1_inertial.mat"),
    "action 0": ("a0_s1_t1", "a0_s1_t1_inertial.mat"),
    "subject 9": ("a1_s9_t1", "a1_s9_t1_inertial.mat"),
    "trial 5": ("a1_s1_t5", "a1_s1_t5_inertial.mat"),
    "leading zero": ("a01_s1_t1", "a01_s1_t1_inertial.mat"),
}


def _write_outside(root, stem):
    rng = np.random.default_rng(3)
    inertial = rng.normal(size=(64, 6))
    scipy.io.savemat(root / "Inertial" / f"{stem}_inertial.mat", {"d_iner": inertial})
    pose = np.arange(20)[:, None, None] + rng.normal(size=(20, 3, 40))
    scipy.io.savemat(root / "Skeleton" / f"{stem}_skeleton.mat", {"d_skel": pose})


@pytest.mark.parametrize("case", OUTSIDE_GRID)
def test_files_outside_the_grid_are_refused(fake_utd, cache_dir, case, monkeypatch):
    stem, name = OUTSIDE_GRID[case]
    root = fake_utd()
    _write_outside(root, stem)
    monkeypatch.setattr(scipy.io, "loadmat", lambda *a, **k: pytest.fail("read before refusing"))
    with pytest.raises(DataError) as error:
        _load(root, cache_dir)
    assert str(error.value) == (
        f"{root / 'Inertial' / name}: not a UTD-MHAD file: expected aA_sS_tT_inertial.mat with "
        "action A in 1..27, subject S in 1..8 and trial T in 1..4, without leading zeros"
    )


@pytest.mark.parametrize("case", OUTSIDE_GRID)
def test_files_outside_the_grid_are_skipped_and_counted(fake_utd, cache_dir, case):
    stem, name = OUTSIDE_GRID[case]
    root = fake_utd()
    _write_outside(root, stem)
    with pytest.warns(UserWarning, match=f"skipped 1 of 6 UTD-MHAD sequences .*{name}"):
        record = _load(root, cache_dir, on_error="skip")
    for path in root.glob(f"*/{stem}_*.mat"):
        path.unlink()
    reference = _load(root, cache_dir)  # The five sequences of the grid alone.
    np.testing.assert_array_equal(record.inertial, reference.inertial)
    np.testing.assert_array_equal(record.labels, reference.labels)


# The segment option: fixed D-second inertial windows, what a phone sees (tfhar.data.segments).


def _reference_windows(root, key, segment_s, count, seed=0):
    """The windows tfhar.data.segments cuts from one raw recording, resampled to 50 steps."""
    from tfhar.data import segments

    action, subject, trial = key
    raw = scipy.io.loadmat(root / "Inertial" / f"a{action}_s{subject}_t{trial}_inertial.mat")
    window = segments.window_samples(segment_s, 50.0)
    return segments.segment_windows(raw["d_iner"], window, count,
                                    np.random.default_rng([seed, *key]), 50)


@pytest.mark.parametrize("segment_s", [1.0, 2.0])  # 50 samples of 64, and 100: padded.
def test_segment_option_cuts_windows_of_d_seconds_per_recording(fake_utd, cache_dir, segment_s):
    root = fake_utd(modalities=("inertial",))
    record = _load(root, cache_dir, modalities=("inertial",), segment_s=segment_s,
                   segments_per_recording=3)
    assert record.inertial.shape == (15, 50, 6) and record.inertial.dtype == np.float32
    assert record.modalities == ("inertial",)
    # Each recording's label, subject and trial repeated for its windows, in the usual order.
    np.testing.assert_array_equal(record.labels, np.repeat([0, 0, 0, 1, 2], 3))
    np.testing.assert_array_equal(record.subjects, np.repeat([1, 1, 2, 1, 4], 3))
    np.testing.assert_array_equal(record.trials, np.repeat([1, 2, 1, 1, 4], 3))
    np.testing.assert_array_equal(record.durations, np.full(15, segment_s, np.float32))
    for row, key in enumerate([(1, 1, 1), (1, 1, 2), (1, 2, 1), (2, 1, 1), (3, 4, 4)]):
        np.testing.assert_allclose(record.inertial[3 * row : 3 * row + 3],
                                   _reference_windows(root, key, segment_s, 3), atol=1e-5)
    assert not np.array_equal(record.inertial[0], record.inertial[1])  # Different offsets.


def test_segment_windows_depend_on_the_seed_and_the_cache_keeps_them_apart(
    fake_utd, cache_dir, monkeypatch
):
    root = fake_utd(modalities=("inertial",))
    options = {"modalities": ("inertial",), "segment_s": 1.0, "segments_per_recording": 2}
    first = _load(root, cache_dir, **options)
    other = _load(root, cache_dir, **options, segment_seed=1)
    more = _load(root, cache_dir, **{**options, "segments_per_recording": 3})
    shorter = _load(root, cache_dir, **{**options, "segment_s": 0.8})
    whole = _load(root, cache_dir, modalities=("inertial",))
    assert len(list(cache_dir.glob("utd_mhad-*.npz"))) == 5
    assert not np.array_equal(first.inertial, other.inertial)
    assert len(more) == 15 and whole.inertial.shape == (5, 50, 6)
    np.testing.assert_array_equal(shorter.durations, np.float32(0.8))
    np.testing.assert_allclose(whole.durations, 64 / 50)
    monkeypatch.setattr(scipy.io, "loadmat", lambda *a, **k: pytest.fail("cache not used"))
    np.testing.assert_array_equal(_load(root, cache_dir, **options).inertial, first.inertial)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"segment_s": 3.5}, "cuts inertial windows only"),  # Both modalities by default.
        ({"segment_s": 3.5, "modalities": ("skeleton",)}, "cuts inertial windows only"),
        ({"segment_s": 0, "modalities": ("inertial",)}, "segment_s"),
        ({"segment_s": "median", "modalities": ("inertial",)}, "segment_s"),
        ({"segment_s": 3.5, "segments_per_recording": 0, "modalities": ("inertial",)},
         "segments_per_recording"),
        ({"segments_per_recording": 4}, "apply only with segment_s"),
        ({"segment_seed": 2}, "apply only with segment_s"),
    ],
)
def test_bad_segment_options_raise_one_data_error(fake_utd, cache_dir, options, message):
    with pytest.raises(DataError, match=message):
        _load(fake_utd(), cache_dir, **options)


def test_segment_option_from_a_config_round_trip_to_the_splits(fake_utd, tmp_path):
    from tfhar.config import dump_config, load_config
    from tfhar.experiment import load_splits

    keys = [(action, subject, 1) for action in (1, 2) for subject in range(1, 9)]
    root = fake_utd(keys=keys, inertial_length=80, modalities=("inertial",))
    config = load_config("utd_mhad/supervised_inertial", [
        f"data.root={root}", "data.options.segment_s=1.2",
        "data.options.segments_per_recording=2", "data.options.segment_seed=5",
        f"data.options.cache_dir={tmp_path / 'cache'}"])
    saved = tmp_path / "config.yaml"
    saved.write_text(dump_config(config))
    reloaded = load_config(saved)
    assert reloaded == config
    assert reloaded.data.options == {"segment_s": 1.2, "segments_per_recording": 2,
                                     "segment_seed": 5, "cache_dir": str(tmp_path / "cache")}
    splits = load_splits(reloaded)
    # cross_subject: train 1, 3, 5; validation 7; test 2, 4, 6, 8; two windows per recording.
    assert (len(splits.train), len(splits.val), len(splits.test)) == (12, 4, 16)
    assert splits.train.inertial.shape == (12, 50, 6)
    # tfhar.export's D: the median training duration, here D itself.
    assert float(np.median(splits.train.durations)) == pytest.approx(1.2)
    np.testing.assert_allclose(splits.val.inertial[:2],
                               _reference_windows(root, (1, 7, 1), 1.2, 2, seed=5), atol=1e-5)


def test_segment_option_on_the_real_data(utd_root, tmp_path):
    record = _load(utd_root, tmp_path / "cache", modalities=("inertial",), segment_s=3.52,
                   segments_per_recording=2)
    assert record.inertial.shape == (1722, 50, 6)
    np.testing.assert_array_equal(record.durations, np.float32(3.52))
    np.testing.assert_array_equal(np.bincount(record.subjects)[1:] % 2, 0)
    # Rows come in key order, two per recording, as load_raw_inertial returns the recordings.
    sequences, labels, subjects = utd_mhad.load_raw_inertial(utd_root)
    np.testing.assert_array_equal(record.labels[::2], labels)
    np.testing.assert_array_equal(record.subjects[::2], subjects)
    lengths = [len(x) for x in sequences]
    assert (min(lengths), max(lengths)) == (107, 326)
    # The shortest recording (107 samples, padded to 176) and the longest (326, cut from it).
    for index in (int(np.argmin(lengths)), int(np.argmax(lengths))):
        key = (int(labels[index]) + 1, int(subjects[index]), int(record.trials[2 * index]))
        np.testing.assert_allclose(record.inertial[2 * index : 2 * index + 2],
                                   _reference_windows(utd_root, key, 3.52, 2), atol=1e-4)
