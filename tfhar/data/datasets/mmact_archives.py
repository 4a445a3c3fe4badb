"""Reading MMAct's archives safely, and parsing their files (numpy only).

Members are read straight from the archives, never extracted; an archive holding a link, a
device or a path that would leave its folder (absolute, `..`) is refused whole, naming the
member. Inertial files: rows `timestamp,x,y,z`, no header. Pose files: JSON objects mapping
frame keys, in order, to {"person1": [51 numbers], "person2": [51 numbers] or []}: 17 COCO
keypoints x (x, y, confidence).
"""

from __future__ import annotations

import json
import re
import stat
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from tqdm import tqdm

from tfhar.data.datasets.mmact import CLASS_NAMES, JOINT_NAMES
from tfhar.data.errors import DataError

NUM_SUBJECTS, NUM_SCENES = 20, 4
_LABELS = {name: label for label, name in enumerate(CLASS_NAMES)}
# Unix file types a zip may record (in external_attr) that are neither files nor folders.
_SPECIAL = (stat.S_ISCHR, stat.S_ISBLK, stat.S_ISFIFO, stat.S_ISSOCK)
# Seconds per unit of a numeric timestamp, tried in turn: s, ms, us, ns.
_UNITS = (1.0, 1e-3, 1e-6, 1e-9)


def _unsafe(name: str) -> str | None:
    """Why an archive member's path would leave the target folder, or None."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if ".." in path.parts:
        return "a path with '..'"
    return None


def _refuse(archive: Path, name: str, why: str) -> DataError:
    return DataError(f"{archive}: refusing member {name!r} ({why}); an archive must hold only "
                     "plain files and folders inside its own folder")


def tar_members(archive: Path, progress: bool) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each regular file of a .tar.gz, streamed; DataError naming the archive
    for a link, a device, an escaping path or a damaged archive."""
    size = archive.stat().st_size
    with open(archive, "rb") as raw, tqdm(total=size, desc=archive.name, unit="B",
                                          unit_scale=True, file=sys.stderr, leave=False,
                                          disable=not progress) as bar:
        try:
            with tarfile.open(fileobj=raw, mode="r|gz") as tar:
                for member in tar:
                    why = _unsafe(member.name)
                    if member.issym() or member.islnk():
                        why = f"a link to {member.linkname!r}"
                    elif not (member.isfile() or member.isdir()):
                        why = why or "not a plain file or folder"
                    if why:
                        raise _refuse(archive, member.name, why)
                    if member.isfile():
                        yield member.name, tar.extractfile(member).read()
                    bar.update(raw.tell() - bar.n)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise DataError(f"{archive}: not a readable .tar.gz archive ({error})") from error


def zip_members(archive: Path, wanted: Callable[[str], bool], progress: bool
                 ) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each member of a zip that `wanted(name)` accepts, after checking
    every member's path and type; DataError naming the archive otherwise."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            infos = bundle.infolist()
            for info in infos:
                mode = info.external_attr >> 16
                why = _unsafe(info.filename)
                if stat.S_ISLNK(mode):
                    why = "a link"
                elif any(test(mode) for test in _SPECIAL):
                    why = why or "not a plain file or folder"
                if why:
                    raise _refuse(archive, info.filename, why)
            chosen = [i for i in infos if not i.is_dir() and wanted(i.filename)]
            for info in tqdm(chosen, desc=archive.name, unit="file", file=sys.stderr,
                             leave=False, disable=not progress):
                yield info.filename, bundle.read(info)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise DataError(f"{archive}: not a readable zip archive ({error})") from error


def trial_key(where: str, subject: str, scene: str, session: str, stem: str) -> tuple[int, ...]:
    """(subject, scene, session, label) of an archive member; DataError naming it."""
    label = _LABELS.get(stem.lower())
    if label is None:
        raise DataError(f"{where}: unknown action {stem!r}; expected one of the 35 MMAct "
                        f"actions ({', '.join(CLASS_NAMES)}), in any case")
    numbers = (int(subject), int(scene), int(session))
    if not (1 <= numbers[0] <= NUM_SUBJECTS and 1 <= numbers[1] <= NUM_SCENES and numbers[2]):
        raise DataError(f"{where}: subject {numbers[0]}, scene {numbers[1]}, session "
                        f"{numbers[2]}; expected subjects 1..{NUM_SUBJECTS}, scenes "
                        f"1..{NUM_SCENES}, sessions from 1")
    return (*numbers, label)


