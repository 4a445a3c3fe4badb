"""classification_metrics against values worked out by hand."""

import numpy as np
import pytest

from tfhar.evaluate import classification_metrics

# 4 classes; class "d" is never true nor predicted, class "c" is true once and never predicted.
Y_TRUE = [0, 0, 0, 1, 1, 2, 0, 1]
Y_PRED = [0, 0, 1, 1, 1, 0, 0, 2]
# a: TP 3, FP 1 (the 2 taken for a), FN 1 -> F1 = 6 / (6 + 1 + 1) = 0.75
# b: TP 2, FP 1, FN 1 -> 4 / 6; c: TP 0 -> 0; d: never true nor predicted -> 0.
F1 = {"a": 0.75, "b": 4 / 6, "c": 0.0, "d": 0.0}
MATRIX = [[3, 1, 0, 0], [0, 2, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]]


def test_metrics_by_hand():
    metrics = classification_metrics(np.array(Y_TRUE), np.array(Y_PRED), list("abcd"))
    assert metrics["accuracy"] == pytest.approx(5 / 8)
    # Macro F1 over the classes present in y_true (a, b, c), not over all four.
    assert metrics["macro_f1"] == pytest.approx((0.75 + 4 / 6 + 0.0) / 3)
    assert metrics["per_class_f1"] == pytest.approx(F1)
    assert list(metrics["per_class_f1"]) == list("abcd")
    assert metrics["confusion_matrix"] == MATRIX
    assert metrics["num_test_samples"] == 8
    assert metrics["class_names"] == list("abcd")


def test_perfect_predictions():
    y = np.array([2, 0, 1, 2])
    metrics = classification_metrics(y, y, ["x", "y", "z"])
    assert metrics["accuracy"] == 1.0 and metrics["macro_f1"] == 1.0
    assert metrics["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 0, 2]]


def test_results_are_plain_python_for_json():
    metrics = classification_metrics(np.array([0, 1], np.int32), np.array([1, 1]), ["a", "b"])
    assert type(metrics["accuracy"]) is float and type(metrics["num_test_samples"]) is int
    assert all(type(v) is int for row in metrics["confusion_matrix"] for v in row)


def test_an_empty_test_set_gives_zeros():
    metrics = classification_metrics(np.array([], int), np.array([], int), ["a", "b"])
    assert (metrics["accuracy"], metrics["macro_f1"], metrics["num_test_samples"]) == (0, 0, 0)
    assert metrics["confusion_matrix"] == [[0, 0], [0, 0]]


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([0, 1], [0, 7], "y_pred has labels outside 0..2"),
        ([-1, 1], [0, 1], "y_true has labels outside 0..2"),
        ([0, 1, 2], [0, 1], "y_true .* and y_pred .*"),
        ([0.0, 1.0], [0, 1], "y_true has dtype float64"),
    ],
)
def test_bad_labels_are_refused(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(np.array(y_true), np.array(y_pred), ["a", "b", "c"])
