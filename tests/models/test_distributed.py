"""Losses, a SimCLR step, the real CMC model and synchronized BatchNorm on 2 logical CPUs
under MirroredStrategy equal their 1-device counterparts.

Logical devices must be configured before TensorFlow initializes, so the 2-device halves run
in fresh interpreters.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfhar.models.layers.batch_norm import FusedBatchNormalization
from tfhar.models.losses import cmc_loss, contrastive_accuracy, nt_xent
from tfhar.models.simclr import SimCLRModel

SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from test_distributed import build_simclr, losses, pair  # noqa: E402

z_a, z_b = pair()
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
dataset = tf.data.Dataset.from_tensor_slices((z_a, z_b)).batch(len(z_a))
batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
per_replica = strategy.run(tf.function(losses), args=batch)
result = {name: float(strategy.reduce("MEAN", value, axis=None))
          for name, value in per_replica.items()}
result["local_batch_sizes"] = [
    int(t.shape[0]) for t in strategy.experimental_local_results(batch[0])]
with strategy.scope():
    model = build_simclr()
result["history"] = model.fit(dataset, epochs=2, shuffle=False, verbose=0).history
result["weights"] = [w.tolist() for w in model.get_weights()]
print(json.dumps(result))
"""


def pair() -> tuple[np.ndarray, np.ndarray]:
    """A global batch of 8 paired 4-d projections (inputs, for the model)."""
    z_a, z_b = np.random.default_rng(0).normal(size=(2, 8, 4)).astype("float32")
    return z_a, z_b


def losses(z_a, z_b) -> dict[str, tf.Tensor]:
    return {
        "nt_xent": nt_xent(z_a, z_b, 0.5),
        "cmc": cmc_loss(z_a, z_b, 0.5),
        "acc": contrastive_accuracy(z_a, z_b),
        "acc_views": contrastive_accuracy(z_a, z_b, intra_view_negatives=True),
    }


def build_simclr() -> SimCLRModel:
    """A SimCLR model without BatchNorm (its statistics are per replica by design)."""
    keras.utils.set_random_seed(1)
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh")])
    head = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    model = SimCLRModel(encoder, head, temperature=0.5)
    model.compile(optimizer=keras.optimizers.SGD(0.5), jit_compile=False)
    return model


CMC_SCRIPT = r"""
import json, sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from test_distributed import bn_input, build_cmc, cmc_batch  # noqa: E402
from tfhar.models.layers.batch_norm import FusedBatchNormalization  # noqa: E402
from tfhar.models.losses import scale_for_replicas  # noqa: E402

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
result = {}
for synchronized in (False, True):
    with strategy.scope():
        model = build_cmc(synchronized)

    @tf.function
    def step(inertial, skeleton):
        with tf.GradientTape() as tape:
            loss, _, _ = model.views_loss((inertial, skeleton), training=True)
            scaled = scale_for_replicas(loss)
        gradients = tape.gradient(scaled, model.trainable_variables)
        return loss, tf.distribute.get_replica_context().all_reduce("SUM", gradients)

    dataset = tf.data.Dataset.from_tensor_slices(cmc_batch()).batch(8)
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    loss, gradients = strategy.run(step, args=batch)
    result[f"cmc_sync_{synchronized}"] = {
        "loss": float(strategy.reduce("MEAN", loss, axis=None)),
        "gradients": [strategy.experimental_local_results(g)[0].numpy().tolist()
                      for g in gradients]}

    with strategy.scope():
        layer = FusedBatchNormalization(momentum=0.9, epsilon=1e-5,
                                        synchronized=synchronized)
        layer.build(bn_input().shape)
    dataset = tf.data.Dataset.from_tensor_slices(bn_input()).batch(8)
    outputs = strategy.run(tf.function(lambda x: layer(x, training=True)), args=(
        next(iter(strategy.experimental_distribute_dataset(dataset))),))
    result[f"bn_sync_{synchronized}"] = {
        "outputs": tf.concat(strategy.experimental_local_results(outputs), 0).numpy().tolist(),
        "moving_mean": layer.moving_mean.numpy().tolist(),
        "moving_variance": layer.moving_variance.numpy().tolist()}
print(json.dumps(result))
"""


def cmc_batch() -> tuple[np.ndarray, np.ndarray]:
    """A global batch of 8 inertial (20, 6) and skeleton (48, 5, 3) windows."""
    rng = np.random.default_rng(3)
    return (rng.normal(size=(8, 20, 6)).astype("float32"),
            rng.normal(size=(8, 48, 5, 3)).astype("float32"))


def build_cmc(synchronized: bool):
    """The CMC model of a config (small sizes, no dropout) through the builders."""
    from tfhar import builders
    from tfhar.config import load_config
    from tfhar.models import CMCModel

    config = load_config(None, [
        "model.inertial.filters=[4,8,8]", "model.inertial.kernel_size=3",
        "model.inertial.num_layers=1", "model.inertial.feedforward_dim=16",
        "model.inertial.dropout=0.0", "model.inertial.reduction=mean",
        "model.skeleton.output_dim=16", "model.projection_hidden_dim=8",
        "model.projection_dim=4", f"model.sync_batchnorm={str(synchronized).lower()}"])
    inertial, skeleton = cmc_batch()
    shapes = SimpleNamespace(inertial=inertial, skeleton=skeleton)
    keras.utils.set_random_seed(2)
    encoders = {m: builders.build_encoder(config, m, shapes) for m in ("inertial", "skeleton")}
    heads = {m: builders.build_projection(config, e, f"{m}_projection")
             for m, e in encoders.items()}
    return CMCModel(encoders["inertial"], encoders["skeleton"], heads["inertial"],
                    heads["skeleton"], temperature=0.1)


