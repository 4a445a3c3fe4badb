"""Heads: shapes, layer sizes, float32 logits under mixed precision, argument checks."""

import keras
import numpy as np
import pytest

from tfhar.models.heads import (
    build_fusion_classifier,
    build_linear_classifier,
    build_mlp_classifier,
    build_projection_head,
)


def _dense_units(model: keras.Model) -> list[int]:
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_projection_head_is_dense_bn_relu_dense():
    head = build_projection_head(40, hidden_dim=32, output_dim=8)
    kinds = [type(layer).__name__ for layer in head.layers[1:]]
    assert kinds == ["Dense", "FusedBatchNormalization", "ReLU", "Dense"]
    assert isinstance(head.layers[2], keras.layers.BatchNormalization)
    assert tuple(head(np.ones((3, 40), "float32")).shape) == (3, 8)


def test_mlp_classifier_has_the_papers_hidden_layers():
    classifier = build_mlp_classifier(40, num_classes=27)
    assert _dense_units(classifier) == [256, 128, 27]
    assert [layer.activation.__name__ for layer in classifier.layers[1:]] == [
        "relu",
        "relu",
        "linear",
    ]
    assert tuple(classifier(np.ones((3, 40), "float32")).shape) == (3, 27)


def test_linear_classifier_is_one_dense_layer():
    classifier = build_linear_classifier(40, num_classes=5)
    assert _dense_units(classifier) == [5]
    assert tuple(classifier(np.ones((3, 40), "float32")).shape) == (3, 5)


def test_fusion_classifier_maps_each_modality_then_classifies():
    classifier = build_fusion_classifier(
        {"inertial": 40, "skeleton": 24}, num_classes=7, hidden_dim=16, classifier_hidden_dims=(12,)
    )
    features = {"inertial": np.ones((3, 40), "float32"), "skeleton": np.ones((3, 24), "float32")}
    assert tuple(classifier(features).shape) == (3, 7)
    assert _dense_units(classifier) == [16, 16, 12, 7]
    assert classifier.get_layer("concatenate").output.shape == (None, 32)


def test_fusion_classifier_without_hidden_layers_is_the_authors_linear_layer():
    classifier = build_fusion_classifier(
        {"inertial": 40, "skeleton": 24}, num_classes=7, classifier_hidden_dims=()
    )
    assert _dense_units(classifier) == [256, 256, 7]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize(
    ("build", "to_inputs"),
    [
        (lambda: build_linear_classifier(8, 3), lambda x: x),
        (lambda: build_mlp_classifier(8, 3, (4,)), lambda x: x),
        (lambda: build_fusion_classifier({"inertial": 8}, 3, 4, (4,)), lambda x: {"inertial": x}),
    ],
    ids=["linear", "mlp", "fusion"],
)
def test_classifier_logits_are_float32_under_mixed_precision(policy, build, to_inputs):
    keras.mixed_precision.set_global_policy(policy)
    classifier = build()
    logits = classifier(to_inputs(np.ones((2, 8), "float32")))
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    assert classifier.get_layer("logits").dtype_policy.name == "float32"
    assert all(weight.dtype == "float32" for weight in classifier.weights)


def test_hidden_layers_compute_in_the_mixed_dtype():
    keras.mixed_precision.set_global_policy("mixed_float16")
    assert build_mlp_classifier(8, 3, (4,)).get_layer("hidden1").compute_dtype == "float16"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: build_projection_head(0), "input_dim.*0"),
        (lambda: build_mlp_classifier(8, 0), "num_classes.*0"),
        (lambda: build_mlp_classifier(8, 3, hidden_dims=(4, -1)), "hidden_dims.*-1"),
        (lambda: build_fusion_classifier({}, 3), r"feature_dims.*\{\}"),
        (lambda: build_fusion_classifier({"skeleton": 0}, 3), "feature_dims\\['skeleton'\\].*0"),
    ],
)
def test_heads_reject_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
