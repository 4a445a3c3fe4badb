"""Preparing MMAct from miniature archives built here: the layout, the parsers, the refusals
(unknown actions, unsafe archives, missing archives, a folder tfhar did not write) and the
`python -m tfhar.data prepare` command line. `build_archives` is shared with test_mmact.py.
"""

import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tfhar.data import DataError
from tfhar.data.__main__ import main
from tfhar.data.datasets import mmact, mmact_archives, mmact_prepare

T0 = 1_545_000_000.0  # Unix time (s) of the recordings.
FOLDERS = {source: f"{source}_clip" for source in mmact.SOURCES}


def line_values(key, source, times):
    """(T, 3): a + b (t - T0) per axis, distinct per trial, source and axis."""
    subject, scene, session, label = key
    index = list(mmact.SOURCES).index(source)
    axis = np.arange(3)
    a = 0.5 * index - 0.3 * axis + 0.1 * subject + 0.05 * scene + 0.02 * label + 0.01 * session
    b = 0.2 * (index - 1.5) + 0.1 * axis - 0.01 * label
    return a + b * (np.asarray(times)[:, None] - T0)


def stream_times(source, start=0.0, stop=3.0, seed=0, jitter=0.002):
    """Timestamps in s at the source's nominal rate, +-`jitter` s, rounded to the ms."""
    rate = mmact.SOURCES[source]
    times = np.arange(round(start * rate), round(stop * rate)) / rate
    times[1:-1] += np.random.default_rng(seed).uniform(-jitter, jitter, len(times) - 2)
    return np.round((T0 + np.sort(times)) * 1000) / 1000


def csv_bytes(times, values) -> bytes:
    """Rows `timestamp(ms),x,y,z`, no header, as the release writes them."""
    return "".join(f"{t * 1000:.0f},{x:.17g},{y:.17g},{z:.17g}\n"
                   for t, (x, y, z) in zip(times, values, strict=True)).encode()


def trial_path(source, key, stem=None):
    subject, scene, session, label = key
    name = stem or mmact.CLASS_NAMES[label]
    return f"{FOLDERS[source]}/subject{subject}/scene{scene}/session{session}/{name}.csv"


def pose_path(key, camera=1, stem=None):
    subject, scene, session, label = key
    name = stem or mmact.CLASS_NAMES[label]
    return (f"pose/cross_view/trainval/subject{subject}/cam{camera}/scene{scene}/"
            f"session{session}/{name}.json")


def person(frame_index, key, offset=0.0):
    """51 numbers: 17 keypoints x (x, y, confidence), a plausible upright body that drifts."""
    subject, scene, session, label = key
    base = np.stack([np.linspace(0, 16, 17) * 3 + 100, np.arange(17) * 10.0 + 50], 1)
    xy = base + offset + np.array([2.0 * frame_index + label, 0.5 * frame_index + subject])
    return np.concatenate([xy, np.full((17, 1), 0.9)], 1).ravel().tolist()


def pose_bytes(frames) -> bytes:
    """{frame key: {"person1": [...], "person2": [...] or []}} in order."""
    return json.dumps({f"{i:06d}": frame for i, frame in enumerate(frames)}).encode()


def standard_trial(key, starts=None, stops=None):
    """{archive path: bytes} of a complete trial (four CSVs, camera-1 and camera-2 poses)."""
    starts, stops = starts or {}, stops or {}
    files = {}
    for i, source in enumerate(mmact.SOURCES):
        times = stream_times(source, starts.get(source, 0.0), stops.get(source, 3.0), seed=i)
        files[trial_path(source, key)] = csv_bytes(times, line_values(key, source, times))
    frames = [{"person1": person(f, key), "person2": []} for f in range(20)]
    files[pose_path(key)] = pose_bytes(frames)
    files[pose_path(key, camera=2)] = pose_bytes(frames[:5])
    return files


def _tar(path: Path, files: dict, extra=()):
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"" if not info.size else b"x" * info.size))


