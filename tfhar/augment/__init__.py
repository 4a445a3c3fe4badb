"""Stateless TensorFlow augmentations, `(window, seed, **params) -> window`.

`inertial` and `skeleton` hold the functions; `specs` (pure Python, imported by the config
module without TensorFlow) lists their names, parameters and defaults; `build_augmenter`
composes a spec into one function. Submodules load on first use so that importing
`tfhar.augment.specs` does not import TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["build_augmenter", "compose", "inertial", "skeleton", "specs"]


def __getattr__(name: str) -> Any:
    if name == "build_augmenter":
        return importlib.import_module("tfhar.augment.compose").build_augmenter
    if name in __all__:
        return importlib.import_module(f"tfhar.augment.{name}")
    raise AttributeError(f"module 'tfhar.augment' has no attribute {name!r}")
