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
from emgse.corpora.simulated import articulation, emg, recording, speech
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
    """One simulated speaker (one session, ``Block1-Initial``): a voice of its own and a recording chain."""

    session: str
    voice: str  # eSpeak language + base variant
    gender: str  # of the base variant: "male" or "female"
    rate_wpm: int
    shape: speech.VoiceShape  # the speaker's pitch range, formant scaling, breathiness
    recording: recording.RecordingChain | None  # None: no chain (nominal level, no filters)
    articulation: articulation.ArticulationParams
    setup: emg.SessionSetup


def session_name(speaker: int) -> str:
    """``Spk<n>_Block1-Initial`` for the 0-based speaker index."""
    return f"Spk{speaker + 1}_Block1-Initial"


def speaker_splits(speakers: int, test: int, val: int) -> dict[str, str]:
    """Speaker-disjoint splits of a corpus of ``speakers``: session name -> split.

    Speakers ``1..test`` are test, the next ``val`` validation, the rest training (so the test
    speakers are the same whatever the corpus size, and voices alternate male/female in each).
    """
    if test < 1 or val < 0 or speakers < test + val + 1:
        raise EmgseError(f"{speakers} speaker(s) cannot hold {test} test, {val} validation and at least 1 training speaker")
    return {session_name(k): "test" if k < test else "val" if k < test + val else "train" for k in range(speakers)}


# Per-gender draws: base F0 in Hz (eSpeak's lowest intonation pitch; the median F0 comes out about
# 1.3 times higher: men ~90-150 Hz, women ~165-230 Hz), and formant scaling relative to the variant.
_F0_BASE_HZ = {"male": (70.0, 115.0), "female": (125.0, 170.0)}
_FORMANT_SCALE = {"male": (0.92, 1.06), "female": (0.96, 1.10)}


def draw_speaker(config: SimulationConfig, index: int) -> Speaker:
    """The speaker ``index`` (0-based) of a corpus; depends only on the seed, index and knobs."""
    rng = np.random.default_rng([config.seed, 1, index])
    voice = config.voices[index % len(config.voices)]
    gender = speech.voice_gender(voice)
    rate = int(rng.integers(135, 196))
    f0 = float(np.exp(rng.uniform(*np.log(_F0_BASE_HZ[gender]))))
    shape = speech.VoiceShape(
        f0_hz=round(f0, 1),
        f0_top_hz=round(f0 * float(rng.uniform(1.35, 1.8)), 1),
        formant_scale=round(float(rng.uniform(*_FORMANT_SCALE[gender])), 3),
        breath=round(float(rng.uniform(0.0, 0.8)), 2),
    )
    art = articulation.draw_articulation(rng, lead_ms=config.lead_ms)
    setup = emg.draw_session(rng)
    # drawn from a stream of its own, so the chain can change without changing voices or EMG
    chain = recording.draw_chain(np.random.default_rng([config.seed, 3, index])) if config.recording else None
    return Speaker(session_name(index), voice, gender, rate, shape, chain, art, setup)


def _speak_prompt(config: SimulationConfig, spk: Speaker, rng: np.random.Generator) -> tuple[str, np.ndarray, list]:
    """Draw sentences until one is spoken within the length limits."""
    for _ in range(50):
        text = make_sentence(rng)
        audio, phones = speech.synthesize(text, spk.voice, rate_wpm=spk.rate_wpm, shape=spk.shape)
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

    # Audio: speech after the rise over a faint room floor (a room is never digitally silent, 45 dB
    # below the speech), recorded through the session's chain (see recording.py).
    pre_a = int(round(rng.uniform(0.1, 0.5) * fs_a))
    floor = 10 ** (-45 / 20) * rng.standard_normal(pre_a + n_post)
    start = pre_a + int(round(lead_in * fs_a))
    dry = np.zeros(pre_a + n_post)
    dry[start : start + voice_audio.size] = voice_audio / max(float(np.sqrt(np.mean(voice_audio**2))), 1e-12)
    utterance_db = float(rng.uniform(-recording.UTTERANCE_JITTER_DB, recording.UTTERANCE_JITTER_DB))
    chain = spk.recording or recording.RecordingChain(highpass_hz=0.0, tilt_db_per_octave=0.0, level_db=0.0)
    speech_ch, level = recording.apply_chain(dry, floor, chain, fs_a, utterance_db if spk.recording else 0.0)
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
        "level": level,
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
        "speaker": {"voice": spk.voice, "gender": spk.gender, "rate_wpm": spk.rate_wpm, **dataclasses.asdict(spk.shape)},
        "recording": spk.recording.as_dict() if spk.recording else None,
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
