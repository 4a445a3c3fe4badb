"""Encoders: output shapes, the authors' sizes, argument checks, config and save round trips."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfhar.models.cnn_transformer import build_cnn_transformer_encoder, inertial_output_length
from tfhar.models.hcn import TemporalDifference, build_hcn_encoder
from tfhar.models.layers import (
    FusedBatchNormalization,
    SinusoidalPositionalEncoding,
    TransformerEncoderLayer,
)


@pytest.mark.parametrize(
    ("kernel_size", "reduction", "num_features"),
    [(5, "flatten", 44 * 128), (3, "flatten", 50 * 128), (5, "mean", 128), (3, "max", 128)],
)
def test_inertial_encoder_output_shape(kernel_size, reduction, num_features):
    encoder = build_cnn_transformer_encoder(
        kernel_size=kernel_size, reduction=reduction, feedforward_dim=32
    )
    features = encoder(np.zeros((2, 50, 6), "float32"))
    assert encoder.output_shape == (None, num_features)
    assert tuple(features.shape) == (2, num_features)


def test_inertial_flatten_size_is_the_authors_5632_at_kernel_5():
    assert inertial_output_length(50, 3, 5, padding=1) * 128 == 5632
    assert inertial_output_length(50, 3, 3, padding=1) == 50


@pytest.mark.parametrize("num_joints", [17, 20])
@pytest.mark.parametrize("num_coords", [2, 3])
def test_skeleton_encoder_output_shape(num_joints, num_coords):
    encoder = build_hcn_encoder(num_joints=num_joints, num_coords=num_coords)
    features = encoder(np.zeros((2, 50, num_joints, num_coords), "float32"))
    assert tuple(features.shape) == (2, 256)


def test_skeleton_encoder_final_map_is_one_step_at_50_frames():
    """At 50 frames the global max pool sees a 1 x 1 map: it is the authors' flatten."""
    encoder = build_hcn_encoder()
    assert encoder.get_layer("pool6").output.shape[1:3] == (1, 1)


def test_skeleton_encoder_accepts_48_frames_and_rejects_47():
    assert build_hcn_encoder(window_length=48).output_shape == (None, 256)
    with pytest.raises(ValueError, match="at least 48 frames.*got 47"):
        build_hcn_encoder(window_length=47)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"reduction": "sum"}, "reduction.*'sum'"),
        ({"kernel_size": 0}, "kernel_size.*0"),
        ({"filters": ()}, r"filters.*\(\)"),
        ({"num_heads": 3}, "divisible by num_heads=3"),
        ({"window_length": 5, "kernel_size": 5}, "window_length=5 is too short"),
        ({"dropout": 1.0}, "dropout.*1.0"),
        ({"padding": -1}, "padding.*-1"),
    ],
)
def test_inertial_encoder_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        build_cnn_transformer_encoder(**arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"num_joints": 0}, "num_joints.*0"), ({"num_coords": 2.5}, "num_coords.*2.5")],
)
def test_skeleton_encoder_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        build_hcn_encoder(**arguments)


def test_temporal_difference_has_zero_first_frame():
    x = np.cumsum(np.random.default_rng(0).normal(size=(2, 6, 4, 3)), axis=1).astype("float32")
    motion = keras.ops.convert_to_numpy(TemporalDifference()(x))
    np.testing.assert_array_equal(motion[:, 0], 0.0)
    np.testing.assert_allclose(motion[:, 1:], np.diff(x, axis=1), rtol=1e-6)


def test_positional_encoding_matches_the_formula():
    length, depth = 7, 6
    encoding = keras.ops.convert_to_numpy(
        SinusoidalPositionalEncoding()(np.zeros((1, length, depth), "float32"))
    )[0]
    position = np.arange(length)[:, None]
    frequency = np.exp(np.arange(0, depth, 2) * (-math.log(10000.0) / depth))
    np.testing.assert_allclose(encoding[:, 0::2], np.sin(position * frequency), atol=1e-6)
    np.testing.assert_allclose(encoding[:, 1::2], np.cos(position * frequency), atol=1e-6)


def test_positional_encoding_rejects_odd_feature_size():
    with pytest.raises(ValueError, match="even feature size"):
        SinusoidalPositionalEncoding()(np.zeros((1, 4, 5), "float32"))


