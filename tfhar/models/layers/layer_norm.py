"""Layer normalization spelled out as mean, subtract, square, mean and rsqrt, so that a fully
integer (int8) LiteRT model keeps none of it in float."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfhar")
class LayerNorm(keras.layers.LayerNormalization):
    """`keras.layers.LayerNormalization` over the last axis, computed as
    y = (x - mean(x)) * (rsqrt(mean((x - mean(x))^2) + epsilon) * gamma) + beta.

    Same variables (`gamma`, `beta`), config and values as Keras' layer (Ba et al., 2016), so
    checkpoints of either load into the other. Keras computes `x * inv - mean * inv + beta`,
    whose negation stays a float NEG operator in an int8 LiteRT graph; every operator here has
    an int8 kernel. Computes in float32 under a mixed-precision policy, as Keras' layer does.
    Input and output (..., features).
    """

    def __init__(self, epsilon: float = 1e-3, **kwargs):
        axis = kwargs.pop("axis", -1)
        if axis not in (-1, [-1]):
            raise ValueError(f"LayerNorm normalizes the last axis only; got axis={axis!r}")
        if kwargs.pop("rms_scaling", False):
            raise ValueError("LayerNorm does not implement rms_scaling=True")
        super().__init__(axis=-1, epsilon=epsilon, **kwargs)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        centred = x - ops.mean(x, axis=-1, keepdims=True)
        variance = ops.mean(centred * centred, axis=-1, keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            scale = scale * ops.cast(self.gamma, "float32")
        outputs = centred * scale
        if self.beta is not None:
            outputs = outputs + ops.cast(self.beta, "float32")
        return ops.cast(outputs, self.compute_dtype)
