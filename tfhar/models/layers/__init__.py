"""Reusable Keras layers: fused BatchNorm, LayerNorm, sinusoidal positions, the transformer
block."""

from tfhar.models.layers.batch_norm import (
    BATCH_NORM_EPSILON,
    BATCH_NORM_MOMENTUM,
    FusedBatchNormalization,
    batch_norm,
)
from tfhar.models.layers.layer_norm import LayerNorm
from tfhar.models.layers.positional_encoding import SinusoidalPositionalEncoding
from tfhar.models.layers.transformer import TransformerEncoderLayer

__all__ = [
    "BATCH_NORM_EPSILON",
    "BATCH_NORM_MOMENTUM",
    "FusedBatchNormalization",
    "LayerNorm",
    "SinusoidalPositionalEncoding",
    "TransformerEncoderLayer",
    "batch_norm",
]
