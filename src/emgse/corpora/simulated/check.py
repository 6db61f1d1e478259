"""Evidence that a simulated corpus looks like facial EMG and carries articulation, with figures.

``emgse simulate --check DIR`` (and the tests) read the corpus back from disk, sync each utterance
at its markers, and measure:

* **median frequency** of the live channels (Welch PSD, 10-1000 Hz): surface EMG sits at ~60-150 Hz;
* **dead/live RMS**: AC RMS (above 20 Hz) of the unpaired channels 7, 15, 23, 31, 39 over that of
  the live ones, and how strongly each group's envelope follows the speech envelope, next to its
  chance level (the same channels against another utterance's speech);
* **EMG lead**: lag of the peak of the cross-correlation between the mean live-channel envelope
  and the speech envelope, summed over utterances (positive = EMG first);
* **frame classifier**: multinomial logistic regression on TD features (live channels, 2000 Hz,
  5 context frames spanning -80..+80 ms, z-scored per utterance) trained on 3 of every 4
  utterances and scored on the held-out ones. Classes: silence, bilabial closure, open vowel,
  spread vowel, tongue-raised consonant (labels from the phoneme alignment at each frame's
  centre). Reported as balanced accuracy (mean per-class recall; chance = 1/5) and plain accuracy
  against the majority-class rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.signal import butter, resample_poly, sosfiltfilt, welch

from emgse.corpora.simulated.articulation import CLASSES
from emgse.corpora.simulated.emg import DEAD_CHANNELS, LIVE_CHANNELS, SIMULATED_EMG_FS
from emgse.errors import EmgseError
from emgse.files import read_audio, read_json, read_npy
from emgse.protocol import PREPARED_EMG_FS

FRAME_HOP = 16  # at 2000 Hz: 8 ms
FRAME_WIN = 64  # 32 ms
CONTEXT = (-10, -5, 0, 5, 10)  # frames stacked around the labelled one


@dataclass
class Utterance:
    """One utterance read back and synced at its markers."""

    name: str
    session: str
    emg: np.ndarray  # (samples, 40) at 2048 Hz, from the marker rise
    speech: np.ndarray  # (samples,) at 16 kHz, from the marker rise
    phonemes: list[dict] = field(default_factory=list)


def marker_rise(marker: np.ndarray, threshold: float) -> int:
    """First index ``i + 1`` with ``marker[i + 1] - marker[i] > threshold``."""
    jumps = np.flatnonzero(np.diff(marker) > threshold)
    if jumps.size == 0:
        raise EmgseError("no marker rise found")
    return int(jumps[0]) + 1


def read_corpus(root: str | Path) -> list[Utterance]:
    """Read every utterance of a corpus in the CSL-EMG_Array layout written by the simulator."""
    root = Path(root)
    if not root.is_dir():
        raise EmgseError(f"{root}: not a folder")
    utts = []
    for info_path in sorted(root.glob("*/*/*_info.json")):
        stem = info_path.name[: -len("_info.json")]
        emg = read_npy(info_path.with_name(f"{stem}_emg.npy"), ndim=2)
        audio, fs = read_audio(info_path.with_name(f"{stem}_audio.wav"), channels="all")
        if emg.shape[1] != 41 or fs != 16000:
            raise EmgseError(f"{info_path.parent}: expected 41 EMG columns and 16 kHz audio")
        e0 = marker_rise(emg[:, 40], 10.0)
        a0 = marker_rise(audio[:, -1], 0.5)
        info = read_json(info_path)
        utts.append(Utterance(stem, info_path.parent.parent.name, emg[e0:, :40].astype(np.float64), audio[a0:, 0], info["phonemes"]))
    if not utts:
        raise EmgseError(f"{root}: no utterances found (expected <session>/<NNNN>/<session>_<NNNN>_info.json)")
    return utts


def median_frequency(emg: np.ndarray, fs: float = SIMULATED_EMG_FS, band: tuple[float, float] = (10.0, 1000.0)) -> np.ndarray:
    """Median frequency (Hz) of each channel of ``(samples, channels)``."""
    f, p = welch(emg, fs=fs, nperseg=512, axis=0)
    keep = (f >= band[0]) & (f <= band[1])
    f, p = f[keep], p[keep]
    c = np.cumsum(p, axis=0)
    return f[np.argmax(c >= c[-1:] / 2, axis=0)]


def _envelope_frames(x: np.ndarray, hop: int) -> np.ndarray:
    """Mean square per hop-long block (axis 0), one row per block."""
    n = x.shape[0] // hop
    return np.mean(x[: n * hop].reshape((n, hop) + x.shape[1:]) ** 2, axis=1)


def _smooth(x: np.ndarray, k: int = 5) -> np.ndarray:
    kernel = np.ones(k) / k
    return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 0, x)


def envelopes(utt: Utterance) -> tuple[np.ndarray, np.ndarray]:
    """Speech and per-channel EMG envelopes on a common 4 ms grid: ``(frames,)``, ``(frames, 40)``.

    EMG: high-passed above 20 Hz, squared, averaged per 4 ms and smoothed over 20 ms, log scale.
    """
    hp = butter(4, 20.0, btype="highpass", fs=SIMULATED_EMG_FS, output="sos")
    e = sosfiltfilt(hp, utt.emg, axis=0)
    e_env = np.log(_smooth(_envelope_frames(resample_poly(e, 125, 128, axis=0), 8)) + 1e-12)  # 2000 Hz / 8
    s_env = np.log(_smooth(_envelope_frames(utt.speech, 64)) + 1e-10)  # 16 kHz / 64
    n = min(len(e_env), len(s_env))
    return s_env[:n], e_env[:n]


def lead_ms(utts: list[Utterance], max_lag_ms: float = 250.0) -> float:
    """EMG-over-speech lead (ms) at the peak of the summed envelope cross-correlation."""
    step_ms = 4.0
    lags = np.arange(-int(max_lag_ms / step_ms), int(max_lag_ms / step_ms) + 1)
    total = np.zeros(lags.size)
    for u in utts:
        s, e = envelopes(u)
        e = e[:, list(LIVE_CHANNELS)].mean(axis=1)
        s, e = (s - s.mean()) / (s.std() + 1e-12), (e - e.mean()) / (e.std() + 1e-12)
        n = s.size
        for i, lag in enumerate(lags):  # corr(e[t], s[t + lag]): EMG at t predicts speech lag later
            if lag >= 0:
                total[i] += np.dot(e[: n - lag], s[lag:])
            else:
                total[i] += np.dot(e[-lag:], s[: n + lag])
    return float(lags[np.argmax(total)] * step_ms)


def speech_correlation(utts: list[Utterance], lead: float) -> dict[str, float]:
    """Mean |correlation| between channel envelopes (shifted by ``lead``) and the speech envelope.

    ``live``/``dead``: with the utterance's own speech; ``live_chance``/``dead_chance``: with another
    utterance's speech, the level that smooth but unrelated envelopes reach by chance. A channel
    group carries speech-related signal when its own-speech figure stands above its chance figure.
    """
    lag = int(round(lead / 4.0))
    env = [envelopes(u) for u in utts]

    def mean_abs_corr(s: np.ndarray, e: np.ndarray, channels: list[int]) -> float:
        if lag > 0:
            s, e = s[lag:], e[: e.shape[0] - lag]
        elif lag < 0:
            s, e = s[:lag], e[-lag:]
        n = min(s.size, e.shape[0])
        return float(np.mean([abs(np.corrcoef(s[:n], e[:n, ch])[0, 1]) for ch in channels]))

    out = {}
    for name, channels in (("live", list(LIVE_CHANNELS)), ("dead", list(DEAD_CHANNELS))):
        out[name] = float(np.mean([mean_abs_corr(s, e, channels) for s, e in env]))
        others = [mean_abs_corr(env[(i + 1) % len(env)][0], e, channels) for i, (_, e) in enumerate(env)]
        out[f"{name}_chance"] = float(np.mean(others)) if len(env) > 1 else float("nan")
    return out


def frame_dataset(utt: Utterance) -> tuple[np.ndarray, np.ndarray]:
    """TD features with context of the live channels and class labels (-1 = not scored)."""
    from emgse.features.td import td_features

    emg2k = resample_poly(utt.emg[:, list(LIVE_CHANNELS)], 125, 128, axis=0)
    feats = td_features(emg2k, PREPARED_EMG_FS).astype(np.float64)  # (frames, 35*5)
    feats = (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-9)
    n = feats.shape[0]
    stacked = np.concatenate([feats[np.clip(np.arange(n) + k, 0, n - 1)] for k in CONTEXT], axis=1)
    centres = (np.arange(n) * FRAME_HOP + FRAME_WIN / 2) / PREPARED_EMG_FS
    labels = np.full(n, -1)
    starts = np.array([p["start"] for p in utt.phonemes])
    idx = np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, len(starts) - 1)
    for j, p in enumerate(utt.phonemes):
        if p["class"] is not None:
            labels[(idx == j) & (centres < p["end"])] = CLASSES.index(p["class"])
    return stacked, labels


def _fit_softmax(x: np.ndarray, y: np.ndarray, k: int, l2: float = 1.0) -> np.ndarray:
    """Class-balanced multinomial logistic regression (L-BFGS); returns ``(features + 1, k)``."""
    xb = np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
    counts = np.bincount(y, minlength=k).astype(float)
    w_sample = (len(y) / (k * np.maximum(counts, 1)))[y]
    onehot = np.eye(k)[y]

    def loss(wflat: np.ndarray) -> tuple[float, np.ndarray]:
        w = wflat.reshape(xb.shape[1], k)
        z = xb @ w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -np.sum(w_sample * np.log(np.sum(p * onehot, axis=1) + 1e-12)) / len(y)
        grad = xb.T @ ((p - onehot) * w_sample[:, None]) / len(y)
        reg = 0.5 * l2 * np.sum(w[:-1] ** 2) / len(y)
        grad[:-1] += l2 * w[:-1] / len(y)
        return nll + reg, grad.ravel()

    res = minimize(loss, np.zeros(xb.shape[1] * k), jac=True, method="L-BFGS-B", options={"maxiter": 300})
    return res.x.reshape(xb.shape[1], k)


def classify_frames(utts: list[Utterance], test_every: int = 4) -> dict:
    """Train on utterances with ``i % test_every != test_every - 1`` (per session), test on the rest."""
    train_x, train_y, test_x, test_y = [], [], [], []
    per_session: dict[str, int] = {}
    for u in utts:
        i = per_session.get(u.session, 0)
        per_session[u.session] = i + 1
        x, y = frame_dataset(u)
        keep = y >= 0
        held_out = i % test_every == test_every - 1
        (test_x if held_out else train_x).append(x[keep])
        (test_y if held_out else train_y).append(y[keep])
    if not test_x or not train_x:
        raise EmgseError(f"the frame classifier needs at least {test_every} utterances per session")
    xtr, ytr = np.concatenate(train_x), np.concatenate(train_y)
    xte, yte = np.concatenate(test_x), np.concatenate(test_y)
    k = len(CLASSES)
    w = _fit_softmax(xtr, ytr, k)
    pred = np.argmax(np.concatenate([xte, np.ones((len(xte), 1))], axis=1) @ w, axis=1)
    present = [c for c in range(k) if np.any(yte == c)]
    recall = {CLASSES[c]: float(np.mean(pred[yte == c] == c)) for c in present}
    return {
        "balanced_accuracy": float(np.mean(list(recall.values()))),
        "chance": 1.0 / len(present),
        "accuracy": float(np.mean(pred == yte)),
        "majority_rate": float(np.max(np.bincount(yte, minlength=k)) / len(yte)),
        "recall": recall,
        "train_frames": int(len(ytr)),
        "test_frames": int(len(yte)),
    }


def check_corpus(root: str | Path) -> dict:
    """All figures of a corpus (see the module docstring)."""
    utts = read_corpus(root)
    live, dead = list(LIVE_CHANNELS), list(DEAD_CHANNELS)
    mdf = np.concatenate([median_frequency(u.emg[:, live]) for u in utts])
    hp = butter(4, 20.0, btype="highpass", fs=SIMULATED_EMG_FS, output="sos")
    rms = np.array([np.sqrt(np.mean(sosfiltfilt(hp, u.emg, axis=0) ** 2, axis=0)) for u in utts])  # (utts, 40)
    lead = lead_ms(utts)
    corr = speech_correlation(utts, lead)
    figures = {
        "utterances": len(utts),
        "sessions": len({u.session for u in utts}),
        "median_frequency_hz": float(np.median(mdf)),
        "median_frequency_range_hz": [float(np.percentile(mdf, 5)), float(np.percentile(mdf, 95))],
        "live_rms": float(np.mean(rms[:, live])),
        "dead_rms": float(np.mean(rms[:, dead])),
        "dead_live_rms_ratio": float(np.mean(rms[:, dead]) / np.mean(rms[:, live])),
        "speech_envelope_corr": corr,
        "emg_lead_ms": lead,
        "recorded_speech": (Path(root) / "simulation.json").is_file() and "speech" in read_json(Path(root) / "simulation.json"),
    }
    per_session = [sum(u.session == s for u in utts) for s in {u.session for u in utts}]
    figures["classifier"] = classify_frames(utts) if max(per_session) >= 4 else None
    return figures


def format_report(fig: dict) -> str:
    """Human-readable table of :func:`check_corpus` figures, with the expected ranges."""
    lo, hi = fig["median_frequency_range_hz"]
    c = fig["speech_envelope_corr"]
    lines = [
        f"SIMULATED {'EMG for recorded speech' if fig.get('recorded_speech') else 'corpus'} check: {fig['utterances']} utterances, {fig['sessions']} session(s)",
        f"  median frequency, live channels   {fig['median_frequency_hz']:7.1f} Hz   (5-95%: {lo:.0f}-{hi:.0f}; expected 60-150)",
        f"  dead / live channel RMS (>20 Hz)  {fig['dead_live_rms_ratio']:7.3f}      (expected well below 1)",
        f"  |corr| with speech envelope       live {c['live']:.2f} (chance {c['live_chance']:.2f}),"
        f" dead {c['dead']:.2f} (chance {c['dead_chance']:.2f})",
        f"  EMG envelope leads speech by      {fig['emg_lead_ms']:7.1f} ms   (expected 20-120)",
    ]
    c = fig.get("classifier")
    if c:
        recalls = ", ".join(f"{k} {v:.2f}" for k, v in c["recall"].items())
        lines += [
            f"  frame classifier (held-out utts)  balanced accuracy {c['balanced_accuracy']:.3f} vs chance {c['chance']:.3f};"
            f" accuracy {c['accuracy']:.3f} vs majority {c['majority_rate']:.3f}",
            f"    per-class recall: {recalls}  ({c['train_frames']} train / {c['test_frames']} test frames)",
        ]
    else:
        lines.append("  frame classifier                  skipped (needs at least 4 utterances per session)")
    return "\n".join(lines)
