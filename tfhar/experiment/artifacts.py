"""What a finished run leaves for people to read: history.csv, per-class F1, figures."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from tfhar.experiment.run_directory import RunDirectory
from tfhar.files import atomic_path


def merge_histories(run_dir: RunDirectory) -> None:
    """logs/history_<stage>.csv files -> history.csv with a `stage` column."""
    frames = []
    for path in sorted(run_dir.logs.glob("history_*.csv")):
        if path.stat().st_size == 0:  # A stage of 0 epochs (e.g. pretrain.epochs=0).
            continue
        frame = pd.read_csv(path)
        frame.insert(0, "stage", path.stem.removeprefix("history_"))
        frames.append(frame)
    if frames:
        with atomic_path(run_dir.path / "history.csv") as temporary:
            pd.concat(frames, ignore_index=True).to_csv(temporary, index=False)


def write_artifacts(run_dir: RunDirectory, metrics: dict, title: str,
                    encoders: dict[str, keras.Model] | None = None, test=None,
                    seed: int = 0) -> None:
    """per_class_f1.csv, confusion_matrix.png and, given `encoders` and the `test` record,
    embedding_<modality>.png (t-SNE of the test windows' features)."""
    from tfhar.plots import plot_confusion_matrix

    table = pd.DataFrame({"class": list(metrics["per_class_f1"]),
                          "f1": list(metrics["per_class_f1"].values())})
    with atomic_path(run_dir.path / "per_class_f1.csv") as temporary:
        table.to_csv(temporary, index=False)
    plot_confusion_matrix(np.array(metrics["confusion_matrix"]), metrics["class_names"],
                          run_dir.path / "confusion_matrix.png", title=title)
    if encoders and test is not None:
        from tfhar.embedding import write_embedding_plots

        write_embedding_plots(encoders, test, run_dir.path, seed)
