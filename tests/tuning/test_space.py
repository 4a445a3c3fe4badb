"""Search spaces: parsing, keras-tuner hyperparameters, values back to config paths, checks."""

import keras_tuner
import pytest

from tfhar.config import ConfigError, read_tree
from tfhar.tuning.space import SearchSpace


def test_values_ranges_and_named_choices():
    space = SearchSpace.parse({
        "pretrain.temperature": {"values": [0.05, 0.1]},
        "augment.inertial": {"values": {"light": {"jitter": {"p": 0.5, "sigma": 0.1}},
                                        "none": "none"}},
        "finetune.learning_rate": {"min": 1e-4, "max": 1e-2, "scale": "log"},
        "model.inertial.num_layers": {"min": 1, "max": 3},
    })
    hp = keras_tuner.HyperParameters()
    space.declare(hp)
    assert hp.get("pretrain.temperature") == 0.05
    assert isinstance(hp.get("model.inertial.num_layers"), int)
    chosen = {"pretrain.temperature": 0.1, "augment.inertial": "light",
              "finetune.learning_rate": 1e-3, "model.inertial.num_layers": 2, "other": 1}
    assert space.values(chosen) == {
        "pretrain.temperature": 0.1, "augment.inertial": {"jitter": {"p": 0.5, "sigma": 0.1}},
        "finetune.learning_rate": 1e-3, "model.inertial.num_layers": 2}
    assert space.grid_size() is None
    assert SearchSpace.parse({"pretrain.temperature": {"values": [0.1, 0.2]},
                              "model.inertial.num_layers": {"min": 1, "max": 3}}
                             ).grid_size() == 6


@pytest.mark.parametrize(("spec", "fragment"), [
    ({"pretrain.temprature": {"values": [0.1]}}, "search.pretrain.temprature: not a config"),
    ({"pretrain.temperature.x": {"values": [0.1]}}, "not a config field"),
    ({"pretrain.temperature": {"values": []}}, "empty"),
    ({"pretrain.temperature": {"min": 0.5, "max": 0.1}}, "min 0.5 is greater than max 0.1"),
    ({"pretrain.temperature": {"min": 0, "max": 1, "scale": "log"}}, "log scale needs min"),
    ({"pretrain.temperature": {"min": 0.1, "max": 1, "scale": "cubic"}}, "scale"),
    ({"pretrain.temperature": {"min": 0.1}}, "min` and `max`"),
    ({"pretrain.temperature": [0.1, 0.2]}, "expected a mapping"),
    ({"pretrain.temperature": {"values": [0.1, 0.1]}}, "repeat"),
    ({}, "non-empty mapping"),
])
def test_bad_search_specs_name_the_key(spec, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", "[.]")):
        SearchSpace.parse(spec)


def test_values_that_give_an_invalid_config_are_refused_before_searching():
    tree = read_tree("synthetic/simclr_inertial")
    space = SearchSpace.parse({"pretrain.temperature": {"values": [0.1, -1.0]}})
    with pytest.raises(ConfigError, match=r"search[.]pretrain[.]temperature: the value -1.0"):
        space.check(tree, [])
    SearchSpace.parse({"augment.inertial.jitter.sigma": {"min": 0.01, "max": 1.0}}).check(tree,
                                                                                        [])
