"""cmkm_loss against a NumPy reference written as the authors' masks read, analytic values,
symmetry between modalities, dtypes and gradients."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfhar.models.losses import cmc_loss, cmkm_loss

N = 8


def _normalized(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def cmkm_reference(z_inertial, z_skeleton, mining_inertial, mining_skeleton, temperature,
                   positives=1, symmetric_positives=False, intra_modal_negatives_weight=1.0,
                   intra_modal_temperature=1.0, negative_pruning_threshold=None,
                   loss_weighting_scale=None) -> float:
    """Sums of exponentials, anchor by anchor and candidate by candidate."""
    z = {"i": _normalized(z_inertial), "s": _normalized(z_skeleton)}
    mining = {"i": _normalized(mining_inertial), "s": _normalized(mining_skeleton)}
    similarity = {m: f @ f.T for m, f in mining.items()}
    neighbours = {m: [set(np.argsort(-(s[a] - 3.0 * (np.arange(N) == a)))[:positives])
                      for a in range(N)] for m, s in similarity.items()}
    if symmetric_positives:
        neighbours = {m: [neighbours["i"][a] | neighbours["s"][a] for a in range(N)]
                      for m in neighbours}
    connectivity = {m: s.mean(axis=0) for m, s in similarity.items()}
    pruned = {m: set() if negative_pruning_threshold is None else
              set(np.flatnonzero(c > negative_pruning_threshold)) for m, c in connectivity.items()}
    losses = []
    for anchor, other in (("i", "s"), ("s", "i")):
        for a in range(N):
            numerator = denominator = 0.0
            for j in range(N):
                term = math.exp(z[anchor][a] @ z[other][j] / temperature)
                if j == a or j in neighbours[other][a]:
                    numerator += term
                elif j not in pruned[other]:
                    denominator += term
            for j in range(N) if intra_modal_negatives_weight > 0 else ():
                term = math.exp(z[anchor][a] @ z[anchor][j] / intra_modal_temperature)
                if j == a:
                    continue
                if j in neighbours[anchor][a]:
                    numerator += term
                elif j not in pruned[anchor]:
                    denominator += intra_modal_negatives_weight * term
            loss = -math.log(numerator / (numerator + denominator))
            if loss_weighting_scale is not None:
                loss *= math.exp(loss_weighting_scale * connectivity[anchor][a])
            losses.append(loss)
    return float(np.mean(losses))


def _batch(seed: int) -> tuple[np.ndarray, ...]:
    """Projections (N, 5) and non-negative mining features (N, 7) and (N, 6), as after ReLU."""
    rng = np.random.default_rng(seed)
    z_i, z_s = rng.normal(size=(2, N, 5)).astype("float32")
    return (z_i, z_s, np.abs(rng.normal(size=(N, 7))).astype("float32"),
            np.abs(rng.normal(size=(N, 6))).astype("float32"))


def _connectivity_median(mining: np.ndarray) -> float:
    features = _normalized(mining)
    return float(np.median((features @ features.T).mean(axis=0)))


SETTINGS = [
    {},  # The paper's: k = 1, intra-modal weight 1 and temperature 1.
    {"positives": 0},
    {"positives": 3, "symmetric_positives": True},
    {"positives": 2, "intra_modal_negatives_weight": 0.5, "intra_modal_temperature": 0.2},
    {"positives": 1, "intra_modal_negatives_weight": 0.0},
    {"loss_weighting_scale": 0.25},
    {"negative_pruning_threshold": "median"},
    {"positives": 2, "symmetric_positives": True, "negative_pruning_threshold": "median",
     "loss_weighting_scale": -0.5, "intra_modal_temperature": 0.5},
]


def _settings(settings: dict, mining: np.ndarray) -> dict:
    """`settings` with a pruning threshold of "median" set to the median connectivity."""
    if settings.get("negative_pruning_threshold") == "median":
        return {**settings, "negative_pruning_threshold": _connectivity_median(mining)}
    return settings


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("temperature", [0.1, 0.5])
@pytest.mark.parametrize("settings", SETTINGS)
def test_cmkm_loss_matches_reference(seed, temperature, settings):
    batch = _batch(seed)
    settings = _settings(settings, batch[2])
    np.testing.assert_allclose(float(cmkm_loss(*batch, temperature, **settings)),
                               cmkm_reference(*batch, temperature, **settings), rtol=1e-5)


@pytest.mark.parametrize("settings", SETTINGS[1:])
def test_every_setting_changes_the_loss(settings):
    """No setting of the reference cases is a no-op on this batch (the tests above bite)."""
    batch = _batch(2)
    changed = float(cmkm_loss(*batch, 0.1, **_settings(settings, batch[2])))
    assert abs(changed - float(cmkm_loss(*batch, 0.1))) > 1e-3


@pytest.mark.parametrize("seed", [0, 3])
def test_without_mining_and_intra_modal_terms_it_is_cmc_loss(seed):
    z_i, z_s, m_i, m_s = _batch(seed)
    np.testing.assert_allclose(
        float(cmkm_loss(z_i, z_s, m_i, m_s, 0.2, positives=0, intra_modal_negatives_weight=0)),
        float(cmc_loss(z_i, z_s, 0.2)), rtol=1e-6)


@pytest.mark.parametrize("positives", [0, 1, 3])
def test_equal_embeddings_give_log_of_candidates_over_positives(positives):
    """All 2N - 1 candidates alike, 2k + 1 of them positives: log((2N - 1) / (2k + 1))."""
    _, _, m_i, m_s = _batch(4)
    z = np.ones((N, 4), "float32")
    value = cmkm_loss(z, z, m_i, m_s, 0.1, positives=positives, intra_modal_temperature=0.1)
    np.testing.assert_allclose(float(value), math.log((2 * N - 1) / (2 * positives + 1)),
                               rtol=1e-5)


@pytest.mark.parametrize("settings", SETTINGS)
def test_symmetric_in_the_modalities(settings):
    z_i, z_s, m_i, m_s = _batch(5)
    m_s = np.abs(np.random.default_rng(6).normal(size=m_i.shape)).astype("float32")
    settings = _settings(settings, m_i)
    np.testing.assert_allclose(float(cmkm_loss(z_i, z_s, m_i, m_s, 0.1, **settings)),
                               float(cmkm_loss(z_s, z_i, m_s, m_i, 0.1, **settings)), rtol=1e-6)


def _paired_features(pairs: list[tuple[int, int]]) -> np.ndarray:
    """(N, N) one-hot features in which the two samples of each pair are each other's nearest."""
    features = np.eye(N, dtype="float32")
    for a, b in pairs:
        features[a, b] = features[b, a] = 0.5
    return features


