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
import csv
import ctypes
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emgse.errors import EmgseError, file_error
from emgse.files import check_output, output_dir, read_audio, read_json, write_json, write_text
from emgse.metrics import FS, METRICS, score_pair
from emgse.mixing import CATEGORIES, MANIFEST, noise_category, read_manifest  # noqa: F401 (noise_category re-exported)

NOISY = "noisy"
SCORE_COLUMNS = ("system", "utt_id", "noise", "snr_db", *METRICS, "split", "category", "path")
GROUPINGS = ("overall", "snr", "noise", "category")
_GROUP_KEY = {"overall": None, "snr": "snr_db", "noise": "noise", "category": "category"}
DNSMOS_COLUMNS = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
METRIC_LABELS = {"pesq": "PESQ", "stoi": "STOI", "estoi": "ESTOI", "si_sdr": "SI-SDR (dB)",
                 "dnsmos_sig": "DNSMOS SIG", "dnsmos_bak": "DNSMOS BAK", "dnsmos_ovrl": "DNSMOS OVRL"}
_DECIMALS = {"pesq": 3, "stoi": 3, "estoi": 3, "si_sdr": 2, "dnsmos_sig": 3, "dnsmos_bak": 3, "dnsmos_ovrl": 3}


# --------------------------------------------------------------------------- scoring
def find_systems(enhanced_root: str | Path | None, systems: Sequence[str] | None) -> list[str]:
    """The enhanced systems to score: those named, or every folder of ``enhanced_root``.

    ``noisy`` is not a folder but the mixture itself; naming it is allowed and ignored here.
    """
    named = [s for s in (systems or []) if s != NOISY]
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
def _single_blas_thread() -> Iterator[None]:
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


def _init_worker() -> None:
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
    results: list[list[dict]] = []
    with tqdm(total=len(tasks), desc="score", unit="mix", disable=not progress) as bar:
        if jobs == 1 or len(tasks) == 1:
            with _single_blas_thread():
                for task in tasks:
                    results.append(_score_mixture(task))
                    bar.update()
        else:
            chunk = max(1, min(16, len(tasks) // (jobs * 8)))
            executor = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), initializer=_init_worker)
            try:
                for result in executor.map(_score_mixture, tasks, chunksize=chunk):
                    results.append(result)
                    bar.update()
            finally:  # on an error, drop the queued work instead of finishing it
                executor.shutdown(wait=True, cancel_futures=True)
    order = {name: i for i, name in enumerate([NOISY, *names])}
    scores = sorted((s for result in results for s in result), key=lambda s: order[s["system"]])  # stable

    with output_dir(out_dir, force=force) as out:
        _write_evaluation(out, scores, mix_dir, corpus_dir, enhanced_root, names, rows, limit, splits, dnsmos, score_noisy)
    return scores


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


# --------------------------------------------------------------------------- scores.csv
def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _csv_text(rows: Iterable[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k, "")) for k in columns})
    return buf.getvalue()


def _metrics_of(scores: list[dict]) -> tuple[str, ...]:
    """The metrics present in score rows: :data:`METRICS`, plus the DNSMOS columns if scored."""
    return (*METRICS, *DNSMOS_COLUMNS) if scores and all(c in scores[0] for c in DNSMOS_COLUMNS) else METRICS


def score_columns(scores: list[dict]) -> tuple[str, ...]:
    """``scores.csv`` columns: :data:`SCORE_COLUMNS`, with the DNSMOS columns after the metrics if scored."""
    extra = _metrics_of(scores)[len(METRICS):]
    n = 4 + len(METRICS)
    return (*SCORE_COLUMNS[:n], *extra, *SCORE_COLUMNS[n:])


def write_scores(path: str | Path, scores: list[dict]) -> None:
    """Write score rows as CSV (columns :func:`score_columns`, NaN as an empty cell), atomically."""
    write_text(path, _csv_text(scores, score_columns(scores)))


