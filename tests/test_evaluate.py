"""Metrics against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score
from sklearn.metrics import confusion_matrix as sk_confusion

from tfhar.evaluate import classification_metrics, confusion_matrix


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 5, 200))
    metrics = classification_metrics(y_true, y_pred, list("abcde"))
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert metrics["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    np.testing.assert_allclose(list(metrics["per_class_f1"].values()),
                               f1_score(y_true, y_pred, average=None))
    np.testing.assert_array_equal(metrics["confusion_matrix"], sk_confusion(y_true, y_pred))
    assert metrics["num_test_samples"] == 200


def test_labels_out_of_range_are_refused():
    with pytest.raises(ValueError, match="y_pred"):
        confusion_matrix(np.array([0, 1]), np.array([0, 7]), 3)
