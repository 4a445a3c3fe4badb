"""Properties every augmentation shares: shape, dtype, seeds, batching, graph mode, identity."""

import inspect

import numpy as np
import pytest
import tensorflow as tf

from tfhar.augment import inertial, skeleton, specs

SEED = tf.constant([7, 11], tf.int32)
SHAPES = {"inertial": (20, 6), "skeleton": (16, 5, 3)}
MODULES = {"inertial": inertial, "skeleton": skeleton}
CASES = [
    (modality, name) for modality in ("inertial", "skeleton") for name in specs.REGISTRY[modality]
]
IDS = [f"{modality}.{name}" for modality, name in CASES]
# Augmentations with few outcomes -> how many distinct ones 64 copies of a window must give:
# permute_equal (max_segments 5) orders 1..4 equal pieces: 1 + 2 + 6 + 24 = 33 outcomes.
FEW_OUTCOMES = {"permute_equal": 12}


def function(modality: str, name: str):
    return getattr(MODULES[modality], name)


def window(modality: str, batch: int | None = 4, seed: int = 0) -> tf.Tensor:
    shape = SHAPES[modality] if batch is None else (batch, *SHAPES[modality])
    return tf.constant(np.random.default_rng(seed).normal(size=shape), tf.float32)


@pytest.mark.parametrize("modality, name", CASES, ids=IDS)
@pytest.mark.parametrize("batch", [None, 3], ids=["single", "batched"])
@pytest.mark.parametrize("dtype", [tf.float32, tf.float16, tf.bfloat16])
def test_shape_and_dtype_kept(modality, name, batch, dtype):
    x = tf.cast(window(modality, batch), dtype)
    y = function(modality, name)(x, SEED)
    assert y.shape == x.shape
    assert y.dtype == dtype
    assert np.all(np.isfinite(tf.cast(y, tf.float32).numpy()))


@pytest.mark.parametrize("modality, name", CASES, ids=IDS)
def test_same_seed_same_output_other_seed_other_output(modality, name):
    x, augment = window(modality), function(modality, name)
    np.testing.assert_array_equal(augment(x, SEED), augment(x, tf.constant([7, 11], tf.int64)))
    assert not np.allclose(augment(x, SEED), augment(x, tf.constant([8, 11])))


@pytest.mark.parametrize("modality, name", CASES, ids=IDS)
def test_batch_elements_draw_their_own_randomness(modality, name):
    if name in FEW_OUTCOMES:  # Copies may draw the same outcome: count the distinct ones.
        x = tf.repeat(window(modality, batch=1), 64, axis=0)
        y = function(modality, name)(x, SEED).numpy()
        assert len({row.tobytes() for row in y}) >= FEW_OUTCOMES[name]
        return
    x = tf.repeat(window(modality, batch=1), 4, axis=0)  # Four copies of one window.
    y = function(modality, name)(x, SEED).numpy()
    assert all(not np.allclose(y[i], y[j]) for i in range(4) for j in range(i + 1, 4))


@pytest.mark.parametrize("modality, name", CASES, ids=IDS)
def test_runs_in_dataset_map_and_tf_function_with_unknown_batch_and_time(modality, name):
    augment = function(modality, name)
    x = window(modality)
    dataset = tf.data.Dataset.from_tensor_slices(x).enumerate()
    dataset = dataset.map(lambda i, w: augment(w, tf.stack([i, tf.constant(5, tf.int64)])))
    mapped = np.stack(list(dataset.as_numpy_iterator()))
    assert mapped.shape == x.shape
    assert not np.allclose(mapped, x.numpy())

    spec = tf.TensorSpec([None, None, *SHAPES[modality][1:]], tf.float32)
    graph = tf.function(augment, input_signature=[spec, tf.TensorSpec([2], tf.int32)])
    np.testing.assert_allclose(graph(x, SEED), augment(x, SEED), rtol=1e-5, atol=1e-5)


ZERO_STRENGTH = [
    ("inertial", "jitter", {"sigma": 0.0}),
    ("inertial", "scale", {"sigma": 0.0}),
    ("inertial", "rotate_3d", {"max_angle_degrees": 0.0}),
    ("inertial", "rotate_3d", {"max_angle_degrees": 0.0, "same_rotation_for_all_groups": False}),
    ("skeleton", "jitter", {"sigma": 0.0}),
    ("skeleton", "crop_resize", {"min_fraction": 1.0, "max_fraction": 1.0}),
    ("skeleton", "scale", {"low": 1.0, "high": 1.0}),
    ("skeleton", "rotate", {"max_degrees": 0.0}),
    ("skeleton", "shear", {"sigma": 0.0}),
]


@pytest.mark.parametrize("modality, name, params", ZERO_STRENGTH)
def test_zero_strength_is_identity(modality, name, params):
    x = window(modality)
    np.testing.assert_allclose(function(modality, name)(x, SEED, **params), x, atol=1e-6)


@pytest.mark.parametrize("modality, name", CASES, ids=IDS)
def test_function_defaults_match_the_registry(modality, name):
    # Keyword-only arguments come from the data (a record's channel groups), not from configs.
    parameters = inspect.signature(function(modality, name)).parameters
    defaults = {key: p.default for key, p in list(parameters.items())[2:]
                if p.kind is not inspect.Parameter.KEYWORD_ONLY}
    registry = {key: value for key, value in specs.REGISTRY[modality][name].items() if key != "p"}
    assert defaults == registry


@pytest.mark.parametrize(
    "modality, shape",
    [
        ("inertial", (6,)),
        ("inertial", (2, 3, 4, 6)),
        ("skeleton", (5, 3)),
        ("skeleton", (1, 2, 3, 4, 3)),
    ],
)
def test_wrong_rank_is_rejected(modality, shape):
    augment = function(modality, "jitter")
    with pytest.raises(ValueError, match="rank"):
        augment(tf.zeros(shape), SEED)


@pytest.mark.parametrize("seed", [tf.constant([1, 2, 3]), tf.constant([1.0, 2.0])])
def test_bad_seed_is_rejected(seed):
    with pytest.raises(ValueError, match="seed"):
        inertial.jitter(window("inertial"), seed)


def test_integer_window_is_rejected():
    with pytest.raises(ValueError, match="floating"):
        inertial.scale(tf.zeros([10, 6], tf.int32), SEED)
