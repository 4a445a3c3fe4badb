"""Experiment configuration: YAML files -> frozen dataclasses, with `--set a.b=value` overrides.

One section per dataclass (`data`, `augment`, `model`, `pretrain`, `finetune`, `runtime`) plus
the top-level `method` (schema.py, documented field by field in docs/configuration.md). Unknown
keys and bad values raise `ConfigError` naming the key path, the value and what is allowed
(loading.py, building.py); checks.py refuses configs that would silently do something else.
Configs are read here and in the CLIs only; everything below them takes plain arguments.
"""

from tfhar.config.checks import pretrained_modalities
from tfhar.config.loading import (
    ConfigError,
    config_from_tree,
    config_hash,
    dump_config,
    load_config,
    matches_saved,
    own_pretraining_hash,
    parse_yaml,
    pretraining_hash,
    read_tree,
    resolve_config_path,
    shipped_configs,
    shipped_configs_dir,
    to_dict,
)
from tfhar.config.schema import (
    METHODS,
    MODALITIES,
    NON_RESULT_FIELDS,
    AugmentConfig,
    Config,
    DataConfig,
    FinetuneConfig,
    ModelConfig,
    PretrainConfig,
    RuntimeConfig,
    checkpoint_rule,
    classifier_modalities,
    trains_encoders,
)

__all__ = [
    "METHODS",
    "MODALITIES",
    "NON_RESULT_FIELDS",
    "AugmentConfig",
    "Config",
    "ConfigError",
    "DataConfig",
    "FinetuneConfig",
    "ModelConfig",
    "PretrainConfig",
    "RuntimeConfig",
    "checkpoint_rule",
    "classifier_modalities",
    "config_from_tree",
    "config_hash",
    "dump_config",
    "load_config",
    "matches_saved",
    "own_pretraining_hash",
    "parse_yaml",
    "pretrained_modalities",
    "pretraining_hash",
    "read_tree",
    "resolve_config_path",
    "shipped_configs",
    "shipped_configs_dir",
    "to_dict",
    "trains_encoders",
]
