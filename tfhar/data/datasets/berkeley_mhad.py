"""Berkeley-MHAD (Ofli, Chaudhry, Kurillo, Vidal, Bajcsy, WACV 2013): six accelerometers and
optical motion capture, 11 actions x 12 subjects x 5 repetitions.

Reads the official layout: `Accelerometer/ShimmerNN/acc_hNN_sSS_aAA_rRR.txt` (NN = unit 01..06;
rows `x y z unix_time`, g) and `Mocap/SkeletalData/skl_sSS_aAA_rRR.bvh` (480 Hz). One sequence
per (action, subject, repetition): the six units are placed on a common 30 Hz clock over the
interval all of them cover (18 channels), the skeleton by forward kinematics; both are then
FFT-resampled to `window_length` steps. The cleaning rules and the measurements behind their
thresholds are in docs/datasets.md. Longer than most modules (about 350 lines) because the
release's quirks (unsynchronised units, bursts, packet gaps, glitches, missing trials) each
need their own check and message.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from tfhar.data import bvh, preprocess
from tfhar.data import cache as cache_lib
from tfhar.data import timeseries as ts
from tfhar.data.errors import DataError
from tfhar.data.record import Record

NAME = "berkeley_mhad"
MODALITIES = ("inertial", "skeleton")
NUM_ACTIONS, NUM_SUBJECTS, NUM_REPETITIONS, NUM_UNITS = 11, 12, 5, 6
# (action, subject, repetition) absent from the official release, in all six units.
ABSENT = frozenset({(7, 2, 5), (8, 4, 5)})
# fmt: off
CLASS_NAMES = (
    "jumping in place", "jumping jacks", "bending (hands up all the way down)",
    "punching (boxing)", "waving two hands", "waving one hand (right)", "clapping hands",
    "throwing a ball", "sit down then stand up", "sit down", "stand up",
)
# fmt: on
CHANNEL_NAMES = tuple(f"h{u:02d}_acc_{axis}" for u in range(1, 7) for axis in "xyz")
CHANNEL_UNITS = ("g",) * len(CHANNEL_NAMES)
SKELETON_RATE_HZ = 480.0
FOLDERS = {"inertial": Path("Accelerometer"), "skeleton": Path("Mocap") / "SkeletalData"}
# Overlaps shorter than this fraction of the trial (first start to last end) are errors.
MIN_OVERLAP_FRACTION = 0.4
GET_HINT = (
    "Berkeley-MHAD is not downloaded automatically: get it from "
    "https://tele-immersion.citris-uc.org/berkeley_mhad and unpack it so that "
    "{root}/Accelerometer/Shimmer01/ exists, or pass root="
)
MISSING_HINTS = {
    "inertial": GET_HINT,
    "skeleton": "Load modalities=('inertial',) without the motion capture.",
}
_PATTERNS = {
    "inertial": re.compile(r"Shimmer(\d+)/acc_h(\d+)_s(\d+)_a(\d+)_r(\d+)\.txt"),
    "skeleton": re.compile(r"skl_s(\d+)_a(\d+)_r(\d+)\.bvh"),
}

Key = tuple[int, int, int]  # (action, subject, repetition)


def stem(key: Key) -> str:
    """'s02_a07_r05' for key (7, 2, 5)."""
    action, subject, repetition = key
    return f"s{subject:02d}_a{action:02d}_r{repetition:02d}"


def _check_options(modalities, on_error, **options) -> tuple[tuple[str, ...], dict]:
    """(modalities in canonical order, validated options); DataError echoing a bad value."""
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    if not modalities or any(m not in MODALITIES for m in modalities):
        raise DataError(
            f"{NAME}: modalities={modalities!r}; use a non-empty subset of {MODALITIES}"
        )
    if on_error not in ("raise", "skip"):
        raise DataError(f"{NAME}: on_error={on_error!r}; expected 'raise' or 'skip'")
    length = options["window_length"]
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 2:
        raise DataError(f"{NAME}: window_length={length!r}; expected an integer >= 2")
    for name in ("grid_rate_hz", "glitch_g", "max_gap_s", "min_overlap_s"):
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise DataError(f"{NAME}: {name}={value!r}; expected a positive number")
        options[name] = float(value)
    center, scale = options["center_joint"], options["scale_joints"]
    joints = (center, *scale) if isinstance(scale, list | tuple) else ()
    if len(joints) != 3 or not all(isinstance(j, str) for j in joints):
        raise DataError(
            f"{NAME}: center_joint={center!r}, scale_joints={scale!r}; expected a "
            "joint name and a pair of joint names"
        )
    options.update(
        window_length=int(length),
        scale_joints=tuple(scale),
        normalize_skeleton=bool(options["normalize_skeleton"]),
    )
    return tuple(m for m in MODALITIES if m in modalities), options


def _listing(folder: Path) -> list[Path]:
    """Every file under `folder` (the cache key), or none if it is absent."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _check_key(path: Path, subject: int, action: int, repetition: int) -> Key:
    limits = (
        ("subject", subject, NUM_SUBJECTS),
        ("action", action, NUM_ACTIONS),
        ("repetition", repetition, NUM_REPETITIONS),
    )
    for what, value, top in limits:
        if not 1 <= value <= top:
            raise DataError(f"{path}: {what} {value} outside the release's 1..{top}")
    return action, subject, repetition


