"""data.pretrain_subjects: transductive pre-training on every subject's unlabelled windows,
the labelled, validation and test windows left as they are."""

import pytest

from tfhar.config import ConfigError, load_config
from tfhar.experiment.data import load_splits

SYNTHETIC = ["data.dataset=synthetic", "data.protocol=cross_subject",
             "data.options={num_classes: 3, samples_per_class_per_subject: 2, seed: 0}",
             "data.modalities=[inertial]", "method=simclr"]


def _subjects(record):
    return sorted({int(s) for s in record.subjects})


def test_all_subjects_pre_train_without_changing_what_is_labelled_or_scored():
    inductive = load_splits(load_config(None, SYNTHETIC))
    transductive = load_splits(load_config(None, [*SYNTHETIC, "data.pretrain_subjects=all"]))
    assert _subjects(inductive.pretrain) == [1, 3, 5]
    assert _subjects(transductive.pretrain) == list(range(1, 9))
    assert len(transductive.pretrain) == (len(inductive.train) + len(inductive.val)
                                          + len(inductive.test))
    for part in ("train", "val", "test"):
        assert (getattr(transductive, part).labels == getattr(inductive, part).labels).all()
        assert _subjects(getattr(transductive, part)) == _subjects(getattr(inductive, part))


@pytest.mark.parametrize("changes", [["method=supervised"],
                                     ["finetune.encoders={inertial: pyproject.toml}"]])
def test_it_is_refused_where_nothing_is_pre_trained(changes, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="data.pretrain_subjects: 'all' is set but never used"):
        load_config(None, [*SYNTHETIC, *changes, "data.pretrain_subjects=all"])


def test_a_bad_value_is_refused():
    with pytest.raises(ConfigError, match="data.pretrain_subjects"):
        load_config(None, [*SYNTHETIC, "data.pretrain_subjects=test"])
