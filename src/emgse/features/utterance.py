"""Both front-ends of one utterance on the shared frame grid (arrays in, arrays out)."""

from __future__ import annotations

import numpy as np
import torch

from emgse.config import AudioConfig, EmgConfig
from emgse.features.audio import log_magnitude
from emgse.features.emg import emg_features


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
