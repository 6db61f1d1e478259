"""Write a simulated corpus in the exact CSL-EMG_Array on-disk layout.

::

    ROOT/simulation.json                                  settings, version, "simulated": true
    ROOT/<session>/session.json                           speaker + session parameters, prompts
    ROOT/<session>/<NNNN>/<session>_<NNNN>_emg.npy        float32 (samples, 41) at 2048 Hz
    ROOT/<session>/<NNNN>/<session>_<NNNN>_audio.wav      16 kHz PCM_16, 2 channels
    ROOT/<session>/<NNNN>/<session>_<NNNN>_info.json      prompt + phoneme alignment

Sessions are ``Spk<n>_Block1-Initial`` (n from 1), utterances ``0001``, ``0002``, ... EMG columns
0-39 are the array channels (see :mod:`.emg`), column 40 the marker: 0 during the pre-roll, then
1000 from the rise on. Audio channel 0 is the speech, channel 1 the marker: 0, then 0.9. Each
stream has its own random pre-roll (0.1-0.5 s) before its rise; from the rises on, the two
streams show the same moment and last equally long. All times in ``_info.json`` are seconds after
the marker rise.

Every speaker and utterance draws from its own random stream ``(seed, speaker, utterance)``, and
eSpeak runs in a fresh process per utterance, so a corpus is a pure function of its settings:
same seed -> byte-identical files, and utterance k is the same whatever ``--utterances`` is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emgse import __version__
from emgse.corpora.simulated import articulation, emg, speech
from emgse.corpora.simulated.config import DEFAULT_VOICES, SimulationConfig  # noqa: F401 (re-exported)
from emgse.corpora.simulated.sentences import make_sentence
from emgse.errors import EmgseError
from emgse.files import output_dir, write_json, write_npy, write_wav

EMG_MARKER = 1000.0
AUDIO_MARKER = 0.9
SIMULATED_NOTE = (
    "SIMULATED corpus written by emgse simulate: eSpeak NG speech with model-generated facial EMG. "
    "Results on it test the software, not the physiology."
)


@dataclass(frozen=True)
class Speaker:
    """One simulated speaker (one session, ``Block1-Initial``)."""

    session: str
    voice: str
    rate_wpm: int
    pitch: int
    pitch_range: int
    speech_peak: float
    articulation: articulation.ArticulationParams
    setup: emg.SessionSetup


def session_name(speaker: int) -> str:
    """``Spk<n>_Block1-Initial`` for the 0-based speaker index."""
    return f"Spk{speaker + 1}_Block1-Initial"


def draw_speaker(config: SimulationConfig, index: int) -> Speaker:
    """The speaker ``index`` (0-based) of a corpus; depends only on the seed, index and knobs."""
    rng = np.random.default_rng([config.seed, 1, index])
    voice = config.voices[index % len(config.voices)]
    female = "+f" in voice
    return Speaker(
        session=session_name(index),
        voice=voice,
        rate_wpm=int(rng.integers(140, 186)),
        pitch=int(rng.integers(45, 75) if female else rng.integers(25, 55)),
        pitch_range=int(rng.integers(35, 75)),
        speech_peak=float(rng.uniform(0.4, 0.7)),
        articulation=articulation.draw_articulation(rng, lead_ms=config.lead_ms),
        setup=emg.draw_session(rng),
    )


def _speak_prompt(config: SimulationConfig, spk: Speaker, rng: np.random.Generator) -> tuple[str, np.ndarray, list]:
    """Draw sentences until one is spoken within the length limits."""
    for _ in range(50):
        text = make_sentence(rng)
        audio, phones = speech.synthesize(text, spk.voice, rate_wpm=spk.rate_wpm, pitch=spk.pitch, pitch_range=spk.pitch_range)
        spoken = phones[-1].end - phones[0].start
        if config.min_speech_s <= spoken <= config.max_speech_s:
            return text, audio, phones
    raise EmgseError(
        f"could not draw a sentence of {config.min_speech_s:g}-{config.max_speech_s:g} s for voice {spk.voice} at {spk.rate_wpm} wpm"
    )


def simulate_utterance(config: SimulationConfig, spk: Speaker, speaker_index: int, number: int) -> dict:
    """Simulate utterance ``number`` (1-based) of a speaker.

    Returns:
        dict with ``emg`` ``(samples, 41)`` float32 at 2048 Hz, ``audio`` ``(samples, 2)`` float64 at
        16 kHz and ``info`` (JSON-ready prompt, pre-rolls and phoneme alignment).
    """
    rng = np.random.default_rng([config.seed, 2, speaker_index, number])
    text, voice_audio, phones = _speak_prompt(config, spk, rng)
    fs_a, fs_e = speech.SPEECH_FS, emg.EMG_FS

    # Time line after the marker rise: lead-in silence, the sentence, a tail of silence.
    lead_in = float(rng.uniform(0.35, 0.7))
    tail = float(rng.uniform(0.25, 0.5))
    n_post = int(round(lead_in * fs_a)) + voice_audio.size + int(round(tail * fs_a))
    duration = n_post / fs_a
    offset = int(round(lead_in * fs_a)) / fs_a
    aligned = [("_", 0.0, phones[0].start + offset)] + [(p.symbol, p.start + offset, p.end + offset) for p in phones]
    if aligned[-1][2] < duration:
        aligned.append(("_", aligned[-1][2], duration))

    # Audio: a faint noise floor everywhere (a room is never digitally silent), speech after the rise.
    pre_a = int(round(rng.uniform(0.1, 0.5) * fs_a))
    speech_ch = 10 ** (-65 / 20) * rng.standard_normal(pre_a + n_post)
    start = pre_a + int(round(lead_in * fs_a))
    speech_ch[start : start + voice_audio.size] += voice_audio * (spk.speech_peak / max(np.abs(voice_audio).max(), 1e-9))
    marker_a = np.zeros(pre_a + n_post)
    marker_a[pre_a:] = AUDIO_MARKER
    audio = np.stack([speech_ch, marker_a], axis=1)

    # EMG over its own pre-roll and the same post-rise span.
    pre_e = int(round(rng.uniform(0.1, 0.5) * fs_e))
    n_e = pre_e + int(round(duration * fs_e))
    act = articulation.activations(aligned, -pre_e / fs_e, n_e, fs_e, spk.articulation, rng)
    levels = emg.ArtifactLevels(config.emg_snr_db, config.mains_db, config.wander, config.motion_rate_hz)
    channels = emg.render_emg(act, spk.setup, levels, rng, fs_e)
    marker_e = np.zeros((n_e, 1))
    marker_e[pre_e:] = EMG_MARKER
    emg_out = np.concatenate([channels, marker_e], axis=1).astype(np.float32)

    info = {
        "simulated": True,
        "session": spk.session,
        "utterance": f"{number:04d}",
        "prompt": text,
        "voice": spk.voice,
        "audio_fs": fs_a,
        "emg_fs": fs_e,
        "preroll_s": {"audio": pre_a / fs_a, "emg": pre_e / fs_e},
        "duration_s": duration,
        "speech_onset_s": phones[0].start + offset,
        "times": "seconds after the marker rise of each stream",
        "phonemes": [
            {
                "phoneme": sym,
                "start": round(a, 6),
                "end": round(b, 6),
                "class": articulation.phoneme_class(sym),
                "known": articulation.known_phoneme(sym),
            }
            for sym, a, b in aligned
        ],
    }
    return {"emg": emg_out, "audio": audio, "info": info}


def _speaker_json(config: SimulationConfig, spk: Speaker, prompts: dict[str, str]) -> dict:
    art = spk.articulation
    return {
        "simulated": True,
        "session": spk.session,
        "speaker": {"voice": spk.voice, "rate_wpm": spk.rate_wpm, "pitch": spk.pitch, "pitch_range": spk.pitch_range},
        "articulation": {
            "lead_ms": round(art.lead_s * 1000, 3),
            "tau_ms": round(art.tau_s * 1000, 3),
            "muscles": list(articulation.MUSCLES),
            "muscle_gain": [round(g, 4) for g in art.muscle_gain],
            "tonic": [round(t, 4) for t in art.tonic],
        },
        "emg_session": {
            "gain": round(spk.setup.gain, 4),
            "electrodes_mm": np.round(spk.setup.electrodes, 3).tolist(),
            "dead_channels": list(emg.DEAD_CHANNELS),
            "source_spectrum_hz": [round(spk.setup.shwedyk_fl, 2), round(spk.setup.shwedyk_fh, 2)],
        },
        "prompts": prompts,
    }


def simulate_corpus(
    out: str | Path, config: SimulationConfig, *, force: bool = False, progress: Callable[[str], None] | None = None
) -> dict:
    """Write a simulated corpus to ``out`` (atomically: the folder appears only when complete).

    Returns:
        summary dict: sessions, utterance count, seconds of speech.
    """
    config.validate()
    total_s = 0.0
    sessions = []
    with output_dir(out, force=force) as work:
        for k in range(config.speakers):
            spk = draw_speaker(config, k)
            prompts: dict[str, str] = {}
            for u in range(1, config.utterances + 1):
                utt = simulate_utterance(config, spk, k, u)
                name = f"{spk.session}_{u:04d}"
                folder = work / spk.session / f"{u:04d}"
                write_npy(folder / f"{name}_emg.npy", utt["emg"])
                write_wav(folder / f"{name}_audio.wav", utt["audio"], speech.SPEECH_FS, subtype="PCM_16")
                write_json(folder / f"{name}_info.json", utt["info"])
                prompts[f"{u:04d}"] = utt["info"]["prompt"]
                total_s += utt["info"]["duration_s"]
                if progress:
                    progress(f"{name}: {utt['info']['duration_s']:.2f} s  {utt['info']['prompt']}")
            write_json(work / spk.session / "session.json", _speaker_json(config, spk, prompts))
            sessions.append(spk.session)
        settings = dataclasses.asdict(config)
        settings["voices"] = list(config.voices)
        write_json(
            work / "simulation.json",
            {
                "simulated": True,
                "note": SIMULATED_NOTE,
                "emgse_version": __version__,
                "layout": "CSL-EMG_Array",
                "settings": settings,
                "sessions": sessions,
                "emg": {"fs": emg.EMG_FS, "columns": 41, "marker_column": 40, "marker_high": EMG_MARKER},
                "audio": {"fs": speech.SPEECH_FS, "channels": ["speech", "marker"], "marker_high": AUDIO_MARKER},
            },
        )
    return {"sessions": sessions, "utterances": config.speakers * config.utterances, "seconds": total_s}