def test_transformer_layer_rejects_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match="feature size 8 is not divisible by num_heads=3"):
        TransformerEncoderLayer(num_heads=3, feedforward_dim=4)(np.zeros((1, 4, 8), "float32"))


@pytest.mark.parametrize(
    "layer",
    [
        SinusoidalPositionalEncoding(max_wavelength=500.0, name="positions"),
        TransformerEncoderLayer(4, 16, dropout=0.2, layer_norm_epsilon=1e-6, name="block"),
        TemporalDifference(name="motion"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_layers_are_registered_and_config_round_trips(layer):
    assert keras.saving.get_registered_name(type(layer)) == f"tfhar>{type(layer).__name__}"
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


@pytest.fixture(params=["inertial", "skeleton"])
def encoder_and_input(
    request, tiny_inertial_encoder, tiny_skeleton_encoder, inertial_batch, skeleton_batch
):
    if request.param == "inertial":
        return tiny_inertial_encoder(dropout=0.1, reduction="flatten"), inertial_batch
    return tiny_skeleton_encoder(), skeleton_batch


def test_encoder_config_round_trip_gives_identical_outputs(encoder_and_input):
    encoder, x = encoder_and_input
    clone = keras.Model.from_config(encoder.get_config())
    clone.set_weights(encoder.get_weights())
    assert clone.get_config() == encoder.get_config()
    np.testing.assert_array_equal(clone.predict(x, verbose=0), encoder.predict(x, verbose=0))


@pytest.mark.parametrize("trainable", [True, False])
def test_encoder_save_and_reload_gives_identical_outputs(encoder_and_input, tmp_path, trainable):
    encoder, x = encoder_and_input
    encoder.trainable = trainable
    encoder.save(tmp_path / "encoder.keras")
    restored = keras.saving.load_model(tmp_path / "encoder.keras")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), encoder.predict(x, verbose=0))
    assert len(restored.trainable_weights) == len(encoder.trainable_weights)
    assert [w.trainable for w in restored.weights] == [w.trainable for w in encoder.weights]


@pytest.mark.parametrize("shape", [(8, 10, 4), (8, 5, 6, 4)])
def test_fused_batch_norm_matches_keras_batch_norm(shape):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(1.0, 3.0, shape), tf.float32)
    weights = tf.constant(np.arange(shape[-1]) ** 2, tf.float32)
    keras_bn = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    fused_bn = FusedBatchNormalization(momentum=0.9, epsilon=1e-5)
    for layer in (keras_bn, fused_bn):
        layer.build(shape)
    fused_bn.set_weights([w + 0.5 for w in keras_bn.get_weights()])
    keras_bn.set_weights(fused_bn.get_weights())
    outputs, gradients = [], []
    for layer in (keras_bn, fused_bn):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.sin(y) * weights)
        outputs.append(y.numpy())
        gradients.append(tape.gradient(loss, [x, layer.gamma, layer.beta]))
    np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-5)
    for fused, reference in zip(gradients[1], gradients[0], strict=True):
        np.testing.assert_allclose(fused.numpy(), reference.numpy(), rtol=1e-4, atol=1e-3)
    # Moving statistics: the same mean; the variance unbiased (PyTorch) instead of biased.
    batch_mean = x.numpy().reshape(-1, shape[-1]).mean(0)
    batch_var = x.numpy().reshape(-1, shape[-1]).var(0, ddof=1)
    np.testing.assert_allclose(fused_bn.moving_mean.numpy(), 0.9 * 0.5 + 0.1 * batch_mean,
                               rtol=1e-5)
    np.testing.assert_allclose(fused_bn.moving_variance.numpy(), 0.9 * 1.5 + 0.1 * batch_var,
                               rtol=1e-5)
    # Inference uses the moving statistics, as the Keras layer does with the same values.
    keras_bn.set_weights(fused_bn.get_weights())
    np.testing.assert_allclose(fused_bn(x).numpy(), keras_bn(x).numpy(), atol=1e-5)


def test_fused_batch_norm_is_used_and_survives_saving(tmp_path):
    encoder = build_hcn_encoder(window_length=50, num_joints=4, num_coords=3)
    assert any(isinstance(layer, FusedBatchNormalization) for layer in encoder.layers)
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    x = np.random.default_rng(0).normal(size=(2, 50, 4, 3)).astype("float32")
    np.testing.assert_allclose(keras.models.load_model(path)(x).numpy(), encoder(x).numpy(),
                               atol=1e-6)
