"""The configuration of a training run (:class:`TrainConfig`) and the rules that depend on the
model alone: its learning-rate schedule, its EMG normalization default and check, the share of
audio-only speech it trains on, and its constructor arguments for a data layout."""

from __future__ import annotations

import argparse
import functools
import math
from dataclasses import dataclass

import torch

from emgse.config import (
    LOSSES,
    LR_SCHEDULES,
    WAVE_LOSSES,
    EmgConfig,
)
from emgse.errors import EmgseError
from emgse.models import MODELS, build_model, uses_audio, uses_emg
from emgse.models.fusion import MASK_FAMILY
from emgse.options import path_text, setting

WAVE_WEIGHTS = {"sisdr": 0.0040, "mrstft": 0.0057}  # benchmarks/wave_weights.py
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}  # TrainConfig.precision -> autocast dtype


def share_option(text: str) -> float | str:
    """``--audio-only-share``: auto, all or a number (checked by :func:`audio_only_share`)."""
    try:
        return text if text in ("auto", "all") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use auto, all or a number in [0, 1)") from None


def suppression_weight_option(text: str) -> float:
    """``--suppression-weight``: a number >= 1 (:attr:`TrainConfig.suppression_weight`)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number >= 1 (1: the symmetric loss)")
    return value


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (the paper's defaults); each ``setting`` is also an ``emgse train`` option."""

    model: str = setting("emgse", "model", choices=sorted(MODELS))
    batch_size: int = setting(16, "batch size")
    lr: float = setting(1e-4, "Adam learning rate")
    max_epochs: int = setting(500, "maximum epochs", flag="--epochs")
    patience: int = setting(15, "early-stopping patience in epochs")
    segment: int = 64
    seed: int = setting(0, "random seed")
    num_workers: int = setting(0, "data loader worker processes", flag="--workers")
    device: str = setting("auto", "auto, cpu, cuda or cuda:N")
    # wall-clock budget; stops after the epoch that crosses it
    max_minutes: float | None = setting(None, "stop after the epoch that exceeds this budget in minutes (none: no budget)")
    max_steps_per_epoch: int | None = None
    # audio-only speech (train(audio_only_store=...)): share of each epoch's segments, see audio_only_share()
    audio_only_share: float | str = setting(
        "auto", "share of each epoch's segments from --audio-only-mix: auto, all or a number in [0, 1)",
        metavar="SHARE", type=share_option)
    # random per-channel EMG gains in training, log-normal sigma (SegmentDataset.gain_jitter)
    emg_gain_jitter: float = setting(
        0.0, "training augmentation for unseen electrode sessions: random per-channel EMG gains exp(N(0, SIGMA)), "
             "applied exactly to the TD features; needs --normalization zscore or none (0: off)", metavar="SIGMA")
    # a checkpoint whose same-named, same-shaped weights start the model (warm_start)
    init_from: str | None = setting(
        None, "start from a trained checkpoint's weights where names and shapes match (e.g. an audio-mask run's "
              "best.pt for emgse-mask: the fusion starts as that audio-only model, its EMG term at zero); "
              "same audio front-end required", metavar="CKPT", type=path_text)
    # training and validation loss (see spectral_loss): "l1" on log1p magnitudes (the paper), or
    # "compressed": squared error of power-law compressed magnitudes |S|^0.3
    loss: str = setting(
        "l1", "training and validation loss: l1 on log1p magnitudes (the paper), or compressed: squared error of "
              "magnitudes raised to 0.3, which weighs quiet bins (consonants, high bands) more", choices=LOSSES)
    # learning rate over the run: "constant" (the paper), or "cosine": lr * (1 + cos(pi * p)) / 2 at
    # the fraction p of max_epochs done, step by step, down to 0 at the last step (a fixed budget's
    # last steps then refine instead of jumping)
    lr_schedule: str = setting(
        "constant", "learning rate over the run: constant (the paper), or cosine: decays step by step to 0 at the "
                    "last step of --epochs (for a fixed budget)", choices=LR_SCHEDULES)
    # the loss's over-suppression weight (spectral_loss): >1 makes removing speech cost more than
    # leaving noise in; 1 (the paper) is symmetric
    suppression_weight: float = setting(
        1.0, "asymmetric loss: where the estimate falls below the clean target (speech removed) the error counts "
             "ALPHA times (>= 1; 1: symmetric), so the model learns to keep speech rather than cut it",
        metavar="ALPHA", type=suppression_weight_option)
    # a loss on the rebuilt waveform added to the spectral loss (waveform_loss): None (the paper),
    # "sisdr" or "mrstft", times wave_weight (None: that kind's WAVE_WEIGHTS entry). With one, the
    # logged training and validation losses (and the best checkpoint) are the whole objective.
    wave_loss: str | None = setting(
        None, "add a loss on the rebuilt waveform (the estimate with the noisy phase against the clean recording): "
              "sisdr (negative SI-SDR in dB) or mrstft (multi-resolution STFT); the logged losses are then the whole "
              "objective (none: the paper)", choices=WAVE_LOSSES)
    wave_weight: float | None = setting(
        None, "weight of --wave-loss in the objective (> 0; none: the kind's, set so the term matches the "
              "compressed spectral loss of the demo's model)", metavar="W")
    # autocast of the forward pass: "fp32" (off), "bf16" or "fp16" (with a gradient scaler on a GPU);
    # the losses are computed in float32 either way
    precision: str = setting(
        "fp32", "autocast of the forward pass. On an H200, bf16 trained causal-audio but left audio-mask's loss flat "
                "for 31 epochs where fp32 trained it (docs/pretrained.md): check the loss falls", choices=PRECISIONS)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.precision == "bf16" and self.model in MASK_FAMILY:
            raise ValueError(f"bf16 is refused for {self.model}: the mask models' loss stayed flat under bf16 on a GPU while "
                             "fp32 learned, cause not found (docs/training.md); use --precision fp32")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if not self.suppression_weight >= 1.0:
            raise ValueError(f"suppression weight must be at least 1, got {self.suppression_weight!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.wave_loss is not None and self.wave_loss not in WAVE_LOSSES:
            raise ValueError(f"wave loss must be one of {', '.join(WAVE_LOSSES)}, got {self.wave_loss!r}")
        if self.wave_weight is not None and (self.wave_loss is None or not self.wave_weight > 0):
            raise ValueError(f"wave weight {self.wave_weight!r}: needs a wave loss and a number > 0")

    @property
    def wave_factor(self) -> float:
        """The waveform loss's weight in the objective (0 without one)."""
        if self.wave_loss is None:
            return 0.0
        return WAVE_WEIGHTS[self.wave_loss] if self.wave_weight is None else self.wave_weight


def lr_at(config: TrainConfig, done: float) -> float:
    """The learning rate after ``done`` of ``config.max_epochs`` epochs (e.g. 2.5: half-way through the third)."""
    if config.lr_schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(done / config.max_epochs, 1.0)))