def build_archives(folder: Path, files: dict, tar_extra=None, zip_extra=()) -> Path:
    """Write the five archives of `files` ({archive path: bytes}) into `folder`; tar_extra:
    {source: [TarInfo, ...]} added to its archive; zip_extra: [(ZipInfo, bytes)]."""
    folder.mkdir(parents=True, exist_ok=True)
    for source, name in mmact_prepare.INERTIAL_ARCHIVES.items():
        members = {p: c for p, c in files.items() if p.startswith(FOLDERS[source] + "/")}
        _tar(folder / name, members, (tar_extra or {}).get(source, ()))
    with zipfile.ZipFile(folder / mmact_prepare.POSE_ARCHIVE, "w") as bundle:
        for name, content in files.items():
            if name.startswith("pose/"):
                bundle.writestr(name, content)
        for info, content in zip_extra:
            bundle.writestr(info, content)
    return folder


KEYS = ((1, 1, 1, 24), (13, 2, 1, 0), (16, 3, 2, 5), (17, 2, 1, 24), (20, 4, 3, 34))


@pytest.fixture
def archives(tmp_path):
    files = {}
    for key in KEYS:
        files.update(standard_trial(key))
    return build_archives(tmp_path / "archives", files)


def test_prepare_writes_the_streams_and_camera_1_poses(archives, tmp_path):
    root = mmact_prepare.prepare(archives, tmp_path / "mmact", progress=False, log=lambda _: 0)
    assert sorted(p.name for p in root.iterdir()) == [
        ".tfhar.json", "inertial.npz", "prepare.json", "skeleton.npz"]
    with np.load(root / "inertial.npz") as stored:
        found = mmact.sequences_of(dict(stored), "gyro_")
    key = KEYS[2]
    member, (times, values) = found[(key[3], *key[:3])]
    assert member == f"gyro_clip.tar.gz:{trial_path('gyro', key)}"
    expected_times = stream_times("gyro", seed=2)
    np.testing.assert_allclose(times, expected_times, rtol=0, atol=1e-6)
    np.testing.assert_allclose(values, line_values(key, "gyro", expected_times), atol=1e-5)
    with np.load(root / "skeleton.npz") as stored:
        clips = mmact.sequences_of(dict(stored), "")
    assert len(clips) == len(KEYS)  # Camera 2's files are not read.
    assert json.loads((root / "prepare.json").read_text())["skipped"] == []
    assert json.loads((root / ".tfhar.json").read_text())["kind"] == "dataset"


@pytest.mark.parametrize(("fields", "rate", "expected"), [
    (["1545000000000", "1545000000010", "1545000000020"], 100.0, [T0, T0 + 0.01, T0 + 0.02]),
    (["1545000000.00", "1545000000.02", "1545000000.04"], 50.0, [T0, T0 + 0.02, T0 + 0.04]),
    (["20000000", "40000000", "60000000"], 50.0, [0.02, 0.04, 0.06]),  # ns since boot
    (["2018/12/16 22:40:00.000", "2018/12/16 22:40:00.020", "2018-12-16 22:40:00.040"], 50.0,
     [T0, T0 + 0.02, T0 + 0.04]),
])
def test_timestamps_become_seconds(fields, rate, expected):
    times = mmact_archives.parse_timestamps(fields, rate, "x.csv")
    np.testing.assert_allclose(times, expected, rtol=0, atol=1e-6)


def test_pose_takes_person2_when_present_and_drops_confidences():
    key = KEYS[0]
    frames = [
        {"person1": person(0, key), "person2": []},                  # person2 empty
        {"person1": person(1, key), "person2": person(1, key, 40)},  # person2 present
        {"person1": person(2, key)},                                 # person2 absent
        {"person1": [], "person2": []},                              # nobody detected
    ]
    out = mmact_archives.parse_pose(pose_bytes(frames), "x.json")
    first = np.reshape(person(0, key), (17, 3))[:, :2]
    second = np.reshape(person(1, key, 40), (17, 3))[:, :2]
    third = np.reshape(person(2, key), (17, 3))[:, :2]
    np.testing.assert_array_equal(out, np.stack([first, second, third, np.zeros((17, 2))]))


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", "not JSON"),
    (json.dumps({"0": {"person2": []}}).encode(), "frame '0' has no 'person1'"),
    (json.dumps({"0": {"person1": [1, 2, 3]}}).encode(), "frame '0': the person is not 51"),
])
def test_bad_pose_files_are_named(content, message):
    with pytest.raises(DataError, match=f"^x.json: {message}"):
        mmact_archives.parse_pose(content, "x.json")


