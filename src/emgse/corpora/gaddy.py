"""Gaddy & Klein (EMNLP 2020) corpus -> prepared layout, read as its authors read it.

On disk (``emg_data`` of the corpus release)::

    emg_data/voiced_parallel_data/<session>/<i>_emg.npy          (samples, 8) at 1000 Hz, DC-coupled
    emg_data/voiced_parallel_data/<session>/<i>_audio_clean.flac noise-reduced speech (22050 Hz in the release)
    emg_data/voiced_parallel_data/<session>/<i>_audio.flac       the raw microphone recording
    emg_data/voiced_parallel_data/<session>/<i>_info.json        {"book", "sentence_index", "text", "chunks"}
    emg_data/nonparallel_data/<session>/...                      voiced, other sentences (training only)
    emg_data/silent_parallel_data/<session>/...                  mouthed: EMG without speech

Entries with ``sentence_index == -1`` (empty ``book`` and ``text``) are reference clips of silence,
not data, and are skipped. Audio and EMG start at the same instant.

EMG cleaning follows dgaddy/silent_speech ``read_emg.py``: the recording is DC-coupled (offsets of
hundreds of units, slow drift, 60 Hz mains hum), so the previous, current and next ``_emg.npy`` of
the session are concatenated, each channel is notched at 60 Hz and harmonics 2..7 (``iirnotch``,
Q 30), then high-passed at 2 Hz (3rd-order Butterworth), every filter run forward and backward
(``filtfilt``), and the current file is cut back out. EMG stays at 1000 Hz with its 8 channels.

Splits follow the corpus's ``testset_largedev.json`` (``dev`` and ``test`` lists of
``[book, sentence_index]``; found beside ``emg_data`` or passed explicitly): voiced parallel
utterances of test sentences are test, of dev sentences validation, the rest training;
non-parallel utterances are training unless their sentence is a dev/test sentence, in which case
they are left out (as the original excludes every voiced recording of a dev/test sentence from
training). Without a split file, sentences (not utterances) are drawn at random, seeded.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import butter, filtfilt, iirnotch
from tqdm import tqdm

from emgse.corpora.prepared import (
    AUDIO_FS,
    EMG_SUFFIX,
    SPLITS,
    trim_to_common,
    write_corpus_info,
    write_utterance,
)
from emgse.errors import EmgseError, file_error
from emgse.features.resample import resample
from emgse.files import output_dir, read_audio, read_json, read_npy, write_npy, write_text

GADDY_EMG_FS = 1000  # the corpus's recording rate (Hz), kept in the prepared layout
EMG_CHANNELS = 8
MAINS_HZ = 60.0
NOTCH_Q = 30.0
NOTCH_HARMONICS = 7  # 60, 120, ..., 420 Hz
DRIFT_HZ = 2.0
DRIFT_ORDER = 3
SPLIT_FILE_NAME = "testset_largedev.json"
AUDIO_FILES = {"clean": "audio_clean.flac", "raw": "audio.flac"}
VOICED, NONPARALLEL, SILENT = "voiced_parallel_data", "nonparallel_data", "silent_parallel_data"
SILENT_FOLDER = "silent"  # OUT/silent/{train,val,test}/<utt_id>.emg.npy and OUT/silent/utterances.csv
_ID_PREFIX = {VOICED: "", NONPARALLEL: "nonparallel_", SILENT: "silent_"}
_EMG_FILE = re.compile(r"^(\d+)_emg\.npy$")


@dataclass(frozen=True)
class Item:
    """One data utterance of the corpus (reference clips are never items)."""

    kind: str  # VOICED, NONPARALLEL or SILENT
    session: str
    index: int
    book: str
    sentence_index: int
    text: str

    @property
    def utt_id(self) -> str:
        """Prepared-layout id: ``<session>_<i>`` for voiced parallel data, prefixed for the other kinds."""
        return f"{_ID_PREFIX[self.kind]}{self.session}_{self.index}"

    @property
    def sentence(self) -> tuple[str, int]:
        return (self.book, self.sentence_index)


# --------------------------------------------------------------------------- EMG cleaning
def _emg_filters(fs: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(b, a)`` of the notches (60 Hz x 1..7, below Nyquist) then the 2 Hz drift high-pass."""
    notches = [iirnotch(MAINS_HZ * h, NOTCH_Q, fs) for h in range(1, NOTCH_HARMONICS + 1) if MAINS_HZ * h < fs / 2]
    return [*notches, butter(DRIFT_ORDER, DRIFT_HZ, "highpass", fs=fs)]