def _scan(root: Path, modalities: tuple[str, ...], fail) -> dict[str, dict]:
    """Modality -> {key: paths}: inertial {unit: path} per key, skeleton one path per key.

    Names that do not match the layout are ignored; `fail(error)` raises or records a file whose
    numbers fall outside the release's grid (or a sensor in another unit's folder).
    """
    if not root.is_dir():
        raise DataError(
            f"Berkeley-MHAD not found: {root} does not exist. " + GET_HINT.format(root=root)
        )
    found: dict[str, dict] = {}
    for modality in modalities:
        folder = root / FOLDERS[modality]
        if not folder.is_dir():
            raise DataError(
                f"Berkeley-MHAD: no folder {folder} for the {modality} modality. "
                + MISSING_HINTS[modality].format(root=root)
            )
        found[modality] = {}
        for path in sorted(folder.rglob("*")):
            match = _PATTERNS[modality].fullmatch(path.relative_to(folder).as_posix())
            if not match:
                continue
            numbers = [int(g) for g in match.groups()]
            try:
                if modality == "skeleton":
                    found[modality][_check_key(path, *numbers)] = path
                    continue
                folder_unit, unit, *key = numbers
                if not 1 <= unit <= NUM_UNITS or unit != folder_unit:
                    raise DataError(
                        f"{path}: sensor {unit:02d} in folder Shimmer"
                        f"{folder_unit:02d}; expected sensors 01..{NUM_UNITS:02d}, "
                        "each in its own ShimmerNN folder"
                    )
                found[modality].setdefault(_check_key(path, *key), {})[unit] = path
            except DataError as error:
                fail(error)
    return found


def _inertial(root: Path, key: Key, units: dict[int, Path], options: dict) -> dict:
    """One trial's six units -> (window_length, 18) on the common clock, and cleaning counts."""
    missing = [u for u in range(1, NUM_UNITS + 1) if u not in units]
    if missing:
        absent = root / FOLDERS["inertial"] / f"Shimmer{missing[0]:02d}"
        raise DataError(
            f"{absent / f'acc_h{missing[0]:02d}_{stem(key)}.txt'}: missing, but other "
            f"units of {stem(key)} exist (e.g. {next(iter(units.values()))})"
        )
    paths = [units[u] for u in range(1, NUM_UNITS + 1)]
    signal, counts = ts.merge_files(
        paths, 3, rate_hz=options["grid_rate_hz"], limit=options["glitch_g"],
        min_span_s=options["min_overlap_s"], min_fraction=MIN_OVERLAP_FRACTION,
        max_gap_s=options["max_gap_s"],
    )  # fmt: skip
    per_file = counts.pop("glitches")
    return {
        "inertial": preprocess.resample(signal, options["window_length"]),
        "duration": (len(signal) - 1) / options["grid_rate_hz"],
        "glitches": sum(per_file),
        "note": ", ".join(f"{p.name}: {n}" for p, n in zip(paths, per_file, strict=True) if n),
        **counts,
    }


