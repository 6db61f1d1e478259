"""What a prepared corpus's EMG looks like, measured the same way for real and simulated EMG.

:func:`emg_statistics` reads utterances of a prepared layout (any channel count, any EMG rate) and
measures, over their channels:

* ``median_hz``: the median frequency of the EMG's power (Welch) within ``band`` (20-290 Hz by
  default: what survives EMG-UKA's 600 Hz recording, so real and simulated EMG are compared on the
  same band), and ``low_share``: the share of that power below the TD features' 134 Hz split;
* ``speech_corr`` and ``lead_ms``: the peak correlation between the EMG's log envelope (mean of the
  channels, high-passed above 20 Hz, 8 ms frames) and the speech's log envelope over lags of
  ``±max_lag_ms``, summed over utterances, and the lag of that peak (positive: the EMG leads);
* ``channel_corr``: the mean absolute correlation between pairs of channels (high-passed);
* ``kurtosis``: the mean excess kurtosis of the high-passed channels (0 for Gaussian noise; surface
  EMG is heavier-tailed);
* ``active_db``: the EMG's RMS in the loudest 30% of speech frames over its RMS in the quietest 30%.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import butter, correlate, sosfiltfilt, welch
from scipy.stats import kurtosis

from emgse.corpora.prepared import AUDIO_FS, CorpusInfo, list_utterances, read_utterance
from emgse.errors import EmgseError
from emgse.features.emg import resolve_channels
from emgse.scoring.summaries import Table

HOP_S = 0.008
STATISTICS = ("median_hz", "low_share", "speech_corr", "lead_ms", "channel_corr", "kurtosis", "active_db")
LABELS = {
    "median_hz": "median frequency (Hz, in band)",
    "low_share": "power share below 134 Hz",
    "speech_corr": "envelope correlation with speech (peak)",
    "lead_ms": "EMG lead over speech at the peak (ms)",
    "channel_corr": "mean absolute correlation between channels",
    "kurtosis": "excess kurtosis",
    "active_db": "EMG level, loud vs quiet speech frames (dB)",
}


def _frames_rms(x: np.ndarray, hop: int) -> np.ndarray:
    """RMS per hop-long block along axis 0: ``(samples, ...)`` -> ``(blocks, ...)``."""
    n = x.shape[0] // hop
    return np.sqrt(np.mean(x[: n * hop].reshape((n, hop) + x.shape[1:]) ** 2, axis=1))


def _zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-12)


def utterance_statistics(audio: np.ndarray, emg: np.ndarray, emg_fs: float, band: tuple[float, float] = (20.0, 290.0),
                         max_lag_ms: float = 250.0) -> dict:
    """The statistics of one utterance: ``audio`` ``(samples,)`` at 16 kHz, ``emg`` ``(samples, channels)``
    at ``emg_fs``. ``xcorr`` is the envelope cross-correlation at lags ``-L..L`` frames (summed later)."""
    if band[1] >= emg_fs / 2:
        raise EmgseError(f"band {band[0]:g}-{band[1]:g} Hz does not fit an EMG rate of {emg_fs:g} Hz")
    hp = butter(4, band[0], btype="highpass", fs=emg_fs, output="sos")
    e = sosfiltfilt(hp, emg.astype(np.float64) - emg.mean(axis=0), axis=0)
    f, p = welch(e, fs=emg_fs, nperseg=min(256, e.shape[0]), axis=0)
    keep = (f >= band[0]) & (f <= band[1])
    f, p = f[keep], p[keep]
    cum = np.cumsum(p, axis=0)
    median = f[np.argmax(cum >= cum[-1:] / 2, axis=0)]
    low = p[f < 134.0].sum(axis=0) / np.maximum(p.sum(axis=0), 1e-30)
    hop_e, hop_a = int(round(HOP_S * emg_fs)), int(round(HOP_S * AUDIO_FS))
    e_env = np.log(_frames_rms(e, hop_e).mean(axis=1) + 1e-12)
    s_rms = _frames_rms(audio.astype(np.float64), hop_a)
    n = min(len(e_env), len(s_rms))
    e_env, s_rms = e_env[:n], s_rms[:n]
    lags = int(round(max_lag_ms / 1000 / HOP_S))
    # corr(e[t], s[t + lag]) for lag in -L..L: the EMG at t against the speech lag frames later
    full = correlate(_zscore(np.log(s_rms + 1e-10)), _zscore(e_env), mode="full", method="fft") / max(n, 1)
    xcorr = full[n - 1 - lags : n + lags] if n > lags else np.full(2 * lags + 1, np.nan)
    c = np.corrcoef(e.T) if e.shape[1] > 1 else np.ones((1, 1))
    off = c[~np.eye(c.shape[0], dtype=bool)]
    order = np.argsort(s_rms)
    k = max(1, int(0.3 * n))
    e_frames = _frames_rms(e, hop_e)[:n].mean(axis=1)
    active = 20 * np.log10((e_frames[order[-k:]].mean() + 1e-12) / (e_frames[order[:k]].mean() + 1e-12))
    return {"median_hz": float(median.mean()), "low_share": float(low.mean()), "xcorr": xcorr,
            "channel_corr": float(np.abs(off).mean()) if off.size else float("nan"),
            "kurtosis": float(np.mean(kurtosis(e, axis=0))), "active_db": float(active)}


def emg_statistics(prepared: str | Path, split: str = "test", *, max_utterances: int = 40, band: tuple[float, float] = (20.0, 290.0),
                   max_lag_ms: float = 250.0) -> dict:
    """:data:`STATISTICS` of up to ``max_utterances`` utterances of ``split`` of a prepared corpus
    (means over utterances; ``speech_corr``/``lead_ms`` from the summed cross-correlation), plus
    ``utterances``, ``channels`` (the live ones: CSL-EMG_Array's unpaired electrodes left out),
    ``emg_fs`` and ``source``."""
    info = CorpusInfo.read(prepared)
    ids = list_utterances(prepared, split)[:max_utterances]
    if not ids:
        raise EmgseError(f"{prepared}: no utterances in {split}")
    live = resolve_channels("all", info.emg_channels)  # CSL-EMG_Array's 40 columns: the 35 live electrodes
    rows = []
    for utt in ids:
        audio, emg = read_utterance(prepared, split, utt, info)
        rows.append(utterance_statistics(audio, emg[:, live], info.emg_fs, band, max_lag_ms))
    xcorr = np.nansum([r["xcorr"] for r in rows], axis=0) / len(rows)
    lags_ms = (np.arange(xcorr.size) - xcorr.size // 2) * HOP_S * 1000
    peak = int(np.nanargmax(xcorr))
    out = {k: float(np.mean([r[k] for r in rows])) for k in ("median_hz", "low_share", "channel_corr", "kurtosis", "active_db")}
    out.update(speech_corr=float(xcorr[peak]), lead_ms=float(lags_ms[peak]), utterances=len(ids), channels=len(live),
               emg_fs=info.emg_fs, source=info.source)
    return out


def statistics_table(measured: dict[str, dict], title: str = "EMG statistics") -> Table:
    """One column per measured corpus (``{name: emg_statistics(...)}``), one row per statistic."""
    names = list(measured)
    rows = [[LABELS[k], *(f"{measured[n][k]:.3f}" if k not in ("median_hz", "lead_ms") else f"{measured[n][k]:.0f}" for n in names)]
            for k in STATISTICS]
    rows.append(["utterances x channels", *(f"{measured[n]['utterances']} x {measured[n]['channels']}" for n in names)])
    return Table(title, ["statistic", *names], rows,
                 ["Measured alike on every corpus (emgse.corpora.emg_statistics): 20-290 Hz band, 8 ms envelope frames, "
                  "lags of ±250 ms."])
