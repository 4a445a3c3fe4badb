"""The training recipes: pre-train (SimCLR, CMC), fine-tune or train supervised, then test.

Each stage is resumable: finished stages leave their product in the run directory (encoders,
the best classifier weights) and are skipped when the run is started again; an interrupted
stage resumes from its last completed epoch through `keras.callbacks.BackupAndRestore`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfhar import builders
from tfhar.config import Config
from tfhar.data import Record
from tfhar.evaluate import classification_metrics
from tfhar.input import cmc_dataset, labeled_dataset, simclr_dataset
from tfhar.models import ClassifierModel, CMCModel, SimCLRModel


@dataclass
class Splits:
    train: Record  # The labelled training windows (a fraction of them when semi-supervised).
    val: Record | None
    test: Record
    unlabeled: Record | None = None  # Every training window, for pre-training (default: train).

    @property
    def pretrain(self) -> Record:
        """The windows pre-training sees (without their labels)."""
        return self.train if self.unlabeled is None else self.unlabeled


@dataclass
class RunContext:
    config: Config
    run_dir: Path
    splits: Splits
    strategy: tf.distribute.Strategy
    stage_times: dict[str, float] = field(default_factory=dict)
    stage_summaries: list[str] = field(default_factory=list)
    # The final model's encoders, once trained: the t-SNE maps use them without reloading.
    trained_encoders: dict[str, keras.Model] = field(default_factory=dict)


def atomic_save_model(model: keras.Model, path: Path) -> None:
    """Save a .keras file through a temporary name so a crash never leaves half a file."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def build_on(model: keras.Model, dataset: tf.data.Dataset, inputs_of=lambda batch: batch
             ) -> None:
    """Build a subclassed model by calling it on zeros shaped like one batch of `dataset`.

    BackupAndRestore needs a built model to restore into before `fit` starts. A compiled
    model's optimizer is built too: were its variables made in the first training step,
    `tf.function` would trace that step twice (once more after creating variables), and
    tracing is most of a short run's time.
    """
    zeros = tf.nest.map_structure(lambda s: tf.zeros([2] + s.shape[1:], s.dtype),
                                  dataset.element_spec)
    model(inputs_of(zeros), training=False)
    if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _callbacks(ctx: RunContext, stage: str, monitor: str, mode: str, patience: int,
               factor: float, backup: bool = True) -> list[keras.callbacks.Callback]:
    """Plateau schedule, CSV and TensorBoard logs; with `backup` (and `runtime.backup`), a
    per-epoch backup that an interrupted stage resumes from (first in the list, so it restores
    before the others). Without it an interrupted stage starts again: its logged epochs go."""
    backup = backup and ctx.config.runtime.backup
    if not backup:
        (ctx.run_dir / "logs" / f"history_{stage}.csv").unlink(missing_ok=True)
    return [
        *([keras.callbacks.BackupAndRestore(str(ctx.run_dir / "checkpoints" / stage),
                                            double_checkpoint=True)] if backup else []),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=factor,
                                          patience=patience, verbose=0),
        keras.callbacks.CSVLogger(str(ctx.run_dir / "logs" / f"history_{stage}.csv"),
                                  append=True),
        keras.callbacks.TensorBoard(str(ctx.run_dir / "logs" / stage), write_graph=False),
    ]


def _summarize(ctx: RunContext, stage: str, history: keras.callbacks.History | None,
               seconds: float, extra: str = "") -> None:
    last = {}
    if history is not None and history.history:
        last = {k: v[-1] for k, v in history.history.items()}
    shown = ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k != "learning_rate")
    line = f"[{stage}] {seconds:.1f} s" + (f"; last epoch: {shown}" if shown else "") + extra
    ctx.stage_times[stage] = ctx.stage_times.get(stage, 0.0) + seconds
    ctx.stage_summaries.append(line)
    print(line, flush=True)


def _pretrain_settings(config: Config, modality: str) -> tuple[int, float, int]:
    override = getattr(config.pretrain, modality)
    return (override.batch_size or config.pretrain.batch_size,
            override.temperature or config.pretrain.temperature,
            config.pretrain.epochs if override.epochs is None else override.epochs)


