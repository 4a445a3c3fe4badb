"""build_augmenter: probabilities per example, order, identity, graph mode."""

import numpy as np
import pytest
import tensorflow as tf

from tfhar.augment import build_augmenter, compose, specs

SEED = tf.constant([5, 6])
SHAPES = {"inertial": (20, 6), "skeleton": (12, 5, 3)}


def batch(modality: str, size: int = 64) -> tf.Tensor:
    shape = (size, *SHAPES[modality])
    return tf.constant(np.random.default_rng(0).normal(size=shape), tf.float32)


def changed(x: tf.Tensor, y: tf.Tensor) -> np.ndarray:
    """Per example: whether the augmenter changed it."""
    axes = tuple(range(1, x.shape.rank))
    return np.any(x.numpy() != y.numpy(), axis=axes)


def test_registry_names_are_the_functions():
    assert set(compose.FUNCTIONS["inertial"]) == set(specs.INERTIAL)
    assert set(compose.FUNCTIONS["skeleton"]) == set(specs.SKELETON)


@pytest.mark.parametrize("modality", ["inertial", "skeleton"])
@pytest.mark.parametrize("spec", [{}, None])
def test_empty_spec_is_the_identity(modality, spec):
    x = batch(modality)
    np.testing.assert_array_equal(build_augmenter(modality, spec)(x, SEED), x)


@pytest.mark.parametrize("modality", ["inertial", "skeleton"])
@pytest.mark.parametrize("name", ["jitter", "scale"])
@pytest.mark.parametrize("p, expected_fraction", [(0.0, 0.0), (1.0, 1.0)])
def test_probability_zero_never_applies_one_always_applies(modality, name, p, expected_fraction):
    x = batch(modality)
    y = build_augmenter(modality, {name: {"p": p}})(x, SEED)
    assert changed(x, y).mean() == expected_fraction


@pytest.mark.parametrize("p", [0.25, 0.5, 0.75])
def test_probability_is_drawn_per_example(p):
    x = batch("inertial", size=400)
    augment = build_augmenter("inertial", {"jitter": {"p": p, "sigma": 0.5}})
    applied = changed(x, augment(x, SEED))
    assert applied.mean() == pytest.approx(p, abs=0.08)
    # Another seed picks other examples.
    assert np.any(applied != changed(x, augment(x, tf.constant([5, 7]))))


def test_unapplied_examples_are_untouched_and_applied_ones_fully_augmented():
    x = batch("skeleton")
    y = build_augmenter("skeleton", {"jitter": {"p": 0.5}})(x, SEED).numpy()
    untouched = np.all(y == x.numpy(), axis=(1, 2, 3))
    touched_everywhere = np.all(y != x.numpy(), axis=(1, 2, 3))
    assert np.all(untouched | touched_everywhere)
    assert untouched.any() and touched_everywhere.any()


def test_augmentations_apply_in_the_order_written():
    zeros = tf.zeros([8, 50, 20, 3])
    noise, double = {"p": 1.0, "sigma": 0.1}, {"p": 1.0, "low": 2.0, "high": 2.0}
    jitter_first = build_augmenter("skeleton", {"jitter": noise, "scale": double})(zeros, SEED)
    scale_first = build_augmenter("skeleton", {"scale": double, "jitter": noise})(zeros, SEED)
    assert np.std(jitter_first) == pytest.approx(0.2, rel=0.05)
    assert np.std(scale_first) == pytest.approx(0.1, rel=0.05)


DEFAULT_CASES = [
    ("utd_mhad", "inertial", (20, 6)),
    ("utd_mhad", "skeleton", (12, 20, 3)),
    ("berkeley_mhad", "inertial", (20, 18)),
    ("berkeley_mhad", "skeleton", (12, 5, 3)),
    ("mmact", "inertial", (20, 12)),
    ("mmact", "skeleton", (12, 17, 2)),
]


def test_default_cases_cover_every_default_set():
    covered = {(dataset, modality) for dataset, modality, _ in DEFAULT_CASES}
    assert covered == {(d, m) for d in specs.DEFAULTS for m in ("inertial", "skeleton")}


@pytest.mark.parametrize("dataset, modality, shape", DEFAULT_CASES)
def test_default_sets_run_on_one_window_and_a_batch(dataset, modality, shape):
    x = tf.constant(np.random.default_rng(1).normal(size=(8, *shape)), tf.float32)
    augment = build_augmenter(modality, specs.default_spec(dataset, modality))
    y = augment(x, SEED)
    assert y.shape == x.shape
    assert augment(x[0], SEED).shape == x.shape[1:]
    assert np.any(changed(x, y))


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_keeps_dtype(dtype):
    x = tf.cast(batch("skeleton", size=4), dtype)
    y = build_augmenter("skeleton", specs.default_spec("utd_mhad", "skeleton"))(x, SEED)
    assert y.dtype == dtype and y.shape == x.shape


def test_works_in_dataset_map_before_and_after_batching():
    augment = build_augmenter("inertial", specs.default_spec("utd_mhad", "inertial"))
    x = batch("inertial", size=8)
    per_example = tf.data.Dataset.from_tensor_slices(x).enumerate()
    per_example = per_example.map(lambda i, w: augment(w, tf.stack([i, tf.constant(1, tf.int64)])))
    batched = tf.data.Dataset.from_tensor_slices(x).batch(4).enumerate()
    batched = batched.map(lambda i, w: augment(w, tf.stack([i, tf.constant(2, tf.int64)])))
    assert np.stack(list(per_example.as_numpy_iterator())).shape == x.shape
    assert np.concatenate(list(batched.as_numpy_iterator())).shape == x.shape


def test_works_under_tf_function_with_unknown_batch_size():
    augment = build_augmenter("skeleton", specs.default_spec("utd_mhad", "skeleton"))
    signature = [tf.TensorSpec([None, None, 5, 3]), tf.TensorSpec([2], tf.int32)]
    graph = tf.function(augment, input_signature=signature)
    x = batch("skeleton", size=6)
    np.testing.assert_allclose(graph(x, SEED), augment(x, SEED), atol=1e-5)
    np.testing.assert_array_equal(graph(x, SEED), graph(x, SEED))


@pytest.mark.parametrize(
    "modality, spec, match",
    [
        ("inertial", {"rotation": {}}, "rotation"),
        ("skeleton", {"rotate": {"max_degree": 5}}, "max_degree"),
        ("skeleton", {"jitter": {"p": 1.5}}, "p=1.5"),
        ("gyro", {}, "gyro"),
    ],
)
def test_bad_specs_raise_naming_the_key(modality, spec, match):
    with pytest.raises(ValueError, match=match):
        build_augmenter(modality, spec)
