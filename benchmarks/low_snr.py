"""The low-SNR targets of issue 12 on a finished quality run: met, or missed by how much.

    python -m benchmarks.low_snr --out runs/quality                    # after benchmarks/quality.py --out runs/quality
    python -m benchmarks.low_snr --out runs/quality --fusion emgse-tcn

Trains nothing: reads the scores benchmarks/quality.py keeps per system (OUT/scores/systems/<name>/
scores.csv, else the merged OUT/scores/scores.csv) and the parameter counts of its runs
(OUT/runs/<name>/summary.json). Prints the table, keeps it as OUT/tables/low-snr.md and rebuilds
OUT/report.html with it. Below the targets, "what was tried": every scored fusion model (what it is,
its losses) with its gains over its audio-only partner at -11 and -6 dB.

The best fusion model (default: the largest ESTOI gain at -11 dB over its own audio-only partner,
among the (fusion, audio-only) pairs of emgse.scoring.FUSION_PAIRS that were scored) must:
  at -11 dB beat its same-budget audio-only model by >= +0.10 ESTOI, +0.08 STOI, +0.15 PESQ;
  at -6 dB by >= +0.06 ESTOI;
  averaged over the SNRs stay >= the emgse-tcn margins over paper `emgse` (+0.174 PESQ, +0.026 ESTOI);
  have no more parameters than paper `emgse` (4,638,381);
and EMG alone (`emg-alone`) must reach ESTOI >= 0.30. Gains are paired differences on the same
mixtures with a 95% Student-t interval over utterances (emgse.scoring.paired_gains).

A gain over the audio-only partner is not yet a gain from the EMG: the fusion model is a different
network trained differently. When benchmarks/robustness.py has run on the same --out, a second
table gives the fusion model with its EMG intact minus the same model with its EMG absent, per SNR,
on the robustness subset (OUT/scores-robust): what the EMG itself adds. Otherwise it says it was
not measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emgse.errors import EmgseError, file_error
from emgse.scoring import (
    EMG_ALONE,
    FUSION_PAIRS,
    NOISY,
    emg_alone_means,
    paired_gains,
    present_pairs,
    read_scores,
)
from emgse.scoring.run_names import LOSS_SUFFIXES, RUN_SUFFIXES, split_run_name

PAPER_EMGSE = "emgse"
PAPER_EMGSE_PARAMS = 4_638_381  # the paper's EMGSE (35 channels x 5 TD features, context +-15): `emgse models`
LOW_SNR, MID_SNR = -11.0, -6.0


@dataclass(frozen=True)
class Target:
    """One row: ``measured`` against ``threshold`` (at least, or at most with ``at_most``)."""

    label: str
    threshold: float
    measured: float = float("nan")
    interval: tuple[float, float] = (float("nan"), float("nan"))
    at_most: bool = False
    decimals: int = 3
    signed: bool = True  # a gain or margin (+0.050), not a level (0.250)

    def shortfall(self) -> float:
        """How far the measured value (at its printed precision) is from the threshold; <= 0 when met."""
        value = round(self.measured, self.decimals)
        return value - self.threshold if self.at_most else self.threshold - value

    def status(self) -> str:
        if not np.isfinite(self.measured):
            return "not measured"
        short = self.shortfall()
        if short <= 0:
            return "met"
        return f"missed by {short:,.0f}" if self.decimals == 0 else f"missed by {short:.{self.decimals}f}"

    def cells(self) -> list[str]:
        fmt = (lambda v: f"{v:,.0f}") if self.decimals == 0 else (lambda v: f"{v:{'+' if self.signed else ''}.{self.decimals}f}")
        wanted = ("<= " if self.at_most else ">= ") + fmt(self.threshold)
        got = fmt(self.measured) if np.isfinite(self.measured) else "-"
        lo, hi = self.interval
        ci = f"[{lo:+.3f}, {hi:+.3f}]" if np.isfinite(lo) else ""
        return [self.label, wanted, got, ci, self.status()]


def read_run_scores(out: Path) -> list[dict]:
    """Every system's scores of a quality run: the per-system cache, else the merged ``scores.csv``."""
    cache = out / "scores" / "systems"
    parts = sorted(p for p in cache.glob("*/scores.csv") if (p.parent / ".complete").is_file()) if cache.is_dir() else []
    if parts:
        rows = []
        for p in sorted(parts, key=lambda p: p.parent.name != NOISY):  # noisy first, as the merged file
            rows += read_scores(p)
        return rows
    merged = out / "scores" / "scores.csv"
    if not merged.is_file():
        raise file_error(out, "no scores of a quality run here (run benchmarks/quality.py --out with this folder first)")
    return read_scores(merged)