def read_scores(path: str | Path) -> list[dict]:
    """Read ``scores.csv`` (numbers parsed, empty cells NaN); a folder means its ``scores.csv``."""
    path = Path(path)
    if path.is_dir():
        path = path / "scores.csv"
    if not path.is_file():
        raise file_error(path, "scores file not found")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in SCORE_COLUMNS[: 4 + len(METRICS)] if c not in (reader.fieldnames or [])]
        if missing:
            raise file_error(path, f"missing column(s) {', '.join(missing)}")
        rows = list(reader)
    if not rows:
        raise file_error(path, "no scores in this file")
    for i, row in enumerate(rows, start=2):
        try:
            row["snr_db"] = float(row["snr_db"])
            for m in (*METRICS, *(c for c in DNSMOS_COLUMNS if c in row)):
                row[m] = float(row[m]) if row[m] not in ("", None) else float("nan")
        except ValueError as e:
            raise file_error(path, f"line {i}: not a number ({e})") from None
        if not row.get("category"):
            row["category"] = noise_category(row["noise"])
    return rows


# --------------------------------------------------------------------------- summaries
def _ordered(values: Iterable, key=None) -> list:
    return sorted(dict.fromkeys(values), key=key) if key else list(dict.fromkeys(values))


def _group_order(scores: list[dict], by: str | None) -> list:
    if by is None:
        return ["all"]
    if by == "snr_db":
        return _ordered((s["snr_db"] for s in scores), key=float)
    if by == "category":
        return [c for c in CATEGORIES if any(s["category"] == c for s in scores)]
    cats = {s["noise"]: s["category"] for s in scores}
    return _ordered(cats, key=lambda n: (CATEGORIES.index(cats[n]) if cats[n] in CATEGORIES else 9, n))


def summarize(scores: list[dict], by: str | None = None, metrics: Sequence[str] | None = None) -> list[dict]:
    """Means per system and group (``by``: None for overall, ``"snr_db"``, ``"noise"``, ``"category"``).

    Each row: ``system``, the group value under ``by`` (``"group": "all"`` when overall), ``n``
    (mixtures), and per metric ``m`` its mean over the non-NaN scores, ``m_gain``: the mean over
    mixtures where both are finite of (system - noisy) on the same mixture (NaN for ``noisy``
    itself or without noisy scores), and ``m_nan``: how many scores were NaN. ``metrics``: default
    :data:`METRICS` plus the DNSMOS columns when the rows have them.
    """
    metrics = _metrics_of(scores) if metrics is None else tuple(metrics)
    systems = _ordered(s["system"] for s in scores)
    if NOISY in systems:
        systems.remove(NOISY)
        systems.insert(0, NOISY)
    mix_key = lambda s: (s.get("split", ""), s["utt_id"], s["noise"], float(s["snr_db"]))  # noqa: E731
    noisy = {mix_key(s): s for s in scores if s["system"] == NOISY}
    out = []
    for group in _group_order(scores, by):
        for system in systems:
            rows = [s for s in scores if s["system"] == system and (by is None or s[by] == group)]
            if not rows:
                continue
            summary: dict = {"system": system, by or "group": group, "n": len(rows)}
            for m in metrics:
                v = np.array([r[m] for r in rows], dtype=np.float64)
                ok = np.isfinite(v)
                summary[m] = float(v[ok].mean()) if ok.any() else float("nan")
                base = np.array([noisy[mix_key(r)][m] if mix_key(r) in noisy else np.nan for r in rows])
                paired = ok & np.isfinite(base)
                summary[f"{m}_gain"] = float((v - base)[paired].mean()) if system != NOISY and paired.any() else float("nan")
                summary[f"{m}_nan"] = int((~ok).sum())
            out.append(summary)
    return out


def summary_columns(by: str | None, metrics: Sequence[str] = METRICS) -> list[str]:
    """CSV columns of :func:`summarize` rows."""
    cols = ["system", by or "group", "n"]
    cols += [f"{m}{suffix}" for m in metrics for suffix in ("", "_gain")]
    return cols + [f"{m}_nan" for m in metrics]


