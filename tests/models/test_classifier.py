"""ClassifierModel: frozen vs trainable encoders, fusion, predict, save round trip, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfhar.experiment.stages import build_on
from tfhar.models.classifier import ClassifierModel
from tfhar.models.heads import build_fusion_classifier, build_mlp_classifier

LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1])


def _batch_norm_statistics(encoder: keras.Model) -> list[np.ndarray]:
    return [
        keras.ops.convert_to_numpy(variable)
        for layer in encoder.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for variable in (layer.moving_mean, layer.moving_variance)
    ]


def _unimodal(encoder: keras.Model, trainable_encoders: bool) -> ClassifierModel:
    classifier = build_mlp_classifier(encoder.output_shape[-1], 3, (16,))
    model = ClassifierModel(
        {"inertial": encoder}, classifier, trainable_encoders=trainable_encoders
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    return model


def test_frozen_encoder_keeps_weights_and_batch_norm_statistics(
    tiny_inertial_encoder, inertial_batch, changed
):
    encoder = tiny_inertial_encoder()
    model = _unimodal(encoder, trainable_encoders=False)
    encoder_before, statistics_before = encoder.get_weights(), _batch_norm_statistics(encoder)
    classifier_before = model.classifier.get_weights()
    model.train_on_batch({"inertial": inertial_batch}, LABELS)
    assert not any(changed(encoder_before, encoder.get_weights()))
    assert not any(changed(statistics_before, _batch_norm_statistics(encoder)))
    assert all(changed(classifier_before, model.classifier.get_weights()))
    assert len(model.trainable_weights) == len(model.classifier.trainable_weights)


def test_trainable_encoder_updates_weights_and_batch_norm_statistics(
    tiny_inertial_encoder, inertial_batch, changed
):
    encoder = tiny_inertial_encoder()
    model = _unimodal(encoder, trainable_encoders=True)
    encoder_before, statistics_before = encoder.get_weights(), _batch_norm_statistics(encoder)
    model.train_on_batch({"inertial": inertial_batch}, LABELS)
    assert all(changed(statistics_before, _batch_norm_statistics(encoder)))
    moved = changed(encoder_before, encoder.get_weights())
    assert all(moved[i] for i, w in enumerate(encoder.weights) if w.trainable)


def test_train_mode_frozen_encoder_keeps_weights_but_updates_batch_norm_statistics(
    tiny_inertial_encoder, inertial_batch, changed
):
    encoder = tiny_inertial_encoder()
    classifier = build_mlp_classifier(encoder.output_shape[-1], 3, (16,))
    model = ClassifierModel({"inertial": encoder}, classifier, trainable_encoders=False,
                            frozen_encoders_train_mode=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    trainable_before = [w.numpy() for w in encoder.trainable_weights]
    statistics_before = _batch_norm_statistics(encoder)
    classifier_before = model.classifier.get_weights()
    model.train_on_batch({"inertial": inertial_batch}, LABELS)
    assert not any(changed(trainable_before, [w.numpy() for w in encoder.trainable_weights]))
    assert all(changed(statistics_before, _batch_norm_statistics(encoder)))
    assert all(changed(classifier_before, model.classifier.get_weights()))
    # Inference is deterministic and uses the (updated) moving statistics.
    first = model.predict(inertial_batch, verbose=0)
    np.testing.assert_array_equal(model.predict(inertial_batch, verbose=0), first)
    restored = ClassifierModel.from_config(model.get_config())
    assert restored.frozen_encoders_train_mode


def test_train_mode_needs_frozen_encoders(tiny_inertial_encoder):
    encoder = tiny_inertial_encoder()
    with pytest.raises(ValueError, match="frozen_encoders_train_mode"):
        ClassifierModel({"inertial": encoder}, build_mlp_classifier(
            encoder.output_shape[-1], 3, (16,)), trainable_encoders=True,
            frozen_encoders_train_mode=True)


@pytest.mark.parametrize("trainable_encoders", [False, True])
def test_steps_lower_the_loss_and_report_accuracy(
    tiny_inertial_encoder, inertial_batch, trainable_encoders
):
    model = _unimodal(tiny_inertial_encoder(reduction="flatten"), trainable_encoders)
    logs = [model.train_on_batch(inertial_batch, LABELS, return_dict=True) for _ in range(8)]
    assert sorted(logs[0]) == ["accuracy", "loss"]
    assert logs[-1]["loss"] < 0.8 * logs[0]["loss"]
    assert logs[-1]["accuracy"] > logs[0]["accuracy"]


def test_predict_gives_float32_logits_for_dict_or_bare_inputs(
    tiny_inertial_encoder, inertial_batch
):
    model = _unimodal(tiny_inertial_encoder(), trainable_encoders=False)
    logits = model.predict({"inertial": inertial_batch}, verbose=0)
    assert logits.shape == (8, 3) and logits.dtype == np.float32
    np.testing.assert_array_equal(model.predict(inertial_batch, verbose=0), logits)


def test_fusion_of_two_frozen_encoders_trains_only_the_classifier(
    tiny_inertial_encoder, tiny_skeleton_encoder, inertial_batch, skeleton_batch, changed
):
    encoders = {"inertial": tiny_inertial_encoder(), "skeleton": tiny_skeleton_encoder()}
    classifier = build_fusion_classifier({"inertial": 8, "skeleton": 16}, 3, 8, (8,))
    model = ClassifierModel(encoders, classifier, trainable_encoders=False)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    inputs = {"inertial": inertial_batch, "skeleton": skeleton_batch}
    before = {name: part.get_weights() for name, part in [*encoders.items(), ("", classifier)]}
    logs = model.fit(inputs, LABELS, batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0])
    for modality, encoder in encoders.items():
        assert not any(changed(before[modality], encoder.get_weights())), modality
    moved = changed(before[""], classifier.get_weights())
    assert all(moved[i] for i, weight in enumerate(classifier.weights) if weight.trainable)
    assert model.predict(inputs, verbose=0).shape == (8, 3)


def test_save_and_reload_keeps_predictions_and_frozen_encoder(
    tiny_inertial_encoder, inertial_batch, tmp_path
):
    model = _unimodal(tiny_inertial_encoder(dropout=0.1), trainable_encoders=False)
    model.train_on_batch(inertial_batch, LABELS)
    model.save(tmp_path / "classifier.keras")
    restored = keras.saving.load_model(tmp_path / "classifier.keras")
    assert isinstance(restored, ClassifierModel) and not restored.trainable_encoders
    assert len(restored.trainable_weights) == len(model.trainable_weights)
    np.testing.assert_allclose(
        restored.predict(inertial_batch, verbose=0),
        model.predict(inertial_batch, verbose=0),
        rtol=1e-6,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    ("encoders", "trainable_encoders", "message"),
    [
        ({}, False, "non-empty dict"),
        ("inertial", False, "non-empty dict"),
        (None, "no", "trainable_encoders must be True or False"),
    ],
)
def test_rejects_bad_arguments(tiny_inertial_encoder, encoders, trainable_encoders, message):
    encoders = {"inertial": tiny_inertial_encoder()} if encoders is None else encoders
    with pytest.raises(ValueError, match=message):
        ClassifierModel(encoders, build_mlp_classifier(8, 3), trainable_encoders)


def test_rejects_missing_modalities_and_bare_inputs_with_two_encoders(
    tiny_inertial_encoder, tiny_skeleton_encoder, inertial_batch
):
    encoders = {"inertial": tiny_inertial_encoder(), "skeleton": tiny_skeleton_encoder()}
    model = ClassifierModel(
        encoders,
        build_fusion_classifier({"inertial": 8, "skeleton": 16}, 3),
        trainable_encoders=False,
    )
    with pytest.raises(ValueError, match=r"lack modalities \['skeleton'\]"):
        model({"inertial": inertial_batch})
    with pytest.raises(ValueError, match="must be a dict with keys"):
        model(inertial_batch)


def test_fit_traces_the_training_step_once_after_build_on(tiny_inertial_encoder, inertial_batch,
                                                          monkeypatch):
    # build_on builds the optimizer too: were its variables made in the first step, tf.function
    # would trace the step a second time (tracing is most of a short run's time).
    encoder = tiny_inertial_encoder()
    model = ClassifierModel({"inertial": encoder},
                            build_mlp_classifier(encoder.output_shape[-1], 3, (16,)),
                            trainable_encoders=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    dataset = tf.data.Dataset.from_tensor_slices(({"inertial": inertial_batch}, LABELS)).batch(3)
    build_on(model, dataset, lambda batch: batch[0])
    assert model.optimizer.built
    traces, step = [], ClassifierModel.train_step

    def counted(self, data):
        traces.append(1)
        return step(self, data)

    monkeypatch.setattr(ClassifierModel, "train_step", counted)
    model.fit(dataset, epochs=2, verbose=0, shuffle=False)  # Batches of 3, 3 and 2 windows.
    assert len(traces) == 1
