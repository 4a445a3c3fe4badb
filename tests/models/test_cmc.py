"""CMCModel: a step trains all four parts, steps lower the loss, pair and dict batches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfhar.models.cmc import CMCModel
from tfhar.models.heads import build_projection_head
from tfhar.models.losses import cmc_loss

PARTS = ("inertial_encoder", "skeleton_encoder", "inertial_head", "skeleton_head")


@pytest.fixture
def cmc(tiny_inertial_encoder, tiny_skeleton_encoder) -> CMCModel:
    model = CMCModel(
        tiny_inertial_encoder(),
        tiny_skeleton_encoder(),
        build_projection_head(8, 16, 8, name="inertial_head"),
        build_projection_head(16, 16, 8, name="skeleton_head"),
        temperature=0.5,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    return model


def test_one_step_changes_the_weights_of_all_four_parts(
    cmc, inertial_batch, skeleton_batch, changed
):
    before = {part: getattr(cmc, part).get_weights() for part in PARTS}
    cmc.train_on_batch((inertial_batch, skeleton_batch))
    for part in PARTS:
        model = getattr(cmc, part)
        moved = changed(before[part], model.get_weights())
        assert all(moved[i] for i, w in enumerate(model.weights) if w.trainable), part


def test_steps_lower_the_loss_on_a_fixed_batch(cmc, inertial_batch, skeleton_batch):
    batch = {"inertial": inertial_batch, "skeleton": skeleton_batch}
    losses = [cmc.train_on_batch(batch, return_dict=True)["loss"] for _ in range(6)]
    assert losses[-1] < 0.8 * losses[0]


def test_pair_and_dict_batches_give_the_same_evaluation(cmc, inertial_batch, skeleton_batch):
    as_pair = cmc.test_on_batch((inertial_batch, skeleton_batch), return_dict=True)
    as_dict = cmc.test_on_batch(
        {"inertial": inertial_batch, "skeleton": skeleton_batch}, return_dict=True
    )
    assert as_pair == pytest.approx(as_dict)
    z = cmc.predict({"inertial": inertial_batch, "skeleton": skeleton_batch}, verbose=0)
    assert as_pair["loss"] == pytest.approx(
        float(cmc_loss(z["inertial"], z["skeleton"], 0.5)), rel=1e-5
    )


def test_fit_on_a_dict_dataset_tracks_loss_and_acc(cmc, inertial_batch, skeleton_batch):
    dataset = tf.data.Dataset.from_tensor_slices(
        {"inertial": inertial_batch, "skeleton": skeleton_batch, "label": np.arange(8)}
    ).batch(4)
    history = cmc.fit(dataset, epochs=2, shuffle=False, verbose=0).history
    assert sorted(history) == ["acc", "loss"]
    assert all(0.0 <= value <= 1.0 for value in history["acc"])


def test_predict_returns_projections_per_modality(cmc, inertial_batch, skeleton_batch):
    z = cmc.predict((inertial_batch, skeleton_batch), verbose=0)
    assert {name: value.shape for name, value in z.items()} == {
        "inertial": (8, 8),
        "skeleton": (8, 8),
    }


def test_config_round_trip_rebuilds_the_model(cmc, inertial_batch, skeleton_batch):
    restored = CMCModel.from_config(cmc.get_config())
    restored.set_weights(cmc.get_weights())
    assert restored.temperature == 0.5
    batch = (inertial_batch, skeleton_batch)
    expected, actual = cmc.predict(batch, verbose=0), restored.predict(batch, verbose=0)
    for modality in ("inertial", "skeleton"):
        np.testing.assert_allclose(actual[modality], expected[modality], rtol=1e-6, atol=1e-6)


def test_rejects_a_dict_without_skeleton(cmc, inertial_batch):
    with pytest.raises(ValueError, match=r"lacks \['skeleton'\]"):
        cmc.train_on_batch({"inertial": inertial_batch})
