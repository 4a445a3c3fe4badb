"""Mixed-precision policy: set it before building models, as Keras requires.

`auto` picks per machine: `mixed_bfloat16` on a CPU-only machine whose CPU has bfloat16 units
(AMX or AVX-512 BF16), float32 everywhere else (CPUs without bfloat16 arithmetic, and GPUs:
neither measured with bfloat16 here). It is not the default: on a 2-core Xeon with AMX,
bfloat16 trained every method 1.16-1.41x faster per whole epoch
(benchmarks/results/train_speed_xeon_amx.json), but CMC scored about 1 point lower under
nested leave-one-subject-out in both pre-training seeds tried (docs/experiments.md, searches
`tune_precision*`). The environment variable
TFHAR_AUTO_PRECISION (one of POLICIES) replaces the machine's choice, e.g. `float32` for runs
that must match another machine's; tfhar's tests set it so. `auto` is resolved by each
process: a run resumed on another machine, or a worker on other hardware, may train in
another policy (each run's metrics.json records the policy of the process that finished it).
"""

from __future__ import annotations

import os

import keras

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
POLICIES = PRECISIONS[1:]
BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")  # CPU flags of bfloat16 matrix / vector units


def resolve_precision(name: str) -> str:
    """The Keras policy that precision `name` means on this machine (one of POLICIES).

    Raises ValueError for a name outside PRECISIONS, or a TFHAR_AUTO_PRECISION outside
    POLICIES."""
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {name!r}")
    if name != "auto":
        return name
    forced = os.environ.get("TFHAR_AUTO_PRECISION")
    if forced:
        if forced not in POLICIES:
            raise ValueError(f"TFHAR_AUTO_PRECISION must be one of {POLICIES}, got {forced!r}")
        return forced
    import tensorflow as tf

    from tfhar.machine import cpu_info

    if tf.config.list_physical_devices("GPU"):
        return "float32"
    has_bfloat16 = any(flag in cpu_info()["flags"] for flag in BFLOAT16_FLAGS)
    return "mixed_bfloat16" if has_bfloat16 else "float32"


def set_precision(name: str) -> str:
    """Set Keras' global dtype policy for precision `name` (see `resolve_precision`; variables
    always stay float32); returns the policy set.

    Under mixed_float16, `model.compile` wraps the optimizer in a `LossScaleOptimizer`.
    Raises ValueError for a name outside PRECISIONS.
    """
    policy = resolve_precision(name)
    keras.mixed_precision.set_global_policy(policy)
    return policy
