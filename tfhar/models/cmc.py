"""Contrastive multiview coding (Tian et al. 2020) between inertial and skeleton views."""

from collections.abc import Mapping

import keras
import tensorflow as tf

from tfhar.models.losses import cmc_loss, contrastive_accuracy, scale_for_replicas
from tfhar.models.simclr import check_temperature, unpack_pair

MODALITIES = ("inertial", "skeleton")


def unpack_modalities(data) -> tuple[tf.Tensor, tf.Tensor]:
    """(inertial, skeleton) batches from a pair or a dict with both keys (other keys ignored)."""
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    if isinstance(x, Mapping):
        missing = [key for key in MODALITIES if key not in x]
        if missing:
            raise ValueError(f"CMC batch dict lacks {missing}; got keys {sorted(x)}")
        return x["inertial"], x["skeleton"]
    return unpack_pair(data)


@keras.saving.register_keras_serializable(package="tfhar")
class CMCModel(keras.Model):
    """Two encoders + projection heads trained with the cross-modal loss `cmc_loss`.

    `fit` data: (inertial_batch, skeleton_batch) or {"inertial": ..., "skeleton": ...}, one
    augmented view per modality. `call` returns {"inertial": (B, P), "skeleton": (B, P)}
    projections. Metrics: `loss` and `acc` (cross-modal top-1 accuracy, both directions).
    """

    def __init__(
        self,
        inertial_encoder: keras.Model,
        skeleton_encoder: keras.Model,
        inertial_head: keras.Model,
        skeleton_head: keras.Model,
        temperature: float,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.inertial_encoder, self.skeleton_encoder = inertial_encoder, skeleton_encoder
        self.inertial_head, self.skeleton_head = inertial_head, skeleton_head
        self.temperature = check_temperature(temperature)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="acc")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, inputs, training=False):
        inertial, skeleton = unpack_modalities(inputs)
        features = self.inertial_encoder(inertial, training=training)
        z_inertial = self.inertial_head(features, training=training)
        features = self.skeleton_encoder(skeleton, training=training)
        return {"inertial": z_inertial, "skeleton": self.skeleton_head(features, training=training)}

    def _loss_and_projections(self, data, training: bool):
        z = self(unpack_modalities(data), training=training)
        return cmc_loss(z["inertial"], z["skeleton"], self.temperature), z

    def _update_metrics(self, loss, z) -> dict[str, tf.Tensor]:
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(contrastive_accuracy(z["inertial"], z["skeleton"]))
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss, z = self._loss_and_projections(data, training=True)
            scaled_loss = self.optimizer.scale_loss(scale_for_replicas(loss))
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(scaled_loss, variables), variables)
        return self._update_metrics(loss, z)

    def test_step(self, data):
        return self._update_metrics(*self._loss_and_projections(data, training=False))

    def get_config(self):
        parts = ("inertial_encoder", "skeleton_encoder", "inertial_head", "skeleton_head")
        return {
            **super().get_config(),
            **{part: keras.saving.serialize_keras_object(getattr(self, part)) for part in parts},
            "temperature": self.temperature,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("inertial_encoder", "skeleton_encoder", "inertial_head", "skeleton_head"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
