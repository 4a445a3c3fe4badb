"""pipelines.semi_supervised: end to end on synthetic data, reruns train nothing, statistics."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import semi_supervised
from tfhar.config import load_config, shipped_configs_dir


@pytest.fixture(scope="module")
def finished(tmp_path_factory, smoke_run):
    """The pipeline run once on tiny synthetic data: 1 fraction x 1 repeat x 4 methods.

    Its pre-trained encoders are the session's smoke runs (the synthetic Table 1 configs as
    they are), copied in as the Table 1 seed-0 runs: the pipeline finds them finished and
    pre-trains nothing (test_missing_pretraining_runs_are_trained covers the other case).
    """
    root = tmp_path_factory.mktemp("semi")
    for stem in ("cmc", "simclr_inertial", "simclr_skeleton"):
        shutil.copytree(smoke_run(stem).run_dir, root / "table1" / f"{stem}-seed0")
    args = ["--dataset", "synthetic", "--fractions", "0.5", "--repeats", "1",
            "--runs-dir", str(root / "runs"), "--table1-runs", str(root / "table1"),
            "--out", str(root / "out"), "--set", "finetune.epochs=4", "--pretrain-seeds", "1"]
    assert semi_supervised.main(args) == 0
    return root, args


def test_every_method_and_repeat_is_a_run_with_its_accuracy(finished):
    root, _ = finished
    runs = pd.read_csv(root / "out" / "semi_supervised.csv")
    assert len(runs) == 4
    assert sorted(runs.method) == sorted(semi_supervised.METHODS)
    assert (runs.fraction == 0.5).all() and (runs.repeat == 0).all()
    assert runs.accuracy.between(0, 100).all() and runs.wall_time_s.gt(0).all()
    for run in runs.itertuples():
        metrics = json.loads((root / "runs" / run.run_dir.split("/")[-1] /
                              "metrics.json").read_text())
        assert run.accuracy == pytest.approx(100 * metrics["accuracy"])
    fusion = runs[runs.method == "simclr fusion"].run_dir.iloc[0].split("/")[-1]
    config = load_config(root / "runs" / fusion / "config.yaml")
    assert (config.data.label_fraction, config.data.label_fraction_seed) == (0.5, 0)
    assert config.finetune.epochs == 4  # --set reaches every run.
    # SSL methods fine-tune the encoders pre-trained once (the Table 1 seed-0 runs).
    assert config.finetune.encoders["inertial"] == str(
        root / "table1" / "simclr_inertial-seed0" / "encoders" / "inertial.keras")


def test_missing_pretraining_runs_are_trained(tmp_path, monkeypatch):
    trained = []

    def fake_train(config, run_dir, overrides, log):
        trained.append((Path(config).relative_to(shipped_configs_dir()).as_posix(),
                        run_dir.name, overrides))
        return {}

    monkeypatch.setattr(semi_supervised, "train", fake_train)
    encoders = semi_supervised.pretrained("synthetic", tmp_path, seeds=2)
    stems = ("cmc", "simclr_inertial", "simclr_skeleton")
    assert trained == [(f"synthetic/{stem}.yaml", f"{stem}-seed0", ["runtime.verbose=2"])
                       for stem in stems] + [
        (f"synthetic/{stem}.yaml", f"{stem}-seed1", ["runtime.verbose=2", "runtime.seed=1"])
        for stem in stems]  # The Table 1 runs of those seeds, shared with that pipeline.
    assert encoders[1]["simclr fusion"]["skeleton"] == (
        tmp_path / "simclr_skeleton-seed1" / "encoders" / "skeleton.keras")
    assert encoders[0]["cmc"]["inertial"] == (
        tmp_path / "cmc-seed0" / "encoders" / "inertial.keras")


def test_repeats_cycle_through_the_pretraining_seeds():
    encoders = [semi_supervised.encoder_paths(Path("t1"), seed) for seed in range(3)]
    for repeat in range(5):
        _, overrides = semi_supervised.method_run("cmc", encoders, 0.1, repeat)
        assert f"finetune.encoders.inertial=t1/cmc-seed{repeat % 3}/encoders/inertial.keras" \
            in overrides
    _, random = semi_supervised.method_run("random frozen", encoders, 0.1, 4)
    assert {"pretrain.epochs=0", "runtime.seed=1",
            "finetune.batch_norm_statistics=training_windows"} <= set(random)


def test_summary_and_plot_are_written(finished):
    root, _ = finished
    runs = pd.read_csv(root / "out" / "semi_supervised.csv")
    summary = pd.read_csv(root / "out" / "semi_supervised_summary.csv")
    assert len(summary) == 4 and (summary.repeats == 1).all()
    cmc = summary[summary.method == "cmc"].iloc[0]
    assert cmc.mean_accuracy == pytest.approx(runs[runs.method == "cmc"].accuracy.mean())
    assert (root / "out" / "semi_supervised.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_second_invocation_trains_nothing(finished, monkeypatch):
    root, args = finished
    before = (root / "out" / "semi_supervised.csv").read_text()

    def no_training(*a, **k):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr("tfhar.train.main", no_training)
    monkeypatch.setattr("subprocess.run", no_training)
    assert semi_supervised.main(args) == 0
    assert (root / "out" / "semi_supervised.csv").read_text() == before


def test_existing_only_tabulates_what_finished(finished, monkeypatch, tmp_path):
    root, args = finished
    monkeypatch.setattr("tfhar.train.main", None)  # Any training attempt fails.

    def existing_only(**changes):
        options = dict(zip(args[::2], args[1::2], strict=True))
        options.update({"--out": str(tmp_path / "out"), **changes})
        return semi_supervised.main([*sum(options.items(), ()), "--existing-only"])

    # Two more repeats were asked for but never ran: they are left out.
    assert existing_only(**{"--repeats": "3"}) == 0
    assert len(pd.read_csv(tmp_path / "out" / "semi_supervised.csv")) == 4
    # Runs of another config (here without the --set) are not counted as finished.
    assert existing_only(**{"--set": "finetune.epochs=5"}) == 2
    assert existing_only(**{"--runs-dir": str(tmp_path / "none")}) == 2


def test_fractions_with_the_same_windows_share_one_run(finished, monkeypatch, tmp_path):
    root, args = finished
    monkeypatch.setattr("tfhar.train.main", None)  # Any training attempt fails.
    options = dict(zip(args[::2], args[1::2], strict=True))
    options.update({"--out": str(tmp_path / "out")})
    # 0.50001 rounds to the windows per class of 0.5: its runs are those of 0.5, not new ones.
    options.pop("--fractions")
    assert semi_supervised.main([*sum(options.items(), ()), "--fractions", "0.5", "0.50001"]) == 0
    runs = pd.read_csv(tmp_path / "out" / "semi_supervised.csv")
    assert len(runs) == 8
    first, second = runs[runs.fraction == 0.5], runs[runs.fraction == 0.50001]
    for column in ("method", "accuracy", "run_dir", "labelled"):
        assert first[column].tolist() == second[column].tolist()
    assert (second.wall_time_s == 0).all() and (first.wall_time_s > 0).all()
    assert not list((root / "runs").glob("*p0.50001*"))
    summary = pd.read_csv(tmp_path / "out" / "semi_supervised_summary.csv")
    assert len(summary) == 8 and (summary.labelled == first.labelled.iloc[0]).all()


def test_confidence_interval_is_the_95_percent_t_interval():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    # t(0.975, 3) = 3.18245; sample std = 1.29099; n = 4.
    assert semi_supervised.confidence_interval(values) == pytest.approx(
        3.18245 * 1.29099 / 2, rel=1e-4)
    assert semi_supervised.confidence_interval(np.array([5.0])) == 0.0


@pytest.mark.parametrize("bad", [["--fractions", "0"], ["--fractions", "1.5"],
                                 ["--repeats", "0"], ["--methods", "byol"]])
def test_bad_arguments_exit_with_status_2(bad, capsys):
    with pytest.raises(SystemExit) as error:
        semi_supervised.main(bad)
    assert error.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_each_method_runs_its_config_on_the_subset():
    encoders = [{"cmc": {"inertial": "c/i.keras", "skeleton": "c/s.keras"},
                 "simclr fusion": {"inertial": "f/i.keras", "skeleton": "f/s.keras"}}]
    subset = ["data.label_fraction=0.1", "data.label_fraction_seed=3"]
    stem, overrides = semi_supervised.method_run("cmc", encoders, 0.1, 3)
    assert stem == "cmc" and set(subset) <= set(overrides)
    assert "finetune.encoders.inertial=c/i.keras" in overrides
    stem, overrides = semi_supervised.method_run("simclr fusion", encoders, 0.1, 3)
    assert stem == "simclr_fusion" and "finetune.encoders.skeleton=f/s.keras" in overrides
    stem, overrides = semi_supervised.method_run("random frozen", encoders, 0.1, 3)
    assert stem == "cmc" and "pretrain.epochs=0" in overrides
    assert not any(o.startswith("finetune.encoders") for o in overrides)
    stem, overrides = semi_supervised.method_run("multimodal supervised", encoders, 0.1, 3)
    assert stem == "supervised_multimodal" and set(subset) <= set(overrides)


@pytest.fixture
def one_subset(monkeypatch):
    """No data loaded and nothing pre-trained: one labelled subset (p 0.5, repeat 0)."""
    monkeypatch.setattr(semi_supervised, "labelled_subsets",
                        lambda config, fractions, repeats: {(0.5, 0): np.arange(3)})
    monkeypatch.setattr(semi_supervised, "pretrained",
                        lambda dataset, runs, seeds: [semi_supervised.encoder_paths(runs, s)
                                                       for s in range(seeds)])
    return ["--dataset", "synthetic", "--fractions", "0.5", "--repeats", "1",
            "--methods", "multimodal supervised"]


def test_a_folder_of_the_users_as_out_is_refused_before_any_work(tmp_path, monkeypatch,
                                                                 no_training, capsys):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before --out was checked")

    monkeypatch.setattr(semi_supervised, "labelled_subsets", no_work)
    monkeypatch.setattr(semi_supervised, "pretrained", no_work)
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "semi_supervised.csv").write_text("mine\n")
    assert semi_supervised.main(["--dataset", "synthetic", "--out", str(documents),
                                 "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(documents) in err[0]
    assert [p.name for p in documents.iterdir()] == ["semi_supervised.csv"]
    assert (documents / "semi_supervised.csv").read_text() == "mine\n"


@pytest.mark.parametrize("files", [
    {"metrics.json": '{"accuracy": 0.99}'},
    {"config.yaml": "method: supervised\n", "metrics.json": '{"accuracy": 0.99}'},
])
def test_a_run_folder_tfhar_did_not_write_stops_the_pipeline(tmp_path, one_subset, no_training,
                                                              capsys, files):
    run_dir = tmp_path / "runs" / "multimodal_supervised-p0.5-r0"
    run_dir.mkdir(parents=True)
    for name, text in files.items():
        (run_dir / name).write_text(text)
    args = [*one_subset, "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]
    assert semi_supervised.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(run_dir) in err[0]
    assert {p.name: p.read_text() for p in run_dir.iterdir()} == files
    assert not (tmp_path / "out").exists()
    # --existing-only reports it, leaves it out and alone.
    assert semi_supervised.main([*args, "--existing-only"]) == 2
    captured = capsys.readouterr()
    assert "is not a tfhar run directory" in captured.out
    assert captured.err.startswith("error: no finished runs")
    assert {p.name: p.read_text() for p in run_dir.iterdir()} == files


def test_a_failed_run_is_one_error_line(tmp_path, one_subset, monkeypatch, capsys):
    def failing_train(argv):
        print("error: data.root: no data here", file=sys.stderr)
        return 2

    monkeypatch.setattr("tfhar.train.main", failing_train)
    assert semi_supervised.main([*one_subset, "--runs-dir", str(tmp_path / "runs"),
                                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: training ")
    assert "data.root: no data here" in err[0]
    assert not (tmp_path / "out").exists()
