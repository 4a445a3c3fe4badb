"""How a trial is scored without the test subjects: folds over the training subjects.

    score: {metric: accuracy, folds: loso, pretrain: shared}

- `folds: validation` (default): one fold, the config's own split: train on its training
  subjects, pick the checkpoint and score on its validation subject(s).
- `folds: loso`: leave one subject out over every training and validation subject: each is in
  turn the held-out subject (checkpoint chosen and scored on it), the others train. The score is
  the mean over folds; with one validation subject the choice of checkpoint is noise.
- `folds: nested_loso`: as loso, but the checkpoint of each fold is chosen on the next subject
  in turn and the held-out one is only scored, so the score is not biased by that choice (for
  comparing checkpoint rules; it trains on one subject fewer).

`metric`: accuracy or macro_f1 of the held-out windows. `pretrain: shared` pre-trains an SSL
method once per trial on every training window (no labels, no test subject) and fine-tunes each
fold on those encoders; `per_fold` (default) pre-trains in every fold without its held-out
subject (the fair estimate for an SSL method: the scored subject stays unseen, as the test
subjects are), once per fold and pre-training setting: trials that differ only after
pre-training share it (<project>/pretrain/<hash>-<fold>).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfhar.config import ConfigError
from tfhar.data import Record
from tfhar.data import label_fraction as fraction_of
from tfhar.experiment.data import Splits

METRICS = ("accuracy", "macro_f1")
FOLDS = ("validation", "loso", "nested_loso")
PRETRAIN = ("per_fold", "shared")


@dataclasses.dataclass(frozen=True)
class Scoring:
    metric: str = "accuracy"
    folds: str = "validation"
    pretrain: str = "per_fold"

    @classmethod
    def parse(cls, spec: Any) -> Scoring:
        """The `score:` section; ConfigError naming the key when it is malformed."""
        spec = {} if spec is None else spec
        if not isinstance(spec, Mapping):
            raise ConfigError(f"score: expected a mapping, got {spec!r}")
        allowed = {"metric": METRICS, "folds": FOLDS, "pretrain": PRETRAIN}
        for key, value in spec.items():
            if key not in allowed:
                raise ConfigError(f"score.{key}: unknown key; allowed: {', '.join(allowed)}")
            if value not in allowed[key]:
                raise ConfigError(f"score.{key}: {value!r} is not allowed; choose one of "
                                  f"{', '.join(allowed[key])}")
        return cls(**spec)


@dataclasses.dataclass(frozen=True)
class Fold:
    """One fold: its name, the windows it trains and picks the checkpoint on, and the held-out
    windows it is scored on (`splits.test`)."""

    name: str
    splits: Splits


def _subjects(record: Record) -> list[int]:
    return sorted(int(s) for s in np.unique(record.subjects))


def make_folds(splits: Splits, scoring: Scoring, label_fraction: float = 1.0,
               label_fraction_seed: int = 0) -> list[Fold]:
    """The folds of `scoring` over the training (and validation) subjects of `splits`; the
    test subjects are never used. Raises ConfigError when the split cannot give them.

    With `label_fraction` < 1 (the config's `data.label_fraction`, which `splits.train` already
    holds), each leave-one-subject-out fold labels that fraction of its own training windows
    per class (`tfhar.data.label_fraction`, seed `label_fraction_seed`): every fold then trains
    with as few labels as the config does, never with all of the validation subject's."""
    if scoring.folds == "validation":
        if splits.val is None:
            raise ConfigError("score.folds: validation needs a protocol with a validation "
                              "subject (e.g. cross_subject); use loso")
        return [Fold("validation", Splits(splits.train, splits.val, splits.val,
                                          splits.unlabeled))]
    labelled = splits.train if splits.val is None else splits.train.concat(splits.val)
    windows = training_windows(splits)
    if label_fraction < 1.0:
        labelled = windows
    subjects = _subjects(windows)
    if len(subjects) < (3 if scoring.folds == "nested_loso" else 2):
        raise ConfigError(f"score.folds: {scoring.folds} needs more training subjects than "
                          f"{subjects}")
    folds = []
    for index, held_out in enumerate(subjects):
        chooser = subjects[(index + 1) % len(subjects)] if scoring.folds == "nested_loso" \
            else held_out
        keep = [s for s in subjects if s not in (held_out, chooser)]

        def rows(record: Record, members: list[int]) -> Record:
            return record.subset(np.isin(record.subjects, members))

        train = rows(labelled, keep)
        if label_fraction < 1.0:
            train = fraction_of(train, label_fraction, label_fraction_seed)
        folds.append(Fold(f"subject{held_out}", Splits(
            train=train, val=rows(windows, [chooser]),
            test=rows(windows, [held_out]), unlabeled=rows(windows, keep))))
    return folds


def training_windows(splits: Splits) -> Record:
    """Every window of the training and validation subjects (never a test subject)."""
    return splits.pretrain if splits.val is None else splits.pretrain.concat(splits.val)


def fold_score(metrics: Mapping[str, Any], scoring: Scoring) -> float:
    """The fold's score from its run's metrics (on the held-out windows)."""
    return float(metrics[scoring.metric])
