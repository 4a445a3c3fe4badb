"""The public API of tfhar.data, its registry and the summary command line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tfhar.data
from tfhar.data import DataError
from tfhar.data.__main__ import main

PROJECT = Path(__file__).resolve().parents[2]


def test_exports():
    for name in ("load", "split", "label_fraction", "Record", "DataError", "available_datasets"):
        assert hasattr(tfhar.data, name)
    assert issubclass(DataError, ValueError)
    assert tfhar.data.available_datasets() == ("synthetic", "utd_mhad")


def test_unknown_dataset_lists_the_available_ones():
    with pytest.raises(DataError, match="unknown dataset 'mnist'; available: synthetic, utd_mhad"):
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
