"""Checked, atomic file I/O shared by every stage.

Readers validate what they load (rate, finiteness, shape) and raise :class:`EmgseError` naming the
file. Writers go through a temporary name in the same folder and ``os.replace`` it into place, so
an interrupted run never leaves a partial file that looks complete; an operating-system error
while writing (a full disk, a read-only folder) is one :class:`EmgseError` naming the final file.
Temporary names carry the writer's pid (``*.partial-<pid>-*``), so what a killed run left is known.

The path rules live here too: :func:`inside` (a path a manifest names stays in its folder),
:func:`plain_name` (an output name is one path component) and :func:`hold_folder` (one run per
output folder).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf

from emgse.errors import EmgseError, file_error


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def partial_prefix(name: str) -> str:
    """The start of a temporary name for ``name`` written by this process: ``<name>.partial-<pid>-``."""
    return f"{name}.partial-{os.getpid()}-"


def write_failed(path: str | Path, error: OSError) -> EmgseError:
    """The one message for an operating-system error on output: ``<path>: cannot be written (<reason>)``."""
    return file_error(path, f"cannot be written ({error.strerror or error})")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    The temporary name, ``.<stem>.partial-<pid>-<random><suffix>``, keeps the final suffix so that
    writers choosing a format by extension (soundfile, numpy) behave the same. An ``OSError``
    (no space left, read-only, quota) becomes an :class:`EmgseError` naming ``path`` (:func:`write_failed`).
    """
    path = Path(path)
    tmp_path = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=partial_prefix(f".{path.stem}"), suffix=path.suffix, dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        # mkstemp creates the file private (0600); give it the usual mode for new files.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except OSError as e:
        raise write_failed(path, e) from None
    finally:
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                tmp_path.unlink()


