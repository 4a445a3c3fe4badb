"""Evaluation protocols (subject-wise splits) and per-class label fractions.

A protocol names which subjects (or, for `by="scenes"`, which scenes) form the training,
validation and test parts. `split` looks a protocol up in the record's own `protocols` (those
its dataset defines, e.g. a folder dataset's `splits:`), then in the built-in ones below, then
the generic ones any dataset has: `leave_subjects_out` (test and validation subjects named, or
drawn with a seed; the rest train), and odd/even `cross_subject` / `paper`.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping

import numpy as np

from tfhar.data.errors import DataError
from tfhar.data.record import Record

Subjects = tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """(train, val or None, test) ids of subjects (`by="subjects"`) or scenes (`by="scenes"`)."""

    train: Subjects
    val: Subjects | None
    test: Subjects
    by: str = "subjects"

    def __post_init__(self) -> None:
        parts = {"train": self.train, "val": self.val or (), "test": self.test}
        for first, second in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = sorted(set(parts[first]) & set(parts[second]))
            if shared:
                raise DataError(f"protocol puts {self.by} {shared} in both {first} and "
                                f"{second}; each belongs to one part")
        if self.by not in ("subjects", "scenes"):
            raise DataError(f"protocol by={self.by!r}; expected 'subjects' or 'scenes'")


# Dataset -> protocol name -> protocol.
_PROTOCOLS: dict[str, dict[str, Protocol]] = {
    "utd_mhad": {
        # The authors' code: subject 7 held out for validation.
        "cross_subject": Protocol((1, 3, 5), (7,), (2, 4, 6, 8)),
        # The paper: odd subjects train, even subjects test.
        "paper": Protocol((1, 3, 5, 7), None, (2, 4, 6, 8)),
    },
    "berkeley_mhad": {
        # The paper trains on the first 7 subjects and tests on the last 5; as with UTD-MHAD's
        # authors' code, the last training subject (7) is held out for validation.
        "cross_subject": Protocol((1, 2, 3, 4, 5, 6), (7,), (8, 9, 10, 11, 12)),
        "paper": Protocol((1, 2, 3, 4, 5, 6, 7), None, (8, 9, 10, 11, 12)),
    },
}
_GENERIC = ("cross_subject", "paper", "leave_subjects_out")


def protocols(name: str, record: Record | None = None) -> tuple[str, ...]:
    """Protocol names `split` accepts for a record of dataset `name`."""
    own = tuple(record.protocols) if record is not None else ()
    return tuple(dict.fromkeys(own + tuple(_PROTOCOLS.get(name, {})) + _GENERIC))


def _ids(values: object, key: str) -> Subjects:
    if isinstance(values, numbers.Integral) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, list | tuple) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise DataError(f"leave_subjects_out: {key}={values!r}; expected a list of subject ids")
    return tuple(int(v) for v in values)


def leave_subjects_out(subjects: np.ndarray, options: Mapping[str, object]) -> Protocol:
    """Test (and validation) subjects named (`test`, `val`: lists of ids) or drawn at random
    (`num_test`, `num_val`, `seed`; deterministic given the seed); every other subject trains."""
    present = sorted(int(s) for s in np.unique(subjects))
    allowed = {"test", "val", "num_test", "num_val", "seed"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise DataError(f"leave_subjects_out: unknown option(s) {', '.join(unknown)}; "
                        f"allowed: {', '.join(sorted(allowed))}")
    if "test" in options:
        test = _ids(options["test"], "test")
        val = _ids(options["val"], "val") if options.get("val") is not None else None
        missing = sorted(set(test + (val or ())) - set(present))
        if missing:
            raise DataError(f"leave_subjects_out: subjects {missing} are not in the data "
                            f"(subjects: {present})")
    else:
        num_test, num_val = options.get("num_test", 1), options.get("num_val", 0)
        seed = options.get("seed", 0)
        for key, value in (("num_test", num_test), ("num_val", num_val), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise DataError(f"leave_subjects_out: {key}={value!r}; expected an integer >= 0")
        if num_test < 1 or num_test + num_val >= len(present):
            raise DataError(f"leave_subjects_out: num_test={num_test}, num_val={num_val} leave "
                            f"no training subject among the {len(present)} subjects {present}")
        drawn = np.random.default_rng(int(seed)).permutation(present)
        test = tuple(sorted(int(s) for s in drawn[:num_test]))
        val = tuple(sorted(int(s) for s in drawn[num_test:num_test + num_val])) or None
    train = tuple(s for s in present if s not in test and s not in (val or ()))
    return Protocol(train, val, test)


def resolve(record: Record, protocol: str, options: Mapping[str, object] | None = None
            ) -> Protocol:
    """The Protocol that `protocol` (with `options`) names for `record`; DataError if none."""
    options = dict(options or {})
    if protocol not in protocols(record.name, record):
        raise DataError(
            f"unknown protocol {protocol!r} for dataset {record.name!r}; "
            f"allowed: {', '.join(protocols(record.name, record))}"
        )
    if protocol == "leave_subjects_out" and protocol not in record.protocols:
        return leave_subjects_out(record.subjects, options)
    if options:
        raise DataError(f"protocol {protocol!r} takes no options, got {sorted(options)}")
    if protocol in record.protocols:
        return record.protocols[protocol]
    if record.name in _PROTOCOLS and protocol in _PROTOCOLS[record.name]:
        return _PROTOCOLS[record.name][protocol]
    # Any other dataset: odd subjects train, even subjects test; `cross_subject` holds the
    # largest odd subject out for validation, as the authors' code does with UTD-MHAD's 7.
    present = sorted(int(s) for s in np.unique(record.subjects))
    odd = tuple(s for s in present if s % 2 == 1)
    even = tuple(s for s in present if s % 2 == 0)
    if protocol == "cross_subject" and len(odd) > 1:
        return Protocol(odd[:-1], odd[-1:], even)
    return Protocol(odd, None, even)


def split(record: Record, protocol: str = "cross_subject",
          options: Mapping[str, object] | None = None) -> dict[str, Record | None]:
    """Split by subject (or scene): {"train": Record, "val": Record or None, "test": Record}.

    UTD-MHAD: `cross_subject` trains on subjects 1, 3, 5, validates on 7 and tests on 2, 4, 6, 8
    (the authors' code); `paper` trains on 1, 3, 5, 7 and tests on 2, 4, 6, 8, without val.
    Berkeley-MHAD: `cross_subject` trains on 1-6, validates on 7 and tests on 8-12; `paper`
    trains on 1-7 and tests on 8-12, without val. Any dataset: `leave_subjects_out` with
    `options` {"test": [...], "val": [...]} or {"num_test": n, "num_val": m, "seed": s}; the
    dataset's own protocols (`record.protocols`); odd subjects train and even ones test
    (`cross_subject` holds the largest odd subject out for validation). Raises DataError for an
    unknown protocol or one that leaves a part empty.
    """
    chosen = resolve(record, protocol, options)
    ids = record.subjects if chosen.by == "subjects" else record.scenes
    if ids is None:
        raise DataError(f"protocol {protocol!r} splits by {chosen.by}, which record "
                        f"{record.name!r} does not have")
    out: dict[str, Record | None] = {}
    for part in ("train", "val", "test"):
        members = getattr(chosen, part)
        if members is None:
            out[part] = None
            continue
        rows = np.isin(ids, members)
        if not rows.any():
            present = sorted(int(s) for s in np.unique(ids))
            raise DataError(
                f"protocol {protocol!r} puts {chosen.by} {list(members)} in {part}, "
                f"but record {record.name!r} has none of them ({chosen.by}: {present})"
            )
        out[part] = record.subset(rows)
    return out


def label_fraction(record: Record, fraction: float, seed: int = 0) -> Record:
    """Keep `fraction` of each class's rows (rounded half up, at least one per class).

    The rows are drawn at random, deterministically in `seed`, and keep their original order.
    """
    return record.subset(label_fraction_index(record.labels, fraction, seed))


def label_fraction_index(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """The sorted row indices `label_fraction` keeps. Two fractions that round to the same
    count per class keep the same rows for the same seed."""
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, numbers.Real)
        or not 0 < fraction <= 1
    ):
        raise DataError(f"label_fraction: fraction={fraction!r}; expected a number in (0, 1]")
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        count = max(1, int(np.floor(fraction * len(rows) + 0.5)))
        keep.append(rng.choice(rows, size=count, replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)
