"""TD features (after Jou et al. 2006): the paper's five time-domain features per EMG channel.

numpy/scipy, vectorized over frames and channels. Shapes: raw EMG ``(samples, channels)``;
features ``(frames, channels * 5)``, channel-major (channel 0's five features first).

Per channel: a 3rd-order Butterworth low-pass and high-pass at 134 Hz split the signal into a low
band ``w`` and a high band ``p``; each 32 ms frame of each band is multiplied by a Blackman window
(symmetric, ``np.blackman(64)``, as the authors' code; the periodic one is an option); the five
features are the low-band mean, the low-band mean square, the high-band mean absolute value, the
high-band mean square and the high-band zero-crossing rate: the pairs of neighbours of the
*windowed* high-band frame ``h`` with ``h[n] * h[n+1] <= 0``, divided by the frame length (the
authors' ``sum(h[:-1] * h[1:] <= 0) / win``). The Blackman window's end values are ``-1.4e-17``
(not 0), so the first and last pair of a frame count a crossing when the unwindowed neighbours have
the *same* sign (or one is 0): reproduced exactly. :func:`td_features_reference` is the authors'
per-window loop, kept to check :func:`td_features` against.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import convolve1d
from scipy.signal import butter, get_window, lfilter

from emgse.errors import EmgseError
from emgse.protocol import PREPARED_EMG_FS

N_TD = 5
TD_NAMES = ("low_mean", "low_power", "high_abs_mean", "high_power", "high_zcr")

_CHANNEL_BLOCK = 6  # channels processed together in td_features (keeps temporaries in cache)


def _threads() -> int:
    env = os.environ.get("EMGSE_THREADS")
    return max(1, int(env)) if env else min(2, os.cpu_count() or 1)


def frame_samples(fs: float, seconds: float, what: str) -> int:
    """``seconds`` at ``fs`` as a whole number of samples, or a clear error."""
    n = seconds * fs
    if abs(n - round(n)) > 1e-6 or round(n) < 1:
        raise EmgseError(
            f"unsupported EMG rate {fs:g} Hz: the {what} of {seconds * 1000:g} ms is not a whole number "
            f"of samples (resample first, e.g. to {PREPARED_EMG_FS} Hz)"
        )
    return int(round(n))


@lru_cache(maxsize=16)
def _filters(fs: float, cutoff_hz: float, order: int) -> tuple[tuple, tuple]:
    if not 0 < cutoff_hz < fs / 2:
        raise EmgseError(f"unsupported EMG rate {fs:g} Hz: the {cutoff_hz:g} Hz band split needs fs > {2 * cutoff_hz:g} Hz")
    low = butter(order, cutoff_hz, btype="lowpass", fs=fs)
    high = butter(order, cutoff_hz, btype="highpass", fs=fs)
    return low, high


def check_emg(emg: np.ndarray) -> np.ndarray:
    emg = np.asarray(emg)
    if emg.ndim != 2:
        raise EmgseError(f"EMG must be (samples, channels), got shape {emg.shape}")
    if not np.isfinite(emg.sum()) and not np.all(np.isfinite(emg)):  # sum first: one cheap pass
        raise EmgseError("EMG contains NaN/Inf values")
    return emg.astype(np.float64, copy=False)


def split_bands(
    emg: np.ndarray, fs: float, cutoff_hz: float = 134.0, order: int = 3, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Causal Butterworth low/high band split over whole channels (time along ``axis``).

    Butterworth low- and high-pass filters at one cutoff share their poles, so the recursive
    (all-pole) part runs once and the two short numerators are applied to its output; this is the
    same pair of filters as two ``lfilter`` calls, at half the cost.
    """
    (bl, al), (bh, ah) = _filters(float(fs), float(cutoff_hz), int(order))
    x = np.moveaxis(np.asarray(emg, dtype=np.float64), axis, -1)
    if not np.allclose(al, ah):  # pragma: no cover - true for every Butterworth pair
        return np.moveaxis(lfilter(bl, al, x), -1, axis), np.moveaxis(lfilter(bh, ah, x), -1, axis)
    rows = x.reshape(-1, x.shape[-1])
    low, high, tmp = np.empty(rows.shape), np.empty(rows.shape), np.empty(rows.shape)
    _split_rows(rows, bl, al, bh, low, high, np.empty((rows.shape[0], rows.shape[1] + len(bl) - 1)), tmp)
    return np.moveaxis(low.reshape(x.shape), -1, axis), np.moveaxis(high.reshape(x.shape), -1, axis)


