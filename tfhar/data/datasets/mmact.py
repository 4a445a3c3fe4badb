"""MMAct (Kong, Wu, Deng, Klinkigt, Tong, Murakami, ICCV 2019), the challenge release its authors
send on request: phone and watch inertial sensors and 2D COCO keypoints, 35 actions, 20
subjects, 4 scenes.

The archives are converted once by `python -m tfhar.data prepare mmact --archives DIR`
(`mmact_prepare.py`) into `inertial.npz` (each trial's four raw streams: times in s and x, y,
z) and `skeleton.npz` (camera 1's keypoints, person chosen, confidences dropped). This loader
aligns the streams on a 50 Hz clock, pairs the modalities by (subject, action, scene, session),
resamples and normalizes, and caches the result like the other loaders. Details and the choices
behind them: docs/datasets.md (MMAct). A little over 300 lines: the 35 class names, three
protocols, and the alignment and pairing rules of a release whose four sensor streams are not
synchronised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfhar.data import cache as cache_lib
from tfhar.data import preprocess, sequences
from tfhar.data import timeseries as ts
from tfhar.data.errors import DataError
from tfhar.data.record import Record
from tfhar.data.splits import Protocol

NAME = "mmact"
MODALITIES = ("inertial", "skeleton")
# fmt: off
CLASS_NAMES = (
    "carrying", "checking_time", "closing", "crouching", "entering", "exiting", "fall",
    "jumping", "kicking", "loitering", "looking_around", "opening", "picking_up", "pointing",
    "pulling", "pushing", "running", "setting_down", "standing", "talking", "talking_on_phone",
    "throwing", "transferring_object", "using_phone", "walking", "waving_hand", "drinking",
    "pocket_in", "pocket_out", "sitting", "sitting_down", "standing_up", "using_pc",
    "carrying_heavy", "carrying_light",
)
# Source -> nominal rate (Hz); the channel order of the record follows this order.
SOURCES = {"acc_phone": 100.0, "acc_watch": 100.0, "gyro": 50.0, "orientation": 50.0}
CHANNEL_NAMES = tuple(f"{source}_{axis}" for source in SOURCES for axis in "xyz")
# Android's conventions (the release documents none): accelerometers with gravity in m/s^2,
# gyroscope in rad/s, orientation angles in degrees.
CHANNEL_UNITS = ("m/s^2",) * 6 + ("rad/s",) * 3 + ("deg",) * 3
# Orientation angles are not a vector: a rotation augmentation applies to the first three.
CHANNEL_GROUPS = ((0, 1, 2), (3, 4, 5), (6, 7, 8))
JOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# fmt: on
SHOULDERS, HIPS = (5, 6), (11, 12)  # COCO has no spine: the torso's midpoints stand in.
INERTIAL_RATE_HZ = 50.0
PROTOCOLS = {
    # The authors' code: subject 16 is in no part (the paper trains its model on 1-16).
    "cross_subject": Protocol(tuple(range(1, 13)), (13, 14, 15), (17, 18, 19, 20)),
    "paper": Protocol(tuple(range(1, 17)), None, (17, 18, 19, 20)),
    # Test scene 2; no validation part (a held-out scene would leave two to train on).
    "cross_scene": Protocol((1, 3, 4), None, (2,), by="scenes"),
}
FILES = {"inertial": "inertial.npz", "skeleton": "skeleton.npz"}
PREPARE_HINT = (
    "MMAct is not downloaded automatically: request its archives from its authors "
    "(https://mmact19.github.io/challenge/), then run `python -m tfhar.data prepare mmact "
    "--archives DIR --root {root}`"
)
# The common interval of a trial's four streams must last MIN_OVERLAP_S and cover
# MIN_OVERLAP_FRACTION of first start..last end; gaps up to MAX_GAP_S are interpolated.
MIN_OVERLAP_S, MIN_OVERLAP_FRACTION, MAX_GAP_S = 0.5, 0.5, 1.0
ALIGN = ("time", "count")

Key = tuple[int, int, int, int]  # (label, subject, scene, session): the rows' order.


def describe_key(key: Key) -> str:
    """'subject 3, scene 2, session 1, walking'."""
    label, subject, scene, session = key
    return f"subject {subject}, scene {scene}, session {session}, {CLASS_NAMES[label]}"


def sequences_of(arrays: dict, prefix: str) -> dict[Key, tuple[str, list[np.ndarray]]]:
    """{key: (archive member, [array slices])} of one source of a converted file: the rows of
    `{prefix}keys` (subject, scene, session, label), slicing `{prefix}times` and `values` (or
    `frames`) by `{prefix}offsets`."""
    offsets = arrays[f"{prefix}offsets"]
    names = [f"{prefix}{n}" for n in ("times", "values", "frames") if f"{prefix}{n}" in arrays]
    found = {}
    for i, (subject, scene, session, label) in enumerate(arrays[f"{prefix}keys"].tolist()):
        rows = slice(int(offsets[i]), int(offsets[i + 1]))
        found[(label, subject, scene, session)] = (
            str(arrays[f"{prefix}members"][i]), [arrays[name][rows] for name in names])
    return found


def _read(root: Path, modality: str) -> dict[str, np.ndarray]:
    """The arrays of a prepared file; DataError naming it when unreadable or incomplete."""
    path = root / FILES[modality]
    prefixes = [f"{s}_" for s in SOURCES] if modality == "inertial" else [""]
    names = ("times", "values") if modality == "inertial" else ("frames",)
    required = ["skipped"] + [f"{p}{n}" for p in prefixes
                              for n in ("keys", "offsets", "members", *names)]
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        problem = f"lacks {', '.join([k for k in required if k not in arrays][:3])}"
    except Exception as error:  # zip, zlib or header errors of a damaged file: all unreadable.
        arrays, problem = {}, f"unreadable: {' '.join(str(error).split()[:12])}"
    if any(key not in arrays for key in required):
        raise DataError(f"{path}: not MMAct's prepared arrays ({problem}); prepare the archives "
                        "again into an empty folder")
    return arrays


def align_trial(streams: list[tuple[str, np.ndarray, np.ndarray]], align: str) -> np.ndarray:
    """One trial's four (archive member, times (T,) in s, values (T, 3)) in SOURCES order ->
    (G, 12) on the 50 Hz clock over their common interval; DataError naming a bad member."""
    members = [member for member, _, _ in streams]
    pairs = [(times, values) for _, times, values in streams]
    if align == "count":  # The authors' way: samples evenly spaced at the nominal rates.
        pairs = [(np.arange(len(t)) / rate, v)
                 for (t, v), rate in zip(pairs, SOURCES.values(), strict=True)]
    return ts.align_streams(
        pairs, members, rate_hz=INERTIAL_RATE_HZ,
        factors=[round(rate / INERTIAL_RATE_HZ) for rate in SOURCES.values()],
        min_span_s=MIN_OVERLAP_S, min_fraction=MIN_OVERLAP_FRACTION, max_gap_s=MAX_GAP_S,
        periods=[None, None, None, 360.0],
    )  # fmt: skip


def normalize(frames: np.ndarray) -> np.ndarray:
    """(T, 17, 2) -> recentred on the first frame's mid-hip, divided by its mid-shoulder to
    mid-hip distance (`preprocess.normalize_skeleton` on two appended midpoint joints)."""
    mid_hip = frames[:, HIPS].mean(axis=1, keepdims=True)
    mid_shoulder = frames[:, SHOULDERS].mean(axis=1, keepdims=True)
    extended = np.concatenate([frames, mid_hip, mid_shoulder], axis=1)
    joints = len(JOINT_NAMES)
    return preprocess.normalize_skeleton(extended, joints, (joints + 1, joints))[:, :joints]


def _skeleton(member: str, frames: np.ndarray, options: dict) -> tuple[np.ndarray, str]:
    """Camera 1's keypoints (T, 17, 2) -> ((window_length, 17, 2), note on repaired frames)."""
    try:
        kept, filled = preprocess.fill_missing_frames(
            frames, np.all(frames == 0, axis=(1, 2)), options["max_missing_frames"])
        out = preprocess.resample(kept, options["window_length"])
        if options["normalize_skeleton"]:
            out = normalize(out)
    except ValueError as error:
        raise DataError(f"{member}: all-zero (no person) or degenerate frames: {error}") from None
    trimmed = len(frames) - len(kept)
    note = f"{member}: {filled} interpolated, {trimmed} trimmed" if filled or trimmed else ""
    return out, note


