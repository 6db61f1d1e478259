"""Input level normalization: one causal, scale-equivariant gain per STFT frame.

The models see ``log1p(|STFT|)`` of the waveform, so without a level rule the same sound 10 dB
quieter is a different input, and a model trained at one level harms speech at another. With
``AudioConfig.level_rms`` set, frame ``j``'s spectrum is divided by

    ``g_j = max(rms_j, FLOOR) / level_rms``,

where ``rms_j`` is the running RMS of the audio up to the last sample frame ``j`` covers: a
bias-corrected exponential average of the power of each 128-sample hop,
``rms_j^2 = sum_k a^(j-k) p_k / sum_k a^(j-k)`` with ``a = exp(-hop / level_time_s)`` (so the first
hops are a plain running mean: the warm-up), and the model's estimate is multiplied by the same
``g_j``. ``g`` is homogeneous of degree 1 in the input (scaling the input by ``c`` scales every
``g_j`` by ``c``, down to the -140 dBFS floor), so the model's input, and the output up to that
factor, do not depend on the input's gain. The rule is causal, so the Streamer applies it hop by hop
with the same numbers (:class:`RunningLevel`).

One rule, one place: training features (:mod:`emgse.data`: noisy *and* clean spectra divided by the
noisy-derived ``g``), offline enhancement (:class:`emgse.enhance.Enhancer`) and streaming
(:class:`emgse.stream.Streamer`) all call these functions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from scipy.signal import lfilter

from emgse.config import AudioConfig
from emgse.features.audio import (
    analysis_window,
    frame_count,
    from_log_magnitude,
    istft,
    log_magnitude,
    stft,
)

LEVEL_RMS = 0.05  # target RMS of new training (about -26 dBFS, a usual speech level)
FLOOR = 1e-7  # RMS floor (-140 dBFS): digital silence gets a finite gain


def with_level(config: AudioConfig = AudioConfig(), level_rms: float | None = LEVEL_RMS) -> AudioConfig:
    """``config`` with level normalization to ``level_rms`` (None: switched off)."""
    return dataclasses.replace(config, level_rms=level_rms)


def _alpha(config: AudioConfig) -> float:
    return float(np.exp(-config.hop_length / (config.level_time_s * config.fs)))


def running_rms(power: np.ndarray, alpha: float, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected exponential running RMS of per-hop powers.

    Args:
        power: ``(hops,)`` mean square of each hop.
        alpha: the forgetting factor per hop.
        state: ``(2,)`` the weighted power sum and weight sum after the previous hops (None: start).

    Returns:
        ``(rms (hops,) float64, state (2,))``; feeding hops one call at a time with the state gives
        the same numbers as one call over all of them.
    """
    state = np.zeros(2) if state is None else np.asarray(state, np.float64)
    p = np.asarray(power, np.float64)
    num, _ = lfilter([1.0], [1.0, -alpha], p, zi=[alpha * state[0]])
    den, _ = lfilter([1.0], [1.0, -alpha], np.ones_like(p), zi=[alpha * state[1]])
    rms = np.sqrt(num / den)
    return rms, np.array([num[-1], den[-1]]) if p.size else state


def frame_gains(audio: np.ndarray, config: AudioConfig) -> np.ndarray | None:
    """The level gain of every STFT frame of ``audio`` ``(samples,)``: ``(frames,)`` float32, or None
    when ``config.level_rms`` is None.

    Frame ``j`` ends at sample ``j*hop - pad + win``; its gain uses the hops up to that sample
    (beyond the end, zeros, as the STFT's end padding).
    """
    if config.level_rms is None:
        return None
    hop = config.hop_length
    if (config.win_length - config.pad_length) % hop:
        raise ValueError("level normalization needs frames that end on a hop boundary")
    x = np.asarray(audio, np.float64)
    frames = frame_count(len(x), config)
    lead = (config.win_length - config.pad_length) // hop - 1  # hops before frame 0 ends, beyond the first
    hops = frames + lead
    x = np.pad(x, (0, max(0, hops * hop - len(x))))[: hops * hop]
    rms, _ = running_rms(np.mean(x.reshape(hops, hop) ** 2, axis=1), _alpha(config))
    return (np.maximum(rms[lead:], FLOOR) / config.level_rms).astype(np.float32)


