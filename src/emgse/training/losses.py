"""The training objective: the spectral losses (the paper's L1 on log1p magnitudes, or squared
error of power-law compressed magnitudes, optionally asymmetric), the auxiliary loss of models with
a side output, and the losses on the rebuilt waveform (SI-SDR, multi-resolution STFT)."""

from __future__ import annotations

import torch

from emgse.config import (
    LOSSES,
    WAVE_LOSSES,
    AudioConfig,
)
from emgse.features.audio import istft
from emgse.metrics import si_sdr_tensor
from emgse.training.config import TrainConfig

COMPRESSION = 0.3  # the power of the compressed loss (Braun & Tashev 2021, "A consolidated view of loss functions ...")


_COMPRESSION_EPS = 1e-6  # keeps the power's gradient finite at a zero magnitude


def compressed_magnitude(log_mag: torch.Tensor) -> torch.Tensor:
    """``|S|^0.3`` from a log1p magnitude ``(..., F)`` (negative magnitudes clamped to 0)."""
    return (torch.expm1(log_mag).clamp_min(0) + _COMPRESSION_EPS) ** COMPRESSION


def spectral_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, kind: str = "l1",
                  suppression_weight: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked spectral loss between log1p magnitudes ``(B, T, F)`` over the frames where ``mask``
    ``(B, T)`` is 1; returns ``(mean per bin, number of frames)``.

    ``"l1"``: ``|pred - target|`` on the log1p magnitudes (the paper). Near 0, log1p is linear, so
    quiet bins (consonants, high bands) weigh little against loud ones.
    ``"compressed"``: ``(|S_pred|^0.3 - |S|^0.3)^2`` on the magnitudes, a power-law compression that
    weighs quiet bins more (Braun & Tashev 2021).

    ``suppression_weight`` (alpha >= 1): a bin whose estimate falls below the clean target (speech
    removed) has its difference multiplied by alpha before ``|.|`` or squaring, an asymmetric loss
    that makes cutting speech cost more than leaving noise in (as VoiceFilter-Lite's, Wang et al.
    2020); 1 is the symmetric loss.
    """
    if kind == "l1":
        diff = pred - target
    elif kind == "compressed":
        diff = compressed_magnitude(pred) - compressed_magnitude(target)
    else:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {kind!r}")
    if suppression_weight != 1.0:
        diff = torch.where(diff < 0, suppression_weight * diff, diff)
    diff = diff.abs() if kind == "l1" else diff**2
    frames = mask.sum()
    loss = (diff.sum(-1) * mask).sum() / (frames * pred.shape[-1]).clamp_min(1)
    return loss, frames


def auxiliary_loss(model: torch.nn.Module, target: torch.Tensor, mask: torch.Tensor, kind: str = "l1",
                   suppression_weight: float = 1.0) -> torch.Tensor | float:
    """Weighted loss of a model's auxiliary predictions (``model.auxiliary()``); 0 for models without any.

    A term ``(weight, prediction)`` is a clean log1p magnitude (``emgse-prior``'s EMG speech prior),
    scored against the clean target by :func:`spectral_loss` (``kind``, ``suppression_weight``); a term
    ``(weight, prediction, truth)`` (``emgse-snr``'s speech share, ``(B, T, D)``) is scored by the L1
    distance to ``truth(target)`` over the frames ``mask`` keeps.
    """
    core = getattr(model, "module", model)  # DDP wraps the model
    total = 0.0
    for weight, pred, *truth in core.auxiliary() if hasattr(core, "auxiliary") else []:
        if truth:
            frames = mask[..., None].expand_as(pred)
            total = total + weight * ((pred - truth[0](target)).abs() * frames).sum() / frames.sum().clamp_min(1.0)
        else:
            total = total + weight * spectral_loss(pred, target, mask, kind, suppression_weight)[0]
    return total


# The waveform losses' default weights: each makes the term, on the demo's validation set at the demo's
# trained audio-mask (compressed loss), as large as that model's compressed spectral loss there.


MRSTFT_RESOLUTIONS = ((256, 64), (512, 128), (1024, 256))  # (n_fft = window, hop) in samples at 16 kHz


WAVE_MIN_SNR_DB = -30.0  # segments whose clean target lies this far below the noisy input are left out


_WAVE_EPS = 1e-8


def rebuild_segments(log_mag: torch.Tensor, phase: torch.Tensor, mask: torch.Tensor, audio_config: AudioConfig) -> torch.Tensor:
    """Waveforms ``(B, samples)`` of segments given as log1p magnitudes and phases ``(B, T, F)``, the
    frames where ``mask`` ``(B, T)`` is 0 silenced; by the project's inverse STFT (differentiable)."""
    magnitude = torch.expm1(log_mag).clamp_min(0.0) * mask[..., None]
    spec = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
    frames = log_mag.shape[1]
    length = (frames - 1) * audio_config.hop_length + audio_config.win_length - audio_config.pad_length
    return istft(spec, length, audio_config)


def _valid_segments(noisy: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B,)`` segments whose clean target is within :data:`WAVE_MIN_SNR_DB` of the noisy input
    (spectral energies): a silent stretch has no waveform to match."""
    def energy(log_mag: torch.Tensor) -> torch.Tensor:
        return (torch.expm1(log_mag).clamp_min(0) ** 2 * mask[..., None]).sum((1, 2))

    return energy(target) > energy(noisy) * 10 ** (WAVE_MIN_SNR_DB / 10) + _WAVE_EPS


def mrstft_loss(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss of ``estimate`` against ``reference`` ``(B, samples)``: the mean
    over :data:`MRSTFT_RESOLUTIONS` (Hann windows) of spectral convergence
    ``||S - S_hat||_F / ||S||_F`` plus the mean ``|log S - log S_hat|`` (Yamamoto et al. 2020)."""
    total = estimate.new_zeros(())
    for n_fft, hop in MRSTFT_RESOLUTIONS:
        window = torch.hann_window(n_fft, device=estimate.device, dtype=estimate.dtype)

        def mag(x, n_fft=n_fft, hop=hop, window=window):
            spec = torch.stft(x, n_fft, hop_length=hop, win_length=n_fft, window=window, center=True, return_complex=True)
            return (spec.real**2 + spec.imag**2).clamp_min(1e-14).sqrt()

        s, s_hat = mag(reference), mag(estimate)
        convergence = torch.linalg.vector_norm(s - s_hat) / torch.linalg.vector_norm(s).clamp_min(_WAVE_EPS)
        total = total + convergence + (torch.log(s) - torch.log(s_hat)).abs().mean()
    return total / len(MRSTFT_RESOLUTIONS)


def waveform_loss(pred: torch.Tensor, batch: dict, kind: str, audio_config: AudioConfig) -> torch.Tensor:
    """A loss on the rebuilt waveform: the estimate's magnitude ``pred`` ``(B, T, F)`` (log1p) with
    the noisy phase against the clean target with its own phase (``batch`` from a
    :class:`SegmentDataset` with ``phases``), both by the same inverse STFT over each segment. With
    level normalization both stay in the model's level domain (every frame divided by the same
    noisy-derived gain), so the two signals are compared on equal terms.

    ``"sisdr"``: the negative SI-SDR (dB) averaged over the segments; ``"mrstft"``:
    :func:`mrstft_loss` over them. Segments whose clean speech is silent (:func:`_valid_segments`)
    are left out; 0 (with a gradient path) when none is left.
    """
    device = pred.device
    target = batch["clean"].to(device)
    mask = batch["mask"].to(device)
    keep = _valid_segments(batch["noisy"].to(device), target, mask)
    if not bool(keep.any()):
        return pred.sum() * 0.0
    estimate = rebuild_segments(pred[keep], batch["noisy_phase"].to(device)[keep], mask[keep], audio_config)
    reference = rebuild_segments(target[keep], batch["clean_phase"].to(device)[keep], mask[keep], audio_config)
    if kind == "sisdr":
        return -si_sdr_tensor(reference, estimate, _WAVE_EPS).mean()
    if kind == "mrstft":
        return mrstft_loss(estimate, reference)
    raise ValueError(f"wave loss must be one of {', '.join(WAVE_LOSSES)}, got {kind!r}")


def objective(model: torch.nn.Module, pred: torch.Tensor, target: torch.Tensor, batch: dict, config: TrainConfig,
              audio_config: AudioConfig | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(logged loss, frames, trained objective)`` of a batch: the logged loss is the output's
    spectral loss plus the weighted waveform loss when there is one (the whole objective, which
    validation picks the best epoch by); the objective adds any auxiliary term (``emgse-prior``)."""
    frame_mask = batch["mask"].to(pred.device)
    loss, n = spectral_loss(pred, target, frame_mask, config.loss, config.suppression_weight)
    if config.wave_loss is not None:
        loss = loss + config.wave_factor * waveform_loss(pred, batch, config.wave_loss, audio_config)
    return loss, n, loss + auxiliary_loss(model, target, frame_mask, config.loss, config.suppression_weight)
