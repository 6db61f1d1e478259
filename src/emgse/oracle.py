"""The oracle ceiling for magnitude-only enhancement: the ideal ratio mask (IRM) on the noisy
magnitude with the noisy phase.

With ``noisy = gain * (clean + noise)``, speech ``S = STFT(gain * clean)`` and noise
``N = STFT(noisy - gain * clean)``; the IRM is ``sqrt(|S|^2 / (|S|^2 + |N|^2))`` and the estimate
is ``IRM * |Y|`` with the phase of ``Y = STFT(noisy)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from emgse.config import AudioConfig
from emgse.data import prepared_root
from emgse.features.audio import istft, stft
from emgse.files import read_audio, write_wav
from emgse.mixing import read_manifest


def ideal_ratio_mask(noisy: np.ndarray, speech: np.ndarray, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Apply the IRM of ``speech`` in ``noisy`` (both ``(samples,)``, the speech as it is inside the mixture)."""
    y = torch.as_tensor(noisy, dtype=torch.float64)
    s = stft(torch.as_tensor(speech, dtype=torch.float64), config)
    spec_y = stft(y, config)
    n = spec_y - s
    irm = torch.sqrt(s.abs() ** 2 / (s.abs() ** 2 + n.abs() ** 2).clamp_min(1e-20))
    return istft(irm * spec_y, len(noisy), config).numpy().astype(np.float32)


def oracle_mixtures(mixtures_dir: str | Path, out_root: str | Path, *, system: str = "oracle", splits=("test",), progress: bool = True) -> Path:
    """Write the IRM oracle for every mixture as ``out_root/<system>/<mixture path>``."""
    mixtures_dir, out_root = Path(mixtures_dir), Path(out_root)
    data = prepared_root(mixtures_dir)
    rows = [r for r in read_manifest(mixtures_dir) if r["split"] in splits]
    for r in tqdm(rows, desc="oracle IRM", unit="mix", disable=not progress):
        noisy, fs = read_audio(mixtures_dir / r["path"])
        clean, _ = read_audio(data / r["clean"])
        write_wav(out_root / system / r["path"], ideal_ratio_mask(noisy, float(r["gain"]) * clean), fs)
    return out_root / system
