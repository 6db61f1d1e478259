"""The prepared layout: what every stage after ``emgse prepare`` reads.

::

    DIR/corpus.json                      audio_fs, emg_fs, emg_channels, source, splits, ...
    DIR/{train,val,test}/<utt_id>.wav      mono speech at audio_fs (16 kHz)
    DIR/{train,val,test}/<utt_id>.emg.npy  float32 EMG, (samples, emg_channels) at emg_fs

Audio and EMG of an utterance start at the same instant. Users with their own recordings can
write this layout directly (see docs/corpora.md) and skip ``emgse prepare``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emgse import __version__
from emgse.errors import EmgseError, file_error
from emgse.files import read_audio, read_json, read_npy, write_json, write_npy, write_wav

SPLITS = ("train", "val", "test")
AUDIO_FS = 16000
EMG_SUFFIX = ".emg.npy"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CorpusInfo:
    """The contents of ``corpus.json``."""

    audio_fs: int
    emg_fs: float
    emg_channels: int
    source: str
    extra: dict

    @classmethod
    def read(cls, root: str | Path) -> CorpusInfo:
        path = Path(root) / "corpus.json"
        meta = read_json(path)
        missing = [k for k in ("audio_fs", "emg_fs", "emg_channels") if k not in meta]
        if missing:
            raise file_error(path, f"missing key(s) {', '.join(missing)}")
        return cls(
            audio_fs=int(meta["audio_fs"]),
            emg_fs=float(meta["emg_fs"]),
            emg_channels=int(meta["emg_channels"]),
            source=str(meta.get("source", "unknown")),
            extra={k: v for k, v in meta.items() if k not in ("audio_fs", "emg_fs", "emg_channels", "source")},
        )


def write_corpus_info(root: Path, *, emg_fs: float, emg_channels: int, source: str, **extra: object) -> dict:
    """Write ``corpus.json`` with the required keys plus ``extra``; returns what was written."""
    meta = {
        "format_version": FORMAT_VERSION,
        "audio_fs": AUDIO_FS,
        "emg_fs": emg_fs,
        "emg_channels": emg_channels,
        "source": source,
        "emgse_version": __version__,
        **extra,
    }
    write_json(root / "corpus.json", meta)
    return meta


def write_utterance(root: Path, split: str, utt_id: str, audio: np.ndarray, emg: np.ndarray) -> None:
    """Write one utterance: ``audio`` ``(samples,)`` at 16 kHz, ``emg`` ``(samples, channels)``."""
    write_wav(root / split / f"{utt_id}.wav", audio.astype(np.float32), AUDIO_FS)
    write_npy(root / split / f"{utt_id}{EMG_SUFFIX}", emg.astype(np.float32))


def list_utterances(root: str | Path, split: str) -> list[str]:
    """Sorted utterance ids of a split (stems of its ``.wav`` files)."""
    if split not in SPLITS:
        raise EmgseError(f"unknown split {split!r} (use one of {', '.join(SPLITS)})")
    folder = Path(root) / split
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.wav") if not p.name.startswith("."))


def read_utterance(root: str | Path, split: str, utt_id: str, info: CorpusInfo | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read and check one prepared utterance.

    Returns:
        ``(audio, emg)``: ``(samples,)`` float64 at 16 kHz and ``(samples, channels)`` float32.
    """
    root = Path(root)
    info = info or CorpusInfo.read(root)
    wav = root / split / f"{utt_id}.wav"
    audio, fs = read_audio(wav)
    if fs != info.audio_fs:
        raise file_error(wav, f"sample rate {fs} Hz, but corpus.json says {info.audio_fs} Hz")
    npy = root / split / f"{utt_id}{EMG_SUFFIX}"
    emg = read_npy(npy, ndim=2)
    if emg.shape[1] != info.emg_channels:
        raise file_error(npy, f"{emg.shape[1]} EMG channels, but corpus.json says {info.emg_channels}")
    audio_s, emg_s = len(audio) / info.audio_fs, emg.shape[0] / info.emg_fs
    if abs(audio_s - emg_s) > 0.1:
        raise file_error(npy, f"EMG lasts {emg_s:.3f} s but its audio {audio_s:.3f} s (more than 100 ms apart)")
    return audio, emg.astype(np.float32, copy=False)


def trim_to_common(audio: np.ndarray, emg: np.ndarray, emg_fs: float, where: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Cut synchronized audio ``(samples,)`` at 16 kHz and EMG ``(samples, ch)`` to the duration both cover.

    Raises if the common part is shorter than one 32 ms frame.
    """
    n_emg = min(emg.shape[0], int(np.floor(len(audio) * emg_fs / AUDIO_FS + 1e-9)))
    n_audio = min(len(audio), int(round(n_emg * AUDIO_FS / emg_fs)))
    if n_audio < 0.032 * AUDIO_FS or n_emg < 0.032 * emg_fs:
        raise file_error(where, f"too short after sync: {n_audio / AUDIO_FS * 1000:.1f} ms of audio, {n_emg / emg_fs * 1000:.1f} ms of EMG (need one 32 ms frame)")
    return audio[:n_audio], emg[:n_emg]