def pretrain_simclr(ctx: RunContext, modality: str) -> keras.Model:
    """SimCLR on the unlabeled training windows of one modality; returns the encoder."""
    config, stage = ctx.config, f"pretrain_simclr_{modality}"
    path = ctx.run_dir / "encoders" / f"{modality}.keras"
    if path.is_file():
        print(f"[{stage}] done earlier, loading {path}", flush=True)
        return keras.models.load_model(path)
    batch_size, temperature, epochs = _pretrain_settings(config, modality)
    windows = getattr(ctx.splits.pretrain, modality)
    augmenter = builders.build_augmenters(config, (modality,))[modality]
    dataset = simclr_dataset(windows, augmenter, batch_size, seed=config.runtime.seed)
    with ctx.strategy.scope():
        encoder = builders.build_encoder(config, modality, ctx.splits.pretrain)
        head = builders.build_projection(config, encoder, f"{modality}_projection")
        model = SimCLRModel(encoder, head, temperature)
        model.compile(optimizer=keras.optimizers.Adam(config.pretrain.learning_rate),
                      jit_compile=config.runtime.jit_compile)
        build_on(model, dataset, lambda views: views[0])
    start = time.perf_counter()
    history = model.fit(dataset, epochs=epochs, verbose=config.runtime.verbose, shuffle=False,
                        callbacks=_callbacks(ctx, stage, "loss", "min",
                                             config.pretrain.lr_patience,
                                             config.pretrain.lr_factor))
    atomic_save_model(encoder, path)
    _summarize(ctx, stage, history, time.perf_counter() - start)
    return encoder


def pretrain_cmc(ctx: RunContext) -> dict[str, keras.Model]:
    """CMC across modalities on the unlabeled training recordings; returns both encoders."""
    config, stage = ctx.config, "pretrain_cmc"
    paths = {m: ctx.run_dir / "encoders" / f"{m}.keras" for m in ("inertial", "skeleton")}
    if all(p.is_file() for p in paths.values()):
        print(f"[{stage}] done earlier, loading {ctx.run_dir / 'encoders'}", flush=True)
        return {m: keras.models.load_model(p) for m, p in paths.items()}
    train = ctx.splits.pretrain
    augmenters = builders.build_augmenters(config, ("inertial", "skeleton"))
    dataset = cmc_dataset(train.inertial, train.skeleton, augmenters["inertial"],
                          augmenters["skeleton"], config.pretrain.batch_size,
                          seed=config.runtime.seed)
    with ctx.strategy.scope():
        encoders = {m: builders.build_encoder(config, m, train) for m in paths}
        heads = {m: builders.build_projection(config, e, f"{m}_projection")
                 for m, e in encoders.items()}
        model = CMCModel(encoders["inertial"], encoders["skeleton"], heads["inertial"],
                         heads["skeleton"], config.pretrain.temperature)
        model.compile(optimizer=keras.optimizers.Adam(config.pretrain.learning_rate),
                      jit_compile=config.runtime.jit_compile)
        build_on(model, dataset)
    start = time.perf_counter()
    history = model.fit(dataset, epochs=config.pretrain.epochs, verbose=config.runtime.verbose,
                        shuffle=False,
                        callbacks=_callbacks(ctx, stage, "loss", "min",
                                             config.pretrain.lr_patience,
                                             config.pretrain.lr_factor))
    for modality, encoder in encoders.items():
        atomic_save_model(encoder, paths[modality])
    _summarize(ctx, stage, history, time.perf_counter() - start)
    return encoders


