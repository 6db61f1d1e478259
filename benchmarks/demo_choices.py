"""The demo's training choices, compared on the development proxy and the demo's simulated test.

    python -m benchmarks.demo_choices --out runs/demo-choices        # about 70 min on 2 CPU cores
    python -m benchmarks.demo_choices --out runs/demo-choices --seeds 0   # one seed (about 28 min)

The README's "keeping more speech" table. Builds the 40-pair development proxy
(benchmarks/dev_pairs.py: speechocean762 test-half speakers + real test noises at 2.5-17.5 dB;
needs ../shared) and one `emgse demo` folder (its data, its real-speech section scored on the
proxy, never on VoiceBank), then trains the demo's `audio-mask` (compressed loss, 3 epochs, lr
1e-3) with each `--suppression-weight`, each `--wave-loss` (its default weight) and seed through
`emgse train` exactly as a user would, enhances the demo's simulated test with each (and, for the
baseline, each `--atten-lim`), scores
the proxy (`emgse evaluate --pairs`) and the simulated test (`emgse evaluate --mixtures`), and
prints per-seed rows and means. Every stage is skipped when its output exists, so a rerun with the
same --out only prints.

The choice is made by a rule fixed before measuring (:func:`choose`): among variants whose mean
proxy PESQ gain is at least +0.03 and whose simulated ESTOI is within 0.01 of the baseline's, the
largest mean proxy ESTOI gain; near-ties (< 0.001) go to the simpler variant (listed first).
VoiceBank-DEMAND stays evaluation only: score only the chosen variant on it, by a demo run.

SIMULATED EMG for the demo's corpus; `audio-mask` itself reads no EMG.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks import dev_pairs

WEIGHTS = (1.0, 2.0, 4.0)  # --suppression-weight; 1 is the demo's setting
LIMITS = (18.0, 12.0)  # --atten-lim (dB) on the baseline's checkpoints
WAVES = ("sisdr", "mrstft")  # --wave-loss with the baseline's other settings
MIN_PROXY_PESQ_GAIN = 0.03
MAX_SIM_ESTOI_LOSS = 0.01
TIE = 0.001


def variant_name(weight: float, limit: float | None = None, wave: str | None = None) -> str:
    """``a1``, ``a2``, ``a1-lim18``, ``a1-sisdr`` (the layout's run and system names)."""
    return f"a{weight:g}" + (f"-{wave}" if wave else "") + (f"-lim{limit:g}" if limit is not None else "")


def variant_jobs() -> list[tuple[float, float | None, str | None]]:
    """Every variant as ``(suppression weight, attenuation limit, wave loss)``, simplest first."""
    return ([(w, None, None) for w in WEIGHTS] + [(WEIGHTS[0], lim, None) for lim in LIMITS]
            + [(WEIGHTS[0], None, wave) for wave in WAVES])


def _emgse(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "emgse", *args], check=True)


def run_variants(out: Path, seeds: list[int]) -> list[str]:
    """Build, train, enhance and score every variant x seed (each stage skipped when done);
    returns the variant names in order (simplest first)."""
    dev, demo = out / "dev-pairs", out / "demo"
    if not dev.is_dir():
        if dev_pairs.main(["--out", str(dev), "--speech", str(dev_pairs.DEFAULT_SPEECH), "--noises", str(dev_pairs.DEFAULT_NOISES)]) != 0:
            raise SystemExit(2)
    if not (demo / "report.html").is_file():
        # the unseen-speaker demo trains on fixed mixtures (mix-train/), which the variants reuse
        _emgse("demo", "--protocol", "unseen-speakers", "--keep-intermediate", "--out", str(demo), "--real-pairs", str(dev), "--quiet")
    jobs = variant_jobs()
    for weight, limit, wave in jobs:
        for seed in seeds:
            run = out / "runs" / f"{variant_name(weight, wave=wave)}-s{seed}"
            name = f"{variant_name(weight, limit, wave)}-s{seed}"
            if not (run / "summary.json").is_file():
                _emgse("train", "--mixtures", str(demo / "mix-train"), "--model", "audio-mask", "--epochs", "3", "--lr", "1e-3",
                       "--batch-size", "16", "--loss", "compressed", "--suppression-weight", f"{weight:g}", "--seed", str(seed),
                       *(["--wave-loss", wave] if wave else []), "--out", str(run), "--quiet")
            limit_args = ["--atten-lim", f"{limit:g}"] if limit is not None else []
            if not (out / "enh" / name / ".done").is_file():
                _emgse("enhance", "--checkpoint", str(run / "best.pt"), "--mixtures", str(demo / "mix-test"), "--out", str(out / "enh"),
                       "--system", name, "--quiet", "--force", *limit_args)
                (out / "enh" / name / ".done").write_text("ok\n")
            if not (out / "dev" / name / "pair_summary.csv").is_file():
                _emgse("evaluate", "--pairs", str(dev), "--checkpoint", str(run / "best.pt"), "--system", name, "--out", str(out / "dev" / name),
                       "--no-dnsmos", "--quiet", *limit_args)
    names = [f"{variant_name(w, lim, wave)}-s{s}" for w, lim, wave in jobs for s in seeds]
    scored = out / "sim-scores" / "summary_overall.csv"
    have = {r["system"] for r in csv.DictReader(scored.open())} if scored.is_file() else set()
    if not set(names) <= have:
        _emgse("evaluate", "--mixtures", str(demo / "mix-test"), "--enhanced", str(out / "enh"), "--systems", *names,
               "--out", str(out / "sim-scores"), "--no-dnsmos", "--quiet")
    return [variant_name(w, lim, wave) for w, lim, wave in jobs]


