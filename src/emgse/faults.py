"""Electrode faults for robustness studies: what happens to enhancement when EMG fails.

Faults act on raw EMG ``(samples, channels)`` before the front-end, on a random share of the
channels a model uses:

- ``absent``: no EMG at all (the model gets zero features; see ``Enhancer.enhance``);
- ``flat``: channels fall off and read a constant (here 0) — their TD features are 0;
- ``noisy``: channels lose skin contact and pick up broadband noise (white, 10x the channel's RMS).

Faults the channel check cannot see (every one stays inside its 5% .. 5x spread band, tested):

- ``noisier``: channels 2-4x noisier (white noise added until the spread is 2-4x, per channel);
- ``intermittent``: intermittent contact, dropouts of 50-500 ms (the channel reads 0) separated by
  about a second of contact;
- ``drift``: slow baseline drift (< 0.5 Hz) with twice the channel's spread;
- ``mains``: one electrode picks up 50 Hz mains with odd harmonics, 3x the median channel's spread,
  seen with opposite signs by the two bipolar channels it belongs to;
- ``shift``: the cheek array re-seated one electrode row off: every channel of cheek row ``r``
  reads what row ``r + 1`` read (the last row, over skin nobody recorded, repeats its own).

``mains`` and ``shift`` need the 40-channel CSL-EMG_Array layout.

:class:`ChannelCheck` is the other side: a causal check that finds flat and abnormally loud
channels hop by hop, so that the enhancer and the streamer (the same code, the same numbers) can
treat them as missing (zero features, what EMG channel dropout trains for) instead of feeding a
model values it never saw. It applies only to checkpoints trained for missing channels
(:func:`check_applies`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from emgse.errors import EmgseError
from emgse.features.emg import ARRAY_CHANNELS
from emgse.protocol import PREPARED_EMG_FS

KINDS = ("none", "absent", "flat", "noisy", "noisier", "intermittent", "drift", "mains", "shift")
WHOLE_ARRAY = ("none", "absent", "mains", "shift")  # kinds that ignore ``fraction``


@dataclass(frozen=True)
class EmgFault:
    kind: str = "none"
    fraction: float = 0.3  # share of the used channels affected (flat, noisy)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise EmgseError(f"unknown EMG fault {self.kind!r} (known: {', '.join(KINDS)})")
        if not 0 <= self.fraction <= 1:
            raise EmgseError(f"fault fraction {self.fraction} must be in [0, 1]")

    @property
    def label(self) -> str:
        if self.kind in WHOLE_ARRAY:
            return self.kind
        return f"{self.kind}{round(100 * self.fraction)}"


def apply_fault(emg: np.ndarray, channels: list[int], fault: EmgFault, key: str = "", fs: float = PREPARED_EMG_FS) -> np.ndarray | None:
    """Return faulty EMG ``(samples, channels)`` (a copy), or None for ``absent``.

    The affected channels are drawn from ``channels`` (those the model uses), reproducibly from
    ``(fault.seed, key)`` — pass the utterance id so every mixture of an utterance sees the same
    broken electrodes. ``fs``: the EMG rate (Hz), for the faults that have a time scale.
    """
    if fault.kind == "none":
        return emg
    if fault.kind == "absent":
        return None
    import zlib

    rng = np.random.default_rng([fault.seed, zlib.crc32(key.encode())])
    count = int(round(fault.fraction * len(channels)))
    hit = rng.choice(np.asarray(channels), size=count, replace=False)
    out = np.array(emg, dtype=np.float32, copy=True)
    if fault.kind == "flat":
        out[:, hit] = 0.0
    elif fault.kind == "noisy":
        rms = np.sqrt(np.mean(out[:, hit].astype(np.float64) ** 2, axis=0)) + 1e-6
        out[:, hit] = (10.0 * rms * rng.standard_normal((out.shape[0], len(hit)))).astype(np.float32)
    elif fault.kind == "noisier":
        out[:, hit] = noisier_channels(out[:, hit], rng)
    elif fault.kind == "intermittent":
        out[:, hit] = intermittent_contact(out[:, hit], rng, fs)
    elif fault.kind == "drift":
        out[:, hit] = baseline_drift(out[:, hit], rng, fs)
    elif fault.kind == "mains":
        out = mains_pickup(out, channels, rng, fs)
    else:
        out = shift_array(out)
    return out


# Each fault below returns a float32 copy; ``x`` is raw EMG ``(samples, channels)``.


def noisier_channels(x: np.ndarray, rng: np.random.Generator, factor: tuple[float, float] = (2.0, 4.0)) -> np.ndarray:
    """Add white noise so each channel's spread grows by a factor drawn in ``factor`` (2-4x)."""
    x = np.asarray(x, dtype=np.float64)
    f = rng.uniform(*factor, x.shape[1])
    noise_std = np.sqrt(f * f - 1.0) * x.std(axis=0)
    return (x + noise_std * rng.standard_normal(x.shape)).astype(np.float32)


