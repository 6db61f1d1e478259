"""CSL-EMG_Array (Diener, Roustay Vishkasougheh, Schultz, Interspeech 2020) -> prepared layout.

On disk, per utterance of a session::

    ROOT/<session>/<NNNN>/<session>_<NNNN>_emg.npy    float (samples, 41) at 2048 Hz; column 40 = marker
    ROOT/<session>/<NNNN>/<session>_<NNNN>_audio.wav  16 kHz; channel 0 = speech, last channel = marker

Both streams start at their marker's rise: the first sample where the marker jumps up by more
than 10 (EMG) or 0.5 (audio); earlier samples are dropped. EMG channels 0-31 are the cheek array
(4 rows of 8), 32-39 the chin array; the marker column is dropped, leaving 40 channels, and the
EMG is resampled 2048 -> 2000 Hz with an anti-aliased polyphase filter (ratio 125/128).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emgse.corpora.prepared import (
    AUDIO_FS,
    SPLITS,
    trim_to_common,
    write_corpus_info,
    write_utterance,
)
from emgse.errors import EmgseError, file_error
from emgse.features.emg import CHANNEL_SETS, DEAD_CHANNELS
from emgse.features.resample import resample
from emgse.files import output_dir, read_audio, read_npy

EMG_FS = 2048
EMG_COLUMNS = 41  # 40 EMG channels + marker
EMG_MARKER_THRESHOLD = 10.0
AUDIO_MARKER_THRESHOLD = 0.5
_UTT_DIR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class SplitRanges:
    """Inclusive utterance-number ranges per split (the paper: 1-40 test, 41-60 val, 61+ train)."""

    test: list[tuple[int, int]] = field(default_factory=lambda: [(1, 40)])
    val: list[tuple[int, int]] = field(default_factory=lambda: [(41, 60)])
    train: list[tuple[int, int]] = field(default_factory=lambda: [(61, 10**9)])

    def split_of(self, number: int) -> str | None:
        for split in ("test", "val", "train"):
            if any(lo <= number <= hi for lo, hi in getattr(self, split)):
                return split
        return None


def marker_onset(marker: np.ndarray, threshold: float, path: Path) -> int:
    """Index of the first sample after a rise of more than ``threshold`` in ``marker`` ``(samples,)``."""
    jumps = np.flatnonzero(np.diff(marker) > threshold)
    if jumps.size == 0:
        raise file_error(path, f"no marker rise found (no jump of more than {threshold:g} in the marker channel)")
    return int(jumps[0]) + 1


def find_session(corpus: Path, session: str) -> Path:
    """The folder of ``session`` under the corpus root (directly, or one level down, e.g. per speaker)."""
    if not corpus.is_dir():
        raise file_error(corpus, "corpus folder not found")
    direct = corpus / session
    if direct.is_dir():
        return direct
    nested = sorted(p for p in corpus.glob(f"*/{session}") if p.is_dir())
    if nested:
        return nested[0]
    available = sorted(p.name for p in corpus.iterdir() if p.is_dir())[:8]
    raise file_error(corpus, f"session {session!r} not found (folders here: {', '.join(available) or 'none'})")


def read_utterance(session_dir: Path, number: str, emg_fs: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Read, sync and resample one utterance.

    Returns:
        ``(audio, emg)``: speech ``(samples,)`` at 16 kHz and EMG ``(samples, 40)`` at ``emg_fs``,
        both starting at the marker rise and cut to the duration both cover.
    """
    session = session_dir.name
    stem = session_dir / number / f"{session}_{number}"
    emg_path, wav_path = Path(f"{stem}_emg.npy"), Path(f"{stem}_audio.wav")
    raw = read_npy(emg_path, ndim=2)
    if raw.shape[1] != EMG_COLUMNS:
        raise file_error(emg_path, f"expected {EMG_COLUMNS} columns (40 EMG channels + marker), found {raw.shape[1]}")
    audio, fs = read_audio(wav_path, channels="all")
    if audio.shape[1] < 2:
        raise file_error(wav_path, "expected speech plus a marker channel, found a single channel")
    if fs < AUDIO_FS:
        raise file_error(wav_path, f"unsupported sample rate {fs} Hz (need at least {AUDIO_FS} Hz)")
    emg_start = marker_onset(raw[:, -1], EMG_MARKER_THRESHOLD, emg_path)
    audio_start = marker_onset(audio[:, -1], AUDIO_MARKER_THRESHOLD, wav_path)
    emg = raw[emg_start:, :-1].astype(np.float64)
    speech = audio[audio_start:, 0]
    if emg.shape[0] < 2 or len(speech) < 2:
        raise file_error(emg_path if emg.shape[0] < 2 else wav_path, "no samples after the marker rise")
    emg = resample(emg, EMG_FS, emg_fs, axis=0)
    speech = resample(speech, fs, AUDIO_FS)
    return trim_to_common(speech, emg, emg_fs, stem.parent)


