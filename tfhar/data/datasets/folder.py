"""Your own data: a folder of CSV and .npy files that dataset.yaml and labels.csv describe.

    DIR/dataset.yaml             name, inertial: and/or skeleton: sections, optional splits:
    DIR/labels.csv               sequence, label, subject[, session][, trial]
    DIR/inertial/<sequence>.csv  a header row, the declared channels, an optional time column
    DIR/skeleton/<sequence>.npy  float (T, J, D), D = 2 or 3

dataset.yaml and labels.csv are read and checked by `folder_spec`; this module reads the
recordings. docs/your_data.md documents every key and each rule for messy recordings with its
threshold.
A little over 300 lines: every repair, skip and refusal rule for messy recordings is
here, each with its own message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfhar.data import cache as cache_lib
from tfhar.data import preprocess, sequences, timestamps
from tfhar.data.datasets.folder_spec import read_labels, read_spec
from tfhar.data.errors import DataError
from tfhar.data.record import Record

NAME = "folder"
MODALITIES = ("inertial", "skeleton")
SUFFIXES = {"inertial": ".csv", "skeleton": ".npy"}
# A modality lasting under MIN_DURATION_S, or one lasting more than MAX_MODALITY_RATIO times the
# other of the same sequence, makes the sequence bad (as for UTD-MHAD).
MIN_DURATION_S = 0.5
MAX_MODALITY_RATIO = 4.0
# A sequence lasting more than OUTLIER_RATIO times, or under 1 / OUTLIER_RATIO of, the median of
# all sequences is left out with a counted warning: resampled to the same window it would show
# motion at another speed.
OUTLIER_RATIO = 5.0
# Samples beyond GLITCH_FACTOR x inertial.range are glitches; more than MAX_GLITCH_FRACTION of a
# file's samples beyond it means a wrong range or unit, so the file is bad.
GLITCH_FACTOR = 1.25
MAX_GLITCH_FRACTION = 0.05
# A file whose timestamps give a rate more than RATE_TOLERANCE (10%) from inertial.rate_hz is
# re-gridded by its timestamps and counted in a warning; more than MAX_RATE_RATIO apart, it is bad.
RATE_TOLERANCE = timestamps.RATE_TOLERANCE
MAX_RATE_RATIO = 2.0


def _check_options(modalities, window_length, on_error, declared) -> tuple[str, ...]:
    if modalities is None:
        modalities = declared
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    if not modalities or any(m not in MODALITIES for m in modalities):
        raise DataError(f"folder: modalities={modalities!r}; use a non-empty subset of "
                        f"{MODALITIES}")
    if isinstance(window_length, bool) or not isinstance(window_length, int | np.integer) or \
            window_length < 2:
        raise DataError(f"folder: window_length={window_length!r}; expected an integer >= 2")
    if on_error not in ("raise", "skip"):
        raise DataError(f"folder: on_error={on_error!r}; expected 'raise' or 'skip'")
    return tuple(m for m in MODALITIES if m in modalities)


def _scan(root: Path, modalities: tuple[str, ...], listed: set[str]
          ) -> tuple[dict[str, dict[str, Path]], list[str]]:
    """(modality -> {sequence: file} of every modality folder present, files not listed)."""
    found, unlisted = {}, []
    for modality in MODALITIES:
        folder = root / modality
        if modality in modalities and not folder.is_dir():
            raise DataError(f"folder dataset: no folder {folder} for the {modality} modality "
                            f"(expected {modality}/<sequence>{SUFFIXES[modality]} files)")
        files = sorted(folder.glob(f"*{SUFFIXES[modality]}")) if folder.is_dir() else []
        found[modality] = {p.stem: p for p in files if p.stem in listed}
        unlisted += [str(p) for p in files if p.stem not in listed]
    return found, unlisted


def _read_csv(path: Path, spec: dict) -> tuple[np.ndarray, np.ndarray | None, str | None,
                                                str | None]:
    """(values (T, C) in inertial.channels order, times (T,) from the first row or None, the
    time column, the unit its name gives) of one inertial CSV."""
    import pandas as pd  # Deferred: only folder datasets read CSV files.

    channels = spec["channels"]
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read a CSV ({str(error).splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in channels if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: lacks channel column(s) {', '.join(missing)} listed in "
                        f"dataset.yaml inertial.channels; found {', '.join(frame.columns)}")
    values = frame[list(channels)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    if len(values) < 2:
        raise DataError(f"{path}: {len(values)} data row(s); a sequence needs at least 2")
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{path}: {int(bad.sum())} NaN, missing or non-numeric value(s), the "
                        f"first in column {channels[col]!r} at data row {row + 1}")
    others = [c for c in frame.columns if c not in channels]
    try:
        column, named = timestamps.find_time_column(others, spec["time_column"])
    except DataError as error:
        raise DataError(f"{path}: {error}") from None
    if column is None:
        return values, None, None, None
    raw = pd.to_numeric(frame[column], errors="coerce")
    bad = ~np.isfinite(raw.to_numpy(np.float64))
    if bad.any():
        raise DataError(f"{path}: {int(bad.sum())} NaN, missing or non-numeric time(s) in "
                        f"column {column!r}, the first at data row {np.argmax(bad) + 1}")
    # Subtracting the first time as integers keeps epoch nanoseconds exact.
    times = (raw - raw.iloc[0]).to_numpy(np.float64) if pd.api.types.is_integer_dtype(raw) \
        else raw.to_numpy(np.float64) - float(raw.iloc[0])
    return values, times, column, named


def _inertial(path: Path, spec: dict, window_length: int) -> dict:
    """One inertial CSV -> its window (window_length, C), duration and cleaning counts."""
    values, times, column, named = _read_csv(path, spec)
    limit = np.inf if spec["range"] is None else GLITCH_FACTOR * np.asarray(spec["range"])
    glitches = int(np.any(np.abs(values) > limit, axis=1).sum())
    if glitches > MAX_GLITCH_FRACTION * len(values):
        raise DataError(f"{path}: {glitches} of {len(values)} samples exceed {GLITCH_FACTOR:g} x "
                        f"inertial.range, more than {MAX_GLITCH_FRACTION:.0%}: check "
                        "inertial.range and inertial.units")
    rate = spec["rate_hz"]
    stream = timestamps.regrid(values, times, rate, str(path), column=column, named=named,
                               requested=spec["time_unit"], limit=limit,
                               max_gap_s=spec["max_gap_s"])
    ratio = stream.measured_rate_hz / rate
    if ratio > MAX_RATE_RATIO or ratio < 1 / MAX_RATE_RATIO:
        raise DataError(f"{path}: its timestamps ({column!r}, {stream.unit}) give "
                        f"{stream.measured_rate_hz:.4g} Hz, more than {MAX_RATE_RATIO:g}x from "
                        f"inertial.rate_hz {rate:g}: fix rate_hz or set inertial.time_unit")
    off = abs(ratio - 1) > RATE_TOLERANCE
    return {"inertial": preprocess.resample(stream.samples, window_length),
            "inertial_samples": len(stream.samples), "measured_rate_hz": stream.measured_rate_hz,
            "glitches": stream.glitches, "repeats": stream.repeats, "gap": stream.largest_gap_s,
            "rate_note": f"{path.name}: {stream.measured_rate_hz:.3g} Hz" if off else ""}


def _skeleton(path: Path, spec: dict, window_length: int, dims: int | None) -> dict:
    """One .npy -> its normalized window (window_length, J, D) and its frame count."""
    joints = len(spec["joints"])
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: cannot read a .npy array ({error})") from None
    expected = f"(T >= 2, {joints}, {dims or '2 or 3'})"
    if not np.issubdtype(x.dtype, np.number) or x.ndim != 3 or x.shape[0] < 2 or \
            x.shape[1] != joints or x.shape[2] not in ((dims,) if dims else (2, 3)):
        raise DataError(f"{path}: array of shape {x.shape} dtype {x.dtype}; expected numbers "
                        f"shaped {expected}: frames, the {joints} skeleton.joints, coordinates")
    x = x.astype(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        raise DataError(f"{path}: {int(bad.sum())} NaN/Inf value(s), the first in frame "
                        f"{np.argwhere(bad)[0][0]} (0-based)")
    frames = preprocess.resample(x, window_length)
    center, scale = spec["center_joint"], spec["scale_joints"]
    if scale is not None:
        try:
            frames = preprocess.normalize_skeleton(frames, center, scale)
        except ValueError as error:
            raise DataError(f"{path}: {error} (skeleton.scale_joints)") from None
    elif center is not None:
        frames = frames - frames[0, center]
    return {"skeleton": frames, "skeleton_frames": len(x)}


def _build(spec: dict, labels: dict, found: dict, modalities: tuple[str, ...],
           window_length: int, on_error: str) -> dict[str, np.ndarray]:
    """Read every listed sequence that has all requested modalities (the cached content)."""
    rates = {m: spec[m]["rate_hz"] for m in modalities}
    complete, dropped, missing_files = [], [], []
    for row, sequence in enumerate(labels["sequence"]):
        present = [m for m in modalities if sequence in found[m]]
        if len(present) == len(modalities):
            complete.append(row)
        elif present or any(sequence in files for files in found.values()):
            missing = [m for m in modalities if m not in present]
            dropped.append(f"{sequence}: no {' or '.join(missing)} file")
        else:
            expected = " or ".join(str(labels["root"] / m / f"{sequence}{SUFFIXES[m]}")
                                   for m in modalities)
            message = (f"{labels['path']}: sequence {sequence!r} (line {row + 2}) has no "
                       f"file: expected {expected}")
            if on_error == "raise":
                raise DataError(message)
            missing_files.append(message)
    dims: list[int] = []

    def read_one(row: int) -> dict:
        paths = {m: found[m][labels["sequence"][row]] for m in modalities}
        out = {}
        if "inertial" in modalities:
            out.update(_inertial(paths["inertial"], spec["inertial"], window_length))
        if "skeleton" in modalities:
            out.update(_skeleton(paths["skeleton"], spec["skeleton"], window_length,
                                 dims[0] if dims else None))
            dims[:] = [out["skeleton"].shape[-1]]
        lengths = {m: out[f"{m}_samples" if m == "inertial" else "skeleton_frames"]
                   for m in modalities}
        sequences.check_durations(paths, lengths, rates, MIN_DURATION_S, MAX_MODALITY_RATIO)
        first = modalities[0]
        out["duration"] = lengths[first] / rates[first]
        return out

    rows, skipped = sequences.collect(complete, read_one, on_error)
    skipped = missing_files + skipped
    durations = np.array([r["duration"] for _, r in rows], np.float64)
    median = float(np.median(durations)) if len(rows) else 0.0
    ratio = np.maximum(durations / median, median / durations) if len(rows) else durations
    outliers = [f"{labels['sequence'][i]}: {d:.2f} s, {q:.1f}x from the median {median:.2f} s"
                for (i, _), d, q in zip(rows, durations, ratio, strict=True) if q > OUTLIER_RATIO]
    rows = [r for r, q in zip(rows, ratio, strict=True) if q <= OUTLIER_RATIO]
    if not rows:
        raise DataError(f"no usable sequences in folder dataset {labels['root']}: "
                        f"{len(skipped)} bad, {len(dropped)} without a requested modality, "
                        f"{len(outliers)} duration outliers")
    index = np.array([i for i, _ in rows], np.int64)
    arrays = {key: labels[key][index] for key in ("labels", "subjects", "trials", "sessions")
              if labels[key] is not None}
    arrays.update(
        sequence=np.array(labels["sequence"], dtype=str)[index],
        durations=np.array([r["duration"] for _, r in rows], np.float32),
        skipped=np.array(skipped, dtype=str), dropped=np.array(dropped, dtype=str),
        outliers=np.array(outliers, dtype=str))
    for modality in modalities:
        arrays[modality] = np.stack([r[modality] for _, r in rows]).astype(np.float32)
    if "inertial" in modalities:
        for key in ("measured_rate_hz", "glitches", "repeats", "gap"):
            arrays[key] = np.array([r[key] for _, r in rows], np.float64)
        arrays["rate_notes"] = np.array([r["rate_note"] for _, r in rows if r["rate_note"]],
                                        dtype=str)
    return arrays


def _report(root: Path, spec: dict, arrays: dict, unlisted: list[str], listed: int) -> str:
    """Warn once per kind of sequence left out; return the record's source (several lines)."""
    kept = len(arrays["durations"])
    inertial = spec["inertial"]
    for key, what in (("skipped", "bad sequences left out (on_error='skip')"),
                      ("dropped", "sequences left out for lacking a requested modality"),
                      ("outliers", f"sequences left out lasting over {OUTLIER_RATIO:g}x more "
                                   "or less than the median"),
                      ("rate_notes", f"inertial files whose timestamps give a rate more than "
                                     f"{RATE_TOLERANCE:.0%} from the declared "
                                     f"{inertial['rate_hz'] if inertial else 0:g} Hz (placed "
                                     "on its grid by their timestamps)")):
        sequences.warn([str(m) for m in arrays.get(key, ())],
                       f"{spec['name']}: {len(arrays.get(key, ()))} {what}, {kept} kept")
    sequences.warn(unlisted, f"{spec['name']}: {len(unlisted)} files not listed in labels.csv "
                             "ignored")
    lines = [f"folder dataset {spec['name']!r} at {root}: {kept} of {listed} sequences in "
             f"labels.csv kept ({len(arrays['dropped'])} lacking a modality, "
             f"{len(arrays['skipped'])} bad, {len(arrays['outliers'])} duration outliers)"]
    if "measured_rate_hz" in arrays:
        measured = arrays["measured_rate_hz"][np.isfinite(arrays["measured_rate_hz"])]
        rate = f"inertial rate: declared {inertial['rate_hz']:g} Hz; "
        lines.append(rate + (
            f"measured from the timestamps of {len(measured)} of {kept} files: median "
            f"{np.median(measured):.4g} Hz (files {measured.min():.4g}..{measured.max():.4g} Hz)"
            if len(measured) else "no time column (samples taken as the declared rate apart)"))
        glitches = (f"{arrays['glitches'].sum():.0f} glitch samples (beyond {GLITCH_FACTOR:g} "
                    "x inertial.range) dropped" if inertial["range"] is not None
                    else "no glitch check (no inertial.range)")
        lines.append(f"inertial cleaning: {glitches}, {arrays['repeats'].sum():.0f} repeated "
                     f"timestamps averaged, gaps up to {arrays['gap'].max():.3g} s interpolated")
    return "\n".join(lines)


