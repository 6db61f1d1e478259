"""Synthetic signals and small on-disk sets, deterministic by seed, for tests and benchmarks.

- :func:`speech_like`: a speech-like signal that PESQ detects as speech; :func:`add_white_noise`
  puts it at an exact SNR.
- :func:`write_csl_utterance`: one raw CSL-EMG_Array utterance with a known event after the marker.
- :func:`make_mixtures`: a prepared corpus of speech-like utterances mixed with a talker and white
  noise; :func:`write_system` writes a made-up system's outputs for it.

None of them is data: they exercise the formats and the arithmetic, never a model's quality.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from emgse.config import MixConfig
from emgse.corpora.prepared import AUDIO_FS, write_corpus_info, write_utterance
from emgse.files import read_audio, write_wav
from emgse.mixing import NoiseBank, mix_corpus, read_manifest
from emgse.protocol import CSL_EMG_FS, PREPARED_EMG_FS

# (F1, F2, F3, F4) in Hz of a few vowels
_VOWELS = np.array([(730, 1090, 2440, 3400), (270, 2290, 3010, 3700), (300, 870, 2240, 3300),
                    (530, 1840, 2480, 3500), (570, 840, 2410, 3300), (440, 1020, 2240, 3200)])


def speech_like(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A deterministic speech-like signal ``(samples,)`` at 16 kHz, peak 0.3.

    Glottal pulse train (f0 around 110 Hz with drift and vibrato, spectral tilt), cut into
    syllables of 150-350 ms with short pauses, each filtered by four formant resonators of a
    random vowel, some with a fricative (high-passed noise) onset. PESQ detects it as speech.
    """
    fs = AUDIO_FS
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    f0 = 110 * (1 + 0.15 * np.sin(2 * np.pi * 0.4 * t + rng.uniform(0, 6)) + 0.03 * np.sin(2 * np.pi * 4.7 * t))
    pulses = np.diff(np.floor(np.cumsum(f0) / fs), prepend=0.0)
    source = lfilter([1.0, -1.0], [1.0, -0.97], pulses) + 0.02 * rng.standard_normal(n)
    out = np.zeros(n)
    pos = int(0.1 * fs)
    while pos < n - int(0.2 * fs):
        d = min(int(rng.uniform(0.15, 0.35) * fs), n - pos)
        y = np.zeros(d)
        for f, bw, g in zip(_VOWELS[rng.integers(len(_VOWELS))], (90, 110, 160, 200), (1.0, 0.7, 0.35, 0.2), strict=True):
            r = np.exp(-np.pi * bw / fs)
            y += g * lfilter([1 - r * r], [1, -2 * r * np.cos(2 * np.pi * f / fs), r * r], source[pos : pos + d])
        y *= np.sin(np.pi * np.arange(d) / d) ** 0.6
        if rng.random() < 0.5:
            m = int(0.06 * fs)
            fricative = lfilter([1, -0.9], [1], rng.standard_normal(m)) * np.hanning(m)
            y[:m] += 0.45 * fricative * np.std(y) / np.std(fricative)
        out[pos : pos + d] += y
        pos += d + int(rng.uniform(0.02, 0.12) * fs)
    return 0.3 * out / np.max(np.abs(out))


