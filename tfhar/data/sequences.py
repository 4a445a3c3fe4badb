"""Checks a loader applies to each raw sequence (numpy / scipy, no TensorFlow).

A loader reads one file per modality with `read_mat`, checks the durations with
`check_durations`, and gathers its sequences with `collect`, which raises the first bad one's
DataError or, with on_error="skip", leaves it out and keeps its message for a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import scipy.io

from tfhar.data.errors import DataError

Key = TypeVar("Key")
Row = TypeVar("Row")


def read_mat(
    path: Path, variable: str, shape_ok: Callable[[tuple[int, ...]], bool], expected: str
) -> np.ndarray:
    """Variable `variable` of MATLAB file `path` as float64, checked with `shape_ok(shape)`.

    DataError naming the file: unreadable or corrupt file, no such variable, not numbers, a
    shape `shape_ok` refuses (the message quotes `expected`), or NaN / Inf values.
    """
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
    if not np.issubdtype(x.dtype, np.number) or not shape_ok(x.shape):
        raise DataError(
            f"{path}: {variable} has shape {x.shape} dtype {x.dtype}, "
            f"expected numbers shaped {expected}"
        )
    x = x.astype(np.float64)
    bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise DataError(f"{path}: {variable} has {bad} NaN/Inf values")
    return x


def check_durations(
    paths: Mapping[str, Path],
    lengths: Mapping[str, int],
    rates_hz: Mapping[str, float],
    min_duration_s: float,
    max_ratio: float,
) -> None:
    """Refuse an implausible sequence: DataError naming the file(s) and the durations.

    paths, lengths (raw samples), rates_hz: per modality. Implausible: a modality lasts under
    `min_duration_s` seconds, or the longest modality lasts more than `max_ratio` times the
    shortest.
    """
    durations = {m: lengths[m] / rates_hz[m] for m in paths}
    described = " and ".join(f"{paths[m]} lasts {d:.2f} s" for m, d in durations.items())
    for modality, duration in durations.items():
        if duration < min_duration_s:
            raise DataError(
                f"{paths[modality]}: {lengths[modality]} samples at {rates_hz[modality]:g} Hz "
                f"last {duration:.2f} s, under the plausible minimum {min_duration_s:g} s "
                f"({described})"
            )
    if len(durations) > 1:
        ratio = max(durations.values()) / min(durations.values())
        if ratio > max_ratio:
            raise DataError(
                f"{described}: the durations of one sequence differ by a factor {ratio:.1f}, "
                f"more than {max_ratio:g}"
            )


def collect(
    keys: Iterable[Key], read_one: Callable[[Key], Row], on_error: str
) -> tuple[list[tuple[Key, Row]], list[str]]:
    """([(key, read_one(key)), ...], messages of the keys whose read_one raised DataError).

    on_error "raise": the first DataError propagates; "skip": it is kept as a message.
    """
    rows, skipped = [], []
    for key in keys:
        try:
            rows.append((key, read_one(key)))
        except DataError as error:
            if on_error == "raise":
                raise
            skipped.append(str(error))
    return rows, skipped


def warn(messages: Sequence[str], summary: str) -> None:
    """One UserWarning, `summary: ` and the first three messages, when there are any."""
    if len(messages):
        shown = "; ".join(str(m) for m in messages[:3]) + ("; ..." if len(messages) > 3 else "")
        warnings.warn(f"{summary}: {shown}", stacklevel=4)