def read_run_summaries(out: Path) -> dict[str, dict]:
    """The ``summary.json`` of each of the run's trained systems (``runs/<name>/``), by name."""
    summaries = {}
    for path in sorted((out / "runs").glob("*/summary.json")):
        try:
            summaries[path.parent.name] = json.loads(path.read_text())
        except ValueError as e:
            raise file_error(path, f"not JSON ({e})") from None
    return summaries


def read_parameters(out: Path) -> dict[str, int]:
    """Parameter counts of the run's trained systems (``runs/<name>/summary.json``)."""
    counts = {}
    for name, summary in read_run_summaries(out).items():
        try:
            counts[name] = int(summary["parameters"])
        except (ValueError, KeyError, TypeError) as e:
            raise file_error(out / "runs" / name / "summary.json", f"no parameter count ({e})") from None
    return counts


def _gain(rows: list[dict], snr: float, metric: str) -> tuple[float, tuple[float, float]]:
    row = next((r for r in rows if r["snr_db"] == snr), None)
    if row is None:
        return float("nan"), (float("nan"), float("nan"))
    return row[metric], (row[f"{metric}_lo"], row[f"{metric}_hi"])


def choose_fusion(scores: list[dict], fusion: str | None = None) -> tuple[str, str, dict[str, float]]:
    """``(fusion, audio-only partner, {fusion: ESTOI gain at -11 dB})`` for the model the targets judge."""
    pairs = present_pairs(scores, FUSION_PAIRS)
    if not pairs:
        raise EmgseError("no fusion system was scored together with its audio-only partner "
                         f"(pairs: {', '.join(f'{f}/{a}' for f, a in FUSION_PAIRS)})")
    gains = paired_gains(scores, pairs, metrics=("estoi",))
    low = {f: _gain([g for g in gains if g["fusion"] == f], LOW_SNR, "estoi")[0] for f, _ in pairs}
    if fusion is None:
        fusion = max(low, key=lambda f: low[f] if np.isfinite(low[f]) else -np.inf)
    partner = dict(pairs).get(fusion)
    if partner is None:
        raise EmgseError(f"--fusion {fusion}: not a scored fusion system with its audio-only partner "
                         f"(scored: {', '.join(f for f, _ in pairs)})")
    return fusion, partner, low


def emg_alone_system(scores: list[dict], fusion: str) -> str:
    """The EMG-alone run trained with the fusion model's spectral loss (``emg-alone-comp`` beside
    ``emgse-mask-comp`` and ``emgse-mask-comp-sisdr``: EMG alone takes no waveform loss) when it was
    scored, else :data:`EMG_ALONE`."""
    suffix = LOSS_SUFFIXES[split_run_name(fusion)[1]]
    systems = {r["system"] for r in scores}
    return EMG_ALONE + suffix if EMG_ALONE + suffix in systems else EMG_ALONE