@pytest.mark.parametrize(("content", "message"), [
    (b"1,2,3\n", "row 1 has 3 fields"),
    (b"1,2,3,a\n", "values are not numbers"),
    (b"yesterday,2,3,4\n", "timestamps are neither numbers nor date-times"),
])
def test_bad_csv_files_are_named(content, message):
    with pytest.raises(DataError, match=f"^x.csv: {message}"):
        mmact_archives.parse_csv(content, 50.0, "x.csv")


def test_an_unknown_action_is_an_error_naming_the_file_or_a_counted_skip(tmp_path):
    files = standard_trial(KEYS[0])
    files[trial_path("gyro", KEYS[1], stem="Juggling")] = b"1,2,3,4\n"
    archives = build_archives(tmp_path / "archives", files)
    member = "gyro_clip.tar.gz:" + trial_path("gyro", KEYS[1], stem="Juggling")
    with pytest.raises(DataError, match=f"^{member}: unknown action 'Juggling'"):
        mmact_prepare.prepare(archives, tmp_path / "out", progress=False, log=lambda _: 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archives"]
    root = mmact_prepare.prepare(archives, tmp_path / "out", on_error="skip", progress=False,
                                 log=lambda _: 0)
    skipped = json.loads((root / "prepare.json").read_text())["skipped"]
    assert len(skipped) == 1 and skipped[0].startswith(f"{member}: unknown action")


def test_action_names_are_case_insensitive(tmp_path):
    files = standard_trial(KEYS[0])
    renamed = {p.replace("walking", "Walking"): c for p, c in files.items()}
    root = mmact_prepare.prepare(build_archives(tmp_path / "a", renamed), tmp_path / "out",
                                 progress=False, log=lambda _: 0)
    with np.load(root / "skeleton.npz") as stored:
        assert stored["keys"].tolist() == [list(KEYS[0])]


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _member(name, kind=tarfile.REGTYPE, size=3):
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(("info", "why"), [
    (_member("acc_phone_clip/../../evil.csv"), "a path with '..'"),
    (_member("/etc/evil.csv"), "an absolute path"),
    (_link("acc_phone_clip/subject1/link.csv", "/etc/passwd"), "a link to '/etc/passwd'"),
    (_link("acc_phone_clip/hard.csv", "acc_phone_clip/x", tarfile.LNKTYPE), "a link to"),
    (_member("acc_phone_clip/fifo", tarfile.FIFOTYPE), "not a plain file or folder"),
])
def test_an_unsafe_tar_is_refused_whole_and_nothing_is_written(tmp_path, info, why):
    archives = build_archives(tmp_path / "archives", standard_trial(KEYS[0]),
                              tar_extra={"acc_phone": [info]})
    out = tmp_path / "data" / "mmact"
    with pytest.raises(DataError, match=f"acc_phone_clip.tar.gz: refusing member "
                                        f"'{info.name}' \\({why}"):
        mmact_prepare.prepare(archives, out, progress=False, log=lambda _: 0)
    assert not (tmp_path / "data").exists()  # Not even the parent folder.


@pytest.mark.parametrize(("name", "mode", "why"), [
    ("pose/../../evil.json", 0o100644, "a path with '..'"),
    ("pose/cross_view/trainval/link.json", 0o120777, "a link"),
    ("pose/cross_view/trainval/fifo", 0o010644, "not a plain file or folder"),
])
def test_an_unsafe_zip_is_refused(tmp_path, name, mode, why):
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    archives = build_archives(tmp_path / "archives", standard_trial(KEYS[0]),
                              zip_extra=[(info, b"/etc/passwd")])
    with pytest.raises(DataError, match=f"trimmed_pose.zip: refusing member '{name}' "
                                        f"\\({why}"):
        mmact_prepare.prepare(archives, tmp_path / "out", progress=False, log=lambda _: 0)
    assert not (tmp_path / "out").exists()


def test_a_failed_write_leaves_nothing_behind(archives, tmp_path, monkeypatch):
    def full_disk(path, **arrays):
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mmact_prepare.np, "savez", full_disk)
    (tmp_path / "data").mkdir()
    with pytest.raises(OSError, match="No space left"):
        mmact_prepare.prepare(archives, tmp_path / "data" / "mmact", progress=False,
                              log=lambda _: 0)
    assert list((tmp_path / "data").iterdir()) == []


