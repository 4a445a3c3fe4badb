"""SimCLRModel: a step trains every part, steps lower the loss, metrics, save round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfhar.models.heads import build_projection_head
from tfhar.models.losses import nt_xent
from tfhar.models.simclr import SimCLRModel


@pytest.fixture
def simclr(tiny_inertial_encoder) -> SimCLRModel:
    model = SimCLRModel(tiny_inertial_encoder(), build_projection_head(8, 16, 8), temperature=0.5)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    return model


@pytest.fixture
def views(inertial_batch) -> tuple[np.ndarray, np.ndarray]:
    noise = np.random.default_rng(3).normal(0.0, 0.3, inertial_batch.shape).astype("float32")
    return inertial_batch, inertial_batch + noise


def test_one_step_changes_encoder_and_head_weights(simclr, views, changed):
    before = [model.get_weights() for model in (simclr.encoder, simclr.projection_head)]
    simclr.train_on_batch(views)
    for model, weights in zip((simclr.encoder, simclr.projection_head), before, strict=True):
        moved = changed(weights, model.get_weights())
        assert all(moved[i] for i, w in enumerate(model.weights) if w.trainable)


def test_steps_lower_the_loss_on_a_fixed_batch(simclr, views):
    losses = [simclr.train_on_batch(views, return_dict=True)["loss"] for _ in range(8)]
    assert losses[-1] < 0.8 * losses[0]


def test_step_reports_nt_xent_of_the_training_forward_pass(simclr, views):
    """The loss metric is NT-Xent of the projections (both views encoded in one batch)."""
    z = simclr(np.concatenate(views), training=True)  # Dropout is 0: same as the step's pass.
    expected = float(nt_xent(z[:8], z[8:], 0.5))
    logs = simclr.train_on_batch(views, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    assert 0.0 <= logs["acc"] <= 1.0


def test_fit_and_evaluate_track_loss_and_acc(simclr, views):
    history = simclr.fit(
        tf.data.Dataset.from_tensor_slices(views).batch(4), epochs=2, shuffle=False, verbose=0
    ).history
    assert sorted(history) == ["acc", "loss"] and len(history["loss"]) == 2
    logs = simclr.evaluate(views[0], views[1], batch_size=8, verbose=0, return_dict=True)
    assert sorted(logs) == ["acc", "loss"] and np.isfinite(logs["loss"])


def test_graph_mode_fit_trains(tiny_inertial_encoder, views):
    model = SimCLRModel(tiny_inertial_encoder(), build_projection_head(8, 16, 8), temperature=0.5)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    dataset = tf.data.Dataset.from_tensor_slices(views).batch(8)
    history = model.fit(dataset, epochs=6, shuffle=False, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]


def test_save_and_reload_gives_the_same_projections(simclr, views, tmp_path):
    simclr.train_on_batch(views)
    simclr.save(tmp_path / "simclr.keras")
    restored = keras.saving.load_model(tmp_path / "simclr.keras")
    assert isinstance(restored, SimCLRModel) and restored.temperature == 0.5
    np.testing.assert_allclose(
        restored.predict(views[0], verbose=0),
        simclr.predict(views[0], verbose=0),
        rtol=1e-6,
        atol=1e-6,
    )


@pytest.mark.parametrize("temperature", [0, -1.0, "0.1"])
def test_rejects_bad_temperature(tiny_inertial_encoder, temperature):
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        SimCLRModel(tiny_inertial_encoder(), build_projection_head(8), temperature)


def test_rejects_a_batch_that_is_not_a_pair(simclr, views):
    with pytest.raises(ValueError, match="expected a pair of batches"):
        simclr.train_on_batch(views[0])
