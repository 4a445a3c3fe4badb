"""What a search leaves: trials.csv, search.png, TensorBoard HParams, best.yaml, and the best
config trained once on the config's own split (best/, best_test.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tfhar.config import dump_config
from tfhar.files import atomic_path, read_json, write_json, write_text


def trials_table(study, tuner) -> pd.DataFrame:
    """One row per trial: id, status, every hyperparameter, score, its spread over folds,
    each fold's score, wall time and folder."""
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        values = {d.path: trial.hyperparameters.values.get(d.path)
                  for d in study.space.dimensions}
        result = read_json(study.project / "trials" / f"trial_{trial_id}" / "result.json") or {}
        rows.append({"trial_id": trial_id, "status": str(trial.status), **values,
                     "score": result.get("score", trial.score),
                     "score_std": result.get("score_std"),
                     "fold_scores": json.dumps(result.get("fold_scores", {})),
                     "wall_time_s": result.get("wall_time_s"),
                     "trial_dir": result.get("trial_dir")})
    return pd.DataFrame(rows)


def _write_hparams(study, table: pd.DataFrame) -> None:
    """TensorBoard HParams: one run per finished trial under <project>/hparams/."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    for row in table.dropna(subset=["score"]).to_dict("records"):
        folder = study.project / "hparams" / f"trial_{row['trial_id']}"
        if folder.exists():
            continue
        values = {d.path: _tensorboard_value(row[d.path]) for d in study.space.dimensions}
        with tf.summary.create_file_writer(str(folder)).as_default():
            hp_api.hparams(values, trial_id=str(row["trial_id"]))
            tf.summary.scalar(study.scoring.metric, float(row["score"]), step=0)


def _tensorboard_value(value):
    return value if isinstance(value, bool | int | float | str) else str(value)


def write_report(study, tuner) -> dict:
    """Write the search's files; returns the best finished trial's row."""
    from tfhar.plots import plot_search

    table = trials_table(study, tuner)
    with atomic_path(study.project / "trials.csv") as temporary:
        table.to_csv(temporary, index=False)
    finished = table.dropna(subset=["score"])
    if finished.empty:
        raise RuntimeError(f"no trial of {study.project} finished; see its trials/ folders")
    plot_search(finished, [d.path for d in study.space.dimensions], study.scoring.metric,
                study.project / "search.png")
    _write_hparams(study, finished)
    best = finished.loc[finished["score"].idxmax()].to_dict()
    hp_values = {d.path: best[d.path] for d in study.space.dimensions}
    config = study.config(study.space.values(hp_values))
    write_text(study.project / "best.yaml", dump_config(config))
    return best


def evaluate_best(study, best_yaml: Path) -> dict:
    """Train best.yaml on the config's own split (train, validation, test subjects) into
    <project>/best and test it once; writes best_test.json."""
    import keras

    from tfhar.config import load_config, matches_saved
    from tfhar.experiment.run_directory import RunDirectory
    from tfhar.experiment.runner import run

    config = load_config(best_yaml)
    keras.backend.clear_session()
    run_dir = RunDirectory(study.project / "best")
    resume = run_dir.create(dump_config(config), lambda p: matches_saved(p, config), True)
    try:
        metrics = run(config, run_dir, study.splits, resume)
    finally:
        run_dir.unlock()
    summary = {key: metrics[key] for key in ("accuracy", "macro_f1", "num_test_samples")}
    write_json(study.project / "best_test.json", {**summary, "run_dir": str(run_dir.path)})
    return metrics
