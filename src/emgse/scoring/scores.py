"""Score the noisy input and every enhanced system on a mixture set, and summarize the scores.

Layout read:

- ``MIX/mixtures.csv`` and ``MIX/mix.json`` (from ``emgse mix``); ``mix.json`` names the prepared
  corpus whose ``<clean>`` files are the references.
- ``ENH/<system>/<path>``: the enhanced output of ``<system>`` for the mixture ``MIX/<path>``
  (that is ``ENH/<system>/<split>/<noise>/<snr>dB/<utt_id>.wav``), mono, 16 kHz, exactly as long as
  the mixture.

Reference convention: a mixture is ``noisy = gain * (clean + scaled_noise)`` (:mod:`emgse.mixing`),
so every system on that mixture, the noisy input (system ``noisy``) included, is scored against
``gain * clean``, the row's ``gain`` times the prepared clean utterance.

Written to ``OUT``, each file atomically:

- ``scores.csv``: one row per system x mixture, columns :data:`SCORE_COLUMNS`;
- ``summary_overall.csv``, ``summary_snr.csv``, ``summary_noise.csv``, ``summary_category.csv``:
  per system and group, ``n``, the mean of each metric, its gain over ``noisy`` (the mean of the
  paired per-mixture differences) and the number of NaN scores left out of the mean;
- ``summary.md``: the same as paper-style Markdown tables (:func:`summary_markdown`);
- ``evaluate.json``: what was scored.

With ``dnsmos=True`` every row also gets the no-reference DNSMOS P.835 scores
(:data:`DNSMOS_COLUMNS`: ``dnsmos_sig``, ``dnsmos_bak``, ``dnsmos_ovrl``, from :mod:`emgse.dnsmos`),
in ``scores.csv``, the summary CSVs and the overall Markdown table.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emgse.errors import EmgseError, file_error
from emgse.files import check_output, output_dir, plain_name, read_audio, read_json, write_json
from emgse.metrics import FS, METRICS, score_pair
from emgse.mixing import CATEGORIES, MANIFEST, noise_category, read_manifest  # noqa: F401 (noise_category re-exported)
from emgse.scoring.rows import DNSMOS_COLUMNS, NOISY, write_scores
from emgse.scoring.summaries import write_summaries


# --------------------------------------------------------------------------- scoring
def find_systems(enhanced_root: str | Path | None, systems: Sequence[str] | None) -> list[str]:
    """The enhanced systems to score: those named, or every folder of ``enhanced_root``.

    ``noisy`` is not a folder but the mixture itself; naming it is allowed and ignored here.
    """
    named = [plain_name(s, "--systems") for s in (systems or []) if s != NOISY]
    if enhanced_root is None:
        if named:
            raise EmgseError(f"system(s) {', '.join(named)} named but no folder of enhanced outputs given")
        return []
    root = Path(enhanced_root)
    if not root.is_dir():
        raise file_error(root, "folder of enhanced outputs not found")
    if systems:
        for name in named:
            if not (root / name).is_dir():
                raise file_error(root / name, f"no folder for system {name!r}")
        return list(dict.fromkeys(named))
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and ".partial-" not in p.name)
    if NOISY in found:
        raise file_error(root / NOISY, f"{NOISY!r} is reserved for the unprocessed mixture; rename this system")
    if not found:
        raise file_error(root, "no system folders in this folder of enhanced outputs")
    return found


@dataclass(frozen=True)
class _Task:
    """Everything a worker needs to score one mixture for all systems (picklable)."""

    row: dict
    mix_dir: str
    corpus_dir: str
    enhanced_root: str | None
    systems: tuple[str, ...]
    dnsmos: bool = False
    score_noisy: bool = True


def _read_16k(path: Path) -> np.ndarray:
    audio, fs = read_audio(path)
    if fs != FS:
        raise file_error(path, f"sample rate {fs} Hz, expected {FS} (scores are computed at 16 kHz)")
    return audio


def _score_mixture(task: _Task) -> list[dict]:
    """Score the noisy mixture and each system's output for one manifest row."""
    row = task.row
    noisy_path = Path(task.mix_dir) / row["path"]
    clean_path = Path(task.corpus_dir) / row["clean"]
    noisy = _read_16k(noisy_path)
    clean = _read_16k(clean_path)
    if clean.size != noisy.size:
        raise file_error(noisy_path, f"{noisy.size} samples but its clean reference {clean_path} has {clean.size}")
    reference = float(row["gain"]) * clean
    meta = {"utt_id": row["utt_id"], "noise": row["noise"], "snr_db": float(row["snr_db"]), "split": row["split"],
            "category": row.get("category") or noise_category(row["noise"]), "path": row["path"]}
    def scores(signal: np.ndarray) -> dict:
        if not task.dnsmos:
            return score_pair(reference, signal)
        from emgse.dnsmos import score_dnsmos

        return {**score_pair(reference, signal), **score_dnsmos(signal)}

    out = [{"system": NOISY, **meta, **scores(noisy)}] if task.score_noisy else []
    for system in task.systems:
        path = Path(task.enhanced_root) / system / row["path"]
        enhanced = _read_16k(path)
        if enhanced.size != noisy.size:
            raise file_error(path, f"{enhanced.size} samples, expected {noisy.size} (the length of the noisy input {noisy_path})")
        out.append({"system": system, **meta, **scores(enhanced)})
    return out


