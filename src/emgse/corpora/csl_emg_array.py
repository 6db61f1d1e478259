"""CSL-EMG_Array (Diener, Roustay Vishkasougheh, Schultz, Interspeech 2020) -> prepared layout.

On disk, per utterance of a session::

    ROOT/<session>/<NNNN>/<session>_<NNNN>_emg.npy    float (samples, >= 41) at 2048 Hz; last column = marker
    ROOT/<session>/<NNNN>/<session>_<NNNN>_audio.wav  16 kHz; channel 0 = speech, last channel = marker

Utterance folders are named by exactly four digits. As in the authors' code (which takes the
folders whose name starts with ``0``), the default splits use folders ``0000``-``0999``: ``0000``-
``0040`` test (``int("0000") = 0 < 41``), ``0041``-``0060`` validation, ``0061``-``0999`` training;
folders ``1000``-``9999`` fall in no default range and are skipped (give ranges to use them).

Both streams start at their marker's rise: the first sample where the marker jumps up by more
than 10 (EMG) or 0.5 (audio); earlier samples are dropped. EMG columns 0-31 are the cheek array
(4 rows of 8), 32-39 the chin array; the marker is the last column; any columns between channel 39
and the marker are dropped, leaving 40 channels. The EMG is resampled 2048 -> 2000 Hz with an
anti-aliased polyphase filter (ratio 125/128; the authors delete 3 of every 128 samples). As the
authors, the speech is kept whole from its marker rise to its end, and the EMG is fitted to its
duration: cropped when longer, edge-padded (its last sample repeated) when shorter.
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
    write_corpus_info,
    write_utterance,
)
from emgse.errors import EmgseError, file_error
from emgse.features.emg import CHANNEL_SETS, DEAD_CHANNELS, fit_emg
from emgse.features.resample import resample
from emgse.files import output_dir, read_audio, read_json, read_npy
from emgse.protocol import CSL_EMG_FS, PREPARED_EMG_FS

EMG_CHANNELS = 40  # the array: cheek 0-31, chin 32-39; the marker is the last column (>= 41 columns)
EMG_MARKER_THRESHOLD = 10.0
AUDIO_MARKER_THRESHOLD = 0.5
_UTT_DIR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class SplitRanges:
    """Inclusive utterance-number ranges per split; the default is the authors' rule: folders
    0000-0040 test, 0041-0060 val, 0061-0999 train, 1000 and above unused."""

    test: list[tuple[int, int]] = field(default_factory=lambda: [(0, 40)])
    val: list[tuple[int, int]] = field(default_factory=lambda: [(41, 60)])
    train: list[tuple[int, int]] = field(default_factory=lambda: [(61, 999)])

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


def read_utterance(session_dir: Path, number: str, emg_fs: int = PREPARED_EMG_FS) -> tuple[np.ndarray, np.ndarray]:
    """Read, sync and resample one utterance.

    Returns:
        ``(audio, emg)``: speech ``(samples,)`` at 16 kHz from the marker rise to its end, and EMG
        ``(round(samples * emg_fs / 16000), 40)`` at ``emg_fs`` from its marker rise, fitted to the
        speech's duration (:func:`fit_emg_to_audio`).
    """
    session = session_dir.name
    stem = session_dir / number / f"{session}_{number}"
    emg_path, wav_path = Path(f"{stem}_emg.npy"), Path(f"{stem}_audio.wav")
    raw = read_npy(emg_path, ndim=2)
    if raw.shape[1] < EMG_CHANNELS + 1:
        raise file_error(emg_path, f"expected at least {EMG_CHANNELS + 1} columns ({EMG_CHANNELS} EMG channels + the marker last), found {raw.shape[1]}")
    audio, fs = read_audio(wav_path, channels="all")
    if audio.shape[1] < 2:
        raise file_error(wav_path, "expected speech plus a marker channel, found a single channel")
    if fs < AUDIO_FS:
        raise file_error(wav_path, f"unsupported sample rate {fs} Hz (need at least {AUDIO_FS} Hz)")
    emg_start = marker_onset(raw[:, -1], EMG_MARKER_THRESHOLD, emg_path)
    audio_start = marker_onset(audio[:, -1], AUDIO_MARKER_THRESHOLD, wav_path)
    emg = raw[emg_start:, :EMG_CHANNELS].astype(np.float64)
    speech = audio[audio_start:, 0]
    if emg.shape[0] < 2 or len(speech) < 2:
        raise file_error(emg_path if emg.shape[0] < 2 else wav_path, "no samples after the marker rise")
    emg = resample(emg, CSL_EMG_FS, emg_fs, axis=0)
    speech = resample(speech, fs, AUDIO_FS)
    return speech, fit_emg_to_audio(speech, emg, emg_fs, stem.parent)


def fit_emg_to_audio(audio: np.ndarray, emg: np.ndarray, emg_fs: float, where: Path | str) -> np.ndarray:
    """EMG ``(samples, ch)`` cropped or edge-padded to the duration of ``audio`` ``(samples,)`` at
    16 kHz: ``round(len(audio) * emg_fs / 16000)`` samples, by the one EMG length rule
    (:func:`emgse.features.emg.fit_emg`). Raises if the audio is shorter than one 32 ms frame."""
    if len(audio) < 0.032 * AUDIO_FS:
        raise file_error(where, f"too short after sync: {len(audio) / AUDIO_FS * 1000:.1f} ms of audio (need one 32 ms frame)")
    return fit_emg(emg, int(round(len(audio) * emg_fs / AUDIO_FS)))


def list_session(session_dir: Path) -> list[str]:
    """Utterance numbers (``"0001"``, ...) of a session, sorted."""
    numbers = sorted(p.name for p in session_dir.iterdir() if p.is_dir() and _UTT_DIR.match(p.name))
    if not numbers:
        raise file_error(session_dir, "no utterance folders (0001, 0002, ...) found")
    return numbers


ALL_SESSIONS = "all"
SPLITS_FILE = "splits.json"  # written by `emgse simulate --speech`: {"sessions": {session: split}}


def read_session_splits(corpus: Path) -> dict[str, str] | None:
    """The speaker-disjoint split of every session from ``corpus/splits.json``, or None if absent."""
    path = corpus / SPLITS_FILE
    if not path.is_file():
        return None
    sessions = read_json(path).get("sessions")
    if not isinstance(sessions, dict) or any(v not in SPLITS for v in sessions.values()):
        raise file_error(path, f"expected {{\"sessions\": {{session: one of {', '.join(SPLITS)}}}}}")
    return {str(k): str(v) for k, v in sessions.items()}


def list_sessions(corpus: Path) -> list[Path]:
    """Session folders directly under the corpus root (those holding utterance folders), sorted."""
    if not corpus.is_dir():
        raise file_error(corpus, "corpus folder not found")
    found = sorted(p for p in corpus.iterdir() if p.is_dir() and any(_UTT_DIR.match(q.name) for q in p.iterdir() if q.is_dir()))
    if not found:
        raise file_error(corpus, "no session folders (<session>/0001/...) found")
    return found


def _assign(
    corpus: Path, session: str, splits: SplitRanges, sessions: dict[str, str] | None = None
) -> tuple[list[tuple[Path, str, str]], str]:
    """``(session_dir, number, split)`` of every utterance to prepare, and how splits were made."""
    if sessions is not None:
        bad = sorted({s for s in sessions.values() if s not in SPLITS})
        if bad:
            raise EmgseError(f"unknown split(s) {', '.join(bad)} (use {', '.join(SPLITS)})")
        session_dirs, by_session = [find_session(corpus, name) for name in sessions], dict(sessions)
    elif session != ALL_SESSIONS:
        session_dirs, by_session = [find_session(corpus, session)], None
    else:
        session_dirs, by_session = list_sessions(corpus), read_session_splits(corpus)
    assigned = []
    for session_dir in session_dirs:
        numbers = list_session(session_dir)
        if by_session is not None:
            if session_dir.name not in by_session:
                raise file_error(corpus / SPLITS_FILE, f"session {session_dir.name!r} has no split")
            assigned += [(session_dir, n, by_session[session_dir.name]) for n in numbers]
        else:
            assigned += [(session_dir, n, s) for n in numbers if (s := splits.split_of(int(n))) is not None]
    if not assigned:
        where = session_dirs[0] if len(session_dirs) == 1 else corpus
        raise EmgseError(f"{where}: none of the utterances falls in the train/val/test ranges")
    rule = ("speaker-disjoint, as given" if sessions is not None else f"speaker-disjoint, from {SPLITS_FILE}" if by_session is not None
            else "utterance-number ranges per session")
    return assigned, rule


def prepare_csl_emg_array(
    corpus: str | Path,
    session: str,
    out: str | Path,
    *,
    splits: SplitRanges = SplitRanges(),
    sessions: dict[str, str] | None = None,
    emg_fs: int = PREPARED_EMG_FS,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Write one session of CSL-EMG_Array (or every session: ``session="all"``) in the prepared layout.

    With ``"all"``, utterances keep their ``<session>_<NNNN>`` ids; when the corpus root holds
    ``splits.json`` (written by ``emgse simulate --speech``) every session goes whole to its
    split (speaker-disjoint), otherwise ``splits`` applies within each session. ``sessions``
    (session name -> split) prepares exactly those sessions, each whole in its split (e.g. the
    speaker-disjoint splits of a simulated multi-speaker corpus).

    Returns:
        The ``corpus.json`` contents, with ``utterances`` counted per split.
    """
    corpus, out = Path(corpus), Path(out)
    assigned, rule = _assign(corpus, session, splits, sessions)
    counts = dict.fromkeys(SPLITS, 0)
    durations = []
    with output_dir(out, force=force) as work:
        for session_dir, number, split in tqdm(assigned, desc=f"prepare {session}", unit="utt", disable=not progress):
            audio, emg = read_utterance(session_dir, number, emg_fs)
            write_utterance(work, split, f"{session_dir.name}_{number}", audio, emg)
            counts[split] += 1
            durations.append(len(audio) / AUDIO_FS)
        meta = write_corpus_info(
            work,
            emg_fs=emg_fs,
            emg_channels=EMG_CHANNELS,
            source="csl-emg-array",
            corpus=str(corpus.resolve()),
            session=session,
            emg_fs_original=CSL_EMG_FS,
            emg_resampling="scipy.signal.resample_poly (polyphase, anti-aliased)",
            lengths="speech kept whole from its marker rise; EMG cropped or edge-padded to its duration",
            sync={"emg_marker_threshold": EMG_MARKER_THRESHOLD, "audio_marker_threshold": AUDIO_MARKER_THRESHOLD},
            split_ranges={s: getattr(splits, s) for s in SPLITS},
            split_rule=rule,
            sessions=sorted({d.name for d, _, _ in assigned}),
            dead_channels=list(DEAD_CHANNELS),
            channel_sets={k: list(v) for k, v in CHANNEL_SETS.items()},
            utterances=counts,
            hours=round(sum(durations) / 3600, 4),
        )
    return meta
