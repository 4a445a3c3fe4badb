"""cmkm_loss on 2 logical CPUs under MirroredStrategy equals the 1-device value: neighbours,
connectivity and candidates span the global batch.

Logical devices must be configured before TensorFlow initializes, so the 2-device half runs
in a fresh interpreter.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfhar.models.losses import cmkm_loss

SCRIPT = r"""
import json, sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from test_cmkm_distributed import batch, losses  # noqa: E402

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
dataset = tf.data.Dataset.from_tensor_slices(batch()).batch(8)
per_replica = strategy.run(tf.function(losses), args=next(
    iter(strategy.experimental_distribute_dataset(dataset))))
print(json.dumps({name: float(strategy.reduce("MEAN", value, axis=None))
                  for name, value in per_replica.items()}))
"""

SETTINGS = {
    "paper": {},
    "all_options": {"positives": 2, "symmetric_positives": True,
                    "intra_modal_negatives_weight": 0.5, "intra_modal_temperature": 0.3,
                    "negative_pruning_threshold": 0.75, "loss_weighting_scale": 0.25},
}


def batch() -> tuple[np.ndarray, ...]:
    """A global batch of 8: projections (8, 4) and non-negative mining features (8, 5)."""
    rng = np.random.default_rng(0)
    z_i, z_s = rng.normal(size=(2, 8, 4)).astype("float32")
    m_i, m_s = np.abs(rng.normal(size=(2, 8, 5))).astype("float32")
    return z_i, z_s, m_i, m_s


def losses(z_i, z_s, m_i, m_s) -> dict[str, tf.Tensor]:
    return {name: cmkm_loss(z_i, z_s, m_i, m_s, 0.2, **settings)
            for name, settings in SETTINGS.items()}


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
        capture_output=True, text=True, env=environment, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_cmkm_loss_on_two_replicas_equals_the_one_device_value(two_devices, name):
    one_device = float(losses(*batch())[name])
    np.testing.assert_allclose(two_devices[name], one_device, rtol=1e-5)


def test_the_pruning_threshold_prunes_some_but_not_all_samples():
    """0.75 lies among the connectivities of the test batch, so pruning is exercised."""
    for features in batch()[2:]:
        unit = features / np.linalg.norm(features, axis=1, keepdims=True)
        connectivity = (unit @ unit.T).mean(axis=0)
        assert connectivity.min() < 0.75 < connectivity.max()
