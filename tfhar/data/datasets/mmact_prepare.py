"""MMAct's archives -> the folder `tfhar.data.datasets.mmact` loads, converted once.

Reads the members straight from the archives (nothing is extracted): the inertial
`<source>_clip.tar.gz`, each holding `<source>_clip/subject<N>/scene<N>/session<N>/<action>.csv`
(rows `timestamp,x,y,z`), and `trimmed_pose.zip`, of which camera 1's
`pose/cross_view/trainval/subject<N>/cam1/scene<N>/session<N>/<action>.json` are read (frame key
-> {"person1": 51 numbers, "person2": 51 numbers or []}). An archive holding a link, a device
or a path leaving its folder (absolute, `..`) is refused whole. The result is written into a
temporary folder beside the target and renamed into place, with tfhar's ownership marker:
```
.tfhar.json      {"kind": "dataset", "dataset": "mmact", ...}
inertial.npz     per source: keys (n, 4: subject, scene, session, label), offsets (n + 1),
                 times (s), values (x, y, z), members (archive:path); skipped (messages)
skeleton.npz     keys, offsets, frames (T, 17, 2), members, skipped
prepare.json     the archives (name -> bytes) and what was converted and left out
```
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np

from tfhar.data.datasets import mmact_archives as archives_lib
from tfhar.data.datasets.mmact import FILES, NAME, SOURCES
from tfhar.data.errors import DataError
from tfhar.files import read_json, write_json

INERTIAL_ARCHIVES = {source: f"{source}_clip.tar.gz" for source in SOURCES}
POSE_ARCHIVE = "trimmed_pose.zip"
ARCHIVES = (*INERTIAL_ARCHIVES.values(), POSE_ARCHIVE)
MARKER = ".tfhar.json"  # The ownership marker of tfhar.experiment.run_directory.
KIND = "dataset"
RECORD = "prepare.json"
CAMERA = 1
_INERTIAL = re.compile(r"([^/]+)/subject(\d+)/scene(\d+)/session(\d+)/([^/]+)\.csv", re.I)
_POSE_FOLDER = "pose/cross_view/trainval/"
_POSE = re.compile(r"subject(\d+)/cam(\d+)/scene(\d+)/session(\d+)/([^/]+)\.json", re.I)

Fail = Callable[[DataError], None]


def _pack(found: dict, prefix: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """{key: (member, arrays)} -> the concatenated arrays of one source, keys sorted."""
    keys = sorted(found)
    lengths = [len(found[k][1][0]) for k in keys]
    packed = {f"{prefix}keys": np.array(keys, np.int32).reshape(-1, 4),
              f"{prefix}offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
              f"{prefix}members": np.array([found[k][0] for k in keys], dtype=str)}
    for i, name in enumerate(names):
        packed[f"{prefix}{name}"] = np.concatenate([found[k][1][i] for k in keys])
    return packed


def _add(found: dict, key: tuple, member: str, arrays: tuple, fail: Fail) -> None:
    if key in found:
        fail(DataError(f"{member}: same trial as {found[key][0]} (action names are "
                       "case-insensitive)"))
    else:
        found[key] = (member, arrays)


def _inertial(archives: Path, source: str, fail: Fail, progress: bool) -> dict[str, np.ndarray]:
    """One inertial archive -> its packed streams (`_pack`, prefix `<source>_`)."""
    archive = archives / INERTIAL_ARCHIVES[source]
    folder, found = f"{source}_clip", {}
    for name, content in archives_lib.tar_members(archive, progress):
        where, name = f"{archive.name}:{name}", name.removeprefix("./")
        if not name.lower().endswith(".csv") or PurePosixPath(name).name.startswith("._"):
            continue  # Notes, and the resource forks macOS's tar adds.
        try:
            match = _INERTIAL.fullmatch(name)
            if not match or match.group(1) != folder:
                raise DataError(f"{where}: not in the layout {folder}/subject<N>/scene<N>/"
                                "session<N>/<action>.csv")
            key = archives_lib.trial_key(where, *match.groups()[1:])
            _add(found, key, where, archives_lib.parse_csv(content, SOURCES[source], where), fail)
        except DataError as error:
            fail(error)
    if not found:
        raise DataError(f"{archive}: no {folder}/subject<N>/scene<N>/session<N>/<action>.csv")
    return _pack(found, f"{source}_", ("times", "values"))


def _pose(archives: Path, fail: Fail, progress: bool) -> dict[str, np.ndarray]:
    """The pose archive's camera-1 clips -> packed keypoints (`_pack`, no prefix)."""
    archive, found = archives / POSE_ARCHIVE, {}

    def wanted(name: str) -> bool:  # Camera 1's files, and misfits (to name them).
        match = _POSE.fullmatch(name[len(_POSE_FOLDER):])
        return (name.startswith(_POSE_FOLDER) and name.lower().endswith(".json")
                and not PurePosixPath(name).name.startswith("._")
                and (not match or int(match.group(2)) == CAMERA))

    for name, content in archives_lib.zip_members(archive, wanted, progress):
        where = f"{archive.name}:{name}"
        try:
            match = _POSE.fullmatch(name[len(_POSE_FOLDER):])
            if not match:
                raise DataError(f"{where}: not in the layout {_POSE_FOLDER}subject<N>/cam<N>/"
                                "scene<N>/session<N>/<action>.json")
            subject, _, scene, session, stem = match.groups()
            key = archives_lib.trial_key(where, subject, scene, session, stem)
            _add(found, key, where, (archives_lib.parse_pose(content, where),), fail)
        except DataError as error:
            fail(error)
    if not found:
        raise DataError(f"{archive}: no {_POSE_FOLDER}subject<N>/cam{CAMERA}/scene<N>/"
                        "session<N>/<action>.json")
    return _pack(found, "", ("frames",))