def clean_emg(
    emg: np.ndarray, fs: float = GADDY_EMG_FS, *, before: np.ndarray | None = None, after: np.ndarray | None = None, where: Path | str = "EMG"
) -> np.ndarray:
    """Remove DC offset, drift and mains hum from DC-coupled EMG, as dgaddy/silent_speech does.

    Args:
        emg: ``(samples, channels)`` raw EMG at ``fs``.
        before, after: the neighbouring recordings of the session ``(samples', channels)``, or
            None; filtering runs over ``before + emg + after`` so the zero-phase filters' edge
            transients fall outside ``emg``, and the result is cut back to ``emg``'s span.
        where: named in errors.

    Returns:
        ``(samples, channels)`` float64.
    """
    parts = [np.zeros((0, emg.shape[1])) if p is None else np.asarray(p, dtype=np.float64) for p in (before, emg, after)]
    for p in parts:
        if p.ndim != 2 or p.shape[1] != emg.shape[1]:
            raise file_error(where, f"neighbouring EMG has shape {p.shape}, expected (samples, {emg.shape[1]})")
    x = np.concatenate(parts, axis=0)
    filters = _emg_filters(fs)
    need = 3 * max(max(len(b), len(a)) for b, a in filters)  # filtfilt's default edge padding
    if x.shape[0] <= need:
        raise file_error(where, f"EMG too short to filter: {x.shape[0]} samples (need more than {need})")
    for b, a in filters:
        x = filtfilt(b, a, x, axis=0)
    return x[parts[0].shape[0] : parts[0].shape[0] + emg.shape[0]]


def read_emg(folder: Path, index: int) -> np.ndarray:
    """Cleaned EMG ``(samples, 8)`` at 1000 Hz of ``folder/<index>_emg.npy`` (neighbours used for filtering)."""
    path = folder / f"{index}_emg.npy"
    emg, before, after = (_read_raw_emg(folder / f"{j}_emg.npy", j == index) for j in (index, index - 1, index + 1))
    return clean_emg(emg, GADDY_EMG_FS, before=before, after=after, where=path)


def _read_raw_emg(path: Path, required: bool) -> np.ndarray | None:
    """Raw ``(samples, 8)`` float64 EMG of one file; None for an absent neighbour."""
    if not required and not path.is_file():
        return None
    emg = read_npy(path, ndim=2)
    if emg.shape[1] != EMG_CHANNELS:
        raise file_error(path, f"expected {EMG_CHANNELS} EMG channels, found {emg.shape[1]}")
    return emg.astype(np.float64)


# --------------------------------------------------------------------------- listing and splits
def find_emg_data(corpus: str | Path) -> Path:
    """The ``emg_data`` folder, given it, its parent, or its ``voiced_parallel_data`` folder."""
    corpus = Path(corpus)
    for candidate in (corpus, corpus / "emg_data", corpus.parent):
        if (candidate / VOICED).is_dir():
            return candidate
    raise file_error(corpus, f"no {VOICED} folder found (pass the corpus's emg_data folder)")


def list_items(root: Path, kind: str) -> list[Item]:
    """Every data utterance of ``root/<kind>``, sorted by session and index; [] if the folder is absent."""
    folder = root / kind
    if not folder.is_dir():
        return []
    items = []
    for session_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        indices = sorted(int(m.group(1)) for p in session_dir.iterdir() if (m := _EMG_FILE.match(p.name)))
        for i in indices:
            path = session_dir / f"{i}_info.json"
            info = read_json(path)
            if "sentence_index" not in info:
                raise file_error(path, "missing 'sentence_index'")
            try:
                sentence_index = int(info["sentence_index"])
            except (TypeError, ValueError):
                raise file_error(path, f"'sentence_index' is not an integer: {info['sentence_index']!r}") from None
            if sentence_index < 0:  # reference clip of silence
                continue
            items.append(Item(kind, session_dir.name, i, str(info.get("book", "")), sentence_index, str(info.get("text", ""))))
    return items


def find_split_file(root: Path) -> Path | None:
    """``testset_largedev.json`` beside or inside ``emg_data`` (the silent_speech checkout layout), if any."""
    for candidate in (root / SPLIT_FILE_NAME, root.parent / SPLIT_FILE_NAME):
        if candidate.is_file():
            return candidate
    return None


def read_split_file(path: Path) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """``(dev, test)`` sentence sets of a testset JSON (``dev``/``test`` lists of ``[book, sentence_index]``)."""
    spec = read_json(path)
    if "dev" not in spec or "test" not in spec:
        raise file_error(path, "expected keys 'dev' and 'test'")
    try:
        return tuple({(str(b), int(s)) for b, s in spec[k]} for k in ("dev", "test"))  # type: ignore[return-value]
    except (TypeError, ValueError):
        raise file_error(path, "'dev' and 'test' must be lists of [book, sentence_index]") from None