def parse_timestamps(fields: list[str], nominal_rate_hz: float, where: str) -> np.ndarray:
    """Timestamps -> seconds: numbers in the unit (s, ms, us or ns) whose median step is
    closest to 1 / `nominal_rate_hz`, or date-times such as '2018-12-05 14:35:42.120'."""
    try:
        raw = np.array(fields, dtype=np.float64)
    except ValueError:
        try:
            text = [f.strip().replace("/", "-").replace(" ", "T") for f in fields]
            stamps = np.array(text, dtype="datetime64[us]")
        except ValueError as error:
            raise DataError(f"{where}: timestamps are neither numbers nor date-times "
                            f"({error})") from None
        return stamps.astype(np.int64) / 1e6
    steps = np.diff(raw)
    step = float(np.median(steps[steps > 0])) if np.any(steps > 0) else 1.0 / nominal_rate_hz
    unit = min(_UNITS, key=lambda u: abs(np.log(step * u * nominal_rate_hz)))
    return raw * unit


def parse_csv(content: bytes, nominal_rate_hz: float, where: str
              ) -> tuple[np.ndarray, np.ndarray]:
    """Rows `timestamp,x,y,z` -> (times (T,) in s, values (T, 3)); (0,) and (0, 3) if empty."""
    rows = [line.split(",") for line in content.decode("utf-8", "replace").splitlines()
            if line.strip()]
    if not rows:
        return np.zeros(0), np.zeros((0, 3), np.float32)
    for number, row in enumerate(rows, 1):
        if len(row) != 4:
            raise DataError(f"{where}: row {number} has {len(row)} fields; expected 4 "
                            "(timestamp,x,y,z)")
    try:
        values = np.array([row[1:] for row in rows], dtype=np.float64)
    except ValueError as error:
        raise DataError(f"{where}: values are not numbers ({error})") from None
    times = parse_timestamps([row[0] for row in rows], nominal_rate_hz, where)
    if not (np.isfinite(values).all() and np.isfinite(times).all()):
        raise DataError(f"{where}: NaN/Inf values or timestamps")
    return times, values.astype(np.float32)


def parse_pose(content: bytes, where: str) -> np.ndarray:
    """Frame key -> {"person1": [...], "person2": [...] or []} -> (T, 17, 2) (x, y) of person2
    when present and non-empty (the authors' rule), else person1; [] gives an all-zero frame."""
    try:
        frames = json.loads(content)
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"{where}: not JSON ({error})") from None
    if not isinstance(frames, dict):
        raise DataError(f"{where}: expected an object of frames, got {type(frames).__name__}")
    joints = len(JOINT_NAMES)
    out = np.zeros((len(frames), joints, 2), np.float32)
    for i, (key, frame) in enumerate(frames.items()):
        if not isinstance(frame, dict) or "person1" not in frame:
            raise DataError(f"{where}: frame {key!r} has no 'person1'; expected {{'person1': "
                            f"[{3 * joints} numbers], 'person2': [{3 * joints} numbers] or []}}")
        person = frame.get("person2") or frame["person1"]
        if isinstance(person, list) and not person:
            continue  # Nobody detected: an all-zero frame, which the loader treats as missing.
        try:
            points = np.array(person, dtype=np.float64).reshape(joints, 3)
        except (TypeError, ValueError):
            raise DataError(f"{where}: frame {key!r}: the person is not {3 * joints} numbers "
                            f"(17 COCO keypoints x (x, y, confidence))") from None
        if not np.isfinite(points).all():
            raise DataError(f"{where}: frame {key!r} has NaN/Inf keypoints")
        out[i] = points[:, :2]
    return out
