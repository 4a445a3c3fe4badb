"""Config loading: YAML -> dataclasses, overrides, and errors that name the key."""

from pathlib import Path

import pytest

from tfhar.config import (
    Config,
    ConfigError,
    config_hash,
    dump_config,
    load_config,
    pretraining_hash,
)

CONFIGS = sorted(p for p in Path(__file__).resolve().parents[1].glob("configs/*/*.yaml")
                 if p.parent.name != "tune")
SEARCHES = sorted(Path(__file__).resolve().parents[1].glob("configs/tune/*.yaml"))


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
    path = write(tmp_path, "method: simclr\ndata: {modalities: [inertial]}\n")
    config = load_config(path, ["pretrain.epochs=5", "model.inertial.filters=[8, 16]",
                                "pretrain.temperature=1", "finetune.trainable_encoders=true"])
    assert config.method == "simclr"
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


@pytest.mark.parametrize("path", SEARCHES, ids=[p.name for p in SEARCHES])
def test_shipped_searches_are_valid(path):
    from tfhar.tune import read_search
    from tfhar.tuning.scoring import Scoring
    from tfhar.tuning.space import SearchSpace

    tree, search, score, _ = read_search(str(path))
    SearchSpace.parse(search).check(tree, [])
    Scoring.parse(score)


