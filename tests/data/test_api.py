"""The public API of tfhar.data, its registry and the summary command line."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import tfhar.data
from tfhar.data import DataError
from tfhar.data.__main__ import main

PROJECT = Path(__file__).resolve().parents[2]


def test_exports():
    for name in ("load", "split", "label_fraction", "Record", "DataError", "available_datasets"):
        assert hasattr(tfhar.data, name)
    assert issubclass(DataError, ValueError)
    available = tfhar.data.available_datasets()
    assert {"synthetic", "utd_mhad"} <= set(available) and list(available) == sorted(available)


def test_unknown_dataset_lists_the_available_ones():
    names = ", ".join(tfhar.data.available_datasets())
    with pytest.raises(DataError, match=f"unknown dataset 'mnist'; available: {names}$"):
        tfhar.data.load("mnist")


def test_unknown_option_is_named_with_the_allowed_ones(fake_utd):
    with pytest.raises(DataError, match="unknown option.*window_len.*allowed:.*window_length"):
        tfhar.data.load("utd_mhad", fake_utd(), window_len=50)
    with pytest.raises(DataError, match="unknown option.*cache_dir.*'synthetic'"):
        tfhar.data.load("synthetic", cache_dir="x")


def test_root_defaults_to_the_data_dir_environment_variable(fake_utd, tmp_path, monkeypatch):
    fake_utd()
    monkeypatch.setenv("TFHAR_DATA_DIR", str(tmp_path))
    assert tfhar.data.default_root("utd_mhad") == tmp_path / "utd_mhad"
    assert len(tfhar.data.load("utd_mhad", cache=False)) == 5
    monkeypatch.setenv("TFHAR_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DataError, match=str(tmp_path / "elsewhere" / "utd_mhad")):
        tfhar.data.load("utd_mhad", cache=False)


def test_importing_the_data_layer_does_not_import_tensorflow():
    code = "import sys, tfhar.data, tfhar.data.__main__; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert result.stdout.strip() == "False"


def test_summary_prints_counts_shapes_and_classes(fake_utd, tmp_path, capsys):
    root = fake_utd()
    assert (
        main(["summary", "utd_mhad", "--root", str(root), "--cache-dir", str(tmp_path / "c")]) == 0
    )
    out = capsys.readouterr().out
    assert "utd_mhad: 5 sequences, 27 classes, 3 subjects [1, 2, 4]" in out
    assert "inertial: (5, 50, 6) float32" in out and "skeleton: (5, 50, 20, 3) float32" in out
    assert "0 right arm swipe to the left (3)" in out


def test_summary_of_synthetic(capsys):
    assert main(["summary", "synthetic"]) == 0
    assert "synthetic: 288 sequences, 6 classes, 8 subjects" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "utd_mhad", "--root", "{tmp}/missing"], "UTD-MHAD not found"),
        (["summary", "mnist"], "unknown dataset 'mnist'"),
        (["download", "mnist"], "unknown dataset 'mnist'"),
        (["download", "synthetic", "--root", "{tmp}/s"], "nothing to download"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def _extra_pair(root, stem):
    rng = np.random.default_rng(0)
    inertial = rng.normal(size=(64, 6))
    scipy.io.savemat(root / "Inertial" / f"{stem}_inertial.mat", {"d_iner": inertial})
    pose = np.arange(20)[:, None, None] + rng.normal(size=(20, 3, 40))
    scipy.io.savemat(root / "Skeleton" / f"{stem}_skeleton.mat", {"d_skel": pose})


def _zero_frames(root, stem):
    path = root / "Skeleton" / f"{stem}_skeleton.mat"
    data = scipy.io.loadmat(path)["d_skel"]
    data[:, :, 10:20] = 0.0
    scipy.io.savemat(path, {"d_skel": data})


def _two_samples(root, stem):
    scipy.io.savemat(root / "Inertial" / f"{stem}_inertial.mat", {"d_iner": np.ones((2, 6))})


BAD_DATA = {
    "action 28": (lambda root: _extra_pair(root, "a28_s1_t1"), "a28_s1_t1_inertial.mat: not a"),
    "action 0": (lambda root: _extra_pair(root, "a0_s1_t1"), "a0_s1_t1_inertial.mat: not a"),
    "zero frames": (lambda root: _zero_frames(root, "a1_s1_t1"), "frames 10..19 (0-based)"),
    "two samples": (lambda root: _two_samples(root, "a3_s4_t4"), "2 samples at 50 Hz last"),
    "corrupt": (
        lambda root: (root / "Skeleton" / "a2_s1_t1_skeleton.mat").write_bytes(b"junk"),
        "a2_s1_t1_skeleton.mat: cannot read MATLAB file",
    ),
}


@pytest.mark.parametrize("case", BAD_DATA)
def test_summary_of_bad_data_is_one_error_line(fake_utd, tmp_path, capsys, case):
    damage, message = BAD_DATA[case]
    root = fake_utd()
    damage(root)
    argv = ["summary", "utd_mhad", "--root", str(root), "--cache-dir", str(tmp_path / "c")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: ") and message in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary"], "error: the following arguments are required: dataset"),
        (["fetch", "utd_mhad"], "error: argument command: invalid choice: 'fetch'"),
        (["download", "utd_mhad", "--sha256"], "error: argument --sha256: expected one argument"),
    ],
)
def test_bad_arguments_are_one_error_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith(message) and err.count("\n") == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "error: --sha256 'abc': expected ARCHIVE=HEX"),
        ("Depth.zip=" + "0" * 64, "error: archive SHA-256 Depth.zip=000"),
        ("Inertial.zip=xyz", "ARCHIVE one of Inertial.zip, Skeleton.zip and HEX 64 hexadecimal"),
    ],
)
def test_a_bad_archive_hash_is_refused_before_anything_is_written(tmp_path, capsys, value, message):
    root = tmp_path / "utd"
    assert main(["download", "utd_mhad", "--root", str(root), "--sha256", value]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    assert not root.exists()


def test_module_runs_as_a_program(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tfhar.data", "summary", "utd_mhad", "--root", str(tmp_path)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: UTD-MHAD not found")
    assert f"python -m tfhar.data download utd_mhad --root {tmp_path}" in result.stderr
