"""The training stages as a small Python API: pre-train -> encoders, fine-tune -> classifier,
evaluate -> metrics; `run_method` chains them for a config's method.

`tfhar.train`, the pipelines and the tuner call these same functions. Each stage is resumable:
a finished stage leaves its product in the run directory (encoders, the best classifier
weights and a `<stage>.done` record) and is skipped when the run starts again; an interrupted
stage resumes from its last completed epoch through `keras.callbacks.BackupAndRestore`.

A little over 300 lines: the pre-training stages read in-memory arrays or streamed
shards, and the fine-tuning stage has its cached-features path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfhar import builders
from tfhar.config import Config, checkpoint_rule, classifier_modalities
from tfhar.data import Record
from tfhar.evaluate import classification_metrics
from tfhar.experiment.callbacks import StageTimer, TrackedCheckpoint, stage_callbacks
from tfhar.experiment.data import Splits
from tfhar.experiment.run_directory import RunDirectory
from tfhar.files import atomic_path, read_json
from tfhar.input import (
    cmc_dataset,
    cmc_shard_dataset,
    labeled_dataset,
    simclr_dataset,
    simclr_shard_dataset,
)
from tfhar.models import ClassifierModel, CMCModel, SimCLRModel
from tfhar.models.batch_statistics import reestimate_batch_norm


@dataclass
class RunContext:
    """What every stage needs: the config, where to write, the data and the strategy."""

    config: Config
    run_dir: RunDirectory
    splits: Splits
    strategy: tf.distribute.Strategy = field(default_factory=tf.distribute.get_strategy)
    # The final model's encoders, once trained: the t-SNE maps use them without reloading.
    trained_encoders: dict[str, keras.Model] = field(default_factory=dict)


def save_model(model: keras.Model, path) -> None:
    """Save a .keras file atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        model.save(temporary)


def build_on(model: keras.Model, dataset: tf.data.Dataset, inputs_of=lambda batch: batch
             ) -> None:
    """Build a model by calling it on zeros shaped like one batch of `dataset`, and build its
    optimizer: were the optimizer's variables made in the first training step, `tf.function`
    would trace that step twice, and tracing is most of a short run's time."""
    zeros = tf.nest.map_structure(lambda s: tf.zeros([2] + s.shape[1:], s.dtype),
                                  dataset.element_spec)
    model(inputs_of(zeros), training=False)
    if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _report(stage: str, history: keras.callbacks.History | None, seconds: float,
            extra: str = "") -> None:
    last = {k: v[-1] for k, v in history.history.items()} if history and history.history else {}
    shown = ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k != "learning_rate")
    print(f"[{stage}] {seconds:.1f} s" + (f"; last epoch: {shown}" if shown else "") + extra,
          flush=True)


def fit_epochs(model: keras.Model, dataset: tf.data.Dataset, epochs: int,
               one_iterator: bool = True, **fit_arguments) -> keras.callbacks.History:
    """`model.fit` for `epochs` passes over a finite `dataset`, with one iterator for them all.

    With `one_iterator` (and a known length) the dataset is repeated and `steps_per_epoch` set
    to its cardinality. For a finite dataset `fit` makes new iterators every epoch (and one
    more at each epoch's end that it throws away), restarting tf.data's threads and buffers
    each time, a cost that UTD-MHAD's epochs of 2-10 steps pay in full. Epoch k is now the
    dataset's pass k, each shuffled and augmented anew; under plain `fit` it was pass 2k, so
    runs before this change do not repeat bit for bit. `one_iterator=False`, or a dataset of
    unknown length, is fitted as it is: the shard readers, whose per-worker streams must
    restart each epoch. `fit_arguments` go to `fit` (not `shuffle`: tf.data shuffles).
    ValueError for an infinite dataset.
    """
    steps = int(dataset.cardinality())
    if steps == tf.data.INFINITE_CARDINALITY:
        raise ValueError("fit_epochs needs a finite dataset: an epoch is one pass over it")
    if one_iterator and steps > 0:
        return model.fit(dataset.repeat(), steps_per_epoch=steps, epochs=epochs, shuffle=False,
                         **fit_arguments)
    return model.fit(dataset, epochs=epochs, shuffle=False, **fit_arguments)


def _fit_contrastive(ctx: RunContext, stage: str, model: keras.Model, dataset, epochs: int,
                     timer: StageTimer) -> keras.callbacks.History:
    """Compile and build `model` under the strategy, then fit it on `dataset` of views."""
    config = ctx.config
    with ctx.strategy.scope():
        model.compile(optimizer=keras.optimizers.Adam(config.pretrain.learning_rate),
                      jit_compile=config.runtime.jit_compile)
        build_on(model, dataset, (lambda views: views[0]) if isinstance(model, SimCLRModel)
                 else (lambda views: views))
    callbacks = stage_callbacks(ctx.run_dir, stage, "loss", "min", config.pretrain.lr_patience,
                                config.pretrain.lr_factor, config.runtime.backup, timer)
    return fit_epochs(model, dataset, epochs, one_iterator=not config.pretrain.shards,
                      verbose=config.runtime.verbose, callbacks=callbacks)


