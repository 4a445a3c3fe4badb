"""Config loading: YAML -> dataclasses, overrides, and errors that name the key."""

from pathlib import Path

import pytest

from tfhar.config import Config, ConfigError, config_hash, dump_config, load_config

CONFIGS = sorted(Path(__file__).resolve().parents[1].glob("configs/*/*.yaml"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_without_a_file():
    config = load_config(None)
    assert isinstance(config, Config)
    assert config.method == "cmc"
    assert config.model.inertial.feedforward_dim == 2048


def test_yaml_and_overrides_are_typed(tmp_path):
    path = write(tmp_path, "method: supervised\ndata: {modalities: [inertial]}\n")
    config = load_config(path, ["pretrain.epochs=5", "model.inertial.filters=[8, 16]",
                                "pretrain.temperature=1", "finetune.trainable_encoders=true"])
    assert config.method == "supervised"
    assert config.data.modalities == ("inertial",)
    assert config.pretrain.epochs == 5
    assert config.model.inertial.filters == (8, 16)
    assert isinstance(config.pretrain.temperature, float)
    assert config.finetune.trainable_encoders is True


def test_override_into_a_mapping_field(tmp_path):
    config = load_config(None, ["augment.inertial.jitter.sigma=0.5"])
    assert config.augment.inertial["jitter"]["sigma"] == 0.5


@pytest.mark.parametrize(
    ("text", "overrides", "fragment"),
    [
        ("pretrain: {epochz: 3}\n", [], "pretrain.epochz"),
        ("", ["model.inertial.kernal_size=3"], "model.inertial.kernal_size"),
        ("method: byol\n", [], "method"),
        ("", ["pretrain.epochs=many"], "pretrain.epochs"),
        ("", ["pretrain.temperature=-1"], "pretrain.temperature"),
        ("", ["runtime.precision=float64"], "runtime.precision"),
        ("", ["model.inertial.reduction=avg"], "model.inertial.reduction"),
        ("", ["data.modalities=[depth]"], "data.modalities"),
        ("method: simclr\n", [], "data.modalities"),
        ("method: cmc\ndata: {modalities: [inertial]}\n", [], "data.modalities"),
        ("", ["finetune.encoders.inertial=/no/such/encoder.keras"], "finetune.encoders.inertial"),
        ("", ["augment.inertial.wobble.p=0.5"], "augment.inertial.wobble"),
        ("", ["augment.inertial.jitter.p=2"], "augment.inertial.jitter"),
        ("", ["pretrain.epochs"], "pretrain.epochs"),
        ("- just\n- a list\n", [], "mapping"),
        ("key: [unclosed\n", [], "not valid YAML"),
    ],
)
def test_bad_input_names_the_key(tmp_path, text, overrides, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.").replace("[", r"\[")):
        load_config(write(tmp_path, text), overrides)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_dump_round_trip(tmp_path):
    config = load_config(None, ["pretrain.epochs=7", "augment.skeleton.rotate.max_degrees=15"])
    again = load_config(write(tmp_path, dump_config(config)))
    assert again == config
    assert config_hash(again) == config_hash(config)
    assert config_hash(load_config(None)) != config_hash(config)


@pytest.mark.parametrize("path", CONFIGS, ids=[f"{p.parent.name}/{p.name}" for p in CONFIGS])
def test_shipped_configs_load(path):
    assert isinstance(load_config(path), Config)
