"""Shared fixtures: small corpora in the exact on-disk formats, made in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emgse.synthetic import write_csl_utterance

# the paper's data (noises, real pairs, corpora) as a development machine holds it beside the checkout:
# the tests look for it here themselves and pass it on explicitly (the package reads only --data-root
# or EMGSE_DATA); without it the tests that need it skip
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_NOISE = SHARED_DATA / "noise"


def write_csl_session(root: Path, session: str = "Spk5_Block1-Initial", numbers=range(1, 7), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    session_dir = root / session
    for n in numbers:
        write_csl_utterance(session_dir, n, rng)
    return session_dir


GADDY_BOOK = "books/War_of_the_Worlds.txt"
GADDY_AUDIO_FS = 22050  # the release's _audio_clean.flac rate
# (folder, session, [(book, sentence_index) per index >= 1]); index 0 is a reference clip of silence
GADDY_LAYOUT = (
    ("voiced_parallel_data", "5-4", [(GADDY_BOOK, 401), (GADDY_BOOK, 402), (GADDY_BOOK, 403), (GADDY_BOOK, 404)]),
    ("voiced_parallel_data", "5-5", [(GADDY_BOOK, 501), (GADDY_BOOK, 502), (GADDY_BOOK, 503)]),
    ("nonparallel_data", "5-6", [("books/Tale.txt", 7), (GADDY_BOOK, 501), ("books/Tale.txt", 8)]),
    ("silent_parallel_data", "5-4", [(GADDY_BOOK, 401), (GADDY_BOOK, 402), (GADDY_BOOK, 501)]),
)
GADDY_SPLIT = {"dev": [[GADDY_BOOK, 402]], "test": [[GADDY_BOOK, 501], [GADDY_BOOK, 502]]}


def gaddy_raw_emg(n: int, rng: np.random.Generator, muscle: np.ndarray | None = None) -> np.ndarray:
    """DC-coupled EMG as recorded: (n, 8) at 1000 Hz = muscle activity + per-channel DC offset of
    hundreds to thousands of units + slow drift + 60 Hz mains hum with harmonics."""
    t = np.arange(n)[:, None] / 1000.0
    if muscle is None:
        burst = np.clip(np.sin(2 * np.pi * 1.5 * t + rng.uniform(0, 6, 8)), 0, None)
        muscle = burst * rng.standard_normal((n, 8)) * 20.0
    offset = rng.uniform(-3000.0, 3000.0, 8)
    drift = 300.0 * np.sin(2 * np.pi * 0.2 * t + rng.uniform(0, 6, 8))
    hum = 80.0 * np.sin(2 * np.pi * 60 * t + rng.uniform(0, 6, 8)) + 20.0 * np.sin(2 * np.pi * 180 * t)
    return muscle + offset + drift + hum


def write_gaddy_corpus(root: Path, seed: int = 0, split_file: bool = False) -> Path:
    """A Gaddy & Klein ``emg_data`` folder in the release's format, returned.

    ``<kind>/<session>/<i>_{emg.npy,audio_clean.flac,audio.flac,info.json,button.npy}``: DC-coupled
    EMG (offsets, drift, hum), 22050 Hz audio (raw = clean + room noise), index 0 a reference clip
    with sentence_index -1 and empty book and text. ``split_file`` puts GADDY_SPLIT as
    ``testset_largedev.json`` beside ``emg_data`` (the silent_speech checkout layout).
    """
    rng = np.random.default_rng(seed)
    data = root / "emg_data"
    for kind, session, sentences in GADDY_LAYOUT:
        folder = data / kind / session
        folder.mkdir(parents=True)
        entries = [("", -1), *sentences]
        lengths = [int((0.5 + 0.1 * i) * 1000) for i in range(len(entries))]
        session_emg = gaddy_raw_emg(sum(lengths), rng)  # one recording: offsets and drift run on across files
        starts = np.cumsum([0, *lengths])
        for i, (book, index) in enumerate(entries):
            seconds = 0.5 + 0.1 * i
            n_emg, n_audio = lengths[i], int(seconds * GADDY_AUDIO_FS)
            np.save(folder / f"{i}_emg.npy", session_emg[starts[i] : starts[i + 1]])
            speech = rng.standard_normal(n_audio) * 0.05 * np.abs(np.sin(np.pi * 3 * np.arange(n_audio) / GADDY_AUDIO_FS))
            sf.write(folder / f"{i}_audio_clean.flac", speech, GADDY_AUDIO_FS)
            sf.write(folder / f"{i}_audio.flac", speech + 0.01 * rng.standard_normal(n_audio), GADDY_AUDIO_FS)
            np.save(folder / f"{i}_button.npy", np.zeros(n_emg, dtype=bool))
            text = "" if index < 0 else f"sentence {index} of {book}"
            info = {"book": book, "sentence_index": index, "text": text, "chunks": [[n_emg, n_audio, n_emg]]}
            (folder / f"{i}_info.json").write_text(json.dumps(info))
    if split_file:
        (root / "testset_largedev.json").write_text(json.dumps(GADDY_SPLIT))
    return data


def write_prepared(root: Path, utts: dict[str, int] | None = None, seconds: float = 0.6, seed: int = 0, channels: int = 40) -> Path:
    """A prepared-layout corpus of random utterances (speech-like noise bursts), for mixing tests."""
    from emgse.corpora.prepared import write_corpus_info, write_utterance

    rng = np.random.default_rng(seed)
    utts = utts or {"train": 2, "test": 3}
    root.mkdir(parents=True, exist_ok=True)
    for split, count in utts.items():
        for i in range(count):
            n = int(seconds * 16000)
            envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * np.arange(n) / 16000)
            audio = 0.1 * envelope * rng.standard_normal(n)
            emg = rng.standard_normal((int(seconds * 2000), channels))
            write_utterance(root, split, f"utt{split}{i:02d}", audio, emg)
    write_corpus_info(root, emg_fs=2000, emg_channels=channels, source="test")
    return root


@pytest.fixture(autouse=True)
def no_data_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs without the user's EMGSE_DATA (emgse.resources.data_folder), so that what it
    reads does not depend on the shell it runs in; a test that needs a data root passes one or sets it."""
    monkeypatch.delenv("EMGSE_DATA", raising=False)


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    return write_prepared(tmp_path / "prepared")


