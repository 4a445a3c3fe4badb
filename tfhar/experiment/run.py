"""One run end to end: seeds, precision and strategy, the stages, metrics.json, figures."""

from __future__ import annotations

import time

from tfhar.config import Config, config_hash
from tfhar.experiment.artifacts import merge_histories, write_artifacts
from tfhar.experiment.run_directory import RunDirectory
from tfhar.experiment.stages import RunContext, Splits, run_method
from tfhar.files import write_json


def run(config: Config, run_dir: RunDirectory, splits: Splits, resume: bool = False) -> dict:
    """Train and test `config` into `run_dir` (created, see `RunDirectory.create`); returns the
    metrics written to metrics.json. Deterministic given `runtime.seed`."""
    import keras
    import tensorflow as tf

    from tfhar import builders
    from tfhar.machine import machine_info
    from tfhar.models.precision import set_precision

    keras.utils.set_random_seed(config.runtime.seed)
    tf.config.experimental.enable_op_determinism()
    set_precision(config.runtime.precision)
    ctx = RunContext(config, run_dir, splits,
                     strategy=builders.build_strategy(config.runtime.strategy))
    labeled = splits.train
    pretrain = splits.pretrain
    fraction = f" ({len(labeled)} labelled)" if len(labeled) < len(pretrain) else ""
    print(f"{'resuming' if resume else 'starting'} {config.method} on {config.data.dataset} "
          f"({', '.join(config.data.modalities)}): train {len(pretrain)}{fraction}, "
          f"val {len(splits.val) if splits.val is not None else 0}, "
          f"test {len(splits.test)} -> {run_dir.path}", flush=True)
    start = time.perf_counter()
    metrics = run_method(ctx)
    times = run_dir.wall_times()
    metrics.update(
        method=config.method, dataset=config.data.dataset, protocol=config.data.protocol,
        modalities=list(config.data.modalities), config_hash=config_hash(config),
        seed=config.runtime.seed,
        stage_wall_time_s={stage: t for stage, t in times.items() if stage != "test"},
        wall_time_s=sum(times.values()) or time.perf_counter() - start,
        machine=machine_info())
    merge_histories(run_dir)
    write_json(run_dir.metrics_path, metrics)
    encoders = None
    if config.runtime.embedding_plot:
        encoders = {m: ctx.trained_encoders[m] for m in config.data.modalities}
    write_artifacts(run_dir, metrics,
                    f"{config.method}: test accuracy {metrics['accuracy']:.3f}",
                    encoders, splits.test, config.runtime.seed)
    print(f"[test] accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f} on "
          f"{metrics['num_test_samples']} windows; {run_dir.metrics_path}", flush=True)
    return metrics