def _features(record: Record, modalities: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {m: getattr(record, m) for m in modalities}


def _encoded(encoders: dict[str, keras.Model], record: Record, modalities: tuple[str, ...]
             ) -> dict[str, np.ndarray]:
    """Each modality's windows through its (frozen) encoder in inference mode, as float32."""
    return {m: np.asarray(encoders[m].predict(getattr(record, m), batch_size=256, verbose=0),
                          np.float32) for m in modalities}


def _feature_passthrough(encoders: dict[str, keras.Model]) -> dict[str, keras.Model]:
    """Identity "encoders" taking each encoder's features, to fit a classifier on them."""
    passthrough = {}
    for modality, encoder in encoders.items():
        inputs = keras.Input(encoder.output_shape[1:], name=modality)
        passthrough[modality] = keras.Model(
            inputs, keras.layers.Identity(name="identity")(inputs), name=f"{modality}_features")
    return passthrough


def _best_row(path: Path, monitor: str, mode: str) -> pd.Series | None:
    """The first epoch of a stage's CSV history with the best `monitor` value (the one a
    save-best-only checkpoint holds), if it logged any."""
    try:
        history = pd.read_csv(path).dropna(subset=[monitor])
    except (FileNotFoundError, pd.errors.EmptyDataError, KeyError):
        return None
    if history.empty:
        return None
    return history.loc[history[monitor].idxmax() if mode == "max" else history[monitor].idxmin()]


def _best_logged(path: Path, monitor: str, mode: str) -> float | None:
    """The best `monitor` value in a stage's CSV history, if it logged any."""
    row = _best_row(path, monitor, mode)
    return None if row is None else float(row[monitor])


def _monitor(config: Config, has_val: bool) -> tuple[str, str]:
    """(metric, mode) that picks a classifier stage's checkpoint."""
    if not has_val:
        return "loss", "min"
    monitor = config.finetune.monitor
    return monitor, "max" if monitor == "val_accuracy" else "min"


def train_classifier(ctx: RunContext, stage: str, encoders: dict[str, keras.Model],
                     trainable_encoders: bool, augment: bool, on_features: bool | None = None
                     ) -> ClassifierModel:
    """Fit encoders + classifier on the labelled training split; keep the best-on-validation.

    Frozen encoders without augmentation (linear / MLP evaluation, the paper's protocol) always
    give the same features: they are computed once and the classifier is fitted on them alone,
    which gives the same model as running the encoders every step, several times faster.
    `on_features=False` forces running the encoders (for checks); True is an error unless the
    encoders are frozen and augmentation is off.
    """
    config, splits = ctx.config, ctx.splits
    modalities = tuple(sorted(encoders))
    section = config.finetune
    best = ctx.run_dir / "checkpoints" / f"{stage}_best.weights.h5"
    train_mode = not trainable_encoders and section.frozen_encoder_mode == "train"
    fixed_features = not trainable_encoders and not augment and not train_mode
    if on_features and not fixed_features:
        raise ValueError("on_features needs frozen encoders in inference mode and no "
                         "augmentation")
    on_features = fixed_features if on_features is None else on_features
    start = time.perf_counter()  # The stage's time includes computing the features.
    with ctx.strategy.scope():
        classifier = builders.build_classifier(config, encoders, splits.train.num_classes)
        model = ClassifierModel(encoders, classifier, trainable_encoders=trainable_encoders,
                                frozen_encoders_train_mode=train_mode)
        # `fitted` shares `classifier` with `model`: training it trains the model's classifier.
        fitted = model if not on_features else ClassifierModel(
            _feature_passthrough(encoders), classifier, trainable_encoders=False)
        fitted.compile(optimizer=keras.optimizers.Adam(section.learning_rate),
                       jit_compile=config.runtime.jit_compile)

    def inputs(record: Record) -> dict[str, np.ndarray]:
        if on_features:
            return _encoded(encoders, record, modalities)
        return _features(record, modalities)

    augmenters = builders.build_augmenters(config, modalities) if augment else None
    train = labeled_dataset(inputs(splits.train), splits.train.labels, section.batch_size,
                            seed=config.runtime.seed, shuffle=True, augmenters=augmenters)
    with ctx.strategy.scope():
        build_on(fitted, train, lambda batch: batch[0])
    val = None
    if splits.val is not None:
        val = labeled_dataset(inputs(splits.val), splits.val.labels, section.batch_size)
    monitor, mode = _monitor(config, val is not None)
    done = ctx.run_dir / "checkpoints" / f"{stage}.done"
    # Fitting on features takes seconds, less than backing it up every epoch did (60% of its
    # time). Without a backup an interrupted stage starts again from scratch, as if never
    # started (`_callbacks` drops its logged epochs).
    backup = not on_features and config.runtime.backup
    history = None
    if not done.is_file():
        if not backup:
            best.unlink(missing_ok=True)
        callbacks = _callbacks(ctx, stage, monitor, mode, section.lr_patience,
                               section.lr_factor, backup=backup)
        # Before the CSV logger, so a logged epoch's weights are saved when it is the best; and
        # an interrupted stage keeps the best of the epochs it logged before (none at first).
        logger = next(i for i, c in enumerate(callbacks)
                      if isinstance(c, keras.callbacks.CSVLogger))
        history_csv = ctx.run_dir / "logs" / f"history_{stage}.csv"
        callbacks.insert(logger, keras.callbacks.ModelCheckpoint(
            str(best), monitor=monitor, mode=mode, save_best_only=True, save_weights_only=True,
            initial_value_threshold=_best_logged(history_csv, monitor, mode)
            if best.is_file() else None))
        history = fitted.fit(train, validation_data=val, epochs=section.epochs,
                             verbose=config.runtime.verbose, shuffle=False, callbacks=callbacks)
        done.touch()
    if best.is_file():
        if not fitted.optimizer.built:  # A finished stage, resumed: the file holds its state.
            with ctx.strategy.scope():
                fitted.optimizer.build(fitted.trainable_variables)
        fitted.load_weights(best)
    _summarize(ctx, stage, history, time.perf_counter() - start,
               (f"; best {monitor} checkpoint used" if best.is_file() else "")
               + ("; classifier fitted on the frozen encoders' features" if on_features else ""))
    return model


def evaluate_classifier(ctx: RunContext, model: ClassifierModel, modalities: tuple[str, ...]
                    ) -> dict:
    """Metrics of `model` on the test split."""
    test = ctx.splits.test
    dataset = labeled_dataset(_features(test, modalities), test.labels,
                              ctx.config.finetune.batch_size)
    logits = model.predict(dataset.map(lambda x, y: x), verbose=0)
    return classification_metrics(test.labels, np.argmax(logits, axis=-1), test.class_names)


def merge_histories(run_dir: Path) -> None:
    """logs/history_<stage>.csv files -> history.csv with a `stage` column."""
    frames = []
    for path in sorted((run_dir / "logs").glob("history_*.csv")):
        if path.stat().st_size == 0:  # A stage of 0 epochs (e.g. pretrain.epochs=0).
            continue
        frame = pd.read_csv(path)
        frame.insert(0, "stage", path.stem.removeprefix("history_"))
        frames.append(frame)
    if frames:
        pd.concat(frames, ignore_index=True).to_csv(run_dir / "history.csv", index=False)


def load_encoders(ctx: RunContext) -> dict[str, keras.Model]:
    """Encoders given in `finetune.encoders` (checked against the data's shapes)."""
    encoders = {}
    for modality, path in ctx.config.finetune.encoders.items():
        with ctx.strategy.scope():
            encoder = keras.models.load_model(path)
        builders.check_encoder_input(encoder, modality, ctx.splits.train, path)
        encoders[modality] = encoder
    return encoders


def run_method(ctx: RunContext) -> dict:
    """Run the config's method end to end; returns the test metrics."""
    config = ctx.config
    modalities = config.data.modalities
    given = load_encoders(ctx)
    if config.method == "supervised":
        with ctx.strategy.scope():
            encoders = {m: builders.build_encoder(config, m, ctx.splits.train)
                        for m in modalities}
        stage = "supervised"
        model = train_classifier(ctx, stage, encoders, trainable_encoders=True,
                                 augment=config.finetune.augment)
    else:
        if config.method == "cmc":
            encoders = given if len(given) == 2 else pretrain_cmc(ctx)
        else:
            encoders = {m: given[m] if m in given else pretrain_simclr(ctx, m)
                        for m in modalities}
        stage = "finetune"
        model = train_classifier(ctx, stage, encoders,
                                 trainable_encoders=config.finetune.trainable_encoders,
                                 augment=config.finetune.augment)
    save_trained_model(ctx, model)
    ctx.trained_encoders = dict(model.encoders)
    metrics = evaluate_classifier(ctx, model, tuple(sorted(encoders)))
    # The validation accuracy of the checkpoint tested: what variants are compared on.
    tested = _best_row(ctx.run_dir / "logs" / f"history_{stage}.csv",
                       *_monitor(config, ctx.splits.val is not None))
    if tested is not None:
        metrics["checkpoint_epoch"] = int(tested["epoch"])
        if "val_accuracy" in tested:
            metrics["val_accuracy"] = float(tested["val_accuracy"])
            metrics["val_loss"] = float(tested["val_loss"])
    return metrics


def save_trained_model(ctx: RunContext, model: ClassifierModel) -> None:
    """The final model's parts: model/<modality>_encoder.keras and model/classifier.keras."""
    folder = ctx.run_dir / "model"
    folder.mkdir(exist_ok=True)
    for modality, encoder in model.encoders.items():
        atomic_save_model(encoder, folder / f"{modality}_encoder.keras")
    atomic_save_model(model.classifier, folder / "classifier.keras")


def write_artifacts(ctx: RunContext, metrics: dict) -> None:
    """Per-class F1 table, confusion-matrix plot and (optionally) t-SNE maps of the features."""
    from tfhar.plots import plot_confusion_matrix

    table = pd.DataFrame({"class": list(metrics["per_class_f1"]),
                          "f1": list(metrics["per_class_f1"].values())})
    table.to_csv(ctx.run_dir / "per_class_f1.csv", index=False)
    plot_confusion_matrix(np.array(metrics["confusion_matrix"]), metrics["class_names"],
                          ctx.run_dir / "confusion_matrix.png",
                          title=f"{ctx.config.method}: test accuracy {metrics['accuracy']:.3f}")
    if ctx.config.runtime.embedding_plot:
        from tfhar.embedding import write_embedding_plots

        # The saved encoders: in memory when this process trained them (loading and tracing
        # fresh copies took longer than the t-SNE itself).
        encoders = {m: ctx.trained_encoders[m] if m in ctx.trained_encoders
                    else keras.models.load_model(ctx.run_dir / "model" / f"{m}_encoder.keras")
                    for m in ctx.config.data.modalities}
        write_embedding_plots(encoders, ctx.splits.test, ctx.run_dir, ctx.config.runtime.seed)
