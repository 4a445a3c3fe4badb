"""Subject-wise protocol splits and per-class label fractions."""

import numpy as np
import pytest

import tfhar.data
from tfhar.data import DataError, Record


def _record(name="utd_mhad", subjects=range(1, 9), per_subject=6, num_classes=3):
    subjects = np.repeat(np.array(list(subjects), np.int32), per_subject)
    labels = (np.arange(len(subjects)) % num_classes).astype(np.int32)
    return Record(
        name=name,
        labels=labels,
        subjects=subjects,
        class_names=tuple(f"c{i}" for i in range(num_classes)),
        inertial=np.arange(len(subjects), dtype=np.float32)[:, None, None]
        * np.ones((1, 4, 2), np.float32),
    )


def _subjects(part):
    return sorted(int(s) for s in np.unique(part.subjects))


def test_utd_cross_subject_is_the_authors_split():
    parts = tfhar.data.split(_record(), "cross_subject")
    assert list(parts) == ["train", "val", "test"]
    assert _subjects(parts["train"]) == [1, 3, 5]
    assert _subjects(parts["val"]) == [7]
    assert _subjects(parts["test"]) == [2, 4, 6, 8]
    # Rows travel with their data.
    np.testing.assert_array_equal(
        parts["test"].inertial[:, 0, 0], np.flatnonzero(_record().subjects % 2 == 0)
    )


def test_utd_paper_protocol_has_no_validation():
    parts = tfhar.data.split(_record(), "paper")
    assert _subjects(parts["train"]) == [1, 3, 5, 7]
    assert parts["val"] is None
    assert _subjects(parts["test"]) == [2, 4, 6, 8]


@pytest.mark.parametrize(
    ("subjects", "train", "val", "test"),
    [
        (range(1, 9), [1, 3, 5], [7], [2, 4, 6, 8]),
        (range(1, 11), [1, 3, 5, 7], [9], [2, 4, 6, 8, 10]),
        ((1, 2), [1], None, [2]),
    ],
)
def test_generic_cross_subject_by_subject_ids(subjects, train, val, test):
    parts = tfhar.data.split(_record("synthetic", subjects), "cross_subject")
    assert _subjects(parts["train"]) == train
    assert (None if parts["val"] is None else _subjects(parts["val"])) == val
    assert _subjects(parts["test"]) == test


def test_generic_paper_protocol():
    parts = tfhar.data.split(_record("synthetic", range(1, 5)), "paper")
    assert (_subjects(parts["train"]), parts["val"], _subjects(parts["test"])) == (
        [1, 3],
        None,
        [2, 4],
    )


def test_splits_are_disjoint_and_cover_the_record():
    record = tfhar.data.load("synthetic", num_subjects=8, samples_per_class_per_subject=1)
    parts = tfhar.data.split(record)
    assert sum(len(p) for p in parts.values()) == len(record)


def test_unknown_protocol_lists_the_allowed_ones():
    with pytest.raises(DataError, match="'cross_scene'.*cross_subject, paper"):
        tfhar.data.split(_record(), "cross_scene")


def test_a_protocol_whose_subjects_are_absent_raises():
    with pytest.raises(DataError, match=r"subjects \[7\] in val"):
        tfhar.data.split(_record(subjects=(1, 2, 3)), "cross_subject")


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0.01, 1), (0.1, 2), (0.25, 4), (0.5, 8), (1.0, 16)]
)
def test_label_fraction_keeps_that_fraction_of_each_class(fraction, expected):
    record = _record(per_subject=6)  # 48 rows: 16 per class.
    kept = tfhar.data.label_fraction(record, fraction, seed=0)
    np.testing.assert_array_equal(np.bincount(kept.labels), [expected] * 3)
    assert np.all(np.diff(kept.inertial[:, 0, 0]) > 0)  # Original order, no repeats.


