"""The time column of a recording: which column, its unit, the rate it gives (numpy only).

A time column is matched without regard to case: time, timestamp, timestamps, elapsed or
elapsed_time, optionally followed by a unit (`time_ms`, `Time (s)`, `timestamp[ns]`, `time sec`),
or seconds_elapsed. Its unit (s, ms, us or ns; values may count from any origin, the epoch
included) is the one requested, else the one its name gives, else found from the median step
between rows: the one unit that makes the rate plausible (PLAUSIBLE_RATE_HZ, 1 Hz..10 kHz); when
several do, a given rate picks the one it agrees with, else the unit is refused as ambiguous.

`regrid` places one recording's samples on a regular clock by their timestamps (a folder
dataset's inertial CSV files): glitches dropped, repeated timestamps averaged, gaps bridged by
linear interpolation up to a limit (the cleaning of `tfhar.data.timeseries`).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from tfhar.data import timeseries
from tfhar.data.errors import DataError

TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
PLAUSIBLE_RATE_HZ = (1.0, 10_000.0)
RATE_TOLERANCE = 0.10  # Largest relative difference between a given rate and the measured one.
_TIME_NAME = re.compile(
    r"(?:time|timestamps?|elapsed(?:[ _]time)?)"
    r"(?:[ _]*[(\[]?(s|sec|ms|us|µs|ns)[)\]]?)?|(seconds)_elapsed"
)
_UNIT_ALIASES = {"sec": "s", "seconds": "s", "µs": "us"}


def find_time_column(
    columns: list[str], requested: str | None = None
) -> tuple[str | None, str | None]:
    """(the time column among `columns` or None, the unit its name gives or None).

    DataError when several columns match and none is `requested`, or `requested` is absent.
    """
    if requested is not None:
        if requested not in columns:
            raise DataError(
                f"time column {requested!r}: no such column; found {', '.join(columns)}"
            )
        matches = [requested]
    else:
        matches = [c for c in columns if _TIME_NAME.fullmatch(c.strip().lower())]
    if len(matches) > 1:
        raise DataError(f"several time columns ({', '.join(matches)}): name the one to use")
    if not matches:
        return None, None
    match = _TIME_NAME.fullmatch(matches[0].strip().lower())
    unit = next((u for u in match.groups() if u), None) if match else None
    return matches[0], _UNIT_ALIASES.get(unit, unit)


def time_unit(
    step: float,
    column: str,
    requested: str = "auto",
    named: str | None = None,
    rate: float | None = None,
) -> tuple[str, str]:
    """(unit, how it was chosen) of time column `column` whose median step is `step` (> 0).

    requested: 'auto' or a TIME_UNITS key; named: the unit the column's name gives; rate: the
    rate in Hz the user gave, or None. DataError when the unit is ambiguous or none fits.
    """
    if requested != "auto":
        return requested, "the unit requested"
    if named is not None:
        return named, "its name"
    low, high = PLAUSIBLE_RATE_HZ
    rates = {unit: 1.0 / (step * factor) for unit, factor in TIME_UNITS.items()}
    plausible = [unit for unit, r in rates.items() if low <= r <= high]
    agreeing = [u for u in plausible if rate and abs(rate - rates[u]) <= RATE_TOLERANCE * rates[u]]
    if len(plausible) == 1:
        return plausible[0], f"the median step {step:g}"
    if len(plausible) > 1 and len(agreeing) == 1:
        return agreeing[0], f"the median step {step:g} and the rate given"
    readings = ", ".join(f"{u}: {rates[u]:.3g} Hz" for u in (plausible or rates))
    raise DataError(
        f"time column {column!r}: its median step {step:g} gives "
        f"{'several' if plausible else 'no'} plausible rate(s) ({low:g}.."
        f"{high:g} Hz) for the units tried ({readings}); give its unit"
    )


def drop_repeated_rows(
    samples: np.ndarray, times: np.ndarray, column: str, source: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop each row that repeats the previous row exactly (time and samples).

    samples: (T, C); times: (T,) -> (samples, times with strictly increasing times, number of
    rows dropped). DataError naming the 1-based data row where time goes back, or where two
    rows share a time but not their samples.
    """
    steps = np.diff(times)
    back = np.flatnonzero(steps < 0)
    if len(back):
        raise DataError(
            f"{source}: column {column!r} goes back in time at data row "
            f"{back[0] + 2}: rows must be in time order"
        )
    repeated = np.flatnonzero(steps == 0) + 1
    different = repeated[np.any(samples[repeated] != samples[repeated - 1], axis=1)]
    if len(different):
        raise DataError(
            f"{source}: data rows {different[0]} and {different[0] + 1} have the "
            f"same {column!r} but different samples: time must increase"
        )
    keep = np.ones(len(times), bool)
    keep[repeated] = False
    return samples[keep], times[keep], len(repeated)


