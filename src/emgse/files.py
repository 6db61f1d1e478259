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
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from emgse.errors import file_error


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


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
        os.chmod(tmp_path, 0o666 & ~_umask())
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


def check_array(path: str | Path, array: np.ndarray, *, ndim: int | None = None, min_rows: int = 1, what: str = "array") -> np.ndarray:
    """The checks every array read from a file passes: a real (floating or integer) dtype, ``ndim``
    dimensions, at least ``min_rows`` entries along the first axis, no NaN/Inf. Raises
    :class:`EmgseError` naming ``path``; returns ``array``."""
    dtype = np.asarray(array).dtype
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise file_error(path, f"expected a real numeric (floating or integer) {what}, found dtype {dtype}")
    if ndim is not None and array.ndim != ndim:
        raise file_error(path, f"expected a {ndim}-D {what}, found shape {array.shape}")
    if array.ndim == 0 or array.shape[0] < min_rows or array.size == 0:
        raise file_error(path, f"{what} of shape {array.shape} has no samples" if array.size == 0 or array.ndim == 0 else
                         f"{what} of shape {array.shape} is too short (at least {min_rows} samples needed)")
    check_finite(path, array, what)
    return array


def read_npy(path: str | Path, *, ndim: int | None = None, min_rows: int = 1) -> np.ndarray:
    """Load a .npy array (no pickles) and :func:`check_array` it."""
    path = Path(path)
    if not path.is_file():
        raise file_error(path, "file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise file_error(path, f"unreadable or truncated .npy file ({e})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        raise file_error(path, "expected one .npy array, found an archive of several")
    return check_array(path, array, ndim=ndim, min_rows=min_rows)


def _nearest_existing(path: Path) -> Path:
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            return p
    return Path.cwd()


def check_output(out: str | Path, *, inputs: Iterable[str | Path] = (), force: bool = False, folder: bool = False) -> Path:
    """Check an output location before any work: not an input (nor, for a ``folder``, holding
    one), not under a file, writable, and not already there unless ``force`` (a folder only when
    not empty). Raises :class:`EmgseError` naming ``out``; returns it as a :class:`Path`.

    Every command calls it on each output before reading or computing anything."""
    out = Path(out)
    resolved = out.resolve()
    for given in inputs:
        p = Path(given).resolve()
        if p == resolved:
            raise file_error(out, f"output would overwrite an input {'folder' if Path(given).is_dir() else 'file'}")
        if folder and resolved in p.parents:
            raise file_error(out, f"output folder holds the input {given} (it would be replaced)")
    base = _nearest_existing(out.absolute())
    if base == out.absolute():
        if folder and not out.is_dir():
            raise file_error(out, "exists and is not a folder")
        if not folder and out.is_dir():
            raise file_error(out, "is a folder (give a file name)")
        if not force and (not folder or any(out.iterdir())):
            raise file_error(out, f"already exists{' and is not empty' if folder else ''} (pass --force to replace it)")
        base = out.absolute().parent
    elif not base.is_dir():
        raise file_error(out, f"cannot be written: {base} is a file, not a folder")
    try:  # the one true test of writability (permissions, read-only and virtual file systems)
        fd, probe = tempfile.mkstemp(prefix=".emgse-probe-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise file_error(out, f"cannot be written ({base}: {e.strerror or e})") from None
    return out


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


# Set by the CLI's --clean-partial: remove the work folders that killed runs left (see stale_partials).
REMOVE_STALE_PARTIALS = False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return pid > 0


def stale_partials(out: str | Path) -> list[Path]:
    """The work folders ``<out>.partial-<pid>-*`` beside ``out`` whose process is gone (a killed or
    crashed run): they never look finished, but take space. Folders of a live process are not listed."""
    out = Path(out)
    stale = []
    for p in sorted(out.parent.glob(f"{out.name}.partial-*")) if out.parent.is_dir() else []:
        pid = p.name[len(out.name) + len(".partial-"):].split("-")[0]
        if p.is_dir() and not (pid.isdigit() and _alive(int(pid))):
            stale.append(p)
    return stale


def handle_stale_partials(out: str | Path) -> None:
    """Name the stale work folders beside ``out`` on stderr, or remove them with ``--clean-partial``."""
    for p in stale_partials(out):
        if REMOVE_STALE_PARTIALS:
            shutil.rmtree(p, ignore_errors=True)
            print(f"removed {p} (left by an interrupted run)", file=sys.stderr)
        else:
            print(f"note: {p} was left by an interrupted run and is not a result (remove it, or pass --clean-partial)",
                  file=sys.stderr)


def prepare_output_dir(out: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = ()) -> Path:
    """Create an empty sibling work folder for a stage whose final output is the folder ``out``.

    The stage writes into the returned folder and calls :func:`commit_output_dir` at the end, so
    ``out`` only ever appears complete. An existing non-empty ``out`` is an error unless ``force``.
    The work folder, ``<out>.partial-<pid>-<random>``, gets the usual mode of new folders.
    ``inputs``: folders and files the stage reads, which ``out`` must neither be nor hold.
    """
    out = Path(out)
    check_output(out, force=force, folder=True, inputs=inputs)
    handle_stale_partials(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{out.name}.partial-{os.getpid()}-", dir=out.parent))
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
    except OSError as e:
        raise file_error(out, f"cannot create output folder ({e.strerror})") from None
    return work


def commit_output_dir(work: Path, out: str | Path) -> None:
    """Move the finished work folder into place, replacing ``out`` (already checked) if present."""
    out = Path(out)
    if out.exists():
        trash = out.with_name(f"{out.name}.partial-{os.getpid()}-old")
        os.replace(out, trash)
        os.replace(work, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(work, out)


@contextlib.contextmanager
def output_dir(out: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Context manager around :func:`prepare_output_dir` / :func:`commit_output_dir`.

    On an exception the work folder (and any parent folder made for it, if empty) is removed and
    ``out`` is left as it was.
    """
    new_parents = [p for p in Path(out).absolute().parents if not p.exists()]  # deepest first
    work = prepare_output_dir(out, force=force, inputs=inputs)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        for p in new_parents:  # the folders made for it, when still empty
            with contextlib.suppress(OSError):
                p.rmdir()
        raise
    commit_output_dir(work, out)


def folder_mb(path: str | Path, *, linked: bool = True) -> float:
    """Megabytes of the files under ``path``; ``linked=False`` leaves out files hard-linked elsewhere
    (what removing the folder would not free)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file() and (linked or f.stat().st_nlink == 1)) / 1e6