@functools.cache
def model_traits(name: str) -> tuple[bool, bool, bool]:
    """``(causal, uses_emg, uses_audio)`` of a registered model (built once with its default arguments)."""
    model = build_model(name)
    return bool(getattr(model, "causal", False)), uses_emg(model), uses_audio(model)


def default_normalization(model: str) -> str:
    """The EMG normalization a model trains with unless told: ``zscore`` for causal models (their
    statistics come from the training data, so streaming can apply them), else the paper's ``minmax``."""
    return "zscore" if model_traits(model)[0] else "minmax"


def check_normalization(model: str, normalization: str) -> None:
    """Refuse per-utterance min-max for a causal model that uses EMG: it needs the whole utterance."""
    causal, emg, _ = model_traits(model)
    if causal and emg and normalization == "minmax":
        raise EmgseError(
            f"model {model!r} is causal but EMG normalization 'minmax' is per whole utterance (not causal); "
            "use --normalization zscore (the default for causal models) or none"
        )


DEFAULT_AUDIO_ONLY_SHARE = 0.5


def audio_only_share(model: str, share: float | str) -> float | None:
    """The share of each epoch's segments that audio-only speech makes (None: all of its segments).

    ``"auto"``: :data:`DEFAULT_AUDIO_ONLY_SHARE` for a model that uses EMG (so hours of speech
    without EMG do not drown minutes of paired data that teach the fusion), every segment for an
    audio-only model (for it the speech is ordinary training data); ``"all"``: every segment; a
    number in [0, 1): that share (see :class:`emgse.data.SegmentDataset`).
    """
    if share == "auto":
        return DEFAULT_AUDIO_ONLY_SHARE if model_traits(model)[1] else None
    if share == "all":
        return None
    try:
        value = float(share)
    except (TypeError, ValueError):
        raise EmgseError(f"audio-only share {share!r}: use auto, all or a number in [0, 1)") from None
    if not 0.0 <= value < 1.0:
        raise EmgseError(f"audio-only share {share!r}: use auto, all or a number in [0, 1)")
    return value


def model_args_for(config: TrainConfig, emg_dims: int, emg_config: EmgConfig) -> dict:
    """Data-dependent constructor arguments: ``emg_dims`` and ``context`` where the model takes them."""
    import inspect

    if config.model not in MODELS:
        raise EmgseError(f"unknown model {config.model!r} (known: {', '.join(MODELS)})")
    params = inspect.signature(MODELS[config.model]).parameters
    args = {}
    if "emg_dims" in params:
        args["emg_dims"] = int(emg_dims)
    if "context" in params:
        args["context"] = emg_config.context
    return args