def measure_rate(
    times: np.ndarray,
    column: str,
    requested: str = "auto",
    named: str | None = None,
    rate: float | None = None,
) -> tuple[np.ndarray, float, float, str]:
    """(times in s, rate in Hz to use, median step in s, a line saying where the rate came from)
    for strictly increasing `times` (>= 2) in the column's own unit.

    The rate used is `rate` when given (DataError if it differs from the measured one by more
    than RATE_TOLERANCE), else the measured one, 1 / median step. DataError when the unit is
    ambiguous or gives a rate outside PLAUSIBLE_RATE_HZ.
    """
    step = float(np.median(np.diff(times)))
    unit, how = time_unit(step, column, requested, named, rate)
    step_s = step * TIME_UNITS[unit]
    measured, (low, high) = 1.0 / step_s, PLAUSIBLE_RATE_HZ
    origin = (
        f"time column {column!r} in {UNIT_NAMES[unit]} (from {how}): median step "
        f"{step_s * 1e3:.4g} ms, {measured:.4g} Hz"
    )
    if not low <= measured <= high:
        raise DataError(f"{origin}, outside the plausible {low:g}..{high:g} Hz")
    if rate is not None and abs(rate - measured) > RATE_TOLERANCE * measured:
        raise DataError(
            f"rate {rate:g} Hz disagrees with the {origin}: more than {RATE_TOLERANCE:.0%} apart"
        )
    if rate is not None:
        return times * TIME_UNITS[unit], rate, step_s, f"{rate:g} Hz as given; {origin}"
    return times * TIME_UNITS[unit], measured, step_s, f"{measured:.4g} Hz from the {origin}"


@dataclasses.dataclass(frozen=True)
class Regridded:
    """One recording on a regular clock. samples: (G, C) float64 at the rate asked for;
    measured_rate_hz: 1 / the median step between distinct timestamps (NaN without a time
    column); unit: the time column's unit (None without one); glitches: samples dropped;
    repeats: samples averaged with another sharing their timestamp; largest_gap_s: the longest
    step between the samples kept (interpolated across)."""

    samples: np.ndarray
    measured_rate_hz: float
    unit: str | None
    glitches: int
    repeats: int
    largest_gap_s: float


def regrid(
    values: np.ndarray,
    times: np.ndarray | None,
    rate_hz: float,
    source: str,
    *,
    column: str | None = None,
    requested: str = "auto",
    named: str | None = None,
    limit: float | np.ndarray = np.inf,
    max_gap_s: float = np.inf,
) -> Regridded:
    """values (T, C) sampled at `times` (T,) in the time column's own unit, from any origin
    (None: no time column, samples taken as `rate_hz` apart) -> Regridded on the grid
    0, 1/rate_hz, ... over the first to the last sample kept.

    The unit is found as `time_unit` does, with `rate_hz` to choose between plausible units.
    Samples with any |value| > `limit` (a number or one per channel) are dropped as glitches,
    samples sharing a timestamp averaged, and every channel linearly interpolated at the grid
    times. DataError naming `source`: the unit cannot be found, time goes back, all samples
    share one time, fewer than 2 samples are left, or a step between kept samples is longer
    than `max_gap_s` (interpolating across it would invent the motion).
    """
    values = np.asarray(values, dtype=np.float64)
    unit, measured = None, float("nan")
    if times is None:
        seconds = np.arange(len(values)) / rate_hz
    else:
        times = np.asarray(times, dtype=np.float64)
        steps = np.diff(times)
        if not np.any(steps > 0):
            raise DataError(f"{source}: all {len(times)} rows share one time in column {column!r}")
        step = float(np.median(steps[steps > 0]))
        try:
            unit, _ = time_unit(step, str(column), requested, named, rate_hz)
        except DataError as error:
            raise DataError(f"{source}: {error}") from None
        seconds = (times - times[0]) * TIME_UNITS[unit]
        measured = 1.0 / (step * TIME_UNITS[unit])
    seconds, values, glitches, repeats = timeseries.clean(seconds, values, limit, source)
    gap = timeseries.check_gap(seconds, seconds[0], seconds[-1], max_gap_s, source)
    grid = timeseries.regular_grid(0.0, seconds[-1] - seconds[0], rate_hz)
    samples = timeseries.on_grid(seconds - seconds[0], values, grid)
    return Regridded(samples, measured, unit, glitches, repeats, gap)
