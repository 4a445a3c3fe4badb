"""pipelines.phone_windows with a fake training and export: runs and exports reused, figures
tabulated per run and summarised per variant, the choice made on validation figures only, and
folders tfhar did not write refused and left alone."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

from pipelines import phone_windows
from pipelines.common import config_path
from tfhar.experiment.run_directory import MARKER, marker_kind

CONFIG = config_path(*phone_windows.CONFIG)
WINDOW_S = 3.52


class FakeTools:
    """subprocess.run replaced: `tfhar.train` writes a finished run of its config and
    `tfhar.export` a marked export folder of it; both are recorded. The measurements return
    figures that depend on the variant (whole: 0.8, segments: 0.6 on segments, 0.7 on
    streams) and the seed (+0.01 per seed)."""

    def __init__(self, monkeypatch, export_status=0):
        self.calls, self.export_status, self.test_measured = [], export_status, []
        monkeypatch.setattr("subprocess.run", self.run)
        monkeypatch.setattr(phone_windows, "reference",
                            lambda config: (WINDOW_S, (7,), None))
        monkeypatch.setattr(phone_windows, "measure_test", self.measure_test)
        monkeypatch.setattr(phone_windows, "measure_validation", self.measure_validation)

    def run(self, command, stdout=None, **kwargs):
        assert command[:2] == [sys.executable, "-m"]
        options = dict(zip(command[3::2], command[4::2], strict=False))
        self.calls.append((command[2], options.get("--run-dir")))
        status = self.train(command[3:]) if command[2] == "tfhar.train" else self.export(
            options)
        return type("Result", (), {"returncode": status})()

    @staticmethod
    def train(argv):
        from pathlib import Path

        from tfhar.config import dump_config, load_config
        from tfhar.experiment.run_directory import RunDirectory, write_marker

        sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
        run_dir = Path(argv[argv.index("--run-dir") + 1])
        run_dir.mkdir(parents=True, exist_ok=True)
        write_marker(run_dir, RunDirectory.KIND)
        (run_dir / "config.yaml").write_text(dump_config(load_config(argv[1], sets)))
        (run_dir / "metrics.json").write_text(json.dumps(
            {"accuracy": 0.8, "macro_f1": 0.5, "val_accuracy": 0.75}))
        return 0

    def export(self, options):
        from pathlib import Path

        from tfhar.config import config_hash, load_config
        from tfhar.experiment.run_directory import write_marker

        if self.export_status:
            return self.export_status
        out = Path(options["--out"])
        out.mkdir(parents=True, exist_ok=True)
        write_marker(out, "export")
        config = load_config(Path(options["--run-dir"]) / "config.yaml")
        (out / "metadata.json").write_text(json.dumps(
            {"training": {"config_hash": config_hash(config)}}))
        (out / "model_float32.tflite").write_bytes(b"fake")
        return 0

    @staticmethod
    def _figures(model, prefix):
        name = model.parent.name
        seed = int(name.rsplit("seed", 1)[1])
        base = (0.8 if name.startswith("whole") else 0.7) + 0.01 * seed
        return {f"{prefix}{scoring}_{metric}": base for scoring in ("majority", "tolerant")
                for metric in ("accuracy", "macro_f1")}

    def measure_test(self, model, whole_test, stream_seed):
        self.test_measured.append(model)
        segment = (0.8 if model.parent.name.startswith("whole") else 0.6)
        return {"window_s": WINDOW_S, "segment_accuracy": segment, "window_accuracy": 0.8,
                "stream_windows": 900, "stream_transition_windows": 400,
                **self._figures(model, "stream_")}

    def measure_validation(self, model, val_subjects, stream_seed):
        assert val_subjects == (7,)
        return self._figures(model, "val_stream_")


def _main(tmp_path, *extra):
    return phone_windows.main(["--out", str(tmp_path / "out"), "--runs-dir",
                               str(tmp_path / "runs"), *extra])


def test_window_duration_is_the_median_on_the_sample_grid():
    assert phone_windows.window_duration(np.array([3.0, 3.5, 4.0], np.float32), 50.0) == 3.5
    # tfhar.export's median of float32 durations (3.5199999...) is 176 samples: 3.52 s.
    assert phone_windows.window_duration(np.array([3.5, 3.54], np.float32), 50.0) == 3.52
    assert phone_windows.window_duration(np.array([3.511, 3.529]), 50.0) == 3.52


@pytest.mark.parametrize("variant", ["whole", "segments", *phone_windows.CANDIDATES])
def test_every_run_is_a_valid_config_that_round_trips(tmp_path, variant):
    from tfhar.config import dump_config, load_config

    config = load_config(CONFIG, phone_windows.overrides(variant, 2, WINDOW_S))
    saved = tmp_path / "config.yaml"
    saved.write_text(dump_config(config))
    assert load_config(saved) == config
    assert config.runtime.seed == 2 and config.data.modalities == ("inertial",)
    if variant == "whole":
        assert config.data.options == {}
        return
    count, epochs = phone_windows.CANDIDATES[
        phone_windows.CHOSEN if variant == "segments" else variant]
    assert config.data.options == {"segment_s": WINDOW_S, "segments_per_recording": count}
    assert config.finetune.epochs == epochs


def test_runs_are_trained_exported_measured_and_reused(tmp_path, monkeypatch):
    tools = FakeTools(monkeypatch)
    assert _main(tmp_path, "--seeds", "2") == 0
    runs_dir, chosen = tmp_path / "runs", phone_windows.CHOSEN
    names = ["whole-seed0", "whole-seed1", f"{chosen}-seed0", f"{chosen}-seed1"]
    assert tools.calls == [(tool, str(runs_dir / name)) for name in names
                           for tool in ("tfhar.train", "tfhar.export")]
    runs = pd.read_csv(tmp_path / "out" / "phone_windows.csv")
    assert list(runs.columns) == phone_windows.COLUMNS
    assert runs.variant.tolist() == ["whole", "whole", "segments", "segments"]
    assert runs.seed.tolist() == [0, 1, 0, 1]
    assert runs.run_dir.tolist() == [str(runs_dir / name) for name in names]
    assert runs.segments_per_recording.tolist() == [0, 0, *[
        phone_windows.CANDIDATES[chosen][0]] * 2]
    assert runs.stream_majority_accuracy.tolist() == pytest.approx([0.8, 0.81, 0.7, 0.71])
    assert runs.val_accuracy.tolist() == [0.75] * 4
    summary = pd.read_csv(tmp_path / "out" / "phone_windows_summary.csv").set_index("variant")
    assert summary.seeds.tolist() == [2, 2]
    assert summary.loc["whole", "stream_majority_accuracy_mean"] == pytest.approx(0.805)
    assert summary.loc["segments", "stream_tolerant_macro_f1_mean"] == pytest.approx(0.705)
    assert summary.loc["segments", "stream_majority_accuracy_std"] == pytest.approx(
        np.std([0.7, 0.71], ddof=1))
    assert summary.loc["segments", "segment_accuracy_mean"] == pytest.approx(0.6)
    assert summary.loc["whole", "window_s"] == WINDOW_S
    assert marker_kind(tmp_path / "out") == "results"
    # Again: nothing trained or exported, the same tables.
    tools.calls.clear()
    assert _main(tmp_path, "--seeds", "2") == 0
    assert tools.calls == []
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "phone_windows.csv"), runs)


def test_a_run_trained_again_is_exported_again(tmp_path, monkeypatch):
    tools = FakeTools(monkeypatch)
    assert _main(tmp_path, "--seeds", "1") == 0
    metrics = tmp_path / "runs" / "whole-seed0" / "metrics.json"
    metadata = tmp_path / "runs" / "exports" / "whole-seed0" / "metadata.json"
    stamp = metadata.stat().st_mtime_ns
    import os

    os.utime(metrics, ns=(stamp + 10**9, stamp + 10**9))  # Newer than its export.
    tools.calls.clear()
    assert _main(tmp_path, "--seeds", "1") == 0
    assert tools.calls == [("tfhar.export", str(tmp_path / "runs" / "whole-seed0"))]


def test_choose_scores_the_candidates_on_the_validation_subject_only(tmp_path, monkeypatch):
    tools = FakeTools(monkeypatch)
    assert _main(tmp_path, "--choose") == 0
    assert tools.test_measured == []  # No test figure is computed for the choice.
    table = pd.read_csv(tmp_path / "out" / "phone_windows_choice.csv")
    assert table.variant.tolist() == ["whole", *phone_windows.CANDIDATES]
    assert table.chosen.tolist() == [v == phone_windows.CHOSEN for v in table.variant]
    assert table.best.sum() == 1 and not table.best.iloc[0]  # Whole recordings: no candidate.
    assert "val_stream_majority_accuracy" in table and "stream_majority_accuracy" not in table
    assert not (tmp_path / "out" / "phone_windows.csv").exists()
    # The measurement reuses seed 0 of whole and of the chosen candidate.
    tools.calls.clear()
    assert _main(tmp_path, "--seeds", "1") == 0
    assert tools.calls == []


def test_the_best_candidate_is_chosen_on_validation_stream_accuracy_then_window_accuracy():
    table = pd.DataFrame({"variant": ["whole", "segments_k1", "segments_k4", "segments_k4_e25",
                                      "segments_k16_e25"],
                          "val_stream_majority_accuracy": [0.9, 0.3, 0.5, 0.5, 0.4],
                          "val_accuracy": [0.9, 0.7, 0.6, 0.65, 0.9]})
    assert phone_windows.best_candidate(table) == "segments_k4_e25"
    # A tie on both: the fewer gradient steps (4 x 25 before 4 x 100).
    table["val_accuracy"] = [0.9, 0.7, 0.6, 0.6, 0.9]
    assert phone_windows.best_candidate(table) == "segments_k4_e25"
    table["val_stream_majority_accuracy"] = [0.9, 0.3, 0.3, 0.3, 0.3]
    table["val_accuracy"] = 0.7  # Then the order of CANDIDATES (k1 and k4_e25 cost alike).
    assert phone_windows.best_candidate(table) == "segments_k1"


def test_a_failed_export_stops_the_pipeline_with_one_line(tmp_path, monkeypatch, capsys):
    FakeTools(monkeypatch, export_status=2)
    assert _main(tmp_path, "--seeds", "1") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: exporting") and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("folder", ["out", "runs/whole-seed1", "runs/exports/whole-seed0"])
def test_folders_tfhar_did_not_write_are_refused_and_left_alone(tmp_path, monkeypatch, capsys,
                                                                folder):
    tools = FakeTools(monkeypatch)
    mine = tmp_path / folder / "mine.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("keep")
    assert _main(tmp_path, "--seeds", "2") == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert tools.calls == []  # Refused before any training.
    assert mine.read_text() == "keep" and not (mine.parent / MARKER).exists()
    assert not (tmp_path / "out" / "phone_windows.csv").exists()
