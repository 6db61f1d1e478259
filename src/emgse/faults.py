"""Electrode faults for robustness studies: what happens to enhancement when EMG fails.

Faults act on raw EMG ``(samples, channels)`` before the front-end, on a random share of the
channels a model uses:

- ``absent``: no EMG at all (the model gets zero features; see ``Enhancer.enhance``);
- ``flat``: channels fall off and read a constant (here 0) — their TD features are 0;
- ``noisy``: channels lose skin contact and pick up broadband noise (white, 10x the channel's RMS).

:func:`unusable_channels` is the other side: it finds flat and abnormally loud channels in a
recording so that the enhancer can treat them as missing (zero features, what EMG channel dropout
trains for) instead of feeding a model values it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emgse.errors import EmgseError

KINDS = ("none", "absent", "flat", "noisy")


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
        if self.kind in ("none", "absent"):
            return self.kind
        return f"{self.kind}{round(100 * self.fraction)}"


def apply_fault(emg: np.ndarray, channels: list[int], fault: EmgFault, key: str = "") -> np.ndarray | None:
    """Return faulty EMG ``(samples, channels)`` (a copy), or None for ``absent``.

    The affected channels are drawn from ``channels`` (those the model uses), reproducibly from
    ``(fault.seed, key)`` — pass the utterance id so every mixture of an utterance sees the same
    broken electrodes.
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
    else:
        rms = np.sqrt(np.mean(out[:, hit].astype(np.float64) ** 2, axis=0)) + 1e-6
        out[:, hit] = (10.0 * rms * rng.standard_normal((out.shape[0], len(hit)))).astype(np.float32)
    return out


FLAT_RATIO = 0.05  # a channel whose spread is below 5% of the median channel's reads as flat
LOUD_RATIO = 5.0  # ... above 5x the median channel's as broken (clean simulated EMG: 0.42x..2.0x)


def unusable_channels(emg: np.ndarray, flat_ratio: float = FLAT_RATIO, loud_ratio: float = LOUD_RATIO) -> np.ndarray:
    """Flat or abnormally loud channels of one recording ``(samples, channels)`` -> ``(channels,)`` bool.

    A channel's spread is its standard deviation over the recording (DC offsets do not count);
    it is compared with the median spread of all given channels, so pass the channels a model
    uses. Over 200 clean simulated utterances the spreads lay within 0.42x..2.0x the median.
    """
    spread = np.std(np.asarray(emg, dtype=np.float64), axis=0)
    ref = float(np.median(spread))
    if not np.isfinite(ref) or ref <= 0:
        return np.ones(spread.shape, dtype=bool) if ref <= 0 else ~np.isfinite(spread)
    return ~np.isfinite(spread) | (spread < flat_ratio * ref) | (spread > loud_ratio * ref)
