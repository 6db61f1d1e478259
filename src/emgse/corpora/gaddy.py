"""Gaddy & Klein (EMNLP 2020) voiced parallel data -> prepared layout.

On disk::

    emg_data/voiced_parallel_data/<session>/<i>_emg.npy          (samples, 8) at 1000 Hz
    emg_data/voiced_parallel_data/<session>/<i>_audio_clean.flac 16 kHz
    emg_data/voiced_parallel_data/<session>/<i>_info.json        {"book", "sentence_index", "text", ...}

Entries with ``sentence_index == -1`` are reference clips, not data, and are skipped. EMG is kept
at 1000 Hz with its 8 channels; audio and EMG are already aligned at their first sample.
"""

from __future__ import annotations

import re
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
from emgse.features.resample import resample
from emgse.files import output_dir, read_audio, read_json, read_npy

EMG_FS = 1000
EMG_CHANNELS = 8
_EMG_FILE = re.compile(r"^(\d+)_emg\.npy$")


def find_voiced(corpus: Path) -> Path:
    """The ``voiced_parallel_data`` folder, given it, its parent, or ``emg_data``'s parent."""
    for candidate in (corpus, corpus / "voiced_parallel_data", corpus / "emg_data" / "voiced_parallel_data"):
        if candidate.name == "voiced_parallel_data" and candidate.is_dir():
            return candidate
    raise file_error(corpus, "no voiced_parallel_data folder found (pass the corpus's emg_data folder)")


def list_items(voiced: Path) -> list[tuple[str, str, dict]]:
    """``(session, index, info)`` for every data utterance, sorted, reference clips skipped."""
    items = []
    for session_dir in sorted(p for p in voiced.iterdir() if p.is_dir()):
        indices = sorted(int(m.group(1)) for p in session_dir.iterdir() if (m := _EMG_FILE.match(p.name)))
        for i in indices:
            info = read_json(session_dir / f"{i}_info.json")
            if "sentence_index" not in info:
                raise file_error(session_dir / f"{i}_info.json", "missing 'sentence_index'")
            if int(info["sentence_index"]) == -1:
                continue
            items.append((session_dir.name, str(i), info))
    if not items:
        raise file_error(voiced, "no utterances found (<i>_emg.npy with <i>_info.json)")
    return items


def assign_splits(
    items: list[tuple[str, str, dict]], split_file: Path | None, val_fraction: float, test_fraction: float, seed: int
) -> list[str]:
    """Split per item: from a testset JSON (``dev``/``test`` lists of ``[book, sentence_index]``) or at random."""
    if split_file is not None:
        spec = read_json(split_file)
        if "dev" not in spec or "test" not in spec:
            raise file_error(split_file, "expected keys 'dev' and 'test'")
        dev = {(str(b), int(s)) for b, s in spec["dev"]}
        test = {(str(b), int(s)) for b, s in spec["test"]}
        out = []
        for _, _, info in items:
            key = (str(info.get("book", "")), int(info["sentence_index"]))
            out.append("test" if key in test else "val" if key in dev else "train")
        return out
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise EmgseError("--val-fraction and --test-fraction must be in [0, 1) and sum to less than 1")
    order = np.random.default_rng(seed).permutation(len(items))
    n_test = int(round(test_fraction * len(items)))
    n_val = int(round(val_fraction * len(items)))
    out = ["train"] * len(items)
    for rank, idx in enumerate(order):
        out[idx] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return out


def read_utterance(voiced: Path, session: str, index: str) -> tuple[np.ndarray, np.ndarray]:
    """Audio ``(samples,)`` at 16 kHz and EMG ``(samples, 8)`` at 1000 Hz, cut to a common duration."""
    folder = voiced / session
    emg_path = folder / f"{index}_emg.npy"
    emg = read_npy(emg_path, ndim=2)
    if emg.shape[1] != EMG_CHANNELS:
        raise file_error(emg_path, f"expected {EMG_CHANNELS} EMG channels, found {emg.shape[1]}")
    flac = folder / f"{index}_audio_clean.flac"
    audio, fs = read_audio(flac)
    if fs < AUDIO_FS:
        raise file_error(flac, f"unsupported sample rate {fs} Hz (need at least {AUDIO_FS} Hz)")
    audio = resample(audio, fs, AUDIO_FS)
    return trim_to_common(audio, emg.astype(np.float64), EMG_FS, folder / index)


def prepare_gaddy(
    corpus: str | Path,
    out: str | Path,
    *,
    split_file: str | Path | None = None,
    val_fraction: float = 0.03,
    test_fraction: float = 0.015,
    seed: int = 0,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Write the Gaddy & Klein voiced parallel data in the prepared layout; returns ``corpus.json``."""
    corpus, out = Path(corpus), Path(out)
    voiced = find_voiced(corpus)
    items = list_items(voiced)
    splits = assign_splits(items, Path(split_file) if split_file else None, val_fraction, test_fraction, seed)
    counts = dict.fromkeys(SPLITS, 0)
    with output_dir(out, force=force) as work:
        for (session, index, _), split in tqdm(list(zip(items, splits, strict=True)), desc="prepare gaddy", unit="utt", disable=not progress):
            audio, emg = read_utterance(voiced, session, index)
            write_utterance(work, split, f"{session}_{index}", audio, emg)
            counts[split] += 1
        meta = write_corpus_info(
            work,
            emg_fs=EMG_FS,
            emg_channels=EMG_CHANNELS,
            source="gaddy-klein-voiced",
            corpus=str(corpus.resolve()),
            split_file=str(split_file) if split_file else None,
            split_seed=None if split_file else seed,
            utterances=counts,
        )
    return meta