def write_summaries(scores: list[dict], out_dir: str | Path) -> dict[str, Path]:
    """Write ``summary_{overall,snr,noise,category}.csv`` and ``summary.md``; return their paths."""
    out = Path(out_dir)
    paths = {}
    for grouping in GROUPINGS:
        by = _GROUP_KEY[grouping]
        path = out / f"summary_{grouping}.csv"
        write_text(path, _csv_text(summarize(scores, by), summary_columns(by, _metrics_of(scores))))
        paths[grouping] = path
    paths["markdown"] = out / "summary.md"
    write_text(paths["markdown"], summary_markdown(scores))
    return paths


# --------------------------------------------------------------------------- tables
@dataclass
class Table:
    """A rendered-format-neutral table: a title, column headers, rows of cell strings, notes."""

    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(self.header) - 1)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        for note in self.notes:  # one paragraph each
            lines += ["", note]
        return "\n".join(lines) + "\n"


def format_score(metric: str, mean: float, gain: float = float("nan")) -> str:
    """``"2.118 (+0.930)"``, or ``"2.118"`` without a gain, ``"-"`` when undefined."""
    if math.isnan(mean):
        return "-"
    d = _DECIMALS[metric]
    # + 0.0 turns a rounded -0.0 into 0.0, so no "-0.000"
    return f"{mean:.{d}f}" if math.isnan(gain) else f"{mean:.{d}f} ({round(gain, d) + 0.0:+.{d}f})"


def _snr_label(snr: float) -> str:
    return f"{snr:g} dB"


def summary_tables(scores: list[dict]) -> list[Table]:
    """Paper-style tables of the scores.

    1. Overall: one row per system, each metric as ``mean (gain over noisy)``, with ``n``.
    2. One table per metric: rows are systems, columns every SNR, each noise category and all.
    3. One table per metric by noise type: rows are noises, columns systems.
    """
    overall = summarize(scores)
    overall_metrics = _metrics_of(scores)
    by_snr = summarize(scores, "snr_db")
    by_cat = summarize(scores, "category")
    by_noise = summarize(scores, "noise")
    systems = [r["system"] for r in overall]
    n_mix = overall[0]["n"]
    utts = len({(s.get("split", ""), s["utt_id"]) for s in scores})
    noises = _group_order(scores, "noise")
    snrs = _group_order(scores, "snr_db")
    note = (f"Mean over {n_mix} mixtures ({utts} utterances, {len(noises)} noises, {len(snrs)} SNRs); "
            f"in parentheses: the mean paired gain over `{NOISY}`. Reference: gain x clean.")
    nan_notes = [
        f"{METRIC_LABELS[m]}: {r[f'{m}_nan']} of {r['n']} `{r['system']}` scores undefined (NaN), left out of the means."
        for r in overall for m in METRICS if r[f"{m}_nan"]
    ]
    tables = [
        Table(
            "Overall",
            ["System", "n", *(METRIC_LABELS[m] for m in overall_metrics)],
            [[r["system"], str(r["n"]), *(format_score(m, r[m], r[f"{m}_gain"]) for m in overall_metrics)] for r in overall],
            [note, *nan_notes],
        )
    ]
    cats = [c for c in CATEGORIES if any(r["category"] == c for r in by_cat)]
    for m in METRICS:
        header = ["System", *(_snr_label(s) for s in snrs), *cats, "all"]
        rows = []
        for system in systems:
            cells = [next(r for r in by_snr if r["system"] == system and r["snr_db"] == s) for s in snrs]
            cells += [next(r for r in by_cat if r["system"] == system and r["category"] == c) for c in cats]
            cells += [next(r for r in overall if r["system"] == system)]
            rows.append([system, *(format_score(m, c[m], c[f"{m}_gain"]) for c in cells)])
        tables.append(Table(f"{METRIC_LABELS[m]} by SNR and noise category", header, rows))
    for m in METRICS:
        rows = []
        for noise in noises:
            cells = {r["system"]: r for r in by_noise if r["noise"] == noise}
            category = next(r["category"] for r in scores if r["noise"] == noise)
            rows.append([noise, category, *(format_score(m, cells[s][m], cells[s][f"{m}_gain"]) if s in cells else "-" for s in systems)])
        tables.append(Table(f"{METRIC_LABELS[m]} by noise type", ["Noise", "Category", *systems], rows))
    return tables


