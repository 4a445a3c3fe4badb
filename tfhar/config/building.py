"""Mappings -> the schema's dataclasses, each value checked against its field's metadata."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from tfhar.config.loading import ConfigError, _coerce


def _bounds(meta: dict) -> str:
    low, high = meta.get("low"), meta.get("high")
    left = "(" if meta.get("low_open") else "["
    right = ")" if meta.get("high_open") else "]"
    return f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"


def _in_range(value: float, meta: dict) -> bool:
    low, high = meta.get("low"), meta.get("high")
    if low is not None and (value <= low if meta.get("low_open") else value < low):
        return False
    return not (high is not None and (value >= high if meta.get("high_open") else value > high))


def check_value(value: Any, field: dataclasses.Field, path: str) -> None:
    """Check a coerced value against the field's choices, range and list-entry minimum."""
    meta = field.metadata
    if value is None:
        return
    if meta.get("choices") and value not in meta["choices"]:
        allowed = ", ".join(map(str, meta["choices"]))
        raise ConfigError(f"{path}: {value!r} is not allowed; choose one of {allowed}")
    if isinstance(value, int | float) and not _in_range(value, meta):
        raise ConfigError(f"{path}: {value!r} is out of range {_bounds(meta)}")
    if meta.get("item_low") is not None and isinstance(value, tuple):
        for index, item in enumerate(value):
            if item < meta["item_low"]:
                raise ConfigError(f"{path}[{index}]: {item!r} is out of range "
                                  f"[{meta['item_low']}, inf]")


def build(cls: type, values: Any, path: str) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        key = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(f"unknown config key {key!r}; allowed: {', '.join(fields)}")
    kwargs = {}
    for name, value in values.items():
        key = f"{path}.{name}" if path else name
        kwargs[name] = _coerce(value, hints[name], key)
        check_value(kwargs[name], fields[name], key)
    return cls(**kwargs)
