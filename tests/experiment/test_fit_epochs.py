"""fit_epochs: every epoch one whole pass over the dataset, with one iterator for the stage."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfhar.experiment.stages import fit_epochs


class StepCounter(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.steps = []

    def on_epoch_begin(self, epoch, logs=None):
        self.steps.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps[-1] += 1


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _dataset() -> tf.data.Dataset:
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    return tf.data.Dataset.from_tensor_slices((x, x[:, :2])).shuffle(
        10, seed=0, reshuffle_each_iteration=True).batch(4, drop_remainder=True)


def test_each_epoch_is_one_pass_of_a_finite_dataset():
    counter = StepCounter()
    history = fit_epochs(_model(), _dataset(), 3, verbose=0, callbacks=[counter])
    assert counter.steps == [2, 2, 2]  # 10 windows, batches of 4, the remainder dropped.
    assert len(history.history["loss"]) == 3


def test_a_dataset_of_unknown_length_is_fitted_as_it_is():
    unknown = _dataset().filter(lambda x, y: True)
    assert int(unknown.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    counter = StepCounter()
    fit_epochs(_model(), unknown, 2, verbose=0, callbacks=[counter])
    assert counter.steps == [2, 2]


def test_validation_runs_every_epoch():
    history = fit_epochs(_model(), _dataset(), 2, verbose=0, validation_data=_dataset())
    assert len(history.history["val_loss"]) == 2


def test_an_infinite_dataset_is_refused():
    with pytest.raises(ValueError, match="finite dataset"):
        fit_epochs(_model(), _dataset().repeat(), 1, verbose=0)


def test_without_one_iterator_the_dataset_is_fitted_as_it_is():
    counter = StepCounter()
    fit_epochs(_model(), _dataset(), 2, one_iterator=False, verbose=0, callbacks=[counter])
    assert counter.steps == [2, 2]
