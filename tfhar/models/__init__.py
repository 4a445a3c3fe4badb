"""Models of tfhar: encoders, heads, contrastive losses and the Keras models that train them.

Models take plain arguments; they never read files or configs.
"""

from tfhar.models.classifier import ClassifierModel
from tfhar.models.cmc import CMCModel
from tfhar.models.encoders import (
    SinusoidalPositionalEncoding,
    TemporalDifference,
    TransformerEncoderLayer,
    build_inertial_encoder,
    build_skeleton_encoder,
)
from tfhar.models.heads import (
    build_fusion_classifier,
    build_linear_classifier,
    build_mlp_classifier,
    build_projection_head,
)
from tfhar.models.losses import cmc_loss, contrastive_accuracy, nt_xent
from tfhar.models.precision import PRECISIONS, set_precision
from tfhar.models.simclr import SimCLRModel

__all__ = [
    "PRECISIONS",
    "CMCModel",
    "ClassifierModel",
    "SimCLRModel",
    "SinusoidalPositionalEncoding",
    "TemporalDifference",
    "TransformerEncoderLayer",
    "build_fusion_classifier",
    "build_inertial_encoder",
    "build_linear_classifier",
    "build_mlp_classifier",
    "build_projection_head",
    "build_skeleton_encoder",
    "cmc_loss",
    "contrastive_accuracy",
    "nt_xent",
    "set_precision",
]
