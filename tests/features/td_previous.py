"""The vectorized TD features as they were before the work-array rewrite (kept as the reference the
current ``td_features`` must equal bit for bit): lfilter + convolve1d band split, one GEMM per
feature, settled band by ``np.where`` and crossings by a cumulative sum of products."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import convolve1d
from scipy.signal import lfilter

from emgse.features.td import N_TD, SETTLED, _filters, frame_window


def _windowed_sums(x: np.ndarray, v: np.ndarray, frames: int, hop: int) -> np.ndarray:
    win = v.shape[0]
    if win % hop:
        return sliding_window_view(x, win, axis=1)[:, ::hop][:, :frames] @ v
    r = win // hop
    ch = x.shape[0]
    blocks = x[:, : (frames + r - 1) * hop].reshape(ch * (frames + r - 1), hop)
    parts = (blocks @ v.reshape(r, hop).T).reshape(ch, frames + r - 1, r)
    total = parts[:, :frames, 0].copy()
    for k in range(1, r):
        total += parts[:, k : k + frames, k]
    return total


def _crossings(high: np.ndarray, w: np.ndarray, starts: np.ndarray) -> np.ndarray:
    win = w.shape[0]
    ch, n = high.shape
    if ((np.abs(high) < 1e-100) & (high != 0)).any():
        frames = sliding_window_view(high, win, axis=1)[:, starts] * w
        return np.count_nonzero(frames[..., :-1] * frames[..., 1:] <= 0, axis=-1)
    csum = np.zeros((ch, n), np.int32)
    np.cumsum(high[:, :-1] * high[:, 1:] <= 0, axis=1, out=csum[:, 1:])
    count = csum[:, starts + win - 1] - csum[:, starts]
    pair_sign = np.sign(w[:-1] * w[1:])
    for i in np.flatnonzero(pair_sign <= 0):
        p = high[:, starts + i] * high[:, starts + i + 1]
        count += ~(p <= 0) if pair_sign[i] == 0 else (p >= 0).astype(np.int32) - (p <= 0)
    return count


def td_features_previous(emg: np.ndarray, fs: float = 2000.0, *, win_s: float = 0.032, hop_s: float = 0.008,
                         cutoff_hz: float = 134.0, order: int = 3, periodic: bool = False) -> np.ndarray:
    """``(frames, channels * 5)`` float32, as ``td_features`` computed them before."""
    emg = np.asarray(emg, dtype=np.float64)
    win, hop = int(round(win_s * fs)), int(round(hop_s * fs))
    (bl, al), (bh, _) = _filters(float(fs), float(cutoff_hz), int(order))
    frames = (emg.shape[0] - win) // hop + 1
    w = frame_window(win, periodic)
    x = emg.T
    v = lfilter([1.0], al, x)
    low = convolve1d(v, bl, axis=-1, mode="constant", origin=-(len(bl) // 2))
    high = convolve1d(v, bh, axis=-1, mode="constant", origin=-(len(bl) // 2))
    out = np.empty((frames, emg.shape[1], N_TD), np.float32)
    out[..., 0] = _windowed_sums(low, w / win, frames, hop).T
    out[..., 1] = _windowed_sums(low * low, w * w / win, frames, hop).T
    out[..., 2] = _windowed_sums(np.abs(high), np.abs(w) / win, frames, hop).T
    out[..., 3] = _windowed_sums(high * high, w * w / win, frames, hop).T
    settled = np.where(np.abs(high) <= SETTLED * np.abs(low), 0.0, high)
    out[..., 4] = (_crossings(settled, w, np.arange(frames) * hop) / win).T
    return out.reshape(frames, -1)
