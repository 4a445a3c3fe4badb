"""UTD-MHAD (Chen, Jafari, Kehtarnavaz, ICIP 2015): wrist/thigh IMU and Kinect skeletons.

Reads the layout the official `Inertial.zip` and `Skeleton.zip` unpack to:
`Inertial/aA_sS_tT_inertial.mat` (variable `d_iner`, (T, 6) at 50 Hz) and
`Skeleton/aA_sS_tT_skeleton.mat` (variable `d_skel`, (20, 3, T) at 30 Hz), A = action 1..27,
S = subject 1..8, T = trial 1..4; 861 sequences.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import scipy.io

from tfhar.data import cache as cache_lib
from tfhar.data import preprocess
from tfhar.data.errors import DataError
from tfhar.data.record import Record

NAME = "utd_mhad"
BASE_URL = "http://www.utdallas.edu/~kehtar/UTD-MAD"
DOWNLOAD_HINT = "python -m tfhar.data download utd_mhad --root {root}"
FOLDERS = {"inertial": "Inertial", "skeleton": "Skeleton"}
VARIABLES = {"inertial": "d_iner", "skeleton": "d_skel"}
MODALITIES = ("inertial", "skeleton")
ON_ERROR = ("raise", "skip")
INERTIAL_RATE_HZ = 50.0
SKELETON_RATE_HZ = 30.0
NUM_ACTIONS, NUM_SUBJECTS, NUM_TRIALS = 27, 8, 4
# (action, subject, trial) absent from the official release.
ABSENT = frozenset({(8, 1, 4), (23, 6, 4), (27, 8, 4)})
# fmt: off
CLASS_NAMES = (
    "right arm swipe to the left", "right arm swipe to the right", "right hand wave",
    "two hand front clap", "right arm throw", "cross arms in the chest", "basketball shoot",
    "right hand draw x", "right hand draw circle (clockwise)",
    "right hand draw circle (counter clockwise)", "draw triangle", "bowling (right hand)",
    "front boxing", "baseball swing from right", "tennis right hand forehand swing",
    "arm curl (two arms)", "tennis serve", "two hand push", "right hand knock on door",
    "right hand catch an object", "right hand pick up and throw", "jogging in place",
    "walking in place", "sit to stand", "stand to sit", "forward lunge (left foot forward)",
    "squat (two arms stretch out)",
)
CHANNEL_NAMES = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
CHANNEL_UNITS = ("g", "g", "g", "deg/s", "deg/s", "deg/s")
JOINT_NAMES = (
    "head", "shoulder_center", "spine", "hip_center", "left_shoulder", "left_elbow",
    "left_wrist", "left_hand", "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot", "right_hip", "right_knee",
    "right_ankle", "right_foot",
)
# fmt: on
JOINT_ORDER_FILE = "Skeleton_joint_order.txt"
_FILE_PATTERN = re.compile(r"a(\d+)_s(\d+)_t(\d+)_(inertial|skeleton)\.mat")
_JOINT_LINE = re.compile(r"^\s*(\d+)\.\s*([^;]*?)\s*;")

Key = tuple[int, int, int]


def file_name(key: Key, modality: str) -> str:
    """'a1_s2_t3_inertial.mat' for key (1, 2, 3)."""
    action, subject, trial = key
    return f"a{action}_s{subject}_t{trial}_{modality}.mat"


def expected_files() -> dict[str, tuple[str, ...]]:
    """Folder -> the 861 .mat file names the official release holds there."""
    keys = [
        (a, s, t)
        for a in range(1, NUM_ACTIONS + 1)
        for s in range(1, NUM_SUBJECTS + 1)
        for t in range(1, NUM_TRIALS + 1)
        if (a, s, t) not in ABSENT
    ]
    return {folder: tuple(file_name(k, m) for k in keys) for m, folder in FOLDERS.items()}


def _check_options(modalities, window_length, on_error) -> tuple[str, ...]:
    if isinstance(modalities, str):
        modalities = (modalities,)
    modalities = tuple(modalities)
    if not modalities or any(m not in MODALITIES for m in modalities):
        raise DataError(
            f"utd_mhad: modalities={modalities!r}; use a non-empty subset of {MODALITIES}"
        )
    if (
        isinstance(window_length, bool)
        or not isinstance(window_length, int | np.integer)
        or window_length < 2
    ):
        raise DataError(f"utd_mhad: window_length={window_length!r}; expected an integer >= 2")
    if on_error not in ON_ERROR:
        raise DataError(f"utd_mhad: on_error={on_error!r}; expected one of {ON_ERROR}")
    return tuple(m for m in MODALITIES if m in modalities)


def _scan(root: Path, modalities: tuple[str, ...]) -> dict[str, dict[Key, Path]]:
    """Modality -> {(action, subject, trial): path} of the .mat files present."""
    if not root.is_dir():
        raise DataError(
            f"UTD-MHAD not found: {root} does not exist. Download it with "
            f"`{DOWNLOAD_HINT.format(root=root)}` or pass root="
        )
    found = {}
    for modality in modalities:
        folder = root / FOLDERS[modality]
        if not folder.is_dir():
            raise DataError(
                f"UTD-MHAD not found: no folder {folder}. Download it with "
                f"`{DOWNLOAD_HINT.format(root=root)}`"
            )
        files = {}
        for path in folder.iterdir():
            match = _FILE_PATTERN.fullmatch(path.name)
            if match and match.group(4) == modality:
                files[tuple(int(g) for g in match.groups()[:3])] = path
        found[modality] = files
    return found


def read_joint_names(root: Path) -> tuple[str, ...]:
    """Joint names from Skeleton/Skeleton_joint_order.txt when present, else the built-in list."""
    path = root / FOLDERS["skeleton"] / JOINT_ORDER_FILE
    if not path.is_file():
        return JOINT_NAMES
    lines = [_JOINT_LINE.match(line) for line in path.read_text(errors="replace").splitlines()]
    names = tuple(m.group(2) for m in lines if m)
    if len(names) != len(JOINT_NAMES):
        raise DataError(
            f"{path}: lists {len(names)} joints ('1. head;' lines), expected {len(JOINT_NAMES)}"
        )
    return names


def _read(path: Path, modality: str) -> np.ndarray:
    """The raw float64 array in `path`, checked for shape and finite values."""
    variable = VARIABLES[modality]
    try:
        contents = scipy.io.loadmat(str(path))
    # scipy raises many exception types for corrupt or truncated files; all mean "unreadable".
    except Exception as error:
        raise DataError(
            f"{path}: cannot read MATLAB file ({type(error).__name__}: {error})"
        ) from error
    if variable not in contents:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise DataError(f"{path}: no variable {variable!r} (found {found})")
    x = np.asarray(contents[variable])
    if modality == "inertial":
        ok, expected = x.ndim == 2 and x.shape[1] == 6 and x.shape[0] >= 2, "(T >= 2, 6)"
    else:
        ok = x.ndim == 3 and x.shape[:2] == (len(JOINT_NAMES), 3) and x.shape[2] >= 2
        expected = f"({len(JOINT_NAMES)}, 3, T >= 2)"
    if not ok or not np.issubdtype(x.dtype, np.number):
        raise DataError(
            f"{path}: {variable} has shape {x.shape} dtype {x.dtype}, "
            f"expected numbers shaped {expected}"
        )
    x = x.astype(np.float64)
    bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise DataError(f"{path}: {variable} has {bad} NaN/Inf values")
    return x


def _sequence(paths: dict[str, Path], window_length: int, normalize: bool) -> dict[str, object]:
    """One (action, subject, trial): preprocessed arrays per modality and the raw duration."""
    out: dict[str, object] = {}
    for modality, path in paths.items():
        raw = _read(path, modality)
        if modality == "inertial":
            out["inertial"] = preprocess.resample(raw, window_length)
            out["duration"] = raw.shape[0] / INERTIAL_RATE_HZ
            continue
        frames = preprocess.resample(preprocess.skeleton_frames(raw), window_length)
        if normalize:
            try:
                frames = preprocess.normalize_skeleton(frames, 2, (1, 2))
            except ValueError as error:
                raise DataError(f"{path}: {error}") from error
        out["skeleton"] = frames
        out.setdefault("duration", raw.shape[2] / SKELETON_RATE_HZ)
    return out


def _build(
    root: Path,
    found: dict[str, dict[Key, Path]],
    window_length: int,
    normalize: bool,
    on_error: str,
) -> dict[str, np.ndarray]:
    """Read and preprocess every sequence into stacked arrays (the cached content)."""
    keys = sorted(set().union(*(files.keys() for files in found.values())))
    rows, skipped = [], []
    for key in keys:
        try:
            missing = [m for m in found if key not in found[m]]
            if missing:
                have = next(found[m][key] for m in found if key in found[m])
                absent = root / FOLDERS[missing[0]] / file_name(key, missing[0])
                raise DataError(f"{absent}: missing, but its pair {have} exists")
            rows.append(
                (key, _sequence({m: found[m][key] for m in found}, window_length, normalize))
            )
        except DataError as error:
            if on_error == "raise":
                raise
            skipped.append(str(error))
    if not rows:
        raise DataError(
            f"no usable UTD-MHAD sequences under {root} ({len(skipped)} skipped). "
            f"Download the data with `{DOWNLOAD_HINT.format(root=root)}`"
        )
    index = np.array([key for key, _ in rows], np.int32).reshape(-1, 3)
    arrays = {
        "labels": index[:, 0] - 1,
        "subjects": index[:, 1],
        "trials": index[:, 2],
        "durations": np.array([row["duration"] for _, row in rows], np.float32),
        "skipped": np.array(skipped, dtype=str),
    }
    for modality in found:
        arrays[modality] = np.stack([row[modality] for _, row in rows]).astype(np.float32)
    return arrays


def load(
    root: str | Path,
    *,
    modalities: tuple[str, ...] = MODALITIES,
    window_length: int = 50,
    normalize_skeleton: bool = True,
    cache: bool = True,
    cache_dir: str | None = None,
    on_error: str = "raise",
) -> Record:
    """Load UTD-MHAD from `root`: inertial (N, window_length, 6), skeleton (N, window_length,
    20, 3); labels = action - 1 (0..26), rows sorted by (action, subject, trial).

    Each raw sequence is FFT-resampled to `window_length` steps; a skeleton is then recentred on
    the spine of its first frame and scaled by the first-frame shoulder_center-spine distance
    (`normalize_skeleton`). The result is cached as .npz in `cache_dir` (default
    $TFHAR_CACHE_DIR or ~/.cache/tfhar) unless `cache=False`. A bad or unpaired file raises
    DataError, or with `on_error="skip"` is left out with a warning.
    """
    modalities = _check_options(modalities, window_length, on_error)
    window_length = int(window_length)
    root = Path(root).expanduser()
    found = _scan(root, modalities)
    joint_names = read_joint_names(root) if "skeleton" in modalities else JOINT_NAMES
    arrays = None
    if cache:
        settings = {
            "dataset": NAME,
            "modalities": modalities,
            "window_length": window_length,
            "normalize_skeleton": bool(normalize_skeleton),
            "on_error": on_error,
        }
        files = [p for files in found.values() for p in files.values()]
        path = cache_lib.cache_path(
            cache_dir or cache_lib.default_cache_dir(), NAME, cache_lib.fingerprint(files, settings)
        )
        arrays = cache_lib.read(
            path, ("labels", "subjects", "trials", "durations", "skipped", *modalities)
        )
    if arrays is None:
        arrays = _build(root, found, window_length, bool(normalize_skeleton), on_error)
        if cache:
            try:
                cache_lib.write(path, arrays)
            except OSError as error:
                warnings.warn(f"could not write the UTD-MHAD cache {path}: {error}", stacklevel=2)
    skipped = [str(s) for s in arrays["skipped"]]
    if skipped:
        total = len(arrays["labels"]) + len(skipped)
        warnings.warn(
            f"skipped {len(skipped)} of {total} UTD-MHAD sequences (on_error='skip'): "
            + "; ".join(skipped[:3])
            + ("; ..." if len(skipped) > 3 else ""),
            stacklevel=2,
        )
    return Record(
        name=NAME,
        labels=arrays["labels"].astype(np.int32),
        subjects=arrays["subjects"].astype(np.int32),
        class_names=CLASS_NAMES,
        inertial=arrays.get("inertial"),
        skeleton=arrays.get("skeleton"),
        trials=arrays["trials"].astype(np.int32),
        durations=arrays["durations"],
        inertial_rate_hz=INERTIAL_RATE_HZ,
        skeleton_rate_hz=SKELETON_RATE_HZ,
        channel_names=CHANNEL_NAMES,
        channel_units=CHANNEL_UNITS,
        joint_names=joint_names,
        source=f"UTD-MHAD (Chen, Jafari, Kehtarnavaz, ICIP 2015) at {root}",
    )
