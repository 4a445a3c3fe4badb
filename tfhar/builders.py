"""Config -> building blocks: the one place that turns config sections into plain arguments.

The models and augmentations take plain arguments; the CLIs read configs. This module is the
bridge between them, shared by the training stages, `tfhar.export` and `tfhar.tune`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfhar.augment import build_augmenter
from tfhar.config import Config
from tfhar.data import Record
from tfhar.models import (
    build_cnn_transformer_encoder,
    build_fusion_classifier,
    build_hcn_encoder,
    build_linear_classifier,
    build_mlp_classifier,
    build_projection_head,
)
from tfhar.models.layers.batch_norm import synchronize_batch_norm


class _MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy that accepts the two reductions Keras 3's `fit` asks of it.

    With several workers (TF 2.21, Keras 3.15), `fit` fails twice in `strategy.reduce`: on the
    first batch, a nested structure (`_maybe_symbolic_build`: "Attempt to convert a value
    (PerReplica...) with an unsupported type"), then on every step's scalar metrics, reduced
    with axis=0 ("Invalid reduction dimension 0 for input with 0 dimensions",
    tensorflow/tensorflow#72388; keras-team/keras#20585). Here each leaf is reduced alone and
    a scalar across replicas only, which is what both callers mean.
    """

    def reduce(self, reduce_op, value, axis):
        reduce = super().reduce

        def one(leaf):
            sample = leaf.values[0] if isinstance(leaf, tf.distribute.DistributedValues) else leaf
            rank = tf.TensorShape(getattr(sample, "shape", ())).rank
            return reduce(reduce_op, leaf, None if rank == 0 else axis)

        return tf.nest.map_structure(one, value)


def build_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy every model is built and trained under: `default` (one
    device), `mirrored` (the devices of this machine) or `multi_worker` (the cluster of the
    TF_CONFIG environment variable, as TensorFlow documents; one worker without it)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return _MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def worker_position(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """(this worker's index, the number of workers) `strategy` spans: (0, 1) but under a
    multi-worker strategy; the chief is index 0."""
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec() if resolver is not None else None
    if spec is None or not spec.as_dict():
        return 0, 1
    count = sum(spec.num_tasks(job) for job in ("chief", "worker") if job in spec.jobs)
    if resolver.task_type == "chief":
        return 0, count
    return int(resolver.task_id) + (1 if "chief" in spec.jobs else 0), count


def pretrain_settings(config: Config, modality: str) -> tuple[int, float, int]:
    """(batch size, temperature, epochs) of SimCLR for `modality`: per-modality overrides of
    the `pretrain` section where given."""
    override = getattr(config.pretrain, modality)
    return (override.batch_size or config.pretrain.batch_size,
            override.temperature or config.pretrain.temperature,
            config.pretrain.epochs if override.epochs is None else override.epochs)


def _batch_norm_of(config: Config, model: keras.Model) -> keras.Model:
    """`model` with its BatchNorm layers synchronized across replicas if the config says so."""
    return synchronize_batch_norm(model, config.model.sync_batchnorm)


def build_encoder(config: Config, modality: str, record: Record) -> keras.Model:
    """A fresh encoder for `modality`, shaped for the record's windows."""
    return _batch_norm_of(config, _build_encoder(config, modality, record))


def _build_encoder(config: Config, modality: str, record: Record) -> keras.Model:
    if modality == "inertial":
        section = config.model.inertial
        _, window_length, num_channels = record.inertial.shape
        return build_cnn_transformer_encoder(
            window_length=window_length, num_channels=num_channels, filters=section.filters,
            kernel_size=section.kernel_size, num_heads=section.num_heads,
            num_layers=section.num_layers, feedforward_dim=section.feedforward_dim,
            dropout=section.dropout, reduction=section.reduction)
    _, window_length, num_joints, num_coords = record.skeleton.shape
    return build_hcn_encoder(
        window_length=window_length, num_joints=num_joints, num_coords=num_coords,
        output_dim=config.model.skeleton.output_dim)


def feature_dim(encoder: keras.Model) -> int:
    return int(encoder.output_shape[-1])


def build_projection(config: Config, encoder: keras.Model, name: str) -> keras.Model:
    return _batch_norm_of(config, build_projection_head(
        feature_dim(encoder), config.model.projection_hidden_dim, config.model.projection_dim,
        name=name))


def build_classifier(config: Config, encoders: dict[str, keras.Model], num_classes: int
                     ) -> keras.Model:
    """The classifier over encoder features: the fusion classifier for several modalities, else
    an MLP; `model.classifier: linear` leaves out the hidden layers (after the fusion)."""
    return _batch_norm_of(config, _build_classifier(config, encoders, num_classes))


def _build_classifier(config: Config, encoders: dict[str, keras.Model], num_classes: int
                      ) -> keras.Model:
    hidden_dims = () if config.model.classifier == "linear" else config.model.classifier_hidden_dims
    if len(encoders) > 1:
        return build_fusion_classifier(
            {m: feature_dim(e) for m, e in encoders.items()}, num_classes,
            hidden_dim=config.model.fusion_hidden_dim, classifier_hidden_dims=hidden_dims)
    (encoder,) = encoders.values()
    if config.model.classifier == "linear":
        return build_linear_classifier(feature_dim(encoder), num_classes)
    return build_mlp_classifier(feature_dim(encoder), num_classes,
                                hidden_dims=config.model.classifier_hidden_dims)


def build_augmenters(config: Config, modalities: tuple[str, ...], record: Record | None = None
                     ) -> dict:
    """{modality: augmenter} from the config's augment section (identity when empty or
    `none`). With a `record` that has `channel_groups` (a folder dataset's `sensors`), the
    inertial `flip_rotate` and `rotate_3d` turn those channel groups; otherwise consecutive
    triads of channels, as before."""
    specs = {m: getattr(config.augment, m) for m in modalities}
    groups = record.channel_groups if record is not None and record.channel_groups else None
    return {m: build_augmenter(m, {} if spec == "none" else spec,
                               channel_groups=groups if m == "inertial" else None)
            for m, spec in specs.items()}


def check_encoder_input(encoder: keras.Model, modality: str, record: Record, path: str) -> None:
    """Refuse an encoder file whose input shape does not fit the data."""
    expected = tuple(getattr(record, modality).shape[1:])
    got = tuple(encoder.input_shape[1:])
    if got != expected:
        raise ValueError(
            f"encoder {path!r} takes {modality} windows shaped {got}, the data has {expected}")