def read_rows(out: Path, variants: list[str], seeds: list[int]) -> dict[str, list[dict]]:
    """Per variant, one dict per seed: proxy PESQ/ESTOI gain and files losing > 0.02 ESTOI,
    simulated PESQ/STOI/ESTOI (all SNRs) and ESTOI at -11 dB."""
    sim = {r["system"]: r for r in csv.DictReader((out / "sim-scores" / "summary_overall.csv").open())}
    low = {r["system"]: r for r in csv.DictReader((out / "sim-scores" / "summary_snr.csv").open()) if float(r["snr_db"]) == -11.0}
    rows: dict[str, list[dict]] = {}
    for v in variants:
        for s in seeds:
            name = f"{v}-s{s}"
            dev = next(r for r in csv.DictReader((out / "dev" / name / "pair_summary.csv").open()) if r["system"] == name)
            rows.setdefault(v, []).append({
                "seed": s, "proxy_pesq_gain": float(dev["pesq_gain"]), "proxy_estoi_gain": float(dev["estoi_gain"]),
                "proxy_worse": int(dev["worse_estoi"]), "proxy_n": int(dev["n"]), "pesq": float(sim[name]["pesq"]), "stoi": float(sim[name]["stoi"]),
                "estoi": float(sim[name]["estoi"]), "estoi_low": float(low[name]["estoi"]),
            })
    return rows


def means(rows: dict[str, list[dict]]) -> dict[str, dict]:
    return {v: {k: float(np.mean([r[k] for r in rs])) for k in rs[0] if k != "seed"} for v, rs in rows.items()}


def choose(mean: dict[str, dict]) -> str:
    """The rule (module docstring) over ``{variant: mean figures}`` in simplest-first order."""
    base = next(iter(mean))
    ok = [v for v, m in mean.items()
          if m["proxy_pesq_gain"] >= MIN_PROXY_PESQ_GAIN and m["estoi"] >= mean[base]["estoi"] - MAX_SIM_ESTOI_LOSS]
    if not ok:
        return base
    best = max(mean[v]["proxy_estoi_gain"] for v in ok)
    return next(v for v in ok if mean[v]["proxy_estoi_gain"] > best - TIE)


def table_markdown(rows: dict[str, list[dict]]) -> str:
    mean = means(rows)
    lines = ["| variant | seed | proxy PESQ gain | proxy ESTOI gain | proxy files losing > 0.02 ESTOI | simulated PESQ / STOI / ESTOI | "
             "ESTOI at -11 dB |", "|---|---|---:|---:|---:|---:|---:|"]
    for v, rs in rows.items():
        for r in [*rs, {"seed": "mean", **mean[v]}]:
            worse = f"{r['proxy_worse']:.1f}" if r["seed"] == "mean" else f"{r['proxy_worse']:d}"
            lines.append(f"| {v} | {r['seed']} | {r['proxy_pesq_gain']:+.3f} | {r['proxy_estoi_gain']:+.4f} | {worse} of {r['proxy_n']:.0f} | "
                         f"{r['pesq']:.3f} / {r['stoi']:.3f} / {r['estoi']:.3f} | {r['estoi_low']:.3f} |")
    return "\n".join(lines) + f"\n\nChosen by the rule: `{choose(mean)}` (a1 = the demo's setting; aW: --suppression-weight W; -limD: --atten-lim D; -sisdr, -mrstft: --wave-loss)."


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args(argv)
    if dev_pairs.DEFAULT_SPEECH is None or dev_pairs.DEFAULT_NOISES is None:
        print("error: needs the recorded speech and test noises of the development data (speech/speechocean762, noise/test)",
              file=sys.stderr)
        return 2
    variants = run_variants(args.out, args.seeds)
    print(table_markdown(read_rows(args.out, variants, args.seeds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
