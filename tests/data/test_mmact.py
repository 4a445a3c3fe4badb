"""The MMAct loader on folders prepared from miniature archives with the release's quirks:
unsynchronised streams at 100 and 50 Hz, a trial lacking a source, an empty file, person2
present or empty, all-zero keypoints, and the protocols.

Every inertial channel is a linear function of time, which linear interpolation and the
line-padded decimation reproduce exactly: the loader's output must be that function sampled on
a 50 Hz clock over the streams' common interval, FFT-resampled, whatever the timestamps.
"""

import re

import numpy as np
import pytest
import scipy.signal

import tfhar.data
from tests.data.test_mmact_prepare import (
    KEYS,
    build_archives,
    csv_bytes,
    line_values,
    person,
    pose_bytes,
    pose_path,
    standard_trial,
    stream_times,
    trial_path,
)
from tfhar.data import DataError
from tfhar.data import timeseries as ts
from tfhar.data.datasets import mmact, mmact_prepare

SOURCES = list(mmact.SOURCES)


@pytest.fixture
def prepared(tmp_path):
    """prepared(files) -> the root prepared from archives of `files` (no cache by default)."""
    count = iter(range(100))

    def make(files):
        n = next(count)
        archives = build_archives(tmp_path / f"archives{n}", files)
        return mmact_prepare.prepare(archives, tmp_path / f"mmact{n}", progress=False,
                                     log=lambda _: None)

    return make


def load(root, **options):
    return tfhar.data.load("mmact", root, cache=options.pop("cache", False), **options)


def all_trials(changes=None):
    """The files of every trial of KEYS, those of `changes` ({key: files}) replaced."""
    files = {}
    for key in KEYS:
        files.update((changes or {}).get(key) or standard_trial(key))
    return files


def expected_inertial(key, starts, stops, window_length=50):
    """(window_length, 12) and the duration computed from the written timestamps alone."""
    times = [stream_times(s, starts.get(s, 0.0), stops.get(s, 3.0), seed=i)
             for i, s in enumerate(SOURCES)]
    start, end = max(t[0] for t in times), min(t[-1] for t in times)
    grid = start + np.arange(int(np.floor((end - start) * 50 + 1e-9)) + 1) / 50
    signal = np.concatenate([line_values(key, s, grid) for s in SOURCES], axis=1)
    return scipy.signal.resample(signal, window_length), (len(grid) - 1) / 50


def row(record, key):
    subject, scene, session, label = key
    match = ((record.subjects == subject) & (record.scenes == scene)
             & (record.sessions == session) & (record.labels == label))
    assert match.sum() == 1
    return int(np.flatnonzero(match)[0])


def test_unsynchronised_streams_are_aligned_on_their_common_interval(prepared):
    starts = {"acc_phone": 0.31, "gyro": 0.12}  # The phone's accelerometer starts last...
    stops = {"acc_watch": 2.57, "orientation": 2.9}  # ... and the watch stops first.
    key = KEYS[3]
    root = prepared(all_trials({key: standard_trial(key, starts, stops)}))
    record = load(root)
    expected, duration = expected_inertial(key, starts, stops)
    np.testing.assert_allclose(record.inertial[row(record, key)], expected, atol=2e-5)
    assert record.durations[row(record, key)] == pytest.approx(duration)
    assert duration == pytest.approx(2.56 - 0.31 - 0.01)  # Whole 20 ms steps only.
    other = KEYS[0]
    np.testing.assert_allclose(record.inertial[row(record, other)],
                               expected_inertial(other, {}, {})[0], atol=2e-5)


def test_fast_streams_are_decimated_without_aliasing():
    """A 40 Hz tone sampled at 100 Hz folds onto 10 Hz when simply interpolated at 50 Hz; the
    decimation filters it out."""
    fast = np.arange(300) / 100
    slow = np.arange(150) / 50
    tone = np.sin(2 * np.pi * 40 * fast)[:, None]
    aligned = ts.align_streams(
        [(fast, tone), (slow, np.zeros((150, 1)))], ["fast", "slow"], rate_hz=50.0,
        factors=[2, 1], min_span_s=0.5, min_fraction=0.5, max_gap_s=1.0)
    naive = ts.on_grid(fast, tone, slow)
    middle = slice(10, -10)  # Away from the filter's edges.
    assert np.abs(naive[middle]).max() > 0.5
    assert np.abs(aligned[middle, 0]).max() < 0.05


