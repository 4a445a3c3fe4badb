"""tf.data pipelines: views, alignment, determinism, batching."""

import numpy as np
import pytest
import tensorflow as tf

from tfhar.input import cmc_dataset, labeled_dataset, simclr_dataset


def jitter(windows, seed):
    return windows + tf.random.stateless_normal(tf.shape(windows), seed)


def indexed(n, shape):
    """Arrays whose every value is the row index, so rows can be traced through shuffles."""
    return np.broadcast_to(np.arange(n, dtype=np.float32).reshape((n,) + (1,) * len(shape)),
                           (n,) + shape).copy()


def collect(dataset):
    return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in dataset]


def test_simclr_two_different_views_full_batches():
    data = indexed(10, (50, 6))
    batches = collect(simclr_dataset(data, jitter, batch_size=4, seed=1))
    assert len(batches) == 2  # 10 // 4, the remainder dropped.
    view_a, view_b = batches[0]
    assert view_a.shape == view_b.shape == (4, 50, 6)
    assert view_a.dtype == np.float32
    assert not np.allclose(view_a, view_b)
    # Both views come from the same windows: the noise averages out to the row index.
    np.testing.assert_allclose(view_a.mean(axis=(1, 2)), view_b.mean(axis=(1, 2)), atol=0.5)


def test_simclr_is_deterministic_given_the_seed_and_new_each_epoch():
    data = indexed(12, (50, 6))
    first = collect(simclr_dataset(data, jitter, batch_size=4, seed=3))
    again = collect(simclr_dataset(data, jitter, batch_size=4, seed=3))
    other = collect(simclr_dataset(data, jitter, batch_size=4, seed=4))
    np.testing.assert_array_equal(first[0][0], again[0][0])
    assert not np.allclose(first[0][0], other[0][0])
    dataset = simclr_dataset(data, jitter, batch_size=4, seed=3)
    epoch_1, epoch_2 = collect(dataset), collect(dataset)
    assert not np.allclose(epoch_1[0][0], epoch_2[0][0])


def test_cmc_views_stay_aligned():
    inertial, skeleton = indexed(9, (50, 6)), indexed(9, (50, 20, 3))
    for x_inertial, x_skeleton in collect(cmc_dataset(inertial, skeleton, None, None, 3, seed=0)):
        np.testing.assert_array_equal(x_inertial[:, 0, 0], x_skeleton[:, 0, 0, 0])
        assert x_inertial.shape == (3, 50, 6) and x_skeleton.shape == (3, 50, 20, 3)


def test_labeled_keeps_labels_with_their_windows_and_sees_each_once():
    n = 11
    features = {"inertial": indexed(n, (50, 6)), "skeleton": indexed(n, (50, 20, 3))}
    labels = np.arange(n, dtype=np.int32)
    seen = []
    for x, y in collect(labeled_dataset(features, labels, 4, seed=2, shuffle=True)):
        np.testing.assert_array_equal(x["inertial"][:, 0, 0], y)
        np.testing.assert_array_equal(x["skeleton"][:, 0, 0, 0], y)
        seen.extend(y.tolist())
    assert sorted(seen) == list(range(n))
    assert seen != list(range(n))  # Shuffled.


def test_labeled_without_shuffle_keeps_order_and_augments_when_asked():
    features = {"inertial": indexed(5, (50, 6))}
    labels = np.arange(5, dtype=np.int32)
    plain = collect(labeled_dataset(features, labels, 5))
    np.testing.assert_array_equal(plain[0][1], labels)
    np.testing.assert_array_equal(plain[0][0]["inertial"], features["inertial"])
    noisy = collect(labeled_dataset(features, labels, 5, augmenters={"inertial": jitter}))
    assert not np.allclose(noisy[0][0]["inertial"], features["inertial"])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: simclr_dataset(np.zeros((3, 50, 6), np.float32), None, 4), "larger than"),
        (lambda: cmc_dataset(np.zeros((3, 50, 6)), np.zeros((4, 50, 20, 3)), None, None, 2),
         "not aligned"),
        (lambda: labeled_dataset({"inertial": np.zeros((3, 50, 6))}, np.zeros(4), 2), "labels"),
        (lambda: labeled_dataset({}, np.zeros(4), 2), "at least one"),
    ],
)
def test_bad_input(build, message):
    with pytest.raises(ValueError, match=message):
        build()
