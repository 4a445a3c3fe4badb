"""The CMC-CMKM pre-training stage (method cmc_cmkm; docs/cmc_cmkm.md).

The two mining encoders come from `cmkm.encoders` or, for a modality not given, from SimCLR run
here first (the `pretrain_simclr` stage, saved as encoders/mining_<modality>.keras); then the
two encoders are pre-trained with `cmkm_loss` while the mining encoders stay frozen. Resumable
like `pretrain_cmc`: finished encoders are loaded, an interrupted stage resumes from its last
epoch, and a mining encoder pre-trained earlier is loaded instead of trained again. With
`pretrain.shards`, both SimCLR and CMC-CMKM stream their windows from the shards.
"""

from __future__ import annotations

from pathlib import Path

import keras

from tfhar import builders
from tfhar.config import MODALITIES
from tfhar.experiment.callbacks import StageTimer
from tfhar.experiment.stages import (
    RunContext,
    _fit_contrastive,
    _report,
    cross_modal_dataset,
    encoders_done_earlier,
    pretrain_simclr,
    save_model,
)
from tfhar.models import CMCCMKMModel


def mining_encoder_path(ctx: RunContext, modality: str) -> Path:
    """The mining encoder of `modality`: the `cmkm.encoders` file, else encoders/mining_*.keras
    in the run directory."""
    given = ctx.config.cmkm.encoders.get(modality)
    return Path(given) if given else ctx.run_dir.encoder_path(f"mining_{modality}")


def mining_encoders(ctx: RunContext) -> dict[str, keras.Model]:
    """Both mining encoders, loaded under the strategy, SimCLR-pretrained here when not given.

    Raises ValueError when an encoder's input shape does not fit the data's windows.
    """
    encoders = {}
    for modality in MODALITIES:
        path = mining_encoder_path(ctx, modality)
        if modality not in ctx.config.cmkm.encoders and not path.is_file():
            pretrain_simclr(ctx, modality, name=path.stem)
        with ctx.strategy.scope():
            encoder = keras.models.load_model(path)
        builders.check_encoder_input(encoder, modality, ctx.splits.pretrain, str(path))
        encoders[modality] = encoder
    return encoders


def pretrain_cmc_cmkm(ctx: RunContext) -> dict[str, keras.Model]:
    """CMC-CMKM across modalities on the unlabeled training recordings; returns both encoders."""
    config, stage = ctx.config, "pretrain_cmc_cmkm"
    paths = {m: ctx.run_dir.encoder_path(m) for m in MODALITIES}
    done = encoders_done_earlier(ctx, stage, paths)
    if done is not None:
        return done
    miners = mining_encoders(ctx)
    timer = StageTimer(ctx.run_dir, stage)
    train, section = ctx.splits.pretrain, config.cmkm
    dataset = cross_modal_dataset(ctx)  # As CMC's, streamed or in memory.
    with ctx.strategy.scope():
        encoders = {m: builders.build_encoder(config, m, train) for m in MODALITIES}
        heads = {m: builders.build_projection(config, e, f"{m}_projection")
                 for m, e in encoders.items()}
        model = CMCCMKMModel(
            encoders["inertial"], encoders["skeleton"], heads["inertial"], heads["skeleton"],
            miners["inertial"], miners["skeleton"], config.pretrain.temperature,
            positives=section.positives, symmetric_positives=section.symmetric_positives,
            intra_modal_negatives_weight=section.intra_modal_negatives_weight,
            intra_modal_temperature=section.intra_modal_temperature,
            negative_pruning_threshold=section.negative_pruning_threshold,
            loss_weighting_scale=section.loss_weighting_scale)
    history = _fit_contrastive(ctx, stage, model, dataset, config.pretrain.epochs, timer)
    for modality, encoder in encoders.items():
        save_model(encoder, paths[modality])
    _report(stage, history, timer.flush(),
            "; mined with " + ", ".join(str(mining_encoder_path(ctx, m)) for m in MODALITIES))
    return encoders
