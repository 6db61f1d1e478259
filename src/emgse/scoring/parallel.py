"""Speech voiced from EMG against a *parallel* recording: the same sentence spoken aloud at another
time, so the two differ in timing and no sample-aligned reference exists (silent speech).

The measure is the mel-cepstral distortion after dynamic time warping (DTW-MCD), as EMG-to-speech
work on EMG-UKA reports it: mel cepstra of both signals (coefficients 1-24 of a 25-coefficient MFCC,
the level term c0 left out, 10 ms hops), aligned by DTW on their Euclidean distance, and
``10 / ln 10 * sqrt(2 * sum_d (c_ref - c_est)^2)`` averaged along the path, in dB. Lower is better;
it measures the spectral envelope (what was said, roughly how), not intelligibility, and a signal
compared with itself scores 0. The cepstra are MFCC-based (librosa), not SPTK mel-cepstra, so the
absolute values compare within emgse, not with other papers' MCD. The same measure on audible EMG, whose own recording is the
reference, shows what the silent figure should be read against.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from emgse.files import read_audio

MCD_COEFFICIENTS = 25
_MCD_SCALE = 10.0 / np.log(10.0) * np.sqrt(2.0)


def mel_cepstra(audio: np.ndarray, fs: int = 16000, n: int = MCD_COEFFICIENTS) -> np.ndarray:
    """Mel cepstra ``(frames, n - 1)`` of ``audio`` ``(samples,)``: MFCC 1..n-1 (40 mel bands, 25 ms
    windows, 10 ms hops) of the natural-log mel spectrum."""
    import librosa

    mfcc = librosa.feature.mfcc(y=np.asarray(audio, dtype=np.float32), sr=fs, n_mfcc=n, n_fft=512,
                                win_length=int(0.025 * fs), hop_length=int(0.010 * fs), n_mels=40, center=True)
    return mfcc[1:].T.astype(np.float64) * (np.log(10.0) / 10.0)  # librosa's cepstra are of dB spectra: to natural log


def dtw_mcd(reference: np.ndarray, estimate: np.ndarray, fs: int = 16000) -> float:
    """DTW mel-cepstral distortion (dB) of ``estimate`` against ``reference``, both ``(samples,)`` at ``fs``."""
    import librosa

    a, b = mel_cepstra(reference, fs), mel_cepstra(estimate, fs)
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))  # (frames_ref, frames_est)
    _, path = librosa.sequence.dtw(C=cost, backtrack=True)
    return float(_MCD_SCALE * cost[path[:, 0], path[:, 1]].mean())


def score_parallel(voiced: Mapping[str, str | Path], texts: Mapping[str, str], references: Mapping[str, str | Path],
                   system: str) -> list[dict]:
    """DTW-MCD of each voiced file (``utt_id -> wav``) against the recording of the same sentence
    (``texts[utt_id]`` looked up in ``references``: ``text -> wav``); utterances without a parallel
    recording are skipped. Rows: ``system, utt_id, reference, mcd_db``."""
    rows = []
    for utt_id, path in voiced.items():
        reference = references.get(normalize_text(texts.get(utt_id, "")))
        if reference is None:
            continue
        ref, fs = read_audio(reference)
        est, fs_est = read_audio(path)
        if fs_est != fs:
            from emgse.features.resample import resample

            est = resample(est, fs_est, fs)
        rows.append({"system": system, "utt_id": utt_id, "reference": Path(reference).stem, "mcd_db": dtw_mcd(ref, est, fs)})
    return rows


def normalize_text(text: str) -> str:
    """A transcript as a key: case and spacing folded."""
    return " ".join(str(text).upper().split())
