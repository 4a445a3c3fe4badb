"""A folder dataset's dataset.yaml and labels.csv: read, checked and normalized (numpy only).

Every fault is one DataError line naming the file and the key (dataset.yaml: `inertial.units`,
`splits.test`, ...) or the line and column (labels.csv). docs/your_data.md documents each key.
A little over 300 lines: every key of dataset.yaml and every column of labels.csv is
checked here with a message naming it.
"""

from __future__ import annotations

import numbers
import re
import warnings
from pathlib import Path

import numpy as np

from tfhar.data.errors import DataError
from tfhar.data.splits import Protocol
from tfhar.data.timestamps import TIME_UNITS

# Section -> its allowed keys (the `sensors` mapping's keys are the user's group names).
SCHEMA = {
    "inertial": ("rate_hz", "channels", "units", "sensors", "time_column", "time_unit", "range",
                 "max_gap_s"),
    "skeleton": ("rate_hz", "joints", "center_joint", "scale_joints"),
    "splits": ("train", "val", "test"),
}
TOP_LEVEL = ("name", *SCHEMA)
REQUIRED = {"inertial": ("rate_hz", "channels", "units"), "skeleton": ("rate_hz", "joints"),
            "splits": ("train", "test")}
DEFAULT_MAX_GAP_S = 1.0
LABEL_COLUMNS = ("sequence", "label", "subject")
OPTIONAL_COLUMNS = ("session", "trial")
INT32 = (-(2**31), 2**31 - 1)
_INTEGER = re.compile(r"[+-]?\d+")
# Names of the built-in datasets: a record named like one would get its protocols.
_RESERVED = ("utd_mhad", "berkeley_mhad", "mmact", "synthetic", "folder")


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class _Reader:
    """Checks of one dataset.yaml's values; every error names the file and the key."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, message: str) -> DataError:
        return DataError(f"{self.path}: {key}: {message}")

    def section(self, raw: dict, name: str) -> dict | None:
        value = raw.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(name, f"expected a mapping of keys, got {value!r}")
        unknown = [str(k) for k in value if k not in SCHEMA[name]]
        if unknown:
            raise DataError(f"{self.path}: unknown key {name}.{unknown[0]}; allowed under "
                            f"{name}: {', '.join(SCHEMA[name])}")
        missing = [k for k in REQUIRED[name] if value.get(k) is None]
        if missing:
            raise self.fail(f"{name}.{missing[0]}", f"missing; {name}: needs "
                            f"{', '.join(REQUIRED[name])}")
        return value

    def positive(self, value: object, key: str) -> float:
        if not _is_number(value) or value <= 0:
            raise self.fail(key, f"{value!r} is not a positive number")
        return float(value)

    def names(self, value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(
                isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, f"expected a non-empty list of names, got {value!r}")
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            raise self.fail(key, f"{repeated[0]!r} is listed twice")
        return tuple(value)

    def index(self, value: object, names: tuple[str, ...], key: str, listed: str) -> int:
        """A name in `names`, or a 0-based index into it."""
        if isinstance(value, str) and value in names:
            return names.index(value)
        if _is_int(value) and 0 <= value < len(names):
            return int(value)
        what = f"{value!r} is not in {listed}" if isinstance(value, str) else \
            f"{value!r} is not a name in {listed} nor an index 0..{len(names) - 1}"
        raise self.fail(key, f"{what} ({', '.join(names)})")

    def subjects(self, value: object, key: str) -> tuple[int, ...]:
        value = [value] if _is_int(value) else value
        if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
            raise self.fail(key, f"expected a non-empty list of integer subject ids, got "
                            f"{value!r}")
        return tuple(int(v) for v in value)


def _inertial(reader: _Reader, section: dict) -> dict:
    channels = reader.names(section["channels"], "inertial.channels")
    units = section["units"]
    if isinstance(units, str):
        units = [units] * len(channels)
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        raise reader.fail("inertial.units", f"expected one string or a list of strings, got "
                          f"{units!r}")
    if len(units) != len(channels):
        raise reader.fail("inertial.units", f"{len(units)} units for {len(channels)} channels; "
                          "give one per channel (in inertial.channels order) or one for all")
    sensors = section.get("sensors") or {}
    if not isinstance(sensors, dict):
        raise reader.fail("inertial.sensors", f"expected a mapping group -> [3 channels], got "
                          f"{sensors!r}")
    groups, taken = [], {}
    for group, members in sensors.items():
        key = f"inertial.sensors.{group}"
        if not isinstance(members, list) or len(members) != 3:
            raise reader.fail(key, f"expected the 3 channels of one three-axis sensor, got "
                              f"{members!r}")
        indices = tuple(reader.index(c, channels, key, "inertial.channels") for c in members)
        for channel in members:
            if channel in taken:
                raise reader.fail(key, f"channel {channel!r} is already in sensor "
                                  f"{taken[channel]!r}; a channel belongs to one sensor")
            taken[channel] = group
        groups.append(indices)
    time_unit = section.get("time_unit", "auto")
    if time_unit not in ("auto", *TIME_UNITS):
        raise reader.fail("inertial.time_unit", f"{time_unit!r}; expected auto or one of "
                          f"{', '.join(TIME_UNITS)}")
    time_column = section.get("time_column")
    if time_column is not None and not isinstance(time_column, str):
        raise reader.fail("inertial.time_column", f"expected a column name, got {time_column!r}")
    limit = section.get("range")
    if limit is not None:
        limits = limit if isinstance(limit, list) else [limit] * len(channels)
        if len(limits) != len(channels):
            raise reader.fail("inertial.range", f"{len(limits)} values for {len(channels)} "
                              "channels; give one per channel or one for all")
        limit = tuple(reader.positive(v, "inertial.range") for v in limits)
    return {"rate_hz": reader.positive(section["rate_hz"], "inertial.rate_hz"),
            "channels": channels, "units": tuple(units), "groups": tuple(groups),
            "time_column": time_column, "time_unit": time_unit, "range": limit,
            "max_gap_s": reader.positive(section.get("max_gap_s", DEFAULT_MAX_GAP_S),
                                         "inertial.max_gap_s")}


def _skeleton(reader: _Reader, section: dict) -> dict:
    joints = reader.names(section["joints"], "skeleton.joints")
    center, scale = section.get("center_joint"), section.get("scale_joints")
    if center is not None:
        center = reader.index(center, joints, "skeleton.center_joint", "skeleton.joints")
    if scale is not None:
        if center is None:
            raise reader.fail("skeleton.scale_joints", "needs skeleton.center_joint too")
        if not isinstance(scale, list) or len(scale) != 2:
            raise reader.fail("skeleton.scale_joints", f"expected two joints, got {scale!r}")
        scale = tuple(reader.index(j, joints, "skeleton.scale_joints", "skeleton.joints")
                      for j in scale)
        if scale[0] == scale[1]:
            raise reader.fail("skeleton.scale_joints", f"{section['scale_joints']!r} name one "
                              "joint twice; their distance is the unit length")
    return {"rate_hz": reader.positive(section["rate_hz"], "skeleton.rate_hz"),
            "joints": joints, "center_joint": center, "scale_joints": scale}


def _splits(reader: _Reader, section: dict) -> Protocol:
    parts = {p: reader.subjects(section[p], f"splits.{p}") for p in ("train", "test")}
    if section.get("val") is not None:
        parts["val"] = reader.subjects(section["val"], "splits.val")
    names = list(parts)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            shared = sorted(set(parts[first]) & set(parts[second]))
            if shared:
                raise reader.fail(f"splits.{second}", f"subject {shared[0]} is also in "
                                  f"splits.{first}; each subject belongs to one split")
    return Protocol(parts["train"], parts.get("val"), parts["test"])


def read_spec(root: Path) -> dict:
    """dataset.yaml -> {"name", "inertial": dict or None, "skeleton": dict or None,
    "splits": Protocol or None}, names resolved to indices; DataError naming file and key."""
    from tfhar.config.loading import parse_yaml  # YAML 1.2 numbers, as in configs.

    if not root.is_dir():
        raise DataError(f"folder dataset: {root} does not exist (pass root= or data.root)")
    path = root / "dataset.yaml"
    if not path.is_file():
        raise DataError(f"{path}: missing; a folder dataset describes its channels and joints "
                        "there (docs/your_data.md)")
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(f"{path}: cannot read it ({str(error).splitlines()[0]})") from None
    except Exception as error:  # PyYAML's errors: a syntax error is reported as one line.
        raise DataError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping with inertial: and/or skeleton:, got "
                        f"{raw!r}")
    unknown = [str(k) for k in raw if k not in TOP_LEVEL]
    if unknown:
        raise DataError(f"{path}: unknown key {unknown[0]}; allowed: {', '.join(TOP_LEVEL)}")
    reader = _Reader(path)
    name = raw.get("name", root.resolve().name)
    if not isinstance(name, str) or not name.strip() or name in _RESERVED:
        raise reader.fail("name", f"{name!r}; expected a name other than the built-in "
                          f"datasets' ({', '.join(_RESERVED)})")
    inertial, skeleton = reader.section(raw, "inertial"), reader.section(raw, "skeleton")
    if inertial is None and skeleton is None:
        raise DataError(f"{path}: has neither an inertial: nor a skeleton: section")
    splits = reader.section(raw, "splits")
    return {"name": name,
            "inertial": _inertial(reader, inertial) if inertial is not None else None,
            "skeleton": _skeleton(reader, skeleton) if skeleton is not None else None,
            "splits": _splits(reader, splits) if splits is not None else None}


def _integers(values: list[str], column: str, path: Path) -> np.ndarray:
    for line, value in enumerate(values, start=2):
        if not _INTEGER.fullmatch(value) or not INT32[0] <= int(value) <= INT32[1]:
            raise DataError(f"{path}: line {line}: {column} {value!r} is not an integer; "
                            f"{column} ids are integers (e.g. 1, 2, 17)")
    return np.array([int(v) for v in values], np.int32)


def read_labels(root: Path, spec: dict) -> dict:
    """labels.csv -> {"path", "root", "sequence": [names], "class_names": sorted labels,
    "labels", "subjects", "trials", "sessions" (None without the column): int32 arrays}."""
    import pandas as pd  # Deferred: only folder datasets read CSV files.

    path = root / "labels.csv"
    if not path.is_file():
        raise DataError(f"{path}: missing; list every sequence there with the columns "
                        f"{', '.join(LABEL_COLUMNS)}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read a CSV ({str(error).splitlines()[0]})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    allowed = LABEL_COLUMNS + OPTIONAL_COLUMNS
    unknown = [c for c in frame.columns if c not in allowed]
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if unknown or missing:
        problem = f"unknown column {unknown[0]!r}" if unknown else f"no column {missing[0]!r}"
        raise DataError(f"{path}: {problem}; columns: {', '.join(LABEL_COLUMNS)} and optionally "
                        f"{', '.join(OPTIONAL_COLUMNS)}")
    if frame.empty:
        raise DataError(f"{path}: no sequences under the header")
    columns = {c: [str(v).strip() for v in frame[c]] for c in frame.columns}
    seen: dict[str, int] = {}
    for line, (sequence, label) in enumerate(zip(columns["sequence"], columns["label"],
                                                 strict=True), start=2):
        if not sequence or sequence in (".", "..") or re.search(r"[/\\]", sequence):
            raise DataError(f"{path}: line {line}: sequence {sequence!r} is not a file name "
                            "(without folder or extension)")
        if sequence in seen:
            raise DataError(f"{path}: line {line}: sequence {sequence!r} is listed again "
                            f"(first on line {seen[sequence]})")
        seen[sequence] = line
        if not label:
            raise DataError(f"{path}: line {line}: sequence {sequence!r} has no label")
    class_names = tuple(sorted(set(columns["label"])))
    if len(class_names) < 2:
        raise DataError(f"{path}: every sequence has the label {class_names[0]!r}; a "
                        "classifier needs at least 2 classes")
    subjects = _integers(columns["subject"], "subject", path)
    _check_split_subjects(spec, subjects, path)
    if "trial" in columns:
        trials = _integers(columns["trial"], "trial", path)
    else:  # The number of the sequence among its subject's of that label, in file order.
        counts: dict[tuple[int, str], int] = {}
        order = []
        for key in zip(subjects.tolist(), columns["label"], strict=True):
            counts[key] = counts.get(key, 0) + 1
            order.append(counts[key])
        trials = np.array(order, np.int32)
    return {"path": path, "root": root, "sequence": columns["sequence"],
            "class_names": class_names,
            "labels": np.array([class_names.index(v) for v in columns["label"]], np.int32),
            "subjects": subjects, "trials": trials,
            "sessions": _integers(columns["session"], "session", path)
            if "session" in columns else None}


def _check_split_subjects(spec: dict, subjects: np.ndarray, path: Path) -> None:
    """Every subject that splits: names has sequences; warn about subjects in no split."""
    protocol = spec["splits"]
    if protocol is None:
        return
    present = set(subjects.tolist())
    for part in ("train", "val", "test"):
        absent = sorted(set(getattr(protocol, part) or ()) - present)
        if absent:
            raise DataError(f"{path.with_name('dataset.yaml')}: splits.{part}: subject "
                            f"{absent[0]} has no sequence in {path.name} (subjects: "
                            f"{sorted(present)})")
    unused = sorted(present - set(protocol.train + (protocol.val or ()) + protocol.test))
    if unused:
        warnings.warn(f"{spec['name']}: subjects {unused} of {path.name} are in no split of "
                      "dataset.yaml; protocol 'dataset' leaves them out", stacklevel=4)