def bn_input() -> np.ndarray:
    """(8, 10, 4) features whose mean (3) is large against their spread (0.5)."""
    return (3.0 + 0.5 * np.random.default_rng(4).normal(size=(8, 10, 4))).astype("float32")


def run_two_devices(script: str) -> dict:
    environment = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    completed = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def two_devices() -> dict:
    return run_two_devices(SCRIPT)


@pytest.fixture(scope="module")
def cmc_two_devices() -> dict:
    return run_two_devices(CMC_SCRIPT)


def test_global_batch_is_split_over_two_replicas(two_devices):
    assert two_devices["local_batch_sizes"] == [4, 4]


@pytest.mark.parametrize("name", ["nt_xent", "cmc", "acc", "acc_views"])
def test_losses_on_two_replicas_equal_the_one_device_values(two_devices, name):
    one_device = float(losses(*pair())[name])
    np.testing.assert_allclose(two_devices[name], one_device, rtol=1e-5)


def test_simclr_steps_on_two_replicas_equal_the_one_device_steps(two_devices):
    model = build_simclr()
    initial = model.get_weights()
    history = model.fit(
        tf.data.Dataset.from_tensor_slices(pair()).batch(8), epochs=2, shuffle=False, verbose=0
    ).history
    for name in ("loss", "acc"):
        np.testing.assert_allclose(two_devices["history"][name], history[name], rtol=1e-5)
    for mirrored, single, start in zip(
        two_devices["weights"], model.get_weights(), initial, strict=True
    ):
        assert not np.allclose(single, start)
        np.testing.assert_allclose(mirrored, single, rtol=1e-4, atol=1e-6)


def one_device_cmc_step(synchronized: bool) -> tuple[float, list[np.ndarray]]:
    """The CMC loss and gradients on one device: over the global batch when BatchNorm is
    synchronized, else with each replica's half normalized by its own statistics."""
    model = build_cmc(synchronized)
    inertial, skeleton = cmc_batch()
    parts = [slice(0, 4), slice(4, 8)] if not synchronized else [slice(0, 8)]
    with tf.GradientTape() as tape:
        z = [model((inertial[part], skeleton[part]), training=True) for part in parts]
        loss = cmc_loss(tf.concat([p["inertial"] for p in z], 0),
                        tf.concat([p["skeleton"] for p in z], 0), model.temperature)
    return float(loss), [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]


@pytest.mark.parametrize("synchronized", [False, True])
def test_cmc_step_on_two_replicas_equals_the_one_device_step(cmc_two_devices, synchronized):
    mirrored = cmc_two_devices[f"cmc_sync_{synchronized}"]
    loss, gradients = one_device_cmc_step(synchronized)
    np.testing.assert_allclose(mirrored["loss"], loss, rtol=1e-5)
    assert len(mirrored["gradients"]) == len(gradients)
    # Within rounding, relative to the largest gradient: the fused kernel (one device) and the
    # all-reduced statistics sum in different orders, 1 / temperature = 10 magnifies it, and
    # the biases before BatchNorm have no gradient but rounding.
    scale = max(np.abs(g).max() for g in gradients)
    for two, one in zip(mirrored["gradients"], gradients, strict=True):
        np.testing.assert_allclose(two, one, rtol=1e-3, atol=1e-3 * scale)


def test_synchronized_batch_norm_uses_the_global_batch_statistics(cmc_two_devices):
    layer = FusedBatchNormalization(momentum=0.9, epsilon=1e-5)  # One device, whole batch.
    outputs = layer(bn_input(), training=True).numpy()
    synchronized = cmc_two_devices["bn_sync_True"]
    np.testing.assert_allclose(synchronized["outputs"], outputs, atol=1e-4)
    for name in ("moving_mean", "moving_variance"):
        np.testing.assert_allclose(synchronized[name], getattr(layer, name).numpy(), rtol=1e-5)
    # Unsynchronized, each replica normalizes its half by the half's own statistics.
    local = cmc_two_devices["bn_sync_False"]["outputs"]
    assert np.abs(np.asarray(local) - outputs).max() > 1e-2
    halves = [FusedBatchNormalization(momentum=0.9, epsilon=1e-5)(half, training=True)
              for half in np.split(bn_input(), 2)]
    np.testing.assert_allclose(local, np.concatenate(halves), atol=1e-4)


def test_synchronize_batch_norm_sets_every_layer_and_is_saved(tiny_skeleton_encoder, tmp_path):
    from tfhar.models.layers.batch_norm import synchronize_batch_norm

    encoder = synchronize_batch_norm(tiny_skeleton_encoder())
    layers = [layer for layer in encoder.layers if isinstance(layer, FusedBatchNormalization)]
    assert layers and all(layer.synchronized for layer in layers)
    encoder.save(tmp_path / "encoder.keras")
    reloaded = keras.models.load_model(tmp_path / "encoder.keras")
    assert all(layer.synchronized for layer in reloaded.layers
               if isinstance(layer, FusedBatchNormalization))
