"""Sinusoidal position encoding (Vaswani et al. 2017)."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfhar")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """Adds the sinusoidal position encoding of Vaswani et al. (2017) to (B, T, d) sequences.

    Even features get sin(t / max_wavelength^(i/d)), odd features the matching cosine, as in
    the PyTorch word-language-model example that the authors' code uses. Raises ValueError for
    a non-positive `max_wavelength` or (at build) an odd feature size d.
    """

    def __init__(self, max_wavelength: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        if not max_wavelength > 0:
            raise ValueError(f"max_wavelength must be positive, got {max_wavelength!r}")
        self.max_wavelength = float(max_wavelength)

    def build(self, input_shape):
        if input_shape[-1] is None or input_shape[-1] % 2:
            raise ValueError(
                f"SinusoidalPositionalEncoding needs an even feature size, got shape "
                f"{tuple(input_shape)}"
            )
        super().build(input_shape)

    def call(self, inputs):
        length, depth = ops.shape(inputs)[1], inputs.shape[-1]
        positions = ops.cast(ops.arange(length), "float32")[:, None]
        frequencies = ops.exp(
            ops.cast(ops.arange(0, depth, 2), "float32") * (-math.log(self.max_wavelength) / depth)
        )
        angles = positions * frequencies[None, :]  # (T, d / 2)
        encoding = ops.reshape(
            ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (length, depth)
        )
        return inputs + ops.cast(encoding, inputs.dtype)[None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}