def intermittent_contact(
    x: np.ndarray, rng: np.random.Generator, fs: float, dropout_s: tuple[float, float] = (0.05, 0.5), contact_s: float = 1.0
) -> np.ndarray:
    """Per channel, contact lost (reads 0) for dropouts of ``dropout_s`` (50-500 ms), separated by
    exponentially distributed stretches of contact of mean ``contact_s``."""
    x = np.array(x, dtype=np.float32, copy=True)
    n = x.shape[0]
    for c in range(x.shape[1]):  # a few dropouts per channel, not per sample
        t = rng.exponential(contact_s)
        while t * fs < n:
            d = rng.uniform(*dropout_s)
            x[int(t * fs) : int((t + d) * fs), c] = 0.0
            t += d + rng.exponential(contact_s)
    return x


def baseline_drift(x: np.ndarray, rng: np.random.Generator, fs: float, ratio: float = 2.0, max_hz: float = 0.5) -> np.ndarray:
    """Add a slow wander (three sinusoids under ``max_hz``, random phases) with ``ratio`` times each
    channel's spread as its RMS."""
    x = np.asarray(x, dtype=np.float64)
    t = np.arange(x.shape[0])[:, None, None] / fs  # (samples, 1, 1)
    hz = rng.uniform(0.05, max_hz, (1, x.shape[1], 3))
    phase = rng.uniform(0, 2 * np.pi, (1, x.shape[1], 3))
    wander = np.sin(2 * np.pi * hz * t + phase).sum(axis=2)  # (samples, channels)
    wander *= ratio * x.std(axis=0) / np.maximum(wander.std(axis=0), 1e-12)
    return (x + wander).astype(np.float32)


MAINS_HARMONICS = ((1, 1.0), (3, 0.3), (5, 0.15))  # 50 Hz and odd harmonics: (multiple, amplitude)


def mains_pickup(
    emg: np.ndarray, channels: list[int], rng: np.random.Generator, fs: float, hz: float = 50.0, ratio: float = 3.0
) -> np.ndarray:
    """One electrode of the 40-channel array picks up mains (``hz`` and odd harmonics) with ``ratio``
    times the median spread of ``channels`` as its RMS. Bipolar channel ``c`` is electrode ``c``
    minus electrode ``c + 1`` (emgse.corpora.simulated.emg.bipolar_matrix), so the hum enters the
    (up to) two channels of that electrode with opposite signs. The electrode is drawn among those
    feeding ``channels``."""
    from emgse.corpora.simulated.emg import bipolar_matrix

    _require_array(emg, "mains pickup on one electrode")
    gains = bipolar_matrix()  # (electrodes, channels)
    candidates = np.flatnonzero(np.abs(gains[:, channels]).sum(axis=1) > 0)
    electrode = int(rng.choice(candidates))
    t = np.arange(emg.shape[0]) / fs
    phase = rng.uniform(0, 2 * np.pi)
    hum = sum(a * np.sin(2 * np.pi * k * hz * t + k * phase) for k, a in MAINS_HARMONICS)
    level = ratio * float(np.median(np.asarray(emg, dtype=np.float64)[:, channels].std(axis=0)))
    hum *= level / hum.std()
    return (emg + hum[:, None] * gains[electrode]).astype(np.float32)


CHEEK_ROWS, ROW_LENGTH = 4, 8  # channel 8 r + k: cheek row r (electrodes k and k + 1)


def shift_array(emg: np.ndarray, rows: int = 1) -> np.ndarray:
    """The cheek array re-seated ``rows`` electrode rows off: channel ``8 r + k`` reads what
    ``8 (r + rows) + k`` read; rows moved onto skin nobody recorded repeat the nearest recorded
    row. The chin strip (channels 32-39) stays."""
    _require_array(emg, "an electrode-row shift")
    out = np.array(emg, dtype=np.float32, copy=True)
    source = np.clip(np.arange(CHEEK_ROWS) + rows, 0, CHEEK_ROWS - 1)
    cheek = np.asarray(emg)[:, : CHEEK_ROWS * ROW_LENGTH].reshape(-1, CHEEK_ROWS, ROW_LENGTH)
    out[:, : CHEEK_ROWS * ROW_LENGTH] = cheek[:, source].reshape(-1, CHEEK_ROWS * ROW_LENGTH)
    return out


def _require_array(emg: np.ndarray, what: str) -> None:
    if emg.shape[1] != ARRAY_CHANNELS:
        raise EmgseError(f"{what} needs the 40-channel CSL-EMG_Array layout; this EMG has {emg.shape[1]} channels")


