"""Metrics of a classifier on a test set: accuracy, macro F1, per-class F1, confusion matrix
(computed with scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn import metrics as sk_metrics


def _check_labels(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> None:
    """ValueError unless y_true and y_pred are integer arrays of one shape in 0..num_classes-1."""
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape}: expected two (N,)")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{name} has dtype {y.dtype}; expected integer class indices")
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} has labels outside 0..{num_classes - 1}")


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray,
                           class_names: Sequence[str]) -> dict:
    """Accuracy and macro F1 as fractions in [0, 1], per-class F1 and the confusion matrix.

    y_true, y_pred: int (N,) class indices in 0..K-1, K = len(class_names). Returns
    {"accuracy", "macro_f1", "num_test_samples", "per_class_f1": {name: F1}, "class_names",
    "confusion_matrix": (K, K) counts as nested lists, rows true classes, columns predicted}.
    Macro F1 averages over the classes present in y_true (scikit-learn's f1_score with its
    labels set to the true classes), so a test split without some class is not penalised for
    it; the F1 of a class never true nor predicted is 0. All 0.0 for an empty test set.
    ValueError for mismatched shapes or labels outside 0..K-1.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    num_classes = len(class_names)
    _check_labels(y_true, y_pred, num_classes)
    labels, present = np.arange(num_classes), np.unique(y_true)
    if y_true.size:  # scikit-learn refuses empty inputs.
        matrix = sk_metrics.confusion_matrix(y_true, y_pred, labels=labels)
        f1 = sk_metrics.f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
        accuracy = sk_metrics.accuracy_score(y_true, y_pred)
        macro_f1 = sk_metrics.f1_score(y_true, y_pred, labels=present, average="macro",
                                       zero_division=0)
    else:
        matrix, f1 = np.zeros((num_classes, num_classes), np.int64), np.zeros(num_classes)
        accuracy = macro_f1 = 0.0
    return {
        "accuracy": float(accuracy),
        "macro_f1": float(macro_f1),
        "num_test_samples": int(y_true.size),
        "per_class_f1": {name: float(v) for name, v in zip(class_names, f1, strict=True)},
        "class_names": list(class_names),
        "confusion_matrix": matrix.astype(np.int64).tolist(),
    }
