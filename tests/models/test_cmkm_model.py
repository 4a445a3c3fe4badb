"""CMCCMKMModel: steps train the four trained parts and lower the loss, the mining encoders stay
as they were, the training loss is cmkm_loss and validation cmc_loss, config round trip."""

import keras
import numpy as np
import pytest

from tfhar.models.cmkm import CMCCMKMModel
from tfhar.models.heads import build_projection_head
from tfhar.models.losses import cmc_loss, cmkm_loss

TRAINED = ("inertial_encoder", "skeleton_encoder", "inertial_head", "skeleton_head")
MINING = ("inertial_mining_encoder", "skeleton_mining_encoder")


@pytest.fixture
def cmkm(tiny_inertial_encoder, tiny_skeleton_encoder) -> CMCCMKMModel:
    model = CMCCMKMModel(
        tiny_inertial_encoder(),
        tiny_skeleton_encoder(),
        build_projection_head(8, 16, 8, name="inertial_head"),
        build_projection_head(16, 16, 8, name="skeleton_head"),
        tiny_inertial_encoder(),
        tiny_skeleton_encoder(),
        temperature=0.5,
        positives=2,
        intra_modal_temperature=0.5,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    return model


def test_steps_lower_the_loss_and_leave_the_mining_encoders_unchanged(
    cmkm, inertial_batch, skeleton_batch, changed
):
    before = {part: getattr(cmkm, part).get_weights() for part in TRAINED + MINING}
    batch = {"inertial": inertial_batch, "skeleton": skeleton_batch}
    losses = [cmkm.train_on_batch(batch, return_dict=True)["loss"] for _ in range(6)]
    assert losses[-1] < 0.8 * losses[0]
    for part in TRAINED:
        model = getattr(cmkm, part)
        moved = changed(before[part], model.get_weights())
        assert all(moved[i] for i, w in enumerate(model.weights) if w.trainable), part
    for part in MINING:  # Weights and BatchNorm statistics alike.
        assert not any(changed(before[part], getattr(cmkm, part).get_weights())), part
        assert getattr(cmkm, part).trainable_weights == []


def test_mining_encoders_hold_no_trainable_variable_of_the_model(cmkm):
    trained = {id(v) for part in TRAINED for v in getattr(cmkm, part).trainable_variables}
    assert {id(v) for v in cmkm.trainable_variables} == trained


def test_training_loss_is_cmkm_loss_and_validation_loss_is_cmc_loss(
    cmkm, inertial_batch, skeleton_batch
):
    batch = (inertial_batch, skeleton_batch)
    z = cmkm.predict(batch, verbose=0)
    mining = [np.asarray(f) for f in cmkm.mining_features(*batch)]
    expected = float(cmkm_loss(z["inertial"], z["skeleton"], *mining, 0.5, positives=2,
                               intra_modal_temperature=0.5))
    loss, _, _ = cmkm.views_loss(batch, training=False)
    assert float(loss) == pytest.approx(float(cmc_loss(z["inertial"], z["skeleton"], 0.5)),
                                        rel=1e-5)
    # The training loss, on inference-mode projections: only BatchNorm's mode differs in steps.
    cmkm.inertial_encoder.trainable = cmkm.skeleton_encoder.trainable = False
    cmkm.inertial_head.trainable = cmkm.skeleton_head.trainable = False
    loss, _, _ = cmkm.views_loss(batch, training=True)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_config_round_trip_rebuilds_the_model(cmkm, inertial_batch, skeleton_batch):
    restored = CMCCMKMModel.from_config(cmkm.get_config())
    restored.set_weights(cmkm.get_weights())
    assert (restored.temperature, restored.positives, restored.intra_modal_temperature) == (
        0.5, 2, 0.5)
    assert restored.get_config() == cmkm.get_config()
    assert all(not getattr(restored, part).trainable for part in MINING)
    batch = (inertial_batch, skeleton_batch)
    expected, actual = cmkm.predict(batch, verbose=0), restored.predict(batch, verbose=0)
    for modality in ("inertial", "skeleton"):
        np.testing.assert_allclose(actual[modality], expected[modality], rtol=1e-6, atol=1e-6)
    for got, want in zip(restored.mining_features(*batch), cmkm.mining_features(*batch),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("settings", "message"), [
    ({"positives": -1}, "positives must be an integer >= 0, got -1"),
    ({"intra_modal_negatives_weight": -1.0}, "intra_modal_negatives_weight must be a positive"),
    ({"intra_modal_temperature": 0.0}, "intra_modal_temperature must be a positive"),
    ({"temperature": 0.0}, "temperature must be a positive"),
])
def test_bad_settings_are_refused(tiny_inertial_encoder, tiny_skeleton_encoder, settings,
                                  message):
    parts = (tiny_inertial_encoder(), tiny_skeleton_encoder(),
             build_projection_head(8, 16, 8), build_projection_head(16, 16, 8),
             tiny_inertial_encoder(), tiny_skeleton_encoder())
    with pytest.raises(ValueError, match=message):
        CMCCMKMModel(*parts, **{"temperature": 0.5, **settings})


def test_the_trained_encoders_cannot_mine(tiny_inertial_encoder, tiny_skeleton_encoder):
    inertial, skeleton = tiny_inertial_encoder(), tiny_skeleton_encoder()
    with pytest.raises(ValueError, match="mining encoders must be other models"):
        CMCCMKMModel(inertial, skeleton, build_projection_head(8, 16, 8),
                     build_projection_head(16, 16, 8), inertial, tiny_skeleton_encoder(),
                     temperature=0.5)
