"""Metrics of a classifier on a test set: accuracy, macro F1, per-class F1, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts; rows are true classes, columns predicted ones."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} has labels outside 0..{num_classes - 1}")
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def f1_per_class(matrix: np.ndarray) -> np.ndarray:
    """F1 of each class from a confusion matrix (0 where a class is never true nor predicted)."""
    true_positives = np.diag(matrix).astype(np.float64)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)
    return np.divide(2 * true_positives, denominator, out=np.zeros_like(true_positives),
                     where=denominator > 0)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray,
                           class_names: Sequence[str]) -> dict:
    """Accuracy and macro F1 as fractions in [0, 1], per-class F1 and the confusion matrix.

    Macro F1 averages over the classes present in y_true (as scikit-learn does with its labels
    set to the true classes), so a test split without some class is not penalised for it.
    """
    matrix = confusion_matrix(y_true, y_pred, len(class_names))
    f1 = f1_per_class(matrix)
    present = matrix.sum(axis=1) > 0
    return {
        "accuracy": float(np.trace(matrix) / max(matrix.sum(), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "num_test_samples": int(matrix.sum()),
        "per_class_f1": {name: float(v) for name, v in zip(class_names, f1, strict=True)},
        "class_names": list(class_names),
        "confusion_matrix": matrix.tolist(),
    }
