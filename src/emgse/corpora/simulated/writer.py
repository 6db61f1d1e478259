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
RECORDED_NOTE = (
    "SIMULATED EMG for recorded human speech, written by emgse simulate --speech: the audio is real, the facial EMG "
    "is model-generated from each recording's phone timeline. Results on it test the software, not the physiology."
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


def session_splits(speakers: int, test: int, val: int) -> dict[str, str]:
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
    fs_a, fs_e = speech.SPEECH_FS, emg.SIMULATED_EMG_FS

    # Time line after the marker rise: lead-in silence, the sentence, a tail of silence.
    lead_in = float(rng.uniform(0.35, 0.7))
    tail = float(rng.uniform(0.25, 0.5))
    n_post = int(round(lead_in * fs_a)) + voice_audio.size + int(round(tail * fs_a))
    duration = n_post / fs_a
    offset = int(round(lead_in * fs_a)) / fs_a
    aligned = [("_", 0.0, phones[0].start + offset)] + [(p.symbol, p.start + offset, p.end + offset) for p in phones]
    if aligned[-1][2] < duration:
        aligned.append(("_", aligned[-1][2], duration))

    # Audio: the sentence after the lead-in over a faint room floor (a room is never digitally silent,
    # 45 dB below the speech), recorded through the session's chain (see recording.py).
    chained = {}

    def record(pre_a: int) -> np.ndarray:
        floor = 10 ** (-45 / 20) * rng.standard_normal(pre_a + n_post)
        start = pre_a + int(round(lead_in * fs_a))
        dry = np.zeros(pre_a + n_post)
        dry[start : start + voice_audio.size] = voice_audio / max(float(np.sqrt(np.mean(voice_audio**2))), 1e-12)
        utterance_db = float(rng.uniform(-recording.UTTERANCE_JITTER_DB, recording.UTTERANCE_JITTER_DB))
        chain = spk.recording or recording.RecordingChain(highpass_hz=0.0, tilt_db_per_octave=0.0, level_db=0.0)
        speech_ch, chained["level"] = recording.apply_chain(dry, floor, chain, fs_a, utterance_db if spk.recording else 0.0)
        return speech_ch

    audio, emg_out, pre_a, pre_e = _streams(config, spk, rng, n_post, aligned, record)
    level = chained["level"]

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
        "phonemes": _phoneme_table(aligned),
    }
    return {"emg": emg_out, "audio": audio, "info": info}