def list_session(session_dir: Path) -> list[str]:
    """Utterance numbers (``"0001"``, ...) of a session, sorted."""
    numbers = sorted(p.name for p in session_dir.iterdir() if p.is_dir() and _UTT_DIR.match(p.name))
    if not numbers:
        raise file_error(session_dir, "no utterance folders (0001, 0002, ...) found")
    return numbers


def prepare_csl_emg_array(
    corpus: str | Path,
    session: str,
    out: str | Path,
    *,
    splits: SplitRanges = SplitRanges(),
    emg_fs: int = 2000,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Write one session of CSL-EMG_Array in the prepared layout.

    Returns:
        The ``corpus.json`` contents, with ``utterances`` counted per split.
    """
    corpus, out = Path(corpus), Path(out)
    session_dir = find_session(corpus, session)
    numbers = list_session(session_dir)
    assigned = [(n, splits.split_of(int(n))) for n in numbers]
    assigned = [(n, s) for n, s in assigned if s is not None]
    if not assigned:
        raise EmgseError(f"{session_dir}: none of the {len(numbers)} utterances falls in the train/val/test ranges")
    counts = dict.fromkeys(SPLITS, 0)
    durations = []
    with output_dir(out, force=force) as work:
        for number, split in tqdm(assigned, desc=f"prepare {session}", unit="utt", disable=not progress):
            audio, emg = read_utterance(session_dir, number, emg_fs)
            write_utterance(work, split, f"{session}_{number}", audio, emg)
            counts[split] += 1
            durations.append(len(audio) / AUDIO_FS)
        meta = write_corpus_info(
            work,
            emg_fs=emg_fs,
            emg_channels=EMG_COLUMNS - 1,
            source="csl-emg-array",
            corpus=str(corpus.resolve()),
            session=session,
            emg_fs_original=EMG_FS,
            emg_resampling="scipy.signal.resample_poly (polyphase, anti-aliased)",
            sync={"emg_marker_threshold": EMG_MARKER_THRESHOLD, "audio_marker_threshold": AUDIO_MARKER_THRESHOLD},
            split_ranges={s: getattr(splits, s) for s in SPLITS},
            dead_channels=list(DEAD_CHANNELS),
            channel_sets={k: list(v) for k, v in CHANNEL_SETS.items()},
            utterances=counts,
            hours=round(sum(durations) / 3600, 4),
        )
    return meta


def prepare_csl_emg_array_sessions(
    corpus: str | Path,
    sessions: dict[str, str],
    out: str | Path,
    *,
    emg_fs: int = 2000,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Write several sessions into one prepared layout, each whole session in one split.

    Args:
        sessions: session name -> split (``train``/``val``/``test``): speaker-disjoint splits, e.g.
            for a simulated corpus of many speakers (one ``Block1-Initial`` session each).

    Returns:
        The ``corpus.json`` contents, with ``utterances`` counted per split.
    """
    corpus = Path(corpus)
    bad = sorted({s for s in sessions.values() if s not in SPLITS})
    if bad:
        raise EmgseError(f"unknown split(s) {', '.join(bad)} (use {', '.join(SPLITS)})")
    items = [(find_session(corpus, name), split) for name, split in sessions.items()]
    counts = dict.fromkeys(SPLITS, 0)
    durations = []
    with output_dir(out, force=force) as work:
        for session_dir, split in tqdm(items, desc="prepare sessions", unit="session", disable=not progress):
            for number in list_session(session_dir):
                audio, emg = read_utterance(session_dir, number, emg_fs)
                write_utterance(work, split, f"{session_dir.name}_{number}", audio, emg)
                counts[split] += 1
                durations.append(len(audio) / AUDIO_FS)
        return write_corpus_info(
            work,
            emg_fs=emg_fs,
            emg_channels=EMG_COLUMNS - 1,
            source="csl-emg-array",
            corpus=str(corpus.resolve()),
            sessions=dict(sessions),
            emg_fs_original=EMG_FS,
            emg_resampling="scipy.signal.resample_poly (polyphase, anti-aliased)",
            sync={"emg_marker_threshold": EMG_MARKER_THRESHOLD, "audio_marker_threshold": AUDIO_MARKER_THRESHOLD},
            dead_channels=list(DEAD_CHANNELS),
            channel_sets={k: list(v) for k, v in CHANNEL_SETS.items()},
            utterances=counts,
            hours=round(sum(durations) / 3600, 4),
        )