def random_sentence_split(
    items: list[Item], val_fraction: float, test_fraction: float, seed: int
) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """``(dev, test)`` sentence sets drawn at random from the voiced parallel sentences, seeded."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise EmgseError("--val-fraction and --test-fraction must be in [0, 1) and sum to less than 1")
    sentences = sorted({it.sentence for it in items if it.kind == VOICED})
    order = np.random.default_rng(seed).permutation(len(sentences))
    n_test = int(round(test_fraction * len(sentences)))
    n_val = int(round(val_fraction * len(sentences)))
    test = {sentences[i] for i in order[:n_test]}
    dev = {sentences[i] for i in order[n_test : n_test + n_val]}
    return dev, test


def assign_splits(items: list[Item], dev: set[tuple[str, int]], test: set[tuple[str, int]]) -> list[str | None]:
    """Split of each item, None for a non-parallel recording of a dev/test sentence (left out)."""
    out: list[str | None] = []
    for it in items:
        split = "test" if it.sentence in test else "val" if it.sentence in dev else "train"
        out.append(None if it.kind == NONPARALLEL and split != "train" else split)
    return out


def _sentence_sets(
    root: Path, items: list[Item], split_file: str | Path, val_fraction: float, test_fraction: float, seed: int
) -> tuple[set, set, Path | None]:
    """Resolve ``split_file`` (a path, ``"auto"`` or ``"random"``) into dev/test sentence sets."""
    path = find_split_file(root) if str(split_file) == "auto" else None if str(split_file) == "random" else Path(split_file)
    if path is None:
        return (*random_sentence_split(items, val_fraction, test_fraction, seed), None)
    return (*read_split_file(path), path)


# --------------------------------------------------------------------------- reading
def read_speech(folder: Path, index: int, audio: str = "clean") -> np.ndarray:
    """Speech ``(samples,)`` at 16 kHz of ``<index>_audio_clean.flac`` (``clean``) or ``<index>_audio.flac`` (``raw``)."""
    if audio not in AUDIO_FILES:
        raise EmgseError(f"unknown audio target {audio!r} (use one of {', '.join(AUDIO_FILES)})")
    path = folder / f"{index}_{AUDIO_FILES[audio]}"
    signal, fs = read_audio(path, channels="all")
    if fs < AUDIO_FS:
        raise file_error(path, f"unsupported sample rate {fs} Hz (need at least {AUDIO_FS} Hz)")
    return resample(signal[:, 0], fs, AUDIO_FS)  # first channel of a stereo file, as the original


def read_utterance(folder: Path, index: int | str, audio: str = "clean") -> tuple[np.ndarray, np.ndarray]:
    """Speech ``(samples,)`` at 16 kHz and cleaned EMG ``(samples, 8)`` at 1000 Hz, cut to a common duration."""
    index = int(index)
    return trim_to_common(read_speech(folder, index, audio), read_emg(folder, index), GADDY_EMG_FS, folder / str(index))


def read_silent_emg(
    corpus: str | Path, *, split_file: str | Path = "auto", val_fraction: float = 0.03, test_fraction: float = 0.015, seed: int = 0
) -> Iterator[tuple[str, str, np.ndarray]]:
    """The silent parallel data (mouthed speech, EMG only): the input of ``emgse voice``.

    Yields ``(utt_id, split, emg)`` per utterance in corpus order, ``emg`` ``(samples, 8)`` at
    1000 Hz cleaned like voiced EMG; ``utt_id`` is ``silent_<session>_<i>``; ``split`` follows the
    sentence split of :func:`prepare_gaddy` (same arguments, same result).
    """
    root = find_emg_data(corpus)
    voiced = list_items(root, VOICED)
    silent = list_items(root, SILENT)
    if not silent:
        raise file_error(root / SILENT, "no silent utterances found (<i>_emg.npy with <i>_info.json)")
    dev, test, _ = _sentence_sets(root, voiced, split_file, val_fraction, test_fraction, seed)
    for item, split in zip(silent, assign_splits(silent, dev, test), strict=True):
        yield item.utt_id, str(split), read_emg(root / SILENT / item.session, item.index)


def _silent_table(silent: list[Item], splits: list[str | None], voiced: list[Item]) -> str:
    """``utterances.csv`` of the silent folder: id, split, source, sentence and the voiced twin's id."""
    twin = {it.sentence: it.utt_id for it in voiced}  # the last voiced recording of a sentence, as the original
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["utt_id", "split", "session", "index", "book", "sentence_index", "voiced_id", "text"])
    for it, split in zip(silent, splits, strict=True):
        w.writerow([it.utt_id, split, it.session, it.index, it.book, it.sentence_index, twin.get(it.sentence, ""), it.text])
    return buf.getvalue()