def _split_rows(x: np.ndarray, bl: np.ndarray, al: np.ndarray, bh: np.ndarray, low: np.ndarray,
                high: np.ndarray, v: np.ndarray, tmp: np.ndarray) -> None:
    """The band split of :func:`split_bands` for ``x`` ``(ch, samples)`` into ``low`` and ``high``
    (same shape), in work arrays: ``v`` ``(ch, samples + len(bl) - 1)``, ``tmp`` like ``x``.

    The all-pole part runs channel by channel into ``v`` after ``len(bl) - 1`` zeros (the FIR's
    zero history): a block-sized temporary each time would cost more in page faults than the
    filter. The causal FIR ``y[n] = sum_k b[k] v[n-k]`` adds its terms in the order of
    ``scipy.ndimage.convolve1d`` (``b[0]``, then ``b[L-1]`` down to ``b[1]``), array by array, at
    twice its speed and with its results; an odd-length numerator, which ``convolve1d`` folds as
    symmetric, is left to it (its origin shifted by ``L // 2``, as it centres the kernel).
    """
    taps = len(bl)
    v[:, : taps - 1] = 0.0
    for c in range(x.shape[0]):
        v[c, taps - 1 :] = lfilter([1.0], al, x[c])
    if taps % 2:
        for b, y in ((bl, low), (bh, high)):
            convolve1d(v[:, taps - 1 :], b, axis=-1, output=y, mode="constant", origin=-(taps // 2))
        return
    n = x.shape[1]
    for b, y in ((bl, low), (bh, high)):
        np.multiply(v[:, taps - 1 :], b[0], out=y)
        for k in range(taps - 1, 0, -1):
            y += np.multiply(v[:, taps - 1 - k : taps - 1 - k + n], b[k], out=tmp)


def _windowed_sums(x: np.ndarray, v: np.ndarray, frames: int, hop: int, parts: np.ndarray | None = None) -> np.ndarray:
    """``sum(x[k, c, j*hop : j*hop+win] * v[k])`` for every signal ``k``, channel ``c`` and frame
    ``j``: ``(signals, ch, frames)`` from ``x`` ``(signals, ch, samples)`` and ``v`` ``(signals, win)``.

    When the window is a whole number ``r`` of hops, the signals are cut into hop-long blocks, one
    (batched) matrix product gives each block's dot product with each window part, and frame ``j``
    adds blocks ``j .. j+r-1``. Otherwise it falls back to a strided view. ``parts``: memory for
    the products, ``(signals, ch * (frames + r - 1), r)``.
    """
    win = v.shape[-1]
    if win % hop:
        frames_view = sliding_window_view(x, win, axis=2)[:, :, ::hop][:, :, :frames]  # (signals, ch, frames, win)
        return np.stack([f @ vk for f, vk in zip(frames_view, v, strict=True)])
    r = win // hop
    k, ch = x.shape[:2]
    blocks = x[..., : (frames + r - 1) * hop].reshape(k, ch * (frames + r - 1), hop)
    parts = np.matmul(blocks, v.reshape(k, r, hop).transpose(0, 2, 1), out=parts).reshape(k, ch, frames + r - 1, r)
    total = parts[..., :frames, 0].copy()
    for j in range(1, r):
        total += parts[..., j : j + frames, j]
    return total


def frame_window(win: int, periodic: bool = False) -> np.ndarray:
    """The Blackman window of the TD features, ``(win,)``: symmetric (``np.blackman``, the
    authors') or periodic."""
    return get_window("blackman", win, fftbins=periodic)


# A held (constant) stretch of EMG -- the edge padding of the EMG length rule, a flat electrode --
# leaves a high band that decays to rounding noise of arbitrary sign, whose zero crossings two
# correct implementations (offline, streaming) would count differently. High-band values of at
# most this share of the low band's magnitude count as 0 (a settled band); on moving EMG no value
# comes near it (the band's own rounding error is ~1e-16 of it).
SETTLED = 1e-12


def settled_high(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """The high band the zero-crossing feature counts: ``high`` with every value of at most
    :data:`SETTLED` times ``|low|`` (same shape) set to 0."""
    return np.where(np.abs(high) <= SETTLED * np.abs(low), 0.0, high)


# Below this magnitude products of band values and window values may underflow to 0, and the
# sign rule of windowed_crossings could differ from the literal windowed product.
_TINY = 1e-100


def windowed_crossings(high: np.ndarray, w: np.ndarray, starts: np.ndarray, live: np.ndarray | None = None) -> np.ndarray:
    """Zero crossings of the windowed frames: ``count(h[:-1] * h[1:] <= 0)`` with
    ``h = high[c, s : s + win] * w``, for every channel ``c`` and frame start ``s``: ``(ch, frames)``.

    ``live`` ``(ch, samples)`` bool, if given, marks the values that count as nonzero; the others
    count as 0 (:func:`settled_high`'s rule without making the settled band). Default ``high != 0``.

    The sign of ``(w[i] x[i]) (w[i+1] x[i+1])`` is that of ``w[i] w[i+1]`` times that of
    ``x[i] x[i+1]``, so pairs where the window's product is positive (all but the ends) count
    like the unwindowed frame (see :func:`_crossing_counts`). Channels holding live values so small
    that the products could underflow take the literal per-frame product.
    """
    live = high != 0 if live is None else live
    if _underflows(np.abs(high), live):
        frames = sliding_window_view(np.where(live, high, 0.0), w.shape[0], axis=1)[:, starts] * w  # (ch, frames, win)
        return np.count_nonzero(frames[..., :-1] * frames[..., 1:] <= 0, axis=-1)
    work = {name: np.empty(high.shape, dtype) for name, dtype in (("pos", bool), ("same", bool), ("csum", np.int32))}
    return _crossing_counts(high, live, w, starts, work)


def _underflows(magnitude: np.ndarray, live: np.ndarray) -> bool:
    """Whether a live value of ``magnitude`` (``|high|``, same shape as ``live``) is below ``_TINY``."""
    return bool(magnitude.min() < _TINY and np.any(live & (magnitude < _TINY)))


def _shifted(starts: np.ndarray | slice, i: int) -> np.ndarray | slice:
    """Frame starts ``starts`` (indices, or a slice for a regular grid) moved by ``i`` samples."""
    if isinstance(starts, slice):
        return slice(starts.start + i, starts.stop + i, starts.step)
    return starts + i


def _crossing_counts(high: np.ndarray, live: np.ndarray, w: np.ndarray, starts: np.ndarray | slice,
                     work: dict[str, np.ndarray]) -> np.ndarray:
    """:func:`windowed_crossings` where no product underflows: ``(ch, frames)`` int32.

    A pair counts unless both values are live and of one sign: a test on booleans over the whole
    signal, summed per frame by one cumulative sum. The few pairs at the window's ends where its
    product is not positive are then corrected directly (product 0: the pair always counts;
    negative: it counts when ``x[i] x[i+1] >= 0``, that is unless both are live of opposite signs).
    ``work``: ``pos``, ``same`` (bool) and ``csum`` (int32) arrays of ``high``'s shape.
    """
    win = w.shape[0]
    pos = np.greater(high, 0.0, out=work["pos"])
    same = work["same"][:, :-1]  # pair (i, i+1) live and of one sign: no crossing
    np.equal(pos[:, :-1], pos[:, 1:], out=same)
    same &= live[:, :-1]
    same &= live[:, 1:]
    csum = work["csum"]
    csum[:, 0] = 0
    np.cumsum(same, axis=1, dtype=np.int32, out=csum[:, 1:])
    count = (win - 1) - (csum[:, _shifted(starts, win - 1)] - csum[:, starts])
    pair_sign = np.sign(w[:-1] * w[1:])
    for i in np.flatnonzero(pair_sign <= 0):  # the window's ends: a handful of pairs
        at, nxt = _shifted(starts, i), _shifted(starts, i + 1)
        count += same[:, at]
        if pair_sign[i] < 0:
            count -= live[:, at] & live[:, nxt] & (pos[:, at] != pos[:, nxt])
    return count


class _Work:
    """Work memory of one :func:`td_features` worker: one flat buffer, viewed as the contiguous
    arrays of each channel block (:meth:`arrays`)."""

    def __init__(self, nbytes: int):
        self.buffer = np.empty(nbytes, np.uint8)
        self.nbytes = nbytes

    @staticmethod
    def layout(channels: int, samples: int, frames: int, win: int, hop: int, taps: int) -> list[tuple[str, tuple, type]]:
        """The arrays of a block of ``channels``: ``sig`` ``(4, ch, samples)`` (low, low^2,
        |high|, high^2), ``high`` and ``v`` (:func:`_split_rows`) float64; ``live``, ``pos``, ``same`` bool; ``csum`` int32;
        ``parts`` ``(4, ch * blocks, win // hop)`` float64 for :func:`_windowed_sums`."""
        shape = (channels, samples)
        parts = (4, channels * (frames + win // hop - 1), win // hop) if win % hop == 0 else (0,)
        return [("sig", (4, *shape), np.float64), ("high", shape, np.float64), ("v", (channels, samples + taps - 1), np.float64),
                ("parts", parts, np.float64),
                ("csum", shape, np.int32), ("live", shape, bool), ("pos", shape, bool), ("same", shape, bool)]

    @staticmethod
    def size(layout: list[tuple[str, tuple, type]]) -> int:
        return sum(-(-int(np.prod(shape)) * np.dtype(dtype).itemsize // 64) * 64 for _, shape, dtype in layout)

    def arrays(self, layout: list[tuple[str, tuple, type]]) -> dict[str, np.ndarray]:
        views, at = {}, 0
        for name, shape, dtype in layout:
            n = int(np.prod(shape)) * np.dtype(dtype).itemsize
            views[name] = self.buffer[at : at + n].view(dtype).reshape(shape)
            at += -(-n // 64) * 64
        return views


# Work memory kept between calls (fresh large arrays cost page faults that outweigh the arithmetic
# on a 10 s utterance), up to _KEEP_BYTES in all so that a long recording does not pin its own.
_KEPT: list[_Work] = []
_KEPT_LOCK = threading.Lock()
_KEEP_BYTES = 32 << 20


def _forget_work() -> None:
    """After a fork (data loader workers): a fresh lock, in case another thread held it, and no kept memory."""
    global _KEPT_LOCK
    _KEPT_LOCK = threading.Lock()
    _KEPT.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_work)


def _take_work(nbytes: int) -> _Work:
    with _KEPT_LOCK:
        for k, work in enumerate(_KEPT):
            if work.nbytes >= nbytes:
                return _KEPT.pop(k)
    return _Work(nbytes)


def _give_back(work: _Work) -> None:
    with _KEPT_LOCK:
        _KEPT.append(work)
        _KEPT.sort(key=lambda k: k.nbytes)
        while sum(k.nbytes for k in _KEPT) > _KEEP_BYTES:
            _KEPT.pop()  # the largest


def _td_block(x: np.ndarray, out: np.ndarray, work: dict[str, np.ndarray], filters: tuple, weights: np.ndarray,
              w: np.ndarray, hop: int) -> None:
    """TD features of raw EMG ``x`` ``(ch, samples)`` (the samples that frames read) into ``out``
    ``(frames, ch, 5)``, in the arrays ``work`` (:meth:`_Work.arrays`); ``weights`` ``(4, win)``:
    the windows of the first four features."""
    frames = out.shape[0]
    sig, high = work["sig"], work["high"]  # sig: low, low^2, |high|, high^2
    low = sig[0]
    _split_rows(x, *filters, low, high, work["v"], sig[3])
    np.multiply(low, low, out=sig[1])
    np.abs(high, out=sig[2])
    np.multiply(high, high, out=sig[3])
    out[:, :, :4] = _windowed_sums(sig, weights, frames, hop, work["parts"]).transpose(2, 1, 0)
    # The settled band (settled_high): live where |high| > SETTLED |low|.
    thr = np.multiply(np.abs(low, out=sig[1]), SETTLED, out=sig[1])
    live = np.greater(sig[2], thr, out=work["live"])
    if _underflows(sig[2], live):
        counts = windowed_crossings(high, w, np.arange(frames) * hop, live)
    else:
        counts = _crossing_counts(high, live, w, slice(0, frames * hop, hop), work)
    out[:, :, 4] = (counts / w.shape[0]).T


def td_features(
    emg: np.ndarray,
    fs: float = PREPARED_EMG_FS,
    *,
    win_s: float = 0.032,
    hop_s: float = 0.008,
    cutoff_hz: float = 134.0,
    order: int = 3,
    periodic: bool = False,
    threads: int | None = None,
) -> np.ndarray:
    """TD features of raw EMG.

    Args:
        emg: ``(samples, channels)``.
        fs: sampling rate in Hz; ``win_s * fs`` and ``hop_s * fs`` must be whole numbers.
        periodic: periodic Blackman window instead of the paper's symmetric one.
        threads: worker threads over channel blocks (default: ``EMGSE_THREADS`` or up to 2). Each
            worker computes in work arrays that are kept between calls (up to 32 MB in all:
            about 8 MB per worker for 10 s at 2 kHz).

    Returns:
        ``(frames, channels * 5)`` float32, ``frames = (samples - win) // hop + 1``; frame ``j``
        covers samples ``[j*hop, j*hop + win)``.
    """
    emg = check_emg(emg)
    win = frame_samples(fs, win_s, "frame")
    hop = frame_samples(fs, hop_s, "hop")
    n, channels = emg.shape
    if n < win:
        raise EmgseError(f"EMG of {n} samples is shorter than one {win}-sample frame ({win_s * 1000:g} ms at {fs:g} Hz)")
    frames = (n - win) // hop + 1
    used = (frames - 1) * hop + win  # the filters are causal: later samples reach no frame
    w = frame_window(win, periodic)
    out = np.empty((frames, channels, N_TD), np.float32)
    (bl, al), (bh, ah) = _filters(float(fs), float(cutoff_hz), int(order))
    if not np.allclose(al, ah):  # pragma: no cover - true for every Butterworth pair
        raise EmgseError("td_features needs a low- and high-pass pair with the same poles")
    filters, taps = (bl, al, bh), len(bl)
    weights = np.stack([w, w * w, np.abs(w), w * w]) / win  # low mean, low power, high |.| mean, high power

    def worker(block_starts: range) -> None:
        # Channel-major, (channels, samples), a few channels at a time; one work memory per worker,
        # its arrays reused block after block. Blocks write disjoint slices.
        work = _take_work(_Work.size(_Work.layout(min(channels, _CHANNEL_BLOCK), used, frames, win, hop, taps)))
        for c0 in block_starts:
            c1 = min(channels, c0 + _CHANNEL_BLOCK)
            arrays = work.arrays(_Work.layout(c1 - c0, used, frames, win, hop, taps))
            _td_block(emg[:used, c0:c1].T, out[:, c0:c1], arrays, filters, weights, w, hop)
        _give_back(work)

    block_starts = range(0, channels, _CHANNEL_BLOCK)
    threads = min(_threads() if threads is None else threads, len(block_starts))
    if threads > 1:
        # scipy's filters and numpy's kernels release the GIL, so channel blocks run in parallel.
        with ThreadPoolExecutor(threads) as pool:
            # Contiguous channel ranges, so that the workers share no output row but one cache line.
            cuts = [len(block_starts) * k // threads for k in range(threads + 1)]
            list(pool.map(worker, [block_starts[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]))
    else:
        worker(block_starts)
    return out.reshape(frames, channels * N_TD)


def td_features_reference(
    emg: np.ndarray, fs: float = PREPARED_EMG_FS, *, win_s: float = 0.032, hop_s: float = 0.008, periodic: bool = False
) -> np.ndarray:
    """A plain per-frame, per-channel loop computing the same as :func:`td_features`.

    It is the readable specification the vectorized version is checked against (tests and
    ``benchmarks/frontend.py``); never use it on real data.
    """
    emg = check_emg(emg)
    win, hop = int(round(win_s * fs)), int(round(hop_s * fs))
    low, high = split_bands(emg, fs)
    w = frame_window(win, periodic)
    frames = (emg.shape[0] - win) // hop + 1
    out = np.zeros((frames, emg.shape[1] * N_TD))
    for j in range(frames):
        for c in range(emg.shape[1]):
            lo = low[j * hop : j * hop + win, c]
            hi = high[j * hop : j * hop + win, c]
            lw, hw = lo * w, hi * w
            zw = settled_high(hi, lo) * w
            zc = sum(1 for i in range(win - 1) if zw[i] * zw[i + 1] <= 0)
            out[j, c * N_TD : (c + 1) * N_TD] = [
                np.mean(lw),
                np.mean(lw**2),
                np.mean(np.abs(hw)),
                np.mean(hw**2),
                zc / win,
            ]
    return out
