"""From phonemes to muscle activations: target table, coarticulation, EMG lead, variability.

Every eSpeak English phoneme maps to target activations (0 = rest, 1 = strong speech effort) of
eleven facial and submental muscles. Targets are built from a few articulatory gestures, so the
table reads as phonetics rather than as numbers:

========  ==============================  =====================================================
gesture   muscles                          why
========  ==============================  =====================================================
CLOSE     orbicularis oris sup./inf.,     bilabial closure: the lip sphincter presses the lips
          mentalis                        together; mentalis raises the lower lip and chin.
LABIODENT orb. oris inf., mentalis, LLS   the lower lip is raised against the upper teeth,
                                          the upper lip lifted slightly.
ROUND     orb. oris sup./inf., mentalis   rounding/protrusion (u, w, o, and English r, sh).
SPREAD    zygomaticus major, risorius,    lip-corner retraction for spread vowels (i, I, e).
          levator labii superioris
OPEN      anterior digastric, depressor   jaw opening (digastric pulls the mandible down),
          labii inf., depressor anguli    lower lip and lip corners pulled down (a, A:).
MID       anterior digastric, DLI         half-open jaw for mid vowels (e, V, O:).
JAWUP     masseter                        jaw raising/clenching for closures and sibilants.
TIP       mylohyoid                       the floor of the mouth stiffens and lifts the tongue
                                          for alveolar and dental contacts (t, d, n, s, l).
BODY      mylohyoid, anterior digastric   tongue body raised to the velum (k, g, N) or to the
                                          palate (i, j); genioglossus is folded into mylohyoid:
                                          both lie under the chin electrodes.
NEUTRAL   anterior digastric, mylohyoid   schwa-like: slightly open jaw, tongue at rest.
========  ==============================  =====================================================

Diphthongs are split in equal parts that take each element's targets (``aI`` = ``a`` then ``i``).
Pauses (``_``, ``_:``) and the glottal stop have no target: only tonic activity remains.

Dynamics: the target sequence (piecewise constant, with jittered boundaries and per-instance
scaling) goes through a critically damped second-order system, ``H(s) = 1 / (tau s + 1)^2``
(two equal first-order lags; tau ~ 15 ms, so a step is 90% complete after ~60 ms): neighbouring
phonemes blend (coarticulation) and short phonemes undershoot their targets. Each phoneme
instance scales its targets at random (effort varies) and shifts its boundaries by ~10 ms, and
brief contractions of single muscles unrelated to speech (about one every two seconds) are mixed
in, so EMG is informative about articulation without being a lookup of the phoneme. The muscle drive
precedes the acoustic event by the electromechanical delay plus the time the articulator needs to
move (default 60 ms, jittered per speaker); the smoothed activation is advanced by that lead plus
the system's own mean delay ``2 tau`` so that the activity's centre of mass leads the sound by
``lead``. A tonic baseline (3-8% of maximum, per muscle and speaker) is always present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

MUSCLES = (
    "orbicularis_oris_superior",  # OOS
    "orbicularis_oris_inferior",  # OOI
    "zygomaticus_major",  # ZYG
    "risorius",  # RIS
    "levator_labii_superioris",  # LLS
    "depressor_anguli_oris",  # DAO
    "depressor_labii_inferioris",  # DLI
    "mentalis",  # MEN
    "masseter",  # MAS
    "anterior_digastric",  # ABD
    "mylohyoid",  # MYL (with genioglossus: tongue raising)
)
N_MUSCLES = len(MUSCLES)
OOS, OOI, ZYG, RIS, LLS, DAO, DLI, MEN, MAS, ABD, MYL = range(N_MUSCLES)


def _g(**weights: float) -> np.ndarray:
    v = np.zeros(N_MUSCLES)
    for name, w in weights.items():
        v[globals()[name]] = w
    return v


CLOSE = _g(OOS=0.75, OOI=0.8, MEN=0.3)
LABIODENT = _g(OOI=0.55, MEN=0.35, LLS=0.2)
ROUND = _g(OOS=0.6, OOI=0.6, MEN=0.15)
SPREAD = _g(ZYG=0.5, RIS=0.65, LLS=0.15)
OPEN = _g(ABD=0.75, DLI=0.45, DAO=0.2)
MID = _g(ABD=0.4, DLI=0.2)
JAWUP = _g(MAS=0.45)
TIP = _g(MYL=0.55)
BODY = _g(MYL=0.6, ABD=0.1)
NEUTRAL = _g(ABD=0.25, MYL=0.1)
REST = np.zeros(N_MUSCLES)

# Monophthong targets (stress marks stripped). Keys are eSpeak's English phoneme mnemonics.
_BASE: dict[str, np.ndarray] = {
    # bilabials
    "p": 1.1 * CLOSE + 0.5 * JAWUP, "b": CLOSE + 0.5 * JAWUP, "m": 0.85 * CLOSE + 0.4 * JAWUP,
    # labiodentals
    "f": LABIODENT + 0.5 * JAWUP, "v": 0.9 * LABIODENT + 0.5 * JAWUP,
    # dentals: tongue tip between the teeth, jaw a little open
    "T": 0.8 * TIP + 0.3 * MID, "D": 0.7 * TIP + 0.3 * MID,
    # alveolars
    "t": TIP + 0.5 * JAWUP, "d": 0.9 * TIP + 0.5 * JAWUP, "t#": 0.8 * TIP + 0.3 * JAWUP,
    "n": 0.9 * TIP + 0.4 * JAWUP, "n-": 0.9 * TIP + 0.3 * JAWUP, "l": 0.8 * TIP + 0.3 * MID,
    "s": TIP + 0.8 * JAWUP, "z": 0.9 * TIP + 0.8 * JAWUP,
    # postalveolars: tongue raised, lips slightly rounded and protruded
    "S": 0.9 * TIP + 0.55 * ROUND + 0.6 * JAWUP, "Z": 0.9 * TIP + 0.5 * ROUND + 0.6 * JAWUP,
    "tS": TIP + 0.55 * ROUND + 0.6 * JAWUP, "dZ": 0.9 * TIP + 0.5 * ROUND + 0.6 * JAWUP,
    # velars and palatal
    "k": BODY + 0.3 * MID, "g": 0.9 * BODY + 0.3 * MID, "N": 0.9 * BODY + 0.2 * MID, "x": 0.8 * BODY + 0.3 * MID,
    "j": BODY + 0.4 * SPREAD,
    # approximants
    "r": 0.45 * ROUND + 0.5 * TIP, "r-": 0.45 * ROUND + 0.5 * TIP, "w": 1.1 * ROUND + 0.3 * BODY,
    "w#": ROUND + 0.3 * BODY, "h": 0.8 * NEUTRAL, "?": REST,
    # spread (front, close) vowels
    "i": SPREAD + 0.8 * BODY, "i:": 1.1 * SPREAD + 0.8 * BODY, "I": 0.9 * SPREAD + 0.6 * BODY,
    "I2": 0.8 * SPREAD + 0.5 * BODY, "I#": 0.7 * SPREAD + 0.5 * BODY,
    "e": 0.6 * SPREAD + 0.9 * MID + 0.3 * BODY, "E": 0.5 * SPREAD + 1.0 * MID + 0.2 * BODY,
    # open vowels
    "a": OPEN + 0.15 * SPREAD, "aa": 1.1 * OPEN, "a#": 0.9 * OPEN, "A": OPEN, "A:": 1.1 * OPEN,
    "A@": OPEN, "A#": OPEN, "0": 0.85 * OPEN + 0.35 * ROUND, "0#": 0.85 * OPEN + 0.35 * ROUND,
    "V": 1.2 * MID,
    # rounded back vowels
    "O": MID + 0.7 * ROUND, "O:": MID + 0.75 * ROUND, "O2": MID + 0.7 * ROUND, "O@": MID + 0.6 * ROUND,
    "o@": MID + 0.6 * ROUND, "o": 0.8 * MID + 0.8 * ROUND,
    "U": ROUND + 0.4 * BODY, "u": 1.1 * ROUND + 0.5 * BODY, "u:": 1.1 * ROUND + 0.5 * BODY,
    # central vowels
    "@": NEUTRAL, "@2": NEUTRAL, "@5": NEUTRAL, "@-": 0.8 * NEUTRAL, "3": NEUTRAL + 0.2 * ROUND,
    "3:": NEUTRAL + 0.3 * ROUND, "VR": MID + 0.2 * ROUND, "IR": 0.5 * SPREAD + 0.3 * ROUND,
    "@L": 0.5 * NEUTRAL + 0.6 * TIP, ";": 0.8 * NEUTRAL,
    # pauses
    "_": REST, "_:": REST, "_!": REST, "_^_": REST, "#": REST,
}  # fmt: skip

# Diphthongs and triphthongs: their elements in order.
_SEQUENCES: dict[str, tuple[str, ...]] = {
    "eI": ("e", "i"), "aI": ("a", "i"), "aI2": ("a", "i"), "aI3": ("a", "i"), "OI": ("O:", "i"),
    "aU": ("a", "U"), "oU": ("@", "U"), "oU#": ("@", "U"), "e@": ("e", "@"), "i@": ("i", "@"),
    "i@3": ("i", "@"), "U@": ("U", "@"), "aI@": ("a", "i", "@"), "aI@3": ("a", "i", "@"),
    "aU@": ("a", "U", "@"), "eI#": ("e", "i"), "e#": ("e",), "Oi": ("O:", "i"),
}  # fmt: skip

# Broad articulatory classes scored by the frame classifier of the check (phonemes not listed,
# e.g. diphthongs, labiodentals and rounded vowels, are left out of scoring).
CLASSES = ("silence", "bilabial", "open_vowel", "spread_vowel", "tongue_consonant")
_CLASS_OF: dict[str, str] = {}
for _s in ("_", "_:", "_!"):
    _CLASS_OF[_s] = "silence"
for _s in ("p", "b", "m"):
    _CLASS_OF[_s] = "bilabial"
for _s in ("a", "aa", "a#", "A", "A:", "A@"):
    _CLASS_OF[_s] = "open_vowel"
for _s in ("i", "i:", "I", "I2", "I#", "e", "E"):
    _CLASS_OF[_s] = "spread_vowel"
for _s in ("t", "d", "t#", "n", "s", "z", "l", "S", "Z", "tS", "dZ", "k", "g", "N", "j", "T", "D"):
    _CLASS_OF[_s] = "tongue_consonant"

_STRESS = re.compile(r"^['\",%=]+")


def base_symbol(symbol: str) -> str:
    """The mnemonic without eSpeak's stress marks (``'aU`` -> ``aU``)."""
    return _STRESS.sub("", symbol)


def known_phoneme(symbol: str) -> bool:
    """Whether the table has an explicit entry for ``symbol`` (stress marks ignored)."""
    b = base_symbol(symbol)
    return b in _BASE or b in _SEQUENCES


def phoneme_targets(symbol: str) -> list[np.ndarray]:
    """Target vectors ``(11,)`` of the successive parts of a phoneme (one for monophthongs).

    An unknown mnemonic (another dialect's phoneme) falls back to its longest known prefix, then to
    the schwa-like neutral target, so no phoneme is ever silent by accident.
    """
    b = base_symbol(symbol)
    if b in _SEQUENCES:
        return [_BASE[p] for p in _SEQUENCES[b]]
    if b in _BASE:
        return [_BASE[b]]
    for k in range(len(b) - 1, 0, -1):
        if b[:k] in _SEQUENCES:
            return [_BASE[p] for p in _SEQUENCES[b[:k]]]
        if b[:k] in _BASE:
            return [_BASE[b[:k]]]
    return [NEUTRAL]


def phoneme_class(symbol: str) -> str | None:
    """Broad class of a phoneme for the check's classifier, or None if it is not scored."""
    return _CLASS_OF.get(base_symbol(symbol))


@dataclass(frozen=True)
class ArticulationParams:
    """Per-speaker articulation settings (drawn by :func:`draw_articulation`)."""

    lead_s: float  # muscle activity leads the acoustic phoneme by this much
    tau_s: float  # time constant of the critically damped articulator response
    muscle_gain: tuple[float, ...]  # (11,) speaker's habitual effort per muscle
    tonic: tuple[float, ...]  # (11,) baseline activation per muscle
    target_jitter: float  # log-normal sigma of per-instance target scaling
    boundary_jitter_s: float  # std of per-instance phoneme boundary shifts
    extraneous_rate_hz: float  # non-speech bursts (smile, swallow, lip press) per second


def draw_articulation(rng: np.random.Generator, lead_ms: float = 60.0, lead_jitter_ms: float = 12.0) -> ArticulationParams:
    """Draw one speaker's articulation parameters."""
    return ArticulationParams(
        lead_s=float(np.clip(lead_ms + lead_jitter_ms * rng.standard_normal(), 20.0, 120.0)) / 1000,
        tau_s=float(rng.uniform(0.012, 0.02)),
        muscle_gain=tuple(float(g) for g in np.exp(0.25 * rng.standard_normal(N_MUSCLES))),
        tonic=tuple(float(t) for t in rng.uniform(0.03, 0.08, N_MUSCLES)),
        target_jitter=0.35,
        boundary_jitter_s=0.01,
        extraneous_rate_hz=0.5,
    )


def activations(
    phones: list[tuple[str, float, float]], t0: float, n: int, fs: float, params: ArticulationParams, rng: np.random.Generator
) -> np.ndarray:
    """Muscle activations of one utterance on the EMG time grid.

    Args:
        phones: ``(symbol, start_s, end_s)`` on the acoustic time line.
        t0: time (s, acoustic time line) of the first output sample.
        n: number of output samples at ``fs``.

    Returns:
        ``(n, 11)`` activations in [0, ~1.5], tonic baseline included.
    """
    # Sample k of the output shows the muscle drive at acoustic time t0 + k/fs, which serves the
    # phoneme sounding `shift` later: build targets on the grid shifted by `shift`, then smooth.
    shift = params.lead_s + 2 * params.tau_s
    targets = np.zeros((n, N_MUSCLES))
    jitter = params.boundary_jitter_s
    for sym, start, end in phones:
        parts = phoneme_targets(sym)
        # per-instance variability: one overall effort factor and one factor per muscle
        scale = np.exp(params.target_jitter * (0.5 * rng.standard_normal() + rng.standard_normal(N_MUSCLES)))
        a = start + jitter * rng.standard_normal()
        b = max(end + jitter * rng.standard_normal(), a + 0.005)
        edges = np.linspace(a, b, len(parts) + 1)
        for k, target in enumerate(parts):
            i0 = int(np.clip(round((edges[k] - shift - t0) * fs), 0, n))
            i1 = int(np.clip(round((edges[k + 1] - shift - t0) * fs), 0, n))
            targets[i0:i1] = target * scale
    # Faces do more than speak: brief contractions of single muscles unrelated to the phonemes.
    for _ in range(int(rng.poisson(params.extraneous_rate_hz * n / fs))):
        i0 = int(rng.integers(n))
        i1 = min(n, i0 + int(rng.uniform(0.15, 0.6) * fs))
        targets[i0:i1, int(rng.integers(N_MUSCLES))] += rng.uniform(0.1, 0.5)
    targets *= np.asarray(params.muscle_gain)
    return critically_damped(targets, params.tau_s, fs) + np.asarray(params.tonic)


def critically_damped(x: np.ndarray, tau_s: float, fs: float) -> np.ndarray:
    """Filter ``x`` (samples along axis 0) with ``1 / (tau s + 1)^2``: two equal one-pole lags."""
    alpha = 1.0 - np.exp(-1.0 / (tau_s * fs))
    b, a = [alpha], [1.0, alpha - 1.0]
    zi = np.zeros((1,) + x.shape[1:])
    y, _ = lfilter(b, a, x, axis=0, zi=zi)
    y, _ = lfilter(b, a, y, axis=0, zi=zi)
    return y