def write_bytes(path: str | Path, data: bytes | memoryview) -> None:
    """Write ``data`` atomically (the layer every in-memory writer ends in: WAV, checkpoints)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


# libsndfile's SFC_SET_ADD_PEAK_CHUNK (sndfile.h): float WAVs otherwise get a PEAK chunk that
# stamps the time of writing, so two writes of the same samples differ in bytes.
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def write_wav(path: str | Path, audio: np.ndarray, fs: int, subtype: str = "FLOAT") -> None:
    """Write mono ``(samples,)`` or multi-channel ``(samples, channels)`` audio atomically.

    Every WAV of the project goes through here. The bytes depend only on the samples, rate and
    subtype: float WAVs are written without libsndfile's time-stamped PEAK chunk. They are built in
    memory and written by :func:`write_bytes`, so a full disk is an ``OSError`` with its reason
    (libsndfile would only say "System error").
    """
    audio = np.asarray(audio)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", int(fs), channels, subtype=subtype, format="WAV") as f:
        # The command must precede the first write; it is private soundfile API (tested).
        sf._snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
        f.write(audio)
    write_bytes(path, buf.getbuffer())


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


# The lowest audio rate read: telephone speech (300-3400 Hz) needs 8 kHz; below it a file holds no
# speech band to enhance, score or mix (a 7 Hz "WAV" is a mistake, not a recording).
MIN_AUDIO_FS = 8000


def read_audio(path: str | Path, *, channels: str = "mono") -> tuple[np.ndarray, int]:
    """Read a sound file as float64; rates below :data:`MIN_AUDIO_FS` are refused.

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
    if fs < MIN_AUDIO_FS:
        raise file_error(path, f"sample rate {fs} Hz is below {MIN_AUDIO_FS} Hz, the lowest rate that holds speech")
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

    Refuses a missing folder, an output folder that is the input folder, a folder without such
    files, and an entry named so that is not a file (a folder ``sub.wav``): all before any work.
    """
    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise file_error(folder, "folder not found")
    if out.resolve() == folder.resolve():
        raise file_error(out, "output folder is the input folder (inputs would be overwritten)")
    files = sorted(p for p in folder.glob(f"*{suffix}") if not p.name.startswith("."))
    if not files:
        raise file_error(folder, f"no {suffix} files")
    for p in files:
        if not p.is_file():
            raise file_error(p, f"is {'a folder' if p.is_dir() else 'not a regular file'}, not a {suffix} file")
    return files


def inside(base: str | Path, rel: str, where: str | Path) -> Path:
    """``base / rel`` for a path that a manifest (``where``) names relative to its folder ``base``:
    refused (one line naming ``where``) unless ``rel`` is relative, free of ``..`` and resolves,
    symlinks followed, inside ``base``. The one rule for every path read from a file."""
    base = Path(base)
    parts = PurePosixPath(rel.replace("\\", "/")).parts if isinstance(rel, str) else ()
    if not parts or rel.startswith(("/", "\\")) or Path(rel).is_absolute() or ".." in parts or "\0" in rel:
        raise file_error(where, f"path {rel!r} must be relative to {base} and stay inside it (no absolute path, no '..')")
    path = base / rel
    root = base.resolve()
    if not path.resolve().is_relative_to(root):
        raise file_error(where, f"path {rel!r} resolves outside {base} (through a symbolic link) to {path.resolve()}")
    return path


def plain_name(name: str, what: str) -> str:
    """``name`` if it is one plain path component (an output name: ``--system``, a run name): not
    empty, not hidden, no ``/``, ``\\`` or NUL, not ``.partial-`` (work folders). Else an
    :class:`EmgseError` naming ``what`` (the option)."""
    if (not name or name.startswith(".") or any(c in name for c in "/\\\0") or ".partial-" in name
            or Path(name).is_absolute()):
        raise EmgseError(f"{what} {name!r}: must be one plain name (no '/', no leading '.'), a folder inside the output")
    return name



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


def partial_pid(name: str) -> int | None:
    """The pid in a temporary name ``...partial-<pid>-...`` (:func:`partial_prefix`); None when the
    name is not temporary, -1 for an older emgse's temporary file without a pid (``.x.abc.partial.pt``)."""
    if ".partial-" in name:
        pid = name.split(".partial-", 1)[1].split("-")[0]
        return int(pid) if pid.isdigit() else -1
    return -1 if name.startswith(".") and ".partial." in name else None


def _stale(p: Path) -> bool:
    pid = partial_pid(p.name)
    return pid is not None and not (pid > 0 and _alive(pid))


def stale_partials(out: str | Path) -> list[Path]:
    """The work folders ``<out>.partial-<pid>-*`` beside ``out`` whose process is gone (a killed or
    crashed run): they never look finished, but take space. Folders of a live process are not listed."""
    out = Path(out)
    found = sorted(out.parent.glob(f"{out.name}.partial-*")) if out.parent.is_dir() else []
    return [p for p in found if p.is_dir() and _stale(p)]


def stale_partials_under(folder: str | Path) -> list[Path]:
    """Every temporary file or work folder under ``folder`` (at any depth) whose process is gone."""
    stale: list[Path] = []
    for root, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            if _stale(Path(root) / name):
                stale.append(Path(root) / name)
        dirs[:] = [d for d in dirs if not _stale(Path(root) / d)]
    return sorted(stale)


def remove_partials(paths: Iterable[Path]) -> None:
    """Remove what killed runs left (folders and files), naming each on stderr."""
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()
        print(f"removed {p} (left by an interrupted run)", file=sys.stderr)


def handle_stale_partials(out: str | Path) -> None:
    """Name the stale work folders beside ``out`` on stderr, or remove them with ``--clean-partial``."""
    stale = stale_partials(out)
    if REMOVE_STALE_PARTIALS:
        remove_partials(stale)
        return
    for p in stale:
        print(f"note: {p} was left by an interrupted run and is not a result (remove it, or pass --clean-partial)",
              file=sys.stderr)


