"""Surface EMG from muscle activations: sources, volume conduction, electrode array, artifacts.

Geometry (mm, on the flattened left half of the face; x lateral from the mouth corner toward the
ear, y up; the submental area is unfolded below the jaw line at y < -45):

* cheek array: 4 rows x 8 columns, 10 mm pitch, x = 5..75, y = +15..-15. Channels 0-31 are the
  bipolar differences of horizontally neighbouring electrodes of each row: channel ``8 r + k`` =
  ``e[r, k] - e[r, k+1]`` for ``k < 7``. The 8th channel of a row has no partner electrode; like
  the unpaired end of the real array's bipolar chain it carries only amplifier noise and a little
  mains, no muscle signal (channels 7, 15, 23, 31).
* chin strip: 8 electrodes along x = -35..35 at y = -60 (under the chin); channels 32-38 are
  neighbour differences, channel 39 is unpaired.

Each muscle is a line segment at a depth below the skin, carrying a few motor-unit territories
(sub-sources). A sub-source's potential at an electrode falls with distance as
``(r^2 + depth^2)^(-decay/2)``; bipolar differencing then keeps mostly what changes between
neighbouring electrodes, so a channel sees the muscles close to it.

Source signal: white noise through the Shwedyk et al. (1977) surface-EMG spectral shape
``P(f) ~ f^2 fh^4 / ((f^2 + fl^2) (f^2 + fh^2)^2)`` (energy mostly 20-450 Hz, median frequency
~90-110 Hz), amplitude-modulated by the square root of the activation (EMG power grows roughly in
proportion to the number of active motor units). Artifacts: 50 Hz mains and odd harmonics with
slowly drifting amplitude, per-electrode noise at a set EMG SNR, slow baseline wander and DC
offsets, occasional motion spikes shared by neighbouring electrodes; per-session gain, electrode
contact gains and a small shift and rotation of the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import bilinear, butter, lfilter, sosfilt

from emgse.corpora.simulated.articulation import MUSCLES
from emgse.protocol import CSL_EMG_FS

SIMULATED_EMG_FS = float(CSL_EMG_FS)  # the simulated recording rate: CSL-EMG_Array's
N_CHANNELS = 40
DEAD_CHANNELS = (7, 15, 23, 31, 39)
LIVE_CHANNELS = tuple(c for c in range(N_CHANNELS) if c not in DEAD_CHANNELS)

# Muscle geometry: (x0, y0), (x1, y1), depth (mm), relative strength of its surface signal.
MUSCLE_GEOMETRY: dict[str, tuple[tuple[float, float], tuple[float, float], float, float]] = {
    "orbicularis_oris_superior": ((-25.0, 8.0), (3.0, 4.0), 4.0, 1.0),
    "orbicularis_oris_inferior": ((-25.0, -8.0), (3.0, -4.0), 4.0, 1.0),
    "zygomaticus_major": ((6.0, 4.0), (45.0, 38.0), 6.0, 1.0),
    "risorius": ((6.0, 0.0), (60.0, -4.0), 5.0, 0.8),
    "levator_labii_superioris": ((2.0, 12.0), (8.0, 40.0), 6.0, 0.8),
    "depressor_anguli_oris": ((4.0, -4.0), (18.0, -40.0), 5.0, 0.9),
    "depressor_labii_inferioris": ((-12.0, -12.0), (-4.0, -36.0), 5.0, 0.8),
    "mentalis": ((-8.0, -30.0), (-2.0, -46.0), 6.0, 0.9),
    "masseter": ((62.0, 12.0), (72.0, -30.0), 12.0, 2.0),
    "anterior_digastric": ((-14.0, -50.0), (14.0, -78.0), 8.0, 1.3),
    "mylohyoid": ((-28.0, -58.0), (28.0, -64.0), 13.0, 1.6),
}
SUB_SOURCES = 4  # motor-unit territories per muscle


def electrode_positions() -> np.ndarray:
    """Nominal electrode coordinates ``(40, 2)`` in mm: cheek row-major (32), then chin (8)."""
    xs = 5.0 + 10.0 * np.arange(8)
    cheek = np.array([(x, y) for y in (15.0, 5.0, -5.0, -15.0) for x in xs])
    chin = np.stack([-35.0 + 10.0 * np.arange(8), np.full(8, -60.0)], axis=1)
    return np.concatenate([cheek, chin])


def bipolar_matrix() -> np.ndarray:
    """``(40 electrodes, 40 channels)``: channel ``c`` = electrode ``c`` - electrode ``c + 1``
    within each group of 8; the last channel of a group gets nothing from the electrodes."""
    m = np.zeros((N_CHANNELS, N_CHANNELS))
    for c in range(N_CHANNELS):
        if c % 8 != 7:
            m[c, c], m[c + 1, c] = 1.0, -1.0
    return m


@dataclass(frozen=True)
class SessionSetup:
    """What makes one recording session differ from another."""

    gain: float  # overall amplifier/skin gain
    contact_gain: np.ndarray  # (40,) per-electrode contact quality
    electrodes: np.ndarray  # (40, 2) actual electrode positions after shift and rotation (mm)
    sources: np.ndarray  # (n_sources, 2) sub-source positions (mm)
    source_depth: np.ndarray  # (n_sources,)
    source_muscle: np.ndarray  # (n_sources,) muscle index
    source_strength: np.ndarray  # (n_sources,)
    mains_amp: np.ndarray  # (40,) relative mains pickup per channel
    mains_phase: np.ndarray  # (40,)
    shwedyk_fl: float  # source spectrum corner frequencies (Hz)
    shwedyk_fh: float


def draw_session(rng: np.random.Generator, shift_mm: float = 2.5, rotation_deg: float = 3.0) -> SessionSetup:
    """Draw a session: array placement, contact gains, sub-source layout, mains pickup."""
    nominal = electrode_positions()
    angle = np.deg2rad(rotation_deg * rng.standard_normal())
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    cheek_c = nominal[:32].mean(axis=0)
    cheek = (nominal[:32] - cheek_c) @ rot.T + cheek_c + shift_mm * rng.standard_normal(2)
    chin = nominal[32:] + shift_mm * rng.standard_normal(2)
    src, depth, muscle, strength = [], [], [], []
    for m, name in enumerate(MUSCLES):
        (x0, y0), (x1, y1), d, s = MUSCLE_GEOMETRY[name]
        # territories spread along the muscle with some scatter across it
        u = (np.arange(SUB_SOURCES) + rng.uniform(0.2, 0.8, SUB_SOURCES)) / SUB_SOURCES
        pts = np.stack([x0 + u * (x1 - x0), y0 + u * (y1 - y0)], axis=1) + 2.0 * rng.standard_normal((SUB_SOURCES, 2))
        src.append(pts)
        depth.append(d * rng.uniform(0.8, 1.25, SUB_SOURCES))
        muscle.append(np.full(SUB_SOURCES, m))
        strength.append(s * np.exp(0.3 * rng.standard_normal(SUB_SOURCES)))
    return SessionSetup(
        gain=float(np.exp(0.2 * rng.standard_normal())),
        contact_gain=np.exp(0.1 * rng.standard_normal(N_CHANNELS)),
        electrodes=np.concatenate([cheek, chin]),
        sources=np.concatenate(src),
        source_depth=np.concatenate(depth),
        source_muscle=np.concatenate(muscle),
        source_strength=np.concatenate(strength),
        mains_amp=rng.uniform(0.3, 1.0, N_CHANNELS),
        mains_phase=rng.uniform(0, 2 * np.pi, N_CHANNELS),
        shwedyk_fl=float(rng.uniform(45.0, 65.0)),
        shwedyk_fh=float(rng.uniform(110.0, 150.0)),
    )


def pickup_matrix(setup: SessionSetup, decay: float = 1.6) -> np.ndarray:
    """``(n_sources, 40 channels)`` gains from each sub-source to each bipolar channel."""
    diff = setup.sources[:, None, :] - setup.electrodes[None, :, :]  # (src, el, 2)
    r2 = np.sum(diff**2, axis=-1) + setup.source_depth[:, None] ** 2
    mono = setup.source_strength[:, None] * (r2 / 100.0) ** (-decay / 2)  # 1 at 10 mm
    mono = mono * setup.contact_gain[None, :]
    return mono @ bipolar_matrix() * setup.gain


def shwedyk_filter(fl: float, fh: float, fs: float = SIMULATED_EMG_FS) -> tuple[np.ndarray, np.ndarray]:
    """Digital filter whose power response follows the Shwedyk surface-EMG spectrum."""
    wl, wh = 2 * np.pi * fl, 2 * np.pi * fh
    # H(s) = s wh^2 / ((s + wl)(s + wh)^2), prewarp-free bilinear transform (corners << fs/2)
    b_s = [wh**2, 0.0]
    a_s = np.polymul([1.0, wl], np.polymul([1.0, wh], [1.0, wh]))
    b, a = bilinear(b_s, a_s, fs)
    return b, a


@dataclass(frozen=True)
class ArtifactLevels:
    """Artifact settings of a corpus (the CLI knobs)."""

    emg_snr_db: float = 10.0  # muscle-signal power over electrode-noise power, live channels
    mains_db: float = -15.0  # mains power relative to the muscle signal, live channels
    wander: float = 1.0  # baseline-wander RMS relative to the muscle signal's RMS
    motion_rate_hz: float = 0.15  # expected motion spikes per second


def render_emg(
    act: np.ndarray, setup: SessionSetup, levels: ArtifactLevels, rng: np.random.Generator, fs: float = SIMULATED_EMG_FS
) -> np.ndarray:
    """Surface EMG of one utterance.

    Args:
        act: ``(samples, 11)`` muscle activations (see :func:`articulation.activations`).

    Returns:
        ``(samples, 40)`` float64 bipolar channels in microvolt-like units.
    """
    n = act.shape[0]
    n_src = setup.sources.shape[0]
    b, a = shwedyk_filter(setup.shwedyk_fl, setup.shwedyk_fh, fs)
    carrier = lfilter(b, a, rng.standard_normal((n + 512, n_src)), axis=0)[512:]  # drop filter start-up
    carrier /= np.sqrt(np.mean(carrier**2, axis=0, keepdims=True))
    # motor-unit territories of one muscle follow its drive with small independent fluctuations
    wobble = np.exp(0.15 * _slow_noise(rng, n, n_src, fs, 3.0))
    amp = np.sqrt(np.maximum(act[:, setup.source_muscle], 0.0)) * wobble  # (n, src)
    signal = (carrier * amp) @ pickup_matrix(setup) * 20.0  # (n, 40); scale to tens of uV

    live = list(LIVE_CHANNELS)
    sig_rms = float(np.sqrt(np.mean(signal[:, live] ** 2)))
    noise_rms = sig_rms * 10 ** (-levels.emg_snr_db / 20)
    # electrode-skin + amplifier noise per electrode, differenced like the signal; the unpaired
    # channels get only the (much smaller) amplifier noise of their input
    el_noise = rng.standard_normal((n, N_CHANNELS)) * (noise_rms / np.sqrt(2))
    noise = el_noise @ bipolar_matrix()
    dead = list(DEAD_CHANNELS)
    noise[:, dead] = 0.12 * noise_rms * rng.standard_normal((n, len(dead)))

    t = np.arange(n) / fs
    mains_rms = sig_rms * 10 ** (levels.mains_db / 20)
    drift = 1.0 + 0.2 * _slow_noise(rng, n, 1, fs, 0.5)[:, 0]
    mains = np.zeros((n, N_CHANNELS))
    for k, rel in ((1, 1.0), (3, 0.4), (5, 0.2)):  # odd harmonics of a slightly clipped supply
        mains += rel * np.sin(2 * np.pi * 50.0 * k * t[:, None] + k * setup.mains_phase[None, :])
    mains *= mains_rms * np.sqrt(2 / 1.2) * setup.mains_amp[None, :] * drift[:, None]
    mains[:, dead] *= 0.3

    wander = levels.wander * sig_rms * _slow_noise(rng, n, N_CHANNELS, fs, 0.8) + rng.uniform(-2, 2, N_CHANNELS) * sig_rms
    wander[:, dead] *= 0.2

    emg = signal + noise + mains + wander
    _add_motion_spikes(emg, levels.motion_rate_hz, sig_rms, rng, fs)
    return emg


def _slow_noise(rng: np.random.Generator, n: int, k: int, fs: float, cutoff_hz: float) -> np.ndarray:
    """Unit-RMS noise band-limited below ``cutoff_hz``: ``(n, k)``."""
    sos = butter(2, cutoff_hz, btype="lowpass", fs=fs, output="sos")
    pad = int(2 * fs / cutoff_hz)
    x = sosfilt(sos, rng.standard_normal((n + pad, k)), axis=0)[pad:]
    return x / np.sqrt(np.mean(x**2) + 1e-30)


def _add_motion_spikes(emg: np.ndarray, rate_hz: float, scale: float, rng: np.random.Generator, fs: float) -> None:
    """Add occasional electrode-motion transients in place (shared by neighbouring electrodes)."""
    n = emg.shape[0]
    count = int(rng.poisson(rate_hz * n / fs)) if rate_hz > 0 else 0
    if count == 0:
        return
    pos = electrode_positions()
    bip = bipolar_matrix()
    for _ in range(count):
        at = int(rng.integers(n))
        centre = int(rng.integers(N_CHANNELS))
        spread = np.exp(-np.sum((pos - pos[centre]) ** 2, axis=1) / (2 * 12.0**2))  # (40,) electrodes
        if centre >= 32:
            spread[:32] = 0.0
        else:
            spread[32:] = 0.0
        tau1, tau2 = rng.uniform(0.02, 0.12), rng.uniform(0.003, 0.01)
        length = min(n - at, int(5 * tau1 * fs))
        t = np.arange(length) / fs
        shape = np.exp(-t / tau1) - np.exp(-t / tau2)
        amp = scale * rng.uniform(4.0, 15.0) * rng.choice([-1.0, 1.0])
        emg[at : at + length] += amp * shape[:, None] * (spread * rng.uniform(0.5, 1.5, N_CHANNELS)) @ bip
