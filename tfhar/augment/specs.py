"""The augmentations a config may name, their parameters and defaults, and their validation.

Pure Python (no TensorFlow): the config module imports this to check `augment:` sections.
An augmentation spec is a mapping `name -> {param: value}` applied in order; every entry has
`p`, the probability of applying it to an example. Parameter names are the keyword arguments
of the functions in `tfhar.augment.inertial` and `tfhar.augment.skeleton`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

# Inertial defaults follow the paper's reference configs (raw g and deg/s values, sigma 1).
INERTIAL: dict[str, dict[str, Any]] = {
    "jitter": {"p": 0.75, "sigma": 1.0},
    "scale": {"p": 0.75, "sigma": 1.0, "per_element": False},
    "permute": {"p": 0.75, "max_segments": 5},
    "permute_equal": {"p": 0.75, "max_segments": 5},
    "channel_shuffle": {"p": 0.75},
    "flip_rotate": {"p": 0.75, "group_size": 3},
    "rotate_3d": {
        "p": 0.75,
        "max_angle_degrees": 180.0,
        "group_size": 3,
        "same_rotation_for_all_groups": True,
    },
}

# Skeleton defaults are the paper's UTD-MHAD settings; jitter is always applied.
SKELETON: dict[str, dict[str, Any]] = {
    "jitter": {"p": 1.0, "sigma": 0.1},
    "crop_resize": {"p": 0.75, "min_fraction": 0.8, "max_fraction": 0.9},
    "scale": {"p": 0.75, "low": 0.7, "high": 1.2},
    "rotate": {"p": 0.75, "max_degrees": 10.0},
    "shear": {"p": 0.75, "sigma": 0.2},
}

REGISTRY: dict[str, dict[str, dict[str, Any]]] = {"inertial": INERTIAL, "skeleton": SKELETON}


def _skeleton_set(**changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A fresh copy of the UTD-MHAD skeleton set with some entries replaced."""
    return {name: dict(changes.get(name, params)) for name, params in SKELETON.items()}


# Per-dataset sets from REFERENCE.md "Augmentations" (the reference configs). Berkeley-MHAD
# has no published skeleton or permutation settings: it takes the UTD-MHAD skeleton set and
# the default max_segments.
DEFAULTS: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "utd_mhad": {
        "inertial": {
            "jitter": {"p": 0.75, "sigma": 1.0},
            "scale": {"p": 0.75, "sigma": 1.0, "per_element": False},
            "permute": {"p": 0.75, "max_segments": 3},
            "channel_shuffle": {"p": 0.75},
        },
        "skeleton": _skeleton_set(),
    },
    "berkeley_mhad": {
        "inertial": {
            "jitter": {"p": 0.75, "sigma": 1.0},
            "scale": {"p": 0.75, "sigma": 1.0, "per_element": False},
            "permute": {"p": 0.75, "max_segments": 5},
        },
        "skeleton": _skeleton_set(),
    },
    "mmact": {
        "inertial": {
            "scale": {"p": 0.75, "sigma": 1.0, "per_element": False},
            "flip_rotate": {"p": 0.75, "group_size": 3},
        },
        "skeleton": _skeleton_set(
            crop_resize={"p": 0.75, "min_fraction": 0.7, "max_fraction": 0.8},
            rotate={"p": 0.75, "max_degrees": 15.0},
        ),
    },
}

# param -> (type, lower, upper, lower bound inclusive, what is allowed)
_RULES: dict[str, tuple[type, float, float, bool, str]] = {
    "p": (float, 0.0, 1.0, True, "a probability in [0, 1]"),
    "sigma": (float, 0.0, math.inf, True, "a standard deviation >= 0"),
    "max_segments": (int, 2, math.inf, True, "an integer >= 2"),
    "group_size": (int, 1, math.inf, True, "an integer >= 1"),
    "max_angle_degrees": (float, 0.0, 180.0, True, "an angle in [0, 180] degrees"),
    "max_degrees": (float, 0.0, 180.0, True, "an angle in [0, 180] degrees"),
    "same_rotation_for_all_groups": (bool, 0, 1, True, "true or false"),
    "per_element": (bool, 0, 1, True, "true or false"),
    "min_fraction": (float, 0.0, 1.0, False, "a fraction in (0, 1]"),
    "max_fraction": (float, 0.0, 1.0, False, "a fraction in (0, 1]"),
    "low": (float, 0.0, math.inf, False, "a factor > 0"),
    "high": (float, 0.0, math.inf, False, "a factor > 0"),
}


def _check_value(where: str, key: str, value: Any) -> Any:
    """The value converted to its parameter's type, or a ValueError saying what is allowed."""
    kind, lower, upper, inclusive, allowed = _RULES[key]
    error = ValueError(f"{where}: {key}={value!r} is not allowed; expected {allowed}")
    if kind is bool:
        if not isinstance(value, bool):
            raise error
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error
    if kind is int and not float(value).is_integer():
        raise error
    above = value >= lower if inclusive else value > lower
    if not (math.isfinite(value) and above and value <= upper):
        raise error
    return kind(value)


def validate(modality: str, name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check one augmentation entry and return its parameters with the defaults filled in.

    Raises ValueError naming the augmentation, the offending key or value and what is allowed:
    an unknown modality or augmentation name, an unknown parameter, a value of the wrong type
    or out of range, min_fraction > max_fraction, low > high, rotate_3d group_size other than 3.
    """
    if modality not in REGISTRY:
        raise ValueError(f"unknown modality {modality!r}; expected one of {sorted(REGISTRY)}")
    known = REGISTRY[modality]
    if name not in known:
        raise ValueError(
            f"unknown {modality} augmentation {name!r}; expected one of {sorted(known)}"
        )
    where = f"{modality} augmentation {name!r}"
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise ValueError(f"{where}: parameters must be a mapping, got {params!r}")
    unknown = sorted(str(key) for key in params if key not in known[name])
    if unknown:
        raise ValueError(
            f"{where}: unknown parameter {unknown[0]!r}; allowed: {sorted(known[name])}"
        )
    full = {
        key: _check_value(where, key, params.get(key, default))
        for key, default in known[name].items()
    }
    if full.get("min_fraction", 0.0) > full.get("max_fraction", 1.0):
        raise ValueError(
            f"{where}: min_fraction={full['min_fraction']} is above "
            f"max_fraction={full['max_fraction']}; expected min_fraction <= max_fraction"
        )
    if full.get("low", 0.0) > full.get("high", math.inf):
        raise ValueError(
            f"{where}: low={full['low']} is above high={full['high']}; expected low <= high"
        )
    if name == "permute_equal" and full["max_segments"] < 3:
        raise ValueError(
            f"{where}: max_segments={full['max_segments']} draws 1..max_segments - 1 = 1 "
            "segment, which never changes a window; expected an integer >= 3"
        )
    if name == "rotate_3d" and full["group_size"] != 3:
        raise ValueError(
            f"{where}: group_size={full['group_size']} is not allowed; rotate_3d turns "
            "three-axis sensors, expected 3"
        )
    return full


def default_spec(dataset: str, modality: str) -> dict[str, dict[str, Any]]:
    """A copy of the default augmentation set for a dataset and modality (see DEFAULTS)."""
    if dataset not in DEFAULTS:
        raise ValueError(f"no default augmentations for {dataset!r}; known: {sorted(DEFAULTS)}")
    if modality not in REGISTRY:
        raise ValueError(f"unknown modality {modality!r}; expected one of {sorted(REGISTRY)}")
    return {name: dict(params) for name, params in DEFAULTS[dataset][modality].items()}