def _inertial_rows(found: dict, options: dict, on_error: str) -> tuple[dict, list[str]]:
    """({key: (G, 12) aligned signal}, messages of the trials left out)."""
    keys = sorted(set().union(*found.values()))
    left_out, complete = [], []
    for key in keys:
        lacking = [s for s in SOURCES if key not in found[s]]
        empty = [found[s][key][0] for s in SOURCES
                 if s not in lacking and not len(found[s][key][1][0])]
        if lacking or empty:
            why = f"lacks {', '.join(lacking)}" if lacking else f"empty file {empty[0]}"
            left_out.append(f"{describe_key(key)}: {why}")
        else:
            complete.append(key)

    def read_one(key: Key) -> np.ndarray:
        return align_trial([(found[s][key][0], *found[s][key][1]) for s in SOURCES],
                           options["align"])

    rows, bad = sequences.collect(complete, read_one, on_error)
    return dict(rows), left_out + bad


def _skeleton_rows(clips: dict, options: dict, on_error: str
                   ) -> tuple[dict, list[str], list[str]]:
    """({key: (window_length, 17, 2)}, messages of the clips left out, repair notes)."""
    left_out, usable = [], []
    for key, (member, (frames,)) in sorted(clips.items()):
        if np.any(frames):
            usable.append(key)
        else:
            left_out.append(f"{member}: all-zero keypoints (no person detected)")
    rows, bad = sequences.collect(
        usable, lambda key: _skeleton(clips[key][0], clips[key][1][0], options), on_error)
    notes = [note for _, (_, note) in rows if note]
    return {key: frames for key, (frames, _) in rows}, left_out + bad, notes


