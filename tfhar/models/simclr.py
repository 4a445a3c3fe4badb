"""SimCLR pre-training of one modality's encoder (Chen et al. 2020; the paper, Section 3)."""

import keras
import tensorflow as tf

from tfhar.models.contrastive import ContrastiveModel, unpack_pair
from tfhar.models.losses import nt_xent


@keras.saving.register_keras_serializable(package="tfhar")
class SimCLRModel(ContrastiveModel):
    """Encoder + projection head trained with NT-Xent on two augmented views of each sample.

    `fit` data: batches (view_a, view_b), each (B, ...) inputs of `encoder`. Both views go
    through the encoder in one (2B, ...) batch, as in the authors' code, so BatchNorm sees
    2B samples. `call` maps (B, ...) inputs to (B, projection_dim) projections. Metrics:
    `loss` (NT-Xent) and `acc` (contrastive top-1 accuracy among the 2B - 1 candidates).
    """

    PARTS = ("encoder", "projection_head")
    intra_view_negatives = True

    def __init__(
        self, encoder: keras.Model, projection_head: keras.Model, temperature: float, **kwargs
    ):
        super().__init__(
            temperature, {"encoder": encoder, "projection_head": projection_head}, **kwargs
        )

    def call(self, inputs, training=False):
        return self.projection_head(self.encoder(inputs, training=training), training=training)

    def views_loss(self, data, training: bool):
        view_a, view_b = unpack_pair(data)
        batch_size = tf.shape(view_a)[0]
        z = self(tf.concat([view_a, view_b], 0), training=training)
        z_a, z_b = z[:batch_size], z[batch_size:]
        return nt_xent(z_a, z_b, self.temperature), z_a, z_b
