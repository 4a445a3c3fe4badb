"""pipelines.table1: finished runs are reused, tables are computed from the runs' metrics, and
folders tfhar did not write (as --out, as a run directory) are refused and survive."""

import json

import pandas as pd
import pytest

from pipelines import table1
from pipelines.common import config_path
from tfhar.experiment.run_directory import MARKER, marker_kind


@pytest.fixture
def fake_runs(tfhar_run):
    """`fake_runs(runs_dir, seeds, accuracy_of)`: every row's runs, finished, of their config."""

    def make(runs_dir, seeds, accuracy_of, extra=None):
        for model, (stem, _, _) in table1.ROWS["utd_mhad"].items():
            for seed in range(seeds):
                run_dir = tfhar_run(runs_dir / f"{stem}-seed{seed}", config_path("utd_mhad", stem),
                                    table1.row_overrides(model, runs_dir, seed, extra),
                                    accuracy=accuracy_of(model, seed))
                if stem.startswith("simclr_") and stem != "simclr_fusion":  # Fusion loads them.
                    (run_dir / "encoders").mkdir()
                    (run_dir / "encoders" / f"{stem.split('_')[1]}.keras").write_bytes(b"")

    return make


def record_training(monkeypatch, run_dir, returncode=0, log_line=None):
    """subprocess.run replaced by a fake training that writes metrics (or fails, printing
    `log_line` into the log); returns its commands."""
    calls = []

    def fake_run(command, stdout=None, **kwargs):
        calls.append(command)
        if log_line is not None:
            stdout.write(log_line + "\n")
        if returncode == 0:
            (run_dir / "metrics.json").write_text(json.dumps({"accuracy": 0.9}))
        return type("Result", (), {"returncode": returncode})()

    monkeypatch.setattr("subprocess.run", fake_run)
    return calls


def marked_run(run_dir, config_text):
    """A run directory tfhar wrote (marker) holding `config_text` as its config.yaml."""
    from tfhar.experiment.run_directory import write_marker

    run_dir.mkdir(exist_ok=True)
    write_marker(run_dir, "run")
    (run_dir / "config.yaml").write_text(config_text)


def test_existing_runs_are_summarised_without_training(tmp_path, fake_runs, no_training):
    fake_runs(tmp_path / "runs", 3, lambda model, seed: 0.80 + 0.01 * seed)
    out = tmp_path / "out"
    assert table1.main(["--seeds", "3", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(out)]) == 0
    table = pd.read_csv(out / "table1.csv")
    assert list(table.columns) == ["model", "seeds", "mean_accuracy", "std_accuracy", "paper",
                                   "authors_code", "wall_time_s", "checkpoint_rule"]
    # Each row's rule, resolved from its runs' configs (finetune.monitor: last by default).
    rules = dict(zip(table.model, table.checkpoint_rule, strict=True))
    assert rules["inertial supervised"] == rules["multimodal supervised"] == "last"
    assert rules["cmc"] == rules["inertial simclr"] == rules["simclr fusion"] == "last"
    assert set(table.model) == set(table1.ROWS["utd_mhad"])
    rows = len(table1.ROWS["utd_mhad"])
    assert table.seeds.tolist() == [3] * rows
    assert table.mean_accuracy.tolist() == pytest.approx([81.0] * rows)
    assert table.std_accuracy.tolist() == pytest.approx([1.0] * rows)
    cmc = table[table.model == "cmc"].iloc[0]
    assert (cmc.paper, cmc.authors_code, cmc.wall_time_s) == (93.82, 96.04, 30.0)
    runs = pd.read_csv(out / "table1_runs.csv")
    assert len(runs) == 3 * rows
    markdown = (out / "table1.md").read_text()
    assert "| cmc | 3 | 81.00 +- 1.00 | 93.82 | -12.82 | 96.04 | last |" in markdown
    assert "| cmc-cmkm | 3 | 81.00 +- 1.00 | - | - | 97.67 |" in markdown  # Not in the paper.
    assert marker_kind(out) == "results"  # A new results folder is marked as tfhar's.
    # A second invocation writes into its own (marked) folder again.
    assert table1.main(["--seeds", "3", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(out)]) == 0


def test_the_paper_protocol_has_its_own_runs_and_files(tmp_path, fake_runs, no_training):
    extra = [*table1.PAPER_OVERRIDES, "finetune.epochs=40"]
    fake_runs(tmp_path / "runs_paper", 1, lambda model, seed: 0.85, extra)
    out = tmp_path / "out"
    args = ["--seeds", "1", "--runs-dir", str(tmp_path / "runs"), "--out", str(out),
            "--protocol", "paper", "--set", "finetune.epochs=40"]
    assert table1.main(args) == 0
    assert not (out / "table1.csv").exists()
    table = pd.read_csv(out / "table1_paper.csv")
    assert table.mean_accuracy.tolist() == pytest.approx([85.0] * len(table1.ROWS["utd_mhad"]))
    assert "the paper's protocol" in (out / "table1_paper.md").read_text()
    runs = pd.read_csv(out / "table1_paper_runs.csv")
    assert all(path.startswith(str(tmp_path / "runs_paper")) for path in runs.run_dir)
    # The fusion row's encoders are the paper protocol's SimCLR runs.
    fusion = table1.row_overrides("simclr fusion", tmp_path / "runs_paper", 0, extra)
    assert f"finetune.encoders.inertial={tmp_path}/runs_paper/simclr_inertial-seed0/encoders/" \
        "inertial.keras" in fusion and "data.protocol=paper" in fusion


