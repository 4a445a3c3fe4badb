"""Mixed precision: the policy helper, float16 steps track float32 steps, bfloat16 trains."""

import keras
import numpy as np
import pytest

from tfhar.models import precision as precision_module
from tfhar.models.classifier import ClassifierModel
from tfhar.models.cmc import CMCModel
from tfhar.models.heads import build_mlp_classifier, build_projection_head
from tfhar.models.precision import POLICIES, resolve_precision, set_precision
from tfhar.models.simclr import SimCLRModel


@pytest.mark.parametrize("name", POLICIES)
def test_set_precision_sets_the_global_policy(name):
    assert set_precision(name) == name
    assert keras.mixed_precision.global_policy().name == name


@pytest.mark.parametrize("flags, gpus, expected", [
    (["avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"], [], "mixed_bfloat16"),
    (["avx2", "avx512f", "avx512_bf16"], [], "mixed_bfloat16"),
    (["avx", "avx2", "fma"], [], "float32"),             # AVX2-only: bfloat16 is emulated
    (["avx2", "amx_bf16"], ["/physical_device:GPU:0"], "float32"),  # GPUs: not measured
])
def test_auto_precision_is_bfloat16_only_on_cpus_with_bfloat16_units(monkeypatch, flags, gpus,
                                                                     expected):
    import tensorflow as tf

    import tfhar.machine

    monkeypatch.delenv("TFHAR_AUTO_PRECISION", raising=False)
    monkeypatch.setattr(tfhar.machine, "cpu_info", lambda: {"flags": flags})
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus)
    assert resolve_precision("auto") == expected
    assert set_precision("auto") == expected
    assert keras.mixed_precision.global_policy().name == expected
    set_precision("float32")


def test_the_environment_replaces_the_auto_choice(monkeypatch):
    monkeypatch.setenv("TFHAR_AUTO_PRECISION", "mixed_bfloat16")
    assert resolve_precision("auto") == "mixed_bfloat16"
    assert resolve_precision("float32") == "float32"  # An explicit precision is kept.
    monkeypatch.setenv("TFHAR_AUTO_PRECISION", "bfloat16")
    with pytest.raises(ValueError, match="TFHAR_AUTO_PRECISION must be one of .*'bfloat16'"):
        resolve_precision("auto")


def test_explicit_precisions_are_kept_on_every_machine():
    for name in POLICIES:
        assert resolve_precision(name) == name
    assert "auto" in precision_module.PRECISIONS


@pytest.mark.parametrize("name", ["float16", "bfloat16", "mixed_float32", ""])
def test_set_precision_rejects_other_names(name):
    with pytest.raises(ValueError, match=f"precision must be one of .*got '{name}'"):
        set_precision(name)


def _simclr(precision: str, tiny_inertial_encoder) -> SimCLRModel:
    set_precision(precision)
    keras.utils.set_random_seed(0)
    model = SimCLRModel(tiny_inertial_encoder(), build_projection_head(8, 16, 8), temperature=0.5)
    model.compile(optimizer=keras.optimizers.SGD(0.05), run_eagerly=True)
    return model


def _flat(weights: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([w.ravel() for w in weights])


def test_mixed_float16_steps_move_weights_like_float32_steps(tiny_inertial_encoder, inertial_batch):
    views = (inertial_batch, inertial_batch + 0.1)
    reference = _simclr("float32", tiny_inertial_encoder)
    initial = reference.get_weights()
    for _ in range(2):
        reference.train_on_batch(views)
    mixed = _simclr("mixed_float16", tiny_inertial_encoder)
    mixed.set_weights(initial)
    assert isinstance(mixed.optimizer, keras.optimizers.LossScaleOptimizer)
    assert mixed.encoder.layers[2].compute_dtype == "float16"
    # Dynamic loss scaling skips a step whose float16 gradients overflow and halves the scale:
    # compare after the same number of applied updates.
    losses = []
    for _ in range(6):
        losses.append(mixed.train_on_batch(views, return_dict=True)["loss"])
        if int(mixed.optimizer.inner_optimizer.iterations) == 2:
            break
    assert int(mixed.optimizer.inner_optimizer.iterations) == 2
    assert np.isfinite(losses).all()
    assert all(weight.dtype == "float32" for weight in mixed.weights)
    update_32 = _flat(reference.get_weights()) - _flat(initial)
    update_16 = _flat(mixed.get_weights()) - _flat(initial)
    assert np.isfinite(update_16).all()
    norm_32 = np.linalg.norm(update_32)
    assert abs(np.linalg.norm(update_16) - norm_32) < 0.2 * norm_32
    moved = np.abs(update_32) > 1e-4
    assert moved.mean() > 0.5
    assert np.mean(np.sign(update_16[moved]) == np.sign(update_32[moved])) > 0.85


def test_mixed_bfloat16_cmc_step_trains(
    tiny_inertial_encoder, tiny_skeleton_encoder, inertial_batch, skeleton_batch, changed
):
    set_precision("mixed_bfloat16")
    model = CMCModel(
        tiny_inertial_encoder(),
        tiny_skeleton_encoder(),
        build_projection_head(8, 16, 8, name="inertial_head"),
        build_projection_head(16, 16, 8, name="skeleton_head"),
        temperature=0.5,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    assert model.skeleton_encoder.get_layer("conv5").compute_dtype == "bfloat16"
    before = model.get_weights()
    logs = [
        model.train_on_batch((inertial_batch, skeleton_batch), return_dict=True) for _ in range(3)
    ]
    assert all(np.isfinite(entry["loss"]) for entry in logs)
    assert logs[-1]["loss"] < logs[0]["loss"]
    assert np.mean(changed(before, model.get_weights())) > 0.5
    assert all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_classifier_under_mixed_precision_gives_float32_logits_and_trains(
    precision, tiny_inertial_encoder, inertial_batch
):
    set_precision(precision)
    model = ClassifierModel(
        {"inertial": tiny_inertial_encoder()},
        build_mlp_classifier(8, 3, (16,)),
        trainable_encoders=True,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    labels = np.arange(8) % 3
    logs = [model.train_on_batch(inertial_batch, labels, return_dict=True) for _ in range(4)]
    assert all(np.isfinite(entry["loss"]) for entry in logs)
    assert model.predict(inertial_batch, verbose=0).dtype == np.float32