def load(
    root: str | Path,
    *,
    modalities: tuple[str, ...] | None = None,
    window_length: int = 50,
    cache: bool = True,
    cache_dir: str | None = None,
    on_error: str = "raise",
) -> Record:
    """Load a folder dataset (docs/your_data.md): inertial (N, window_length, C) in
    dataset.yaml's channel order and units, skeleton (N, window_length, J, D) normalized as
    dataset.yaml says; labels index the sorted label strings (`class_names`); rows in
    labels.csv order.

    modalities: default those dataset.yaml declares. Inertial files are placed on a regular
    `inertial.rate_hz` grid by their timestamps (glitches dropped, repeated timestamps averaged,
    gaps up to `inertial.max_gap_s` interpolated); every sequence is then FFT-resampled to
    `window_length` steps. A bad file raises DataError naming it, or with `on_error="skip"` is
    left out and counted in one warning; sequences lacking a requested modality and duration
    outliers are left out with a counted warning. Cached as .npz in `cache_dir` (default
    $TFHAR_CACHE_DIR or ~/.cache/tfhar) unless `cache=False`.
    """
    root = Path(root).expanduser()
    spec = read_spec(root)
    declared = tuple(m for m in MODALITIES if spec[m] is not None)
    modalities = _check_options(modalities, window_length, on_error, declared)
    absent = [m for m in modalities if spec[m] is None]
    if absent:
        raise DataError(f"{root / 'dataset.yaml'}: no {absent[0]}: section, but modalities "
                        f"{modalities} were asked for; load modalities={declared}")
    labels = read_labels(root, spec)
    found, unlisted = _scan(root, modalities, set(labels["sequence"]))
    files = [root / "dataset.yaml", labels["path"]]
    files += [p for m in modalities for p in found[m].values()]
    settings = {"dataset": NAME, "spec": repr(spec), "modalities": modalities,
                "window_length": int(window_length), "on_error": on_error}
    required = ["durations", "sequence", "skipped", "dropped", "outliers", *modalities]
    arrays = cache_lib.cached(
        (cache_dir or cache_lib.default_cache_dir()) if cache else None, NAME, files, settings,
        required, lambda: _build(spec, labels, found, modalities, int(window_length), on_error))
    source = _report(root, spec, arrays, unlisted, len(labels["sequence"]))
    inertial, skeleton = spec["inertial"] or {}, spec["skeleton"] or {}
    return Record.from_arrays(
        spec["name"], arrays, labels["class_names"],
        inertial_rate_hz=inertial.get("rate_hz"), skeleton_rate_hz=skeleton.get("rate_hz"),
        channel_names=inertial.get("channels", ()), channel_units=inertial.get("units", ()),
        joint_names=skeleton.get("joints", ()), source=source,
        sessions=arrays.get("sessions"),
        protocols={"dataset": spec["splits"]} if spec["splits"] is not None else {},
        channel_groups=inertial.get("groups", ()) if "inertial" in modalities else (),
    )