def test_a_bad_set_value_stops_the_pipeline_before_training(tmp_path, capsys, no_training):
    out = tmp_path / "out"
    assert table1.main(["--runs-dir", str(tmp_path / "runs"), "--out", str(out), "--set",
                        "finetune.epochz=3"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --set on row") and "epochz" in error
    assert len(error.splitlines()) == 1 and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("model, key", [("simclr fusion", "finetune.encoders"),
                                        ("cmc-cmkm", "cmkm.encoders")])
def test_fusion_and_cmkm_reuse_the_simclr_encoders_of_their_seed(model, key, tmp_path):
    overrides = table1.row_overrides(model, tmp_path, 2)
    assert "runtime.seed=2" in overrides
    assert (f"{key}.inertial={tmp_path}/simclr_inertial-seed2/encoders/inertial.keras"
            in overrides)
    assert (f"{key}.skeleton={tmp_path}/simclr_skeleton-seed2/encoders/skeleton.keras"
            in overrides)
    assert not any("encoders" in o for o in table1.row_overrides("cmc", tmp_path, 2))


def test_runs_table_has_the_validation_accuracy(tmp_path, fake_runs, no_training):
    fake_runs(tmp_path / "runs", 1, lambda model, seed: 0.8)
    with_value = tmp_path / "runs" / "cmc-seed0" / "metrics.json"
    with_value.write_text(json.dumps({**json.loads(with_value.read_text()), "val_accuracy": 0.9}))
    # An older run without the value in metrics.json: read from its history.csv.
    pd.DataFrame({"stage": ["finetune", "finetune", "pretrain_cmc"],
                  "val_accuracy": [0.5, 0.75, None]}).to_csv(
        tmp_path / "runs" / "supervised_skeleton-seed0" / "history.csv", index=False)
    out = tmp_path / "out"
    assert table1.main(["--seeds", "1", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(out)]) == 0
    runs = pd.read_csv(out / "table1_runs.csv").set_index("model")
    assert runs.loc["cmc", "val_accuracy"] == pytest.approx(90.0)
    assert runs.loc["skeleton supervised", "val_accuracy"] == pytest.approx(75.0)
    assert runs["val_accuracy"].isna().sum() == len(table1.ROWS["utd_mhad"]) - 2


def test_a_run_of_a_changed_config_is_trained_again(tmp_path, monkeypatch):
    from tfhar.config import dump_config, load_config

    config = config_path("utd_mhad", "cmc")
    run_dir = tmp_path / "cmc-seed0"
    marked_run(run_dir, dump_config(load_config(config, ["runtime.verbose=2"])))
    (run_dir / "metrics.json").write_text(json.dumps({"accuracy": 0.5}))
    calls = record_training(monkeypatch, run_dir)
    log = tmp_path / "log"
    assert table1.train(config, run_dir, ["runtime.verbose=2"], log)["accuracy"] == 0.5
    assert calls == []  # Same config: reused.
    changed = load_config(config, ["runtime.verbose=2", "pretrain.epochs=3"])
    (run_dir / "config.yaml").write_text(dump_config(changed))
    assert table1.train(config, run_dir, ["runtime.verbose=2"], log)["accuracy"] == 0.9
    assert "--overwrite" in calls[0]


def test_a_run_whose_fine_tuning_changed_keeps_its_pretraining(tmp_path, monkeypatch):
    from tfhar.config import dump_config, load_config

    config = config_path("utd_mhad", "cmc")
    run_dir = tmp_path / "cmc-seed0"
    changed = load_config(config, ["runtime.verbose=2", "finetune.monitor=val_accuracy"])
    marked_run(run_dir, dump_config(changed))
    (run_dir / "metrics.json").write_text(json.dumps({"accuracy": 0.5}))
    calls = record_training(monkeypatch, run_dir)
    log = tmp_path / "log"
    # No pre-trained encoders in the folder: nothing to keep, trained again.
    table1.train(config, run_dir, ["runtime.verbose=2"], log)
    assert "--overwrite" in calls[-1] and "--refit" not in calls[-1]
    (run_dir / "metrics.json").unlink()
    (run_dir / "config.yaml").write_text(dump_config(changed))
    (run_dir / "encoders").mkdir()
    for modality in ("inertial", "skeleton"):
        (run_dir / "encoders" / f"{modality}.keras").write_bytes(b"")
    table1.train(config, run_dir, ["runtime.verbose=2"], log)
    assert "--refit" in calls[-1] and "--overwrite" not in calls[-1]


def test_existing_only_tabulates_finished_runs_without_training(tmp_path, fake_runs, tfhar_run,
                                                                no_training):
    fake_runs(tmp_path / "runs", 1, lambda model, seed: 0.8)
    tfhar_run(tmp_path / "runs" / "cmc-seed1", config_path("utd_mhad", "cmc"),
              table1.row_overrides("cmc", tmp_path / "runs", 1), accuracy=0.9)
    out = tmp_path / "out"
    assert table1.main(["--seeds", "3", "--existing-only", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(out)]) == 0
    table = pd.read_csv(out / "table1.csv").set_index("model")
    assert table.loc["cmc", "seeds"] == 2 and table.loc["cmc", "mean_accuracy"] == 85.0
    assert table.loc["inertial supervised", "seeds"] == 1
    assert table1.main(["--existing-only", "--runs-dir", str(tmp_path / "none"),
                        "--out", str(out)]) == 2


def test_an_interrupted_run_resumes_unless_its_config_changed(tmp_path, monkeypatch):
    from tfhar.config import dump_config, load_config

    config = config_path("utd_mhad", "cmc")
    run_dir = tmp_path / "cmc-seed0"
    calls = record_training(monkeypatch, run_dir)
    log = tmp_path / "log"
    # Interrupted (config.yaml, no metrics.json) with the same config: resumed in place.
    marked_run(run_dir, dump_config(load_config(config, ["runtime.verbose=2"])))
    table1.train(config, run_dir, ["runtime.verbose=2"], log)
    assert "--overwrite" not in calls[-1]
    # Interrupted with another config: replaced (tfhar.train would refuse the directory).
    (run_dir / "metrics.json").unlink()
    changed = load_config(config, ["runtime.verbose=2", "pretrain.epochs=3"])
    (run_dir / "config.yaml").write_text(dump_config(changed))
    table1.train(config, run_dir, ["runtime.verbose=2"], log)
    assert "--overwrite" in calls[-1]


def test_a_folder_of_the_users_as_out_is_refused_before_training(tmp_path, fake_runs,
                                                                 no_training, capsys):
    fake_runs(tmp_path / "runs", 1, lambda model, seed: 0.8)
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "table1.csv").write_text("my own table\n")
    assert table1.main(["--seeds", "1", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(documents)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(documents) in err[0]
    assert sorted(p.name for p in documents.iterdir()) == ["table1.csv"]
    assert (documents / "table1.csv").read_text() == "my own table\n"


@pytest.mark.parametrize("files", [
    {"metrics.json": '{"accuracy": 0.99}'},  # Hand-written results.
    # A config.yaml of another config without tfhar's marker: it would be retrained with
    # --overwrite, replacing what tfhar did not write.
    {"config.yaml": "method: cmc\n", "metrics.json": '{"accuracy": 0.99}', "notes.txt": "mine"},
])
def test_a_run_folder_tfhar_did_not_write_stops_the_pipeline(tmp_path, fake_runs, no_training,
                                                              capsys, files):
    runs = tmp_path / "runs"
    fake_runs(runs, 1, lambda model, seed: 0.8)
    cmc = runs / "cmc-seed0"
    for child in cmc.iterdir():
        child.unlink()
    for name, text in files.items():
        (cmc / name).write_text(text)
    out = tmp_path / "out"
    assert table1.main(["--seeds", "1", "--runs-dir", str(runs), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(cmc) in err[0]
    assert {p.name: p.read_text() for p in cmc.iterdir()} == files
    assert not out.exists()  # Stopped before anything was written.


def test_existing_only_reports_a_hand_written_run_and_leaves_it_alone(tmp_path, fake_runs,
                                                                      no_training, capsys):
    runs = tmp_path / "runs"
    fake_runs(runs, 1, lambda model, seed: 0.8)
    (runs / "cmc-seed0" / MARKER).unlink()
    before = {p.name: p.read_text() for p in (runs / "cmc-seed0").iterdir()}
    out = tmp_path / "out"
    assert table1.main(["--seeds", "1", "--existing-only", "--runs-dir", str(runs),
                        "--out", str(out)]) == 0
    assert "cmc" not in set(pd.read_csv(out / "table1.csv").model)
    assert "cmc-seed0' is not a tfhar run directory" in capsys.readouterr().out
    assert {p.name: p.read_text() for p in (runs / "cmc-seed0").iterdir()} == before


@pytest.mark.parametrize(("returncode", "log_line", "shown"), [
    (2, "error: run directory 'x' holds files tfhar did not write", "holds files tfhar did not"),
    (1, "ValueError: out of memory", "ValueError: out of memory"),
])
def test_a_failed_training_is_one_error_line(tmp_path, monkeypatch, capsys, returncode,
                                             log_line, shown):
    record_training(monkeypatch, tmp_path / "runs" / "cmc-seed0", returncode, log_line)
    assert table1.main(["--seeds", "1", "--only", "cmc", "--runs-dir", str(tmp_path / "runs"),
                        "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: training ") and shown in err[0]
    assert not (tmp_path / "out").exists()


def test_an_unknown_row_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as error:
        table1.main(["--only", "byol"])
    assert error.value.code == 2 and "no row ['byol']" in capsys.readouterr().err
