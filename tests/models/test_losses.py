"""Contrastive losses against NumPy references, symmetry, analytic values and dtypes."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfhar.models.losses import cmc_loss, contrastive_accuracy, nt_xent, scale_for_replicas


def _normalized(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _logsumexp(x: np.ndarray) -> float:
    return float(x.max() + np.log(np.exp(x - x.max()).sum()))


def nt_xent_reference(z_a: np.ndarray, z_b: np.ndarray, temperature: float) -> float:
    """One cross entropy per view, written out anchor by anchor."""
    z = _normalized(np.concatenate([z_a, z_b]))
    n = len(z_a)
    losses = []
    for anchor in range(2 * n):
        similarities = z @ z[anchor] / temperature
        candidates = np.delete(similarities, anchor)
        losses.append(-similarities[(anchor + n) % (2 * n)] + _logsumexp(candidates))
    return float(np.mean(losses))


def cmc_reference(z_inertial: np.ndarray, z_skeleton: np.ndarray, temperature: float) -> float:
    similarities = _normalized(z_inertial) @ _normalized(z_skeleton).T / temperature
    n = len(similarities)
    rows = [-similarities[i, i] + _logsumexp(similarities[i]) for i in range(n)]
    columns = [-similarities[j, j] + _logsumexp(similarities[:, j]) for j in range(n)]
    return float(np.mean(rows + columns))


def _pair(seed: int, n: int = 6, dim: int = 5) -> tuple[np.ndarray, np.ndarray]:
    z_a, z_b = np.random.default_rng(seed).normal(size=(2, n, dim)).astype("float32")
    return z_a, z_b


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_nt_xent_matches_reference(seed, temperature):
    z_a, z_b = _pair(seed)
    np.testing.assert_allclose(
        float(nt_xent(z_a, z_b, temperature)), nt_xent_reference(z_a, z_b, temperature), rtol=1e-5
    )


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_cmc_loss_matches_reference(seed, temperature):
    z_i, z_s = _pair(seed)
    np.testing.assert_allclose(
        float(cmc_loss(z_i, z_s, temperature)), cmc_reference(z_i, z_s, temperature), rtol=1e-5
    )


def test_cmc_loss_differs_from_nt_xent():
    """CMC uses cross-modal negatives only, NT-Xent also intra-view ones."""
    z_a, z_b = _pair(3)
    assert abs(float(cmc_loss(z_a, z_b, 0.1)) - float(nt_xent(z_a, z_b, 0.1))) > 1e-3


@pytest.mark.parametrize("loss", [nt_xent, cmc_loss])
def test_losses_are_symmetric_in_their_inputs(loss):
    z_a, z_b = _pair(4)
    np.testing.assert_allclose(float(loss(z_a, z_b, 0.2)), float(loss(z_b, z_a, 0.2)), rtol=1e-6)


@pytest.mark.parametrize("n", [2, 8])
def test_nt_xent_of_equal_embeddings_is_log_2n_minus_1(n):
    z = np.ones((n, 4), "float32")
    np.testing.assert_allclose(float(nt_xent(z, z, 0.1)), math.log(2 * n - 1), rtol=1e-6)


@pytest.mark.parametrize("n", [2, 8])
def test_cmc_loss_of_equal_embeddings_is_log_n(n):
    z = np.ones((n, 4), "float32")
    np.testing.assert_allclose(float(cmc_loss(z, z, 0.1)), math.log(n), rtol=1e-6)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
@pytest.mark.parametrize("loss", [nt_xent, cmc_loss])
def test_low_precision_inputs_give_a_float32_loss(dtype, loss):
    z_a, z_b = _pair(5)
    value = loss(tf.cast(z_a, dtype), tf.cast(z_b, dtype), 0.1)
    assert value.dtype == tf.float32
    np.testing.assert_allclose(float(value), float(loss(z_a, z_b, 0.1)), rtol=2e-2)


def test_loss_gradients_are_finite_and_nonzero():
    z_a, z_b = (tf.Variable(z) for z in _pair(6))
    with tf.GradientTape() as tape:
        loss = nt_xent(z_a, z_b, 0.05) + cmc_loss(z_a, z_b, 0.05)
    gradients = tape.gradient(loss, [z_a, z_b])
    assert all(np.isfinite(g.numpy()).all() and np.abs(g.numpy()).max() > 0 for g in gradients)


@pytest.mark.parametrize("temperature", [0.0, -0.1])
@pytest.mark.parametrize("loss", [nt_xent, cmc_loss])
def test_losses_reject_non_positive_temperature(loss, temperature):
    z_a, z_b = _pair(0)
    with pytest.raises(ValueError, match=f"temperature must be positive, got {temperature}"):
        loss(z_a, z_b, temperature)


def accuracy_reference(z_a: np.ndarray, z_b: np.ndarray, intra_view_negatives: bool) -> float:
    if intra_view_negatives:
        z = _normalized(np.concatenate([z_a, z_b]))
        similarities = z @ z.T - 3.0 * np.eye(len(z))
        targets = np.roll(np.arange(len(z)), len(z_a))
        return float(np.mean(similarities.argmax(axis=1) == targets))
    similarities = _normalized(z_a) @ _normalized(z_b).T
    targets = np.arange(len(z_a))
    return float(
        np.mean(
            np.concatenate([similarities.argmax(1) == targets, similarities.argmax(0) == targets])
        )
    )


@pytest.mark.parametrize("intra_view_negatives", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_contrastive_accuracy_matches_reference(seed, intra_view_negatives):
    z_a, z_b = _pair(seed, n=8, dim=3)
    z_b = z_a + 0.8 * z_b  # Noisy partners: accuracy strictly between 0 and 1.
    expected = accuracy_reference(z_a, z_b, intra_view_negatives)
    assert 0.0 < expected < 1.0
    assert float(contrastive_accuracy(z_a, z_b, intra_view_negatives)) == pytest.approx(expected)


@pytest.mark.parametrize("intra_view_negatives", [False, True])
def test_contrastive_accuracy_is_one_for_identical_views_and_zero_for_swapped(intra_view_negatives):
    z = np.eye(4, dtype="float32")
    assert float(contrastive_accuracy(z, z, intra_view_negatives)) == 1.0
    assert float(contrastive_accuracy(z, np.roll(z, 1, axis=0), intra_view_negatives)) == 0.0


def test_scale_for_replicas_is_identity_on_one_device():
    assert float(scale_for_replicas(tf.constant(2.5))) == 2.5
