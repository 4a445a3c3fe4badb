"""`tfhar-train` / `python -m tfhar.train`: config -> run directory (pre-train, fine-tune, test).

    tfhar-train --config utd_mhad/cmc --set pretrain.epochs=50
    tfhar-train --config my_experiment.yaml --run-dir runs/mine
    tfhar-train            # the main job: CMC on UTD-MHAD, data fetched when absent

The run directory holds config.yaml, checkpoints/, encoders/, logs/ (TensorBoard and per-stage
CSVs), history.csv, metrics.json, model/ and figures. Running the same command again resumes an
interrupted run. Bad input (config, data, run directory) gives one `error:` line and exit 2
before anything is written.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from tfhar.config import (
    METHODS,
    Config,
    ConfigError,
    config_hash,
    dump_config,
    load_config,
    matches_saved,
    own_pretraining_hash,
    pretrained_modalities,
    pretraining_hash,
    shipped_configs,
)
from tfhar.data import DataError
from tfhar.experiment.run_directory import OwnershipError, RunDirectory, RunDirError
from tfhar.experiment.workers import WorkerRunDirectory, cluster_task

MAIN_CONFIG = "utd_mhad/cmc"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    epilog = (
        f"methods: {', '.join(METHODS)}\n"
        f"shipped configs (--config NAME): {', '.join(shipped_configs())}\n"
        "every config field, its default and allowed values: docs/configuration.md, or "
        "`python -m tfhar.config`; a config with every default filled in: --print-config")
    parser = argparse.ArgumentParser(
        prog="tfhar-train", description=__doc__.split("\n\n")[0], epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML config file, or a shipped config's name such as "
                        f"utd_mhad/simclr_inertial (default: the main job, {MAIN_CONFIG})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set pretrain.epochs=5 (repeatable)")
    parser.add_argument("--run-dir", help="where to write the run (default: "
                        "runs/<dataset>-<config>-<hash>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a run directory of tfhar's that holds a different config "
                        "(folders tfhar did not write are never replaced)")
    parser.add_argument("--refit", action="store_true",
                        help="the run directory holds a run of tfhar's whose pre-training is "
                        "this config's (same pre-training settings; fine-tuning, classifier or "
                        "label fraction may differ): keep its pre-trained encoders, fine-tune "
                        "and test again")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config (every default filled in) and exit")
    return parser.parse_args(argv)


def default_run_dir(config: Config, config_name: str) -> Path:
    return Path("runs") / f"{config.data.dataset}-{Path(config_name).stem}-{config_hash(config)}"


def check_given_encoders(config: Config, train) -> None:
    """Load each given encoder file once (`finetune.encoders`, and the mining encoders of
    `cmkm.encoders`) and check it fits the data, before any write."""
    given = {f"finetune.encoders.{m}": (m, p) for m, p in config.finetune.encoders.items()}
    if config.method == "cmc_cmkm":
        given.update({f"cmkm.encoders.{m}": (m, p) for m, p in config.cmkm.encoders.items()})
    if not given:
        return
    import keras

    import tfhar.models  # noqa: F401  (registers the custom layers for loading)
    from tfhar.builders import check_encoder_input

    for key, (modality, path) in given.items():
        try:
            encoder = keras.models.load_model(path)
        except Exception as error:  # Keras raises many types for a bad file.
            raise ConfigError(f"{key}: cannot load {path!r}: "
                              f"{(str(error).splitlines() or [type(error).__name__])[0]}"
                              ) from None
        try:
            check_encoder_input(encoder, modality, train, path)
        except ValueError as error:
            raise ConfigError(f"{key}: {error}") from None


def pretrain_windows(config: Config, train) -> int:
    """How many windows pre-training sees: the training split's, or those of `pretrain.shards`
    (checked to hold every pre-trained modality, shaped as the data's windows)."""
    if not config.pretrain.shards:
        return len(train)
    from tfhar.data.shards import read_index

    try:
        index = read_index(config.pretrain.shards)
    except DataError as error:
        raise ConfigError(f"pretrain.shards: {error}") from None
    for modality in pretrained_modalities(config):
        held = index["modalities"].get(modality)
        if held is None:
            raise ConfigError(f"pretrain.shards: {config.pretrain.shards!r} holds "
                              f"{', '.join(index['modalities'])} windows, not the {modality} "
                              f"ones {config.method} pre-trains")
        expected = tuple(getattr(train, modality).shape[1:])
        if tuple(held["shape"]) != expected:
            raise ConfigError(f"pretrain.shards: {modality} windows shaped "
                              f"{tuple(held['shape'])}; the data's are {expected}, and the "
                              "encoders are fine-tuned on those")
    return int(index["count"])


def check_models(config: Config, train) -> None:
    """Build the encoders the run will train and check its contrastive batches fit the data.

    The models refuse some values only once they see the data (e.g. a window too short for the
    skeleton encoder); this catches them before anything is written.
    """
    from tfhar.builders import build_encoder

    fresh = [m for m in config.data.modalities if m not in config.finetune.encoders]
    for modality in fresh:
        try:
            build_encoder(config, modality, train)
        except ValueError as error:
            raise ConfigError(f"model.{modality}: cannot build the {modality} encoder for "
                              f"this data: {error}") from None
    batch_sizes = {}
    pretrained = pretrained_modalities(config)
    if config.method in ("cmc", "cmc_cmkm") and pretrained:
        batch_sizes["pretrain.batch_size"] = config.pretrain.batch_size
    # SimCLR per modality: the SimCLR methods, and the mining encoders cmc_cmkm pre-trains.
    simclr = (pretrained if config.method in ("simclr", "simclr_fusion") else
              [m for m in pretrained if m not in config.cmkm.encoders]
              if config.method == "cmc_cmkm" else [])
    if simclr:
        for modality in simclr:
            override = getattr(config.pretrain, modality).batch_size
            key = "pretrain.batch_size" if override is None else f"pretrain.{modality}.batch_size"
            batch_sizes[key] = override or config.pretrain.batch_size
    available = pretrain_windows(config, train)
    where = "windows of pretrain.shards" if config.pretrain.shards else "training windows"
    for key, size in batch_sizes.items():
        if size > available:
            raise ConfigError(f"{key}: {size} is more than the {available} {where}; "
                              "a contrastive batch must be full, lower it")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config_name = args.config or MAIN_CONFIG
    try:
        config = load_config(config_name, args.set)
        if args.print_config:
            print(dump_config(config), end="")
            return 0
        run_dir = RunDirectory(args.run_dir or default_run_dir(config, config_name))
        strategy = None
        if config.runtime.strategy == "multi_worker":
            task = cluster_task()
            if task is not None and not task.is_chief:  # Only the chief writes the run dir.
                run_dir = WorkerRunDirectory(run_dir.path, task)
            from tfhar.builders import build_strategy  # Before TensorFlow runs anything.

            strategy = build_strategy("multi_worker")
        matches = functools.partial(matches_saved, config=config)
        if args.refit and args.overwrite:
            raise ConfigError("--refit keeps a run's pre-training and --overwrite replaces the "
                              "whole run: pass one of them")
        refit = args.refit and not (run_dir.config_path.is_file() and run_dir.is_owned()
                                    and matches(run_dir.config_path))
        if refit:
            if config.finetune.encoders:
                raise ConfigError("--refit keeps a run's own pre-training; this config "
                                  "fine-tunes given encoders (finetune.encoders): drop --refit")
            key = pretraining_hash(config)
            run_dir.check_refit(lambda path: own_pretraining_hash(path) == key)
        else:
            run_dir.check_usable(matches, args.overwrite)
        from tfhar.experiment.data import load_splits

        splits = load_splits(config, download=args.config is None)
        check_given_encoders(config, splits.unlabeled)
        check_models(config, splits.unlabeled)
        if refit:
            run_dir.refit(dump_config(config), lambda path: own_pretraining_hash(path) == key)
            resume = True
        else:
            resume = run_dir.create(dump_config(config), matches, args.overwrite)
    except (ConfigError, DataError, RunDirError, OwnershipError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from tfhar.experiment.runner import run

    try:
        run(config, run_dir, splits, resume, strategy)
    except (DataError, RunDirError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        run_dir.unlock()
    return 0


if __name__ == "__main__":
    sys.exit(main())