def check_archives(archives: str | os.PathLike) -> dict[str, int]:
    """{archive name: bytes} of the five archives in folder `archives`; DataError naming the
    missing ones."""
    folder = Path(archives).expanduser()
    if not folder.is_dir():
        raise DataError(f"--archives {folder}: not a folder; expected the folder holding "
                        f"MMAct's archives ({', '.join(ARCHIVES)})")
    missing = [name for name in ARCHIVES if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder}: lacks {', '.join(missing)} (MMAct's archives, sent by its "
                        "authors on request: https://mmact19.github.io/challenge/)")
    return {name: (folder / name).stat().st_size for name in ARCHIVES}


def check_target(root: Path, sizes: dict[str, int]) -> bool:
    """Whether `root` already holds MMAct prepared from archives of these sizes (True: nothing
    to do); False when it is absent or an empty folder; DataError when tfhar may not fill it."""
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise DataError(f"--root {root}: not a folder (a file or a link); choose another one")
    if not root.exists() or not any(root.iterdir()):
        return False
    marker, record = read_json(root / MARKER), read_json(root / RECORD)
    if not (marker and marker.get("kind") == KIND and marker.get("dataset") == NAME and record):
        raise DataError(f"--root {root}: holds files tfhar did not write; tfhar prepares MMAct "
                        "only into an absent or empty folder: choose another --root")
    if record.get("archives") != sizes:
        raise DataError(f"--root {root}: already holds MMAct prepared from other archives "
                        f"({record.get('archives')}); delete that folder yourself or choose "
                        "another --root")
    return True


def prepare(
    archives: str | os.PathLike,
    root: str | os.PathLike,
    *,
    on_error: str = "raise",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Convert MMAct's five archives in folder `archives` into `root` (see the module doc).

    Refused before anything is written (DataError): an archive missing, `root` holding anything
    but an earlier preparation of the same archives (which makes this a no-op). An unknown
    action, a file outside the layout or unparsable raises DataError naming the archive
    member, or with `on_error="skip"` is left out and listed; an unsafe or damaged archive
    always raises. Nothing is left behind on an error. Returns `root`.
    """
    if on_error not in ("raise", "skip"):
        raise DataError(f"{NAME}: on_error={on_error!r}; expected 'raise' or 'skip'")
    sizes = check_archives(archives)
    root, folder = Path(root).expanduser(), Path(archives).expanduser()
    if check_target(root, sizes):
        log(f"{root}: already prepared from these archives; nothing to do")
        return root
    skipped: list[str] = []

    def fail(error: DataError) -> None:
        if on_error == "raise":
            raise error
        skipped.append(str(error))

    inertial: dict[str, np.ndarray] = {}
    for source in SOURCES:
        inertial.update(_inertial(folder, source, fail, progress))
    inertial["skipped"] = np.array(skipped, dtype=str)
    before = len(skipped)
    skeleton = _pose(folder, fail, progress)
    skeleton["skipped"] = np.array(skipped[before:], dtype=str)
    counts = {source: len(inertial[f"{source}_keys"]) for source in SOURCES}
    counts["pose (camera 1)"] = len(skeleton["keys"])
    root.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        for modality, arrays in (("inertial", inertial), ("skeleton", skeleton)):
            np.savez(temporary / FILES[modality], **arrays)
        write_json(temporary / RECORD, {"archives": sizes, "files": counts, "skipped": skipped})
        from tfhar import __version__

        write_json(temporary / MARKER, {
            "kind": KIND, "dataset": NAME, "tfhar": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")})
        os.chmod(temporary, 0o755)  # mkdtemp makes it private; a dataset is not a secret.
        os.replace(temporary, root)  # Atomic; replaces `root` only when it is an empty folder.
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    files = ", ".join(f"{n} {what}" for what, n in counts.items())
    log(f"{root}: prepared MMAct ({files} files; {len(skipped)} left out)")
    return root