def add_white_noise(clean: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    """``clean`` ``(samples,)`` plus white noise (seeded) at exactly ``snr_db``; ``(samples,)``."""
    noise = np.random.default_rng(seed).standard_normal(clean.size)
    return clean + noise * np.sqrt(np.sum(clean**2) / (np.sum(noise**2) * 10 ** (snr_db / 10)))


def write_csl_utterance(
    session_dir: Path,
    number: int,
    rng: np.random.Generator,
    *,
    seconds: float = 1.0,
    emg_preroll: float | None = None,
    audio_preroll: float | None = None,
    event_s: float = 0.5,
    emg_columns: int = 41,
    audio_fs: int = AUDIO_FS,
    marker: bool = True,
) -> dict:
    """Write one CSL-EMG_Array utterance with a known event ``event_s`` after the marker rise.

    The files are the corpus's own: ``<session>_<number>_emg.npy`` ``(samples, emg_columns)`` at
    2048 Hz (the last column the marker) and ``<session>_<number>_audio.wav`` ``(samples, 2)``
    (speech, marker), under ``session_dir/<number>/``. The event is a 2 ms burst on EMG channel 3
    and a click on the speech channel. Pre-rolls not given are drawn from ``rng``.
    Returns the pre-rolls used: ``{"emg_preroll": s, "audio_preroll": s}``.
    """
    session = session_dir.name
    emg_preroll = rng.uniform(0.05, 0.4) if emg_preroll is None else emg_preroll
    audio_preroll = rng.uniform(0.05, 0.4) if audio_preroll is None else audio_preroll
    n_pre_e, n_e = int(emg_preroll * CSL_EMG_FS), int(seconds * CSL_EMG_FS)
    emg = rng.standard_normal((n_pre_e + n_e, emg_columns)) * 5.0
    e0 = n_pre_e + int(round(event_s * CSL_EMG_FS))
    emg[e0 : e0 + 4, 3] += 2000.0
    if marker:
        emg[:, -1] = 0.0
        emg[n_pre_e:, -1] = 1000.0
    n_pre_a, n_a = int(audio_preroll * audio_fs), int(seconds * audio_fs)
    audio = np.zeros((n_pre_a + n_a, 2))
    audio[:, 0] = rng.standard_normal(len(audio)) * 0.01
    a0 = n_pre_a + int(round(event_s * audio_fs))
    audio[a0, 0] = 0.9
    if marker:
        audio[n_pre_a:, 1] = 0.9
    folder = session_dir / f"{number:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{session}_{number:04d}_emg.npy", emg)
    sf.write(folder / f"{session}_{number:04d}_audio.wav", audio, audio_fs, subtype="PCM_16")
    return {"emg_preroll": emg_preroll, "audio_preroll": audio_preroll}


def make_mixtures(root: Path, utterances: int = 2, seconds: float = 1.5, snrs_db: tuple[float, ...] = (-5.0, 5.0)) -> Path:
    """A prepared corpus of speech-like test utterances mixed with a talker and white noise.

    Writes ``root/prepared`` (``utterances`` test utterances of ``seconds``, EMG all zeros
    ``(samples, 4)`` at :data:`~emgse.protocol.PREPARED_EMG_FS`), the talker ``root/noise/female_talker.wav`` and the mixtures at
    ``snrs_db`` (seed 0); returns the mixtures folder ``root/mix``.
    """
    emg_fs = PREPARED_EMG_FS
    data = root / "prepared"
    for i in range(utterances):
        write_utterance(data, "test", f"utt{i:02d}", speech_like(seconds, seed=i), np.zeros((int(seconds * emg_fs), 4)))
    write_corpus_info(data, emg_fs=emg_fs, emg_channels=4, source="test")
    talker = root / "noise" / "female_talker.wav"
    write_wav(talker, speech_like(4.0, seed=99), AUDIO_FS)
    bank = NoiseBank.from_sources([talker, "white"])
    mix_corpus(data, ["test"], bank, MixConfig(snrs_db=snrs_db, seed=0), root / "mix", progress=False, speech_noises=["female_talker"])
    return root / "mix"


def write_system(mix: Path, enh: Path, name: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    """``enh/<name>/<path> = fn(noisy, gain * clean)`` (each ``(samples,)``) for every manifest row
    of the mixtures ``mix`` made by :func:`make_mixtures` (its clean speech in ``mix/../prepared``)."""
    corpus = mix.parent / "prepared"
    for row in read_manifest(mix):
        noisy, _ = read_audio(mix / row["path"])
        clean, _ = read_audio(corpus / row["clean"])
        write_wav(enh / name / row["path"], fn(noisy, row["gain"] * clean), AUDIO_FS)
