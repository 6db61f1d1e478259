"""Summaries of score rows: per system and group (overall, SNR, noise, category) the mean of
each metric, its paired gain over ``noisy`` and the NaNs left out (``summary_*.csv``), and the
paper-style Markdown tables (:class:`Table`, ``summary.md``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emgse.files import write_text
from emgse.metrics import METRICS
from emgse.mixing import CATEGORIES, MANIFEST, noise_category, read_manifest  # noqa: F401 (noise_category re-exported)
from emgse.scoring.rows import METRIC_LABELS, NOISY, csv_text, metrics_of

GROUPINGS = ("overall", "snr", "noise", "category")


_GROUP_KEY = {"overall": None, "snr": "snr_db", "noise": "noise", "category": "category"}


_DECIMALS = {"pesq": 3, "stoi": 3, "estoi": 3, "si_sdr": 2, "dnsmos_sig": 3, "dnsmos_bak": 3, "dnsmos_ovrl": 3}


# --------------------------------------------------------------------------- summaries
def ordered(values: Iterable, key=None) -> list:
    return sorted(dict.fromkeys(values), key=key) if key else list(dict.fromkeys(values))


def _group_order(scores: list[dict], by: str | None) -> list:
    if by is None:
        return ["all"]
    if by == "snr_db":
        return ordered((s["snr_db"] for s in scores), key=float)
    if by == "category":
        return [c for c in CATEGORIES if any(s["category"] == c for s in scores)]
    cats = {s["noise"]: s["category"] for s in scores}
    return ordered(cats, key=lambda n: (CATEGORIES.index(cats[n]) if cats[n] in CATEGORIES else 9, n))


def summarize(scores: list[dict], by: str | None = None, metrics: Sequence[str] | None = None) -> list[dict]:
    """Means per system and group (``by``: None for overall, ``"snr_db"``, ``"noise"``, ``"category"``).

    Each row: ``system``, the group value under ``by`` (``"group": "all"`` when overall), ``n``
    (mixtures), and per metric ``m`` its mean over the non-NaN scores, ``m_gain``: the mean over
    mixtures where both are finite of (system - noisy) on the same mixture (NaN for ``noisy``
    itself or without noisy scores), and ``m_nan``: how many scores were NaN. ``metrics``: default
    :data:`METRICS` plus the DNSMOS columns when the rows have them.
    """
    metrics = metrics_of(scores) if metrics is None else tuple(metrics)
    systems = ordered(s["system"] for s in scores)
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
        write_text(path, csv_text(summarize(scores, by), summary_columns(by, metrics_of(scores))))
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
    overall_metrics = metrics_of(scores)
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
