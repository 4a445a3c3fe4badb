"""One worker of a multi-worker test, run as a script with TF_CONFIG set by the test:

    python worker.py steps OUT SHARDS       a few pre-training steps on the shards; writes
                                            OUT/worker<i>.npz: the batches this worker trained
                                            on, the loss history and the final weights
    python worker.py stage OUT RUN SHARDS   the pre-training stage into run directory RUN, as
                                            `tfhar.train` runs it (resumable); OUT/worker<i>.npz
                                            holds the encoder's final weights

The test process imports this module for the same config and model (`tiny_config`,
`build_model`) to compute the one-process reference.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")  # Workers share this machine's CPU only.

import tfhar  # noqa: E402, F401  (TensorFlow's environment, as for users)

WINDOW = (20, 6)  # Inertial windows (time steps, channels) of the test shards.
BATCH_SIZE = 8  # Global batch: 4 windows per worker.
EPOCHS = 2  # Of the steps test.
STAGE_EPOCHS = 4  # Of the stage test: enough to kill a worker mid-run.
SHUFFLE_BUFFER = 16  # Windows; smaller than the corpus, so the stream is really shuffled.
TINY = ["method=simclr", "data.dataset=synthetic", "data.modalities=[inertial]",
        "augment.inertial=none", "model.inertial.filters=[4,8,8]", "model.inertial.kernel_size=3",
        "model.inertial.num_layers=1", "model.inertial.feedforward_dim=16",
        "model.inertial.dropout=0.0", "model.inertial.reduction=mean",
        "model.projection_hidden_dim=8", "model.projection_dim=4", "model.classifier=linear",
        "model.sync_batchnorm=true", "pretrain.temperature=0.5", "pretrain.learning_rate=0.01",
        f"pretrain.batch_size={BATCH_SIZE}",
        "runtime.strategy=multi_worker", "runtime.verbose=0", "runtime.embedding_plot=false"]


def tiny_config(*overrides: str):
    from tfhar.config import load_config

    return load_config(None, [*TINY, *overrides])


def build_model(config):
    """Encoder + projection head (both with synchronized BatchNorm) in a SimCLR model."""
    import keras

    from tfhar import builders
    from tfhar.models import SimCLRModel

    keras.utils.set_random_seed(config.runtime.seed)
    shapes = SimpleNamespace(inertial=SimpleNamespace(shape=(0, *WINDOW)))
    encoder = builders.build_encoder(config, "inertial", shapes)
    head = builders.build_projection(config, encoder, "inertial_projection")
    model = SimCLRModel(encoder, head, config.pretrain.temperature)
    # SGD: a data-parallel run equals one process up to rounding, which Adam would magnify.
    model.compile(optimizer=keras.optimizers.SGD(config.pretrain.learning_rate))
    return model


def part_weights(model) -> list:
    """Encoder and head weights (trainable and BatchNorm statistics), not the recorder's."""
    return model.encoder.get_weights() + model.projection_head.get_weights()


def steps(out: Path, shards: str) -> None:
    from tfhar.builders import build_strategy, worker_position

    strategy = build_strategy("multi_worker")  # Before TensorFlow runs anything.
    import keras
    import numpy as np
    import tensorflow as tf

    from tfhar.input import simclr_shard_dataset

    index, count = worker_position(strategy)
    config = tiny_config()
    dataset = simclr_shard_dataset(shards, "inertial", None, BATCH_SIZE, seed=0,
                                   shuffle_buffer=SHUFFLE_BUFFER,
                                   num_workers=count)
    local = (BATCH_SIZE // count, *WINDOW)
    with strategy.scope():
        model = build_model(config)
        # What each step trained on, per replica (assigned in the step, read after it).
        seen = tf.Variable(tf.zeros((2, *local)), trainable=False)
    step = model.train_step

    def recording_step(data):
        seen.assign(tf.stack(list(data)))
        return step(data)

    model.train_step = recording_step
    batches = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batches.append(
            strategy.experimental_local_results(seen)[0].numpy()))
    history = model.fit(dataset, epochs=EPOCHS, verbose=0, callbacks=[record])
    np.savez(out / f"worker{index}.npz", batches=np.stack(batches),
             loss=np.asarray(history.history["loss"]),
             **{f"weight{i}": w for i, w in enumerate(part_weights(model))})


def stage(out: Path, run: str, shards: str) -> None:
    import functools

    from tfhar.builders import build_strategy, worker_position
    from tfhar.experiment.run_directory import RunDirectory
    from tfhar.experiment.workers import WorkerRunDirectory, cluster_task

    task = cluster_task()
    run_dir = RunDirectory(run) if task.is_chief else WorkerRunDirectory(run, task)
    strategy = build_strategy("multi_worker")  # Before TensorFlow runs anything.
    import numpy as np

    from tfhar.config import dump_config, matches_saved
    from tfhar.experiment.data import load_splits
    from tfhar.experiment.runner import join_workers
    from tfhar.experiment.stages import RunContext, pretrain_simclr

    config = tiny_config(f"pretrain.shards={shards}", f"pretrain.epochs={STAGE_EPOCHS}",
                         f"pretrain.shuffle_buffer={SHUFFLE_BUFFER}",
                         "data.options={samples_per_class_per_subject: 1}",
                         f"data.window_length={WINDOW[0]}")
    run_dir.create(dump_config(config), functools.partial(matches_saved, config=config), False)
    try:
        join_workers(strategy, run_dir)
        ctx = RunContext(config, run_dir, load_splits(config), strategy)
        encoder = pretrain_simclr(ctx, "inertial")
        index, _ = worker_position(strategy)
        np.savez(out / f"worker{index}.npz",
                 **{f"weight{i}": w for i, w in enumerate(encoder.get_weights())})
    finally:
        run_dir.unlock()


if __name__ == "__main__":
    mode, out, *rest = sys.argv[1:]
    {"steps": steps, "stage": stage}[mode](Path(out), *rest)