def prepare_gaddy(
    corpus: str | Path,
    out: str | Path,
    *,
    split_file: str | Path = "auto",
    audio: str = "clean",
    nonparallel: bool = True,
    silent: bool = False,
    val_fraction: float = 0.03,
    test_fraction: float = 0.015,
    seed: int = 0,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Write the corpus in the prepared layout; returns what ``corpus.json`` holds.

    Args:
        corpus: ``emg_data`` (or its parent, or its ``voiced_parallel_data``).
        split_file: a testset JSON, ``"auto"`` (``testset_largedev.json`` beside ``emg_data`` if
            present, else a random sentence split) or ``"random"``.
        audio: enhancement target: ``"clean"`` (``_audio_clean.flac``, noise-reduced by the corpus
            authors) or ``"raw"`` (``_audio.flac``, the microphone as recorded).
        nonparallel: add ``nonparallel_data`` to training.
        silent: also write the silent EMG to ``OUT/silent/<split>/<utt_id>.emg.npy`` with
            ``OUT/silent/utterances.csv``.
        val_fraction, test_fraction, seed: the random sentence split (when no split file is used).
    """
    if audio not in AUDIO_FILES:
        raise EmgseError(f"unknown audio target {audio!r} (use one of {', '.join(AUDIO_FILES)})")
    corpus, out = Path(corpus), Path(out)
    root = find_emg_data(corpus)
    voiced = list_items(root, VOICED)
    if not voiced:
        raise file_error(root / VOICED, "no utterances found (<i>_emg.npy with <i>_info.json)")
    items = voiced + (list_items(root, NONPARALLEL) if nonparallel else [])
    dev, test, used_split_file = _sentence_sets(root, voiced, split_file, val_fraction, test_fraction, seed)
    splits = assign_splits(items, dev, test)
    silent_items = list_items(root, SILENT) if silent else []
    if silent and not silent_items:
        raise file_error(root / SILENT, "no silent utterances found (<i>_emg.npy with <i>_info.json)")
    silent_splits = assign_splits(silent_items, dev, test)
    counts = dict.fromkeys(SPLITS, 0)
    with output_dir(out, force=force) as work:
        for item, split in tqdm(list(zip(items, splits, strict=True)), desc="prepare gaddy", unit="utt", disable=not progress):
            if split is None:
                continue
            speech, emg = read_utterance(root / item.kind / item.session, item.index, audio)
            write_utterance(work, split, item.utt_id, speech, emg)
            counts[split] += 1
        silent_counts = dict.fromkeys(SPLITS, 0)
        for item, split in tqdm(list(zip(silent_items, silent_splits, strict=True)), desc="silent EMG", unit="utt", disable=not progress):
            emg = read_emg(root / SILENT / item.session, item.index)
            write_npy(work / SILENT_FOLDER / str(split) / f"{item.utt_id}{EMG_SUFFIX}", emg.astype(np.float32))
            silent_counts[str(split)] += 1
        if silent:
            write_text(work / SILENT_FOLDER / "utterances.csv", _silent_table(silent_items, silent_splits, voiced))
        meta = write_corpus_info(
            work,
            emg_fs=GADDY_EMG_FS,
            emg_channels=EMG_CHANNELS,
            source="gaddy-klein",
            corpus=str(root.resolve()),
            audio_target=f"<i>_{AUDIO_FILES[audio]}",
            emg_cleaning=f"notch {MAINS_HZ:g} Hz x1..{NOTCH_HARMONICS} (Q {NOTCH_Q:g}) + {DRIFT_HZ:g} Hz order-{DRIFT_ORDER} "
            "Butterworth high-pass, zero-phase, over previous + current + next file (dgaddy/silent_speech)",
            split_file=str(used_split_file) if used_split_file else None,
            split_seed=None if used_split_file else seed,
            nonparallel=sum(1 for it, s in zip(items, splits, strict=True) if it.kind == NONPARALLEL and s is not None),
            excluded_dev_test_sentences=sum(1 for s in splits if s is None),
            utterances=counts,
            silent={"folder": SILENT_FOLDER, "utterances": silent_counts} if silent else None,
        )
    return meta