def test_orientation_angles_wrap_through_zero_not_through_180():
    times = {s: stream_times(s, seed=i) - stream_times(s)[0] for i, s in enumerate(SOURCES)}
    values = {s: np.zeros((len(t), 3)) for s, t in times.items()}
    values["orientation"][:, 0] = np.mod(350 + 20 * times["orientation"], 360)  # 350..410
    streams = [(f"{s}.csv", times[s], values[s]) for s in SOURCES]
    aligned = mmact.align_trial(streams, "time")
    start = max(t[0] for t in times.values())
    grid = start + np.arange(len(aligned)) / 50
    low = values["orientation"][:, 0].min()
    expected = low + np.mod(350 + 20 * grid - low, 360)
    np.testing.assert_allclose(aligned[:, 9], expected, atol=1e-9)
    assert np.abs(np.diff(aligned[:, 9])).max() > 300  # It did wrap, once.


def test_count_alignment_ignores_the_clocks(prepared):
    """The watch's clock is an hour off: no common interval in time, fine by sample count."""
    key = KEYS[1]
    files = all_trials()
    for i, source in enumerate(SOURCES):
        times = stream_times(source, 0.0, 3.0 - 0.1 * i, jitter=0.0)
        clock = times + (3600.0 if source == "acc_watch" else 0.0)
        files[trial_path(source, key)] = csv_bytes(clock, line_values(key, source, times))
    root = prepared(files)
    with pytest.raises(DataError, match=r"_clip\.tar\.gz:\S*/subject13/scene2/session1/"
                                        r"carrying\.csv: the streams overlap for only 0\.00 s"):
        load(root)
    record = load(root, align="count")
    span = min((len(stream_times(s, 0.0, 3.0 - 0.1 * i)) - 1) / mmact.SOURCES[s]
               for i, s in enumerate(SOURCES))  # The orientation's 2.68 s.
    grid = stream_times("acc_phone", jitter=0.0)[0] + np.arange(round(span * 50) + 1) / 50
    signal = np.concatenate([line_values(key, s, grid) for s in SOURCES], axis=1)
    np.testing.assert_allclose(record.inertial[row(record, key)],
                               scipy.signal.resample(signal, 50), atol=2e-5)


def test_incomplete_trials_are_left_out_and_counted(prepared):
    lacking, empty = KEYS[0], KEYS[2]
    files = all_trials()
    del files[trial_path("gyro", lacking)]
    files[trial_path("orientation", empty)] = b""
    root = prepared(files)
    with pytest.warns(UserWarning) as caught:
        record = load(root)
    messages = [str(w.message) for w in caught]
    left_out = next(m for m in messages if "MMAct trials left out" in m)
    assert left_out.startswith("2 MMAct trials left out")
    assert "subject 1, scene 1, session 1, walking: lacks gyro" in left_out
    assert f"empty file orientation_clip.tar.gz:{trial_path('orientation', empty)}" in left_out
    assert any(m.startswith("2 MMAct trials dropped for lacking one") for m in messages)
    assert len(record) == len(KEYS) - 2
    with pytest.warns(UserWarning, match="2 MMAct trials left out"):
        inertial_only = load(root, modalities=("inertial",))
    assert inertial_only.skeleton is None and len(inertial_only) == len(KEYS) - 2


