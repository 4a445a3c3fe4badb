"""The small phone model against the reference one, side by side in one run.

    TFHAR_DATA_DIR=/path/to/data python benchmarks/phone_model.py \
        --config reference=utd_mhad/supervised_inertial \
        --config small=my_small.yaml \
        --export reference=runs/exports/reference --export small=saved_models/utd_mhad_imu \
        --search tune/utd_mhad_supervised_inertial_small \
        --trials pipelines/results/utd_mhad/tune_supervised_inertial_small/trials.csv \
        [--epochs 5] [--precision float32] [--runs 500] [--out benchmarks/results/phone.json]

Per model (the first --config is the reference the others are compared with):
- training: whole-epoch clips/s on UTD-MHAD's training split, as benchmarks/train_speed.py
  measures it (a fresh process per config, min / median / max of --epochs epochs), and its
  ratio to the reference's median;
- on the phone: each .tflite of its --export folder (tfhar-export's output), file size in KB
  and per-window latency on one LiteRT thread (median of --runs after warm-up), and int8 size
  over float32 size;
- accuracy: cross-validated accuracy from a finished search's trials.csv (--trials of the
  search --search: the trial whose config is the model's config; leave-subjects-out folds of
  the training subjects only), and its difference to the reference's.
The targets of the phone model (issue "the phone model, for real") are checked and printed:
at most 0.5 points below the reference on cross-validated accuracy, training at least 6x
faster, float32 under 0.2 ms per window, int8 at most 1/4 of float32 and under 150 KB.
The CPU model and its flags are printed first: figures of different machines do not compare.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent
TARGETS = {"accuracy_drop_points": 0.5, "training_speedup": 6.0, "float32_ms": 0.2,
           "int8_over_float32": 0.25, "int8_kb": 150.0}


def pairs(values: list[str], flag: str) -> dict[str, str]:
    """{name: value} of NAME=VALUE arguments, in order; SystemExit(2) on a malformed one."""
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"error: {flag} expects NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def cross_validated(search: str, trials_csv: Path, config_name: str) -> dict | None:
    """{score, score_std, trial} of the trial of `search` whose config has the same hash as
    `config_name` (None when no trial is that config)."""
    import pandas as pd

    from tfhar.config import config_from_tree, config_hash, load_config
    from tfhar.tune import read_search
    from tfhar.tuning.space import SearchSpace

    tree, spec, _, _ = read_search(search)
    space = SearchSpace.parse(spec)
    wanted = config_hash(load_config(config_name))
    trials = pd.read_csv(trials_csv, dtype={"trial_id": str})
    for row in trials.to_dict("records"):
        values = space.values({d.path: row[d.path] for d in space.dimensions})
        if config_hash(config_from_tree(tree, [], values)) == wanted:
            return {"score": float(row["score"]), "score_std": float(row["score_std"]),
                    "trial": str(row.get("trial_id", ""))}
    return None


def weight_kb(path: Path) -> float:
    """KB of the constant buffers (weights, biases, constant matrices) of a .tflite file: the
    rest of the file is its graph (operators, tensors, quantisation parameters, names), which
    int8 does not shrink."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    return sum(0 if b.data is None else len(b.data) for b in model.buffers) / 1000


def litert(folder: Path, runs: int, warmup: int) -> dict[str, dict]:
    """{format: {kb, weights_kb, ms}} of each .tflite in a tfhar-export folder (one thread,
    batch 1)."""
    sys.path.insert(0, str(BENCHMARKS))
    from tflite import median_latency_ms  # benchmarks/tflite.py

    from tfhar.predict import read_metadata
    from tfhar.tflite_utils import LiteRTModel

    meta = json.loads((folder / "metadata.json").read_text())
    figures = {}
    for fmt, name in meta["model"]["files"].items():
        info = read_metadata(folder / name)
        model = LiteRTModel(folder / name, num_threads=1, standardization=info.standardization)
        shape = (info.input_steps, len(info.channel_names))
        window = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        figures[fmt] = {"kb": (folder / name).stat().st_size / 1000,
                        "weights_kb": weight_kb(folder / name),
                        "ms": median_latency_ms(model.predict_one, window, runs, warmup)}
    return figures