# --------------------------------------------------------------------------- one run per folder
_HELD: dict[Path, int] = {}  # lock file -> nesting depth, for this process


def lock_path(folder: str | Path) -> Path:
    """The lock file of an output folder: ``.<name>.lock`` beside it (the folder itself may be
    replaced as a whole)."""
    folder = Path(os.path.abspath(folder))
    return folder.parent / f".{folder.name}.lock"


def _holder(lock: Path) -> tuple[int, str, str] | None:
    """``(pid, host, started)`` written in a lock file; None when unreadable or cut short."""
    try:
        pid, host, started = lock.read_text(encoding="utf-8").split(" ", 2)
        return int(pid), host, started.strip()
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _lock_is_stale(lock: Path, holder: tuple[int, str, str] | None) -> bool:
    """A lock of a process that is gone (this host only: another host's processes cannot be seen),
    of this very process (a pid reused after a kill), or cut short and older than 10 s."""
    if holder is None:
        with contextlib.suppress(OSError):
            return time.time() - lock.stat().st_mtime > 10
        return True
    pid, host, _ = holder
    return host == socket.gethostname() and (pid == os.getpid() or not _alive(pid))


def _take_lock(folder: Path, lock: Path) -> None:
    for _ in range(3):
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if _lock_is_stale(lock, holder):
                with contextlib.suppress(OSError):
                    lock.unlink()
                print(f"removed the stale lock {lock} (left by an interrupted run)", file=sys.stderr)
                continue
            who = f"pid {holder[0]} on {holder[1]}, started {holder[2]}" if holder else "a run starting now"
            raise file_error(folder, f"another emgse run is writing here ({who}); wait for it to end, "
                                     f"or remove {lock} if that run is gone") from None
        except OSError as e:
            raise write_failed(lock, e) from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {socket.gethostname()} {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        return
    raise file_error(folder, f"cannot take the lock {lock} (it keeps coming back)")


@contextlib.contextmanager
def hold_folder(folder: str | Path) -> Iterator[Path]:
    """Hold the output folder ``folder`` for this run: one run per folder. The lock file
    (:func:`lock_path`) is created exclusively (``O_EXCL``) with this process's pid, host and start
    time before any work; a second run gets one line naming the holder; a lock whose process is
    gone (a killed run) is stale and cleared. Nested holds of one folder by one process are free."""
    folder = Path(folder)
    lock = lock_path(folder)
    if lock not in _HELD:
        _take_lock(folder, lock)
    _HELD[lock] = _HELD.get(lock, 0) + 1
    try:
        yield folder
    finally:
        _HELD[lock] -= 1
        if not _HELD[lock]:
            del _HELD[lock]
            if (_holder(lock) or (0,))[0] == os.getpid():
                with contextlib.suppress(OSError):
                    lock.unlink()


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
        work = Path(tempfile.mkdtemp(prefix=partial_prefix(out.name), dir=out.parent))
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

    The folder is held (:func:`hold_folder`) from before the work folder is made until it is in
    place, and checked again once held: a second run into ``out`` is refused, not interleaved.
    On an exception the work folder (and any parent folder made for it, if empty) is removed and
    ``out`` is left as it was.
    """
    new_parents = [p for p in Path(out).absolute().parents if not p.exists()]  # deepest first
    check_output(out, force=force, folder=True, inputs=inputs)  # before the lock's folder is made
    try:
        with hold_folder(out):
            work = prepare_output_dir(out, force=force, inputs=inputs)
            try:
                yield work
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
            commit_output_dir(work, out)
    except BaseException:
        for p in new_parents:  # the folders made for it, when still empty
            with contextlib.suppress(OSError):
                p.rmdir()
        raise


def folder_mb(path: str | Path, *, linked: bool = True) -> float:
    """Megabytes of the files under ``path``; ``linked=False`` leaves out files hard-linked elsewhere
    (what removing the folder would not free)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file() and (linked or f.stat().st_nlink == 1)) / 1e6
