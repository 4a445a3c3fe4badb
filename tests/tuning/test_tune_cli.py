"""`tfhar-tune`: a 2-trial synthetic search end to end, resumed, its best.yaml trained, the
best model reloadable; bad specs and folders refused with one line."""

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from tfhar import tune

SEARCH = "tune/synthetic_simclr_inertial"


def call(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = tune.main(list(args))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("tune") / "project"
    code, _ = call("--config", SEARCH, "--project-dir", str(project))
    assert code == 0
    return project


def test_search_writes_trials_plot_hparams_and_best_config(searched):
    trials = pd.read_csv(searched / "trials.csv")
    assert len(trials) == 2 and set(trials.status) == {"COMPLETED"}
    assert sorted(trials["pretrain.temperature"]) == [0.1, 0.5]
    for row in trials.itertuples():
        folds = json.loads(row.fold_scores)
        assert sorted(folds) == ["subject1", "subject3", "subject5", "subject7"]
        assert row.score == pytest.approx(sum(folds.values()) / 4)
        assert (Path(row.trial_dir) / "subject1" / "metrics.json").is_file()
    # The trials differ in a pre-training value: each pre-trained once, shared by its folds.
    assert len(list((searched / "pretrain").glob("*/encoders/inertial.keras"))) == 2
    assert (searched / "search.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((searched / "hparams").glob("trial_*/events.*"))) == 2
    from tfhar.config import load_config

    best = load_config(searched / "best.yaml")
    winner = trials.loc[trials.score.idxmax()]
    assert best.pretrain.temperature == winner["pretrain.temperature"]
    assert best.runtime.embedding_plot is False and not best.finetune.encoders


def test_the_same_command_continues_without_training_again(searched):
    before = (searched / "trials.csv").read_text()
    code, out = call("--config", SEARCH, "--project-dir", str(searched))
    assert code == 0 and "continuing" in out and "Trial " not in out
    assert (searched / "trials.csv").read_text() == before


def test_best_yaml_trains_with_tfhar_train(searched, train_cli, tmp_path):
    run = train_cli(tmp_path / "best", "--config", str(searched / "best.yaml"))
    assert run.code == 0 and 0 <= run.metrics["accuracy"] <= 1


def test_keras_tuner_reloads_the_best_model(searched):
    from tfhar.config import read_tree
    from tfhar.experiment.data import load_splits
    from tfhar.tuning.scoring import Scoring
    from tfhar.tuning.space import SearchSpace
    from tfhar.tuning.study import Study

    tree, search, score, _ = tune.read_search(SEARCH)
    base = tune.config_from_tree(tree)
    study = Study(tree, [], SearchSpace.parse(search), Scoring.parse(score), searched,
                  load_splits(base))
    tuner = tune.build_tuner(study, "grid", None, 0, 1)
    (model,) = tuner.get_best_models(1)
    assert model.built and model.count_params() > 0
    assert read_tree(SEARCH)["search"]


@pytest.mark.parametrize(("search", "fragment"), [
    ("search: {pretrain.temprature: {values: [0.1]}}", "search.pretrain.temprature"),
    ("search: {pretrain.temperature: {values: []}}", "empty"),
    ("search: {pretrain.temperature: {min: 0.9, max: 0.1}}", "greater than max"),
    ("search: {pretrain.temperature: {values: [0.1, -2]}}", "invalid config"),
    ("score: {folds: kfold}\nsearch: {pretrain.temperature: {values: [0.1]}}", "score.folds"),
    ("method: simclr", "no `search:` section"),
])
def test_bad_search_specs_are_one_line_and_write_nothing(search, fragment, tmp_path, capsys):
    config = tmp_path / "search.yaml"
    config.write_text(f"base: synthetic/simclr_inertial\n{search}\n")
    project = tmp_path / "project"
    code, out = call("--config", str(config), "--project-dir", str(project))
    error = capsys.readouterr().err.splitlines()
    assert code == 2 and out == ""
    assert len(error) == 1 and error[0].startswith("error: ") and fragment in error[0]
    assert not project.exists()


def test_a_folder_of_the_users_is_not_a_project(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    for extra in ([], ["--overwrite"]):
        code, _ = call("--config", SEARCH, "--project-dir", str(folder), *extra)
        assert code == 2 and "error: " in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_hyperband_budget_sets_the_longest_stage():
    from tfhar.config import read_tree
    from tfhar.tuning.space import SearchSpace
    from tfhar.tuning.study import Study

    tree, search, _, _ = tune.read_search(SEARCH)
    study = Study(tree, [], SearchSpace.parse(search), None, Path("."), None)
    values = study.trial_values({"pretrain.temperature": 0.1}, epochs=7)
    assert values["pretrain.epochs"] == 7 and values["pretrain.temperature"] == 0.1
    supervised = Study(read_tree("synthetic/supervised_multimodal"), [],
                       SearchSpace.parse({"finetune.learning_rate": {"values": [0.01]}}),
                       None, Path("."), None)
    assert supervised.trial_values({"finetune.learning_rate": 0.01}, 3)["finetune.epochs"] == 3


def test_pipeline_trains_the_best_config_over_seeds(searched, tmp_path):
    from pipelines import tuned

    out = tmp_path / "results"
    assert tuned.main(["--project", str(searched), "--out", str(out), "--seeds", "2",
                       "--runs-dir", str(tmp_path / "runs")]) == 0
    assert {"trials.csv", "best.yaml", "search.png", "best.csv", "best_runs.csv",
            ".tfhar.json"} <= {p.name for p in out.iterdir()}
    runs = pd.read_csv(out / "best_runs.csv")
    best = pd.read_csv(out / "best.csv").iloc[0]
    trials = pd.read_csv(searched / "trials.csv")
    assert list(runs.seed) == [0, 1] and best.seeds == 2
    assert best.cv_score == pytest.approx(100 * trials.score.max())
    assert best.test_mean == pytest.approx(runs.accuracy.mean())
    # Again: the runs are reused, nothing trains.
    assert tuned.main(["--project", str(searched), "--out", str(out), "--seeds", "2",
                       "--runs-dir", str(tmp_path / "runs"), "--existing-only"]) == 0
    assert pd.read_csv(out / "best_runs.csv").equals(runs)


def test_pipeline_refuses_a_folder_that_is_not_a_search(tmp_path, capsys):
    from pipelines import tuned

    (tmp_path / "mine").mkdir()
    assert tuned.main(["--project", str(tmp_path / "mine"), "--out",
                       str(tmp_path / "out")]) == 2
    assert "not a finished tfhar-tune search" in capsys.readouterr().err


@pytest.mark.parametrize("name", [n for n in tune.shipped_configs(searches=True)])
def test_every_shipped_search_is_a_valid_search(name):
    """Each shipped tune config names real config fields with values that make valid configs,
    and a score the tuner knows (the checks `tfhar-tune` runs before reading any data)."""
    from tfhar.tuning.scoring import Scoring
    from tfhar.tuning.space import SearchSpace

    tree, search, score, _ = tune.read_search(name)
    space = SearchSpace.parse(search)
    Scoring.parse(score)
    space.check(tree, [])
    assert space.dimensions


class _Quick:
    """A keras-tuner Tuner whose trial scores its x at once (no model), optionally
    interrupted (KeyboardInterrupt) when trial `stop_at` starts."""

    @staticmethod
    def make(directory, oracle_class, max_trials=None, stop_at=None):
        import keras_tuner

        class Quick(keras_tuner.Tuner):
            def run_trial(self, trial, *args, **kwargs):
                if trial.trial_id == stop_at:
                    raise KeyboardInterrupt
                return {"score": float(trial.hyperparameters.get("x"))}

            def save_model(self, *args, **kwargs):
                pass

        def declare(hp):
            hp.Choice("x", [1, 2, 3, 4])

        oracle = oracle_class(keras_tuner.Objective("score", "max"), max_trials=max_trials)
        return Quick(oracle=oracle, hypermodel=declare, directory=str(directory),
                     project_name="p", overwrite=False)


@pytest.mark.parametrize("interruption", ["between trials", "inside a trial"])
def test_a_grid_search_resumes_every_remaining_point(tmp_path, interruption):
    """keras-tuner 1.4.8's grid oracle stops (between trials) or fails with KeyError (inside
    one) when resumed; the oracle tfhar-tune uses goes on to the end of the grid."""
    from tfhar.tuning.study import ResumableGridSearchOracle

    if interruption == "between trials":
        _Quick.make(tmp_path, ResumableGridSearchOracle, max_trials=2).search(verbose=0)
    else:
        with pytest.raises(KeyboardInterrupt):
            _Quick.make(tmp_path, ResumableGridSearchOracle, stop_at="0002").search(verbose=0)
    tuner = _Quick.make(tmp_path, ResumableGridSearchOracle)
    tuner.search(verbose=0)
    done = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert sorted(t.hyperparameters.get("x") for t in done) == [1, 2, 3, 4]


def test_a_search_over_a_data_key_gives_each_trial_its_own_data(tmp_path, monkeypatch):
    """A searched `data` key (here data.standardize) reaches the trials: pre-training and every
    fold see the trial's windows, not the base config's. Each shared pre-training is seeded
    and deterministic (seed_everything) whatever ran before it in the process."""
    import numpy as np

    import tfhar.experiment.runner
    import tfhar.tuning.study

    search = tmp_path / "search.yaml"
    search.write_text(
        "base: synthetic/simclr_inertial\n"
        "data:\n  options: {num_classes: 6, samples_per_class_per_subject: 2, seed: 0}\n"
        "pretrain: {epochs: 1, batch_size: 16}\nfinetune: {epochs: 1}\n"
        "search:\n  data.standardize: {values: [true, false]}\n"
        "score: {metric: accuracy, folds: loso, pretrain: shared}\n")
    seen, seeded = [], []
    make_folds = tfhar.tuning.study.make_folds
    seed_everything = tfhar.experiment.runner.seed_everything

    def spy_folds(splits, scoring, *fraction):
        seen.append(float(np.asarray(splits.pretrain.inertial).std(axis=(0, 1)).mean()))
        return make_folds(splits, scoring, *fraction)

    def spy_seed(seed):
        seeded.append(seed)
        seed_everything(seed)

    monkeypatch.setattr(tfhar.tuning.study, "make_folds", spy_folds)
    monkeypatch.setattr(tfhar.experiment.runner, "seed_everything", spy_seed)
    code, _ = call("--config", str(search), "--project-dir", str(tmp_path / "project"))
    assert code == 0
    trials = pd.read_csv(tmp_path / "project" / "trials.csv")
    assert sorted(trials["data.standardize"].astype(int)) == [0, 1]
    # Trial order: standardized first (channel std 1), then raw units.
    assert seen[0] == pytest.approx(1.0, abs=0.05) and abs(seen[1] - 1.0) > 0.1
    assert seeded[0] == 0  # The first shared pre-training, before any fold ran.


def _imu_only_cmc_search(tmp_path, dimension: str, pretrain: str):
    """A tiny search of the IMU-only classifier on synthetic CMC (tune/utd_mhad_imu_only_cmc's
    shape): one searched `dimension`, CMC pre-trained `pretrain` (shared or per_fold)."""
    search = tmp_path / "search.yaml"
    search.write_text(
        "base: synthetic/cmc\n"
        "data:\n  options: {num_classes: 6, samples_per_class_per_subject: 2, seed: 0}\n"
        "pretrain: {epochs: 1, batch_size: 16}\n"
        "finetune: {epochs: 1, modalities: [inertial]}\n"
        f"search:\n  {dimension}\n"
        f"score: {{metric: accuracy, folds: loso, pretrain: {pretrain}}}\n")
    return search


def test_a_search_of_an_imu_only_classifier_on_cmc(tmp_path):
    """finetune.modalities [inertial] (tune/utd_mhad_imu_only_cmc's shape): CMC pre-trained once
    on both modalities, each fold's classifier reads the inertial encoder alone, and the model
    keras-tuner keeps is that classifier's."""
    search = _imu_only_cmc_search(tmp_path, "finetune.trainable_encoders: {values: [false, true]}",
                                  "shared")
    project = tmp_path / "project"
    code, _ = call("--config", str(search), "--project-dir", str(project))
    assert code == 0
    trials = pd.read_csv(project / "trials.csv")
    assert len(trials) == 2 and set(trials.status) == {"COMPLETED"}
    # One shared CMC pre-training, both encoders; the folds keep the inertial one only.
    assert len(list((project / "pretrain").glob("*/encoders/skeleton.keras"))) == 1
    fold = Path(trials.trial_dir[0]) / "subject1"
    assert json.loads((fold / "metrics.json").read_text())["classifier_modalities"] == [
        "inertial"]
    assert not (fold / "model" / "skeleton_encoder.keras").exists()


def test_per_fold_pretraining_runs_once_per_fold_and_is_shared_by_trials(tmp_path, monkeypatch):
    """pretrain: per_fold pre-trains every fold without its held-out subject; two trials that
    differ only in fine-tuning share each fold's pre-training instead of repeating it."""
    import tfhar.experiment.stages as stages

    search = _imu_only_cmc_search(tmp_path, "finetune.learning_rate: {values: [0.001, 0.0001]}",
                                  "per_fold")
    seen = []
    pretrain = stages.pretrain

    def spy(ctx, *args, **kwargs):
        if ctx.run_dir.path.parent.name == "pretrain":  # Not a fold's run loading encoders.
            seen.append(sorted({int(s) for s in ctx.splits.pretrain.subjects}))
        return pretrain(ctx, *args, **kwargs)

    monkeypatch.setattr(stages, "pretrain", spy)
    project = tmp_path / "project"
    code, _ = call("--config", str(search), "--project-dir", str(project))
    assert code == 0
    trials = pd.read_csv(project / "trials.csv")
    assert len(trials) == 2 and set(trials.status) == {"COMPLETED"}
    # Four folds, each pre-trained once, never on its held-out subject.
    assert seen == [[3, 5, 7], [1, 5, 7], [1, 3, 7], [1, 3, 5]]
    assert len(list((project / "pretrain").glob("*-subject*/encoders/inertial.keras"))) == 4
    for trial in trials.trial_dir:
        config = (Path(trial) / "subject3" / "config.yaml").read_text()
        assert "-subject3/encoders/inertial.keras" in config


def test_a_transductive_base_config_is_refused(tmp_path, capsys):
    """A search's folds hold out training subjects; pre-training on every subject
    (data.pretrain_subjects: all) would put the test subjects into it."""
    project = tmp_path / "project"
    code, _ = call("--config", SEARCH, "--project-dir", str(project),
                   "--set", "data.pretrain_subjects=all")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "data.pretrain_subjects" in err
    assert not project.exists()


def test_a_search_saved_before_a_new_default_field_is_the_same_search():
    """search.yaml written before tfhar added a field (at its default) still names the same
    search, so the command continues it; a changed value is another search."""
    _, _, _, canonical = tune.read_search(SEARCH)
    canonical += "tuner: grid\n"
    older = canonical.replace("  pretrain_subjects: training\n", "")
    assert older != canonical and tune.same_search(older, canonical)
    changed = canonical.replace("  window_length: 50\n", "  window_length: 40\n")
    assert changed != canonical and not tune.same_search(changed, canonical)
    assert not tune.same_search("not: [a, search", canonical)
