"""Contrastive multiview coding (Tian et al. 2020) between inertial and skeleton views."""

from collections.abc import Mapping

import keras
import tensorflow as tf

from tfhar.models.contrastive import ContrastiveModel, unpack_pair
from tfhar.models.losses import cmc_loss

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
class CMCModel(ContrastiveModel):
    """Two encoders + projection heads trained with the cross-modal loss `cmc_loss`.

    `fit` data: (inertial_batch, skeleton_batch) or {"inertial": ..., "skeleton": ...}, one
    augmented view per modality. `call` returns {"inertial": (B, P), "skeleton": (B, P)}
    projections. Metrics: `loss` and `acc` (cross-modal top-1 accuracy, both directions).
    """

    PARTS = ("inertial_encoder", "skeleton_encoder", "inertial_head", "skeleton_head")

    def __init__(
        self,
        inertial_encoder: keras.Model,
        skeleton_encoder: keras.Model,
        inertial_head: keras.Model,
        skeleton_head: keras.Model,
        temperature: float,
        **kwargs,
    ):
        parts = (inertial_encoder, skeleton_encoder, inertial_head, skeleton_head)
        super().__init__(temperature, dict(zip(self.PARTS, parts, strict=True)), **kwargs)

    def call(self, inputs, training=False):
        inertial, skeleton = unpack_modalities(inputs)
        features = self.inertial_encoder(inertial, training=training)
        z_inertial = self.inertial_head(features, training=training)
        features = self.skeleton_encoder(skeleton, training=training)
        return {"inertial": z_inertial, "skeleton": self.skeleton_head(features, training=training)}

    def views_loss(self, data, training: bool):
        z = self(unpack_modalities(data), training=training)
        z_inertial, z_skeleton = z["inertial"], z["skeleton"]
        return cmc_loss(z_inertial, z_skeleton, self.temperature), z_inertial, z_skeleton
