"""Checked, atomic file I/O shared by every stage.

Readers validate what they load (rate, finiteness, shape) and raise :class:`EmgseError` naming the
file. Writers go through a temporary name in the same folder and ``os.replace`` it into place, so
an interrupted run never leaves a partial file that looks complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from emgse.errors import file_error


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    The temporary name keeps the final suffix so that writers choosing a format by extension
    (soundfile, numpy) behave the same.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates the file private (0600); give it the usual mode for new files.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


# libsndfile's SFC_SET_ADD_PEAK_CHUNK (sndfile.h): float WAVs otherwise get a PEAK chunk that
# stamps the time of writing, so two writes of the same samples differ in bytes.
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def write_wav(path: str | Path, audio: np.ndarray, fs: int, subtype: str = "FLOAT") -> None:
    """Write mono ``(samples,)`` or multi-channel ``(samples, channels)`` audio atomically.

    Every WAV of the project goes through here. The bytes depend only on the samples, rate and
    subtype: float WAVs are written without libsndfile's time-stamped PEAK chunk.
    """
    audio = np.asarray(audio)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    with atomic_path(path) as tmp, sf.SoundFile(tmp, "w", int(fs), channels, subtype=subtype, format="WAV") as f:
        # The command must precede the first write; it is private soundfile API (tested).
        sf._snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
        f.write(audio)


def write_npy(path: str | Path, array: np.ndarray) -> None:
    """Save ``array`` as .npy atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: object) -> None:
    """Write ``obj`` as indented JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> dict:
    """Read a JSON object, raising :class:`EmgseError` on a missing or corrupt file."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise file_error(path, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise file_error(path, f"not a readable JSON file ({e})") from None
    if not isinstance(obj, dict):
        raise file_error(path, "expected a JSON object")
    return obj


def check_finite(path: str | Path, array: np.ndarray, what: str = "data") -> None:
    """Raise if ``array`` holds NaN or Inf."""
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise file_error(path, f"{what} contains {bad} NaN/Inf value(s)")


def read_audio(path: str | Path, *, channels: str = "mono") -> tuple[np.ndarray, int]:
    """Read a sound file as float64.

    Args:
        path: any format libsndfile reads (WAV, FLAC, ...).
        channels: ``"mono"`` requires one channel and returns ``(samples,)``; ``"all"`` returns
            ``(samples, channels)``.

    Returns:
        ``(audio, fs)``.
    """
    path = Path(path)
    if not path.is_file():
        raise file_error(path, "file not found")
    try:
        audio, fs = sf.read(path, dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        raise file_error(path, f"unreadable or corrupt audio file ({e})") from None
    if audio.shape[0] == 0:
        raise file_error(path, "audio file holds no samples")
    check_finite(path, audio, "audio")
    if channels == "mono":
        if audio.shape[1] != 1:
            raise file_error(path, f"expected mono audio, found {audio.shape[1]} channels")
        return audio[:, 0], int(fs)
    return audio, int(fs)


def read_npy(path: str | Path, *, ndim: int | None = None) -> np.ndarray:
    """Load a .npy array (no pickles), checking it is numeric, finite and of ``ndim`` dimensions."""
    path = Path(path)
    if not path.is_file():
        raise file_error(path, "file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise file_error(path, f"unreadable or truncated .npy file ({e})") from None
    if not np.issubdtype(array.dtype, np.number):
        raise file_error(path, f"expected a numeric array, found dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise file_error(path, f"expected a {ndim}-D array, found shape {array.shape}")
    check_finite(path, array, "array")
    return array


def folder_inputs(folder: str | Path, out: str | Path, suffix: str) -> list[Path]:
    """The input files ``folder/*<suffix>`` of a folder mode (hidden files left out), sorted.

    Refuses a missing folder, an output folder that is the input folder, and a folder without such files.
    """
    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise file_error(folder, "folder not found")
    if out.resolve() == folder.resolve():
        raise file_error(out, "output folder is the input folder (inputs would be overwritten)")
    files = sorted(p for p in folder.glob(f"*{suffix}") if not p.name.startswith("."))
    if not files:
        raise file_error(folder, f"no {suffix} files")
    return files


def prepare_output_dir(out: str | Path, *, force: bool = False) -> Path:
    """Create an empty sibling work folder for a stage whose final output is the folder ``out``.

    The stage writes into the returned folder and calls :func:`commit_output_dir` at the end, so
    ``out`` only ever appears complete. An existing non-empty ``out`` is an error unless ``force``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise file_error(out, "exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise file_error(out, "already exists and is not empty (pass --force to replace it)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{out.name}.partial-", dir=out.parent))
    except OSError as e:
        raise file_error(out, f"cannot create output folder ({e.strerror})") from None
    return work


def commit_output_dir(work: Path, out: str | Path) -> None:
    """Move the finished work folder into place, replacing ``out`` (already checked) if present."""
    out = Path(out)
    if out.exists():
        trash = out.with_name(f"{out.name}.partial-old-{os.getpid()}")
        os.replace(out, trash)
        os.replace(work, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(work, out)


@contextlib.contextmanager
def output_dir(out: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Context manager around :func:`prepare_output_dir` / :func:`commit_output_dir`.

    On an exception the work folder is removed and ``out`` is left as it was.
    """
    work = prepare_output_dir(out, force=force)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    commit_output_dir(work, out)
