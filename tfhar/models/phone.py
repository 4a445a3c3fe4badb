"""The on-device inertial model: encoder + classifier -> class probabilities, optionally taking
raw samples (FFT resampling inside the graph) and standardizing each channel inside.

Used by `tfhar.export`; every function takes Keras models and numpy arrays, never files.
"""

from __future__ import annotations

import numpy as np

from tfhar.data import preprocess


def float32_copy(model):
    """`model` itself when it computes in float32, else a float32 clone with its weights.

    A run trained under a mixed-precision policy saves layers that compute in float16; the
    phone model computes in float32 whatever the run used.
    """
    import keras

    if all(layer.dtype_policy.compute_dtype == "float32" for layer in model.layers):
        return model

    def float32_layer(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    clone = keras.models.clone_model(model, clone_function=float32_layer)
    clone.set_weights(model.get_weights())
    return clone


def resample_matrix(num_samples: int, steps: int) -> np.ndarray:
    """(steps, num_samples) float64 A with A @ x = scipy.signal.resample(x, steps, axis=0) for
    every x (num_samples, C): FFT resampling of a fixed length is linear, so A is the
    resampled identity."""
    return preprocess.resample(np.eye(num_samples), steps)


def channel_statistics(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (C,), std (C,)) float32 of windows (N, T, C) over all windows and steps; a constant
    channel gets std 1."""
    mean, std = np.mean(windows, axis=(0, 1)), np.std(windows, axis=(0, 1))
    return mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32)


def standardized_encoder(encoder, mean: np.ndarray, std: np.ndarray):
    """The encoder applied to standardized windows z = (x - mean) / std: same outputs.

    The first convolution reads x = std * z + mean through zero padding only, so
    conv(pad(x)) = conv_{kernel * std, no bias}(pad(z)) + conv(pad(mean window)): its kernel
    is scaled per input channel and a constant (T', F) map added. No operator touches the
    raw values, whose mixed units (g beside deg/s) one int8 scale cannot hold.
    """
    import keras

    layers = encoder.layers
    first = next((i for i, layer in enumerate(layers)
                  if isinstance(layer, keras.layers.Conv1D)), len(layers))
    padding = (keras.layers.InputLayer, keras.layers.ZeroPadding1D)
    if first == len(layers) or layers[first].get_config()["activation"] != "linear" or not all(
            isinstance(layer, padding) for layer in layers[:first]):
        raise ValueError("standardized input needs an encoder whose first layers are zero "
                         "padding and a convolution without activation")
    conv = layers[first]
    mean_window = np.broadcast_to(mean, (1, *encoder.input_shape[1:])).astype(np.float32)
    offset = keras.Model(encoder.input, conv.output)(mean_window).numpy()[0]
    folded = keras.layers.Conv1D.from_config({**conv.get_config(), "use_bias": False,
                                              "name": f"{conv.name}_standardized"})
    folded.build(conv.input.shape)
    folded.kernel.assign(conv.kernel.numpy() * std[None, :, None])

    def call(layer, *args, **kwargs):
        if layer is conv:
            return keras.ops.add(folded(*args, **kwargs), offset)
        return layer(*args, **kwargs)

    return keras.models.clone_model(encoder, clone_function=lambda layer: layer,
                                    call_function=call)


def with_raw_input(model, raw_samples: int):
    """keras.Model: raw samples (B, raw_samples, C) -> `model`'s output, the samples
    FFT-resampled inside to the T steps `model` takes: a constant `resample_matrix` applied
    over time as a bias-free Dense (exactly scipy.signal.resample(x, T, axis=1))."""
    import keras

    steps, channels = model.input_shape[1:]
    inputs = keras.Input((raw_samples, channels), name="inertial")
    resample = keras.layers.Dense(steps, use_bias=False, name="resample")
    x = keras.layers.Permute((2, 1), name="channels_first")(inputs)
    x = keras.layers.Permute((2, 1), name="steps_first")(resample(x))
    resample.kernel.assign(resample_matrix(raw_samples, steps).T.astype(np.float32))
    return keras.Model(inputs, model(x), name=f"{model.name}_raw_input")


def phone_model(encoder, classifier, raw_samples: int | None = None,
                standardization: tuple[np.ndarray, np.ndarray] | None = None):
    """Functional keras.Model: inertial window (B, T, C) -> class probabilities (B, K).

    raw_samples: the model takes (B, raw_samples, C) raw samples instead (`with_raw_input`).
    standardization: (mean, std): standardize each channel inside; `encoder` must then read
    standardized windows (`standardized_encoder`).
    """
    import keras

    inputs = keras.Input(encoder.input_shape[1:], name="inertial")
    x = inputs
    if standardization is not None:
        mean, std = standardization
        x = keras.layers.Rescaling(1.0 / std, -mean / std, name="standardize")(x)
    logits = classifier(encoder(x, training=False), training=False)
    outputs = keras.layers.Softmax(name="probabilities", dtype="float32")(logits)
    model = keras.Model(inputs, outputs, name="tfhar_inertial")
    return with_raw_input(model, raw_samples) if raw_samples else model
