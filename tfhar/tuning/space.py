"""A search space declared in YAML (a tune config's `search:` section) -> keras-tuner
hyperparameters -> config values.

Each key of `search:` is a config field path; its value says what the search may set there:

    search:
      pretrain.temperature: {values: [0.05, 0.1, 0.2]}         # one of these
      augment.inertial:                                          # one of these named values
        values:
          jitter_scale: {jitter: {p: 0.75, sigma: 1.0}, scale: {p: 0.75, sigma: 1.0}}
          jitter_scale_permute: {...}
      finetune.learning_rate: {min: 1.0e-4, max: 1.0e-2, scale: log}   # a range
      model.inertial.num_layers: {min: 1, max: 3}                # integers when both are

A path must name a field of the config schema (deeper keys are allowed only inside mappings
such as `augment.inertial` or `data.options`), and every value it may take must give a valid
config: both are checked before a search starts (`SearchSpace.check`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from collections.abc import Mapping
from typing import Any

from tfhar.config import Config, ConfigError, config_from_tree

SCALES = ("linear", "log")


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One searched field: `choices` (name -> value) or a range [low, high]."""

    path: str
    choices: dict[Any, Any] | None = None  # keras-tuner's value (a number, a name) -> value
    low: float | None = None
    high: float | None = None
    scale: str = "linear"
    step: float | None = None

    @property
    def is_int(self) -> bool:
        return self.choices is None and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool)
            for v in (self.low, self.high))

    def declare(self, hp) -> None:
        """Register this dimension in keras-tuner's HyperParameters `hp`."""
        if self.choices is not None:
            keys = list(self.choices)
            numeric = all(isinstance(k, int | float) and not isinstance(k, bool) for k in keys)
            hp.Choice(self.path, keys, ordered=numeric)
        elif self.is_int:
            hp.Int(self.path, int(self.low), int(self.high), step=int(self.step or 1),
                   sampling=self.scale)
        else:
            hp.Float(self.path, float(self.low), float(self.high), step=self.step,
                     sampling=self.scale)

    def value(self, chosen: Any) -> Any:
        """The config value for keras-tuner's `chosen` (a choice's name, or a number)."""
        if self.choices is None:
            return chosen
        return self.choices[chosen] if chosen in self.choices else self.choices[str(chosen)]

    def candidates(self) -> list[Any]:
        """The config values worth checking before a search: every choice, or the bounds."""
        if self.choices is not None:
            return list(self.choices.values())
        return [int(v) if self.is_int else float(v) for v in (self.low, self.high)]


def _field_exists(path: str) -> bool:
    """Whether `path` names a schema field, or a key inside a mapping-typed field."""
    cls: Any = Config
    parts = path.split(".")
    for index, part in enumerate(parts):
        if not dataclasses.is_dataclass(cls):
            return False
        hints = typing.get_type_hints(cls)
        if part not in hints:
            return False
        cls = hints[part]
        if not dataclasses.is_dataclass(cls) and index < len(parts) - 1:
            mapping = typing.get_origin(cls) is dict or any(
                typing.get_origin(a) is dict for a in typing.get_args(cls))
            return mapping
    return True


def parse_dimension(path: str, spec: Any) -> Dimension:
    """One `search:` entry -> Dimension; ConfigError naming `search.<path>` when malformed."""
    where = f"search.{path}"
    if not isinstance(path, str) or not _field_exists(path):
        raise ConfigError(f"{where}: not a config field (see docs/configuration.md)")
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a mapping with `values` or `min`/`max`, "
                          f"got {spec!r}")
    keys = set(spec)
    if "values" in keys:
        extra = keys - {"values"}
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {sorted(extra)} beside `values`")
        values = spec["values"]
        if isinstance(values, Mapping):
            choices = {str(k): v for k, v in values.items()}
        elif isinstance(values, list):
            kinds = {type(v) for v in values}
            if len(kinds) == 1 and kinds <= {bool, int, float, str}:
                choices = {v: v for v in values}  # keras-tuner takes scalars of one type.
            else:
                choices = {f"choice{i}": v for i, v in enumerate(values)}
            if len(choices) != len(values):
                raise ConfigError(f"{where}: values repeat: {values!r}")
        else:
            raise ConfigError(f"{where}.values: expected a list or a mapping of named values, "
                              f"got {values!r}")
        if not choices:
            raise ConfigError(f"{where}.values: empty; give at least one value")
        return Dimension(path, choices=choices)
    allowed = {"min", "max", "scale", "step"}
    unknown = keys - allowed
    if unknown or not {"min", "max"} <= keys:
        raise ConfigError(f"{where}: expected `values`, or `min` and `max` (optionally `scale`: "
                          f"linear or log, and `step`); got keys {sorted(keys)}")
    low, high, scale, step = spec["min"], spec["max"], spec.get("scale", "linear"), spec.get("step")
    for key, value in (("min", low), ("max", high), ("step", step)):
        if value is None and key == "step":
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(
                value):
            raise ConfigError(f"{where}.{key}: expected a finite number, got {value!r}")
    if low > high:
        raise ConfigError(f"{where}: min {low} is greater than max {high}")
    if scale not in SCALES:
        raise ConfigError(f"{where}.scale: {scale!r}; choose linear or log")
    if scale == "log" and low <= 0:
        raise ConfigError(f"{where}: a log scale needs min > 0, got {low}")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}.step: expected a positive number, got {step}")
    return Dimension(path, low=low, high=high, scale=scale, step=step)


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The searched dimensions over a base config tree."""

    dimensions: tuple[Dimension, ...]

    @classmethod
    def parse(cls, spec: Any) -> SearchSpace:
        if not isinstance(spec, Mapping) or not spec:
            raise ConfigError("search: expected a non-empty mapping of config field paths to "
                              f"`values` or `min`/`max`, got {spec!r}")
        return cls(tuple(parse_dimension(path, value) for path, value in spec.items()))

    def declare(self, hp) -> None:
        for dimension in self.dimensions:
            dimension.declare(hp)

    def values(self, hp_values: Mapping[str, Any]) -> dict[str, Any]:
        """{config path: value} for keras-tuner's chosen `hp_values` (other keys ignored)."""
        return {d.path: d.value(hp_values[d.path]) for d in self.dimensions
                if d.path in hp_values}

    def check(self, tree: dict, overrides: list[str]) -> None:
        """Every value each dimension may take gives a valid config with the base tree (the
        others at their base values); ConfigError naming the dimension otherwise."""
        for dimension in self.dimensions:
            for value in dimension.candidates():
                try:
                    config_from_tree(tree, overrides, {dimension.path: value})
                except ConfigError as error:
                    raise ConfigError(f"search.{dimension.path}: the value {value!r} gives an "
                                      f"invalid config: {error}") from None

    def grid_size(self) -> int | None:
        """The number of points of a grid search (None when a dimension is continuous)."""
        size = 1
        for d in self.dimensions:
            if d.choices is not None:
                size *= len(d.choices)
            elif d.is_int:
                size *= (int(d.high) - int(d.low)) // int(d.step or 1) + 1
            else:
                return None
        return size
