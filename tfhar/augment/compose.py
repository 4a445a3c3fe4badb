"""Compose named augmentations into one stateless function of (window, seed)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from tfhar.augment import inertial, skeleton, specs
from tfhar.augment.batching import check_seed, check_window

FUNCTIONS: dict[str, dict[str, Callable[..., tf.Tensor]]] = {
    "inertial": {name: getattr(inertial, name) for name in specs.INERTIAL},
    "skeleton": {name: getattr(skeleton, name) for name in specs.SKELETON},
}
_BASE_RANK = {"inertial": 2, "skeleton": 3}
# The inertial augmentations that turn three-axis sensors: they take explicit channel groups.
GROUPED = ("flip_rotate", "rotate_3d")


def build_augmenter(
    modality: str,
    spec: Mapping[str, Mapping[str, Any] | None] | None,
    channel_groups: tuple[tuple[int, ...], ...] | None = None,
) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """Chain the augmentations named in `spec` (name -> params with `p`), in the order given.

    Each augmentation is applied to an example with its probability `p`, drawn independently
    per example (p = 0: never, p = 1: always). The returned `augment(window, seed)` takes one
    window or a batch (inertial: (T, C) or (B, T, C); skeleton: (T, J, D) or (B, T, J, D)) and
    a seed of shape [2]; it is stateless and works in `tf.data.Dataset.map` and `tf.function`.
    An empty spec gives the identity. Bad specs raise ValueError (see `specs.validate`).
    `channel_groups` (inertial only; e.g. a record's `channel_groups`): the index tuples of the
    three-axis sensors that `flip_rotate` and `rotate_3d` turn, instead of channels 0-2, 3-5, ...
    """
    if modality not in FUNCTIONS:
        raise ValueError(f"unknown modality {modality!r}; expected one of {sorted(FUNCTIONS)}")
    if channel_groups is not None and modality != "inertial":
        raise ValueError(f"channel_groups apply to inertial windows, not {modality}")
    steps = []
    for name, params in (spec or {}).items():
        full = specs.validate(modality, name, params)
        probability = full.pop("p")
        if channel_groups is not None and name in GROUPED:
            full["groups"] = tuple(tuple(int(i) for i in g) for g in channel_groups)
        if probability > 0.0:  # A step that never applies costs nothing.
            steps.append((functools.partial(FUNCTIONS[modality][name], **full), probability))
    base_rank = _BASE_RANK[modality]

    def augment(window: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        window = check_window(window, base_rank, f"{modality} augmenter")
        seed = check_seed(seed, f"{modality} augmenter")
        if not steps:
            return window
        seeds = tf.random.experimental.stateless_split(seed, 2 * len(steps))
        batch_shape = [] if window.shape.rank == base_rank else [tf.shape(window)[0]]
        for index, (function, probability) in enumerate(steps):
            augmented = function(window, seeds[2 * index])
            if probability >= 1.0:
                window = augmented
                continue
            draw = tf.random.stateless_uniform(batch_shape, seeds[2 * index + 1])
            chosen = tf.reshape(draw < probability, batch_shape + [1] * base_rank)
            window = tf.where(chosen, augmented, window)
        return window

    augment.__doc__ = f"Apply the {modality} augmentations {list(spec or {})} to (window, seed)."
    return augment
