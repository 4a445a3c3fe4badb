"""BatchNorm statistics re-estimated on windows: the moving statistics become the inputs'."""

import keras
import numpy as np
import pytest

from tfhar.models import build_cnn_transformer_encoder
from tfhar.models.batch_statistics import reestimate_batch_norm


def test_moving_statistics_become_those_of_the_windows():
    keras.utils.set_random_seed(0)
    encoder = build_cnn_transformer_encoder(window_length=20, num_channels=3, filters=(4, 8),
                                            kernel_size=3, num_heads=2, num_layers=1,
                                            feedforward_dim=8, reduction="mean")
    windows = np.random.default_rng(0).normal(3.0, 2.0, size=(40, 20, 3)).astype("float32")
    assert reestimate_batch_norm(encoder, windows) == 2
    for name in ("bn1", "bn2"):
        layer = encoder.get_layer(name)
        inputs = np.asarray(keras.Model(encoder.inputs, layer.input)(windows), np.float64)
        np.testing.assert_allclose(layer.moving_mean.numpy(), inputs.mean(axis=(0, 1)),
                                   rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(layer.moving_variance.numpy(), inputs.var(axis=(0, 1)),
                                   rtol=1e-4, atol=1e-4)
    # In inference mode each BatchNorm output is now standardized over the windows.
    outputs = np.asarray(keras.Model(encoder.inputs, encoder.get_layer("bn2").output)(windows))
    np.testing.assert_allclose(outputs.mean(axis=(0, 1)), encoder.get_layer("bn2").beta.numpy(),
                               atol=1e-3)


def test_a_subclassed_model_is_refused():
    with pytest.raises(ValueError, match="functional"):
        reestimate_batch_norm(keras.Sequential(), np.zeros((2, 4)))
