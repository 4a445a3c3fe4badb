"""Irregularly timestamped sensor streams -> one regular grid (numpy / scipy only).

Wireless units (Berkeley-MHAD's Shimmer accelerometers) stamp each packet with the host's
receive time: intervals jitter, packets arrive in bursts or are lost, and units start and stop at
different times. These pure functions clean one stream and place several streams on a common
clock by linear interpolation over the interval that all of them cover. `align_streams` does the
same for streams at different rates (MMAct: phone and watch accelerometers at 100 Hz, gyroscope
and orientation at 50 Hz), decimating the faster ones without aliasing and unwrapping angles.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from tfhar.data.errors import DataError


def read_timestamped(path: str | Path, num_values: int) -> tuple[np.ndarray, np.ndarray]:
    """(times (T,), values (T, num_values)) from a text file of whitespace-separated rows
    `value_1 ... value_n time`; DataError naming the file if it is unreadable, has another
    column count, fewer than 2 rows or a NaN/Inf."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Numpy warns on an empty file; the check names it.
            rows = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as error:
        raise DataError(
            f"{path}: cannot read rows of {num_values} values and a time "
            f"({str(error).splitlines()[0]})"
        ) from error
    if rows.shape[1:] != (num_values + 1,) or rows.shape[0] < 2:
        raise DataError(
            f"{path}: {rows.shape[0]} rows of {rows.shape[1]} columns; expected at "
            f"least 2 rows of {num_values + 1} columns ({num_values} values, time)"
        )
    bad = int(rows.size - np.count_nonzero(np.isfinite(rows)))
    if bad:
        raise DataError(f"{path}: {bad} NaN/Inf values")
    return rows[:, -1], rows[:, :-1]


def check_times(times: np.ndarray) -> int | None:
    """The first row whose timestamp is earlier than the one before it, or None if none is."""
    steps = np.diff(np.asarray(times, dtype=np.float64))
    backwards = np.flatnonzero(steps < 0)
    return int(backwards[0]) + 1 if len(backwards) else None


