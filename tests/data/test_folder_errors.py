"""Bad folder datasets: each is one DataError line naming the file and the key (dataset.yaml),
the line (labels.csv) or what was expected (a recording); the data command line prints it as
one `error:` line with exit status 2."""

import copy

import numpy as np
import pytest

from tests.data.test_folder import (
    SPEC,
    jittered_times,
    line,
    load,
    sequence_names,
    skeleton_frames,
    write_csv,
    write_folder,
    write_labels,
    write_npy,
    write_spec,
)
from tfhar.data import DataError

FIRST = sequence_names()[0][0]


def spec_with(change):
    """A copy of SPEC changed by `change(spec)`."""
    spec = copy.deepcopy(SPEC)
    change(spec)
    return spec


def set_key(path: str, value):
    """A change setting SPEC's `a.b` to value."""
    def change(spec):
        *parents, last = path.split(".")
        node = spec
        for key in parents:
            node = node[key]
        node[last] = value
    return change


def bad_spec(change):
    return lambda root: write_spec(root, spec_with(change))


def rows_with(**changes):
    """labels.csv rows with the first row's fields replaced."""
    def write(root):
        rows = sequence_names()
        first = dict(zip(("sequence", "label", "subject"), rows[0], strict=True))
        rows[0] = tuple({**first, **changes}.values())
        write_labels(root, rows)
    return write


def csv_without_channel(root):
    import pandas as pd

    path = root / "inertial" / f"{FIRST}.csv"
    pd.read_csv(path).drop(columns="gyro_y").to_csv(path, index=False)


def csv_with_nan(root):
    times = jittered_times(seed=0)
    values = line(FIRST, times)
    values[7, 3] = np.nan
    write_csv(root, FIRST, times, values)


def npy_with_nan(root):
    frames = skeleton_frames(FIRST)
    frames[5, 2, 1] = np.nan
    write_npy(root, FIRST, frames)


def one_class(root):
    write_labels(root, [(s, "walk", subject) for s, _, subject in sequence_names()])


def remove(*parts):
    return lambda root: root.joinpath(*parts).unlink()


def missing_sequence(root):
    rows = sequence_names()
    write_labels(root, [*rows, ("s9_typo", "wave", 4)])


def no_skeleton_folder(root):
    for path in root.glob("skeleton/*"):
        path.unlink()
    root.joinpath("skeleton").rmdir()


def dims_differ(root):
    write_npy(root, sequence_names()[1][0], skeleton_frames(FIRST, dims=2))


