"""Folds over the training subjects: the test subjects never appear, each subject is held out
once, nested folds choose the checkpoint elsewhere."""

import numpy as np
import pytest

import tfhar.data
from tfhar.config import ConfigError
from tfhar.experiment.data import Splits
from tfhar.tuning.scoring import Scoring, make_folds, training_windows


def _splits():
    record = tfhar.data.load("synthetic", num_classes=3, samples_per_class_per_subject=2)
    parts = tfhar.data.split(record, "cross_subject")
    return Splits(parts["train"], parts["val"], parts["test"], parts["train"])


def _subjects(record):
    return sorted({int(s) for s in record.subjects})


@pytest.mark.parametrize("folds", ["loso", "nested_loso"])
def test_folds_hold_out_each_training_subject_and_never_a_test_subject(folds):
    splits = _splits()
    made = make_folds(splits, Scoring(folds=folds))
    assert [f.name for f in made] == ["subject1", "subject3", "subject5", "subject7"]
    test_subjects = set(_subjects(splits.test))
    for fold in made:
        parts = fold.splits
        held_out = _subjects(parts.test)
        assert len(held_out) == 1 and f"subject{held_out[0]}" == fold.name
        for record in (parts.train, parts.val, parts.test, parts.unlabeled):
            assert not set(_subjects(record)) & test_subjects
        assert held_out[0] not in _subjects(parts.train) + _subjects(parts.unlabeled)
        if folds == "loso":
            assert _subjects(parts.val) == held_out
        else:
            assert _subjects(parts.val) != held_out
            assert not set(_subjects(parts.val)) & set(_subjects(parts.train))


def test_validation_scoring_is_the_configs_own_split():
    splits = _splits()
    (fold,) = make_folds(splits, Scoring())
    assert fold.splits.test is splits.val and fold.splits.train is splits.train


def test_training_windows_are_the_training_and_validation_subjects():
    assert _subjects(training_windows(_splits())) == [1, 3, 5, 7]


@pytest.mark.parametrize(("spec", "fragment"), [
    ({"metric": "auc"}, "score.metric"), ({"folds": "kfold"}, "score.folds"),
    ({"fold": "loso"}, "score.fold: unknown"), ("loso", "expected a mapping"),
])
def test_bad_score_specs(spec, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Scoring.parse(spec)


def test_validation_folds_need_a_validation_subject():
    splits = _splits()
    with pytest.raises(ConfigError, match="validation subject"):
        make_folds(Splits(splits.train, None, splits.test), Scoring(folds="validation"))


@pytest.mark.parametrize("folds", ["loso", "nested_loso"])
def test_loso_folds_label_the_configs_fraction_of_their_own_training_windows(folds):
    """With data.label_fraction < 1, splits.train holds the fraction of subjects 1, 3, 5 but
    the validation subject 7 is labelled in full: a fold training on 7 must label only the
    same fraction of it, or a few-labels search would train on many more labels than the
    config it tunes."""
    record = tfhar.data.load("synthetic", num_classes=3, samples_per_class_per_subject=4)
    parts = tfhar.data.split(record, "cross_subject")
    few = tfhar.data.label_fraction(parts["train"], 0.25, seed=0)
    splits = Splits(few, parts["val"], parts["test"], parts["train"])
    for fold in make_folds(splits, Scoring(folds=folds), 0.25, 0):
        train = fold.splits.train
        assert len(_subjects(train)) == (3 if folds == "loso" else 2)
        # One window of each class per 4 (3 subjects x 4 windows x 0.25 = 3, or 2 subjects).
        assert sorted(np.bincount(train.labels)) == [len(_subjects(train))] * 3
        assert len(fold.splits.unlabeled.labels) == 4 * 3 * len(_subjects(train))
    # Without a fraction every training window of the fold is labelled.
    full = Splits(parts["train"], parts["val"], parts["test"], parts["train"])
    for fold in make_folds(full, Scoring(folds=folds)):
        assert len(fold.splits.train.labels) == len(fold.splits.unlabeled.labels)
