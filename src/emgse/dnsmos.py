"""No-reference quality scores: DNSMOS P.835 (SIG, BAK, OVRL) through the ``speechmos`` package.

``speechmos`` ships Microsoft's DNSMOS ONNX models and its polynomial calibration, so scoring runs
offline. Its ``dnsmos.run`` also computes the P.808 score (a mel spectrogram through librosa) and
scores one 9.01 s window at a time; this module runs only the P.835 model (``sig_bak_ovr.onnx``
from the speechmos package) on all windows of a recording in one batch and calibrates with
speechmos' own ``DNSMOS.get_polyfit_val``, giving the same SIG/BAK/OVRL as ``dnsmos.run`` (tested)
at a fraction of the cost. Windowing, as speechmos: a recording shorter than 9.01 s is repeated
until it is long enough, windows start every second, and the scores are the windows' means.

Audio must lie in [-1, 1] (speechmos' rule); louder input is clipped, as a converter would.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from emgse.errors import EmgseError

FS = 16000
WINDOW_S = 9.01
COLUMNS = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")


@lru_cache(maxsize=1)
def _model():
    """``(onnxruntime session, speechmos DNSMOS calibration)``, loaded once per process."""
    try:
        import onnxruntime as ort
        from speechmos import dnsmos as sm
    except ImportError as e:
        raise EmgseError(f"DNSMOS needs the speechmos and onnxruntime packages ({e}); pip install speechmos onnxruntime librosa") from None
    path = Path(sm.__file__).parent / "dnsmos_models" / "sig_bak_ovr.onnx"
    if not path.is_file():
        raise EmgseError(f"{path}: DNSMOS model missing from the speechmos package (reinstall speechmos)")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # callers parallelize over processes
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session, sm.DNSMOS.get_polyfit_val


def windows(audio: np.ndarray, fs: int = FS) -> np.ndarray:
    """The 9.01 s windows speechmos scores, ``(windows, 144160)`` float32."""
    length = int(WINDOW_S * fs)
    x = np.asarray(audio, dtype=np.float64)
    if x.size == 0:
        raise EmgseError("DNSMOS: empty audio")
    while len(x) < length:  # speechmos repeats short clips
        x = np.append(x, x)
    count = int(np.floor(len(x) / fs) - WINDOW_S) + 1
    starts = np.arange(count) * fs
    starts = starts[starts + length <= len(x)]
    return np.stack([x[s : s + length] for s in starts]).astype(np.float32)


def score_dnsmos(audio: np.ndarray, fs: int = FS) -> dict[str, float]:
    """DNSMOS P.835 of one recording ``(samples,)`` at 16 kHz (other rates are resampled).

    Returns ``{"dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"}`` (MOS, about 1-5).
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise EmgseError(f"DNSMOS: audio must be (samples,), got shape {x.shape}")
    if fs != FS:
        from emgse.features.resample import resample

        x = resample(x, fs, FS)
    if not np.all(np.isfinite(x)):
        raise EmgseError("DNSMOS: audio contains NaN/Inf values")
    session, calibrate = _model()
    raw = session.run(None, {session.get_inputs()[0].name: np.clip(windows(x), -1.0, 1.0)})[0]  # (windows, 3)
    sig, bak, ovrl = calibrate(None, raw[:, 0].astype(np.float64), raw[:, 1].astype(np.float64), raw[:, 2].astype(np.float64), False)
    return {"dnsmos_sig": float(np.mean(sig)), "dnsmos_bak": float(np.mean(bak)), "dnsmos_ovrl": float(np.mean(ovrl))}