def _streamed(ctx: RunContext) -> dict:
    """Arguments of the shard readers (`pretrain.shards`): seed, shuffle buffer and how many
    workers share the shards."""
    return {"seed": ctx.config.runtime.seed, "shuffle_buffer": ctx.config.pretrain.shuffle_buffer,
            "num_workers": builders.worker_position(ctx.strategy)[1]}


def pretrain_simclr(ctx: RunContext, modality: str, name: str | None = None) -> keras.Model:
    """SimCLR on the unlabeled training windows of one modality; returns the encoder, saved as
    encoders/<name, default the modality>.keras."""
    config, stage = ctx.config, f"pretrain_simclr_{modality}"
    path = ctx.run_dir.encoder_path(name or modality)
    if path.is_file():
        print(f"[{stage}] done earlier, loading {path}", flush=True)
        return keras.models.load_model(path)
    timer = StageTimer(ctx.run_dir, stage)
    batch_size, temperature, epochs = builders.pretrain_settings(config, modality)
    augmenter = builders.build_augmenters(config, (modality,), ctx.splits.pretrain)[modality]
    if config.pretrain.shards:  # Streamed windows, e.g. a corpus larger than memory.
        dataset = simclr_shard_dataset(config.pretrain.shards, modality, augmenter, batch_size,
                                       **_streamed(ctx))
    else:
        dataset = simclr_dataset(getattr(ctx.splits.pretrain, modality), augmenter, batch_size,
                                 seed=config.runtime.seed)
    with ctx.strategy.scope():
        encoder = builders.build_encoder(config, modality, ctx.splits.pretrain)
        head = builders.build_projection(config, encoder, f"{modality}_projection")
        model = SimCLRModel(encoder, head, temperature)
    history = _fit_contrastive(ctx, stage, model, dataset, epochs, timer)
    save_model(encoder, path)
    _report(stage, history, timer.flush())
    return encoder


def encoders_done_earlier(ctx: RunContext, stage: str, paths: dict[str, Path]
                          ) -> dict[str, keras.Model] | None:
    """The encoders a finished pre-training `stage` saved at `paths` ({modality: file}), loaded;
    None when any is missing (the stage is to run)."""
    if not all(p.is_file() for p in paths.values()):
        return None
    print(f"[{stage}] done earlier, loading {ctx.run_dir.path / 'encoders'}", flush=True)
    return {m: keras.models.load_model(p) for m, p in paths.items()}


def cross_modal_dataset(ctx: RunContext) -> tf.data.Dataset:
    """Batches of (inertial view, skeleton view) of the pre-training windows, each augmented
    on the fly, for CMC and CMC-CMKM: streamed from `pretrain.shards` when set (a corpus
    larger than memory), else from the pre-training split in memory."""
    config = ctx.config
    augmenters = builders.build_augmenters(config, ("inertial", "skeleton"), ctx.splits.pretrain)
    if config.pretrain.shards:
        return cmc_shard_dataset(config.pretrain.shards, augmenters["inertial"],
                                 augmenters["skeleton"], config.pretrain.batch_size,
                                 **_streamed(ctx))
    train = ctx.splits.pretrain
    return cmc_dataset(train.inertial, train.skeleton, augmenters["inertial"],
                       augmenters["skeleton"], config.pretrain.batch_size,
                       seed=config.runtime.seed)


def pretrain_cmc(ctx: RunContext) -> dict[str, keras.Model]:
    """CMC across modalities on the unlabeled training recordings; returns both encoders."""
    config, stage = ctx.config, "pretrain_cmc"
    paths = {m: ctx.run_dir.encoder_path(m) for m in ("inertial", "skeleton")}
    done = encoders_done_earlier(ctx, stage, paths)
    if done is not None:
        return done
    timer = StageTimer(ctx.run_dir, stage)
    train = ctx.splits.pretrain
    dataset = cross_modal_dataset(ctx)
    with ctx.strategy.scope():
        encoders = {m: builders.build_encoder(config, m, train) for m in paths}
        heads = {m: builders.build_projection(config, e, f"{m}_projection")
                 for m, e in encoders.items()}
        model = CMCModel(encoders["inertial"], encoders["skeleton"], heads["inertial"],
                         heads["skeleton"], config.pretrain.temperature)
    history = _fit_contrastive(ctx, stage, model, dataset, config.pretrain.epochs, timer)
    for modality, encoder in encoders.items():
        save_model(encoder, paths[modality])
    _report(stage, history, timer.flush())
    return encoders


