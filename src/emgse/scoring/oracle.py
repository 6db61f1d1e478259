"""Oracle ceilings on the noisy phase: what a perfect magnitude estimate would give.

With ``noisy = gain * (clean + noise)``, speech ``S = STFT(gain * clean)``, ``Y = STFT(noisy)`` and
noise ``N = Y - S``:

- ``oracle-magnitude`` (:func:`clean_magnitude_noisy_phase`): ``|S|`` with the phase of ``Y``,
  rebuilt exactly as the paper's mapping models rebuild their estimate (log1p magnitude, noisy
  phase). It is the ceiling for every model that predicts a magnitude and keeps the noisy phase,
  so the benchmarks' "gap closed" is measured against it.
- ``oracle-irm`` (:func:`ideal_ratio_mask`): a *mask* oracle, ``IRM * |Y|`` with
  ``IRM = sqrt(|S|^2 / (|S|^2 + |N|^2))`` (at most 1); the ceiling of bounded-mask models only,
  below the magnitude oracle (its masked magnitude is not ``|S|`` where speech and noise overlap).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from emgse.config import AudioConfig
from emgse.data import prepared_root
from emgse.errors import EmgseError
from emgse.features.audio import from_log_magnitude, istft, stft
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


def clean_magnitude_noisy_phase(noisy: np.ndarray, speech: np.ndarray, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """The clean magnitude with the noisy phase (both ``(samples,)``, the speech as it is inside
    the mixture): what a mapping model that predicted the clean log1p magnitude exactly would output."""
    s = stft(torch.as_tensor(speech, dtype=torch.float64), config)
    phase = torch.angle(stft(torch.as_tensor(noisy, dtype=torch.float64), config))
    return from_log_magnitude(torch.log1p(s.abs()), phase, len(noisy), config).numpy().astype(np.float32)


ORACLES = {"oracle-magnitude": clean_magnitude_noisy_phase, "oracle-irm": ideal_ratio_mask}
CEILING = "oracle-magnitude"  # the ceiling of the paper's mapping models: "gap closed" is measured against it


def oracle_mixtures(mixtures_dir: str | Path, out_root: str | Path, *, system: str = CEILING, splits=("test",), progress: bool = True) -> Path:
    """Write oracle ``system`` (a key of :data:`ORACLES`) for every mixture as ``out_root/<system>/<mixture path>``."""
    if system not in ORACLES:
        raise EmgseError(f"unknown oracle {system!r} (known: {', '.join(ORACLES)})")
    oracle = ORACLES[system]
    mixtures_dir, out_root = Path(mixtures_dir), Path(out_root)
    data = prepared_root(mixtures_dir)
    rows = [r for r in read_manifest(mixtures_dir) if r["split"] in splits]
    for r in tqdm(rows, desc=system, unit="mix", disable=not progress):
        noisy, fs = read_audio(mixtures_dir / r["path"])
        clean, _ = read_audio(data / r["clean"])
        write_wav(out_root / system / r["path"], oracle(noisy, float(r["gain"]) * clean), fs)
    return out_root / system
