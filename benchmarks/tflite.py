"""Size, per-window latency and test accuracy of an exported model in each .tflite format.

    python benchmarks/tflite.py --model-dir saved_models/utd_supervised_inertial

Reads what `python -m tfhar.export` wrote: metadata.json, config.yaml (the run's, to reload its
test split, e.g. UTD-MHAD subjects 2, 4, 6, 8) and model_<format>.tflite. Latency is one window
(batch 1) on one LiteRT thread, the median of --runs invocations after --warmup ones; the Keras
model (the SavedModel's serving function, batch 1) is timed the same way for comparison.
Targets: int8 at most 1/3 of the float32 size; float32 under 1 ms per window.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def median_latency_ms(run, window: np.ndarray, runs: int, warmup: int) -> float:
    """Median wall time of `run(window)` in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        run(window)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(window)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True, help="a tfhar.export output folder")
    parser.add_argument("--runs", type=int, default=500, help="timed runs per model")
    parser.add_argument("--warmup", type=int, default=50, help="untimed runs first")
    args = parser.parse_args(argv)
    folder = Path(args.model_dir)
    if not (folder / "metadata.json").is_file() or not (folder / "config.yaml").is_file():
        print(f"error: {folder} has no metadata.json and config.yaml: not a tfhar.export "
              "folder", file=sys.stderr)
        return 2

    import tensorflow as tf

    from tfhar.config import load_config
    from tfhar.data.preprocess import resample
    from tfhar.experiment import load_splits
    from tfhar.predict import read_metadata
    from tfhar.tflite_utils import LiteRTModel

    meta = json.loads((folder / "metadata.json").read_text())
    test = load_splits(load_config(folder / "config.yaml")).test
    first = next(iter(meta["model"]["files"].values()))
    info = read_metadata(folder / first)  # What the models take: windows or raw samples.
    inputs = test.inertial if info.raw_samples is None else resample(
        test.inertial, info.raw_samples, axis=1).astype(np.float32)
    window = inputs[0]
    rows = []
    sizes = {}
    for fmt, name in meta["model"]["files"].items():
        model = LiteRTModel(folder / name, num_threads=1, standardization=info.standardization)
        accuracy = float(np.mean(model.predict(inputs).argmax(1) == test.labels))
        sizes[fmt] = (folder / name).stat().st_size
        latency = median_latency_ms(model.predict_one, window, args.runs, args.warmup)
        rows.append((f"LiteRT {fmt}", sizes[fmt] / 1024, latency, accuracy))
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    served = tf.saved_model.load(str(folder / "saved_model"))  # `serve` needs it alive.
    probabilities = served.serve(tf.constant(inputs)).numpy()
    keras_latency = median_latency_ms(lambda w: served.serve(tf.constant(w[None])), window,
                                      args.runs, args.warmup)
    saved_size = sum(p.stat().st_size for p in (folder / "saved_model").rglob("*")
                     if p.is_file())
    rows.append(("Keras SavedModel (TF)", saved_size / 1024, keras_latency,
                 float(np.mean(probabilities.argmax(1) == test.labels))))

    dataset = meta["training"]["dataset"]
    print(f"{folder}: {len(test.labels)} {dataset} test windows, window "
          f"{meta['window']['duration_s']:.2f} s -> {meta['window']['steps']} steps")
    from tfhar.machine import describe_cpu

    print(describe_cpu())
    print(f"{'model':24s} {'size KiB':>10s} {'ms/window':>10s} {'accuracy':>9s}")
    for name, size, latency, accuracy in rows:
        print(f"{name:24s} {size:10.1f} {latency:10.3f} {accuracy:9.4f}")
    if "int8" in sizes and "float32" in sizes:
        print(f"int8 / float32 size: {sizes['int8'] / sizes['float32']:.3f} (target <= 0.333)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