FLAT_RATIO = 0.05  # a channel whose spread is below 5% of the median channel's reads as flat
LOUD_RATIO = 5.0  # ... above 5x the median channel's as broken
WARMUP_S = 0.5  # no channel is judged before this much EMG has been seen
SPREAD_TAU_S = 0.5  # time constant of the running spread


class ChannelCheck:
    """The causal channel check: flat or abnormally loud EMG channels, decided hop by hop.

    Per channel, a running spread: exponentially weighted (time constant ``tau_s``, normalized
    so that it is unbiased from the first hop) mean and mean square of the raw samples, giving
    ``sqrt(E[x^2] - E[x]^2)`` (DC offsets do not count). After each hop, a channel is unusable
    if its spread is below ``flat_ratio`` or above ``loud_ratio`` times the median spread of all
    given channels (pass the channels a model uses), or not finite; before ``warmup_s`` of EMG
    has been seen no channel is. Decisions may change over time (an electrode that falls off
    mid-recording is dropped once its spread has decayed).

    One object serves both paths with the same numbers: :meth:`update` takes any whole number
    of hops (the enhancer passes a recording at once, vectorized; the streamer one hop at a time).

    Args:
        fs: EMG rate (Hz); hop: samples per hop; n_channels: channels given to :meth:`update`.
    """

    def __init__(self, fs: float, hop: int, n_channels: int, *, flat_ratio: float = FLAT_RATIO,
                 loud_ratio: float = LOUD_RATIO, warmup_s: float = WARMUP_S, tau_s: float = SPREAD_TAU_S):
        self.hop, self.n_channels = int(hop), int(n_channels)
        self.flat_ratio, self.loud_ratio = flat_ratio, loud_ratio
        self.warmup_hops = int(np.ceil(warmup_s * fs / hop - 1e-9))
        decay = float(np.exp(-hop / (tau_s * fs)))
        self.b, self.a = np.array([1.0 - decay]), np.array([1.0, -decay])
        self.reset()

    def reset(self) -> None:
        self.zi = np.zeros((1, 3, self.n_channels))  # running (weight, mean, mean square) per channel
        self.hops = 0

    def update(self, emg: np.ndarray) -> np.ndarray:
        """Raw EMG ``(hops * hop, channels)`` -> ``(hops, channels)`` bool: unusable after each hop."""
        x = np.asarray(emg, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_channels or x.shape[0] % self.hop:
            raise EmgseError(f"channel check: EMG must be (whole hops of {self.hop}, {self.n_channels}), got {x.shape}")
        hops = x.shape[0] // self.hop
        blocks = x.reshape(hops, self.hop, self.n_channels)
        stats = np.stack([np.ones((hops, self.n_channels)), blocks.mean(axis=1), (blocks * blocks).mean(axis=1)], axis=1)
        run, self.zi = lfilter(self.b, self.a, stats, axis=0, zi=self.zi)  # (hops, 3, channels)
        mean, square = run[:, 1] / run[:, 0], run[:, 2] / run[:, 0]
        spread = np.sqrt(np.maximum(square - mean * mean, 0.0))
        bad = unusable_spreads(spread, self.flat_ratio, self.loud_ratio)
        bad[np.arange(self.hops, self.hops + hops) < self.warmup_hops] = False
        self.hops += hops
        return bad


def unusable_spreads(spread: np.ndarray, flat_ratio: float = FLAT_RATIO, loud_ratio: float = LOUD_RATIO) -> np.ndarray:
    """``(..., channels)`` spreads -> bool: below ``flat_ratio`` or above ``loud_ratio`` times the
    median channel's, or not finite; every channel when the median is zero (all flat)."""
    with np.errstate(invalid="ignore"):
        ref = np.median(spread, axis=-1, keepdims=True)
        return ~np.isfinite(spread) | (spread < flat_ratio * ref) | (spread > loud_ratio * ref) | (ref <= 0)


def unusable_channels(emg: np.ndarray, fs: float = PREPARED_EMG_FS, hop_s: float = 0.008, **kwargs: float) -> np.ndarray:
    """Channels of one recording ``(samples, channels)`` that :class:`ChannelCheck` drops at any
    time -> ``(channels,)`` bool (a partial last hop is ignored)."""
    hop = int(round(hop_s * fs))
    emg = np.asarray(emg)
    whole = emg.shape[0] // hop * hop
    check = ChannelCheck(fs, hop, emg.shape[1], **kwargs)
    return check.update(emg[:whole]).any(axis=0)


def check_applies(model: object, normalization: str) -> bool:
    """Whether the channel check suits a checkpoint: one trained for missing channels (EMG channel
    dropout) on z-scored EMG, where a dropped channel's zero features are the training mean. The
    paper's min-max EMGSE never saw a zeroed channel, and min-max removes a channel's gain anyway."""
    return normalization == "zscore" and float(getattr(model, "channel_dropout", 0.0) or 0.0) > 0
