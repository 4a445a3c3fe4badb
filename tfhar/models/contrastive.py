"""The contrastive base model: one train/test step, loss scaling and metric trackers.

SimCLR and CMC (and later methods) subclass `ContrastiveModel` and only say how a batch becomes
a loss (`views_loss`); the classifier shares `gradient_step`. Both follow the keras-io SimCLR
example: `fit()` with an overridden `train_step` and the metric trackers spelled out.
"""

from collections.abc import Callable, Mapping

import keras
import tensorflow as tf

from tfhar.models.losses import contrastive_accuracy, scale_for_replicas
from tfhar.validation import check_positive


def gradient_step(optimizer: keras.optimizers.Optimizer, compute_loss: Callable[[], tuple],
                  variables: list) -> tuple:
    """One optimizer step on the first value `compute_loss()` returns; returns all its values.

    The loss is divided by the number of replicas (gradients are summed across them, see
    `tfhar.models.losses`) and scaled by the optimizer for mixed precision (a no-op unless it is
    a `LossScaleOptimizer`, as `compile` makes under mixed_float16), inside the tape.
    """
    with tf.GradientTape() as tape:
        outputs = compute_loss()
        scaled_loss = optimizer.scale_loss(scale_for_replicas(outputs[0]))
    optimizer.apply(tape.gradient(scaled_loss, variables), variables)
    return outputs


def unpack_pair(data) -> tuple[tf.Tensor, tf.Tensor]:
    """Two batches from what `fit` passes to a step: (a, b), ((a, b),) or ((a, b), None, None)."""
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    if y is None and isinstance(x, list | tuple) and len(x) == 2:
        return x[0], x[1]
    if y is None or isinstance(x, list | tuple):
        raise ValueError(f"expected a pair of batches (view_a, view_b), got {data!r}")
    return x, y


def mark_built(model: keras.Model, parts: Mapping[str, keras.Layer]) -> None:
    """Mark a subclassed model built when every part it calls is built.

    A subclassed model whose step only calls its parts is otherwise "not built" until it is
    called, and Keras refuses to load weights into it (keras-tuner reloads trial checkpoints).
    """
    if all(getattr(part, "built", False) for part in parts.values()):
        model.built = True


class ContrastiveModel(keras.Model):
    """Base of the contrastive pre-training models.

    A subclass names its parts (encoders, projection heads: `keras.Model`s) in `PARTS`, passes
    them to this constructor and implements `views_loss(data, training) -> (loss, z_a, z_b)`:
    the float32 scalar loss of a batch and the two (B, P) projections whose agreement the `acc`
    metric measures (top-1 among the candidates of the loss: with `intra_view_negatives`, all
    2B - 1 other views).
    Metrics: `loss` and `acc`. Raises ValueError for a temperature that is not positive.
    """

    PARTS: tuple[str, ...] = ()
    intra_view_negatives = False

    def __init__(self, temperature: float, parts: Mapping[str, keras.Model], **kwargs):
        super().__init__(**kwargs)
        if tuple(parts) != self.PARTS:
            raise ValueError(f"{type(self).__name__} takes parts {self.PARTS}, got {tuple(parts)}")
        for name, part in parts.items():
            setattr(self, name, part)
        self.temperature = check_positive("temperature", temperature)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="acc")
        mark_built(self, parts)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.accuracy_tracker]

    def views_loss(self, data, training: bool) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        raise NotImplementedError

    def _update_metrics(self, loss, z_a, z_b) -> dict[str, tf.Tensor]:
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(
            contrastive_accuracy(z_a, z_b, intra_view_negatives=self.intra_view_negatives)
        )
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        outputs = gradient_step(self.optimizer, lambda: self.views_loss(data, training=True),
                                self.trainable_variables)
        return self._update_metrics(*outputs)

    def test_step(self, data):
        return self._update_metrics(*self.views_loss(data, training=False))

    def get_config(self):
        return {
            **super().get_config(),
            **{name: keras.saving.serialize_keras_object(getattr(self, name))
               for name in self.PARTS},
            "temperature": self.temperature,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls.PARTS:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