@pytest.fixture
def shared_noise() -> Path:
    if not SHARED_NOISE.is_dir():
        pytest.skip("../shared/data/noise is not present (fresh clone)")
    return SHARED_NOISE


# EMG-UKA Trial Corpus fixture: (speaker, session) -> (train utterance numbers, test utterance numbers)
EMG_UKA_LAYOUT = {
    ("002", "101"): ([f"{n:04d}" for n in range(100, 110)], ["0200", "0201", "0202"]),
    ("002", "001"): (["0101", "0102", "0103"], ["0110"]),
    ("004", "001"): (["0001", "0002"], ["0010"]),
}
EMG_UKA_PREROLL = (3200, 120)  # audio (16 kHz) and EMG (600 Hz) samples before the offsets' start


def write_emg_uka_utterance(root: Path, spk: str, ses: str, utt: str, rng: np.random.Generator, *, seconds: float = 0.6,
                            stereo: bool = False) -> dict:
    """One EMG-UKA utterance in the corpus's exact layout: ``audio/`` (stereo WAV microphone + marker,
    or mono FLAC), ``emg/`` (int16, 7 interleaved channels at 600 Hz, the marker last), ``offset/``
    and ``Transcripts/``. Speech and EMG share an envelope (bursts at 3 Hz); 0.2 s before and 0.1 s
    after the offsets. Returns the raw arrays and the offsets written."""
    stem = f"{spk}_{ses}_{utt}"
    n_a, n_e = int(round(seconds * 16000)), int(round(seconds * 600))
    pre_a, pre_e = EMG_UKA_PREROLL
    t_a = np.arange(pre_a + n_a + 1600) / 16000
    envelope = np.clip(np.sin(2 * np.pi * 3 * (t_a - pre_a / 16000)), 0, None) * (t_a >= pre_a / 16000)
    mic = np.round(4000 * envelope * np.sin(2 * np.pi * 220 * t_a) + 30 * rng.standard_normal(len(t_a))).astype(np.int16)
    t_e = np.arange(pre_e + n_e + 60) / 600
    env_e = np.clip(np.sin(2 * np.pi * 3 * (t_e - pre_e / 600)), 0, None) * (t_e >= pre_e / 600)
    emg = np.round(rng.standard_normal((len(t_e), 7)) * (20 + 300 * env_e[:, None])).astype(np.int16)
    emg[:, 6] = np.where(np.arange(len(t_e)) >= pre_e, 1000, 0)
    for folder in ("audio", "emg", "offset", "Transcripts"):
        (root / folder / spk / ses).mkdir(parents=True, exist_ok=True)
    if stereo:
        marker = np.where(np.arange(len(t_a)) >= pre_a, 20000, 0).astype(np.int16)
        sf.write(root / "audio" / spk / ses / f"a_{stem}.wav", np.stack([mic, marker], 1), 16000, subtype="PCM_16")
    else:
        sf.write(root / "audio" / spk / ses / f"a_{stem}.flac", mic, 16000, subtype="PCM_16")
    emg.astype("<i2").tofile(root / "emg" / spk / ses / f"e07_{stem}.adc")
    offsets = ((pre_a, pre_a + n_a), (pre_e, pre_e + n_e))
    (root / "offset" / spk / ses / f"offset_{stem}.txt").write_text(f"{offsets[0][0]} {offsets[0][1]}\n{offsets[1][0]} {offsets[1][1]}\n")
    (root / "Transcripts" / spk / ses / f"transcript_{stem}.txt").write_text(f"SENTENCE NUMBER {utt} OF {spk}\n")
    return {"mic": mic, "emg": emg, "offsets": offsets}


def write_emg_uka_corpus(root: Path, layout: dict | None = None, seed: int = 0, seconds: float = 0.6) -> Path:
    """An EMG-UKA Trial Corpus root (``EMG_UKA_LAYOUT`` by default): every third utterance as
    stereo WAV, the others mono FLAC, and ``Subsets/{train,test}.audible`` listing them."""
    rng = np.random.default_rng(seed)
    layout = EMG_UKA_LAYOUT if layout is None else layout
    lines: dict[str, list[str]] = {"train": [], "test": []}
    k = 0
    for (spk, ses), parts in layout.items():
        for part, numbers in zip(("train", "test"), parts, strict=True):
            for utt in numbers:
                write_emg_uka_utterance(root, spk, ses, utt, rng, seconds=seconds, stereo=k % 3 == 0)
                k += 1
            lines[part].append(f"emg_{spk}-{ses}: " + " ".join(f"emg_{spk}-{ses}-{u}" for u in numbers))
    (root / "Subsets").mkdir(parents=True, exist_ok=True)
    for part, rows in lines.items():
        (root / "Subsets" / f"{part}.audible").write_text("\n".join(rows) + "\n")
    (root / "Subsets" / "train.silent").write_text("")
    (root / "Subsets" / "test.silent").write_text("")
    return root
