"""`python -m tfhar.train`: config -> run directory (pre-train, fine-tune, test).

    python -m tfhar.train --config configs/utd_mhad/cmc.yaml --set pretrain.epochs=50
    python -m tfhar.train            # the main job: CMC on UTD-MHAD, data fetched when absent

The run directory holds config.yaml, checkpoints/, encoders/, logs/ (TensorBoard and per-stage
CSVs), history.csv and metrics.json. Running the same command again resumes an interrupted run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from tfhar.config import Config, ConfigError, config_hash, dump_config, load_config, matches_saved
from tfhar.data import DataError

MAIN_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "utd_mhad" / "cmc.yaml"


class RunDirError(ValueError):
    """The run directory holds another run."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tfhar.train", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML experiment config (default: the main job, "
                        f"{MAIN_CONFIG.relative_to(MAIN_CONFIG.parents[2])})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set pretrain.epochs=5 (repeatable)")
    parser.add_argument("--run-dir", help="where to write the run (default: runs/<name>-<hash>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a run directory that holds a different config")
    return parser.parse_args(argv)


def default_run_dir(config: Config, config_path: Path) -> Path:
    return Path("runs") / f"{config.data.dataset}-{config_path.stem}-{config_hash(config)}"


def check_run_dir(run_dir: Path, config: Config, overwrite: bool) -> bool:
    """True when `run_dir` already holds this config (resume); refuse a different one."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"run directory {str(run_dir)!r} is a file; choose another --run-dir")
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
            raise RunDirError(f"run directory {str(run_dir)!r} is not empty and holds no "
                              "config.yaml; choose another --run-dir or pass --overwrite")
        return False
    if matches_saved(saved, config):
        return True
    if not overwrite:
        raise RunDirError(f"run directory {str(run_dir)!r} holds a different config; "
                          "choose another --run-dir or pass --overwrite to replace it")
    return False


def prepare_data(config: Config, main_job: bool):
    """(labelled training windows, validation, test): see `load_splits`."""
    splits = load_splits(config, main_job)
    return splits["labeled"], splits["val"], splits["test"]


def load_splits(config: Config, main_job: bool) -> dict:
    """Load and split the dataset (fetching UTD-MHAD for the main job when it is absent).

    {"train": every training window (pre-training sees them all, unlabelled), "labeled": the
    `data.label_fraction` of them that fine-tuning and supervised training see, "val", "test"}.
    """
    import tfhar.data as data

    root = config.data.root
    if main_job and config.data.dataset == "utd_mhad":
        data.download_dataset("utd_mhad", root)
    options = dict(config.data.options)
    options.setdefault("window_length", config.data.window_length)
    record = data.load(config.data.dataset, root=root, modalities=config.data.modalities,
                       **options)
    splits = data.split(record, config.data.protocol)
    labeled = splits["train"]
    if config.data.label_fraction < 1.0:
        labeled = data.label_fraction(labeled, config.data.label_fraction,
                                      config.data.label_fraction_seed)
    return {"train": splits["train"], "labeled": labeled, "val": splits.get("val"),
            "test": splits["test"]}


def check_given_encoders(config: Config, train) -> None:
    """Load each `finetune.encoders` file once and check it fits the data, before any write."""
    if not config.finetune.encoders:
        return
    if config.method == "supervised":
        raise ConfigError("finetune.encoders: method 'supervised' trains its encoders from "
                          "scratch; pre-trained encoders are for simclr, simclr_fusion and cmc")
    if config.method == "cmc" and len(config.finetune.encoders) != 2:
        raise ConfigError("finetune.encoders: method 'cmc' pre-trains both encoders together; "
                          "give both inertial and skeleton, or neither")
    import keras

    import tfhar.models  # noqa: F401  (registers the custom layers for loading)
    from tfhar.builders import check_encoder_input

    for modality, path in config.finetune.encoders.items():
        if modality not in config.data.modalities:
            raise ConfigError(f"finetune.encoders.{modality}: the run's data.modalities are "
                              f"{list(config.data.modalities)}")
        try:
            encoder = keras.models.load_model(path)
        except Exception as error:  # Keras raises many types for a bad file.
            raise ConfigError(f"finetune.encoders.{modality}: cannot load {path!r}: "
                              f"{(str(error).splitlines() or [type(error).__name__])[0]}"
                              ) from None
        try:
            check_encoder_input(encoder, modality, train, path)
        except ValueError as error:
            raise ConfigError(f"finetune.encoders.{modality}: {error}") from None


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
    if config.method == "cmc" and fresh:
        batch_sizes["pretrain.batch_size"] = config.pretrain.batch_size
    elif config.method in ("simclr", "simclr_fusion"):
        for modality in fresh:
            override = getattr(config.pretrain, modality).batch_size
            key = "pretrain.batch_size" if override is None else f"pretrain.{modality}.batch_size"
            batch_sizes[key] = override or config.pretrain.batch_size
    for key, size in batch_sizes.items():
        if size > len(train):
            raise ConfigError(f"{key}: {size} is more than the {len(train)} training windows; "
                              "a contrastive batch must be full, lower it")


def run(config: Config, run_dir: Path, splits: dict, resume: bool) -> dict:
    """Train and test under the config's strategy and precision; write the run directory."""
    import keras
    import tensorflow as tf

    from tfhar import recipes
    from tfhar.models.precision import set_precision

    keras.utils.set_random_seed(config.runtime.seed)
    tf.config.experimental.enable_op_determinism()
    set_precision(config.runtime.precision)
    for sub in ("checkpoints", "encoders", "logs"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    ctx = recipes.RunContext(
        config, run_dir,
        recipes.Splits(splits["labeled"], splits["val"], splits["test"], splits["train"]),
        strategy=recipes.builders.build_strategy(config.runtime.strategy))
    labeled = (f" ({len(splits['labeled'])} labelled)"
               if len(splits["labeled"]) < len(splits["train"]) else "")
    print(f"{'resuming' if resume else 'starting'} {config.method} on {config.data.dataset} "
          f"({', '.join(config.data.modalities)}): train {len(splits['train'])}{labeled}, "
          f"val {len(ctx.splits.val) if ctx.splits.val is not None else 0}, "
          f"test {len(ctx.splits.test)} -> {run_dir}", flush=True)
    start = time.perf_counter()
    metrics = recipes.run_method(ctx)
    metrics.update(
        method=config.method, dataset=config.data.dataset, protocol=config.data.protocol,
        modalities=list(config.data.modalities), config_hash=config_hash(config),
        seed=config.runtime.seed, stage_wall_time_s=ctx.stage_times,
        wall_time_s=time.perf_counter() - start)
    recipes.merge_histories(run_dir)
    recipes.write_json(run_dir / "metrics.json", metrics)
    recipes.write_artifacts(ctx, metrics)
    print(f"[test] accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f} on "
          f"{metrics['num_test_samples']} windows; {run_dir / 'metrics.json'}", flush=True)
    return metrics


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config_path = Path(args.config) if args.config else MAIN_CONFIG
    try:
        config = load_config(config_path, args.set)
        run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(config, config_path)
        resume = check_run_dir(run_dir, config, args.overwrite)
        splits = load_splits(config, main_job=args.config is None)
        check_given_encoders(config, splits["train"])
        check_models(config, splits["train"])
    except (ConfigError, DataError, RunDirError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.overwrite and not resume and run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / ".config.yaml.tmp"
    tmp.write_text(dump_config(config))
    os.replace(tmp, run_dir / "config.yaml")
    try:
        run(config, run_dir, splits, resume)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
