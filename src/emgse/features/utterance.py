"""Both front-ends of one utterance on the shared frame grid, and a printable summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emgse.config import AudioConfig, EmgConfig
from emgse.data import utterance_emg
from emgse.features.audio import frame_count, log_magnitude
from emgse.features.emg import N_TD, emg_features, resolve_channels, stack_context
from emgse.features.resample import resample
from emgse.files import read_audio, read_npy


def utterance_features(
    audio: np.ndarray,
    emg: np.ndarray,
    emg_fs: float,
    audio_config: AudioConfig = AudioConfig(),
    emg_config: EmgConfig = EmgConfig(),
) -> tuple[np.ndarray, np.ndarray]:
    """Spectrogram and EMG features of one utterance on the same frame grid.

    Args:
        audio: ``(samples,)`` at ``audio_config.fs``.
        emg: ``(samples, channels)`` at ``emg_fs``.

    Returns:
        ``(log_mag, emg_feats)``: ``(frames, 257)`` and ``(frames, channels * 5)`` (all channels,
        before selection, stacking and normalization), with the audio's frame count.
    """
    log_mag, _ = log_magnitude(torch.as_tensor(audio, dtype=torch.float32), audio_config)
    frames = log_mag.shape[0]
    return log_mag.numpy(), emg_features(emg, emg_fs, emg_config, n_frames=frames)


def describe_utterance(
    audio_path: Path, emg_path: Path, *, emg_fs: float = 2000.0, channels: str = "all", context: int = 15
) -> str:
    """A printable summary of the front-end on one utterance (used by ``emgse features``)."""
    audio_config = AudioConfig()
    audio, fs = read_audio(audio_path)
    if fs != audio_config.fs:
        audio = resample(audio, fs, audio_config.fs)
    emg = read_npy(emg_path, ndim=2)
    from emgse.enhance import check_emg_length

    # the EMG/audio length rule of enhancement and streaming: at most 100 ms apart
    check_emg_length(emg.shape[0], len(audio) / audio_config.fs, emg_fs, str(emg_path))
    log_mag, feats = utterance_features(audio, emg, emg_fs, audio_config)
    emg_config = EmgConfig(channels=channels, context=context)
    selected = resolve_channels(channels, emg.shape[1])
    # the model input as training and enhancement make it (one function: data.utterance_emg)
    x = stack_context(utterance_emg(emg, emg_fs, log_mag.shape[0], selected, emg_config), context)
    n_sel = len(selected)
    audio_s, emg_s = len(audio) / audio_config.fs, emg.shape[0] / emg_fs
    lines = [
        f"audio  {audio_path}: {len(audio)} samples at {audio_config.fs} Hz ({audio_s:.3f} s; input {fs} Hz)",
        f"emg    {emg_path}: {emg.shape[0]} samples x {emg.shape[1]} channels at {emg_fs:g} Hz ({emg_s:.3f} s)",
        f"grid   {frame_count(len(audio), audio_config)} frames of {audio_config.win_s * 1000:g} ms every "
        f"{audio_config.hop_s * 1000:g} ms (frame j spans [{audio_config.hop_s * 1000:g} j - "
        f"{audio_config.pad_length / audio_config.fs * 1000:g}, +{audio_config.win_s * 1000:g}) ms)",
        f"audio  log1p |STFT|: {tuple(log_mag.shape)}  min {log_mag.min():.3f}  mean {log_mag.mean():.3f}  max {log_mag.max():.3f}",
        f"emg    TD features: {tuple(feats.shape)} ({emg.shape[1]} channels x {N_TD})",
        f"emg    model input ({channels}: {n_sel} channels, context +-{context}, min-max): {tuple(x.shape)}",
    ]
    return "\n".join(lines)