def _build(root: Path, modalities: tuple[str, ...], options: dict, on_error: str) -> dict:
    """Read the converted arrays, align, pair, resample (the cached content)."""
    rows, left_out, earlier, repaired = {}, [], [], []
    for modality in modalities:
        arrays = _read(root, modality)
        earlier += [str(s) for s in arrays["skipped"]]
        if modality == "inertial":
            found = {s: sequences_of(arrays, f"{s}_") for s in SOURCES}
            rows[modality], out = _inertial_rows(found, options, on_error)
        else:
            rows[modality], out, repaired = _skeleton_rows(
                sequences_of(arrays, ""), options, on_error)
        left_out += out
    keys = sorted(set.intersection(*(set(rows[m]) for m in modalities)))
    dropped = [f"{describe_key(k)}: {m} only" for m in modalities
               for k in sorted(set(rows[m]) - set(keys))]
    if not keys:
        raise DataError(f"no usable MMAct trials under {root} ({len(left_out)} incomplete or "
                        f"bad, {len(dropped)} without both modalities)")
    index = np.array(keys, np.int32)
    arrays = {
        "labels": index[:, 0], "subjects": index[:, 1], "scenes": index[:, 2],
        "trials": index[:, 3], "incomplete": np.array(left_out, dtype=str),
        "dropped": np.array(dropped, dtype=str), "earlier": np.array(earlier, dtype=str),
        "repaired": np.array(repaired, dtype=str),
    }
    if "inertial" in modalities:
        signals = [rows["inertial"][k] for k in keys]
        arrays["durations"] = np.array([(len(s) - 1) / INERTIAL_RATE_HZ for s in signals],
                                       np.float32)
        arrays["inertial"] = np.stack(
            [preprocess.resample(s, options["window_length"]) for s in signals]
        ).astype(np.float32)
    if "skeleton" in modalities:
        arrays["skeleton"] = np.stack([rows["skeleton"][k] for k in keys]).astype(np.float32)
    return arrays


def _check_options(modalities, on_error, options: dict) -> tuple[str, ...]:
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    if not modalities or any(m not in MODALITIES for m in modalities):
        raise DataError(f"{NAME}: modalities={modalities!r}; use a non-empty subset of "
                        f"{MODALITIES}")
    if on_error not in ("raise", "skip"):
        raise DataError(f"{NAME}: on_error={on_error!r}; expected 'raise' or 'skip'")
    if options["align"] not in ALIGN:
        raise DataError(f"{NAME}: align={options['align']!r}; expected one of {ALIGN}")
    for name, low in (("window_length", 2), ("max_missing_frames", 0)):
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise DataError(f"{NAME}: {name}={value!r}; expected an integer >= {low}")
        options[name] = int(value)
    options["normalize_skeleton"] = bool(options["normalize_skeleton"])
    return tuple(m for m in MODALITIES if m in modalities)


