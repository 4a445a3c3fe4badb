"""Models of tfhar: encoders, heads, contrastive losses and the Keras models that train them.

Models take plain arguments; they never read files or configs.
"""

from tfhar.models.classifier import ClassifierModel
from tfhar.models.cmc import CMCModel
from tfhar.models.cmkm import CMCCMKMModel
from tfhar.models.cnn_transformer import build_cnn_transformer_encoder
from tfhar.models.contrastive import ContrastiveModel
from tfhar.models.hcn import TemporalDifference, build_hcn_encoder
from tfhar.models.heads import (
    build_fusion_classifier,
    build_linear_classifier,
    build_mlp_classifier,
    build_projection_head,
)
from tfhar.models.layers import (
    FusedBatchNormalization,
    LayerNorm,
    SinusoidalPositionalEncoding,
    TransformerEncoderLayer,
)
from tfhar.models.losses import cmc_loss, cmkm_loss, contrastive_accuracy, nt_xent
from tfhar.models.precision import PRECISIONS, set_precision
from tfhar.models.simclr import SimCLRModel

__all__ = [
    "PRECISIONS",
    "CMCCMKMModel",
    "CMCModel",
    "ClassifierModel",
    "ContrastiveModel",
    "FusedBatchNormalization",
    "LayerNorm",
    "SimCLRModel",
    "SinusoidalPositionalEncoding",
    "TemporalDifference",
    "TransformerEncoderLayer",
    "build_cnn_transformer_encoder",
    "build_fusion_classifier",
    "build_hcn_encoder",
    "build_linear_classifier",
    "build_mlp_classifier",
    "build_projection_head",
    "cmc_loss",
    "cmkm_loss",
    "contrastive_accuracy",
    "nt_xent",
    "set_precision",
]