def merge_repeated(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Average the samples that share a timestamp.

    times: (T,) non-decreasing; values: (T, C) -> (unique times (U,), values (U, C), T - U), so
    the interpolation below sees strictly increasing times.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    unique, first = np.unique(times, return_index=True)
    if len(unique) == len(times):
        return times, values, 0
    counts = np.diff(np.append(first, len(times)))
    sums = np.add.reduceat(values, first, axis=0)
    return unique, sums / counts[:, None], len(times) - len(unique)


def drop_glitches(
    times: np.ndarray, values: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Remove the samples with any |value| > `limit`; interpolation later bridges them.

    A whole sample goes (not one channel) because a corrupt packet is corrupt in every channel.
    times: (T,), values: (T, C) -> (times, values, number of samples removed).
    """
    bad = np.any(np.abs(values) > limit, axis=1)
    return times[~bad], values[~bad], int(bad.sum())


def overlap(streams_times: list[np.ndarray]) -> tuple[float, float]:
    """(start, end) of the interval every stream covers: the latest first and the earliest last
    timestamp. end < start when the streams do not overlap at all."""
    return max(float(t[0]) for t in streams_times), min(float(t[-1]) for t in streams_times)


def largest_gap(times: np.ndarray, start: float, end: float) -> tuple[float, float]:
    """(length, where) of the longest interval between consecutive samples that reaches into
    [start, end]; `where` is the time of the sample before it. (0, start) for fewer than 2."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) < 2:
        return 0.0, start
    before, after = times[:-1], times[1:]
    inside = np.flatnonzero((after > start) & (before < end))
    if not len(inside):
        return 0.0, start
    steps = after[inside] - before[inside]
    i = int(np.argmax(steps))
    return float(steps[i]), float(before[inside[i]])


def regular_grid(start: float, end: float, rate_hz: float) -> np.ndarray:
    """start, start + 1/rate, ... up to end (inclusive within 1e-9 s): (floor(span * rate) + 1,)."""
    count = int(np.floor((end - start) * rate_hz + 1e-9)) + 1
    return start + np.arange(count) / rate_hz


def on_grid(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Linear interpolation of each channel at the grid times.

    times: (T,) strictly increasing, values: (T, C), grid: (G,) inside [times[0], times[-1]]
    -> (G, C) float64.
    """
    values = np.asarray(values, dtype=np.float64)
    return np.stack([np.interp(grid, times, values[:, c]) for c in range(values.shape[1])], 1)


def clean(
    times: np.ndarray, values: np.ndarray, limit: float, source: str
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Check one stream and make it interpolable: (times, values, glitches, repeats).

    Timestamps must not go backwards (DataError naming `source`); samples with |value| > `limit`
    are dropped (`glitches`), samples sharing a timestamp averaged (`repeats`); at least two
    samples must remain.
    """
    row = check_times(times)
    if row is not None:
        raise DataError(
            f"{source}: timestamps go backwards at row {row + 1} "
            f"({times[row - 1]:.6f} then {times[row]:.6f})"
        )
    times, values, glitches = drop_glitches(times, values, limit)
    times, values, repeats = merge_repeated(times, values)
    if len(times) < 2:
        raise DataError(
            f"{source}: fewer than 2 samples left after dropping {glitches} with |value| > {limit}"
        )
    return times, values, glitches, repeats


def common_interval(
    streams_times: list[np.ndarray], sources: list[str], min_span_s: float, min_fraction: float
) -> tuple[float, float]:
    """(start, end) that every stream covers; DataError naming the stream that cuts it short
    when it is under `min_span_s` seconds or under `min_fraction` of first start..last end."""
    start, end = overlap(streams_times)
    first = min(float(t[0]) for t in streams_times)
    last = max(float(t[-1]) for t in streams_times)
    if end - start >= max(min_span_s, min_fraction * (last - first)):
        return start, end
    late = int(np.argmax([t[0] for t in streams_times]))
    early = int(np.argmin([t[-1] for t in streams_times]))
    cut = late if start - first >= last - end else early
    what = (
        f"starts {start - first:.2f} s late" if cut == late else (f"stops {last - end:.2f} s early")
    )
    raise DataError(
        f"{sources[cut]}: the streams overlap for only {max(end - start, 0.0):.2f} s of "
        f"{last - first:.2f} s (this one {what}); at least {min_span_s} s and "
        f"{min_fraction:.0%} of the recording are required"
    )


def check_gap(times: np.ndarray, start: float, end: float, max_gap_s: float, source: str) -> float:
    """The longest gap between samples within [start, end]; DataError naming `source` if it
    exceeds `max_gap_s` (interpolating across it would invent the motion)."""
    gap, at = largest_gap(times, start, end)
    if gap > max_gap_s:
        raise DataError(
            f"{source}: no samples for {gap:.2f} s (from {at - times[0]:.2f} s into "
            f"the file); gaps up to {max_gap_s} s are interpolated"
        )
    return gap


def merge_files(
    paths: list[Path],
    num_values: int,
    *,
    rate_hz: float,
    limit: float,
    min_span_s: float,
    min_fraction: float,
    max_gap_s: float,
) -> tuple[np.ndarray, dict[str, float]]:
    """Timestamped text files (`read_timestamped`), one stream each, -> one regular signal.

    Each stream is cleaned (`clean`: glitches above `limit` dropped, repeated timestamps
    averaged) and linearly interpolated at `rate_hz` from the start of the interval all of them
    cover (`common_interval`), every gap inside it checked (`check_gap`). -> ((G, len(paths) *
    num_values) float64, {"glitches": samples dropped per file, "repeats": samples merged,
    "largest_gap": seconds}).
    """
    streams = [clean(*read_timestamped(p, num_values), limit, str(p)) for p in paths]
    sources = [str(p) for p in paths]
    start, end = common_interval([s[0] for s in streams], sources, min_span_s, min_fraction)
    gaps = [
        check_gap(s[0], start, end, max_gap_s, p) for s, p in zip(streams, sources, strict=True)
    ]
    grid = regular_grid(0.0, end - start, rate_hz)
    signal = np.concatenate([on_grid(t - start, v, grid) for t, v, _, _ in streams], axis=1)
    glitches = [s[2] for s in streams]
    return signal, {
        "glitches": glitches,
        "repeats": sum(s[3] for s in streams),
        "largest_gap": max(gaps),
    }


def _prepared(times: np.ndarray, values: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """One stream checked and made interpolable: DataError naming `source` when its timestamps
    go backwards or fewer than 2 distinct ones remain; samples sharing a timestamp averaged."""
    times = np.asarray(times, dtype=np.float64)
    row = check_times(times)
    if row is not None:
        raise DataError(
            f"{source}: timestamps go backwards at row {row + 1} "
            f"({times[row - 1]:.6f} then {times[row]:.6f})"
        )
    times, values, _ = merge_repeated(times, values)
    if len(times) < 2:
        raise DataError(f"{source}: fewer than 2 distinct timestamps ({len(times)})")
    return times, values


def decimate_on_grid(
    times: np.ndarray, values: np.ndarray, grid_length: int, rate_hz: float, factor: int
) -> np.ndarray:
    """A stream sampled `factor` times faster than `rate_hz`, on the grid 0, 1/rate_hz, ...
    ((grid_length,) steps): linearly interpolated `factor` times more finely, then decimated
    with scipy's polyphase anti-aliasing filter (line padding, so a linear signal stays exact).

    times: (T,) strictly increasing, covering the grid; values: (T, C) -> (grid_length, C).
    """
    import scipy.signal  # Deferred, as in preprocess.resample: slow to import.

    fine = np.arange((grid_length - 1) * factor + 1) / (rate_hz * factor)
    dense = on_grid(times, values, fine)
    return scipy.signal.resample_poly(dense, 1, factor, axis=0, padtype="line")


def align_streams(
    streams: list[tuple[np.ndarray, np.ndarray]],
    sources: list[str],
    *,
    rate_hz: float,
    factors: list[int],
    min_span_s: float,
    min_fraction: float,
    max_gap_s: float,
    periods: list[float | None] | None = None,
) -> np.ndarray:
    """Streams of one recording at different rates -> one signal on a common clock.

    streams: (times (T,) in s, values (T, C)) each; sources name them in errors. Each stream is
    checked (`_prepared`), the interval all of them cover found (`common_interval`) and every
    gap inside it checked (`check_gap`); the grid runs from its start at `rate_hz`. A stream
    with factor 1 is linearly interpolated at the grid; one with factor k > 1 (sampled k times
    faster) is decimated (`decimate_on_grid`) so that it is not aliased. A stream with a period
    holds angles (e.g. 360 for degrees): it is unwrapped before interpolation, so 359 -> 1 passes
    through 0 and not through 180, and wrapped back into [its minimum, minimum + period) after.
    -> (G, sum of C) float64, G = floor(common span * rate_hz) + 1.
    """
    periods = list(periods) if periods is not None else [None] * len(streams)
    if not len(streams) == len(sources) == len(factors) == len(periods):
        raise ValueError("align_streams: one source, factor and period per stream")
    ready = [_prepared(t, v, s) for (t, v), s in zip(streams, sources, strict=True)]
    start, end = common_interval([t for t, _ in ready], sources, min_span_s, min_fraction)
    for (times, _), source in zip(ready, sources, strict=True):
        check_gap(times, start, end, max_gap_s, source)
    grid = regular_grid(0.0, end - start, rate_hz)
    columns = []
    for (times, values), factor, period in zip(ready, factors, periods, strict=True):
        values = np.asarray(values, dtype=np.float64)
        low = values.min(axis=0)
        if period is not None:
            values = np.unwrap(values, period=period, axis=0)
        if factor > 1:
            aligned = decimate_on_grid(times - start, values, len(grid), rate_hz, factor)
        else:
            aligned = on_grid(times - start, values, grid)
        if period is not None:
            aligned = low + np.mod(aligned - low, period)
        columns.append(aligned)
    return np.concatenate(columns, axis=1)