def _skeleton(path: Path, options: dict, expected_names: tuple[str, ...] | None) -> dict:
    """One BVH file -> (window_length, J, 3) joint positions, normalized by the first frame."""
    motion = bvh.read_bvh(path)
    positions, names = bvh.joint_positions(motion)
    if expected_names is not None and names != expected_names:
        raise DataError(
            f"{path}: joints {list(names)} differ from the other files' {list(expected_names)}"
        )
    frames = preprocess.resample(positions, options["window_length"])
    if options["normalize_skeleton"]:
        center, *scale = bvh.joint_indices(
            names, (options["center_joint"], *options["scale_joints"]), str(path)
        )
        try:
            frames = preprocess.normalize_skeleton(frames, center, tuple(scale))
        except ValueError as error:
            raise DataError(f"{path}: {error}") from error
    return {
        "skeleton": frames,
        "joint_names": names,
        "skeleton_duration": positions.shape[0] * motion.frame_time,
    }


def _build(root: Path, modalities: tuple[str, ...], options: dict, on_error: str) -> dict:
    """Read and preprocess every sequence into stacked arrays (the cached content)."""
    skipped: list[str] = []

    def fail(error: DataError) -> None:
        if on_error == "raise":
            raise error
        skipped.append(str(error))

    found = _scan(root, modalities, fail)
    keys = sorted(set.intersection(*(set(found[m]) for m in modalities)))
    dropped = [
        f"{stem(k)}: {m} only" for m in modalities for k in sorted(set(found[m]) - set(keys))
    ]
    rows, joint_names = [], None
    for key in keys:
        try:
            row = {}
            if "inertial" in modalities:
                row.update(_inertial(root, key, found["inertial"][key], options))
            if "skeleton" in modalities:
                row.update(_skeleton(found["skeleton"][key], options, joint_names))
                joint_names = row.pop("joint_names")
            rows.append((key, row))
        except DataError as error:
            fail(error)
    if not rows:
        raise DataError(
            f"no usable Berkeley-MHAD sequences under {root} ({len(skipped)} "
            f"skipped, {len(dropped)} without both modalities)"
        )
    index = np.array([key for key, _ in rows], np.int32).reshape(-1, 3)
    durations = [row.get("duration", row.get("skeleton_duration")) for _, row in rows]
    arrays = {
        "labels": index[:, 0] - 1,
        "subjects": index[:, 1],
        "trials": index[:, 2],
        "durations": np.array(durations, np.float32),
        "skipped": np.array(skipped, dtype=str),
        "dropped": np.array(dropped, dtype=str),
        "joint_names": np.array(joint_names or (), dtype=str),
    }
    for modality in modalities:
        arrays[modality] = np.stack([row[modality] for _, row in rows]).astype(np.float32)
    if "inertial" in modalities:
        notes = [f"{stem(key)} ({row['note']})" for key, row in rows if row["note"]]
        arrays["repaired"] = np.array(notes, dtype=str)
        arrays["cleaning"] = np.array(
            [sum(row[field] for _, row in rows) for field in ("glitches", "repeats")]
            + [max(row["largest_gap"] for _, row in rows)]
        )
    return arrays