def summary_markdown(scores: list[dict], title: str = "Scores") -> str:
    """All of :func:`summary_tables` as Markdown, ready to print or paste."""
    return f"## {title}\n\n" + "\n".join(t.markdown() for t in summary_tables(scores))


# --------------------------------------------------------------------------- real recordings (--pairs)
PAIR_COLUMNS = ("system", "file", *METRICS, *DNSMOS_COLUMNS)
WORSE_ESTOI = 0.02  # a file is "made worse" when its ESTOI falls more than this below the noisy input's
PAIR_SUMMARY_COLUMNS = ("system", "n", *(f"{m}{s}" for m in (*METRICS, *DNSMOS_COLUMNS) for s in ("", "_gain")),
                        "worse_estoi", "lower_pesq")


@dataclass(frozen=True)
class Pair:
    """One real recording: its name, the clean reference and the noisy input, both ``(samples,)`` at 16 kHz."""

    name: str
    clean: np.ndarray
    noisy: np.ndarray


def _wavs(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.wav")) if not p.name.startswith(".")}


def read_pairs(folder: str | Path) -> list[Pair]:
    """Read ``DIR/clean/X.wav`` + ``DIR/noisy/X.wav`` pairs (any rate; resampled to 16 kHz), sorted by name.

    Raises one-line :class:`EmgseError` s for a missing folder, no pairs, a file without its
    partner, and a pair whose durations differ by more than one sample.
    """
    from emgse.features.resample import resample

    folder = Path(folder)
    if not folder.is_dir():
        raise file_error(folder, "pairs folder not found (expected DIR/clean/X.wav and DIR/noisy/X.wav)")
    for sub in ("clean", "noisy"):
        if not (folder / sub).is_dir():
            raise file_error(folder / sub, "folder not found (a pairs folder holds clean/X.wav and noisy/X.wav)")
    clean, noisy = _wavs(folder / "clean"), _wavs(folder / "noisy")
    if not clean and not noisy:
        raise file_error(folder, "no .wav files in clean/ and noisy/")
    for have, other in ((clean, "noisy"), (noisy, "clean")):
        lonely = sorted(set(have) - set(clean if other == "clean" else noisy))
        if lonely:
            more = f" ({len(lonely) - 1} more unmatched)" if len(lonely) > 1 else ""
            raise file_error(have[lonely[0]], f"no {other}/{lonely[0]}.wav to pair it with{more}")
    pairs = []
    for name in sorted(clean):
        (c, fc), (x, fx) = read_audio(clean[name]), read_audio(noisy[name])
        if abs(c.size / fc - x.size / fx) > 1.0 / min(fc, fx) + 1e-9:
            raise file_error(noisy[name], f"lasts {x.size / fx:.4f} s but its clean file {clean[name]} {c.size / fc:.4f} s; a pair must match")
        c, x = resample(np.asarray(c, np.float64), fc, FS), resample(np.asarray(x, np.float64), fx, FS)
        n = min(c.size, x.size)
        pairs.append(Pair(name, c[:n], x[:n]))
    return pairs


def system_names(checkpoints: Sequence[str | Path], names: Sequence[str] | None = None) -> list[str]:
    """A system name per checkpoint: given, else the file's stem (its folder's name for ``best.pt``/``last.pt``)."""
    if names:
        if len(names) != len(checkpoints):
            raise EmgseError(f"{len(names)} system name(s) for {len(checkpoints)} checkpoint(s); give one per checkpoint")
        out = list(names)
    else:
        out = []
        for ckpt in checkpoints:
            p = Path(ckpt)
            base = p.parent.name if p.stem in ("best", "last") and p.parent.name else p.stem
            name, i = base, 2
            while name in out:
                name, i = f"{base}-{i}", i + 1
            out.append(name)
    if NOISY in out or len(set(out)) != len(out):
        raise EmgseError(f"system names {', '.join(out)}: must be distinct and not {NOISY!r}")
    return out


def _score_signal(task: tuple[str, str, np.ndarray, np.ndarray, bool]) -> dict:
    system, name, reference, signal, dnsmos = task
    row = {"system": system, "file": name, **score_pair(reference, signal)}
    if dnsmos:
        from emgse.dnsmos import score_dnsmos

        row.update(score_dnsmos(signal))
    return row


def evaluate_pairs(
    pairs_dir: str | Path,
    checkpoints: Sequence[str | Path],
    out_dir: str | Path,
    *,
    systems: Sequence[str] | None = None,
    dnsmos: bool = True,
    jobs: int = 2,
    progress: bool = True,
    write_audio: bool = True,
    atten_lim_db: float | None = None,
    force: bool = True,
) -> list[dict]:
    """Enhance real noisy recordings with each checkpoint and score all against their clean pairs.

    Every checkpoint runs in audio-only mode: EMG models get the 'EMG absent' input (zero
    features, what EMG dropout trains for). Scores at 16 kHz: PESQ, STOI, ESTOI, SI-SDR and (with
    ``dnsmos``) DNSMOS SIG/BAK/OVRL, for ``noisy`` and each system. ``atten_lim_db``: the
    enhancers' attenuation limit (:func:`emgse.enhance.limit_attenuation`; None: none).

    Writes to ``out_dir``: ``pair_scores.csv`` (one row per system x file, :data:`PAIR_COLUMNS`),
    ``pair_summary.csv`` and ``pair_summary.md`` (:func:`summarize_pairs`), ``pairs.json``, and with
    ``write_audio`` the enhanced files ``enhanced/<system>/X.wav`` (16 kHz), as a set
    (:func:`emgse.files.output_dir`); ``force``: replace a non-empty ``out_dir`` (False: refuse it).

    Returns:
        The score rows, ``noisy`` first, then each system, files in name order.
    """
    check_output(out_dir, inputs=[pairs_dir, *checkpoints], force=force, folder=True)
    pairs = read_pairs(pairs_dir)
    names = system_names(checkpoints, systems)
    if jobs < 1:
        raise EmgseError(f"jobs {jobs}: must be at least 1")
    with output_dir(out_dir, force=force) as out:
        return _enhance_score_pairs(pairs_dir, pairs, checkpoints, names, out, dnsmos=dnsmos, jobs=jobs, progress=progress,
                                    write_audio=write_audio, atten_lim_db=atten_lim_db)


def _enhance_score_pairs(pairs_dir, pairs: list[Pair], checkpoints, names: list[str], out: Path, *, dnsmos: bool, jobs: int,
                         progress: bool, write_audio: bool, atten_lim_db: float | None) -> list[dict]:
    from emgse.enhance import Enhancer
    from emgse.files import write_wav

    tasks = [(NOISY, p.name, p.clean, p.noisy, dnsmos) for p in pairs]
    for ckpt, system in zip(checkpoints, names, strict=True):
        enhancer = Enhancer(ckpt, atten_lim_db=atten_lim_db)
        for p in tqdm(pairs, desc=f"enhance {system}", unit="file", disable=not progress):
            y = enhancer.enhance(p.noisy.astype(np.float32), where=f"{pairs_dir}/noisy/{p.name}.wav", allow_missing_emg=True)
            if write_audio:
                write_wav(out / "enhanced" / system / f"{p.name}.wav", y, FS)
            tasks.append((system, p.name, p.clean, y.astype(np.float64), dnsmos))
    rows: list[dict] = []
    with tqdm(total=len(tasks), desc="score pairs", unit="file", disable=not progress) as bar:
        if jobs == 1:
            with _single_blas_thread():
                for task in tasks:
                    rows.append(_score_signal(task))
                    bar.update()
        else:
            executor = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), initializer=_init_worker)
            try:
                for row in executor.map(_score_signal, tasks, chunksize=max(1, len(tasks) // (jobs * 4))):
                    rows.append(row)
                    bar.update()
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
    columns = PAIR_COLUMNS if dnsmos else PAIR_COLUMNS[: 2 + len(METRICS)]
    write_text(out / "pair_scores.csv", _csv_text(rows, columns))
    summary = summarize_pairs(rows)
    write_text(out / "pair_summary.csv", _csv_text(summary, [c for c in PAIR_SUMMARY_COLUMNS if c in summary[0]]))
    write_text(out / "pair_summary.md", pairs_table(rows, f"Real recordings: {Path(pairs_dir).name}",
                                                    evaluation_only=is_evaluation_pairs(pairs_dir)).markdown())
    write_json(out / "pairs.json", {"pairs": str(Path(pairs_dir).resolve()), "files": len(pairs),
                                    "checkpoints": {s: str(Path(c).resolve()) for s, c in zip(names, checkpoints, strict=True)},
                                    "emg": "absent (audio-only mode)", "metrics": list(columns[2:]), "worse_estoi": WORSE_ESTOI,
                                    "atten_lim_db": atten_lim_db})
    return rows


def summarize_pairs(rows: list[dict]) -> list[dict]:
    """Per system: ``n``, the mean of each metric, ``m_gain`` (mean paired difference to ``noisy``),
    ``worse_estoi`` (files whose ESTOI falls more than :data:`WORSE_ESTOI` below noisy's) and
    ``lower_pesq`` (files with a lower PESQ than noisy's); NaN counts for ``noisy`` itself."""
    metrics = [m for m in (*METRICS, *DNSMOS_COLUMNS) if rows and m in rows[0]]
    noisy = {r["file"]: r for r in rows if r["system"] == NOISY}
    out = []
    for system in _ordered(r["system"] for r in rows):
        mine = [r for r in rows if r["system"] == system]
        s: dict = {"system": system, "n": len(mine)}
        for m in metrics:
            v = np.array([r[m] for r in mine], np.float64)
            base = np.array([noisy[r["file"]][m] if r["file"] in noisy else np.nan for r in mine], np.float64)
            s[m] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
            d = v - base
            s[f"{m}_gain"] = float(np.nanmean(d)) if system != NOISY and np.isfinite(d).any() else float("nan")
            if m == "estoi":
                s["worse_estoi"] = float("nan") if system == NOISY else int(np.sum(d < -WORSE_ESTOI))
            if m == "pesq":
                s["lower_pesq"] = float("nan") if system == NOISY else int(np.sum(d < 0))
        out.append(s)
    return out


EVALUATION_PAIRS = "voicebank-demand-test"  # the shared real pairs kept for evaluation only


def is_evaluation_pairs(pairs_dir: str | Path) -> bool:
    """Whether ``pairs_dir`` is the evaluation-only VoiceBank-DEMAND set (by its folder name)."""
    return Path(pairs_dir).name == EVALUATION_PAIRS


def pairs_table(rows: list[dict], title: str, *, evaluation_only: bool = True) -> Table:
    """:func:`summarize_pairs` as a :class:`Table`: mean (gain over noisy) per metric and the worse counts.

    ``evaluation_only``: the note says the pairs were never used to train or select models (true of
    the VoiceBank-DEMAND pairs; not of a development set such as benchmarks/dev_pairs.py's)."""
    summary = summarize_pairs(rows)
    metrics = [m for m in (*METRICS, *DNSMOS_COLUMNS) if m in summary[0]]
    n = summary[0]["n"]
    count = lambda v: "-" if isinstance(v, float) else f"{v} of {n}"  # noqa: E731
    body = [[s["system"], str(s["n"]), *(format_score(m, s[m], s[f"{m}_gain"]) for m in metrics),
             count(s["worse_estoi"]), count(s["lower_pesq"])] for s in summary]
    header = ["System", "n", *(METRIC_LABELS[m] for m in metrics), f"ESTOI worse by > {WORSE_ESTOI:g}", "PESQ lower"]
    note = (f"Mean over {n} real recordings; in parentheses: the mean paired gain over `{NOISY}`. Every model runs "
            "audio-only (EMG absent)." + (" Evaluation only: never used to train or select models." if evaluation_only else ""))
    return Table(title, header, body, [note])


@dataclass(frozen=True)
class PairsTarget:
    """What a model must do on real pairs, judged on :func:`summarize_pairs`: a mean PESQ and a mean
    ESTOI gain over ``noisy`` of at least ``pesq_gain`` / ``estoi_gain``, and at most ``max_worse``
    files whose ESTOI falls more than :data:`WORSE_ESTOI` below the noisy input's; with
    ``dnsmos_gain``, a mean DNSMOS OVRL gain of at least that much too."""

    label: str
    pesq_gain: float = 0.0
    estoi_gain: float = 0.0
    max_worse: int = 0
    dnsmos_gain: float | None = None

    def shortfalls(self, summary_row: dict) -> list[str]:
        """The conditions ``summary_row`` misses, each with by how much (``[]``: the target is met).
        Gains are judged at the precision they are printed with (3 decimals)."""
        out = []
        wants = [("pesq", self.pesq_gain), ("estoi", self.estoi_gain)]
        if self.dnsmos_gain is not None:
            wants.append(("dnsmos_ovrl", self.dnsmos_gain))
        for metric, wanted in wants:
            short = wanted - round(summary_row.get(f"{metric}_gain", math.nan), 3)
            if not short <= 0:  # NaN (not scored) counts as missed
                out.append(f"{METRIC_LABELS[metric]} gain short by {short:.3f}" if math.isfinite(short) else f"{METRIC_LABELS[metric]} not scored")
        worse = summary_row["worse_estoi"]
        if worse > self.max_worse:
            out.append(f"{worse} file{'' if worse == 1 else 's'} worse (at most {self.max_worse})")
        return out

    def table(self, rows: list[dict], title: str | None = None) -> Table:
        """One row per system (``noisy`` left out): its gains, its worse count and the verdict."""
        summary = [s for s in summarize_pairs(rows) if s["system"] != NOISY]
        n = summary[0]["n"] if summary else 0
        dnsmos = self.dnsmos_gain is not None
        header = ["System", f"PESQ gain (>= {self.pesq_gain:+.2f})", f"ESTOI gain (>= {self.estoi_gain:+.2f})",
                  *([f"DNSMOS OVRL gain (>= {self.dnsmos_gain:+.2f})"] if dnsmos else []),
                  f"files ESTOI worse by > {WORSE_ESTOI:g} (<= {self.max_worse})", "verdict"]
        body = []
        for s in summary:
            missed = self.shortfalls(s)
            gains = [f"{round(s.get(f'{m}_gain', math.nan), 3) + 0.0:+.3f}" for m in ("pesq", "estoi", *(["dnsmos_ovrl"] if dnsmos else []))]
            body.append([s["system"], *gains, f"{s['worse_estoi']} of {n}", "met" if not missed else "missed: " + "; ".join(missed)])
        return Table(title or f"Target: {self.label}", header, body,
                     [f"Mean paired gains over `{NOISY}` on {n} real recordings; every model runs audio-only (EMG absent)."])


# The demo's check (issue 10): a fresh-machine model must not make real recordings worse on average,
# and at most 2 files (of VoiceBank-DEMAND's 25) may lose more than WORSE_ESTOI.
NO_HARM = PairsTarget("does no harm to real recordings", pesq_gain=0.0, estoi_gain=0.0, max_worse=2)
# ... and a model trained on recorded speech must clearly help them, harming no file.
HELPS_REAL_SPEECH = PairsTarget("helps real recordings", pesq_gain=0.25, estoi_gain=0.01, max_worse=0)
# The shipped pretrained model (benchmarks/pretrain.py, issue 24): what the same network reached when
# trained on the fly for 6 GPU-minutes, held as the bar for the weights that ship.
PRETRAINED_TARGET = PairsTarget("the pretrained model helps real recordings", pesq_gain=0.40, estoi_gain=0.02, max_worse=0,
                                dnsmos_gain=0.0)