def segment_gains(segments: torch.Tensor, config: AudioConfig, lead: int) -> torch.Tensor:
    """:func:`frame_gains` of a batch of segments, in torch on their device: ``segments``
    ``(batch, hops * hop)`` is the recording (its running RMS starts at its first sample), and
    frame ``i`` ends with hop ``i + lead``; returns ``(batch, hops - lead)`` float32.

    The running average is the closed form ``sum_k a^(j-k) p_k = a^j * cumsum(a^-k p_k)`` in
    float64 (exact to rounding for segments of minutes; the sampler's are seconds long).
    """
    if config.level_rms is None:
        raise ValueError("segment_gains needs AudioConfig.level_rms")
    hop = config.hop_length
    batch, n = segments.shape
    if n % hop:
        raise ValueError(f"segments of {n} samples are not whole {hop}-sample hops")
    power = segments.to(torch.float64).reshape(batch, n // hop, hop).square().mean(-1)  # (batch, hops)
    k = torch.arange(n // hop, device=segments.device, dtype=torch.float64)
    log_a = float(np.log(_alpha(config)))
    grow = torch.exp(-log_a * k)  # a^-k
    num = torch.cumsum(power * grow, -1) / grow
    den = torch.cumsum(grow, -1) / grow
    rms = torch.sqrt(num / den)[:, lead:]
    return (rms.clamp_min(FLOOR) / config.level_rms).to(torch.float32)


class RunningLevel:
    """:func:`frame_gains` one hop at a time (edge-padded frame grid: frame ``j`` ends with hop ``j``)."""

    def __init__(self, config: AudioConfig):
        if config.level_rms is None or config.pad_length != config.win_length - config.hop_length:
            raise ValueError("RunningLevel needs level_rms and the edge-padded frame grid")
        self.config, self.alpha = config, _alpha(config)
        self.reset()

    def reset(self) -> None:
        self.state = np.zeros(2)

    def push(self, hop: np.ndarray) -> np.float32:
        """The gain of the frame that ends with ``hop`` ``(hop_length,)``."""
        rms, self.state = running_rms(np.mean(np.asarray(hop, np.float64) ** 2, keepdims=True), self.alpha, self.state)
        return np.float32(max(rms[0], FLOOR) / self.config.level_rms)


def levelled_log_magnitude(audio: torch.Tensor, config: AudioConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The model input with the level rule: ``log1p(|STFT| / g)``, the phase and ``g``.

    Args:
        audio: ``(samples,)``.

    Returns:
        ``(log_mag (frames, 257), phase (frames, 257), gains (frames, 1) or None)``; without
        ``level_rms`` exactly :func:`emgse.features.audio.log_magnitude` and None.
    """
    gains = frame_gains(audio.detach().cpu().numpy(), config)
    if gains is None:
        return (*log_magnitude(audio, config), None)
    spec = stft(audio, config)
    g = torch.from_numpy(gains).to(spec.device)[:, None]
    return torch.log1p(spec.abs() / g), torch.angle(spec), g


def unlevelled_waveform(log_mag: torch.Tensor, phase: torch.Tensor, gains: torch.Tensor | None, length: int,
                        config: AudioConfig) -> torch.Tensor:
    """The inverse of :func:`levelled_log_magnitude`: magnitude ``expm1(log_mag) * g`` with the given
    phase, ``(length,)``; without gains exactly :func:`emgse.features.audio.from_log_magnitude`."""
    if gains is None:
        return from_log_magnitude(log_mag, phase, length, config)
    magnitude = torch.expm1(log_mag).clamp_min(0.0) * gains
    return istft(torch.polar(magnitude, phase), length, config)


def rescale_log_magnitude(log_mag: np.ndarray, factor: float | np.ndarray) -> np.ndarray:
    """``log1p(factor * expm1(log_mag))``: a log1p magnitude ``(frames, bins)`` at another level
    (``factor``: a number or ``(frames, 1)``), e.g. a clean target at its mixture's gain over ``g``."""
    return np.log1p(factor * np.expm1(log_mag)).astype(np.float32)


def spectral_rms(log_mag: np.ndarray, config: AudioConfig) -> float:
    """The RMS of the waveform behind a log1p magnitude ``(frames, bins)``, by Parseval's theorem:
    the mean over frames and the one-sided bins of ``|X|^2`` is ``n_fft * sum(w^2) * rms^2 / (2 * bins)``
    (exact on average for stationary signals; the DC and Nyquist bins and the edge frames make a small
    difference). Scale-equivariant: the waveform times ``c`` gives ``c`` times the value."""
    power = float(np.mean(np.square(np.expm1(np.asarray(log_mag, np.float64)))))
    w = analysis_window(config)
    return float(np.sqrt(power * 2 * np.shape(log_mag)[-1] / (config.n_fft * np.sum(w**2))))