def _report(root: Path, arrays: dict[str, np.ndarray], options: dict) -> str:
    """Warn once per kind of sequence left out or repaired; return the record's source line."""
    glitches, repeats, gap = arrays["cleaning"] if "cleaning" in arrays else (0, 0, 0.0)
    limit = f"|a| > {options['glitch_g']:g} g"
    for field, what in (
        ("skipped", "bad files or sequences left out (on_error='skip')"),
        ("dropped", "sequences dropped for lacking one of the two modalities"),
        ("repaired", f"sequences with {glitches:.0f} glitch samples ({limit}) interpolated"),
    ):
        lines = [str(line) for line in arrays.get(field, ())]
        if lines:
            shown = "; ".join(lines[:3]) + ("; ..." if len(lines) > 3 else "")
            warnings.warn(
                f"Berkeley-MHAD: {len(lines)} {what}, {len(arrays['labels'])} sequences kept: "
                f"{shown}",
                stacklevel=3,
            )
    source = f"Berkeley-MHAD (Ofli et al., WACV 2013) at {root}"
    if "cleaning" not in arrays:
        return source
    return (
        f"{source}; accelerometers on a {options['grid_rate_hz']:g} Hz grid over the six units' "
        f"common interval: {glitches:.0f} glitch samples ({limit}) dropped, {repeats:.0f} "
        f"repeated timestamps merged, gaps up to {gap:.2f} s interpolated"
    )


def load(
    root: str | Path,
    *,
    modalities: tuple[str, ...] = MODALITIES,
    window_length: int = 50,
    grid_rate_hz: float = 30.0,
    glitch_g: float = 2.5,
    max_gap_s: float = 1.5,
    min_overlap_s: float = 1.0,
    normalize_skeleton: bool = True,
    center_joint: str = "spine",
    scale_joints: tuple[str, str] = ("Neck", "spine"),
    cache: bool = True,
    cache_dir: str | None = None,
    on_error: str = "raise",
) -> Record:
    """Load Berkeley-MHAD from `root`: inertial (N, window_length, 18) in g, skeleton
    (N, window_length, J, 3); labels = action - 1 (0..10), subjects 1..12, trials = repetition;
    rows sorted by (action, subject, repetition).

    Accelerometers: samples with any |value| > `glitch_g` are dropped (glitches; the sensors
    saturate at 2 g), each unit is linearly interpolated on a `grid_rate_hz` grid over the
    interval all six cover (at least `min_overlap_s` and 40% of the trial), bridging packet
    gaps up to `max_gap_s`; then FFT-resampled. Skeleton: joint positions by forward
    kinematics, FFT-resampled, then (`normalize_skeleton`) recentred on `center_joint` of the
    first frame and divided by the first-frame distance between `scale_joints`. With both
    modalities, sequences lacking one are dropped with a warning. A bad file raises DataError
    naming it, or with `on_error="skip"` is left out with one warning. Cached as .npz in
    `cache_dir` (default $TFHAR_CACHE_DIR or ~/.cache/tfhar) unless `cache=False`.
    """
    modalities, options = _check_options(
        modalities, on_error, window_length=window_length, grid_rate_hz=grid_rate_hz,
        glitch_g=glitch_g, max_gap_s=max_gap_s, min_overlap_s=min_overlap_s,
        normalize_skeleton=normalize_skeleton, center_joint=center_joint,
        scale_joints=scale_joints,
    )  # fmt: skip
    root = Path(root).expanduser()
    required = ("labels", "subjects", "trials", "durations", "skipped", "dropped", "joint_names")
    required += modalities + (("repaired", "cleaning") if "inertial" in modalities else ())
    files = [p for m in modalities for p in _listing(root / FOLDERS[m])]
    settings = {"dataset": NAME, "modalities": modalities, "on_error": on_error, **options}
    arrays = cache_lib.cached(
        (cache_dir or cache_lib.default_cache_dir()) if cache else None, NAME, files, settings,
        required, lambda: _build(root, modalities, options, on_error))
    source = _report(root, arrays, options)
    return Record.from_arrays(
        NAME, arrays, CLASS_NAMES,
        inertial_rate_hz=options["grid_rate_hz"],
        skeleton_rate_hz=SKELETON_RATE_HZ,
        channel_names=CHANNEL_NAMES,
        channel_units=CHANNEL_UNITS,
        joint_names=tuple(str(n) for n in arrays["joint_names"]),
        source=source,
    )