def _float_fields(cls=Config, prefix=""):
    """Every float field of the schema, as a dotted path."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        if dataclasses.is_dataclass(hint):
            yield from _float_fields(hint, f"{prefix}{field.name}.")
        elif hint is float or hint == (float | None):
            yield f"{prefix}{field.name}"


FLOAT_FIELDS = sorted(_float_fields())


def test_float_fields_are_found():
    assert {"pretrain.temperature", "finetune.learning_rate", "data.label_fraction",
            "model.inertial.dropout", "pretrain.inertial.temperature"} <= set(FLOAT_FIELDS)


@pytest.mark.parametrize("field", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_every_number_refuses_nan_and_infinity(field, value):
    with pytest.raises(ConfigError, match=rf"{field.replace('.', '[.]')}: expected a finite"):
        load_config("synthetic/cmc", [f"{field}={value}"])


@pytest.mark.parametrize("text", ["1e-3", "1.0e-3", ".001", "1E-3"])
def test_numbers_are_read_as_yaml_1_2(tmp_path, text):
    assert load_config(None, [f"pretrain.learning_rate={text}"]).pretrain.learning_rate == 1e-3
    path = write(tmp_path, f"pretrain: {{learning_rate: {text}}}\n")
    assert load_config(path).pretrain.learning_rate == 1e-3


@pytest.mark.parametrize(("override", "fragment"), [
    ("runtime.seed=-1", "runtime.seed"),
    ("runtime.seed=4294967296", "runtime.seed"),
    ("data.label_fraction_seed=-2", "data.label_fraction_seed"),
    ("model.classifier_hidden_dims=[64, 0]", r"model.classifier_hidden_dims\[1\]"),
    ("model.inertial.filters=[-4]", r"model.inertial.filters\[0\]"),
    ("finetune.lr_factor=1.0", "finetune.lr_factor"),
    ("pretrain.learning_rate=0", "pretrain.learning_rate"),
    ("data.label_fraction=0", "data.label_fraction"),
])
def test_ranges_are_checked_where_the_config_is_read(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(None, [override])


def test_largest_seed_is_accepted():
    assert load_config(None, ["runtime.seed=4294967295"]).runtime.seed == 2**32 - 1


@pytest.mark.parametrize(("config", "overrides", "fragment"), [
    ("synthetic/simclr_inertial", ["augment.inertial={}"], "augment.inertial"),
    ("synthetic/simclr_inertial", ["augment.inertial={jitter: {p: 0}}"], "augment.inertial"),
    ("synthetic/cmc", ["augment.skeleton={}"], "augment.skeleton"),
    ("synthetic/supervised_multimodal", ["finetune.augment=true", "augment.inertial=none",
                                         "augment.skeleton=none"], "finetune.augment"),
])
def test_contrastive_views_without_augmentation_are_refused(config, overrides, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(config, overrides)


def test_no_augmentation_said_explicitly_is_accepted():
    config = load_config("synthetic/simclr_inertial", ["augment.inertial=none"])
    assert config.augment.inertial == "none"
    assert load_config("synthetic/cmc", ["augment.inertial=none"]).augment.inertial == "none"


@pytest.mark.parametrize(("config", "overrides", "fragment"), [
    ("synthetic/supervised_multimodal", ["pretrain.epochs=3"], "pretrain.epochs"),
    ("synthetic/supervised_multimodal", ["model.projection_dim=8"], "model.projection_dim"),
    ("synthetic/supervised_multimodal", ["finetune.frozen_encoder_mode=train"],
     "finetune.frozen_encoder_mode"),
    ("synthetic/supervised_multimodal", ["augment.skeleton.jitter.sigma=0.5"],
     "augment.skeleton"),
    ("synthetic/simclr_inertial", ["model.skeleton.output_dim=32"], "model.skeleton"),
    ("synthetic/simclr_inertial", ["pretrain.skeleton.batch_size=8"], "pretrain.skeleton"),
    ("synthetic/simclr_inertial", ["model.fusion_hidden_dim=8"], "model.fusion_hidden_dim"),
    ("synthetic/simclr_inertial", ["model.classifier=linear"], "model.classifier_hidden_dims"),
    ("synthetic/simclr_inertial", ["finetune.trainable_encoders=true",
                                   "finetune.frozen_encoder_mode=train"],
     "finetune.frozen_encoder_mode"),
    ("synthetic/cmc", ["pretrain.inertial.temperature=0.5"], "pretrain.inertial.temperature"),
    ("synthetic/cmc", ["finetune.trainable_encoders=true",
                       "finetune.batch_norm_statistics=training_windows"],
     "finetune.batch_norm_statistics"),
    ("synthetic/cmc", ["finetune.frozen_encoder_mode=train",
                       "finetune.batch_norm_statistics=training_windows"],
     "finetune.batch_norm_statistics"),
    ("synthetic/cmc", ["data.label_fraction_seed=3"], "data.label_fraction_seed"),
])
def test_values_the_method_would_ignore_are_refused(config, overrides, fragment):
    with pytest.raises(ConfigError, match=rf"{fragment}.*never used"):
        load_config(config, overrides)


def test_linear_classifier_applies_to_the_fusion():
    from tfhar.builders import build_classifier

    features = {"inertial": 8, "skeleton": 4}
    encoders = {m: _features_encoder(n) for m, n in features.items()}
    mlp = build_classifier(load_config("synthetic/cmc"), encoders, 5)
    linear = build_classifier(
        load_config("synthetic/cmc", ["model.classifier=linear",
                                      "model.classifier_hidden_dims=[256, 128]"]), encoders, 5)
    assert any(layer.name.startswith("hidden") for layer in mlp.layers)
    assert not any(layer.name.startswith("hidden") for layer in linear.layers)


def _features_encoder(size):
    import keras

    inputs = keras.Input((size,))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


def test_reporting_fields_leave_the_hash_and_the_match_alone(tmp_path):
    from tfhar.config import matches_saved

    config = load_config("synthetic/cmc")
    quiet = load_config("synthetic/cmc", ["runtime.verbose=0", "runtime.backup=false",
                                          "runtime.embedding_plot=false"])
    assert config_hash(quiet) == config_hash(config)
    saved = write(tmp_path, dump_config(quiet))
    assert matches_saved(saved, config)
    assert not matches_saved(saved, load_config("synthetic/cmc", ["runtime.seed=1"]))


def test_shipped_configs_load_by_name():
    from tfhar.config import shipped_configs

    names = shipped_configs()
    assert "utd_mhad/cmc" in names and "synthetic/simclr_inertial" in names
    assert load_config("utd_mhad/cmc") == load_config("utd_mhad/cmc.yaml")
    with pytest.raises(ConfigError, match="not a shipped config"):
        load_config("utd_mhad/byol")


def test_configuration_reference_is_current():
    from tfhar.config.reference import reference

    committed = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    assert committed.read_text() == reference(), (
        "docs/configuration.md is stale: python -m tfhar.config > docs/configuration.md")


def test_the_hash_is_of_the_values_that_differ_from_the_defaults():
    """A field added later at its default changes no hash (run directories resume across
    upgrades); any change of a value, a removed augmentation included, changes it."""
    from tfhar.config.loading import _differences

    base = load_config("utd_mhad/cmc")
    assert "standardize" not in _differences(base, Config()).get("data", {})
    fewer = load_config("utd_mhad/cmc", ["augment.inertial={jitter: {p: 0.75, sigma: 1.0}}"])
    standardized = load_config("utd_mhad/cmc", ["data.standardize=true"])
    assert len({config_hash(c) for c in (base, fewer, standardized)}) == 3
    assert config_hash(load_config("utd_mhad/cmc", ["runtime.verbose=0"])) == config_hash(base)


@pytest.mark.parametrize("monitor, trainable, rule", [
    ("auto", False, "val_loss"), ("auto", True, "last"), ("val_accuracy", True, "val_accuracy"),
    ("last", False, "last"), ("val_loss", True, "val_loss")])
def test_checkpoint_rule_resolves_auto_by_whether_the_encoders_train(monitor, trainable, rule):
    from tfhar.config import checkpoint_rule

    assert checkpoint_rule(monitor, trainable) == rule


def test_an_auto_checkpoint_rule_matches_the_rule_it_resolves_to(tmp_path):
    """A run saved with the rule `auto` resolves to (written out before `auto` existed) is the
    same run: same hash, its directory matches; another rule is another run."""
    from tfhar.config import matches_saved, trains_encoders

    for name, trainable, rule, other in [("utd_mhad/cmc", False, "val_loss", "last"),
                                         ("utd_mhad/supervised_inertial", True, "last",
                                          "val_loss")]:
        config = load_config(name, ["finetune.monitor=auto"])
        assert trains_encoders(config) == trainable
        explicit = load_config(name, [f"finetune.monitor={rule}"])
        assert config_hash(explicit) == config_hash(config)
        assert matches_saved(write(tmp_path, dump_config(explicit)), config)
        assert not matches_saved(write(tmp_path, dump_config(
            load_config(name, [f"finetune.monitor={other}"]))), config)
    assert load_config("utd_mhad/cmc").finetune.monitor == "last"  # The default since.
    fine_tuned = load_config("utd_mhad/cmc", ["finetune.trainable_encoders=true",
                                              "finetune.monitor=auto"])
    assert config_hash(fine_tuned) == config_hash(
        load_config("utd_mhad/cmc", ["finetune.trainable_encoders=true", "finetune.monitor=last"]))


@pytest.mark.parametrize(("config", "modalities", "fragment"), [
    ("synthetic/simclr_fusion", "[inertial]", "set data.modalities instead"),
    ("synthetic/supervised_multimodal", "[inertial]", "set data.modalities instead"),
    ("synthetic/cmc", "[depth]", "subset of data.modalities"),
    ("synthetic/cmc", "[inertial, inertial]", "subset of data.modalities"),
])
def test_classifier_modalities_are_refused_where_they_mean_nothing(config, modalities,
                                                                  fragment):
    with pytest.raises(ConfigError, match=rf"finetune\.modalities: .*{fragment}"):
        load_config(config, [f"finetune.modalities={modalities}"])


def test_classifier_modalities_default_to_the_data_s():
    from tfhar.config import classifier_modalities

    assert classifier_modalities(load_config("synthetic/cmc")) == ("inertial", "skeleton")
    imu_only = load_config("synthetic/cmc", ["finetune.modalities=[inertial]"])
    assert classifier_modalities(imu_only) == ("inertial",)
    # A fine-tuning setting: the pre-training, and its hash, stay CMC's.
    assert pretraining_hash(imu_only) == pretraining_hash(load_config("synthetic/cmc"))
    assert config_hash(imu_only) != config_hash(load_config("synthetic/cmc"))



def test_shipped_supervised_configs_write_out_what_they_augment():
    """With finetune.augment, a supervised config augments every modality with its augment
    section, and one left out is the contrastive pre-training set (inertial jitter and scale
    sigma 1, permutation, channel shuffle): the multimodal rows long augmented their inertial
    windows without saying so. Each such section is written out."""
    from tfhar.config import read_tree, shipped_configs

    checked = 0
    for name in shipped_configs():
        config = load_config(name)
        if config.method != "supervised" or not config.finetune.augment:
            continue
        written = read_tree(name).get("augment", {})
        for modality in config.data.modalities:
            checked += 1
            assert modality in written, f"{name}: augment.{modality} is not written out"
    assert checked >= 4  # UTD-MHAD and MMAct: skeleton, and multimodal's two.