def test_label_fraction_is_deterministic_in_the_seed():
    record = _record()
    a = tfhar.data.label_fraction(record, 0.25, seed=1).inertial[:, 0, 0]
    b = tfhar.data.label_fraction(record, 0.25, seed=1).inertial[:, 0, 0]
    c = tfhar.data.label_fraction(record, 0.25, seed=2).inertial[:, 0, 0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_label_fraction_index_is_the_rows_label_fraction_keeps():
    record = _record(per_subject=6)  # 16 rows per class.
    index = tfhar.data.label_fraction_index(record.labels, 0.25, seed=3)
    np.testing.assert_array_equal(record.inertial[index],
                                  tfhar.data.label_fraction(record, 0.25, seed=3).inertial)
    # 1% and 5% both round to one row per class: the same rows for the same seed.
    np.testing.assert_array_equal(tfhar.data.label_fraction_index(record.labels, 0.01, 3),
                                  tfhar.data.label_fraction_index(record.labels, 0.05, 3))
    assert len(tfhar.data.label_fraction_index(record.labels, 0.1, 3)) == 6


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan"), "half", True])
def test_label_fraction_rejects_fractions_outside_zero_one(fraction):
    with pytest.raises(DataError, match="fraction"):
        tfhar.data.label_fraction(_record(), fraction, seed=0)


def test_berkeley_cross_subject_holds_subject_7_out():
    parts = tfhar.data.split(_record("berkeley_mhad", range(1, 13)), "cross_subject")
    assert _subjects(parts["train"]) == [1, 2, 3, 4, 5, 6]
    assert _subjects(parts["val"]) == [7]
    assert _subjects(parts["test"]) == [8, 9, 10, 11, 12]


def test_berkeley_paper_protocol_trains_on_the_first_seven():
    parts = tfhar.data.split(_record("berkeley_mhad", range(1, 13)), "paper")
    assert _subjects(parts["train"]) == [1, 2, 3, 4, 5, 6, 7]
    assert parts["val"] is None
    assert _subjects(parts["test"]) == [8, 9, 10, 11, 12]
    assert tfhar.data.protocols("berkeley_mhad") == ("cross_subject", "paper",
                                                     "leave_subjects_out")


def test_leave_subjects_out_with_named_subjects():
    record = _record("synthetic", range(1, 7))
    parts = tfhar.data.split(record, "leave_subjects_out", {"test": [5, 6], "val": [4]})
    assert _subjects(parts["train"]) == [1, 2, 3]
    assert _subjects(parts["val"]) == [4] and _subjects(parts["test"]) == [5, 6]


def test_leave_subjects_out_drawn_is_reproducible_and_disjoint():
    record = _record("synthetic", range(1, 11))
    options = {"num_test": 3, "num_val": 2, "seed": 7}
    first = tfhar.data.split(record, "leave_subjects_out", options)
    again = tfhar.data.split(record, "leave_subjects_out", options)
    other = tfhar.data.split(record, "leave_subjects_out", {**options, "seed": 8})
    sets = [set(_subjects(first[p])) for p in ("train", "val", "test")]
    assert [len(s) for s in sets] == [5, 2, 3] and set().union(*sets) == set(range(1, 11))
    assert all(_subjects(first[p]) == _subjects(again[p]) for p in first)
    assert any(_subjects(first[p]) != _subjects(other[p]) for p in first)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"test": [9]}, r"subjects \[9\] are not in the data"),
    ({"test": [1], "val": [1]}, "in both val and test"),
    ({"num_test": 6}, "no training subject"),
    ({"num_test": -1}, "num_test"),
    ({"tests": [1]}, "unknown option"),
])
def test_leave_subjects_out_refuses_bad_options(options, fragment):
    with pytest.raises(DataError, match=fragment):
        tfhar.data.split(_record("synthetic", range(1, 7)), "leave_subjects_out", options)


def test_a_dataset_may_define_its_own_protocols():
    import dataclasses

    from tfhar.data.splits import Protocol

    record = dataclasses.replace(_record("synthetic", range(1, 7)),
                                 protocols={"mine": Protocol((1, 2, 3), (6,), (4, 5))})
    parts = tfhar.data.split(record, "mine")
    assert _subjects(parts["train"]) == [1, 2, 3] and _subjects(parts["val"]) == [6]
    assert "mine" in tfhar.data.protocols(record.name, record)


def test_a_protocol_may_split_by_scene():
    import dataclasses

    from tfhar.data.splits import Protocol

    base = _record("synthetic", range(1, 7))
    scenes = np.arange(len(base.labels), dtype=np.int32) % 4 + 1
    record = dataclasses.replace(base, scenes=scenes,
                                 protocols={"cross_scene": Protocol((1, 3, 4), None, (2,),
                                                                    by="scenes")})
    parts = tfhar.data.split(record, "cross_scene")
    assert set(parts["test"].scenes) == {2} and set(parts["train"].scenes) == {1, 3, 4}
    assert len(parts["train"]) + len(parts["test"]) == len(record)


def test_a_subject_in_two_parts_is_refused():
    from tfhar.data.splits import Protocol

    with pytest.raises(DataError, match=r"subjects \[3\] in both train and test"):
        Protocol((1, 2, 3), None, (3, 4))
