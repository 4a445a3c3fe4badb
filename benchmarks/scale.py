"""Pre-training at scale: SimCLR throughput from TFRecord shards against in-memory arrays, one
process against two workers on this machine, and peak memory while a corpus larger than the
shuffle buffer streams.

    python benchmarks/scale.py [--windows 20000] [--steps 40] [--out benchmarks/results/scale.json]

Every measurement runs in a fresh process. Throughput: windows per second of the second of two
epochs of `--steps` SimCLR steps (global batch 128, the synthetic smoke config's encoder, the
UTD-MHAD inertial augmentations); the two workers are MultiWorkerMirroredStrategy tasks on
127.0.0.1 splitting each global batch (no speed-up is expected when they share 2 cores).
Memory: the peak resident set of a process that reads one epoch, minus the same process's
resident set after importing TensorFlow and building the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH_SIZE = 128
WINDOW = (50, 6)
BUFFER = 10_000  # pretrain.shuffle_buffer's default.
MODEL = ["method=simclr", "data.dataset=synthetic", "data.modalities=[inertial]",
         "model.inertial.filters=[16,32,32]", "model.inertial.num_layers=1",
         "model.inertial.feedforward_dim=64", "model.inertial.reduction=mean",
         "model.projection_hidden_dim=64", "model.projection_dim=32", "model.classifier=linear"]


def random_windows(count: int, seed: int = 0):
    """`count` standard-normal inertial windows, float32 (their values do not matter)."""
    import numpy as np

    windows = np.empty((count, *WINDOW), np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, count, 10_000):
        windows[start:start + 10_000] = rng.normal(size=windows[start:start + 10_000].shape)
    return windows


def write_corpus(folder: Path, windows: int) -> Path:
    """`windows` random inertial windows in shards of 2048 windows."""
    from tfhar.data.shards import ShardWriter

    writer = ShardWriter(folder, {"inertial": {"shape": WINDOW}}, windows_per_shard=2048)
    for start in range(0, windows, 10_000):
        writer.add({"inertial": random_windows(min(10_000, windows - start), start)})
    writer.close()
    return folder


def _dataset(source: str, corpus: Path, num_workers: int = 1):
    """The SimCLR views of the corpus: streamed from its shards, or as many windows held in
    memory (what pre-training without pretrain.shards does)."""
    from tfhar import builders
    from tfhar.config import load_config
    from tfhar.data.shards import read_index
    from tfhar.input import simclr_dataset, simclr_shard_dataset

    config = load_config(None, MODEL)
    augmenter = builders.build_augmenters(config, ("inertial",))["inertial"]
    if source == "shards":
        return config, simclr_shard_dataset(corpus, "inertial", augmenter, BATCH_SIZE,
                                            shuffle_buffer=BUFFER, num_workers=num_workers)
    windows = random_windows(read_index(corpus)["count"])
    return config, simclr_dataset(windows, augmenter, BATCH_SIZE)


def throughput(source: str, corpus: Path, steps: int) -> dict:
    """This process's SimCLR windows per second (under TF_CONFIG's cluster, if any)."""
    strategy = None
    if os.environ.get("TF_CONFIG"):
        from tfhar.builders import build_strategy

        strategy = build_strategy("multi_worker")  # Before TensorFlow runs anything.
    from types import SimpleNamespace

    import keras
    import numpy as np
    import tensorflow as tf

    from tfhar import builders
    from tfhar.models import SimCLRModel

    strategy = strategy or tf.distribute.get_strategy()
    config, dataset = _dataset(source, corpus, builders.worker_position(strategy)[1])
    with strategy.scope():
        keras.utils.set_random_seed(0)
        shapes = SimpleNamespace(inertial=np.zeros((1, *WINDOW), np.float32))
        encoder = builders.build_encoder(config, "inertial", shapes)
        model = SimCLRModel(encoder, builders.build_projection(config, encoder, "head"), 0.1)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    times = []
    clock = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: times.append(
        time.perf_counter()), on_epoch_end=lambda e, logs: times.append(time.perf_counter()))
    model.fit(dataset, epochs=2, steps_per_epoch=steps, verbose=0, shuffle=False,
              callbacks=[clock])
    return {"windows_per_s": steps * BATCH_SIZE / (times[3] - times[2]),
            "epoch_s": times[3] - times[2]}


def memory(source: str, corpus: Path) -> dict:
    """Peak resident memory (MB) while one epoch is read, above the process's memory once
    TensorFlow has started (before any window is loaded or read)."""
    import tensorflow as tf

    tf.constant(0)  # TensorFlow's runtime, then the baseline.
    start = _resident_mb()
    _, dataset = _dataset(source, corpus)
    batches = sum(1 for _ in dataset)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert batches == int(dataset.cardinality())
    return {"peak_mb": peak, "start_mb": start, "above_start_mb": peak - start,
            "batches": batches}


def _resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(*arguments: str, environment: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--role", *arguments],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                                 "CUDA_VISIBLE_DEVICES": "-1", **(environment or {})})


def _result(process: subprocess.Popen) -> dict:
    output, _ = process.communicate(timeout=1800)
    if process.returncode:
        raise RuntimeError(f"a measurement process failed ({process.returncode})")
    return json.loads(output.strip().splitlines()[-1])


def two_workers(corpus: Path, steps: int) -> dict:
    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    processes = [_child("throughput", "shards", str(corpus), str(steps), environment={
        "TF_CONFIG": json.dumps({"cluster": {"worker": addresses},
                                 "task": {"type": "worker", "index": index}})})
        for index in range(2)]
    try:
        results = [_result(p) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return results[0]  # Both step together: each reports the global windows per second.


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=20_000, help="corpus for throughput")
    parser.add_argument("--steps", type=int, default=40, help="steps per measured epoch")
    parser.add_argument("--large", type=int, default=200_000,
                        help="windows of the corpus streamed for the memory figures")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    parser.add_argument("--role", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        role, source, corpus, *rest = args.role
        result = (throughput(source, Path(corpus), int(rest[0])) if role == "throughput"
                  else memory(source, Path(corpus)))
        print(json.dumps(result))
        return

    from tfhar.machine import cpu_info, describe_cpu

    print(describe_cpu(), flush=True)
    with tempfile.TemporaryDirectory(prefix="tfhar-scale-") as folder:
        small = write_corpus(Path(folder) / "small", args.windows)
        large = write_corpus(Path(folder) / "large", args.large)
        size_mb = sum(f.stat().st_size for f in large.iterdir()) / 2**20
        figures = {
            "throughput_windows_per_s": {
                "arrays, 1 process": _result(_child("throughput", "arrays", str(small),
                                                    str(args.steps))),
                "shards, 1 process": _result(_child("throughput", "shards", str(small),
                                                    str(args.steps))),
                "shards, 2 workers": two_workers(small, args.steps),
            },
            "memory_mb": {
                f"shards, {args.windows} windows": _result(_child("memory", "shards",
                                                                  str(small))),
                f"shards, {args.large} windows": _result(_child("memory", "shards",
                                                                str(large))),
                f"arrays, {args.large} windows": _result(_child("memory", "arrays",
                                                                str(large))),
            },
        }
    print(f"\nSimCLR pre-training, global batch {BATCH_SIZE}, {args.windows} windows "
          f"{WINDOW}, {args.steps} steps measured")
    for name, row in figures["throughput_windows_per_s"].items():
        print(f"  {name:24s} {row['windows_per_s']:8.0f} windows/s")
    print(f"\nOne epoch read (shuffle buffer {BUFFER} windows; the {args.large}-window corpus "
          f"is {size_mb:.0f} MB of shards): peak resident memory above TensorFlow's start")
    for name, row in figures["memory_mb"].items():
        print(f"  {name:24s} {row['above_start_mb']:8.0f} MB (peak {row['peak_mb']:.0f} MB)")
    if args.out:
        from tfhar.machine import machine_info

        payload = {"command": " ".join(["python", "benchmarks/scale.py", *sys.argv[1:]]),
                   "cpu": cpu_info(), "machine": machine_info(),
                   "batch_size": BATCH_SIZE, "window": list(WINDOW), "shuffle_buffer": BUFFER,
                   "windows": args.windows, "large_windows": args.large,
                   "large_corpus_mb": size_mb, "steps": args.steps, **figures}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
