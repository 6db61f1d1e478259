"""Real recorded pairs (``DIR/clean/X.wav`` + ``DIR/noisy/X.wav``, any rate; evaluation only):
enhance each with every checkpoint (audio only), score per file (PESQ, STOI, ESTOI, SI-SDR,
DNSMOS), summarize (mean, paired gain, files made worse) and tabulate (``emgse evaluate --pairs``)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emgse.errors import EmgseError, file_error
from emgse.files import (
    check_output,
    output_dir,
    plain_name,
    read_audio,
    read_json,
    write_json,
    write_text,
)
from emgse.metrics import FS, METRICS, score_pair
from emgse.mixing import CATEGORIES, MANIFEST, noise_category, read_manifest  # noqa: F401 (noise_category re-exported)
from emgse.scoring.rows import DNSMOS_COLUMNS, METRIC_LABELS, NOISY, csv_text
from emgse.scoring.scores import init_worker, single_blas_thread
from emgse.scoring.summaries import Table, format_score, ordered

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
    for name in out:
        plain_name(name, "--system")
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
    baselines: Sequence[str] = (),
) -> list[dict]:
    """Enhance real noisy recordings with each checkpoint and score all against their clean pairs.

    Every checkpoint runs in audio-only mode: EMG models get the 'EMG absent' input (zero
    features, what EMG dropout trains for). Scores at 16 kHz: PESQ, STOI, ESTOI, SI-SDR and (with
    ``dnsmos``) DNSMOS SIG/BAK/OVRL, for ``noisy`` and each system. ``atten_lim_db``: the
    enhancers' attenuation limit (:func:`emgse.enhance.limit_attenuation`; None: none).
    ``baselines``: audio-only baselines (:mod:`emgse.baselines`) scored as systems after the
    checkpoints, under their names; one not installed is refused before any work.

    Writes to ``out_dir``: ``pair_scores.csv`` (one row per system x file, :data:`PAIR_COLUMNS`),
    ``pair_summary.csv`` and ``pair_summary.md`` (:func:`summarize_pairs`), ``pairs.json``, and with
    ``write_audio`` the enhanced files ``enhanced/<system>/X.wav`` (16 kHz), as a set
    (:func:`emgse.files.output_dir`); ``force``: replace a non-empty ``out_dir`` (False: refuse it).

    Returns:
        The score rows, ``noisy`` first, then each system, files in name order.
    """
    check_output(out_dir, inputs=[pairs_dir, *checkpoints], force=force, folder=True)
    from emgse.baselines import require_baselines

    baselines = require_baselines(baselines)
    pairs = read_pairs(pairs_dir)
    names = system_names(checkpoints, systems)
    if set(baselines) & set(names):
        raise EmgseError(f"system name(s) {', '.join(sorted(set(baselines) & set(names)))}: taken by a baseline; name the checkpoint otherwise")
    if jobs < 1:
        raise EmgseError(f"jobs {jobs}: must be at least 1")
    with output_dir(out_dir, force=force) as out:
        return _enhance_score_pairs(pairs_dir, pairs, checkpoints, names, out, dnsmos=dnsmos, jobs=jobs, progress=progress,
                                    write_audio=write_audio, atten_lim_db=atten_lim_db, baselines=baselines)


def _pair_enhancers(checkpoints, names: list[str], baselines: list[str], atten_lim_db: float | None):
    """``(system, enhance)`` per checkpoint (audio only, EMG absent) and per baseline, loaded one at a time:
    ``enhance(noisy (samples,) at 16 kHz, where) -> (samples,)``."""
    from emgse.baselines import BaselineEnhancer
    from emgse.enhance import Enhancer

    for ckpt, system in zip(checkpoints, names, strict=True):
        enhancer = Enhancer(ckpt, atten_lim_db=atten_lim_db)
        yield system, lambda x, where, e=enhancer: e.enhance(x, where=where, allow_missing_emg=True)
    for name in baselines:
        baseline = BaselineEnhancer(name)
        yield name, lambda x, where, b=baseline: b.enhance(x)


def _enhance_score_pairs(pairs_dir, pairs: list[Pair], checkpoints, names: list[str], out: Path, *, dnsmos: bool, jobs: int,
                         progress: bool, write_audio: bool, atten_lim_db: float | None, baselines: list[str]) -> list[dict]:
    from emgse.baselines import package_version
    from emgse.files import write_wav

    tasks = [(NOISY, p.name, p.clean, p.noisy, dnsmos) for p in pairs]
    for system, enhance in _pair_enhancers(checkpoints, names, baselines, atten_lim_db):
        for p in tqdm(pairs, desc=f"enhance {system}", unit="file", disable=not progress):
            y = enhance(p.noisy.astype(np.float32), f"{pairs_dir}/noisy/{p.name}.wav")
            if write_audio:
                write_wav(out / "enhanced" / system / f"{p.name}.wav", y, FS)
            tasks.append((system, p.name, p.clean, y.astype(np.float64), dnsmos))
    rows: list[dict] = []
    with tqdm(total=len(tasks), desc="score pairs", unit="file", disable=not progress) as bar:
        if jobs == 1:
            with single_blas_thread():
                for task in tasks:
                    rows.append(_score_signal(task))
                    bar.update()
        else:
            executor = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), initializer=init_worker)
            try:
                for row in executor.map(_score_signal, tasks, chunksize=max(1, len(tasks) // (jobs * 4))):
                    rows.append(row)
                    bar.update()
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
    columns = PAIR_COLUMNS if dnsmos else PAIR_COLUMNS[: 2 + len(METRICS)]
    write_text(out / "pair_scores.csv", csv_text(rows, columns))
    summary = summarize_pairs(rows)
    write_text(out / "pair_summary.csv", csv_text(summary, [c for c in PAIR_SUMMARY_COLUMNS if c in summary[0]]))
    write_text(out / "pair_summary.md", pairs_table(rows, f"Real recordings: {Path(pairs_dir).name}",
                                                    evaluation_only=is_evaluation_pairs(pairs_dir)).markdown())
    write_json(out / "pairs.json", {"pairs": str(Path(pairs_dir).resolve()), "files": len(pairs),
                                    "checkpoints": {s: str(Path(c).resolve()) for s, c in zip(names, checkpoints, strict=True)},
                                    "fingerprints": checkpoint_fingerprints(names, checkpoints),
                                    "baselines": {b: package_version(b) for b in baselines},
                                    "emg": "absent (audio-only mode)", "metrics": list(columns[2:]), "worse_estoi": WORSE_ESTOI,
                                    "atten_lim_db": atten_lim_db})
    return rows


def checkpoint_fingerprints(names: Sequence[str], checkpoints: Sequence[str | Path]) -> dict[str, list[int]]:
    """``{system: [bytes, mtime_ns]}`` of each checkpoint file: what says a retrained model from an old one."""
    from emgse.resources import checkpoint_path

    stats = {s: checkpoint_path(c).stat() for s, c in zip(names, checkpoints, strict=True)}
    return {s: [st.st_size, st.st_mtime_ns] for s, st in stats.items()}


def reused_pair_scores(out_dir: str | Path, pairs_dir: str | Path, checkpoints: Sequence[str | Path], systems: Sequence[str],
                       dnsmos: bool, baselines: Sequence[str] = ()) -> list[dict] | None:
    """The rows an earlier :func:`evaluate_pairs` wrote to ``out_dir`` when it scored the same pairs,
    systems and checkpoint files (:func:`checkpoint_fingerprints`), the same baselines (and their
    package versions) with the same metrics; else None."""
    from emgse.baselines import package_version

    out_dir = Path(out_dir)
    if not ((out_dir / "pairs.json").is_file() and (out_dir / "pair_scores.csv").is_file()):
        return None
    meta = read_json(out_dir / "pairs.json")
    columns = list(PAIR_COLUMNS if dnsmos else PAIR_COLUMNS[: 2 + len(METRICS)])
    if (meta.get("pairs") != str(Path(pairs_dir).resolve()) or meta.get("metrics") != columns[2:]
            or meta.get("fingerprints") != checkpoint_fingerprints(systems, checkpoints)
            or meta.get("baselines", {}) != {b: package_version(b) for b in baselines}):
        return None
    with open(out_dir / "pair_scores.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [{k: (float(v) if v else float("nan")) if k in columns[2:] else v for k, v in r.items()} for r in rows]


def summarize_pairs(rows: list[dict]) -> list[dict]:
    """Per system: ``n``, the mean of each metric, ``m_gain`` (mean paired difference to ``noisy``),
    ``worse_estoi`` (files whose ESTOI falls more than :data:`WORSE_ESTOI` below noisy's) and
    ``lower_pesq`` (files with a lower PESQ than noisy's); NaN counts for ``noisy`` itself."""
    metrics = [m for m in (*METRICS, *DNSMOS_COLUMNS) if rows and m in rows[0]]
    noisy = {r["file"]: r for r in rows if r["system"] == NOISY}
    out = []
    for system in ordered(r["system"] for r in rows):
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
