"""Matplotlib figures written into run directories (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfhar.files import atomic_path  # noqa: E402


def _save(figure: plt.Figure, path: Path) -> None:
    """Write through a temporary name so a crash never leaves a truncated image."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=120, bbox_inches="tight", format=Path(path).suffix[1:])
    plt.close(figure)


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: Path,
                          title: str = "") -> None:
    """Row-normalised confusion matrix with class names on both axes."""
    matrix = np.asarray(matrix, np.float64)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = max(5.0, 0.35 * len(class_names) + 2)
    figure, axis = plt.subplots(figsize=(size + 1.5, size))
    image = axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=90, fontsize=7)
    axis.set_yticks(ticks, class_names, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for i, j in zip(*np.nonzero(matrix), strict=True):
        axis.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=6,
                  color="white" if normalised[i, j] > 0.5 else "black")
    axis.set_title(title or "confusion matrix (rows normalised, counts shown)")
    figure.colorbar(image, ax=axis, fraction=0.046)
    _save(figure, path)


def plot_embedding(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                   path: Path, title: str = "") -> None:
    """2-D embedding (e.g. t-SNE of frozen encoder features) coloured by class."""
    figure, axis = plt.subplots(figsize=(8, 7))
    colours = plt.get_cmap("tab20" if len(class_names) <= 20 else "gist_ncar")
    for k, name in enumerate(class_names):
        chosen = labels == k
        if chosen.any():
            axis.scatter(points[chosen, 0], points[chosen, 1], s=12,
                         color=colours(k / max(len(class_names) - 1, 1)), label=name)
    axis.legend(fontsize=6, markerscale=1.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(title or "t-SNE of encoder features")
    _save(figure, path)


def plot_curves(summary, path: Path, title: str = "") -> None:
    """Accuracy vs labelled fraction per method, mean line with a 95% CI band.

    summary: a DataFrame with columns method, fraction, mean_accuracy, ci95.
    """
    figure, axis = plt.subplots(figsize=(7, 5))
    for method, group in summary.groupby("method", sort=False):
        group = group.sort_values("fraction")
        x = 100 * group.fraction.to_numpy()
        mean, ci = group.mean_accuracy.to_numpy(), group.ci95.to_numpy()
        axis.plot(x, mean, marker="o", label=method)
        axis.fill_between(x, mean - ci, mean + ci, alpha=0.2)
    axis.set_xscale("log")
    axis.set_xticks(sorted(set(100 * summary.fraction)),
                    [f"{v:g}%" for v in sorted(set(100 * summary.fraction))])
    axis.set_xlabel("labelled training data per class")
    axis.set_ylabel("test accuracy (%)")
    axis.grid(alpha=0.3)
    axis.legend()
    axis.set_title(title)
    _save(figure, path)


def plot_search(trials, hyperparameters: Sequence[str], metric: str, path: Path) -> None:
    """A search's score against each hyperparameter: one panel each, a point per trial, with
    its spread over folds as an error bar where known. trials: a DataFrame with a column per
    hyperparameter, `score` and `score_std`."""
    count = max(1, len(hyperparameters))
    figure, axes = plt.subplots(1, count, figsize=(4.2 * count, 3.8), squeeze=False)
    for axis, name in zip(axes[0], hyperparameters, strict=False):
        values = trials[name]
        numeric = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        if numeric.all():
            x = values.astype(float).to_numpy()
        else:
            labels = sorted({str(v) for v in values})
            x = np.array([labels.index(str(v)) for v in values], float)
            axis.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=7)
        spread = trials["score_std"].fillna(0.0).to_numpy(float)
        axis.errorbar(x, trials["score"].to_numpy(float), yerr=spread, fmt="o", alpha=0.7,
                      capsize=3)
        axis.set_xlabel(name, fontsize=8)
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
    figure.suptitle(f"{metric} of each trial (mean over folds, bars: std)")
    figure.tight_layout()
    _save(figure, path)
