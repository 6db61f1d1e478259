"""The recording chain of a simulated session, and a mild synthetic room for the mixing step.

Pure functions of their arguments (randomness only from the generator passed in). A session's
:class:`RecordingChain` is drawn once per speaker by :func:`draw_chain` and applied to every
utterance by :func:`apply_chain`:

1. **microphone high-pass**: 2nd-order Butterworth at 50-150 Hz (causal, as in the hardware);
2. **spectral tilt**: a linear-phase FIR whose gain rises or falls linearly in dB per octave
   around 1 kHz (flat below 100 Hz and above 7 kHz): a brighter or duller microphone and
   placement;
3. **level**: the speech is set to an RMS of ``NOMINAL_RMS_DBFS + level_db`` (``level_db`` drawn in
   ±20 dB per session, ±2 dB per utterance). Headroom: the nominal is low enough (-40 dBFS RMS)
   that even at +20 dB a peak of speech with the highest crest factor measured on eSpeak voices
   (~21 dB) stays near full scale; an utterance whose peak would still exceed ``PEAK_LIMIT`` is
   scaled down to it (never clipped) and the cut is reported. At -20 dB (-60 dBFS RMS) 16-bit
   quantization noise is still about 40 dB below the speech.

:func:`room_impulse_response` and :func:`reverberate` are used by ``emgse mix --reverb-prob``:
the mixture is reverberant while its clean reference stays dry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, firwin2, sosfilt

NOMINAL_RMS_DBFS = -40.0
LEVEL_RANGE_DB = 20.0  # session level drawn in +-this around the nominal
UTTERANCE_JITTER_DB = 2.0
PEAK_LIMIT = 0.99
HIGHPASS_HZ = (50.0, 150.0)
TILT_DB_PER_OCTAVE = 2.0  # drawn in +-this
TILT_TAPS = 129
RT60_S = (0.2, 0.5)


@dataclass(frozen=True)
class RecordingChain:
    """One session's microphone and gain: high-pass corner, tilt around 1 kHz, level vs nominal."""

    highpass_hz: float
    tilt_db_per_octave: float
    level_db: float

    def as_dict(self) -> dict:
        return {k: round(v, 3) for k, v in asdict(self).items()} | {"nominal_rms_dbfs": NOMINAL_RMS_DBFS}


def draw_chain(rng: np.random.Generator) -> RecordingChain:
    """A session's chain: high-pass log-uniform in 50-150 Hz, tilt in +-2 dB/octave, level in +-20 dB."""
    lo, hi = np.log(HIGHPASS_HZ[0]), np.log(HIGHPASS_HZ[1])
    return RecordingChain(
        highpass_hz=float(np.exp(rng.uniform(lo, hi))),
        tilt_db_per_octave=float(rng.uniform(-TILT_DB_PER_OCTAVE, TILT_DB_PER_OCTAVE)),
        level_db=float(rng.uniform(-LEVEL_RANGE_DB, LEVEL_RANGE_DB)),
    )


def highpass(x: np.ndarray, cutoff_hz: float, fs: float) -> np.ndarray:
    """2nd-order Butterworth high-pass of ``x`` ``(..., samples)`` along its last axis (causal)."""
    return sosfilt(butter(2, cutoff_hz, "highpass", fs=fs, output="sos"), x, axis=-1)


def tilt(x: np.ndarray, db_per_octave: float, fs: float) -> np.ndarray:
    """``x`` ``(..., samples)`` through a zero-delay linear-phase FIR whose gain is
    ``db_per_octave * log2(f / 1 kHz)`` dB for f in 100 Hz..7 kHz (constant outside)."""
    x = np.asarray(x, dtype=np.float64)
    if db_per_octave == 0:
        return x
    freqs = np.concatenate([[0.0], np.geomspace(100.0, 7000.0, 24), [fs / 2]])
    octaves = np.log2(np.clip(freqs, 100.0, 7000.0) / 1000.0)
    taps = firwin2(TILT_TAPS, freqs, 10 ** (db_per_octave * octaves / 20), fs=fs)
    return fftconvolve(x, taps.reshape((1,) * (x.ndim - 1) + (-1,)), mode="same", axes=-1)


def apply_chain(
    speech: np.ndarray, floor: np.ndarray, chain: RecordingChain, fs: float, utterance_db: float = 0.0
) -> tuple[np.ndarray, dict]:
    """Record ``speech + floor`` (both ``(samples,)``; speech at any scale, zero where silent) through ``chain``.

    The level is set on the filtered speech: its RMS from its first to its last non-zero sample
    becomes ``NOMINAL_RMS_DBFS + level_db + utterance_db``; ``floor`` (room tone, scaled relative
    to speech of RMS 1) goes through the same filters and gain. ``highpass_hz <= 0`` skips the
    high-pass.

    Returns:
        ``(recorded, info)``: ``(samples,)`` float64 with ``|recorded| <= PEAK_LIMIT``, and
        ``{"rms_dbfs", "limited_db"}`` (the speech level reached and how far the peak guard lowered it).
    """
    nonzero = np.flatnonzero(speech)
    if nonzero.size == 0:
        raise ValueError("speech is silent")
    both = np.stack([np.asarray(speech, dtype=np.float64), np.asarray(floor, dtype=np.float64)])
    if chain.highpass_hz > 0:
        both = highpass(both, chain.highpass_hz, fs)
    shaped, room = tilt(both, chain.tilt_db_per_octave, fs)
    rms = float(np.sqrt(np.mean(shaped[nonzero[0] : nonzero[-1] + 1] ** 2)))
    target_db = NOMINAL_RMS_DBFS + chain.level_db + utterance_db
    gain = 10 ** (target_db / 20) / rms
    out = gain * (shaped + rms * room)
    peak = float(np.max(np.abs(out)))
    limited_db = 0.0
    if peak > PEAK_LIMIT:
        limited_db = 20 * np.log10(peak / PEAK_LIMIT)
        out *= PEAK_LIMIT / peak
    return out, {"rms_dbfs": round(target_db - limited_db, 3), "limited_db": round(float(limited_db), 3)}


def room_impulse_response(rt60_s: float, fs: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room: unit direct path at sample 0, then exponentially decaying noise, ``(samples,)``.

    The tail starts after 2.5 ms, decays by 60 dB in ``rt60_s`` and lasts that long; its energy is
    half the direct path's at RT60 0.35 s and grows with RT60 (direct-to-reverberant ratio +5 dB at
    0.2 s, +1.5 dB at 0.5 s: a mild, small room with the talker near the microphone).
    """
    n = int(round(rt60_s * fs))
    t = np.arange(n) / fs
    tail = rng.standard_normal(n) * 10 ** (-3 * t / rt60_s)
    tail[: int(0.0025 * fs)] = 0.0
    tail *= np.sqrt(0.5 * rt60_s / 0.35) / max(float(np.sqrt(np.sum(tail**2))), 1e-12)
    tail[0] = 1.0
    return tail


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``x`` ``(samples,)`` through ``rir``, cut to the length of ``x`` (aligned with its direct path)."""
    return fftconvolve(np.asarray(x, dtype=np.float64), rir)[: len(x)]
