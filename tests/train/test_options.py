"""Run options: seeding, reusing pre-trained encoders, the strategy, label fractions."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import tfhar.builders
import tfhar.experiment.stages

NO_AUGMENTATION = ["--set", "augment.inertial=none"]  # Spares tracing it where it does not matter.


def test_same_config_and_seed_give_the_same_results(smoke_config, tiny, train_cli, tmp_path):
    arguments = ["--config", smoke_config("simclr_inertial"), *tiny]
    first = train_cli(tmp_path / "first", *arguments)
    second = train_cli(tmp_path / "second", *arguments)
    assert first.code == second.code == 0
    assert second.metrics["accuracy"] == first.metrics["accuracy"]
    assert second.metrics["confusion_matrix"] == first.metrics["confusion_matrix"]
    pd.testing.assert_frame_equal(pd.read_csv(second.run_dir / "history.csv"),
                                  pd.read_csv(first.run_dir / "history.csv"))


def test_zero_pretraining_epochs_evaluate_random_frozen_encoders(smoke_config, tiny,
                                                                  train_cli, tmp_path):
    # The semi-supervised baseline "random frozen": no pre-training, frozen fresh encoders.
    run = train_cli(tmp_path / "random", "--config", smoke_config("cmc"), *tiny,
                    "--set", "pretrain.epochs=0")
    assert run.code == 0, run.stdout
    history = pd.read_csv(run.run_dir / "history.csv")
    assert set(history.stage) == {"finetune"}
    assert 0 <= run.metrics["accuracy"] <= 1


def test_given_encoders_skip_pretraining(smoke_run, smoke_config, train_cli, tmp_path):
    encoders = smoke_run("cmc").run_dir / "encoders"
    run = train_cli(tmp_path / "reuse", "--config", smoke_config("cmc"),
                    "--set", f"finetune.encoders.inertial={encoders / 'inertial.keras'}",
                    "--set", f"finetune.encoders.skeleton={encoders / 'skeleton.keras'}",
                    "--set", "finetune.epochs=3")
    assert run.code == 0
    assert "[pretrain" not in run.stdout
    assert "[finetune] " in run.stdout
    assert not list((run.run_dir / "logs").glob("history_pretrain*"))
    assert set(run.metrics["stage_wall_time_s"]) == {"finetune"}
    assert run.metrics["num_test_samples"] == smoke_run("cmc").metrics["num_test_samples"]
    # The classifier was fine-tuned on the given (frozen) encoders, not on fresh ones.
    for modality in ("inertial", "skeleton"):
        given = keras.models.load_model(encoders / f"{modality}.keras")
        used = keras.models.load_model(run.run_dir / "model" / f"{modality}_encoder.keras")
        for a, b in zip(given.get_weights(), used.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_mirrored_strategy_runs_on_one_cpu_replica(smoke_config, tiny, train_cli, tmp_path,
                                                   monkeypatch):
    built, build_strategy = [], tfhar.builders.build_strategy

    def spy(name: str) -> tf.distribute.Strategy:
        built.append(build_strategy(name))
        return built[-1]

    monkeypatch.setattr(tfhar.builders, "build_strategy", spy)
    run = train_cli(tmp_path / "mirrored", "--config", smoke_config("simclr_inertial"), *tiny,
                    *NO_AUGMENTATION, "--set", "runtime.strategy=mirrored")
    assert run.code == 0
    assert [type(s) for s in built] == [tf.distribute.MirroredStrategy]
    assert built[0].num_replicas_in_sync == 1
    assert 0.0 <= run.metrics["accuracy"] <= 1.0


@pytest.fixture
def monitored(monkeypatch) -> list[str]:
    """The metric each classifier stage's checkpoint tracks, in order (a spy on
    TrackedCheckpoint)."""
    seen = []

    class Spy(tfhar.experiment.stages.TrackedCheckpoint):
        def __init__(self, weights, record, monitor, mode, **kwargs):
            seen.append(monitor)
            super().__init__(weights, record, monitor, mode, **kwargs)

    monkeypatch.setattr(tfhar.experiment.stages, "TrackedCheckpoint", Spy)
    return seen


def test_monitor_val_loss_picks_the_checkpoint_of_the_lowest_validation_loss(
        smoke_config, tiny, train_cli, tmp_path, monitored):
    run = train_cli(tmp_path / "val_loss", "--config", smoke_config("simclr_inertial"), *tiny,
                    *NO_AUGMENTATION, "--set", "finetune.epochs=6",
                    "--set", "finetune.monitor=val_loss")
    assert run.code == 0 and monitored == ["val_loss"]
    assert "best val_loss checkpoint used" in run.stdout
    history = pd.read_csv(run.run_dir / "history.csv")
    finetune = history[history.stage == "finetune"].reset_index(drop=True)
    assert len(finetune) == 6
    tested = finetune.loc[finetune.val_loss.idxmin()]
    assert run.metrics["checkpoint_epoch"] == tested.epoch
    assert run.metrics["val_loss"] == pytest.approx(tested.val_loss)
    assert run.metrics["val_accuracy"] == pytest.approx(tested.val_accuracy)


def test_label_fraction_limits_fine_tuning_not_pretraining(smoke_config, tiny, train_cli,
                                                           tmp_path, monkeypatch):
    pretrain_sizes, labeled_sizes = [], []
    simclr_dataset, labeled_dataset = (tfhar.experiment.stages.simclr_dataset,
                                       tfhar.experiment.stages.labeled_dataset)

    def spy_simclr(windows, *args, **kwargs):
        pretrain_sizes.append(len(windows))
        return simclr_dataset(windows, *args, **kwargs)

    def spy_labeled(features, labels, *args, **kwargs):
        labeled_sizes.append(len(labels))
        return labeled_dataset(features, labels, *args, **kwargs)

    monkeypatch.setattr(tfhar.experiment.stages, "simclr_dataset", spy_simclr)
    monkeypatch.setattr(tfhar.experiment.stages, "labeled_dataset", spy_labeled)
    run = train_cli(tmp_path / "fraction", "--config", smoke_config("simclr_inertial"), *tiny,
                    *NO_AUGMENTATION, "--set", "data.label_fraction=0.5")
    assert run.code == 0
    # Train subjects 1, 3, 5 x 6 classes x 2 windows = 36; half of each class is labelled.
    assert pretrain_sizes == [36]
    assert labeled_sizes[0] == 18  # The training set; then validation (12) and test (48).
    assert labeled_sizes[1:] == [12, 48]
    assert "train 36 (18 labelled)" in run.stdout


@pytest.mark.parametrize("monitor", [[], ["--set", "finetune.monitor=last"]],
                         ids=["default", "last"])
def test_monitor_last_tests_the_last_epoch(monitor, smoke_config, tiny, train_cli, tmp_path,
                                           monitored):
    """The rule `last`, the default, on frozen encoders: the last epoch, and the plateau
    schedule follows the training loss."""
    run = train_cli(tmp_path / "last", "--config", smoke_config("simclr_inertial"), *tiny,
                    *NO_AUGMENTATION, "--set", "finetune.epochs=3", *monitor)
    assert run.code == 0 and "last epoch tested" in run.stdout
    assert monitored == ["loss"]
    history = pd.read_csv(run.run_dir / "history.csv")
    last = history[history.stage == "finetune"].iloc[-1]
    assert run.metrics["checkpoint_epoch"] == 2 == last.epoch
    assert run.metrics["val_accuracy"] == pytest.approx(last.val_accuracy)


def test_auto_tests_fine_tuned_encoders_at_the_last_epoch(smoke_config, tiny, train_cli,
                                                         tmp_path):
    """finetune.monitor auto: the last epoch when the encoders train with the classifier."""
    run = train_cli(tmp_path / "auto", "--config", smoke_config("simclr_inertial"), *tiny,
                    *NO_AUGMENTATION, "--set", "finetune.epochs=3",
                    "--set", "finetune.trainable_encoders=true",
                    "--set", "finetune.monitor=auto")
    assert run.code == 0 and "last epoch tested" in run.stdout
    assert run.metrics["checkpoint_epoch"] == 2


@pytest.mark.parametrize("monitor, rule", [("auto", "loss"), ("last", "loss"),
                                           ("val_loss", "val_loss")])
def test_a_classifier_on_a_frozen_encoder_follows_the_frozen_rule(monitor, rule, tmp_path,
                                                                  monitored):
    """The phone model's classifier, fitted on a supervised run's frozen inertial encoder,
    follows the run's rule as it resolves on frozen encoders; a run that spelled its rule
    `auto` or `last` (the same run, one hash) fits it as the default, `last`, does (the
    training loss drives its schedule)."""
    import keras

    from tfhar import builders
    from tfhar.config import load_config
    from tfhar.experiment.data import load_splits
    from tfhar.export import inertial_classifier

    config = load_config("synthetic/supervised_multimodal", [
        "data.options.samples_per_class_per_subject=2", "finetune.epochs=2",
        "runtime.verbose=0", f"finetune.monitor={monitor}"])
    splits = load_splits(config)
    keras.utils.set_random_seed(0)
    encoder = builders.build_encoder(config, "inertial", splits.train)
    encoder.trainable = False
    inertial_classifier(config, splits, encoder, tmp_path / "scratch")
    assert monitored == [rule]


def test_batch_norm_statistics_reestimated_on_the_training_windows(smoke_config, tiny,
                                                                   train_cli, tmp_path):
    import tfhar.models  # noqa: F401  (registers the custom layers for loading)
    from tfhar.config import load_config
    from tfhar.experiment.data import load_splits

    args = ["--config", smoke_config("simclr_inertial"), *tiny, *NO_AUGMENTATION,
            "--set", "finetune.batch_norm_statistics=training_windows"]
    run = train_cli(tmp_path / "bn", *args)
    assert run.code == 0
    encoder = keras.models.load_model(run.run_dir / "model" / "inertial_encoder.keras")
    windows = load_splits(load_config(run.run_dir / "config.yaml")).unlabeled.inertial
    layer = encoder.get_layer("bn1")
    inputs = np.asarray(keras.Model(encoder.inputs, layer.input)(windows), np.float64)
    np.testing.assert_allclose(layer.moving_mean.numpy(), inputs.mean(axis=(0, 1)),
                               rtol=1e-4, atol=1e-4)
    pretrained = keras.models.load_model(run.run_dir / "encoders" / "inertial.keras")
    assert not np.allclose(pretrained.get_layer("bn1").moving_mean.numpy(),
                           layer.moving_mean.numpy())
