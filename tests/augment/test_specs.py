"""specs: the registry, the per-dataset defaults and validation messages."""

import subprocess
import sys

import pytest

from tfhar.augment import specs


def test_importing_specs_does_not_import_tensorflow():
    code = "import sys, tfhar.augment.specs; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "modality, name", [(m, n) for m in specs.REGISTRY for n in specs.REGISTRY[m]]
)
def test_empty_params_get_every_default(modality, name):
    assert specs.validate(modality, name, {}) == specs.REGISTRY[modality][name]
    assert specs.validate(modality, name, None) == specs.REGISTRY[modality][name]


def test_given_params_override_defaults_and_are_normalised():
    full = specs.validate("inertial", "permute", {"p": 1, "max_segments": 3.0})
    assert full == {"p": 1.0, "max_segments": 3}
    assert type(full["p"]) is float and type(full["max_segments"]) is int


def test_registry_probabilities():
    assert specs.SKELETON["jitter"]["p"] == 1.0
    others = [params["p"] for name, params in specs.SKELETON.items() if name != "jitter"]
    assert others + [params["p"] for params in specs.INERTIAL.values()] == [0.75] * 11


DEFAULT_ENTRIES = [
    (dataset, modality, name)
    for dataset, sets in specs.DEFAULTS.items()
    for modality, spec in sets.items()
    for name in spec
]


@pytest.mark.parametrize("dataset, modality, name", DEFAULT_ENTRIES)
def test_default_entries_are_valid_and_fully_spelled(dataset, modality, name):
    params = specs.DEFAULTS[dataset][modality][name]
    assert specs.validate(modality, name, params) == params


@pytest.mark.parametrize(
    "dataset, inertial",
    [
        ("utd_mhad", ["jitter", "scale", "permute", "channel_shuffle"]),
        ("berkeley_mhad", ["jitter", "scale", "permute"]),
        ("mmact", ["scale", "flip_rotate"]),
    ],
)
def test_default_inertial_sets_follow_the_reference(dataset, inertial):
    assert list(specs.DEFAULTS[dataset]["inertial"]) == inertial


def test_default_skeleton_sets_follow_the_reference():
    utd, mmact = specs.DEFAULTS["utd_mhad"]["skeleton"], specs.DEFAULTS["mmact"]["skeleton"]
    assert list(utd) == ["jitter", "crop_resize", "scale", "rotate", "shear"]
    assert utd["jitter"] == {"p": 1.0, "sigma": 0.1}
    assert (utd["crop_resize"]["min_fraction"], utd["crop_resize"]["max_fraction"]) == (0.8, 0.9)
    assert (mmact["crop_resize"]["min_fraction"], mmact["crop_resize"]["max_fraction"]) == (
        0.7,
        0.8,
    )
    assert (utd["rotate"]["max_degrees"], mmact["rotate"]["max_degrees"]) == (10.0, 15.0)


def test_default_spec_returns_a_copy():
    spec = specs.default_spec("utd_mhad", "skeleton")
    spec["jitter"]["sigma"] = 5.0
    assert specs.DEFAULTS["utd_mhad"]["skeleton"]["jitter"]["sigma"] == 0.1
    assert specs.DEFAULTS["berkeley_mhad"]["skeleton"]["jitter"]["sigma"] == 0.1


@pytest.mark.parametrize(
    "dataset, modality, match",
    [("kinetics", "inertial", "'kinetics'.*utd_mhad"), ("mmact", "depth", "'depth'")],
)
def test_default_spec_rejects_unknown_names(dataset, modality, match):
    with pytest.raises(ValueError, match=match):
        specs.default_spec(dataset, modality)


@pytest.mark.parametrize(
    "modality, name, params, match",
    [
        ("depth", "jitter", {}, r"modality 'depth'.*\['inertial', 'skeleton'\]"),
        ("inertial", "rotation", {}, r"'rotation'.*'channel_shuffle'.*'rotate_3d'"),
        ("skeleton", "jitter", {"stddev": 1}, r"'jitter'.*'stddev'.*allowed: \['p', 'sigma'\]"),
        ("inertial", "jitter", {"p": 1.5}, r"'jitter'.*p=1\.5.*probability in \[0, 1\]"),
        ("inertial", "jitter", {"p": -0.1}, r"p=-0\.1"),
        ("inertial", "jitter", {"p": "high"}, r"p='high'"),
        ("inertial", "jitter", {"p": True}, r"p=True"),
        ("inertial", "scale", {"sigma": -1}, r"'scale'.*sigma=-1.*>= 0"),
        ("inertial", "scale", {"sigma": float("nan")}, r"sigma=nan"),
        ("inertial", "scale", {"sigma": float("inf")}, r"sigma=inf"),
        ("inertial", "permute", {"max_segments": 1}, r"'permute'.*max_segments=1.*integer >= 2"),
        ("inertial", "permute", {"max_segments": 2.5}, r"max_segments=2\.5"),
        ("inertial", "flip_rotate", {"group_size": 0}, r"group_size=0"),
        ("inertial", "rotate_3d", {"group_size": 6}, r"'rotate_3d'.*group_size=6.*expected 3"),
        ("inertial", "rotate_3d", {"max_angle_degrees": 270}, r"max_angle_degrees=270"),
        ("inertial", "rotate_3d", {"same_rotation_for_all_groups": 1}, r"true or false"),
        ("skeleton", "crop_resize", {"min_fraction": 0.0}, r"min_fraction=0\.0.*\(0, 1\]"),
        ("skeleton", "crop_resize", {"max_fraction": 1.2}, r"max_fraction=1\.2"),
        (
            "skeleton",
            "crop_resize",
            {"min_fraction": 0.95},
            r"min_fraction=0\.95.*max_fraction=0\.9",
        ),
        ("skeleton", "scale", {"low": 1.5}, r"'scale'.*low=1\.5.*high=1\.2"),
        ("skeleton", "scale", {"low": -0.5}, r"low=-0\.5.*> 0"),
        ("skeleton", "rotate", {"max_degrees": -10}, r"'rotate'.*max_degrees=-10"),
        ("skeleton", "shear", [0.2], r"'shear'.*mapping"),
    ],
)
def test_validate_errors_name_the_augmentation_and_key(modality, name, params, match):
    with pytest.raises(ValueError, match=match):
        specs.validate(modality, name, params)


def test_permute_equal_that_would_change_nothing_is_refused():
    with pytest.raises(ValueError, match="max_segments=2 draws"):
        specs.validate("inertial", "permute_equal", {"max_segments": 2})
    assert specs.validate("inertial", "permute_equal", {"max_segments": 3})["max_segments"] == 3
