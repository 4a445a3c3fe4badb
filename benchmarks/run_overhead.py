"""Fixed cost of a short `python -m tfhar.train` run: tracing, evaluation, saving, plots.

    python benchmarks/run_overhead.py [--methods cmc simclr_inertial supervised_multimodal]
        [--repeats 2]

Each method's synthetic smoke config (configs/synthetic) runs with one epoch per stage on
2 windows per class and subject (train 36, validation 12, test 48 windows), so what is timed
is almost all per-run work that does not grow with the data: tracing the step functions,
building and saving models, evaluating, the confusion-matrix and t-SNE plots. Short runs pay
it in full (the test suite, the semi-supervised study's frozen-encoder runs). Each method
runs in a fresh process: one untimed run (imports, data cache), then `--repeats` timed
ones; the best is reported with its stage times and the number of Python function calls
of the last run (cProfile), which falls when steps are traced fewer times.
"""

from __future__ import annotations  # noqa: I001  (tfhar first: it sets TF's environment)

import argparse
import cProfile
import contextlib
import io
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tfhar  # noqa: F401

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "synthetic"
TINY = ["data.options.samples_per_class_per_subject=2", "finetune.epochs=1", "runtime.verbose=0"]


def one_method(method: str, repeats: int) -> dict:
    """Best wall time of `repeats` tiny runs of one config, in this process."""
    from tfhar.train import main

    args = ["--config", str(CONFIGS / f"{method}.yaml")]
    pretrain = [] if method.startswith("supervised") else ["pretrain.epochs=1"]
    args += [a for override in TINY + pretrain for a in ("--set", override)]
    with tempfile.TemporaryDirectory() as root:
        times, stages, calls = [], [], 0
        for i in range(repeats + 1):
            run_dir = Path(root) / f"run{i}"
            profile = cProfile.Profile() if i == repeats else None
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                if profile:
                    profile.enable()
                code = main(["--run-dir", str(run_dir), *args])
                if profile:
                    profile.disable()
            seconds = time.perf_counter() - start
            if code != 0:
                raise SystemExit(f"error: {method} failed (exit {code})")
            if profile:
                calls = pstats.Stats(profile).total_calls
                continue  # Profiling slows the run: its time is not counted.
            if i > 0:  # The first run pays for imports and the data cache.
                times.append(seconds)
                stages.append(json.loads((run_dir / "metrics.json").read_text())
                              ["stage_wall_time_s"])
    best = min(range(len(times)), key=times.__getitem__)
    return {"method": method, "wall_s": round(times[best], 2),
            "stages_s": {k: round(v, 2) for k, v in stages[best].items()},
            "python_calls": calls}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+",
                        default=["cmc", "simclr_inertial", "supervised_multimodal"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # Child process: one method, JSON out.
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    unknown = [m for m in args.methods if not (CONFIGS / f"{m}.yaml").is_file()]
    if unknown:
        parser.error(f"no configs/synthetic/{unknown[0]}.yaml")
    if args.one:
        print(json.dumps(one_method(args.one, args.repeats)))
        return 0
    from tfhar.machine import describe_cpu

    print(describe_cpu())
    print(f"{'method':<24}{'run (s)':>9}  stages (s)  Python calls")
    for method in args.methods:
        result = subprocess.run([sys.executable, __file__, "--one", method,
                                 "--repeats", str(args.repeats)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(result.stderr.strip().splitlines()[-1], file=sys.stderr)
            return 2
        row = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{method:<24}{row['wall_s']:>9.2f}  {row['stages_s']}  {row['python_calls']:,}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
