"""SimCLR pre-training of one modality's encoder (Chen et al. 2020; the paper, Section 3)."""

import keras
import tensorflow as tf

from tfhar.models.losses import contrastive_accuracy, nt_xent, scale_for_replicas


def unpack_pair(data) -> tuple[tf.Tensor, tf.Tensor]:
    """Two batches from what `fit` passes to a step: (a, b), ((a, b),) or ((a, b), None, None)."""
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    if y is None and isinstance(x, list | tuple) and len(x) == 2:
        return x[0], x[1]
    if y is None or isinstance(x, list | tuple):
        raise ValueError(f"expected a pair of batches (view_a, view_b), got {data!r}")
    return x, y


def check_temperature(temperature: float) -> float:
    """The temperature as a float; ValueError unless it is positive."""
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or (not temperature > 0)
    ):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    return float(temperature)


@keras.saving.register_keras_serializable(package="tfhar")
class SimCLRModel(keras.Model):
    """Encoder + projection head trained with NT-Xent on two augmented views of each sample.

    `fit` data: batches (view_a, view_b), each (B, ...) inputs of `encoder`. Both views go
    through the encoder in one (2B, ...) batch, as in the authors' code, so BatchNorm sees
    2B samples. `call` maps (B, ...) inputs to (B, projection_dim) projections. Metrics:
    `loss` (NT-Xent) and `acc` (contrastive top-1 accuracy among the 2B - 1 candidates).
    """

    def __init__(
        self, encoder: keras.Model, projection_head: keras.Model, temperature: float, **kwargs
    ):
        super().__init__(**kwargs)
        self.encoder, self.projection_head = encoder, projection_head
        self.temperature = check_temperature(temperature)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="acc")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, inputs, training=False):
        return self.projection_head(self.encoder(inputs, training=training), training=training)

    def _loss_and_projections(self, data, training: bool):
        view_a, view_b = unpack_pair(data)
        batch_size = tf.shape(view_a)[0]
        z = self(tf.concat([view_a, view_b], 0), training=training)
        z_a, z_b = z[:batch_size], z[batch_size:]
        return nt_xent(z_a, z_b, self.temperature), z_a, z_b

    def _update_metrics(self, loss, z_a, z_b) -> dict[str, tf.Tensor]:
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(
            contrastive_accuracy(z_a, z_b, intra_view_negatives=True)
        )
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss, z_a, z_b = self._loss_and_projections(data, training=True)
            scaled_loss = self.optimizer.scale_loss(scale_for_replicas(loss))
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(scaled_loss, variables), variables)
        return self._update_metrics(loss, z_a, z_b)

    def test_step(self, data):
        return self._update_metrics(*self._loss_and_projections(data, training=False))

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "projection_head": keras.saving.serialize_keras_object(self.projection_head),
            "temperature": self.temperature,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "projection_head"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
