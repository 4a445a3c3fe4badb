"""One run end to end: seeds, precision and strategy, the stages, metrics.json, figures.

Under a multi-worker strategy every worker runs this same function (TensorFlow's model: one
program, collective steps); they differ only in where they write (`WorkerRunDirectory`).
"""

from __future__ import annotations

import time

from tfhar.config import Config, classifier_modalities, config_hash
from tfhar.experiment.artifacts import merge_histories, write_artifacts
from tfhar.experiment.run_directory import RunDirectory, RunDirError
from tfhar.experiment.stages import RunContext, Splits, run_method
from tfhar.experiment.workers import WorkerRunDirectory
from tfhar.files import write_json


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras with `seed` and make TensorFlow's ops
    deterministic (process-wide): what makes a run repeat to the last digit. Without the
    latter, multi-threaded reductions change the result from run to run."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def run(config: Config, run_dir: RunDirectory, splits: Splits, resume: bool = False,
        strategy=None) -> dict:
    """Train and test `config` into `run_dir` (created, see `RunDirectory.create`); returns the
    metrics written to metrics.json. Deterministic given `runtime.seed`. `strategy`: the one
    of `runtime.strategy`, when the caller made it (a multi-worker strategy must be made
    before TensorFlow runs anything); made here otherwise."""
    from tfhar import builders
    from tfhar.machine import machine_info
    from tfhar.models.precision import set_precision

    seed_everything(config.runtime.seed)
    policy = set_precision(config.runtime.precision)
    ctx = RunContext(config, run_dir, splits,
                     strategy=strategy or builders.build_strategy(config.runtime.strategy))
    join_workers(ctx.strategy, run_dir)
    labeled = splits.train
    pretrain = splits.pretrain
    fraction = f" ({len(labeled)} labelled)" if len(labeled) < len(pretrain) else ""
    shards = f"; pre-training streams {config.pretrain.shards}" if config.pretrain.shards else ""
    where = (f"{run_dir.path} (temporary: the chief writes {run_dir.chief.path})"
             if isinstance(run_dir, WorkerRunDirectory) else run_dir.path)
    print(f"{'resuming' if resume else 'starting'} {config.method} on {config.data.dataset} "
          f"({', '.join(config.data.modalities)}): train {len(pretrain)}{fraction}, "
          f"val {len(splits.val) if splits.val is not None else 0}, "
          f"test {len(splits.test)}{shards} -> {where}", flush=True)
    start = time.perf_counter()
    metrics = run_method(ctx)
    times = run_dir.wall_times()
    metrics.update(
        method=config.method, dataset=config.data.dataset, protocol=config.data.protocol,
        modalities=list(config.data.modalities),
        classifier_modalities=list(classifier_modalities(config)), config_hash=config_hash(config),
        seed=config.runtime.seed, precision=policy,
        stage_wall_time_s={stage: t for stage, t in times.items() if stage != "test"},
        wall_time_s=sum(times.values()) or time.perf_counter() - start,
        machine=machine_info())
    merge_histories(run_dir)
    write_json(run_dir.metrics_path, metrics)
    encoders = None
    if config.runtime.embedding_plot:
        encoders = dict(ctx.trained_encoders)
    write_artifacts(run_dir, metrics,
                    f"{config.method}: test accuracy {metrics['accuracy']:.3f}",
                    encoders, splits.test, config.runtime.seed)
    print(f"[test] accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f} on "
          f"{metrics['num_test_samples']} windows; {run_dir.metrics_path}", flush=True)
    return metrics


def join_workers(strategy, run_dir: RunDirectory) -> None:
    """Start every worker of a multi-worker strategy from the chief's state; nothing with one.

    A first collective waits for every worker, so the chief's run directory is created (or
    resumed); each other worker then copies the chief's checkpoints and encoders and they all
    decide alike which stages are done and where to resume. A second collective, summing who
    failed, keeps the chief from writing before every copy is made, and stops every worker
    (RunDirError) when one could not read the run directory.
    """
    import tensorflow as tf

    from tfhar import builders

    if builders.worker_position(strategy)[1] == 1:
        return

    @tf.function
    def per_replica(failed: tf.Tensor):
        return strategy.run(tf.identity, args=(failed,))

    def failures(failed: bool) -> float:
        """How many replicas report a failure (a collective: it waits for every worker)."""
        return float(strategy.reduce("SUM", per_replica(tf.constant(float(failed))),
                                     axis=None))

    failures(False)
    error = None
    if isinstance(run_dir, WorkerRunDirectory):
        try:
            run_dir.copy_from_chief()
        except RunDirError as caught:
            error = caught
    if failures(error is not None) and error is None:
        error = RunDirError("a worker could not start from the chief's run directory (its "
                            "output says why); every worker must read it and run the same "
                            "config")
    if error is not None:
        raise error