def load(
    root: str | Path,
    *,
    modalities: tuple[str, ...] = MODALITIES,
    window_length: int = 50,
    align: str = "time",
    normalize_skeleton: bool = True,
    max_missing_frames: int = 15,
    cache: bool = True,
    cache_dir: str | None = None,
    on_error: str = "raise",
) -> Record:
    """Load prepared MMAct from `root`: inertial (N, window_length, 12) (CHANNEL_NAMES), skeleton
    (N, window_length, 17, 2) (COCO JOINT_NAMES); labels 0..34 (CLASS_NAMES), subjects 1..20,
    scenes 1..4, trials = sessions = the session number; durations: the aligned inertial span
    in s (None without inertial); rows sorted by (label, subject, scene, session).

    Inertial: the four streams of a trial on a 50 Hz clock over the interval all of them cover
    (`align="time"`; `"count"` ignores the timestamps and spaces the samples at their nominal
    rates, as the authors' code does), the 100 Hz accelerometers decimated without aliasing,
    orientation angles unwrapped; then FFT-resampled. Skeleton: all-zero frames (no person) are
    trimmed at the ends and interpolated inside (runs up to `max_missing_frames`), FFT-resampled
    and (`normalize_skeleton`) recentred on the first frame's mid-hip and divided by its
    mid-shoulder to mid-hip distance. Trials lacking a source, with an empty file or with
    all-zero keypoints are left out with a warning, as are (with both modalities) trials
    lacking the other modality. A bad trial (timestamps going backwards, streams overlapping
    too little, a long gap or run of missing frames) raises DataError naming its archive
    member, or with `on_error="skip"` is left out with a warning. Protocols (Record.protocols):
    cross_subject, paper, cross_scene. Cached in `cache_dir` (default $TFHAR_CACHE_DIR or
    ~/.cache/tfhar) unless `cache=False`.
    """
    options = {"window_length": window_length, "align": align,
               "normalize_skeleton": normalize_skeleton, "max_missing_frames": max_missing_frames}
    modalities = _check_options(modalities, on_error, options)
    root = Path(root).expanduser()
    missing = [root / FILES[m] for m in modalities if not (root / FILES[m]).is_file()]
    if missing:
        raise DataError(f"MMAct not prepared: no {missing[0]}. " + PREPARE_HINT.format(root=root))
    required = ("labels", "subjects", "scenes", "trials", "incomplete", "dropped", "earlier",
                "repaired", *modalities) + (("durations",) if "inertial" in modalities else ())
    settings = {"dataset": NAME, "modalities": modalities, "on_error": on_error, **options}
    arrays = cache_lib.cached(
        (cache_dir or cache_lib.default_cache_dir()) if cache else None, NAME,
        [root / FILES[m] for m in modalities], settings, required,
        lambda: _build(root, modalities, options, on_error))
    kept = len(arrays["labels"])
    for field, what in (
        ("earlier", "archive files left out when the archives were prepared"),
        ("incomplete", "MMAct trials left out (a source lacking, an empty file, all-zero "
                       "keypoints, or bad with on_error='skip')"),
        ("dropped", "MMAct trials dropped for lacking one of the two modalities"),
        ("repaired", "MMAct keypoint sequences with all-zero frames trimmed or interpolated"),
    ):
        sequences.warn(arrays[field], f"{len(arrays[field])} {what}; {kept} trials kept")
    return Record(
        name=NAME, labels=arrays["labels"].astype(np.int32),
        subjects=arrays["subjects"].astype(np.int32), class_names=CLASS_NAMES,
        inertial=arrays.get("inertial"), skeleton=arrays.get("skeleton"),
        trials=arrays["trials"].astype(np.int32), durations=arrays.get("durations"),
        scenes=arrays["scenes"].astype(np.int32), sessions=arrays["trials"].astype(np.int32),
        inertial_rate_hz=INERTIAL_RATE_HZ if "inertial" in modalities else None,
        channel_names=CHANNEL_NAMES, channel_units=CHANNEL_UNITS, channel_groups=CHANNEL_GROUPS,
        joint_names=JOINT_NAMES, protocols=dict(PROTOCOLS),
        source=f"MMAct (Kong et al., ICCV 2019), challenge release prepared at {root}; inertial "
               f"on a {INERTIAL_RATE_HZ:g} Hz clock (align={options['align']}), camera 1 pose",
    )