def low_snr_targets(scores: list[dict], params: dict[str, int], fusion: str | None = None) -> tuple[str, str, list[Target]]:
    """The targets for the chosen fusion model: ``(fusion, audio-only partner, rows)``."""
    fusion, audio, _ = choose_fusion(scores, fusion)
    vs_audio = paired_gains(scores, [(fusion, audio)])
    rows = []
    for snr, metric, threshold in ((LOW_SNR, "estoi", 0.10), (LOW_SNR, "stoi", 0.08), (LOW_SNR, "pesq", 0.15), (MID_SNR, "estoi", 0.06)):
        value, ci = _gain(vs_audio, snr, metric)
        rows.append(Target(f"{snr:g} dB: {metric.upper()} gain over `{audio}`", threshold, value, ci))
    vs_paper = paired_gains(scores, [(fusion, PAPER_EMGSE)]) if fusion != PAPER_EMGSE else []
    for metric, threshold in (("pesq", 0.174), ("estoi", 0.026)):
        if fusion == PAPER_EMGSE:
            value = 0.0
        else:  # averaged over SNRs: the mean of the per-SNR paired means
            value = float(np.mean([r[metric] for r in vs_paper])) if vs_paper else float("nan")
        rows.append(Target(f"mean over SNRs: {metric.upper()} margin over paper `{PAPER_EMGSE}`", threshold, value))
    budget = params.get(PAPER_EMGSE, PAPER_EMGSE_PARAMS)
    rows.append(Target(f"parameters (paper `{PAPER_EMGSE}`: {budget:,})", budget, float(params.get(fusion, float("nan"))), at_most=True,
                       decimals=0))
    alone = emg_alone_system(scores, fusion)
    level = emg_alone_means(scores, ("estoi",), alone)
    rows.append(Target(f"EMG alone (`{alone}`): ESTOI", 0.30, level["estoi"] if level else float("nan"), signed=False))
    return fusion, audio, rows


ROBUST_SCORES = Path("scores-robust") / "scores.csv"  # written by benchmarks/robustness.py (--loss compressed: scores-robust-comp)


def emg_share(out: Path, fusion: str) -> tuple[list[dict], int] | None:
    """``fusion`` with intact EMG minus the same model with EMG absent, per SNR, on the robustness
    subset of ``out`` (paired gains as :func:`emgse.scoring.paired_gains`) and the number of mixtures;
    None when that subset was not scored for ``fusion``."""
    intact, absent = f"{fusion}@none", f"{fusion}@absent"
    for suffix in RUN_SUFFIXES:
        path = out / ROBUST_SCORES.parent.with_name(ROBUST_SCORES.parent.name + suffix) / ROBUST_SCORES.name
        rows = read_scores(path) if path.is_file() else []
        if {intact, absent} <= {r["system"] for r in rows}:
            return paired_gains(rows, [(intact, absent)]), sum(r["system"] == intact for r in rows)
    return None


