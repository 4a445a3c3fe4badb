"""Evaluation protocols (subject-wise splits) and per-class label fractions."""

from __future__ import annotations

import numbers

import numpy as np

from tfhar.data.errors import DataError
from tfhar.data.record import Record

Subjects = tuple[int, ...]
# Dataset -> protocol -> (train, val or None, test) subjects.
_PROTOCOLS: dict[str, dict[str, tuple[Subjects, Subjects | None, Subjects]]] = {
    "utd_mhad": {
        # The authors' code: subject 7 held out for validation.
        "cross_subject": ((1, 3, 5), (7,), (2, 4, 6, 8)),
        # The paper: odd subjects train, even subjects test.
        "paper": ((1, 3, 5, 7), None, (2, 4, 6, 8)),
    },
    "berkeley_mhad": {
        # The paper trains on the first 7 subjects and tests on the last 5; as with UTD-MHAD's
        # authors' code, the last training subject (7) is held out for validation.
        "cross_subject": ((1, 2, 3, 4, 5, 6), (7,), (8, 9, 10, 11, 12)),
        "paper": ((1, 2, 3, 4, 5, 6, 7), None, (8, 9, 10, 11, 12)),
    },
}
_GENERIC = ("cross_subject", "paper")


def protocols(name: str) -> tuple[str, ...]:
    """Protocol names `split` accepts for a record of dataset `name`."""
    return tuple(_PROTOCOLS.get(name, dict.fromkeys(_GENERIC)))


def _subjects(record: Record, protocol: str) -> tuple[Subjects, Subjects | None, Subjects]:
    if protocol not in protocols(record.name):
        raise DataError(
            f"unknown protocol {protocol!r} for dataset {record.name!r}; "
            f"allowed: {', '.join(protocols(record.name))}"
        )
    if record.name in _PROTOCOLS:
        return _PROTOCOLS[record.name][protocol]
    # Any other dataset: odd subjects train, even subjects test; `cross_subject` holds the
    # largest odd subject out for validation, as the authors' code does with UTD-MHAD's 7.
    present = sorted(int(s) for s in np.unique(record.subjects))
    odd = tuple(s for s in present if s % 2 == 1)
    even = tuple(s for s in present if s % 2 == 0)
    if protocol == "cross_subject" and len(odd) > 1:
        return odd[:-1], odd[-1:], even
    return odd, None, even


def split(record: Record, protocol: str = "cross_subject") -> dict[str, Record | None]:
    """Split by subject: {"train": Record, "val": Record or None, "test": Record}.

    UTD-MHAD: `cross_subject` trains on subjects 1, 3, 5, validates on 7 and tests on 2, 4, 6, 8
    (the authors' code); `paper` trains on 1, 3, 5, 7 and tests on 2, 4, 6, 8, without val.
    Berkeley-MHAD: `cross_subject` trains on 1-6, validates on 7 and tests on 8-12; `paper`
    trains on 1-7 and tests on 8-12, without val.
    Other datasets: the same rule on their subject ids (odd train, even test; `cross_subject`
    holds the largest odd subject out for validation).
    """
    parts = dict(zip(("train", "val", "test"), _subjects(record, protocol), strict=True))
    out: dict[str, Record | None] = {}
    for part, subjects in parts.items():
        if subjects is None:
            out[part] = None
            continue
        rows = np.isin(record.subjects, subjects)
        if not rows.any():
            present = sorted(int(s) for s in np.unique(record.subjects))
            raise DataError(
                f"protocol {protocol!r} puts subjects {list(subjects)} in {part}, "
                f"but record {record.name!r} has none of them (subjects: {present})"
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
