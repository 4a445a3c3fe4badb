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


def build_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy every model is built and trained under."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def pretrain_settings(config: Config, modality: str) -> tuple[int, float, int]:
    """(batch size, temperature, epochs) of SimCLR for `modality`: per-modality overrides of
    the `pretrain` section where given."""
    override = getattr(config.pretrain, modality)
    return (override.batch_size or config.pretrain.batch_size,
            override.temperature or config.pretrain.temperature,
            config.pretrain.epochs if override.epochs is None else override.epochs)


def build_encoder(config: Config, modality: str, record: Record) -> keras.Model:
    """A fresh encoder for `modality`, shaped for the record's windows."""
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
    return build_projection_head(feature_dim(encoder), config.model.projection_hidden_dim,
                                 config.model.projection_dim, name=name)


def build_classifier(config: Config, encoders: dict[str, keras.Model], num_classes: int
                     ) -> keras.Model:
    """The classifier over encoder features: the fusion classifier for several modalities, else
    an MLP; `model.classifier: linear` leaves out the hidden layers (after the fusion)."""
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
