"""Fusion gains: each fusion model minus its same-budget audio-only twin (:data:`FUSION_PAIRS`) on
the same mixtures, per SNR or overall, with a 95% Student-t interval over utterances
(:func:`paired_gains`, :func:`fusion_gain_table`), and the level of speech from EMG alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from emgse.scoring.rows import METRIC_LABELS
from emgse.scoring.run_names import RUN_SUFFIXES
from emgse.scoring.summaries import Table


# --------------------------------------------------------------------------- plots
def systems_of(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["system"] for r in rows))


# --------------------------------------------------------------------------- fusion gain over audio-only
EMG_ALONE = "emg-alone"  # speech from EMG alone (emgse voice): no microphone, the same output at every SNR


GAIN_METRICS = ("pesq", "stoi", "estoi")


# Each fusion system and its same-budget audio-only partner: the same audio path and training, no EMG.
# A system not listed here gets no gain curve (pass ``pairs=`` to write_report/build_report for others).
# Each pair also stands with both runs trained with other losses (``emgse-mask-comp`` / ``audio-mask-comp``,
# ``emgse-mask-comp-sisdr`` / ``audio-mask-comp-sisdr``: :data:`emgse.scoring.run_names.RUN_SUFFIXES`).
_PAIRS: tuple[tuple[str, str], ...] = (
    ("emgse", "audio"),
    ("emgse-cheek", "audio"),
    ("emgse-chin", "audio"),
    ("emgse-tcn", "audio"),
    ("emgse-map", "audio"),
    ("emgse-mask", "audio-mask"),
    ("emgse-mask-cheek", "audio-mask"),
    ("emgse-mask-chin", "audio-mask"),
    ("emgse-mask-minmax", "audio-mask"),
    ("emgse-zscore", "audio"),
    ("emgse-prior", "audio-mask"),
    ("emgse-snr", "audio-mask"),
    ("causal-emgse", "causal-audio"),
)


FUSION_PAIRS: tuple[tuple[str, str], ...] = tuple((f + x, a + x) for x in RUN_SUFFIXES for f, a in _PAIRS)


def present_pairs(scores: list[dict], pairs: Sequence[tuple[str, str]] = FUSION_PAIRS) -> list[tuple[str, str]]:
    """The ``(fusion, audio-only)`` pairs whose two systems both have scores, in ``pairs`` order."""
    systems = set(systems_of(scores))
    return [(f, a) for f, a in dict.fromkeys(tuple(p) for p in pairs) if f in systems and a in systems]


def _mix_key(row: Mapping) -> tuple:
    return row.get("split", ""), row["utt_id"], row["noise"], float(row["snr_db"])


# the label of each noise category of the score rows (emgse.mixing.noise_category decides it)
CATEGORY_LABELS = {"speech": "competing talkers", "nonspeech": "non-speech noise"}


def _group_of(row: Mapping, by: str):
    return str(row[by]) if by == "category" else float(row[by])


def interval_half_width(values: np.ndarray, confidence: float = 0.95) -> float:
    """Half-width of the Student-t ``confidence`` interval of the mean of ``values`` ``(n,)``
    (independent observations, e.g. one per utterance); NaN with fewer than two."""
    from scipy.stats import t as student_t

    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return float("nan")
    return float(student_t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))


def paired_gains(
    scores: list[dict],
    pairs: Sequence[tuple[str, str]] = FUSION_PAIRS,
    by: str | None = "snr_db",
    metrics: Sequence[str] = GAIN_METRICS,
    confidence: float = 0.95,
) -> list[dict]:
    """``system - baseline`` on the same mixtures, per pair and group, with a confidence interval.

    Args:
        scores: score rows (:func:`emgse.scoring.read_scores`).
        pairs: ``(system, baseline)`` pairs; those without scores for both are skipped.
        by: ``"snr_db"`` for one row per SNR, ``"category"`` per noise category (speech or
            nonspeech, :func:`emgse.mixing.noise_category`), None for one row over every mixture
            (``"group": "all"``).

    Returns:
        One dict per present pair and group: ``fusion``, ``audio``, the group value, and per metric
        ``m``: the mean paired difference over mixtures where both scores are finite (the same rule
        as the ``_gain`` of :func:`emgse.scoring.summarize`), ``m_n`` pairs used, and ``m_lo``,
        ``m_hi``: a Student-t interval over utterances (the mean difference of each utterance over
        its mixtures in the group is one observation, since the mixtures of one utterance are not
        independent); NaN with fewer than two utterances.
    """
    out = []
    groups = sorted({_group_of(r, by) for r in scores}) if by else ["all"]
    for fusion, audio in present_pairs(scores, pairs):
        base = {_mix_key(r): r for r in scores if r["system"] == audio}
        rows = [r for r in scores if r["system"] == fusion and _mix_key(r) in base]
        group_of = np.array([_group_of(r, by) if by else 0.0 for r in rows], dtype=object)
        utt = np.array([f"{r.get('split', '')}/{r['utt_id']}" for r in rows], dtype=object)
        for group in groups:
            in_group = group_of == group if by else np.ones(len(rows), dtype=bool)
            if not in_group.any():
                continue
            result: dict = {"fusion": fusion, "audio": audio, by or "group": group}
            for m in metrics:
                d = np.array([r[m] - base[_mix_key(r)][m] for r in rows], dtype=np.float64)
                ok = in_group & np.isfinite(d)
                mean = float(d[ok].mean()) if ok.any() else float("nan")
                _, inverse = np.unique(utt[ok].astype(str), return_inverse=True)
                per_utt = np.bincount(inverse, weights=d[ok]) / np.bincount(inverse) if ok.any() else np.zeros(0)
                half = interval_half_width(per_utt, confidence)
                result.update({m: mean, f"{m}_n": int(ok.sum()), f"{m}_lo": mean - half, f"{m}_hi": mean + half})
            out.append(result)
    return out


def emg_alone_means(scores: list[dict], metrics: Sequence[str] = GAIN_METRICS, system: str = EMG_ALONE) -> dict[str, float] | None:
    """Mean score of ``system`` (:data:`EMG_ALONE`, or its run with another loss) over every mixture
    (it ignores the microphone, so one level for all SNRs); None without such scores."""
    rows = [r for r in scores if r["system"] == system]
    if not rows:
        return None
    out = {}
    for m in metrics:
        v = np.array([r[m] for r in rows], dtype=np.float64)
        out[m] = float(v[np.isfinite(v)].mean()) if np.isfinite(v).any() else float("nan")
    return out


def emg_alone_levels(scores: list[dict], metrics: Sequence[str] = GAIN_METRICS) -> dict[str, dict[str, float]]:
    """:func:`emg_alone_means` of every EMG-alone run scored, by name: :data:`EMG_ALONE` and its runs
    with other losses (``emg-alone-comp``), in :data:`emgse.scoring.run_names.RUN_SUFFIXES` order."""
    names = (EMG_ALONE + x for x in RUN_SUFFIXES)  # the suffixes are distinct, so are the names
    return {name: level for name in names if (level := emg_alone_means(scores, metrics, name)) is not None}


def _signed(value: float, decimals: int = 3) -> str:
    return "-" if not np.isfinite(value) else f"{round(value, decimals) + 0.0:+.{decimals}f}"


def fusion_gain_table(scores: list[dict], pairs: Sequence[tuple[str, str]] = FUSION_PAIRS) -> Table | None:
    """The numbers of :func:`plot_fusion_gains`: per pair and metric, the gain at each SNR and over all
    mixtures as ``+mean ± half-width`` of the 95% interval; None without a pair."""
    present = present_pairs(scores, pairs)
    if not present:
        return None
    per_snr, overall = paired_gains(scores, present), paired_gains(scores, present, by=None)
    snrs = sorted({r["snr_db"] for r in per_snr})

    rows = []
    for fusion, audio in present:
        for m in GAIN_METRICS:
            mine = {r["snr_db"]: r for r in per_snr if r["fusion"] == fusion and r["audio"] == audio}
            total = next(r for r in overall if r["fusion"] == fusion and r["audio"] == audio)
            rows.append([f"{fusion} - {audio}", METRIC_LABELS[m], *(_cell(mine.get(s), m) for s in snrs), _cell(total, m)])
    notes = ["Paired difference on the same mixtures; ± the half-width of the 95% Student-t interval over utterances "
             "(none with one utterance)."]
    for name, level in emg_alone_levels(scores).items():
        notes.append(f"EMG alone (`{name}`, every SNR): " + ", ".join(f"{METRIC_LABELS[m]} {level[m]:.3f}" for m in GAIN_METRICS) + ".")
    return Table("Fusion gain over the same-budget audio-only model", ["Pair", "Metric", *(f"{s:g} dB" for s in snrs), "all"], rows, notes)


def _cell(row: dict | None, m: str) -> str:
    if row is None:
        return "-"
    half = (row[f"{m}_hi"] - row[f"{m}_lo"]) / 2
    return _signed(row[m]) + ("" if not np.isfinite(half) else f" ± {half:.3f}")


def category_gain_table(scores: list[dict], pairs: Sequence[tuple[str, str]] = FUSION_PAIRS,
                        metrics: Sequence[str] = ("stoi", "estoi")) -> Table | None:
    """The fusion gain per noise category (the rows' ``category``: competing talkers or non-speech
    noise) and SNR, with 95% intervals over utterances; None without a pair."""
    present = present_pairs(scores, pairs)
    if not present:
        return None
    snrs = sorted({float(r["snr_db"]) for r in scores})
    rows = []
    for fusion, audio in present:
        for category, label in CATEGORY_LABELS.items():
            mine = [r for r in scores if r["category"] == category]
            if not mine:
                continue
            per_snr = {r["snr_db"]: r for r in paired_gains(mine, [(fusion, audio)], metrics=metrics)}
            total = paired_gains(mine, [(fusion, audio)], by=None, metrics=metrics)
            for m in metrics:
                rows.append([f"{fusion} - {audio}", label, METRIC_LABELS[m], *(_cell(per_snr.get(s), m) for s in snrs),
                             _cell(total[0] if total else None, m)])
    return Table("Fusion gain per noise category", ["Pair", "Noises", "Metric", *(f"{s:g} dB" for s in snrs), "all"], rows,
                 ["Competing talkers: the noises of speech (emgse.mixing.noise_category); non-speech: the rest. "
                  "Paired difference on the same mixtures; ± the half-width of the 95% interval over utterances."])