def emg_share_markdown(out: Path, fusion: str) -> str:
    """The second table (see the module docstring), or one line saying it was not measured."""
    share = emg_share(out, fusion)
    if share is None:
        _, loss, wave = split_run_name(fusion)
        options = ("" if loss == "l1" else f" --loss {loss}") + (f" --wave-loss {wave}" if wave else "")
        return (f"What the EMG itself adds to `{fusion}` (intact minus EMG absent): not measured "
                f"(run `python -m benchmarks.robustness --out {out}{options}` first).\n")
    gains, n = share
    lines = [f"What the EMG itself adds to `{fusion}`: the same model with its EMG intact minus with its EMG absent "
             f"(`benchmarks/robustness.py`'s subset, {n} mixtures; 95% interval over utterances)", "",
             "| SNR | ESTOI | STOI | PESQ |", "|---|---:|---:|---:|"]
    for g in gains:
        cells = [f"{g[m]:+.3f} [{g[f'{m}_lo']:+.3f}, {g[f'{m}_hi']:+.3f}]" if np.isfinite(g[f"{m}_lo"]) else f"{g[m]:+.3f}"
                 for m in ("estoi", "stoi", "pesq")]
        lines.append(f"| {g['snr_db']:g} dB | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def tried_markdown(scores: list[dict], summaries: dict[str, dict] | None = None) -> str:
    """What was tried: every scored fusion model against its audio-only partner at -11 and -6 dB,
    with what it is (its registered model's one-line description, from the run's ``summary.json``
    when given) and the losses it trained with (from its name, :func:`emgse.config.split_run_name`)."""
    from emgse.models import MODELS, describe

    pairs = present_pairs(scores, FUSION_PAIRS)
    gains = paired_gains(scores, pairs, metrics=("estoi", "stoi", "pesq"))
    lines = ["What was tried: every fusion model scored in this run against its same-budget audio-only partner "
             "(paired gains on the same mixtures; 95% interval over utterances)", "",
             "| fusion | audio-only partner | model | losses | ESTOI -11 dB | STOI -11 dB | PESQ -11 dB | ESTOI -6 dB |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    for fusion, audio in pairs:
        mine = [g for g in gains if g["fusion"] == fusion]
        cells = []
        for snr, metric in ((LOW_SNR, "estoi"), (LOW_SNR, "stoi"), (LOW_SNR, "pesq"), (MID_SNR, "estoi")):
            value, (lo, hi) = _gain(mine, snr, metric)
            cells.append("-" if not np.isfinite(value) else f"{value:+.3f}" + (f" [{lo:+.3f}, {hi:+.3f}]" if np.isfinite(lo) else ""))
        model = (summaries or {}).get(fusion, {}).get("model")
        what = f"`{model}`: {describe(model)}" if model in MODELS else "-"
        _, loss, wave = split_run_name(fusion)
        losses = loss + (f" + {wave}" if wave else "")
        lines.append(f"| `{fusion}` | `{audio}` | {what} | {losses} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def low_snr_markdown(out: Path, scores: list[dict], params: dict[str, int], fusion: str | None = None,
                     summaries: dict[str, dict] | None = None) -> str:
    """The printed table: a title naming the data, the chosen model and why, one row per target; then
    what was tried (:func:`tried_markdown`) and what the EMG itself adds (:func:`emg_share_markdown`)."""
    fusion, audio, rows = low_snr_targets(scores, params, fusion)
    _, _, low = choose_fusion(scores, fusion)
    mine = [r for r in scores if r["system"] == fusion]
    snrs = ", ".join(f"{s:g}" for s in sorted({r["snr_db"] for r in mine}))
    utts = len({(r.get("split", ""), r["utt_id"]) for r in mine})
    noises = len({r["noise"] for r in mine})
    met = sum(t.status() == "met" for t in rows)
    lines = [
        f"Low-SNR targets (SIMULATED EMG, the quality run in `{out}`: {utts} test utterances x {noises} noises x SNRs {snrs} dB): "
        f"`{fusion}` against the same-budget `{audio}`; {met} of {len(rows)} met",
        "",
        "Candidates (ESTOI gain at -11 dB over their audio-only partner; the largest is judged unless --fusion names one): "
        + ", ".join(f"`{f}` {v:+.3f}" if np.isfinite(v) else f"`{f}` -" for f, v in low.items()) + ".",
        "",
        "| target | wanted | measured | 95% interval | status |",
        "|---|---:|---:|---:|---|",
    ]
    lines += ["| " + " | ".join(t.cells()) + " |" for t in rows]
    return "\n".join(lines) + "\n\n" + tried_markdown(scores, summaries) + "\n" + emg_share_markdown(out, fusion)


def save_gain_plot(scores: list[dict], path: Path) -> None:
    """The report's per-SNR fusion-gain figure (:func:`emgse.report.plot_fusion_gains`) as a PNG, written atomically."""
    from emgse.files import atomic_path
    from emgse.report import plot_fusion_gains, png_bytes

    fig = plot_fusion_gains(scores)
    if fig is None:
        raise EmgseError("no fusion system and its audio-only partner were both scored: nothing to plot")
    with atomic_path(path) as tmp:  # makes the parent folder
        tmp.write_bytes(png_bytes(fig))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="the --out folder of a finished benchmarks/quality.py run")
    ap.add_argument("--fusion", default=None, help="the fusion system to judge (default: the best at -11 dB, see above)")
    ap.add_argument("--no-report", action="store_true", help="print only: do not keep tables/low-snr.md nor rebuild report.html")
    ap.add_argument("--plot", type=Path, default=None, metavar="PNG",
                    help="also save the per-SNR fusion-gain figure (every scored fusion pair, EMG alone as a line) as PNG")
    args = ap.parse_args(argv)
    try:
        scores = read_run_scores(args.out)
        text = low_snr_markdown(args.out, scores, read_parameters(args.out), args.fusion, read_run_summaries(args.out))
    except EmgseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(text)
    if args.plot:
        save_gain_plot(scores, args.plot)
        print(f"wrote {args.plot}")
    if not args.no_report:
        from emgse.experiments.quality import save_table

        save_table(args.out, "low-snr", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