def checks(row: dict, reference: dict) -> dict[str, bool | None]:
    """Each target: True (met), False (missed) or None (not measured)."""
    files = row.get("litert", {})
    int8 = files.get("int8_full") or files.get("int8")
    float32 = files.get("float32")
    drop = (None if row.get("cv") is None or reference.get("cv") is None
            else 100 * (reference["cv"]["score"] - row["cv"]["score"]))
    return {
        "accuracy": None if drop is None else drop <= TARGETS["accuracy_drop_points"],
        "training": row["speedup"] >= TARGETS["training_speedup"],
        "float32_latency": None if float32 is None else float32["ms"] < TARGETS["float32_ms"],
        "int8_ratio": None if not (int8 and float32)
        else int8["kb"] / float32["kb"] <= TARGETS["int8_over_float32"],
        "int8_size": None if int8 is None else int8["kb"] < TARGETS["int8_kb"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", action="append", required=True, metavar="NAME=CONFIG",
                        help="a model's training config (file or shipped name); the first is "
                             "the reference")
    parser.add_argument("--export", action="append", default=[], metavar="NAME=DIR",
                        help="a model's tfhar-export folder")
    parser.add_argument("--search", help="the tune config the --trials come from")
    parser.add_argument("--trials", type=Path, help="trials.csv of the finished --search")
    parser.add_argument("--epochs", type=int, default=5, help="whole epochs timed per model")
    parser.add_argument("--steps", type=int, default=30, help="steps per timed step run")
    parser.add_argument("--precision", default="float32",
                        choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument("--runs", type=int, default=500, help="timed LiteRT runs per file")
    parser.add_argument("--warmup", type=int, default=50, help="untimed LiteRT runs first")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    configs, exports = pairs(args.config, "--config"), pairs(args.export, "--export")
    unknown = sorted(set(exports) - set(configs))
    if unknown:
        parser.error(f"--export names {unknown} have no --config")
    if (args.search is None) != (args.trials is None):
        parser.error("--search and --trials go together")
    for name, folder in exports.items():
        if not (Path(folder) / "metadata.json").is_file():
            parser.error(f"--export {name}={folder}: no metadata.json: not a tfhar-export folder")
    if args.trials is not None and not args.trials.is_file():
        parser.error(f"--trials {args.trials}: not a file")

    sys.path.insert(0, str(BENCHMARKS))
    from train_speed import measure_in_child  # benchmarks/train_speed.py

    from tfhar.machine import describe_cpu, machine_info

    print(describe_cpu(), flush=True)
    rows = {}
    for name, config in configs.items():
        speed = measure_in_child(config, args.precision, [], args.steps, args.epochs)
        rows[name] = {"config": config, "epoch": speed["epoch"], "step": speed["step"],
                      "litert": litert(Path(exports[name]), args.runs, args.warmup)
                      if name in exports else {},
                      "cv": cross_validated(args.search, args.trials, config)
                      if args.trials else None}
    reference = rows[next(iter(configs))]
    for row in rows.values():
        row["speedup"] = row["epoch"]["median"] / reference["epoch"]["median"]
        row["targets"] = checks(row, reference)

    print(f"training: whole-epoch clips/s ({args.precision}, min / median / max of "
          f"{args.epochs}); LiteRT: one thread, batch 1, median of {args.runs}; accuracy: "
          "cross-validated on the training subjects' folds")
    print(f"{'model':12s} {'epoch clips/s':>20s} {'x ref':>6s} {'format':>10s} {'KB':>9s} "
          f"{'ms/window':>9s} {'CV acc %':>13s} {'vs ref':>7s}")
    for name, row in rows.items():
        epoch = row["epoch"]
        cv = row["cv"]
        accuracy = "-" if cv is None else f"{100 * cv['score']:.2f} +- {100 * cv['score_std']:.2f}"
        drop = "-" if cv is None or reference["cv"] is None else \
            f"{100 * (cv['score'] - reference['cv']['score']):+.2f}"
        files = list(row["litert"].items()) or [("-", None)]
        for index, (fmt, figure) in enumerate(files):
            head = (f"{name:12s} {epoch['min']:6.0f} {epoch['median']:6.0f} {epoch['max']:6.0f} "
                    f"{row['speedup']:6.2f}") if index == 0 else " " * 40
            tail = f"{accuracy:>13s} {drop:>7s}" if index == 0 else ""
            size = "-" if figure is None else f"{figure['kb']:9.1f}"
            latency = "-" if figure is None else f"{figure['ms']:9.3f}"
            print(f"{head} {fmt:>10s} {size:>9s} {latency:>9s} {tail}")
    for name, row in list(rows.items())[1:]:
        files = row["litert"]
        int8 = files.get("int8_full") or files.get("int8")
        if int8 and files.get("float32"):
            float32 = files["float32"]
            print(f"{name}: int8 / float32 size {int8['kb'] / float32['kb']:.3f} (weights "
                  f"{int8['weights_kb']:.1f} / {float32['weights_kb']:.1f} KB = "
                  f"{int8['weights_kb'] / float32['weights_kb']:.3f}; the rest of each file, "
                  f"the graph: {int8['kb'] - int8['weights_kb']:.1f} / "
                  f"{float32['kb'] - float32['weights_kb']:.1f} KB)")
        verdict = ", ".join(f"{k} {'met' if v else 'MISSED' if v is False else 'not measured'}"
                            for k, v in row["targets"].items())
        print(f"{name} targets ({TARGETS}): {verdict}")
    if args.out:
        from tfhar.files import write_json

        write_json(args.out, {"command": " ".join(sys.argv), "machine": machine_info(),
                              "precision": args.precision, "targets": TARGETS, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
