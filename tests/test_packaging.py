"""A wheel of tfhar installs and runs from any directory: CLIs, shipped configs, pipelines.

The wheel is built from a copy of the sources and installed into a fresh virtual environment
that borrows this environment's dependencies (TensorFlow and the rest) through a path file,
without this checkout or its editable install: what a user's `pip install tfhar` gives.
"""

import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("setup.py", "pyproject.toml", "README.md", "LICENSE", "tfhar", "configs", "pipelines")


def run(command: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-3000:])
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv with the wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "results", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(root / "dist"), str(source)], cwd=root)
    (wheel,) = (root / "dist").glob("tfhar-*.whl")
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    (purelib,) = venv.glob("lib/python*/site-packages")
    # This environment's packages (TensorFlow, pip, ...), not its .pth files: the editable
    # install of this checkout is a .pth file, so it does not come along.
    (purelib / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         str(wheel)], cwd=root)
    return venv / "bin"


def test_wheel_holds_the_configs_and_pipelines_inside_tfhar(installed):
    (wheel,) = installed.parent.parent.glob("dist/tfhar-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tfhar/configs/utd_mhad/cmc.yaml" in names
    assert "tfhar/configs/tune/synthetic_simclr_inertial.yaml" in names
    assert "tfhar/pipelines/table1.py" in names
    assert "tfhar/data/checksums/utd_mhad.sha256" in names
    assert not [n for n in names if n.startswith(("pipelines/", "configs/"))]


def test_cli_help_and_a_run_by_config_name_from_an_empty_directory(installed, tmp_path):
    where = run([str(installed / "python"), "-c", "import tfhar; print(tfhar.__file__)"],
                cwd=tmp_path).stdout
    assert str(installed.parent) in where  # The wheel's copy, not this checkout.
    for script in ("tfhar-train", "tfhar-export", "tfhar-predict", "tfhar-data", "tfhar-tune"):
        assert "usage:" in run([str(installed / script), "--help"], cwd=tmp_path).stdout
    assert "utd_mhad/cmc" in run([str(installed / "tfhar-train"), "--help"], cwd=tmp_path).stdout
    run([str(installed / "tfhar-train"), "--config", "synthetic/simclr_inertial",
         "--run-dir", "run", "--set", "pretrain.epochs=1", "--set", "finetune.epochs=1",
         "--set", "data.options.samples_per_class_per_subject=2",
         "--set", "runtime.verbose=0"], cwd=tmp_path)
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_pipelines_run_as_modules_of_the_installed_package(installed, tmp_path):
    result = run([str(installed / "python"), "-m", "tfhar.pipelines.table1", "--help"],
                 cwd=tmp_path)
    assert "--out" in result.stdout
