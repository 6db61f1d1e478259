"""Audio front-end: the paper's STFT log1p magnitude and its inverse with a given phase.

Torch, batched and differentiable. Shapes: audio ``(batch, samples)`` or ``(samples,)``; spectra
``(batch, frames, 257)`` (or ``(frames, 257)`` for unbatched input).

Frame grid: with ``AudioConfig.edge_padding`` (default) the signal gets ``pad = win - hop`` zeros in
front and enough at the end for full overlap, so frame ``j`` spans samples
``[j*hop - pad, j*hop - pad + win)`` and the inverse reconstructs every sample. Without it
(the paper), frame ``j`` spans ``[j*hop, j*hop + win)`` and the edges are poorly covered.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.signal import get_window

from emgse.config import AudioConfig


def frame_count(n_samples: int, config: AudioConfig = AudioConfig()) -> int:
    """Number of STFT frames for a signal of ``n_samples`` samples.

    With edge padding, the last frame is the last one starting at or before the last sample, so
    every sample is covered by ``win / hop`` frames.
    """
    if config.edge_padding:
        return (config.pad_length + n_samples - 1) // config.hop_length + 1
    if n_samples < config.win_length:
        return 0
    return (n_samples - config.win_length) // config.hop_length + 1


def analysis_window(config: AudioConfig = AudioConfig()) -> np.ndarray:
    """The STFT window ``(win_length,)`` float64: symmetric (the paper's: the authors' callable
    ``scipy.signal.windows.blackman``, which librosa calls with ``sym=True``) unless
    ``config.window_periodic``. The inverse divides by the summed squared window, so either
    reconstructs perfectly."""
    if config.win_length != config.n_fft:
        raise ValueError("emgse's STFT requires win_length == n_fft")
    return get_window(config.window, config.win_length, fftbins=config.window_periodic)


def _window(config: AudioConfig, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(analysis_window(config), device=device, dtype=dtype)


def _as_batch(audio: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if audio.dim() == 1:
        return audio.unsqueeze(0), True
    if audio.dim() != 2:
        raise ValueError(f"audio must be (samples,) or (batch, samples), got shape {tuple(audio.shape)}")
    return audio, False


def stft(audio: torch.Tensor, config: AudioConfig = AudioConfig()) -> torch.Tensor:
    """Complex STFT on the emgse frame grid.

    Args:
        audio: ``(batch, samples)`` or ``(samples,)``, real.

    Returns:
        ``(batch, frames, n_fft//2 + 1)`` complex (batch dim dropped for unbatched input).
    """
    x, squeeze = _as_batch(audio)
    n = x.shape[-1]
    frames = frame_count(n, config)
    if frames < 1:
        raise ValueError(f"audio of {n} samples is shorter than one {config.win_length}-sample frame")
    total = (frames - 1) * config.hop_length + config.win_length
    pad = config.pad_length
    spec = stft_frames(F.pad(x, (pad, max(0, total - pad - n)))[..., :total], config)
    return spec[0] if squeeze else spec


def stft_frames(x: torch.Tensor, config: AudioConfig = AudioConfig()) -> torch.Tensor:
    """The STFT of a signal that already holds every sample its frames span, no padding added:
    frame ``i`` is samples ``[i*hop, i*hop + win)`` of ``x`` ``(batch, samples)``; returns
    ``(batch, (samples - win) // hop + 1, bins)`` complex. :func:`stft` pads and calls it; a crop
    cut with its frames' left context (the on-the-fly sampler) gets exactly the frames of the
    whole recording."""
    return torch.stft(
        x,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=_window(config, x.device, x.dtype),
        center=False,
        return_complex=True,
    ).transpose(-1, -2)  # (batch, frames, bins)


def istft(spec: torch.Tensor, length: int, config: AudioConfig = AudioConfig()) -> torch.Tensor:
    """Inverse of :func:`stft` by weighted overlap-add, trimmed to exactly ``length`` samples.

    Args:
        spec: ``(batch, frames, bins)`` or ``(frames, bins)`` complex.
        length: the original signal length in samples.

    Returns:
        ``(batch, length)`` (or ``(length,)``) real audio.
    """
    squeeze = spec.dim() == 2
    if squeeze:
        spec = spec.unsqueeze(0)
    batch, frames, _ = spec.shape
    real_dtype = spec.real.dtype
    w = _window(config, spec.device, real_dtype)
    hop, win = config.hop_length, config.win_length
    total = (frames - 1) * hop + win
    chunks = torch.fft.irfft(spec, n=config.n_fft, dim=-1) * w  # (batch, frames, win)
    # Overlap-add as a fold: (batch, win, frames) -> (batch, 1, 1, total)
    y = F.fold(chunks.transpose(1, 2), output_size=(1, total), kernel_size=(1, win), stride=(1, hop))
    y = y.reshape(batch, total)
    envelope = F.fold(
        (w * w).reshape(1, win, 1).expand(1, win, frames), output_size=(1, total), kernel_size=(1, win), stride=(1, hop)
    ).reshape(total)
    # Where the envelope vanishes (only outside the edge-padded span) the sample is unrecoverable.
    y = y / torch.where(envelope > 1e-8, envelope, torch.ones_like(envelope))
    pad = config.pad_length
    y = y[:, pad : pad + length]
    if y.shape[-1] < length:
        y = F.pad(y, (0, length - y.shape[-1]))
    return y[0] if squeeze else y


def log_magnitude(audio: torch.Tensor, config: AudioConfig = AudioConfig()) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's input feature: ``log1p(|STFT|)`` and the phase.

    Args:
        audio: ``(batch, samples)`` or ``(samples,)``.

    Returns:
        ``(log_mag, phase)``, each ``(batch, frames, 257)``.
    """
    spec = stft(audio, config)
    return torch.log1p(spec.abs()), torch.angle(spec)


def from_log_magnitude(
    log_mag: torch.Tensor, phase: torch.Tensor, length: int, config: AudioConfig = AudioConfig()
) -> torch.Tensor:
    """Rebuild a waveform from a log1p magnitude and a given (e.g. noisy) phase.

    Args:
        log_mag, phase: ``(batch, frames, 257)`` or ``(frames, 257)``.
        length: output length in samples (the input's).

    Returns:
        ``(batch, length)`` or ``(length,)``.
    """
    magnitude = torch.expm1(log_mag).clamp_min(0.0)
    return istft(torch.polar(magnitude, phase), length, config)
