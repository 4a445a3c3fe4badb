"""Method cmc_cmkm end to end (`python -m tfhar.train` in-process on the synthetic smoke config):
mining encoders pre-trained in the run or given (and then left untouched), encoders and
metrics written; and the config checks of the method."""

import hashlib
import shutil

import numpy as np
import pytest

from tfhar.config import ConfigError, load_config

MODALITIES = ("inertial", "skeleton")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def mined_run(train_cli, smoke_config, tiny, tmp_path_factory):
    """A tiny cmc_cmkm run whose mining encoders are pre-trained in it with SimCLR."""
    return train_cli(tmp_path_factory.mktemp("cmkm") / "run", "--config",
                     smoke_config("cmc_cmkm"), *tiny)


def test_mining_encoders_are_pretrained_in_the_run_when_not_given(mined_run):
    import keras

    assert mined_run.code == 0, mined_run.stdout[-2000:]
    metrics = mined_run.metrics
    assert metrics["method"] == "cmc_cmkm" and 0.0 <= metrics["accuracy"] <= 1.0
    encoders = mined_run.run_dir / "encoders"
    assert sorted(p.name for p in encoders.iterdir()) == [
        "inertial.keras", "mining_inertial.keras", "mining_skeleton.keras", "skeleton.keras"]
    stages = [mined_run.stdout.index(f"[{stage}]") for stage in (
        "pretrain_simclr_inertial", "pretrain_simclr_skeleton", "pretrain_cmc_cmkm",
        "finetune", "test")]
    assert stages == sorted(stages)
    for modality in MODALITIES:
        trained = keras.models.load_model(encoders / f"{modality}.keras").get_weights()
        mining = keras.models.load_model(encoders / f"mining_{modality}.keras").get_weights()
        assert not all(np.array_equal(a, b) for a, b in zip(trained, mining, strict=True))


def test_given_mining_encoders_are_used_and_left_untouched(mined_run, train_cli, smoke_config,
                                                           tiny, tmp_path):
    given = {}
    for modality in MODALITIES:
        given[modality] = tmp_path / f"{modality}_simclr.keras"
        shutil.copyfile(mined_run.run_dir / "encoders" / f"mining_{modality}.keras",
                        given[modality])
    before = {m: _digest(path) for m, path in given.items()}
    run = train_cli(tmp_path / "run", "--config", smoke_config("cmc_cmkm"), *tiny,
                    *[arg for m, path in given.items()
                      for arg in ("--set", f"cmkm.encoders.{m}={path}")])
    assert run.code == 0, run.stdout[-2000:]
    assert (run.run_dir / "metrics.json").is_file()
    assert "[pretrain_simclr" not in run.stdout
    assert f"mined with {given['inertial']}, {given['skeleton']}" in run.stdout
    assert sorted(p.name for p in (run.run_dir / "encoders").iterdir()) == [
        "inertial.keras", "skeleton.keras"]
    assert {m: _digest(path) for m, path in given.items()} == before


@pytest.mark.parametrize(("overrides", "fragment"), [
    (["data.modalities=[inertial]"], "method 'cmc_cmkm' needs both inertial and skeleton"),
    (["cmkm.encoders.inertial=/no/such/encoder.keras"],
     "cmkm.encoders.inertial: encoder file '/no/such/encoder.keras' not found"),
    (["cmkm.encoders.depth=/no/such/encoder.keras"], "cmkm.encoders.depth: unknown modality"),
    (["cmkm.positives=32"], "cmkm.positives: 32 neighbours cannot be mined among the other 31"),
    (["cmkm.positives=0", "cmkm.symmetric_positives=true"],
     "cmkm.symmetric_positives: True is set but never used"),
    (["cmkm.intra_modal_negatives_weight=0", "cmkm.intra_modal_temperature=0.1"],
     "cmkm.intra_modal_temperature: 0.1 is set but never used"),
    (["cmkm.negative_pruning_threshold=1.5"], "cmkm.negative_pruning_threshold: 1.5 is out"),
    (["finetune.encoders.inertial=configs/synthetic/cmc_cmkm.yaml"],
     "method 'cmc_cmkm' pre-trains both encoders together"),
])
def test_bad_cmc_cmkm_configs_are_refused(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        load_config("synthetic/cmc_cmkm", overrides)


def test_cmkm_settings_are_refused_for_other_methods():
    with pytest.raises(ConfigError, match="cmkm.positives: 2 is set but never used .method "
                                          "'cmc' mines no positives"):
        load_config("synthetic/cmc", ["cmkm.positives=2"])


def test_the_utd_mhad_config_has_the_authors_settings():
    config = load_config("utd_mhad/cmc_cmkm")
    pretrain, cmkm = config.pretrain, config.cmkm
    assert (pretrain.epochs, pretrain.batch_size, pretrain.temperature) == (100, 64, 0.1)
    assert (pretrain.inertial.batch_size, pretrain.inertial.temperature) == (128, 0.05)
    assert (pretrain.skeleton.batch_size, pretrain.skeleton.temperature) == (32, 0.5)
    assert (cmkm.positives, cmkm.symmetric_positives, cmkm.intra_modal_negatives_weight,
            cmkm.intra_modal_temperature, cmkm.negative_pruning_threshold,
            cmkm.loss_weighting_scale) == (1, False, 1.0, 1.0, None, None)
    assert cmkm.encoders == {}
