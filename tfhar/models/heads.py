"""Heads on top of encoder features: projection MLP for pre-training, classifiers for labels.

Classifiers return logits; their last Dense layer computes in float32 so logits stay float32
under a mixed-precision policy.
"""

from collections.abc import Mapping, Sequence

import keras

from tfhar.models.layers import batch_norm
from tfhar.validation import check_int


def _check_dims(**dims: object) -> None:
    for name, value in dims.items():
        check_int(name, value)


def _check_hidden(hidden_dims: Sequence[int]) -> tuple[int, ...]:
    hidden_dims = tuple(hidden_dims)
    for value in hidden_dims:
        _check_dims(**{"every entry of hidden_dims": value})
    return hidden_dims


def build_projection_head(
    input_dim: int, hidden_dim: int = 256, output_dim: int = 128, name: str = "projection_head"
) -> keras.Model:
    """SimCLR / CMC projection MLP: Dense(hidden) -> BN -> ReLU -> Dense(output).

    (B, input_dim) -> (B, output_dim) projections, in the compute dtype of the policy.
    """
    _check_dims(input_dim=input_dim, hidden_dim=hidden_dim, output_dim=output_dim)
    inputs = keras.Input((input_dim,), name="features")
    x = keras.layers.Dense(hidden_dim, name="hidden")(inputs)
    x = keras.layers.ReLU(name="relu")(batch_norm("bn")(x))
    outputs = keras.layers.Dense(output_dim, name="projection")(x)
    return keras.Model(inputs, outputs, name=name)


def _mlp_logits(x: keras.KerasTensor, hidden_dims: tuple[int, ...], num_classes: int):
    for index, units in enumerate(hidden_dims, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden{index}")(x)
    return keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)


def build_linear_classifier(
    input_dim: int, num_classes: int, name: str = "linear_classifier"
) -> keras.Model:
    """Linear probe: (B, input_dim) -> float32 logits (B, num_classes)."""
    _check_dims(input_dim=input_dim, num_classes=num_classes)
    inputs = keras.Input((input_dim,), name="features")
    return keras.Model(inputs, _mlp_logits(inputs, (), num_classes), name=name)


def build_mlp_classifier(
    input_dim: int,
    num_classes: int,
    hidden_dims: Sequence[int] = (256, 128),
    name: str = "mlp_classifier",
) -> keras.Model:
    """MLP classifier of the paper (hidden layers 256 and 128, ReLU).

    (B, input_dim) -> float32 logits (B, num_classes).
    """
    _check_dims(input_dim=input_dim, num_classes=num_classes)
    hidden_dims = _check_hidden(hidden_dims)
    inputs = keras.Input((input_dim,), name="features")
    return keras.Model(inputs, _mlp_logits(inputs, hidden_dims, num_classes), name=name)


def build_fusion_classifier(
    feature_dims: Mapping[str, int],
    num_classes: int,
    hidden_dim: int = 256,
    classifier_hidden_dims: Sequence[int] = (256, 128),
    name: str = "fusion_classifier",
) -> keras.Model:
    """Feature-level fusion: per modality Dense(hidden_dim) + BN + ReLU, concatenate, classify.

    Input: dict {modality: (B, feature_dims[modality])}; output float32 logits
    (B, num_classes). The classifier after the concatenation is the paper's MLP
    (`classifier_hidden_dims`); `classifier_hidden_dims=()` gives the single linear layer of
    the authors' code.
    """
    if not isinstance(feature_dims, Mapping) or not feature_dims:
        raise ValueError(
            f"feature_dims must be a non-empty dict {{modality: size}}, got {feature_dims!r}"
        )
    for modality, dim in feature_dims.items():
        _check_dims(**{f"feature_dims[{modality!r}]": dim})
    _check_dims(num_classes=num_classes, hidden_dim=hidden_dim)
    classifier_hidden_dims = _check_hidden(classifier_hidden_dims)
    inputs, mapped = {}, []
    for modality, dim in feature_dims.items():
        inputs[modality] = keras.Input((dim,), name=modality)
        x = keras.layers.Dense(hidden_dim, name=f"{modality}_map")(inputs[modality])
        mapped.append(keras.layers.ReLU(name=f"{modality}_relu")(batch_norm(f"{modality}_bn")(x)))
    x = mapped[0] if len(mapped) == 1 else keras.layers.Concatenate(name="concatenate")(mapped)
    return keras.Model(inputs, _mlp_logits(x, classifier_hidden_dims, num_classes), name=name)
