"""Realistic synthetic EMG for parity tests: band-limited, amplitude-modulated, per-channel gain and DC."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt


def realistic_emg(samples: int, channels: int = 40, fs: float = 2000.0, seed: int = 0) -> np.ndarray:
    """``(samples, channels)`` float32: noise band-passed to 20-450 Hz, modulated by a slow (2-5 Hz)
    articulation-like envelope shared in part across channels, a gain of 0.6-1.6 and a DC offset per channel."""
    rng = np.random.default_rng(seed)
    sos = butter(4, (20.0, min(450.0, 0.45 * fs)), btype="bandpass", fs=fs, output="sos")
    x = sosfilt(sos, rng.standard_normal((samples + 400, channels)), axis=0)[400:]
    t = np.arange(samples)[:, None] / fs
    rate = rng.uniform(2.0, 5.0, (1, 3))
    phase = rng.uniform(0, 2 * np.pi, (1, 3))
    shared = np.abs(np.sin(np.pi * rate * t + phase))  # (samples, 3)
    mix = rng.dirichlet(np.ones(3), channels).T  # (3, channels)
    envelope = 0.2 + shared @ mix
    gain = rng.uniform(0.6, 1.6, channels)
    dc = rng.uniform(-30.0, 30.0, channels)
    return (20.0 * x * envelope * gain + dc).astype(np.float32)