def test_keypoints_take_person2_and_are_normalized_by_the_first_frame(prepared):
    key = KEYS[4]
    frames = [{"person1": person(f, key), "person2": person(f, key, 30) if f % 3 else []}
              for f in range(20)]
    files = all_trials()
    files[pose_path(key)] = pose_bytes(frames)
    record = load(prepared(files))
    raw = np.stack([np.reshape(person(f, key, 30) if f % 3 else person(f, key), (17, 3))[:, :2]
                    for f in range(20)])
    resampled = scipy.signal.resample(raw, 50)
    first = resampled[0]
    center = (first[11] + first[12]) / 2
    scale = np.linalg.norm((first[5] + first[6]) / 2 - center)
    np.testing.assert_allclose(record.skeleton[row(record, key)], (resampled - center) / scale,
                               atol=1e-5)
    raw_record = load(prepared(files), normalize_skeleton=False, modalities=("skeleton",))
    np.testing.assert_allclose(raw_record.skeleton[row(raw_record, key)], resampled, atol=1e-3)
    assert raw_record.durations is None and raw_record.inertial is None


def test_zero_frames_are_trimmed_or_interpolated_and_all_zero_clips_left_out(prepared):
    repaired, empty = KEYS[0], KEYS[1]
    zero = {"person1": [0.0] * 51, "person2": []}
    body = [{"person1": person(f, repaired), "person2": []} for f in range(12)]
    files = all_trials()
    files[pose_path(repaired)] = pose_bytes([zero, *body[:5], zero, *body[6:], zero, zero])
    files[pose_path(empty)] = pose_bytes([zero] * 10)
    with pytest.warns(UserWarning) as caught:
        record = load(prepared(files), normalize_skeleton=False)
    messages = " | ".join(str(w.message) for w in caught)
    assert f"{pose_path(empty)}: all-zero keypoints (no person detected)" in messages
    assert f"{pose_path(repaired)}: 1 interpolated, 3 trimmed" in messages
    expected = np.stack([np.reshape(person(f, repaired), (17, 3))[:, :2] for f in range(12)])
    # Frame 5 was lost; its interpolation between frames 4 and 6 is exact for this drift.
    np.testing.assert_allclose(record.skeleton[row(record, repaired)],
                               scipy.signal.resample(expected, 50), atol=1e-3)
    assert not np.isin(empty[0], record.subjects[record.scenes == empty[1]])


def test_a_long_run_of_lost_frames_is_an_error_or_a_counted_skip(prepared):
    key = KEYS[2]
    zero = {"person1": [], "person2": []}
    frames = [{"person1": person(f, key)} for f in range(10)]
    files = all_trials()
    files[pose_path(key)] = pose_bytes([*frames[:3], *[zero] * 4, *frames[3:]])
    root = prepared(files)
    with pytest.raises(DataError, match=re.escape(pose_path(key)) + ".*more than 3 missing"):
        load(root, max_missing_frames=3)
    with pytest.warns(UserWarning, match=re.escape(f"{pose_path(key)}: 4 interpolated")):
        assert len(load(root, max_missing_frames=4)) == len(KEYS)
    with pytest.warns(UserWarning) as caught:
        assert len(load(root, max_missing_frames=3, on_error="skip")) == len(KEYS) - 1
    messages = [str(w.message) for w in caught]
    assert messages[0].startswith("1 MMAct trials left out") and pose_path(key) in messages[0]
    assert messages[1].endswith("subject 16, scene 3, session 2, exiting: inertial only")


def test_timestamps_going_backwards_are_an_error_naming_the_file(prepared):
    key = KEYS[3]
    files = all_trials()
    times = stream_times("gyro")
    times[[40, 41]] = times[[41, 40]]
    files[trial_path("gyro", key)] = csv_bytes(times, line_values(key, "gyro", times))
    root = prepared(files)
    member = f"gyro_clip.tar.gz:{trial_path('gyro', key)}"
    with pytest.raises(DataError, match=re.escape(member) + ": timestamps go backwards at row 42"):
        load(root)
    with pytest.warns(UserWarning) as caught:
        assert len(load(root, on_error="skip")) == len(KEYS) - 1
    assert [str(w.message).split(";")[0] for w in caught] == [
        "1 MMAct trials left out (a source lacking, an empty file, all-zero keypoints, or bad "
        "with on_error='skip')", "1 MMAct trials dropped for lacking one of the two modalities"]


