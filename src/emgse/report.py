"""One self-contained HTML report: summary tables, score-vs-SNR plots, the fusion gain over audio-only,
example spectrograms and audio.

Everything is inline: plots and spectrograms are base64 PNGs (matplotlib, Agg backend), audio is
base64 16-bit WAV in ``<audio controls>``; the page loads nothing from anywhere else and can be
mailed or archived as one file.

An *example* is a dict ``{"label": str, "signals": {name: (samples,) array at 16 kHz}, "caption":
str (optional)}``; a flat ``{"label": ..., "clean": array, "noisy": array, ...}`` is accepted too.
:func:`load_examples` builds them from a mixture set and enhanced outputs.
"""
from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from emgse.errors import EmgseError, file_error
from emgse.files import check_output, read_audio, read_json, write_text
from emgse.metrics import FS, METRICS
from emgse.mixing import CATEGORIES, MANIFEST, read_manifest
from emgse.scoring.gains import (
    EMG_ALONE,
    FUSION_PAIRS,
    GAIN_METRICS,
    category_gain_table,
    emg_alone_levels,
    fusion_gain_table,
    paired_gains,
    present_pairs,
    systems_of,
)
from emgse.scoring.rows import METRIC_LABELS, NOISY, read_scores
from emgse.scoring.summaries import Table, summarize, summary_tables

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;
padding:0 1rem;color:#1f2328;line-height:1.45}
h1{margin-bottom:.3rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
h3{margin:1.2rem 0 .4rem;font-size:1rem}
.notes{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.notes li{margin:.2rem 0}
table{border-collapse:collapse;font-size:.85rem;margin:.3rem 0 .6rem}
th,td{border:1px solid #d0d7de;padding:.2rem .55rem;text-align:right;white-space:nowrap}
th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}
tr:nth-child(even) td{background:#fbfcfd}
p.note{font-size:.8rem;color:#57606a;margin:.1rem 0}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
.plot{max-width:100%}
.example{margin:1rem 0 1.6rem}
.row{display:flex;flex-wrap:wrap;gap:.6rem}
.cell{flex:0 0 auto;text-align:center;font-size:.85rem}
.cell img{display:block;width:250px}.cell audio{width:250px;height:32px}
code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
"""


def markdown_html(text: str) -> str:
    """Markdown as benchmarks print it (pipe tables, plain paragraphs) as HTML.

    A block of lines starting with ``|`` is a table (its second line, the ``|---|`` rule, is
    dropped); any other non-empty line is a paragraph (`code` spans kept).
    """
    parts: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            cells = lambda row, tag: "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in row)  # noqa: E731
            body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in table[1:])
            parts.append(f"<table><thead><tr>{cells(table[0], 'th')}</tr></thead><tbody>{body}</tbody></table>")
            table.clear()

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|"):
            row = [c.strip() for c in line.strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in row if c):
                table.append(row)
            continue
        flush()
        if line:
            parts.append(f"<p>{_inline(line.lstrip('#').strip())}</p>")
    flush()
    return "".join(parts)


# --------------------------------------------------------------------------- encoders
def png_bytes(fig) -> bytes:
    """Render a matplotlib figure as PNG bytes (its own dpi, tight bounding box) and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def png_data_uri(fig) -> str:
    """Render a matplotlib figure to a ``data:image/png;base64,...`` URI and close it."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(fig)).decode("ascii")


def wav_data_uri(audio: np.ndarray, fs: int = FS) -> str:
    """A ``(samples,)`` signal as a ``data:audio/wav;base64,...`` URI (16-bit PCM, clipped to +-1)."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0), fs, subtype="PCM_16", format="WAV")
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_scores_vs_snr(scores: list[dict]):
    """Mean PESQ, STOI, ESTOI and SI-SDR against SNR, one line per system (a 1x4 figure)."""
    plt = _pyplot()
    by_snr = summarize(scores, "snr_db")
    snrs = sorted({r["snr_db"] for r in by_snr})
    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.1 * len(METRICS), 2.7), dpi=90, layout="constrained")
    for ax, m in zip(axes, METRICS, strict=True):
        for i, system in enumerate(systems_of(by_snr)):
            rows = [r for r in by_snr if r["system"] == system]
            style = {"color": "0.45", "linestyle": "--"} if system == NOISY else {"color": f"C{i}"}
            ax.plot([r["snr_db"] for r in rows], [r[m] for r in rows], marker="o", ms=4, label=system, **style)
        _style_snr_axis(ax, METRIC_LABELS[m], snrs)
    axes[0].legend(fontsize=8, frameon=False)
    return fig


def _style_snr_axis(ax, title: str, snrs: list) -> None:
    """The common look of a metric-versus-SNR panel."""
    ax.set_title(title, fontsize=10)
    ax.set_xticks(snrs)
    ax.set_xlabel("SNR (dB)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def plot_gain_by_category(scores: list[dict]):
    """Gain over ``noisy`` in PESQ and STOI against SNR, per system; solid speech, dotted nonspeech noise.

    Returns None when only ``noisy`` was scored.
    """
    systems = [s for s in systems_of(scores) if s != NOISY]
    if not systems:
        return None
    plt = _pyplot()
    per_cat = {cat: summarize([s for s in scores if s["category"] == cat], "snr_db") for cat in CATEGORIES}
    snrs = sorted({s["snr_db"] for s in scores})
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.7), dpi=90, layout="constrained")
    for ax, m in zip(axes, ("pesq", "stoi"), strict=True):
        for i, system in enumerate(systems):
            for cat, ls in zip(CATEGORIES, ("-", ":"), strict=True):
                pts = [(r["snr_db"], r[f"{m}_gain"]) for r in per_cat[cat] if r["system"] == system]
                if pts:
                    ax.plot(*zip(*pts, strict=True), color=f"C{i + 1}", linestyle=ls, marker="o", ms=3.5, label=f"{system}, {cat}")
        ax.axhline(0, color="0.6", lw=0.8)
        _style_snr_axis(ax, f"{METRIC_LABELS[m]} gain over noisy", snrs)
    axes[0].legend(fontsize=7, frameon=False)
    return fig


def plot_fusion_gains(scores: list[dict], pairs: Sequence[tuple[str, str]] = FUSION_PAIRS):
    """Fusion against audio-only, per SNR, for PESQ, STOI and ESTOI (a 2x3 figure); None without a pair.

    Top row: the mean scores of each fusion system (solid) and its audio-only partner (dashed), with
    EMG alone as a horizontal line when :data:`EMG_ALONE` was scored (one per loss, e.g. also
    ``emg-alone-comp``, each in its own dotted style): where the audio-only curve
    falls below that line, EMG alone carries more than the microphone model. Bottom row: the paired
    gain fusion - audio-only with its 95% interval over utterances as a band.
    """
    present = present_pairs(scores, pairs)
    if not present:
        return None
    plt = _pyplot()
    gains = paired_gains(scores, present)
    levels = emg_alone_levels(scores)  # one line per EMG-alone run scored
    by_snr = summarize([r for r in scores if r["system"] in {s for p in present for s in p}], "snr_db", GAIN_METRICS)
    snrs = sorted({r["snr_db"] for r in by_snr})
    colors = {s: f"C{i}" for i, s in enumerate(dict.fromkeys(s for p in present for s in p))}
    fig, axes = plt.subplots(2, len(GAIN_METRICS), figsize=(3.4 * len(GAIN_METRICS), 5.2), dpi=90, layout="constrained")
    for col, m in enumerate(GAIN_METRICS):
        top, bottom = axes[0, col], axes[1, col]
        for system in colors:
            pts = [(r["snr_db"], r[m]) for r in by_snr if r["system"] == system]
            dashed = system not in {f for f, _ in present}
            top.plot(*zip(*pts, strict=True), color=colors[system], linestyle="--" if dashed else "-", marker="o", ms=3.5, label=system)
        for (name, level), style in zip(levels.items(), (":", "-.", (0, (1, 3)), (0, (5, 5))), strict=False):
            if np.isfinite(level[m]):
                top.axhline(level[m], color="k", linestyle=style, lw=1.4, label="EMG alone" if name == EMG_ALONE else f"EMG alone ({name})")
        _style_snr_axis(top, METRIC_LABELS[m], snrs)
        for fusion, audio in present:
            rows = [r for r in gains if r["fusion"] == fusion and r["audio"] == audio]
            x = [r["snr_db"] for r in rows]
            bottom.plot(x, [r[m] for r in rows], color=colors[fusion], marker="o", ms=3.5, label=f"{fusion} - {audio}")
            lo, hi = np.array([r[f"{m}_lo"] for r in rows]), np.array([r[f"{m}_hi"] for r in rows])
            if np.isfinite(lo).any():
                bottom.fill_between(x, lo, hi, color=colors[fusion], alpha=0.18, lw=0)
        bottom.axhline(0, color="0.6", lw=0.8)
        _style_snr_axis(bottom, f"{METRIC_LABELS[m]} gain over audio-only", snrs)
    axes[0, 0].legend(fontsize=7, frameon=False)
    axes[1, 0].legend(fontsize=7, frameon=False)
    return fig


def log_spectrogram(audio: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """Log-magnitude spectrogram in dB, ``(n_fft // 2 + 1, frames)``, Hann window."""
    x = np.asarray(audio, dtype=np.float64)
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    return 20.0 * np.log10(np.abs(np.fft.rfft(frames, axis=-1)).T + 1e-8)


def spectrogram_uri(spec_db: np.ndarray, vmin: float, vmax: float, fs: int = FS, hop: int = 128) -> str:
    """A ``(bins, frames)`` dB spectrogram as a small PNG data URI on the colour scale ``vmin..vmax``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(3.2, 1.9), dpi=80, layout="constrained")
    extent = (0.0, spec_db.shape[1] * hop / fs, 0.0, fs / 2000.0)
    ax.imshow(spec_db, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax, extent=extent, interpolation="nearest")
    ax.set_xlabel("s", fontsize=7, labelpad=1)
    ax.set_ylabel("kHz", fontsize=7, labelpad=1)
    ax.tick_params(labelsize=6, length=2)
    return png_data_uri(fig)


# --------------------------------------------------------------------------- examples
def _example_signals(example: Mapping) -> dict[str, np.ndarray]:
    signals = example.get("signals")
    if signals is None:
        signals = {k: v for k, v in example.items() if k not in ("label", "caption")}
    out = {}
    for name, x in signals.items():
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
            raise EmgseError(f"example {example.get('label', '?')!r}: signal {name!r} must be a finite (samples,) array")
        out[str(name)] = x
    if not out:
        raise EmgseError(f"example {example.get('label', '?')!r} has no signals")
    return out


def _example_html(example: Mapping, dynamic_range_db: float = 80.0) -> str:
    signals = _example_signals(example)
    specs = {name: log_spectrogram(x) for name, x in signals.items()}
    vmax = max(float(s.max()) for s in specs.values())
    # one playback gain for the whole example keeps the signals' relative levels
    peak = max(float(np.max(np.abs(x))) for x in signals.values())
    playback = 0.9 / peak if peak > 0.9 else 1.0
    cells = []
    for name, x in signals.items():
        cells.append(
            f'<div class="cell"><b>{html.escape(name)}</b>'
            f'<img alt="{html.escape(name)} spectrogram" src="{spectrogram_uri(specs[name], vmax - dynamic_range_db, vmax)}">'
            f'<audio controls preload="none" src="{wav_data_uri(x * playback)}"></audio></div>'
        )
    caption = f'<p class="note">{html.escape(str(example["caption"]))}</p>' if example.get("caption") else ""
    return (f'<div class="example"><h3>{html.escape(str(example.get("label", "example")))}</h3>{caption}'
            f'<div class="row">{"".join(cells)}</div></div>')


def pick_examples(scores: list[dict], n: int = 3) -> list[dict]:
    """Choose ``n`` mixtures to listen to: the hardest SNR first, alternating speech and nonspeech noise.

    Distinct noises first; when there are fewer noises than ``n``, noises come back at the next
    SNRs. All use the first utterance in the scores, so the examples differ only in noise and SNR.
    Returns the ``noisy`` score rows of the chosen mixtures (at most ``n``).
    """
    noisy = [s for s in scores if s["system"] == NOISY]
    if not noisy or n < 1:
        return []
    utt = noisy[0]["utt_id"]
    candidates = [s for s in noisy if s["utt_id"] == utt]
    snrs = sorted({s["snr_db"] for s in candidates})
    chosen: list[dict] = []
    for distinct in (True, False):
        for snr in snrs:
            for cat in CATEGORIES:
                used = {c["noise"] for c in chosen} if distinct else set()
                pool = [s for s in candidates if s["snr_db"] == snr and s["category"] == cat
                        and s["noise"] not in used and s not in chosen]
                if pool and len(chosen) < n:
                    chosen.append(pool[0])
    return chosen


def load_examples(
    mixtures_dir: str | Path,
    enhanced_root: str | Path | None,
    systems: Sequence[str],
    rows: Sequence[Mapping],
) -> list[dict]:
    """Read clean (``gain * clean``), noisy and each system's output for the mixtures ``rows``.

    Args:
        rows: dicts with a mixture ``path`` (as in ``mixtures.csv`` or ``scores.csv``).

    Returns:
        Example dicts for :func:`write_report`.
    """
    mix = Path(mixtures_dir)
    manifest = {r["path"]: r for r in read_manifest(mix / MANIFEST)}
    corpus = Path(str(read_json(mix / "mix.json").get("data", "")))
    examples = []
    for row in rows:
        if row["path"] not in manifest:
            raise file_error(mix / MANIFEST, f"no mixture {row['path']}")
        m = manifest[row["path"]]
        clean, _ = read_audio(corpus / m["clean"])
        signals = {"clean": float(m["gain"]) * clean, NOISY: read_audio(mix / m["path"])[0]}
        for system in systems:
            if system != NOISY and enhanced_root is not None:
                signals[system] = read_audio(Path(enhanced_root) / system / m["path"])[0]
        examples.append({"label": f"{m['utt_id']} + {m['noise']} at {m['snr_db']:g} dB",
                         "caption": f"{m['split']}/{m['utt_id']}, {m['noise']} noise, {m['snr_db']:g} dB SNR",
                         "signals": signals})
    return examples


# --------------------------------------------------------------------------- HTML
def _inline(text: str) -> str:
    """Escape text and turn Markdown `code` spans into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def table_html(table: Table) -> str:
    """A :class:`emgse.scoring.Table` as an HTML table with its title and notes."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    notes = "".join(f'<p class="note">{_inline(n)}</p>' for n in table.notes)
    return f"<h3>{html.escape(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"


def write_report(
    out_html: str | Path,
    scores_csv: str | Path | list[dict],
    examples: Sequence[Mapping] = (),
    title: str = "emgse results",
    notes: Sequence[str] = (),
    sections: Sequence[tuple[str, str]] = (),
    pairs: Sequence[tuple[str, str]] = FUSION_PAIRS,
) -> Path:
    """Write one self-contained HTML report.

    Args:
        out_html: the ``.html`` file to write (atomically).
        scores_csv: ``scores.csv`` of :func:`emgse.scoring.evaluate` (or its folder, or its rows).
        examples: example dicts (see the module docstring); each becomes a row of spectrograms on a
            common colour scale (80 dB range) with audio players.
        title: page title.
        notes: lines shown prominently under the title (e.g. "SIMULATED EMG - not results on real EMG").
        sections: extra ``(heading, markdown)`` sections after the summary, e.g. the tables a
            benchmark printed (see :func:`markdown_html`).
        pairs: ``(fusion, audio-only)`` systems compared in the "Fusion gain over audio-only" section
            (:func:`plot_fusion_gains`, :func:`fusion_gain_table`); the section appears when both
            systems of at least one pair were scored.

    Returns:
        The path written.
    """
    scores = scores_csv if isinstance(scores_csv, list) else read_scores(scores_csv)
    tables = summary_tables(scores)
    main, by_snr, by_noise = tables[:1], tables[1 : 1 + len(METRICS)], tables[1 + len(METRICS) :]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_inline(n)}</li>" for n in notes) + "</ul>")
    parts.append("<h2>Summary</h2>")
    parts += [table_html(t) for t in main + by_snr]
    parts.append("<details><summary>By noise type</summary>" + "".join(table_html(t) for t in by_noise) + "</details>")
    for heading, text in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>{markdown_html(text)}")
    parts.append("<h2>Scores against SNR</h2>")
    parts.append(f'<img class="plot" alt="scores against SNR" src="{png_data_uri(plot_scores_vs_snr(scores))}">')
    gain_fig = plot_gain_by_category(scores)
    if gain_fig is not None:
        parts.append(f'<img class="plot" alt="gain over noisy by noise category" src="{png_data_uri(gain_fig)}">')
    fusion_fig = plot_fusion_gains(scores, pairs)
    if fusion_fig is not None:
        emg_runs = list(emg_alone_levels(scores))
        emg_line = bool(emg_runs)
        parts.append("<h2>Fusion gain over audio-only</h2>")
        parts.append('<p class="note">Top: fusion (solid) and its same-budget audio-only model (dashed)'
                     + (f"; dotted: EMG alone ({', '.join(f'<code>{n}</code>' for n in emg_runs)}), where the audio-only curve "
                        "falls below it EMG carries more than the microphone" if emg_line else "")
                     + ". Bottom: the paired gain fusion - audio-only, band: 95% interval over utterances.</p>")
        alt = "fusion gain over audio-only against SNR" + (", with EMG alone" if emg_line else "")
        parts.append(f'<img class="plot" alt="{alt}" src="{png_data_uri(fusion_fig)}">')
        parts.append(table_html(fusion_gain_table(scores, pairs)))
        parts.append(table_html(category_gain_table(scores, pairs)))
    if examples:
        parts.append("<h2>Examples</h2>")
        parts.append('<p class="note">Log-magnitude spectrograms (Hann 512, hop 128) on one colour scale per example, '
                     "80 dB range; audio at the signals' relative levels.</p>")
        parts += [_example_html(e) for e in examples]
    parts.append("</body></html>")
    out = Path(out_html)
    write_text(out, "\n".join(parts) + "\n")
    return out


def build_report(
    out_html: str | Path,
    scores_csv: str | Path,
    *,
    mixtures_dir: str | Path | None = None,
    enhanced_root: str | Path | None = None,
    n_examples: int = 3,
    title: str = "emgse results",
    notes: Sequence[str] = (),
    sections: Sequence[tuple[str, str]] = (),
    pairs: Sequence[tuple[str, str]] = FUSION_PAIRS,
) -> Path:
    """Scores plus examples chosen by :func:`pick_examples` and read from disk, into one report.

    Without ``mixtures_dir`` (or with ``n_examples=0``) the report has no examples. An existing
    ``out_html`` is replaced; a location that cannot be written is refused before any work.
    """
    check_output(out_html, inputs=[scores_csv], force=True)
    scores = read_scores(scores_csv)
    examples: list[dict] = []
    if mixtures_dir is not None and n_examples > 0:
        systems = [s for s in systems_of(scores) if s != NOISY]
        if systems and enhanced_root is None:
            raise EmgseError(f"the scores hold system(s) {', '.join(systems)}; give the folder of enhanced outputs for the examples")
        examples = load_examples(mixtures_dir, enhanced_root, systems, pick_examples(scores, n_examples))
    return write_report(out_html, scores, examples, title, notes, sections, pairs)
