"""LayerNorm: Keras' layer normalization in operators that all have int8 LiteRT kernels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfhar import tflite_utils
from tfhar.models import build_cnn_transformer_encoder
from tfhar.models.layers import LayerNorm, TransformerEncoderLayer, transformer


def _pair(shape, epsilon=1e-5):
    """A Keras LayerNormalization and a LayerNorm with the same (non-trivial) weights."""
    layers = keras.layers.LayerNormalization(epsilon=epsilon), LayerNorm(epsilon=epsilon)
    for layer in layers:
        layer.build(shape)
    rng = np.random.default_rng(1)
    weights = [rng.normal(1.0, 0.5, shape[-1:]), rng.normal(0.0, 0.5, shape[-1:])]
    for layer in layers:
        layer.set_weights(weights)
    return layers


@pytest.mark.parametrize("shape, scale", [((4, 7, 16), 1.0), ((3, 32), 100.0)])
def test_matches_keras_layer_normalization_values_and_gradients(shape, scale):
    x = tf.constant(np.random.default_rng(0).normal(2.0, scale, shape), tf.float32)
    outputs, gradients = [], []
    for layer in _pair(shape):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * tf.range(shape[-1], dtype=tf.float32))
        outputs.append(y.numpy())
        gradients.append(tape.gradient(loss, [x, *layer.trainable_weights]))
    np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-5)
    for mine, theirs in zip(gradients[1], gradients[0], strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("spread", [1.0, 0.05])
def test_matches_a_float64_reference(spread):
    x = np.random.default_rng(0).normal(2.0, spread, (2, 5, 8)).astype("float32")
    _, layer = _pair(x.shape)
    gamma, beta = (w.astype(np.float64) for w in layer.get_weights())
    centred = x.astype(np.float64) - x.astype(np.float64).mean(-1, keepdims=True)
    reference = centred / np.sqrt((centred**2).mean(-1, keepdims=True) + 1e-5) * gamma + beta
    np.testing.assert_allclose(layer(x), reference, atol=2e-5)


def test_same_variables_and_config_as_keras():
    theirs, mine = _pair((2, 6))
    assert [v.path.split("/")[-1] for v in mine.weights] == ["gamma", "beta"]
    assert [v.path.split("/")[-1] for v in theirs.weights] == ["gamma", "beta"]
    config = mine.get_config()
    assert {k: v for k, v in config.items() if k != "name"} == {
        k: v for k, v in theirs.get_config().items() if k != "name"
    }
    clone = LayerNorm.from_config(config)
    clone.build((2, 6))
    clone.set_weights(mine.get_weights())
    x = np.random.default_rng(2).normal(size=(2, 6)).astype("float32")
    np.testing.assert_array_equal(clone(x), mine(x))


@pytest.mark.parametrize(
    "kwargs, message", [({"axis": 1}, "last axis only"), ({"rms_scaling": True}, "rms_scaling")]
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LayerNorm(**kwargs)


def test_mixed_precision_computes_in_float32():
    layer = LayerNorm(dtype="mixed_float16")
    x = np.random.default_rng(3).normal(0.0, 300.0, (2, 4, 16)).astype("float16")
    y = layer(x)
    assert y.dtype == "float16"
    reference = keras.layers.LayerNormalization(dtype="mixed_float16")(x)
    np.testing.assert_allclose(
        np.asarray(y, np.float32), np.asarray(reference, np.float32), atol=2e-3
    )


def _encoder():
    return build_cnn_transformer_encoder(
        window_length=20,
        filters=(8, 16),
        num_layers=1,
        feedforward_dim=16,
        dropout=0.0,
        reduction="mean",
    )


@pytest.mark.parametrize("fmt", ["keras", "weights"])
def test_encoders_saved_with_keras_layer_normalization_load(tmp_path, monkeypatch, fmt):
    with monkeypatch.context() as patch:  # An encoder as saved before LayerNorm existed.
        patch.setattr(transformer, "LayerNorm", keras.layers.LayerNormalization)
        old = _encoder()
        norm = old.get_layer("transformer1").attention_norm
        assert type(norm) is keras.layers.LayerNormalization
        norm.gamma.assign(np.linspace(0.5, 1.5, 16))
        norm.beta.assign(np.linspace(-1.0, 1.0, 16))
        old.save(tmp_path / "old.keras")
        old.save_weights(tmp_path / "old.weights.h5")
    if fmt == "keras":
        new = keras.models.load_model(tmp_path / "old.keras")
    else:
        new = _encoder()
        new.load_weights(tmp_path / "old.weights.h5")
    assert type(new.get_layer("transformer1").attention_norm) is LayerNorm
    x = np.random.default_rng(4).normal(size=(3, 20, 6)).astype("float32")
    np.testing.assert_allclose(new.predict(x, verbose=0), old.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    "norm, left",
    [
        (keras.layers.LayerNormalization, {"NEG", "QUANTIZE", "DEQUANTIZE"}),
        (LayerNorm, set()),
    ],
)
def test_fully_integer_model_keeps_no_float_operator(tmp_path, monkeypatch, norm, left):
    monkeypatch.setattr(transformer, "LayerNorm", norm)
    inputs = keras.Input((10, 16))
    x = TransformerEncoderLayer(2, 32, dropout=0.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.GlobalAveragePooling1D()(x)))
    model.export(
        str(tmp_path / "model"),
        verbose=False,
        input_signature=[keras.InputSpec(shape=(1, 10, 16), dtype="float32")],
    )
    windows = np.random.default_rng(5).normal(size=(32, 10, 16)).astype("float32")
    content = tflite_utils.convert(tmp_path / "model", "int8_full", windows)
    assert set(tflite_utils.float_operators(content, strict=True)) == left
    assert "RSQRT" in [kind for kind, _ in tflite_utils.operators(content)]
