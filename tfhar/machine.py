"""What machine a figure was measured on: CPU model and flags, cores, accelerators, versions.

Recorded in every run's metrics.json and printed beside every benchmark figure, because the
machines tfhar runs on differ (AVX2-only CPUs, CPUs with AVX-512 BF16 and AMX, GPUs).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# CPU flags that change TensorFlow's speed: vector widths and bfloat16 / int8 matrix units.
NOTABLE_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni",
                 "amx_tile", "amx_bf16", "amx_int8")


def cpu_info() -> dict:
    """{"model": CPU model name, "flags": the NOTABLE_FLAGS it has, "cores": usable cores}."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"model": model, "flags": [f for f in NOTABLE_FLAGS if f in flags], "cores": cores}


def machine_info() -> dict:
    """CPU, accelerators and the versions of Python, TensorFlow and Keras (imports TF)."""
    import keras
    import tensorflow as tf

    return {
        "cpu": cpu_info(),
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(),
    }


def describe_cpu() -> str:
    """One line: 'CPU: <model>, <cores> cores, flags: avx2 avx512_bf16 ...'."""
    cpu = cpu_info()
    return f"CPU: {cpu['model']}, {cpu['cores']} cores, flags: {' '.join(cpu['flags']) or 'none'}"