def _streams(
    config: SimulationConfig, spk: Speaker, rng: np.random.Generator, n_post: int, aligned: list[tuple[str, float, float]],
    record: Callable[[int], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Both recorded streams of one utterance, each with its own pre-roll and marker.

    Args:
        n_post: samples at 16 kHz from the marker rise on.
        aligned: ``(symbol, start_s, end_s)`` phones tiling ``[0, n_post / 16000]``.
        record: ``record(pre_a)`` returns the microphone channel ``(pre_a + n_post,)``: the speech
            from sample ``pre_a`` on (the marker rise) over whatever floor the recording has.

    Returns:
        ``(audio, emg, pre_a, pre_e)``: ``(pre_a + n_post, 2)`` float64 at 16 kHz (speech, marker),
        ``(pre_e + n, 41)`` float32 at 2048 Hz (40 channels, marker) and the two pre-roll lengths.
    """
    fs_a, fs_e = speech.SPEECH_FS, emg.SIMULATED_EMG_FS
    pre_a = int(round(rng.uniform(0.1, 0.5) * fs_a))
    speech_ch = record(pre_a)
    marker_a = np.zeros(pre_a + n_post)
    marker_a[pre_a:] = AUDIO_MARKER
    audio = np.stack([speech_ch, marker_a], axis=1)

    # EMG over its own pre-roll and the same post-rise span.
    pre_e = int(round(rng.uniform(0.1, 0.5) * fs_e))
    n_e = pre_e + int(round(n_post / fs_a * fs_e))
    act = articulation.activations(aligned, -pre_e / fs_e, n_e, fs_e, spk.articulation, rng)
    levels = emg.ArtifactLevels(config.emg_snr_db, config.mains_db, config.wander, config.motion_rate_hz)
    channels = emg.render_emg(act, spk.setup, levels, rng, fs_e)
    marker_e = np.zeros((n_e, 1))
    marker_e[pre_e:] = EMG_MARKER
    emg_out = np.concatenate([channels, marker_e], axis=1).astype(np.float32)
    return audio, emg_out, pre_a, pre_e


def _phoneme_table(aligned: list[tuple[str, float, float]]) -> list[dict]:
    return [
        {
            "phoneme": sym,
            "start": round(a, 6),
            "end": round(b, 6),
            "class": articulation.phoneme_class(sym),
            "known": articulation.known_phoneme(sym),
        }
        for sym, a, b in aligned
    ]


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


def _write_utterance(work: Path, session: str, number: int, utt: dict) -> str:
    """Write one simulated utterance in the CSL-EMG_Array layout
    (``<session>/<NNNN>/<session>_<NNNN>_{emg.npy,audio.wav,info.json}``); returns its name."""
    name = f"{session}_{number:04d}"
    folder = work / session / f"{number:04d}"
    write_npy(folder / f"{name}_emg.npy", utt["emg"])
    write_wav(folder / f"{name}_audio.wav", utt["audio"], speech.SPEECH_FS, subtype="PCM_16")
    write_json(folder / f"{name}_info.json", utt["info"])
    return name


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
                name = _write_utterance(work, spk.session, u, utt)
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
                "emg": {"fs": emg.SIMULATED_EMG_FS, "columns": 41, "marker_column": 40, "marker_high": EMG_MARKER},
                "audio": {"fs": speech.SPEECH_FS, "channels": ["speech", "marker"], "marker_high": AUDIO_MARKER},
            },
        )
    return {"sessions": sessions, "utterances": config.speakers * config.utterances, "seconds": total_s}


# ----------------------------------------------------------------------------- recorded speech
PARTS = {"train": "train", "test": "test", "dev": "val", "val": "val", "valid": "val", "validation": "val"}
VAL_FRACTION = 0.1  # of the train half's speakers, drawn by seed, for validation
TEST_FRACTION = 0.2  # of all speakers, drawn by seed, where a corpus has no train/test halves
SPLITS_FILE = "splits.json"


@dataclass(frozen=True)
class Recording:
    """One recorded utterance of a speech corpus in the Montreal Forced Aligner's layout."""

    path: Path
    speaker: str  # the speaker folder, relative to its --speech folder (prefixed by the folder's index if several)
    part: str | None  # "train", "val" or "test" when a folder above the speaker says so


def find_recordings(dirs: list[str | Path]) -> list[Recording]:
    """Every ``.wav``/``.flac`` under ``dirs`` (speaker folders, optionally under ``train``/``test``).

    Raises:
        EmgseError: a folder is missing or holds no recordings, or a recording has neither a
            transcript nor an alignment beside it (checked before anything is written).
    """
    from emgse.corpora.alignment import AUDIO_SUFFIXES, alignment_file, read_transcript

    found: list[Recording] = []
    for i, d in enumerate(dirs):
        d = Path(d)
        if not d.is_dir():
            raise EmgseError(f"{d}: speech folder not found")
        paths = sorted(p for p in d.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file() and not p.name.startswith("."))
        if not paths:
            raise EmgseError(f"{d}: no .wav or .flac recordings found (expected speaker folders of X.wav/X.flac with X.txt)")
        for p in paths:
            rel = p.relative_to(d)
            if len(rel.parts) < 2:
                raise EmgseError(f"{p}: recordings must sit in speaker folders (DIR/<speaker>/{p.name})")
            part = next((PARTS[x.lower()] for x in rel.parts[:-2] if x.lower() in PARTS), None)
            if alignment_file(p) is None and read_transcript(p) is None:
                raise EmgseError(f"{p}: no transcript (X.txt) and no alignment (X.TextGrid, X.lab or X.phn) beside it")
            speaker = str(rel.parent) if len(dirs) == 1 else f"{i}:{rel.parent}"
            found.append(Recording(p, speaker, part))
    return found


def speaker_splits(parts: dict[str, str | None], seed: int) -> dict[str, str]:
    """Speaker-disjoint split of speakers ``{speaker: part or None}`` into train/val/test.

    The corpus's own halves are kept (``test`` speakers test, ``train`` speakers train); validation
    speakers are drawn from the train half (:data:`VAL_FRACTION`, at least one when there are two
    or more). Speakers without a part are drawn at random: :data:`TEST_FRACTION` to test, then the
    validation share of the rest. Depends only on the seed and the speaker names.
    """
    rng = np.random.default_rng([seed, 6])
    out = {s: p for s, p in parts.items() if p is not None}
    free = sorted(s for s, p in parts.items() if p is None)
    if free:
        n_test = int(round(TEST_FRACTION * len(free))) if len(free) > 2 else 0
        for k, s in enumerate(rng.permutation(free)):
            out[str(s)] = "test" if k < n_test else "train"
    train = sorted(s for s, p in out.items() if p == "train")
    if not any(p == "val" for p in out.values()) and len(train) >= 2:
        for s in rng.choice(train, size=max(1, int(round(VAL_FRACTION * len(train)))), replace=False):
            out[str(s)] = "val"
    return out


def select_speakers(parts: dict[str, str | None], n: int | None, seed: int) -> list[str]:
    """``n`` of the speakers ``{speaker: part or None}`` (all if None), drawn by seed, each part's share kept."""
    names = sorted(parts)
    if n is None or n >= len(names):
        return names
    rng = np.random.default_rng([seed, 7])
    groups: dict[str | None, list[str]] = {}
    for k in names:
        groups.setdefault(parts[k], []).append(k)
    keys = sorted(groups, key=lambda g: (g is None, str(g)))
    quota = {g: int(round(n * len(groups[g]) / len(names))) for g in keys}
    quota[keys[-1]] = n - sum(quota[g] for g in keys[:-1])
    chosen: list[str] = []
    for g in keys:
        chosen += [str(x) for x in rng.choice(groups[g], size=min(max(quota[g], 0), len(groups[g])), replace=False)]
    return sorted(chosen)


def simulate_recording(config: SimulationConfig, spk: Speaker, speaker_index: int, number: int, rec: Recording) -> dict:
    """Simulated EMG for one recorded utterance, in the same form as :func:`simulate_utterance`.

    The recording (any rate, resampled to 16 kHz; multi-channel averaged) is the speech after the
    marker rise; its phone timeline comes from :func:`emgse.corpora.alignment.align_recording`.

    Raises:
        AlignmentError: its transcript could not be aligned (the caller skips it).
    """
    from emgse.corpora.alignment import align_recording, cover, read_transcript
    from emgse.features.resample import resample
    from emgse.files import read_audio

    audio, fs = read_audio(rec.path, channels="all")
    mono = audio.mean(axis=1)
    alignment = align_recording(rec.path, mono, fs)
    speech_post = resample(mono, fs, speech.SPEECH_FS)
    peak = float(np.abs(speech_post).max())
    if peak > 0.99:  # the polyphase filter can overshoot a full-scale recording: keep PCM_16 unclipped
        speech_post = speech_post * (0.99 / peak)
    duration = speech_post.size / speech.SPEECH_FS
    aligned = [(p.symbol, p.start, p.end) for p in cover(alignment.phones, duration)]
    rng = np.random.default_rng([config.seed, 4, speaker_index, number])

    def record(pre_a: int) -> np.ndarray:
        # the recording brings its own room and microphone: only a faint floor under the pre-roll
        speech_ch = 10 ** (-65 / 20) * rng.standard_normal(pre_a + speech_post.size)
        speech_ch[pre_a:] += speech_post
        return speech_ch

    audio_out, emg_out, pre_a, pre_e = _streams(config, spk, rng, speech_post.size, aligned, record)
    sounding = [a for a in aligned if not a[0].startswith("_")]
    info = {
        "simulated": True,
        "recorded_speech": True,
        "session": spk.session,
        "utterance": f"{number:04d}",
        "prompt": read_transcript(rec.path) or "",
        "speaker": rec.speaker,
        "source_file": str(rec.path),
        "alignment": alignment.source,
        "cost_ratio": None if np.isnan(alignment.cost_ratio) else round(alignment.cost_ratio, 4),
        "audio_fs": speech.SPEECH_FS,
        "emg_fs": emg.SIMULATED_EMG_FS,
        "source_fs": fs,
        "preroll_s": {"audio": pre_a / speech.SPEECH_FS, "emg": pre_e / emg.SIMULATED_EMG_FS},
        "duration_s": duration,
        "speech_onset_s": sounding[0][1] if sounding else 0.0,
        "times": "seconds after the marker rise of each stream",
        "phonemes": _phoneme_table(aligned),
    }
    return {"emg": emg_out, "audio": audio_out, "info": info}


def simulate_speech_corpus(
    out: str | Path,
    speech_dirs: list[str | Path],
    config: SimulationConfig,
    *,
    speakers: int | None = None,
    utterances: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Write a corpus of recorded speech with simulated EMG (CSL-EMG_Array layout, atomically).

    One session per speaker (``Spk<n>_Block1-Initial`` in sorted speaker order; the speaker's
    folder is in ``session.json``), utterances numbered in file order. ``ROOT/splits.json`` maps
    every session to ``train``/``val``/``test`` (:func:`speaker_splits`);
    ``emgse prepare csl-emg-array --session all`` honours it. Recordings whose transcript does not
    align are skipped and listed in ``simulation.json`` (``skipped``).

    Args:
        speakers, utterances: at most this many speakers (drawn by seed, split shares kept) and
            utterances per speaker (the first in file order); None = all.

    Returns:
        summary dict: sessions, utterances, seconds, skipped (list of ``{file, reason}``).
    """
    from tqdm import tqdm

    from emgse.corpora.alignment import AlignmentError

    config.validate()
    recordings = find_recordings(speech_dirs)
    by_speaker: dict[str, list[Recording]] = {}
    for r in recordings:
        by_speaker.setdefault(r.speaker, []).append(r)
    parts = {s: rs[0].part for s, rs in by_speaker.items()}
    chosen = select_speakers(parts, speakers, config.seed)
    splits = speaker_splits({s: parts[s] for s in chosen}, config.seed)
    jobs = [(k, s, r) for k, s in enumerate(chosen) for r in by_speaker[s][:utterances]]
    total_s, sessions, skipped = 0.0, [], []
    by_session: dict[str, str] = {}
    with output_dir(out, force=force) as work:
        bar = tqdm(total=len(jobs), desc="simulate EMG for recorded speech", unit="utt", disable=not progress)
        for k, name in enumerate(chosen):
            spk = dataclasses.replace(draw_speaker(config, k), voice="recorded")
            prompts: dict[str, str] = {}
            for rec in by_speaker[name][:utterances]:
                bar.update()
                number = len(prompts) + 1
                try:
                    utt = simulate_recording(config, spk, k, number, rec)
                except AlignmentError as e:
                    skipped.append({"file": str(rec.path), "reason": str(e), "cost_ratio": round(e.cost_ratio, 4)})
                    continue
                _write_utterance(work, spk.session, number, utt)
                prompts[f"{number:04d}"] = utt["info"]["prompt"]
                total_s += utt["info"]["duration_s"]
            bar.set_postfix(skipped=len(skipped))
            if not prompts:
                continue
            meta = _speaker_json(config, spk, prompts)
            meta["speaker"] = {"recorded": True, "id": name, "part": by_speaker[name][0].part, "split": splits[name]}
            write_json(work / spk.session / "session.json", meta)
            sessions.append(spk.session)
            by_session[spk.session] = splits[name]
        bar.close()
        if not sessions:
            raise EmgseError(f"no recording could be aligned ({len(skipped)} skipped; first: {skipped[0]['file']}: {skipped[0]['reason']})")
        settings = dataclasses.asdict(config)
        settings["voices"] = list(config.voices)
        write_json(
            work / SPLITS_FILE,
            {
                "rule": "speaker-disjoint: the corpus's own train/test halves; validation speakers drawn by seed from the train half",
                "seed": config.seed,
                "sessions": by_session,
            },
        )
        write_json(
            work / "simulation.json",
            {
                "simulated": True,
                "note": RECORDED_NOTE,
                "emgse_version": __version__,
                "layout": "CSL-EMG_Array",
                "settings": settings,
                "speech": {"dirs": [str(Path(d).resolve()) for d in speech_dirs], "speakers": len(chosen), "utterances_per_speaker": utterances},
                "sessions": sessions,
                "skipped": skipped,
                "emg": {"fs": emg.SIMULATED_EMG_FS, "columns": 41, "marker_column": 40, "marker_high": EMG_MARKER},
                "audio": {"fs": speech.SPEECH_FS, "channels": ["speech", "marker"], "marker_high": AUDIO_MARKER},
            },
        )
    n = sum(1 for _ in jobs) - len(skipped)
    return {"sessions": sessions, "utterances": n, "seconds": total_s, "skipped": skipped, "splits": by_session}
