"""Mixed-precision policy: set it before building models, as Keras requires."""

import keras

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def set_precision(name: str) -> None:
    """Set Keras' global dtype policy to one of PRECISIONS (variables always stay float32).

    Under mixed_float16, `model.compile` wraps the optimizer in a `LossScaleOptimizer`.
    """
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {name!r}")
    keras.mixed_precision.set_global_policy(name)
