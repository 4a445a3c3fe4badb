"""UTD-MHAD (Chen, Jafari, Kehtarnavaz, ICIP 2015): wrist/thigh IMU and Kinect skeletons.

Reads the layout the official `Inertial.zip` and `Skeleton.zip` unpack to:
`Inertial/aA_sS_tT_inertial.mat` (variable `d_iner`, (T, 6) at 50 Hz) and
`Skeleton/aA_sS_tT_skeleton.mat` (variable `d_skel`, (20, 3, T) at 30 Hz), A = action 1..27,
S = subject 1..8, T = trial 1..4; 861 sequences. The official sequences last 2.14..6.52 s
(inertial) and 1.37..4.17 s (skeleton); an inertial recording is 1.4 to 2.7 times as long as its
skeleton (the Kinect recording starts later and stops earlier). With `segment_s`, fixed
inertial windows of D seconds (tfhar.data.segments). Some 360 lines: the release's name tables
(27 actions, 20 joints), its file-grid checks and the segment option.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from tfhar.data import cache as cache_lib
from tfhar.data import preprocess, segments, sequences
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
RATES_HZ = {"inertial": INERTIAL_RATE_HZ, "skeleton": SKELETON_RATE_HZ}
NUM_ACTIONS, NUM_SUBJECTS, NUM_TRIALS = GRID = 27, 8, 4
OUTSIDE_GRID = (
    "{path}: not a UTD-MHAD file: expected aA_sS_tT_{modality}.mat with action A in 1..27, "
    "subject S in 1..8 and trial T in 1..4, without leading zeros"
)
# A sequence is implausible, so refused, when a modality lasts under MIN_DURATION_S or the longer
# modality lasts more than MAX_DURATION_RATIO times the shorter (official data: 1.37 s, 2.71).
MIN_DURATION_S = 0.5
MAX_DURATION_RATIO = 4.0
# Interior runs of up to this many all-zero skeleton frames (0.1 s) are interpolated.
MAX_FILLED_FRAMES = 3
# Modality -> (check of the raw variable's shape, the shape expected).
_SHAPES = {
    "inertial": (lambda s: len(s) == 2 and s[1] == 6 and s[0] >= 2, "(T >= 2, 6)"),
    "skeleton": (lambda s: len(s) == 3 and s[:2] == (20, 3) and s[2] >= 2, "(20, 3, T >= 2)"),
}
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


def _scan(root: Path, modalities: tuple[str, ...]) -> tuple[dict[str, dict[Key, Path]], dict]:
    """(modality -> {(action, subject, trial): path} of the .mat files present, 'aA_sS_tT' ->
    [paths] of the files named like them but outside the grid or with leading zeros)."""
    if not root.is_dir():
        raise DataError(
            f"UTD-MHAD not found: {root} does not exist. Download it with "
            f"`{DOWNLOAD_HINT.format(root=root)}` or pass root="
        )
    found, outside = {}, {}
    for modality in modalities:
        folder = root / FOLDERS[modality]
        if not folder.is_dir():
            raise DataError(
                f"UTD-MHAD not found: no folder {folder}. Download it with "
                f"`{DOWNLOAD_HINT.format(root=root)}`"
            )
        files = {}
        for path in sorted(folder.iterdir()):
            match = _FILE_PATTERN.fullmatch(path.name)
            if not match or match.group(4) != modality:
                continue
            key = tuple(int(g) for g in match.groups()[:3])
            if path.name == file_name(key, modality) and all(
                1 <= k <= n for k, n in zip(key, GRID, strict=True)
            ):
                files[key] = path
            else:
                outside.setdefault(path.name.rsplit("_", 1)[0], []).append(path)
        found[modality] = files
    return found, outside


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


def _skeleton_frames(path: Path, raw: np.ndarray) -> tuple[np.ndarray, str]:
    """(T, 20, 3) frames with all-zero (no body) frames trimmed at the ends and interpolated
    inside, and a note saying what was repaired ('' when nothing was)."""
    frames = preprocess.skeleton_frames(raw)
    try:
        repaired, filled = preprocess.fill_missing_frames(
            frames, np.all(frames == 0, axis=(1, 2)), MAX_FILLED_FRAMES
        )
    except ValueError as error:
        raise DataError(f"{path}: all-zero skeleton frames (no body tracked): {error}") from None
    trimmed = len(frames) - len(repaired)
    if not (filled or trimmed):
        return repaired, ""
    return repaired, f"{path}: {filled} all-zero frame(s) interpolated, {trimmed} trimmed"


def _sequence(paths: dict[str, Path], window_length: int, normalize: bool,
              key: Key, segmenting: segments.SegmentOptions | None) -> dict[str, object]:
    """One (action, subject, trial): preprocessed arrays per modality, the raw duration (the
    inertial one when loaded) and a note on repaired skeleton frames; with `segmenting`,
    (count, window_length, 6) inertial windows and their duration D."""
    raw = {m: sequences.read_mat(path, VARIABLES[m], *_SHAPES[m]) for m, path in paths.items()}
    out: dict[str, object] = {"note": ""}
    if "skeleton" in raw:
        raw["skeleton"], out["note"] = _skeleton_frames(paths["skeleton"], raw["skeleton"])
    lengths = {modality: len(x) for modality, x in raw.items()}
    sequences.check_durations(paths, lengths, RATES_HZ, MIN_DURATION_S, MAX_DURATION_RATIO)
    modality = "inertial" if "inertial" in raw else "skeleton"
    out["duration"] = lengths[modality] / RATES_HZ[modality]
    if segmenting is not None:
        out["inertial"] = segmenting.windows(raw["inertial"], key, INERTIAL_RATE_HZ,
                                             window_length)
        out["duration"] = segmenting.duration_s
    elif "inertial" in raw:
        out["inertial"] = preprocess.resample(raw["inertial"], window_length)
    if "skeleton" in raw:
        frames = preprocess.resample(raw["skeleton"], window_length)
        if normalize:
            try:
                frames = preprocess.normalize_skeleton(frames, 2, (1, 2))
            except ValueError as error:
                raise DataError(f"{paths['skeleton']}: {error}") from error
        out["skeleton"] = frames
    return out


def _build(
    root: Path,
    found: dict[str, dict[Key, Path]],
    outside: dict[str, list[Path]],
    window_length: int,
    normalize: bool,
    on_error: str,
    segmenting: segments.SegmentOptions | None = None,
) -> dict[str, np.ndarray]:
    """Read and preprocess every sequence into stacked arrays (the cached content); with
    `segmenting`, one row per window (a recording's key, label and duration D repeated)."""
    skipped = [
        OUTSIDE_GRID.format(path=paths[0], modality=paths[0].stem.rsplit("_", 1)[1])
        for paths in outside.values()
    ]
    if skipped and on_error == "raise":
        raise DataError(skipped[0])

    def read_one(key: Key) -> dict[str, object]:
        missing = [m for m in found if key not in found[m]]
        if missing:
            have = next(found[m][key] for m in found if key in found[m])
            absent = root / FOLDERS[missing[0]] / file_name(key, missing[0])
            raise DataError(f"{absent}: missing, but its pair {have} exists")
        return _sequence({m: found[m][key] for m in found}, window_length, normalize, key,
                         segmenting)

    keys = sorted(set().union(*(files.keys() for files in found.values())))
    rows, bad = sequences.collect(keys, read_one, on_error)
    skipped += bad
    if not rows:
        raise DataError(
            f"no usable UTD-MHAD sequences under {root} ({len(skipped)} skipped). "
            f"Download the data with `{DOWNLOAD_HINT.format(root=root)}`"
        )
    repeats = 1 if segmenting is None else segmenting.count
    index = np.repeat(np.array([key for key, _ in rows], np.int32).reshape(-1, 3), repeats, 0)
    arrays = {
        "labels": index[:, 0] - 1,
        "subjects": index[:, 1],
        "trials": index[:, 2],
        "durations": np.repeat(np.array([row["duration"] for _, row in rows], np.float32),
                               repeats),
        "skipped": np.array(skipped, dtype=str),
        "repaired": np.array([row["note"] for _, row in rows if row["note"]], dtype=str),
    }
    stack = np.stack if segmenting is None else np.concatenate
    for modality in found:
        arrays[modality] = stack([row[modality] for _, row in rows]).astype(np.float32)
    return arrays


def load_raw_inertial(
    root: str | Path, subjects: tuple[int, ...] | None = None
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The raw inertial recordings, not resampled: ([float64 (T, 6) at 50 Hz in g and deg/s],
    labels int32 (N,) = action - 1, subjects int32 (N,)), sorted by (action, subject, trial);
    only those of `subjects` when given. DataError for a bad file, as `load`, or none found.
    """
    root = Path(root).expanduser()
    files = _scan(root, ("inertial",))[0]["inertial"]
    keys = sorted(k for k in files if subjects is None or k[1] in subjects)
    if not keys:
        raise DataError(f"no UTD-MHAD inertial recordings of subjects {subjects} under {root}")
    samples = [sequences.read_mat(files[k], VARIABLES["inertial"], *_SHAPES["inertial"])
               for k in keys]
    index = np.array(keys, np.int32)
    return samples, index[:, 0] - 1, index[:, 1]


def load(
    root: str | Path,
    *,
    modalities: tuple[str, ...] = MODALITIES,
    window_length: int = 50,
    normalize_skeleton: bool = True,
    cache: bool = True,
    cache_dir: str | None = None,
    on_error: str = "raise",
    segment_s: float | None = None,
    segments_per_recording: int = 1,
    segment_seed: int = 0,
) -> Record:
    """Load UTD-MHAD from `root`: inertial (N, window_length, 6) in g and deg/s, skeleton
    (N, window_length, 20, 3); labels = action - 1 (0..26), rows sorted by (action, subject,
    trial); durations in s of the raw inertial (else skeleton) sequences.

    Each raw sequence is FFT-resampled to `window_length` steps; a skeleton is then recentred on
    the spine of its first frame and scaled by the first-frame shoulder_center-spine distance
    (`normalize_skeleton`). All-zero skeleton frames (every joint exactly 0: Kinect tracked no
    body) are treated as missing, like NaN: those at the start and end are trimmed, interior runs
    of up to MAX_FILLED_FRAMES (3) are linearly interpolated between the frames around them
    (with a warning naming the files), and longer runs make the file bad. The result is cached
    as .npz in `cache_dir` (default $TFHAR_CACHE_DIR or ~/.cache/tfhar) unless `cache=False`.

    DataError (naming the file and what was expected) for a bad file: unreadable, wrong variable
    or shape, NaN/Inf, too many all-zero frames, a file name outside the grid (actions 1..27,
    subjects 1..8, trials 1..4, e.g. a28_s1_t1 or a0_s1_t1), a file without its pair, a modality
    lasting under MIN_DURATION_S (0.5 s), or two modalities whose durations differ by more than
    MAX_DURATION_RATIO (4x). With `on_error="skip"` such a sequence is left out and counted in
    a warning instead; DataError when nothing usable is left.

    `segment_s` (seconds D; inertial only): what a phone sees, `segments_per_recording` rows
    per recording, each round(D x 50) raw samples at an offset drawn from
    default_rng([segment_seed, action, subject, trial]), a shorter recording padded with its
    edge samples (tfhar.data.segments), FFT-resampled to `window_length`; labels, subjects and
    trials repeated, durations D (so tfhar.export's metadata says D). Every split is cut so.
    """
    modalities = _check_options(modalities, window_length, on_error)
    try:
        segmenting = segments.segment_options(NAME, modalities, segment_s,
                                              segments_per_recording, segment_seed)
    except ValueError as error:
        raise DataError(str(error)) from None
    window_length = int(window_length)
    root = Path(root).expanduser()
    found, outside = _scan(root, modalities)
    joint_names = read_joint_names(root) if "skeleton" in modalities else JOINT_NAMES
    normalize = bool(normalize_skeleton)
    settings = {"dataset": NAME, "modalities": modalities, "window_length": window_length}
    settings.update(normalize_skeleton=normalize, on_error=on_error)
    if segmenting is not None:  # Only then, so that the caches of whole recordings stay valid.
        settings.update(segmenting.settings())
    files = [p for files in found.values() for p in files.values()]
    files += [p for paths in outside.values() for p in paths]
    arrays = cache_lib.cached(
        (cache_dir or cache_lib.default_cache_dir()) if cache else None,
        NAME,
        files,
        settings,
        ("labels", "subjects", "trials", "durations", "skipped", "repaired", *modalities),
        lambda: _build(root, found, outside, window_length, normalize, on_error, segmenting),
    )
    skipped = arrays["skipped"]
    total = len(arrays["labels"]) + len(skipped)
    sequences.warn(
        skipped, f"skipped {len(skipped)} of {total} UTD-MHAD sequences (on_error='skip')"
    )
    sequences.warn(
        arrays["repaired"],
        f"repaired {len(arrays['repaired'])} UTD-MHAD skeletons with all-zero (no body) frames",
    )
    return Record.from_arrays(
        NAME, arrays, CLASS_NAMES,
        inertial_rate_hz=INERTIAL_RATE_HZ,
        skeleton_rate_hz=SKELETON_RATE_HZ,
        channel_names=CHANNEL_NAMES,
        channel_units=CHANNEL_UNITS,
        joint_names=joint_names,
        source=f"UTD-MHAD (Chen, Jafari, Kehtarnavaz, ICIP 2015) at {root}",
    )
