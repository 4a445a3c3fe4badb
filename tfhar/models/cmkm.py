"""CMC with cross-modal knowledge mining (CMC-CMKM; Brinzea, Khaertdinov and Asteriadis,
IJCNN 2022, arXiv 2205.10071): CMC whose positives and negatives are mined in the feature
spaces of frozen, SimCLR-pretrained unimodal encoders."""

import keras
import tensorflow as tf

from tfhar.models.cmc import unpack_modalities
from tfhar.models.contrastive import ContrastiveModel
from tfhar.models.losses import cmc_loss, cmkm_loss
from tfhar.validation import check_int, check_positive


@keras.saving.register_keras_serializable(package="tfhar")
class CMCCMKMModel(ContrastiveModel):
    """Two encoders + projection heads trained with `cmkm_loss`, mined by two frozen encoders.

    `fit` data: (inertial_batch, skeleton_batch) or {"inertial": ..., "skeleton": ...}, one
    augmented view per modality, as for `CMCModel`. The mining encoders see the same views in
    inference mode and are set non-trainable here: a step never changes them. `call` returns
    {"inertial": (B, P), "skeleton": (B, P)} projections. The mining settings are those of
    `cmkm_loss`. A test step (validation) computes `cmc_loss`, without mining, as the authors'
    code does. Metrics: `loss` and `acc` (cross-modal top-1 accuracy, both directions).
    """

    PARTS = ("inertial_encoder", "skeleton_encoder", "inertial_head", "skeleton_head",
             "inertial_mining_encoder", "skeleton_mining_encoder")

    def __init__(
        self,
        inertial_encoder: keras.Model,
        skeleton_encoder: keras.Model,
        inertial_head: keras.Model,
        skeleton_head: keras.Model,
        inertial_mining_encoder: keras.Model,
        skeleton_mining_encoder: keras.Model,
        temperature: float,
        positives: int = 1,
        symmetric_positives: bool = False,
        intra_modal_negatives_weight: float = 1.0,
        intra_modal_temperature: float = 1.0,
        negative_pruning_threshold: float | None = None,
        loss_weighting_scale: float | None = None,
        **kwargs,
    ):
        parts = (inertial_encoder, skeleton_encoder, inertial_head, skeleton_head,
                 inertial_mining_encoder, skeleton_mining_encoder)
        if inertial_mining_encoder is inertial_encoder or skeleton_mining_encoder is (
                skeleton_encoder):
            raise ValueError("the mining encoders must be other models than the trained ones")
        for miner in parts[4:]:
            miner.trainable = False
        super().__init__(temperature, dict(zip(self.PARTS, parts, strict=True)), **kwargs)
        self.positives = check_int("positives", positives, low=0)
        self.symmetric_positives = bool(symmetric_positives)
        if intra_modal_negatives_weight != 0:
            check_positive("intra_modal_negatives_weight", intra_modal_negatives_weight)
        self.intra_modal_negatives_weight = float(intra_modal_negatives_weight)
        self.intra_modal_temperature = check_positive("intra_modal_temperature",
                                                      intra_modal_temperature)
        self.negative_pruning_threshold = negative_pruning_threshold
        self.loss_weighting_scale = loss_weighting_scale

    def call(self, inputs, training=False):
        inertial, skeleton = unpack_modalities(inputs)
        features = self.inertial_encoder(inertial, training=training)
        z_inertial = self.inertial_head(features, training=training)
        features = self.skeleton_encoder(skeleton, training=training)
        return {"inertial": z_inertial, "skeleton": self.skeleton_head(features, training=training)}

    def mining_features(self, inertial: tf.Tensor, skeleton: tf.Tensor
                        ) -> tuple[tf.Tensor, tf.Tensor]:
        """The frozen encoders' (B, F) features of a batch, in inference mode, no gradient."""
        return (tf.stop_gradient(self.inertial_mining_encoder(inertial, training=False)),
                tf.stop_gradient(self.skeleton_mining_encoder(skeleton, training=False)))

    def views_loss(self, data, training: bool):
        inertial, skeleton = unpack_modalities(data)
        z = self((inertial, skeleton), training=training)
        z_inertial, z_skeleton = z["inertial"], z["skeleton"]
        if not training:
            return cmc_loss(z_inertial, z_skeleton, self.temperature), z_inertial, z_skeleton
        loss = cmkm_loss(
            z_inertial, z_skeleton, *self.mining_features(inertial, skeleton), self.temperature,
            positives=self.positives, symmetric_positives=self.symmetric_positives,
            intra_modal_negatives_weight=self.intra_modal_negatives_weight,
            intra_modal_temperature=self.intra_modal_temperature,
            negative_pruning_threshold=self.negative_pruning_threshold,
            loss_weighting_scale=self.loss_weighting_scale)
        return loss, z_inertial, z_skeleton

    def get_config(self):
        return {
            **super().get_config(),
            "positives": self.positives,
            "symmetric_positives": self.symmetric_positives,
            "intra_modal_negatives_weight": self.intra_modal_negatives_weight,
            "intra_modal_temperature": self.intra_modal_temperature,
            "negative_pruning_threshold": self.negative_pruning_threshold,
            "loss_weighting_scale": self.loss_weighting_scale,
        }