def pretrain(ctx: RunContext, given: dict[str, keras.Model] | None = None
             ) -> dict[str, keras.Model]:
    """The encoders of the config's SSL method: `given` ones (e.g. from `finetune.encoders`)
    and those pre-trained here (SimCLR per missing modality, or CMC or CMC-CMKM for both)."""
    given = dict(given or {})
    if ctx.config.method == "cmc_cmkm":
        from tfhar.experiment.cmkm_stage import pretrain_cmc_cmkm  # It imports this module.

        return given if len(given) == 2 else pretrain_cmc_cmkm(ctx)
    if ctx.config.method == "cmc":
        return given if len(given) == 2 else pretrain_cmc(ctx)
    return {m: given[m] if m in given else pretrain_simclr(ctx, m)
            for m in ctx.config.data.modalities}


def _encoded(encoders: dict[str, keras.Model], record: Record) -> dict[str, np.ndarray]:
    """Each modality's windows through its (frozen) encoder in inference mode, as float32."""
    return {m: np.asarray(encoders[m].predict(getattr(record, m), batch_size=256, verbose=0),
                          np.float32) for m in sorted(encoders)}


def _windows(encoders: dict[str, keras.Model], record: Record) -> dict[str, np.ndarray]:
    return {m: getattr(record, m) for m in sorted(encoders)}


def _feature_passthrough(encoders: dict[str, keras.Model]) -> dict[str, keras.Model]:
    """Identity "encoders" taking each encoder's features, to fit a classifier on them."""
    passthrough = {}
    for modality, encoder in encoders.items():
        inputs = keras.Input(encoder.output_shape[1:], name=modality)
        passthrough[modality] = keras.Model(
            inputs, keras.layers.Identity(name="identity")(inputs), name=f"{modality}_features")
    return passthrough


def monitor_of(rule: str, has_val: bool) -> tuple[str, str]:
    """(metric, mode) that picks a classifier stage's checkpoint and drives its plateau
    schedule, for a resolved checkpoint rule (`checkpoint_rule`): the training loss without a
    validation split or with rule `last` (the last epoch is tested: a fixed number of epochs,
    no choice on validation)."""
    if not has_val or rule == "last":
        return "loss", "min"
    return rule, "max" if rule == "val_accuracy" else "min"


def finetune(ctx: RunContext, encoders: dict[str, keras.Model], stage: str = "finetune",
             trainable_encoders: bool | None = None, augment: bool | None = None,
             on_features: bool | None = None) -> ClassifierModel:
    """Fit encoders + classifier on the labelled training split; test the checkpoint that
    `finetune.monitor` picks (`checkpoint_rule`: by default the last epoch; `auto` resolves
    by `trainable_encoders`, the lowest validation loss on frozen encoders).

    `trainable_encoders` and `augment` default to the config's `finetune` section. Frozen
    encoders without augmentation (linear / MLP evaluation, the paper's protocol) always give
    the same features: they are computed once and the classifier is fitted on them alone,
    which gives the same model as running the encoders every step, several times faster.
    `on_features=False` forces running the encoders (for checks); True raises ValueError unless
    the encoders are frozen in inference mode and augmentation is off. The tested checkpoint
    (epoch and logs) is recorded in `<stage>.done`.
    """
    config, splits, run_dir = ctx.config, ctx.splits, ctx.run_dir
    section = config.finetune
    trainable = section.trainable_encoders if trainable_encoders is None else trainable_encoders
    augment = section.augment if augment is None else augment
    train_mode = not trainable and section.frozen_encoder_mode == "train"
    fixed_features = not trainable and not augment and not train_mode
    if on_features and not fixed_features:
        raise ValueError("on_features needs frozen encoders in inference mode and no "
                         "augmentation")
    on_features = fixed_features if on_features is None else on_features
    timer = StageTimer(run_dir, stage)  # The stage's time includes computing the features.
    if (not trainable and not train_mode
            and section.batch_norm_statistics == "training_windows"):
        for modality, encoder in encoders.items():
            reestimate_batch_norm(encoder, getattr(splits.pretrain, modality))
    with ctx.strategy.scope():
        classifier = builders.build_classifier(config, encoders, splits.train.num_classes)
        model = ClassifierModel(encoders, classifier, trainable_encoders=trainable,
                                frozen_encoders_train_mode=train_mode)
        # `fitted` shares `classifier` with `model`: training it trains the model's classifier.
        fitted = model if not on_features else ClassifierModel(
            _feature_passthrough(encoders), classifier, trainable_encoders=False)
        fitted.compile(optimizer=keras.optimizers.Adam(section.learning_rate),
                       jit_compile=config.runtime.jit_compile)
    inputs = _encoded if on_features else _windows
    augmenters = (builders.build_augmenters(config, tuple(sorted(encoders)), splits.train)
                  if augment else None)
    train = labeled_dataset(inputs(encoders, splits.train), splits.train.labels,
                            section.batch_size, seed=config.runtime.seed, shuffle=True,
                            augmenters=augmenters)
    with ctx.strategy.scope():
        build_on(fitted, train, lambda batch: batch[0])
    val = None if splits.val is None else labeled_dataset(
        inputs(encoders, splits.val), splits.val.labels, section.batch_size)
    rule = checkpoint_rule(section.monitor, trainable)
    monitor, mode = monitor_of(rule, val is not None)
    best = run_dir.checkpoints / f"{stage}_best.weights.h5"
    best_record = run_dir.checkpoints / f"{stage}_best.json"
    history = None
    if run_dir.stage_record(stage) is None:
        # Fitting on features takes seconds, less than backing it up every epoch did (60% of
        # its time). Without a backup an interrupted stage starts again from scratch.
        backup = not on_features and config.runtime.backup
        if not backup:
            best.unlink(missing_ok=True)
            best_record.unlink(missing_ok=True)
        checkpoint = TrackedCheckpoint(best, best_record, monitor, mode,
                                       keep_last=rule == "last")
        callbacks = stage_callbacks(run_dir, stage, monitor, mode, section.lr_patience,
                                    section.lr_factor, backup, timer, checkpoint)
        history = fit_epochs(fitted, train, section.epochs, validation_data=val,
                             verbose=config.runtime.verbose, callbacks=callbacks)
        run_dir.finish_stage(stage, monitor=monitor, tested=read_json(best_record))
    if best.is_file():
        if not fitted.optimizer.built:  # A finished stage, resumed: the file holds its state.
            with ctx.strategy.scope():
                fitted.optimizer.build(fitted.trainable_variables)
        fitted.load_weights(best)
    _report(stage, history, timer.flush(),
            ("; last epoch tested" if rule == "last"
             else f"; best {monitor} checkpoint used" if best.is_file() else "")
            + ("; classifier fitted on the frozen encoders' features" if on_features else ""))
    return model