def test_record_rows_and_metadata(prepared):
    record = load(prepared(all_trials()))
    assert record.inertial.shape == (len(KEYS), 50, 12)
    assert record.skeleton.shape == (len(KEYS), 50, 17, 2)
    expected = sorted((label, subject, scene, session) for subject, scene, session, label in KEYS)
    rows = list(zip(record.labels, record.subjects, record.scenes, record.sessions, strict=True))
    assert [tuple(int(v) for v in r) for r in rows] == expected
    np.testing.assert_array_equal(record.trials, record.sessions)
    assert record.num_classes == 35 and record.class_names[24] == "walking"
    assert record.channel_names[:3] == ("acc_phone_x", "acc_phone_y", "acc_phone_z")
    assert record.channel_names[9:] == ("orientation_x", "orientation_y", "orientation_z")
    assert len(record.channel_units) == 12 and record.channel_groups[-1] == (6, 7, 8)
    assert record.joint_names[11:13] == ("left_hip", "right_hip")
    assert record.inertial_rate_hz == 50.0


def test_protocols_split_by_subject_and_by_scene(prepared):
    record = load(prepared(all_trials()))  # Subjects 1, 13, 16, 17, 20; scenes 1, 2, 3, 2, 4.
    assert set(tfhar.data.protocols("mmact", record)) >= {"cross_subject", "paper", "cross_scene"}
    parts = tfhar.data.split(record, "cross_subject")
    subjects = {part: sorted(set(parts[part].subjects.tolist())) for part in parts}
    assert subjects == {"train": [1], "val": [13], "test": [17, 20]}  # 16 in no part.
    parts = tfhar.data.split(record, "paper")
    assert sorted(set(parts["train"].subjects.tolist())) == [1, 13, 16] and parts["val"] is None
    parts = tfhar.data.split(record, "cross_scene")
    assert set(parts["test"].scenes.tolist()) == {2} and parts["val"] is None
    assert set(parts["train"].scenes.tolist()) == {1, 3, 4}
    assert len(parts["train"]) + len(parts["test"]) == len(record)


def test_the_arrays_are_cached(prepared, tmp_path, monkeypatch):
    root = prepared(all_trials())
    first = load(root, cache=True, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(mmact, "_build", lambda *a: pytest.fail("rebuilt despite the cache"))
    again = load(root, cache=True, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.inertial, first.inertial)
    np.testing.assert_array_equal(again.scenes, first.scenes)
    assert again.protocols.keys() == first.protocols.keys()


def test_an_unprepared_root_names_the_command_to_run(tmp_path):
    with pytest.raises(DataError, match=r"MMAct not prepared: no .*inertial.npz.*"
                                        r"python -m tfhar.data prepare mmact --archives DIR"):
        load(tmp_path / "nothing")


@pytest.mark.parametrize(("content", "problem"), [(b"junk", "unreadable"),
                                                  (None, "lacks acc_phone_keys")])
def test_a_damaged_prepared_file_is_named(prepared, content, problem):
    root = prepared(all_trials())
    if content is None:
        np.savez(root / "inertial.npz", skipped=np.zeros(0, str))
    else:
        (root / "inertial.npz").write_bytes(content)
    with pytest.raises(DataError, match=re.escape(f"{root / 'inertial.npz'}: not MMAct's "
                                                  f"prepared arrays ({problem}")):
        load(root)


@pytest.mark.parametrize(("options", "message"), [
    ({"modalities": ("depth",)}, "modalities=('depth',)"),
    ({"align": "nearest"}, "align='nearest'"),
    ({"window_length": 1}, "window_length=1"),
    ({"max_missing_frames": -1}, "max_missing_frames=-1"),
    ({"on_error": "ignore"}, "on_error='ignore'"),
])
def test_bad_options_are_refused(tmp_path, options, message):
    with pytest.raises(DataError, match=re.escape(f"mmact: {message}")):
        load(tmp_path, **options)
