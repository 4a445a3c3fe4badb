"""Figures: files written, atomically, with the expected content size."""

import numpy as np
import pandas as pd
from PIL import Image

from tfhar.embedding import tsne
from tfhar.plots import plot_confusion_matrix, plot_curves, plot_embedding


def test_confusion_matrix_plot(tmp_path):
    path = tmp_path / "cm.png"
    plot_confusion_matrix(np.array([[3, 1], [0, 4]]), ["walk", "run"], path)
    assert Image.open(path).size[0] > 200
    assert not list(tmp_path.glob(".*tmp*"))


def test_embedding_of_separable_features_keeps_classes_apart(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    features = rng.normal(size=(60, 80)) + 3 * rng.normal(size=(3, 80))[labels]
    points = tsne(features)
    assert points.shape == (60, 2)
    centroids = np.stack([points[labels == k].mean(0) for k in range(3)])
    spread = max(np.linalg.norm(points[labels == k] - centroids[k], axis=1).mean()
                 for k in range(3))
    gaps = [np.linalg.norm(centroids[i] - centroids[j]) for i in range(3) for j in range(i)]
    assert min(gaps) > 2 * spread
    plot_embedding(points, labels, ["a", "b", "c"], tmp_path / "e.png")
    assert (tmp_path / "e.png").stat().st_size > 1000


def test_embedding_of_fewer_samples_than_pca_dimensions():
    # 48 windows of 64 features: PCA keeps at most 48 components instead of failing at 50.
    features = np.random.default_rng(1).normal(size=(48, 64))
    assert tsne(features).shape == (48, 2)


def test_curves_plot(tmp_path):
    summary = pd.DataFrame({"method": ["cmc", "cmc", "supervised", "supervised"],
                            "fraction": [0.01, 0.1, 0.01, 0.1],
                            "mean_accuracy": [80, 90, 60, 85], "ci95": [2, 1, 3, 2]})
    plot_curves(summary, tmp_path / "c.png", title="t")
    assert (tmp_path / "c.png").stat().st_size > 1000
