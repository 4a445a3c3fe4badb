"""Losses and a SimCLR step on 2 logical CPUs under MirroredStrategy equal the 1-device ones.

Logical devices must be configured before TensorFlow initializes, so the 2-device half runs
in a fresh interpreter.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

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


@pytest.fixture(scope="module")
def two_devices() -> dict:
    environment = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


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
