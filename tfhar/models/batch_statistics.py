"""Re-estimate an encoder's BatchNorm statistics on windows it will actually see.

A contrastive encoder's moving statistics come from heavily augmented views (e.g. jitter of
sigma 1 on raw g values); frozen and applied to clean windows they normalize with the wrong
mean and variance. A randomly initialized encoder's are the initial zeros and ones, which
handicaps a "random frozen" baseline. Both are fixed by setting each BatchNormalization layer's
moving mean and variance to the statistics of its inputs over the given windows.
"""

from __future__ import annotations

import keras
import numpy as np


def reestimate_batch_norm(encoder: keras.Model, windows: np.ndarray,
                          batch_size: int = 256) -> int:
    """Set the moving mean and variance of every top-level BatchNormalization layer of the
    functional `encoder` to the mean and (biased) variance of its inputs over `windows`
    (N, ...), over every axis but the channels; layers in order, each seeing the inputs that
    the layers before it, already re-estimated, give in inference mode. Returns the number of
    layers set. Raises ValueError for an encoder that is not a functional model."""
    if not isinstance(encoder, keras.Model) or not hasattr(encoder, "inputs") or not (
            encoder.inputs):
        raise ValueError(f"reestimate_batch_norm needs a functional keras.Model, got "
                         f"{type(encoder).__name__}")
    layers = [layer for layer in encoder.layers
              if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in layers:
        probe = keras.Model(encoder.inputs, layer.input)
        values = np.asarray(probe.predict(windows, batch_size=batch_size, verbose=0),
                            np.float64)
        axes = tuple(range(values.ndim - 1))
        layer.moving_mean.assign(values.mean(axis=axes).astype(np.float32))
        layer.moving_variance.assign(values.var(axis=axes).astype(np.float32))
    return len(layers)
