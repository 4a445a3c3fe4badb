"""Experiments: run directories (paths, ownership, locks) and the training stages.

    config = load_config("utd_mhad/cmc")
    splits = load_splits(config)
    run_dir = RunDirectory("runs/x")
    run_dir.create(dump_config(config), functools.partial(matches_saved, config=config), False)
    ctx = RunContext(config, run_dir, splits)
    encoders = pretrain(ctx)                   # {"inertial": keras.Model, "skeleton": ...}
    model = finetune(ctx, encoders)            # a ClassifierModel, checkpoint by finetune.monitor
    metrics = evaluate(model, splits.test)     # accuracy, macro F1, confusion matrix, ...

`run(config, run_dir, splits)` does all of it and writes metrics.json and the figures.
The stages import TensorFlow; they are loaded on first use, so that the CLIs can check their
input (through `run_directory`) and answer bad input in a fraction of a second.
"""

import importlib

from tfhar.experiment.run_directory import OwnershipError, RunDirectory, RunDirError

_LAZY = {
    "load_splits": "tfhar.experiment.data",
    "Splits": "tfhar.experiment.data",
    "run": "tfhar.experiment.runner",  # Not `run`: a submodule would shadow the function.
    **dict.fromkeys(("RunContext", "evaluate", "finetune", "pretrain", "run_method",
                     "train_supervised"), "tfhar.experiment.stages"),
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tfhar.experiment' has no attribute {name!r}")


__all__ = ["OwnershipError", "RunDirError", "RunDirectory", *_LAZY]