def train_supervised(ctx: RunContext) -> ClassifierModel:
    """Encoders trained from scratch with the classifier on the labels (stage "supervised")."""
    with ctx.strategy.scope():
        encoders = {m: builders.build_encoder(ctx.config, m, ctx.splits.train)
                    for m in ctx.config.data.modalities}
    return finetune(ctx, encoders, stage="supervised", trainable_encoders=True)


def evaluate(model: ClassifierModel, record: Record, batch_size: int = 256) -> dict:
    """Accuracy, macro F1, per-class F1 and confusion matrix of `model` on `record`."""
    modalities = tuple(sorted(model.modalities))
    dataset = labeled_dataset({m: getattr(record, m) for m in modalities}, record.labels,
                              batch_size)
    logits = model.predict(dataset.map(lambda x, y: x), verbose=0)
    return classification_metrics(record.labels, np.argmax(logits, axis=-1), record.class_names)


def load_given_encoders(ctx: RunContext) -> dict[str, keras.Model]:
    """Encoders given in `finetune.encoders` (checked against the data's shapes)."""
    encoders = {}
    for modality, path in ctx.config.finetune.encoders.items():
        with ctx.strategy.scope():
            encoder = keras.models.load_model(path)
        builders.check_encoder_input(encoder, modality, ctx.splits.train, path)
        encoders[modality] = encoder
    return encoders


def run_method(ctx: RunContext) -> dict:
    """Run the config's method end to end (pre-train, fine-tune, save the final model, test);
    returns the test metrics with the tested checkpoint's epoch and validation metrics."""
    if ctx.config.method == "supervised":
        stage, model = "supervised", train_supervised(ctx)
    else:
        stage = "finetune"
        encoders = pretrain(ctx, load_given_encoders(ctx))
        model = finetune(ctx, {m: encoders[m] for m in classifier_modalities(ctx.config)},
                         stage)
    for modality, encoder in model.encoders.items():
        save_model(encoder, ctx.run_dir.model_path(f"{modality}_encoder"))
    save_model(model.classifier, ctx.run_dir.model_path("classifier"))
    ctx.trained_encoders = dict(model.encoders)
    timer = StageTimer(ctx.run_dir, "test")
    metrics = evaluate(model, ctx.splits.test, ctx.config.finetune.batch_size)
    timer.flush()
    tested = (ctx.run_dir.stage_record(stage) or {}).get("tested")
    if tested:
        metrics["checkpoint_epoch"] = int(tested["epoch"])
        for key in ("val_accuracy", "val_loss"):
            if key in tested:
                metrics[key] = float(tested[key])
    return metrics