def _numpy_openblas() -> tuple | None:
    """``(get_num_threads, set_num_threads)`` of the OpenBLAS bundled with numpy, or None."""
    try:
        libs = sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("*openblas*.so*"))
        lib = ctypes.CDLL(str(libs[0]))  # already loaded by numpy: the same handle
        for suffix in ("64_", "_64_", ""):
            get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None) or getattr(lib, f"openblas_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None) or getattr(lib, f"openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                set_.argtypes = [ctypes.c_int]
                return get, set_
    except (IndexError, OSError, AttributeError):
        pass
    return None


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run numpy's OpenBLAS on one thread meanwhile (best effort, no-op if not found).

    Scoring parallelizes over processes; two workers each running a multi-threaded OpenBLAS
    oversubscribe the cores, and pystoi's many small matrix products then run 1.7x slower
    (measured on 2 cores). This does what threadpoolctl would, without the dependency.
    """
    blas = _numpy_openblas()
    if blas is None:
        yield
        return
    get, set_ = blas
    before = int(get())
    set_(1)
    try:
        yield
    finally:
        set_(before)


def init_worker() -> None:
    """Worker start: one BLAS thread for the worker's lifetime (the workers already use the cores)."""
    blas = _numpy_openblas()
    if blas is not None:
        blas[1](1)


def _check_files_exist(rows: list[dict], root: Path, systems: list[str]) -> None:
    """Fail before any scoring if an enhanced output is missing (one line, first file + count)."""
    for system in systems:
        missing = [root / system / r["path"] for r in rows if not (root / system / r["path"]).is_file()]
        if missing:
            more = f" ({len(missing) - 1} more of {len(rows)} missing for system {system!r})" if len(missing) > 1 else ""
            raise file_error(missing[0], f"enhanced file not found{more}")


def evaluate(
    mixtures_dir: str | Path,
    enhanced_root: str | Path | None,
    systems: Sequence[str] | None,
    out_dir: str | Path,
    *,
    jobs: int = 2,
    limit: int | None = None,
    splits: Sequence[str] | None = None,
    progress: bool = True,
    dnsmos: bool = False,
    score_noisy: bool = True,
    force: bool = True,
) -> list[dict]:
    """Score ``noisy`` and each system on every mixture and write scores and summaries to ``out_dir``.

    Args:
        mixtures_dir: folder of ``mixtures.csv`` and ``mix.json``.
        enhanced_root: folder of ``<system>/<mixture path>`` outputs, or None to score only ``noisy``.
        systems: systems to score (folders of ``enhanced_root``); None: every folder found.
        out_dir: where ``scores.csv``, the summaries and ``summary.md`` go (created if needed).
        jobs: worker processes; 1 scores in this process.
        limit: score only the first ``limit`` mixtures of the manifest (quick checks).
        splits: only mixtures of these splits; None: all.
        progress: show a progress bar.
        dnsmos: also compute the no-reference DNSMOS SIG/BAK/OVRL of every signal (slow: about
            0.5 s of one core per 9 s window).
        score_noisy: also score the unprocessed mixtures as system ``noisy`` (False: only
            ``systems``, e.g. to add one system to scores kept from an earlier run).
        force: replace a non-empty ``out_dir`` (False: refuse it, as the CLI does without
            ``--force``). ``out_dir`` is written as a set (:func:`emgse.files.output_dir`): it
            appears only complete.

    Returns:
        The score rows (dicts with :data:`SCORE_COLUMNS`), ``noisy`` first, then each system, each
        in manifest order.
    """
    mix_dir = Path(mixtures_dir)
    check_output(out_dir, inputs=[mix_dir, *([enhanced_root] if enhanced_root is not None else [])], force=force, folder=True)
    rows = read_manifest(mix_dir / MANIFEST)
    corpus_dir = Path(str(read_json(mix_dir / "mix.json").get("data", "")))
    if not corpus_dir.is_dir():
        raise file_error(mix_dir / "mix.json", f"prepared corpus folder {corpus_dir} (its 'data') not found")
    if "clean" not in (rows[0] if rows else {}):
        raise file_error(mix_dir / MANIFEST, "missing column clean")
    if splits:
        rows = [r for r in rows if r["split"] in set(splits)]
    if limit is not None:
        if limit < 1:
            raise EmgseError(f"limit {limit}: must be at least 1")
        rows = rows[:limit]
    if not rows:
        raise file_error(mix_dir / MANIFEST, f"no mixtures{' in split(s) ' + ', '.join(splits) if splits else ''}")
    if jobs < 1:
        raise EmgseError(f"jobs {jobs}: must be at least 1")
    names = find_systems(enhanced_root, systems)
    if names:
        _check_files_exist(rows, Path(enhanced_root), names)

    if not names and not score_noisy:
        raise EmgseError("nothing to score: no systems and score_noisy=False")
    tasks = [_Task(r, str(mix_dir), str(corpus_dir), None if enhanced_root is None else str(enhanced_root), tuple(names), dnsmos, score_noisy)
             for r in rows]
    with output_dir(out_dir, force=force) as out:  # held from here: a second run into out_dir is refused before scoring
        scores = _score_tasks(tasks, names, jobs, progress)
        _write_evaluation(out, scores, mix_dir, corpus_dir, enhanced_root, names, rows, limit, splits, dnsmos, score_noisy)
    return scores


def _score_tasks(tasks: list[_Task], names: list[str], jobs: int, progress: bool) -> list[dict]:
    """Score every task (in ``jobs`` processes); rows ``noisy`` first, then each system, in manifest order."""
    results: list[list[dict]] = []
    with tqdm(total=len(tasks), desc="score", unit="mix", disable=not progress) as bar:
        if jobs == 1 or len(tasks) == 1:
            with single_blas_thread():
                for task in tasks:
                    results.append(_score_mixture(task))
                    bar.update()
        else:
            chunk = max(1, min(16, len(tasks) // (jobs * 8)))
            executor = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), initializer=init_worker)
            try:
                for result in executor.map(_score_mixture, tasks, chunksize=chunk):
                    results.append(result)
                    bar.update()
            finally:  # on an error, drop the queued work instead of finishing it
                executor.shutdown(wait=True, cancel_futures=True)
    order = {name: i for i, name in enumerate([NOISY, *names])}
    return sorted((s for result in results for s in result), key=lambda s: order[s["system"]])  # stable


def _write_evaluation(out: Path, scores: list[dict], mix_dir: Path, corpus_dir: Path, enhanced_root, names: list[str],
                      rows: list[dict], limit: int | None, splits, dnsmos: bool, score_noisy: bool) -> None:
    write_scores(out / "scores.csv", scores)
    write_summaries(scores, out)
    write_json(
        out / "evaluate.json",
        {
            "mixtures": str(mix_dir.resolve()),
            "corpus": str(corpus_dir),
            "enhanced": None if enhanced_root is None else str(Path(enhanced_root).resolve()),
            "systems": [NOISY, *names] if score_noisy else names,
            "mixtures_scored": len(rows),
            "limit": limit,
            "splits": list(splits) if splits else None,
            "reference": "gain * clean (mixtures.csv gain times the prepared clean utterance)",
            "metrics": list(METRICS) + (list(DNSMOS_COLUMNS) if dnsmos else []),
        },
    )
