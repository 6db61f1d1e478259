"""Training: one loop (:mod:`~emgse.training.loop`) fed by fixed mixtures
(:mod:`~emgse.training.stores`, the paper's protocol) or by mixtures drawn on the fly
(:mod:`~emgse.training.sampled`); its configuration and model rules (:mod:`~emgse.training.config`),
objective (:mod:`~emgse.training.losses`), processes and devices (:mod:`~emgse.training.distributed`)
and the one way in from a YAML file plus command-line flags (:mod:`~emgse.training.setup`).

Data flows one way: setup -> stores | sampled -> loop -> losses; config and distributed are
used by all of them.
"""

from emgse.training.config import (
    DEFAULT_AUDIO_ONLY_SHARE,
    PRECISIONS,
    WAVE_WEIGHTS,
    TrainConfig,
    audio_only_share,
    check_normalization,
    default_normalization,
    lr_at,
    model_args_for,
    model_traits,
)
from emgse.training.distributed import Dist, all_reduce, resolve_device, setup_distributed
from emgse.training.loop import (
    LOG_COLUMNS,
    TrainingData,
    batches,
    fit,
    read_log,
    train_epoch,
    validate,
    warm_start,
)
from emgse.training.losses import (
    COMPRESSION,
    MRSTFT_RESOLUTIONS,
    auxiliary_loss,
    compressed_magnitude,
    mrstft_loss,
    objective,
    rebuild_segments,
    spectral_loss,
    waveform_loss,
)
from emgse.training.sampled import SampledEpoch, train_from_sources, train_sampled
from emgse.training.stores import store_for, train

__all__ = [
    "COMPRESSION", "DEFAULT_AUDIO_ONLY_SHARE", "LOG_COLUMNS", "MRSTFT_RESOLUTIONS", "PRECISIONS", "WAVE_WEIGHTS",
    "Dist", "SampledEpoch", "TrainConfig", "TrainingData",
    "all_reduce", "audio_only_share", "auxiliary_loss", "batches", "check_normalization", "compressed_magnitude",
    "default_normalization", "fit", "lr_at", "model_args_for", "model_traits", "mrstft_loss", "objective", "read_log",
    "rebuild_segments", "resolve_device", "setup_distributed", "spectral_loss", "store_for", "train", "train_epoch",
    "train_from_sources", "train_sampled", "validate", "waveform_loss", "warm_start",
]
