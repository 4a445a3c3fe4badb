"""Supervised training, linear / MLP evaluation and fine-tuning over (frozen) encoders."""

from collections.abc import Mapping

import keras
import tensorflow as tf

from tfhar.models.contrastive import gradient_step, mark_built


@keras.saving.register_keras_serializable(package="tfhar")
class ClassifierModel(keras.Model):
    """Encoders (one per modality) + a classifier, trained with cross entropy on labels.

    Inputs: {modality: (B, ...)} (a bare tensor is accepted with a single encoder); output:
    float32 logits (B, num_classes). With one modality the classifier takes the (B, F)
    features (e.g. `build_mlp_classifier`), with several a dict {modality: (B, F_m)} (e.g.
    `build_fusion_classifier`). `fit` data: (inputs, integer labels (B,)).

    With `trainable_encoders=False` the encoders are frozen (`trainable = False`) and always
    run in inference mode: BatchNorm statistics are never updated and dropout is off. With
    `frozen_encoders_train_mode=True` as well, their weights stay frozen (only the classifier
    is optimized) but during training they run in training mode: BatchNorm normalizes with
    batch statistics and updates its moving ones, dropout is on (what the authors' PyTorch
    Lightning code ends up doing with its frozen encoders).
    Metrics: `loss` (sparse categorical cross entropy, float32) and `accuracy`.
    """

    def __init__(
        self,
        encoders: Mapping[str, keras.Model],
        classifier: keras.Model,
        trainable_encoders: bool,
        frozen_encoders_train_mode: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(encoders, Mapping) or not encoders:
            raise ValueError(
                f"encoders must be a non-empty dict {{modality: encoder}}, got {encoders!r}"
            )
        if not isinstance(trainable_encoders, bool):
            raise ValueError(
                f"trainable_encoders must be True or False, got {trainable_encoders!r}"
            )
        if not isinstance(frozen_encoders_train_mode, bool) or (
            frozen_encoders_train_mode and trainable_encoders
        ):
            raise ValueError(
                "frozen_encoders_train_mode must be True or False, and True only with "
                f"trainable_encoders=False; got {frozen_encoders_train_mode!r}"
            )
        self.modalities = tuple(encoders)
        self.encoders = dict(encoders)
        self.classifier = classifier
        self.trainable_encoders = trainable_encoders
        self.frozen_encoders_train_mode = frozen_encoders_train_mode
        # Train-mode frozen encoders stay `trainable` (Keras runs the BatchNorm of a
        # non-trainable layer in inference mode); train_step leaves their weights out.
        encoders_trainable = trainable_encoders or frozen_encoders_train_mode
        for encoder in self.encoders.values():
            # Keras' TF backend skips assigning the value a layer already has, which would leave
            # sublayers created later (e.g. at deserialization) as they were: toggle instead.
            encoder.trainable = not encoders_trainable
            encoder.trainable = encoders_trainable
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        mark_built(self, {**self.encoders, "classifier": classifier})

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, inputs, training=False):
        if not isinstance(inputs, Mapping):
            if len(self.modalities) != 1:
                raise ValueError(f"inputs must be a dict with keys {list(self.modalities)}")
            inputs = {self.modalities[0]: inputs}
        missing = [modality for modality in self.modalities if modality not in inputs]
        if missing:
            raise ValueError(f"inputs lack modalities {missing}; got keys {sorted(inputs)}")
        encoder_training = bool(training) and (
            self.trainable_encoders or self.frozen_encoders_train_mode
        )
        features = {
            modality: self.encoders[modality](inputs[modality], training=encoder_training)
            for modality in self.modalities
        }
        if len(self.modalities) == 1:
            features = features[self.modalities[0]]
        return self.classifier(features, training=training)

    def _loss_and_logits(self, data, training: bool):
        x, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if labels is None or sample_weight is not None:
            raise ValueError("ClassifierModel expects (inputs, labels) batches without weights")
        logits = tf.cast(self(x, training=training), tf.float32)
        labels = tf.cast(labels, tf.int32)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
        return loss, labels, logits

    def _update_metrics(self, loss, labels, logits) -> dict[str, tf.Tensor]:
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(labels, logits)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        variables = (
            self.classifier.trainable_variables
            if self.frozen_encoders_train_mode
            else self.trainable_variables
        )
        outputs = gradient_step(
            self.optimizer, lambda: self._loss_and_logits(data, training=True), variables
        )
        return self._update_metrics(*outputs)

    def test_step(self, data):
        return self._update_metrics(*self._loss_and_logits(data, training=False))

    def get_config(self):
        return {
            **super().get_config(),
            "encoders": {
                modality: keras.saving.serialize_keras_object(encoder)
                for modality, encoder in self.encoders.items()
            },
            "classifier": keras.saving.serialize_keras_object(self.classifier),
            "trainable_encoders": self.trainable_encoders,
            "frozen_encoders_train_mode": self.frozen_encoders_train_mode,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoders"] = {
            modality: keras.saving.deserialize_keras_object(encoder)
            for modality, encoder in config["encoders"].items()
        }
        config["classifier"] = keras.saving.deserialize_keras_object(config["classifier"])
        return cls(**config)
