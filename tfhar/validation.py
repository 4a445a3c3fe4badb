"""Argument checks shared by every layer of tfhar (pure Python: no TensorFlow, no numpy).

Each raises `ValueError` with the argument's name and the value received, as keras-hub does.
"""

from __future__ import annotations

import math
import numbers


def check_int(name: str, value: object, low: int = 1) -> int:
    """`value` as an int; ValueError unless it is an integer (not a bool) >= `low`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        kind = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return int(value)


def check_fraction(name: str, value: object, low: float = 0.0, high: float = 1.0,
                   high_inclusive: bool = False) -> float:
    """`value` as a float in [low, high) (or [low, high]); ValueError otherwise."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value) and low <= value
          and (value <= high if high_inclusive else value < high))
    if not ok:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must be in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


def check_positive(name: str, value: object) -> float:
    """`value` as a float; ValueError unless it is a finite number > 0."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)
