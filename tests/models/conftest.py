"""Fixtures for model tests: float32 policy around each test, tiny encoders and batches."""

from collections.abc import Callable

import keras
import numpy as np
import pytest

from tfhar.models import build_cnn_transformer_encoder, build_hcn_encoder

INERTIAL_SHAPE = (20, 6)  # (window_length, channels): tiny, for fast training steps.
SKELETON_SHAPE = (48, 5, 3)  # HCN's shortest window, 5 joints, 3D.


@pytest.fixture(autouse=True)
def float32_policy():
    """Every test starts and ends under the float32 policy with a fixed seed."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def tiny_inertial_encoder() -> Callable[..., keras.Model]:
    """Builder of a small inertial encoder (no dropout, so steps are deterministic): (B, 8)."""

    def build(**overrides) -> keras.Model:
        arguments = dict(
            window_length=INERTIAL_SHAPE[0],
            num_channels=INERTIAL_SHAPE[1],
            filters=(4, 8, 8),
            kernel_size=3,
            num_heads=2,
            num_layers=1,
            feedforward_dim=16,
            dropout=0.0,
            reduction="mean",
        )
        return build_cnn_transformer_encoder(**{**arguments, **overrides})

    return build


@pytest.fixture
def tiny_skeleton_encoder() -> Callable[..., keras.Model]:
    """Builder of a small skeleton encoder: (B, 48, 5, 3) -> (B, 16)."""

    def build(**overrides) -> keras.Model:
        window_length, num_joints, num_coords = SKELETON_SHAPE
        arguments = dict(
            window_length=window_length, num_joints=num_joints, num_coords=num_coords, output_dim=16
        )
        return build_hcn_encoder(**{**arguments, **overrides})

    return build


@pytest.fixture
def inertial_batch() -> np.ndarray:
    """Eight random inertial windows, float32 (8, 20, 6)."""
    return np.random.default_rng(1).normal(size=(8, *INERTIAL_SHAPE)).astype("float32")


@pytest.fixture
def skeleton_batch() -> np.ndarray:
    """Eight random skeleton sequences, float32 (8, 48, 5, 3)."""
    return np.random.default_rng(2).normal(size=(8, *SKELETON_SHAPE)).astype("float32")


def weights_changed(before: list[np.ndarray], after: list[np.ndarray]) -> list[bool]:
    """For each weight array, whether any value moved."""
    return [not np.array_equal(a, b) for a, b in zip(before, after, strict=True)]


@pytest.fixture
def changed() -> Callable[[list[np.ndarray], list[np.ndarray]], list[bool]]:
    """`weights_changed` as a fixture (test modules cannot import conftest)."""
    return weights_changed