def test_a_damaged_archive_is_named(archives, tmp_path):
    (archives / "gyro_clip.tar.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="gyro_clip.tar.gz: not a readable .tar.gz archive"):
        mmact_prepare.prepare(archives, tmp_path / "out", progress=False, log=lambda _: 0)


def run_cli(capsys, *argv):
    code = main(["prepare", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prepares_once_then_does_nothing(archives, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TFHAR_DATA_DIR", str(tmp_path / "data"))
    code, out, err = run_cli(capsys, "mmact", "--archives", archives, "--quiet")
    root = tmp_path / "data" / "mmact"
    assert code == 0 and f"{root}: prepared MMAct" in out and err == ""
    written = {p.name: p.stat().st_mtime_ns for p in root.iterdir()}
    code, out, err = run_cli(capsys, "mmact", "--archives", archives, "--root", root)
    assert code == 0 and "already prepared from these archives; nothing to do" in out
    assert {p.name: p.stat().st_mtime_ns for p in root.iterdir()} == written


def test_cli_shows_a_progress_bar_on_stderr(archives, tmp_path, capsys):
    code, _, err = run_cli(capsys, "mmact", "--archives", archives, "--root", tmp_path / "o")
    assert code == 0 and "trimmed_pose.zip" in err and "acc_phone_clip.tar.gz" in err


def test_cli_refuses_other_archives_into_a_prepared_folder(archives, tmp_path, capsys):
    root = tmp_path / "mmact"
    assert run_cli(capsys, "mmact", "--archives", archives, "--root", root, "--quiet")[0] == 0
    other = build_archives(tmp_path / "other", standard_trial(KEYS[0]))
    code, out, err = run_cli(capsys, "mmact", "--archives", other, "--root", root)
    assert code == 2 and out == ""
    assert err.startswith(f"error: --root {root}: already holds MMAct prepared from other")
    assert err.count("\n") == 1


def test_cli_refuses_a_folder_tfhar_did_not_write(archives, tmp_path, capsys):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "mmact", "--archives", archives, "--root", root)
    assert code == 2 and err.startswith(f"error: --root {root}: holds files tfhar did not")
    assert [p.name for p in root.iterdir()] == ["notes.txt"]


def test_cli_fills_an_empty_folder(archives, tmp_path, capsys):
    root = tmp_path / "empty"
    root.mkdir()
    assert run_cli(capsys, "mmact", "--archives", archives, "--root", root, "--quiet")[0] == 0
    assert (root / "inertial.npz").is_file()


def test_cli_names_missing_archives_in_one_line(archives, tmp_path, capsys):
    (archives / "acc_watch_clip.tar.gz").unlink()
    (archives / "trimmed_pose.zip").unlink()
    code, out, err = run_cli(capsys, "mmact", "--archives", archives, "--root", tmp_path / "o")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"error: {archives}: lacks acc_watch_clip.tar.gz, trimmed_pose.zip")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["mmact", "--archives", "{tmp}/absent"], "--archives {tmp}/absent: not a folder"),
    (["utd_mhad", "--archives", "{tmp}"], "dataset 'utd_mhad' has nothing to prepare"),
])
def test_cli_bad_arguments_are_one_error_line(tmp_path, capsys, argv, message):
    code, out, err = run_cli(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"error: {message.format(tmp=tmp_path)}")


def test_cli_without_archives_is_one_error_line(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["prepare", "mmact"])
    err = capsys.readouterr().err
    assert raised.value.code == 2 and err.count("\n") == 1
    assert err == "error: the following arguments are required: --archives\n"
