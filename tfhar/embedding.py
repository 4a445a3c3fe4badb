"""2-D t-SNE maps of frozen encoder features, coloured by class (one figure per modality)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from tfhar.data import Record
from tfhar.plots import plot_embedding


def encoder_features(encoder: keras.Model, windows: np.ndarray, batch_size: int = 128
                     ) -> np.ndarray:
    """(N, F) float32 features of `windows` from `encoder` in inference mode."""
    return np.asarray(encoder.predict(windows, batch_size=batch_size, verbose=0), np.float32)


def tsne(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, 2) t-SNE of centred features (PCA to 50 dimensions first when wider)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    features = features - features.mean(0)
    features = features / (features.std() + 1e-6)
    components = min(50, *features.shape)  # PCA needs at most min(samples, features).
    if features.shape[1] > components:
        features = PCA(components, random_state=seed).fit_transform(features)
    perplexity = min(30.0, max(2.0, (len(features) - 1) / 3))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)


def write_embedding_plots(encoders: dict[str, keras.Model], record: Record, run_dir: Path,
                          seed: int = 0) -> list[Path]:
    """embedding_<modality>.png in `run_dir` for each encoder, on the windows of `record`."""
    written = []
    for modality, encoder in encoders.items():
        points = tsne(encoder_features(encoder, getattr(record, modality)), seed)
        path = Path(run_dir) / f"embedding_{modality}.png"
        plot_embedding(points, record.labels, record.class_names, path,
                       title=f"t-SNE of {modality} encoder features (test split)")
        written.append(path)
    return written