S = r"dataset\.yaml: "  # dataset.yaml messages start with its path.
CASES = {
    # The cases the brief lists.
    "listed sequence missing": (missing_sequence, r"labels\.csv: sequence 's9_typo' \(line 14\) "
                                r"has no file: expected .*inertial/s9_typo\.csv or "
                                r".*skeleton/s9_typo\.npy"),
    "CSV lacks a channel": (csv_without_channel, rf"{FIRST}\.csv: lacks channel column\(s\) "
                            r"gyro_y listed in dataset\.yaml inertial\.channels; found "),
    "unknown top-level key": (bad_spec(set_key("labels", "x")), S + r"unknown key labels; "
                              r"allowed: name, inertial, skeleton, splits"),
    "unknown inertial key": (bad_spec(set_key("inertial.chanels", ["a"])),
                             S + r"unknown key inertial\.chanels; allowed under inertial: "
                             r"rate_hz, channels"),
    "unknown skeleton key": (bad_spec(set_key("skeleton.center", "spine")),
                             S + r"unknown key skeleton\.center; allowed under skeleton: "),
    "unknown splits key": (bad_spec(set_key("splits.validation", [3])),
                           S + r"unknown key splits\.validation; allowed under splits: "
                           r"train, val, test"),
    "one class": (one_class, r"labels\.csv: every sequence has the label 'walk'; a "
                  r"classifier needs at least 2 classes"),
    "subject in two splits": (bad_spec(set_key("splits.test", [2, 4])),
                              S + r"splits\.test: subject 2 is also in splits\.train; each "
                              r"subject belongs to one split"),
    "units of the wrong length": (bad_spec(set_key("inertial.units", ["g", "g"])),
                                  S + r"inertial\.units: 2 units for 6 channels"),
    "center joint not in joints": (bad_spec(set_key("skeleton.center_joint", "chest")),
                                   S + r"skeleton\.center_joint: 'chest' is not in "
                                   r"skeleton\.joints \(pelvis, spine, neck, head\)"),
    "scale joint not in joints": (bad_spec(set_key("skeleton.scale_joints", ["spine", "hed"])),
                                  S + r"skeleton\.scale_joints: 'hed' is not in skeleton\.joints"),
    "NaN in a CSV": (csv_with_nan, rf"{FIRST}\.csv: 1 NaN, missing or non-numeric value\(s\), "
                     r"the first in column 'gyro_x' at data row 8"),
    "NaN in a .npy": (npy_with_nan, rf"{FIRST}\.npy: 1 NaN/Inf value\(s\), the first in frame 5"),
    ".npy of the wrong joints": (lambda root: write_npy(root, FIRST, np.zeros((90, 5, 3))),
                                 rf"{FIRST}\.npy: array of shape \(90, 5, 3\) dtype float64; "
                                 r"expected numbers shaped \(T >= 2, 4, 2 or 3\)"),
    ".npy of 4 coordinates": (lambda root: write_npy(root, FIRST, np.zeros((90, 4, 4))),
                              rf"{FIRST}\.npy: array of shape \(90, 4, 4\)"),
    ".npy of 2 dimensions": (lambda root: write_npy(root, FIRST, np.zeros((90, 12))),
                             rf"{FIRST}\.npy: array of shape \(90, 12\)"),
    # Further faults.
    "coordinates differ between files": (dims_differ, r"s1_walk\.npy: array of shape "
                                         r"\(90, 4, 2\) .*expected numbers shaped "
                                         r"\(T >= 2, 4, 3\)"),
    "subject not an integer": (rows_with(subject="S01"), r"labels\.csv: line 2: subject 'S01' "
                               r"is not an integer; subject ids are integers"),
    "sequence listed twice": (rows_with(sequence="s1_walk"), r"labels\.csv: line 3: sequence "
                              r"'s1_walk' is listed again \(first on line 2\)"),
    "sequence with a folder": (rows_with(sequence="../x"), r"labels\.csv: line 2: sequence "
                               r"'\.\./x' is not a file name"),
    "empty label": (rows_with(label=""), r"labels\.csv: line 2: sequence 's1_wave' has no label"),
    "unknown labels column": (lambda root: write_labels(
        root, [(*r, 1) for r in sequence_names()], "sequence,label,subject,subjcet"),
        r"labels\.csv: unknown column 'subjcet'; columns: sequence, label, subject and "
        r"optionally session, trial"),
    "no labels.csv": (remove("labels.csv"), r"labels\.csv: missing; list every sequence"),
    "no dataset.yaml": (remove("dataset.yaml"), S + r"missing; a folder dataset describes"),
    "not YAML": (lambda root: root.joinpath("dataset.yaml").write_text("inertial: [a\n"),
                 S + r"not valid YAML"),
    "a sensor of 2 channels": (bad_spec(set_key("inertial.sensors.watch_acc", ["acc_x", "acc_y"])),
                               S + r"inertial\.sensors\.watch_acc: expected the 3 channels of "
                               r"one three-axis sensor"),
    "a sensor channel not declared": (bad_spec(set_key("inertial.sensors.watch_acc",
                                                       ["acc_x", "acc_y", "acc_w"])),
                                      S + r"inertial\.sensors\.watch_acc: 'acc_w' is not in "
                                      r"inertial\.channels"),
    "a channel in two sensors": (bad_spec(set_key("inertial.sensors.watch_acc",
                                                  ["acc_x", "acc_y", "gyro_z"])),
                                 S + r"inertial\.sensors\.watch_acc: channel 'gyro_z' is "
                                 r"already in sensor 'watch_gyro'"),
    "rate not a number": (bad_spec(set_key("inertial.rate_hz", "fast")),
                          S + r"inertial\.rate_hz: 'fast' is not a positive number"),
    "rate missing": (bad_spec(lambda spec: spec["skeleton"].pop("rate_hz")),
                     S + r"skeleton\.rate_hz: missing; skeleton: needs rate_hz, joints"),
    "a channel listed twice": (bad_spec(set_key("inertial.channels", ["acc_x", "acc_x"])),
                               S + r"inertial\.channels: 'acc_x' is listed twice"),
    "range of the wrong length": (bad_spec(set_key("inertial.range", [16, 16])),
                                  S + r"inertial\.range: 2 values for 6 channels"),
    "unknown time unit": (bad_spec(set_key("inertial.time_unit", "minutes")),
                          S + r"inertial\.time_unit: 'minutes'; expected auto or one of s, ms"),
    "a reserved name": (bad_spec(set_key("name", "utd_mhad")),
                        S + r"name: 'utd_mhad'; expected a name other than the built-in"),
    "split subject without sequences": (bad_spec(set_key("splits.test", [4, 9])),
                                        S + r"splits\.test: subject 9 has no sequence in "
                                        r"labels\.csv"),
    "split ids not integers": (bad_spec(set_key("splits.val", ["three"])),
                               S + r"splits\.val: expected a non-empty list of integer "
                               r"subject ids"),
    "no modality section": (bad_spec(lambda spec: [spec.pop("inertial"), spec.pop("skeleton")]),
                            S + r"has neither an inertial: nor a skeleton: section"),
    "modality folder missing": (no_skeleton_folder, r"folder dataset: no folder .*skeleton for "
                                r"the skeleton modality"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_one_line_naming_the_file(tmp_path, case):
    breaks, message = CASES[case]
    root = write_folder(tmp_path / "mine")
    breaks(root)
    with pytest.raises(DataError) as caught:
        load(root)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(str(root)) or text.startswith("folder dataset: ")
    assert caught.match(message)


def test_a_modality_that_dataset_yaml_lacks_is_refused(tmp_path):
    root = write_folder(tmp_path / "mine", spec_with(lambda spec: spec.pop("skeleton")))
    with pytest.raises(DataError, match=r"dataset\.yaml: no skeleton: section, but modalities "
                                        r"\('inertial', 'skeleton'\) were asked for; load "
                                        r"modalities=\('inertial',\)"):
        load(root, modalities=("inertial", "skeleton"))


@pytest.mark.parametrize(("options", "message"), [
    ({"modalities": ("imu",)}, r"modalities=\('imu',\)"),
    ({"window_length": 1}, r"window_length=1; expected an integer >= 2"),
    ({"on_error": "ignore"}, r"on_error='ignore'"),
])
def test_bad_options_are_refused(tmp_path, options, message):
    root = write_folder(tmp_path / "mine")
    with pytest.raises(DataError, match=message):
        load(root, **options)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError, match=rf"folder dataset: {tmp_path / 'nowhere'} does not exist"):
        load(tmp_path / "nowhere")


def test_the_data_command_line_prints_one_error_line(tmp_path, capsys):
    from tfhar.data.__main__ import main

    root = write_folder(tmp_path / "mine")
    write_spec(root, spec_with(set_key("inertial.units", ["g"] * 5)))
    assert main(["summary", "folder", "--root", str(root), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {root / 'dataset.yaml'}: inertial.units: 5 units for 6")