def test_an_anchors_positives_are_its_neighbours_in_the_candidates_space():
    """Inertial mining pairs (0, 1), (2, 3), ...; skeleton mining pairs (1, 2), ..., (7, 0).
    Inertial anchor i has positives skeleton i and i's skeleton-space neighbour, and vice versa."""
    z_i, z_s, _, _ = _batch(7)
    inertial_pairs = [(0, 1), (2, 3), (4, 5), (6, 7)]
    skeleton_pairs = [(1, 2), (3, 4), (5, 6), (7, 0)]
    neighbour = {m: {a: b for x, y in pairs for a, b in ((x, y), (y, x))}
                 for m, pairs in (("i", inertial_pairs), ("s", skeleton_pairs))}
    similarities = _normalized(z_i) @ _normalized(z_s).T / 0.1
    expected = []
    for rows, candidates_space in ((similarities, "s"), (similarities.T, "i")):
        for a in range(N):
            exps = np.exp(rows[a])
            expected.append(-math.log(
                (exps[a] + exps[neighbour[candidates_space][a]]) / exps.sum()))
    value = cmkm_loss(z_i, z_s, _paired_features(inertial_pairs),
                      _paired_features(skeleton_pairs), 0.1, intra_modal_negatives_weight=0)
    np.testing.assert_allclose(float(value), np.mean(expected), rtol=1e-5)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_low_precision_inputs_give_a_float32_loss(dtype):
    batch = _batch(8)
    value = cmkm_loss(*(tf.cast(x, dtype) for x in batch), 0.1)
    assert value.dtype == tf.float32
    np.testing.assert_allclose(float(value), float(cmkm_loss(*batch, 0.1)), rtol=2e-2)


@pytest.mark.parametrize("settings", [SETTINGS[0], SETTINGS[-1]])
def test_gradients_are_finite_and_reach_only_the_projections(settings):
    z_i, z_s, m_i, m_s = (tf.Variable(x) for x in _batch(9))
    with tf.GradientTape() as tape:
        loss = cmkm_loss(z_i, z_s, m_i, m_s, 0.05, **_settings(settings, m_i.numpy()))
    gradients = tape.gradient(loss, [z_i, z_s, m_i, m_s])
    assert all(np.isfinite(g.numpy()).all() and np.abs(g.numpy()).max() > 0
               for g in gradients[:2])
    # The mining masks are discrete; loss weighting alone depends smoothly on the features.
    assert gradients[2] is None or settings.get("loss_weighting_scale") is not None


@pytest.mark.parametrize(("settings", "message"), [
    ({"positives": -1}, "positives must be an integer >= 0, got -1"),
    ({"positives": 1.5}, "positives must be an integer >= 0, got 1.5"),
    ({"intra_modal_negatives_weight": -0.5}, "intra_modal_negatives_weight must be >= 0"),
    ({"intra_modal_temperature": 0.0}, "temperature must be positive, got 0.0"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        cmkm_loss(*_batch(0), 0.1, **settings)


def test_more_positives_than_other_samples_is_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match="positives must be < the batch"):
        cmkm_loss(*_batch(0), 0.1, positives=N)
