"""EMG front-end around the TD features (:mod:`emgse.features.td`): the shared frame grid, context
stacking, normalization and channel sets.

Shapes: raw EMG ``(samples, channels)``; features ``(frames, channels * 5)``, channel-major
(channel 0's five features first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from emgse.config import EmgConfig
from emgse.errors import EmgseError
from emgse.features.td import N_TD, check_emg, frame_samples, td_features

# CSL-EMG_Array: channels 0-31 cheek array (4 rows of 8), 32-39 chin array (8). The last channel of
# each group of 8 is the unpaired end of the bipolar chain and carries no meaningful signal.
ARRAY_CHANNELS = 40
DEAD_CHANNELS = (7, 15, 23, 31, 39)
_LIVE = tuple(c for c in range(ARRAY_CHANNELS) if c not in DEAD_CHANNELS)
CHANNEL_SETS: dict[str, tuple[int, ...]] = {
    "all": _LIVE,  # 35
    "cheek": _LIVE[:28],  # 28
    "chin": tuple(range(32, 39)),  # 7
}


def emg_features(emg: np.ndarray, fs: float, config: EmgConfig = EmgConfig(), n_frames: int | None = None) -> np.ndarray:
    """TD features on the shared frame grid (before channel selection, stacking and normalization).

    With ``config.edge_padding`` the EMG is padded in front by ``win - hop`` (24 ms, repeating the
    first sample so the filters see no step) and at the end as needed, exactly as the audio is, so
    feature frame ``j`` covers the same 32 ms as STFT frame ``j``.

    Args:
        emg: ``(samples, channels)`` at ``fs``.
        n_frames: if given (use the audio's frame count), the *raw* EMG is first fitted to the
            audio's duration by :func:`fit_emg` (trimmed, or padded by repeating its last sample),
            so that a short or long EMG changes only the frames it touches, never the features or
            the per-utterance normalization of the others. The streamer does the same.

    Returns:
        ``(frames, channels * 5)`` float32.
    """
    emg = check_emg(emg)
    if emg.shape[0] == 0:
        raise EmgseError("EMG has no samples")
    win = frame_samples(fs, config.win_s, "frame")
    hop = frame_samples(fs, config.hop_s, "hop")
    if n_frames is not None:
        emg = fit_emg(emg, emg_samples(n_frames, fs, config))
    if config.edge_padding:
        pad = win - hop
        n = emg.shape[0]
        frames = emg_frame_count(n, fs, config)
        total = (frames - 1) * hop + win
        emg = np.pad(emg, ((pad, total - pad - n), (0, 0)), mode="edge")
    return td_features(emg, fs, win_s=config.win_s, hop_s=config.hop_s, cutoff_hz=config.cutoff_hz, order=config.filter_order,
                       periodic=config.window_periodic)


def emg_samples(n_frames: int, fs: float, config: EmgConfig = EmgConfig()) -> int:
    """Raw EMG samples that ``n_frames`` frames of the audio's grid span: the audio's duration
    rounded up to whole hops (with edge padding ``n_frames * hop - (win - hop)``, the rest of the
    grid being the edge padding; without it ``(n_frames - 1) * hop + win``)."""
    win = frame_samples(fs, config.win_s, "frame")
    hop = frame_samples(fs, config.hop_s, "hop")
    n = n_frames * hop - (win - hop) if config.edge_padding else (n_frames - 1) * hop + win
    return max(0, n)


def emg_frame_count(n_samples: int, fs: float, config: EmgConfig = EmgConfig()) -> int:
    """Frames of the grid of an EMG of ``n_samples`` samples on its own: the frames its recorded
    samples cover. Without edge padding, the frames whose window lies within the recording (the
    authors' ``(n - win) // hop + 1``); with it, also the edge frames that matched audio has (the
    last one starting at or before the last sample, as :func:`emgse.features.audio.frame_count`)."""
    win = frame_samples(fs, config.win_s, "frame")
    hop = frame_samples(fs, config.hop_s, "hop")
    if config.edge_padding:
        return (win - hop + n_samples - 1) // hop + 1 if n_samples > 0 else 0
    return (n_samples - win) // hop + 1 if n_samples >= win else 0


def fit_emg(emg: np.ndarray, n_samples: int) -> np.ndarray:
    """The one EMG length rule: trim raw EMG ``(samples, channels)`` at the end, or pad it by
    repeating its last sample, to exactly ``n_samples`` samples (offline and streaming)."""
    emg = np.asarray(emg)
    if emg.shape[0] >= n_samples:
        return emg[:n_samples]
    if emg.shape[0] == 0:
        raise EmgseError("EMG has no samples")
    return np.pad(emg, ((0, n_samples - emg.shape[0]), (0, 0)), mode="edge")


def stack_context(features: np.ndarray, k: int) -> np.ndarray:
    """Stack ``±k`` neighbouring frames, frame-major, zero-padded at the edges.

    Args:
        features: ``(frames, dims)``.

    Returns:
        ``(frames, (2k + 1) * dims)``: row ``t`` is ``[x[t-k], ..., x[t], ..., x[t+k]]``.
    """
    if k < 0:
        raise ValueError("context must be >= 0")
    frames, dims = features.shape
    padded = np.pad(features, ((k, k), (0, 0)))
    # (frames, dims, 2k+1) -> (frames, 2k+1, dims) so that each context frame is contiguous
    windows = sliding_window_view(padded, 2 * k + 1, axis=0).transpose(0, 2, 1)
    return np.ascontiguousarray(windows).reshape(frames, (2 * k + 1) * dims)


def minmax_normalize(features: np.ndarray, covered: int | None = None) -> np.ndarray:
    """Per-utterance min-max scaling of each feature dimension to [0, 1] (the paper's choice).

    Constant dimensions map to 0. ``(frames, dims)`` in and out.

    ``covered``: the minimum and maximum come from the first ``covered`` frames only (those the
    recorded EMG covers, :func:`emg_frame_count`), as the authors normalize the frames they have;
    the frames after them (EMG padded by its held last sample, whose high band is rounding noise
    with a ZCR near 1) are scaled alike and clipped to [0, 1].
    """
    covered = features.shape[0] if covered is None else max(1, min(int(covered), features.shape[0]))
    lo = features[:covered].min(axis=0, keepdims=True)
    span = features[:covered].max(axis=0, keepdims=True) - lo
    out = ((features - lo) / np.where(span > 0, span, 1.0)).astype(features.dtype, copy=False)
    if covered < features.shape[0]:
        np.clip(out[covered:], 0.0, 1.0, out=out[covered:])
    return out


@dataclass
class ZScore:
    """Per-dimension z-score with statistics fitted on training data and stored for inference."""

    mean: np.ndarray  # (dims,)
    std: np.ndarray  # (dims,)

    @classmethod
    def fit(cls, arrays: list[np.ndarray] | tuple[np.ndarray, ...], min_std: float = 1e-8) -> ZScore:
        """Fit on a sequence of ``(frames, dims)`` arrays (streaming float64 sums)."""
        count, total, total_sq = 0, 0.0, 0.0
        for a in arrays:
            a = np.asarray(a, dtype=np.float64)
            count += a.shape[0]
            total = total + a.sum(axis=0)
            total_sq = total_sq + (a * a).sum(axis=0)
        if count == 0:
            raise EmgseError("cannot fit z-score statistics on no frames")
        mean = total / count
        var = np.maximum(total_sq / count - mean * mean, 0.0)
        return cls(mean=mean, std=np.maximum(np.sqrt(var), min_std))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """``(features - mean) / std`` over the last axis ``(..., dims)`` as float32: the one
        z-score of training, enhancement and streaming (computed at the statistics' precision,
        see :meth:`float32`)."""
        if features.shape[-1] != self.mean.shape[0]:
            raise EmgseError(f"z-score statistics have {self.mean.shape[0]} dims, features have {features.shape[-1]}")
        return ((features - self.mean) / self.std).astype(np.float32, copy=False)

    def float32(self) -> ZScore:
        """The statistics rounded to float32, as the feature store, enhancement and streaming apply
        them to float32 features (float32 arithmetic)."""
        return ZScore(mean=self.mean.astype(np.float32), std=self.std.astype(np.float32))

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> ZScore:
        return cls(mean=np.asarray(d["mean"], dtype=np.float64), std=np.asarray(d["std"], dtype=np.float64))


def zero_channels(features: np.ndarray, unusable: np.ndarray) -> np.ndarray:
    """``features`` ``(..., channels * N_TD)`` with every feature of an unusable channel set to 0
    (after normalization: what channel dropout trains a model to read as "missing"); ``unusable``
    ``(..., channels)`` bool, per frame or for the one frame. The one rule of enhancement and
    streaming; returns a new array."""
    shaped = features.reshape(*features.shape[:-1], -1, N_TD).copy()
    shaped[unusable] = 0.0
    return shaped.reshape(features.shape)


def resolve_channels(spec: str | list[int] | tuple[int, ...], n_channels: int) -> list[int]:
    """Channel indices for a named set or explicit indices.

    Named sets ``all`` (35), ``cheek`` (28) and ``chin`` (7) refer to the 40-channel CSL-EMG_Array
    layout; on a recording with another channel count, ``all`` means every channel. Explicit
    indices may be a list or a string like ``"0,1,2"`` or ``"0-6,8-14"``.
    """
    if isinstance(spec, str):
        name = spec.strip().lower()
        if name in CHANNEL_SETS:
            if n_channels == ARRAY_CHANNELS:
                return list(CHANNEL_SETS[name])
            if name == "all":
                return list(range(n_channels))
            raise EmgseError(
                f"channel set {name!r} is defined for the {ARRAY_CHANNELS}-channel CSL-EMG_Array layout; "
                f"this EMG has {n_channels} channels (use 'all' or explicit indices)"
            )
        indices = []
        try:
            for part in name.split(","):
                lo, sep, hi = part.partition("-")
                indices.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
        except ValueError:
            raise EmgseError(
                f"unknown channel set {spec!r}: use one of {', '.join(CHANNEL_SETS)} or indices like 0,1,2 or 0-6"
            ) from None
    else:
        indices = [int(i) for i in spec]
    if not indices:
        raise EmgseError("empty channel selection")
    bad = [i for i in indices if not 0 <= i < n_channels]
    if bad:
        raise EmgseError(f"channel index {bad[0]} out of range for EMG with {n_channels} channels")
    if len(set(indices)) != len(indices):
        raise EmgseError(f"channel selection {spec!r} repeats a channel")
    return indices


def select_and_normalize(
    features: np.ndarray, channels: list[int], normalization: str, covered: int | None = None
) -> np.ndarray:
    """Keep ``channels`` of ``(frames, all_channels * 5)`` and apply per-utterance min-max if asked.

    ``normalization`` other than ``minmax`` (``zscore``, ``none``) leaves the values as they are:
    z-scoring uses training statistics and happens later. ``covered``: the frames the recorded EMG
    covers, which alone set the min-max scale (:func:`minmax_normalize`). Returns float32.
    """
    x = select_features(features, channels)
    if normalization == "minmax":
        x = minmax_normalize(x, covered)
    return x.astype(np.float32, copy=False)


def utterance_emg(emg: np.ndarray, emg_fs: float, frames: int, channels: list[int], emg_config: EmgConfig) -> np.ndarray:
    """Per-frame EMG model input of one utterance: ``(frames, len(channels) * 5)`` float32.

    TD features on the audio's frame grid, channel selection, then per-utterance min-max if the
    config says so, scaled on the frames the recorded EMG covers (z-score is applied later with
    training statistics). The one path of the feature store, the on-the-fly sampler, the enhancer and
    ``emgse features``; the streaming front-end computes the same features hop by hop (tested equal).
    """
    feats = emg_features(emg, emg_fs, emg_config, n_frames=frames)
    covered = emg_frame_count(emg.shape[0], emg_fs, emg_config)
    return select_and_normalize(feats, channels, emg_config.normalization, covered)


def select_features(features: np.ndarray, channels: list[int]) -> np.ndarray:
    """Keep the TD features of ``channels`` from ``(frames, all_channels * 5)``, in that order."""
    cols = (np.asarray(channels)[:, None] * N_TD + np.arange(N_TD)).reshape(-1)
    return features[:, cols]
