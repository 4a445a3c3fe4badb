"""A search: its base config, space and scoring, and how one trial runs (every fold a normal
tfhar run directory under the project), wrapped as a keras-tuner HyperModel and Tuner."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import keras
import keras_tuner
import numpy as np

from tfhar import builders
from tfhar.config import (
    Config,
    ConfigError,
    classifier_modalities,
    config_from_tree,
    dump_config,
    load_config,
    matches_saved,
    pretraining_hash,
    to_dict,
)
from tfhar.config.checks import pretrained_modalities
from tfhar.data import Record
from tfhar.data.errors import DataError
from tfhar.experiment.data import Splits, load_splits
from tfhar.experiment.run_directory import RunDirectory
from tfhar.files import read_json, write_json
from tfhar.models import ClassifierModel
from tfhar.models.precision import set_precision
from tfhar.tuning.scoring import Scoring, fold_score, make_folds, training_windows
from tfhar.tuning.space import SearchSpace

# What every trial sets, whatever the search: no t-SNE maps and quiet logs (neither changes a
# result).
TRIAL_VALUES = {"runtime.embedding_plot": False, "runtime.verbose": 0}


@dataclasses.dataclass
class Study:
    """A search over `space` from the base config `tree` (+ `overrides`), scored by `scoring`
    on the folds of `splits` (the base config's data), in `project`."""

    tree: dict
    overrides: list[str]
    space: SearchSpace
    scoring: Scoring
    project: Path
    splits: Splits
    _splits: dict[str, Splits] = dataclasses.field(default_factory=dict, repr=False)

    def config(self, values: dict[str, Any]) -> Config:
        """The config of a trial: the base with `values` ({config path: value}) applied."""
        return config_from_tree(self.tree, self.overrides, values)

    def splits_of(self, config: Config) -> Splits:
        """The data of a trial's config: the base config's `splits`, or for a search over a
        `data` key (e.g. `data.standardize`, `data.window_length`) that config's own, loaded
        once per distinct `data` section. Raises tfhar.data.DataError."""
        key = json.dumps(to_dict(config.data), sort_keys=True)
        if not self._splits:
            self._splits[json.dumps(to_dict(self.config({}).data), sort_keys=True)] = self.splits
        if key not in self._splits:
            self._splits[key] = load_splits(config)
        return self._splits[key]

    def trial_values(self, hp_values: dict[str, Any], epochs: int | None) -> dict[str, Any]:
        """{config path: value} of a trial: the searched values, TRIAL_VALUES, and a Hyperband
        budget of `epochs` for the longest stage (pre-training, or supervised training)."""
        values = {**self.space.values(hp_values), **TRIAL_VALUES}
        if epochs is not None:
            config = self.config(values)
            if config.method == "supervised":
                values["finetune.epochs"] = int(epochs)
            else:
                values["pretrain.epochs"] = int(epochs)
                for modality in pretrained_modalities(config):
                    if getattr(config.pretrain, modality).epochs is not None:
                        values[f"pretrain.{modality}.epochs"] = int(epochs)
        return values

    def _run(self, config: Config, folder: Path, splits: Splits) -> dict:
        from tfhar.experiment.runner import run

        keras.backend.clear_session()
        run_dir = RunDirectory(folder)
        resume = run_dir.create(dump_config(config),
                                lambda path: matches_saved(path, config), overwrite=True)
        try:
            return run(config, run_dir, splits, resume)
        finally:
            run_dir.unlock()

    def _shared_encoders(self, config: Config, windows: Record, fold: str | None = None
                         ) -> dict[str, str]:
        """Pre-train on `windows` (no test subject; with `fold`, those of that fold, without its
        held-out subject) once per pre-training hash; encoder paths. Trials whose pre-training
        settings are the same share it (<project>/pretrain/<hash>, or <hash>-<fold> per fold).
        Seeded and deterministic as a run is (`seed_everything`), whatever ran before it in
        this process."""
        from tfhar.experiment.runner import seed_everything
        from tfhar.experiment.stages import RunContext, pretrain

        key = pretraining_hash(config)
        run_dir = RunDirectory(self.project / "pretrain" / (f"{key}-{fold}" if fold else key))
        paths = {m: run_dir.encoder_path(m) for m in pretrained_modalities(config)}
        if all(path.is_file() for path in paths.values()):
            return {m: str(path) for m, path in paths.items()}

        def same_pretraining(path: Path) -> bool:
            try:
                return pretraining_hash(load_config(path)) == key
            except ConfigError:
                return False

        run_dir.create(dump_config(config), same_pretraining, overwrite=True)
        try:
            keras.backend.clear_session()
            seed_everything(config.runtime.seed)
            set_precision(config.runtime.precision)
            pretrain(RunContext(config, run_dir, Splits(windows, None, windows, windows),
                                strategy=builders.build_strategy(config.runtime.strategy)))
        finally:
            run_dir.unlock()
        return {m: str(run_dir.encoder_path(m)) for m in pretrained_modalities(config)}

    def run_trial(self, trial_id: str, hp_values: dict[str, Any], epochs: int | None = None
                  ) -> dict:
        """Run every fold of one trial (resuming what an earlier process left); returns
        {"score", "score_std", "fold_scores", "wall_time_s", "trial_dir", "last_fold"}."""
        start = time.perf_counter()
        trial_dir = self.project / "trials" / f"trial_{trial_id}"
        values = self.trial_values(hp_values, epochs)
        try:
            config = self.config(values)
            splits = self.splits_of(config)
            pretrains = bool(pretrained_modalities(config))
            if self.scoring.pretrain == "shared" and pretrains:
                given = self._shared_encoders(config, training_windows(splits))
                values.update({f"finetune.encoders.{m}": p for m, p in given.items()})
                config = self.config(values)
            scores, last = {}, None
            for fold in make_folds(splits, self.scoring, config.data.label_fraction,
                                   config.data.label_fraction_seed):
                last = trial_dir / fold.name
                fold_config = config
                if self.scoring.pretrain == "per_fold" and pretrains:
                    given = self._shared_encoders(config, fold.splits.pretrain, fold.name)
                    fold_config = self.config(
                        {**values, **{f"finetune.encoders.{m}": p for m, p in given.items()}})
                metrics = self._run(fold_config, last, fold.splits)
                scores[fold.name] = fold_score(metrics, self.scoring)
        except (ConfigError, DataError) as error:
            raise keras_tuner.errors.FailedTrialError(str(error)) from None
        values_array = np.array(list(scores.values()))
        result = {"score": float(values_array.mean()),
                  "score_std": float(values_array.std(ddof=1)) if len(scores) > 1 else 0.0,
                  "fold_scores": scores, "wall_time_s": time.perf_counter() - start,
                  "values": {k: _plain(v) for k, v in values.items()},
                  "trial_dir": str(trial_dir), "last_fold": str(last)}
        previous = read_json(trial_dir / "result.json")  # A resumed trial adds its time.
        if previous and previous.get("values") == result["values"]:
            result["wall_time_s"] += float(previous.get("wall_time_s", 0.0))
        write_json(trial_dir / "result.json", result)
        return result


def build_model(config: Config, record) -> ClassifierModel:
    """A fresh model of `config` (the classifier's encoders + classifier, built): what
    keras-tuner saves."""
    encoders = {m: builders.build_encoder(config, m, record)
                for m in classifier_modalities(config)}
    classifier = builders.build_classifier(config, encoders, record.num_classes)
    return ClassifierModel(encoders, classifier, trainable_encoders=True)


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a config value (tuples become lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value] if isinstance(value, list | tuple) else value


class TfharHyperModel(keras_tuner.HyperModel):
    """The whole method as one keras-tuner trial: `build` declares the search space and
    returns the trial's model; `fit` pre-trains, fine-tunes and scores every fold (the same
    stages as `tfhar-train`) and returns {"score": mean over folds}. `epochs` (Hyperband's
    budget) sets the epochs of the longest stage; a Hyperband trial trains from scratch, so
    `initial_epoch` only shortens nothing (warm starts are not supported)."""

    def __init__(self, study: Study):
        super().__init__(name="tfhar")
        self.study = study
        self.results: dict[str, dict] = {}

    def build(self, hp):
        self.study.space.declare(hp)
        config = self.study.config(self.study.space.values(hp.values))
        return build_model(config, self.study.splits_of(config).train)

    def fit(self, hp, model, *args, trial_id: str = "0", epochs: int | None = None,
            initial_epoch: int = 0, **kwargs):
        result = self.study.run_trial(trial_id, hp.values, epochs)
        self.results[trial_id] = result
        _load_trained(model, Path(result["last_fold"]))
        return {"score": result["score"]}


def _load_trained(model: ClassifierModel, run_dir: Path) -> None:
    """Copy the weights a fold trained (its model/ folder) into keras-tuner's `model`."""
    folder = run_dir / "model"
    for modality, encoder in model.encoders.items():
        encoder.set_weights(keras.models.load_model(
            folder / f"{modality}_encoder.keras").get_weights())
    model.classifier.set_weights(keras.models.load_model(folder / "classifier.keras")
                                 .get_weights())


class ResumableGridSearchOracle(keras_tuner.oracles.GridSearchOracle):
    """keras-tuner's grid oracle, resumable.

    keras-tuner 1.4.8 keeps the grid order of its trials (a linked list) and the trials whose
    next grid point is still to be proposed only in memory. After a reload the first trial to
    end then fails with KeyError (its id is not in the empty list), and a search interrupted
    between two trials stops as if finished. Both are rebuilt here from the reloaded trials:
    every started trial in grid order, and the ended ones queued to propose their successors
    (an interrupted one is retried by keras-tuner, then queued when it ends).
    """

    def reload(self):
        import functools

        from keras_tuner.src.tuners.gridsearch import LinkedList

        super().reload()
        values = {trial_id: self.trials[trial_id].hyperparameters.values
                  for trial_id in self.start_order if trial_id in self.trials}
        ordered = sorted(values, key=functools.cmp_to_key(
            lambda a, b: self._compare(values[a], values[b])))
        self._ordered_ids = LinkedList()
        for trial_id in ordered:
            self._ordered_ids.insert(trial_id)
        self._populate_next = [t for t in ordered if t in set(self.end_order)]


class TfharTuner(keras_tuner.Tuner):
    """keras-tuner's Tuner running TfharHyperModel trials: the objective is a dict with its
    name ("score"), the trained model's weights are saved for `get_best_models`."""

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self._try_build(hp)
        result = self.hypermodel.fit(
            hp, model, trial_id=trial.trial_id, epochs=hp.values.get("tuner/epochs"),
            initial_epoch=hp.values.get("tuner/initial_epoch", 0))
        path = Path(self._get_checkpoint_fname(trial.trial_id))
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(str(path))
        return result
