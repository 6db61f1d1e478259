"""Graceful degradation when EMG fails, on the models of a finished quality benchmark.

    python benchmarks/robustness.py --out runs/quality [--every 6]

SIMULATED EMG (see benchmarks/quality.py). Each EMG model (paper `emgse` and the fusion family)
enhances a balanced subset of the test mixtures (every N-th) with intact EMG, with EMG absent,
with 30% of its channels flat (fallen off) and with 30% of its channels noisy. Prints mean PESQ /
ESTOI, the difference from the paper's audio-only model `audio` and the share of the intact gain
over `audio` that is kept. Flat and noisy channels are found by the enhancer's channel check
(`emgse.faults.unusable_channels`) and fed as missing; rows "channel check off" show `emgse-tcn`
without it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality import save_table  # noqa: E402

from emgse.evaluate import evaluate, summarize  # noqa: E402
from emgse.faults import EmgFault  # noqa: E402
from emgse.files import read_json, write_json  # noqa: E402
from emgse.mixing import read_manifest, write_manifest  # noqa: E402
from emgse.recipes import enhance_system  # noqa: E402

MODELS = ("emgse", "emgse-tcn", "emgse-mask", "emgse-map")
REFERENCE = "audio"
CHECKED = "emgse-tcn"
FAULTS = (EmgFault("none"), EmgFault("absent"), EmgFault("flat", 0.3), EmgFault("noisy", 0.3))


def subset_mixtures(source: Path, target: Path, every: int) -> Path:
    """A standalone mixture folder with every ``every``-th mixture of ``source`` (files copied)."""
    if (target / "mixtures.csv").is_file():
        return target
    rows = read_manifest(source)[::every]
    for r in rows:
        (target / r["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / r["path"], target / r["path"])
    write_json(target / "mix.json", {**read_json(source / "mix.json"), "subset_of": str(source), "every": every})
    write_manifest(target / "mixtures.csv", rows)
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder of a finished benchmarks/quality.py run")
    ap.add_argument("--every", type=int, default=6, help="use every N-th test mixture")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    mix = subset_mixtures(args.out / "mix-test", args.out / "mix-robust", args.every)
    enhanced = args.out / "enhanced-robust"
    enhance_system(args.out / "runs" / REFERENCE / "best.pt", mix, enhanced, REFERENCE)
    systems = [REFERENCE]
    for model in MODELS:
        for fault in FAULTS:
            name = f"{model}@{fault.label}"
            enhance_system(args.out / "runs" / model / "best.pt", mix, enhanced, name, fault=fault)
            systems.append(name)
    # the same faults without the enhancer's channel check: what the model does with broken channels fed in
    for fault in FAULTS[2:]:
        name = f"{CHECKED}@{fault.label}-unchecked"
        enhance_system(args.out / "runs" / CHECKED / "best.pt", mix, enhanced, name, fault=fault, check_channels=False)
        systems.append(name)
    scores = evaluate(mix, enhanced, systems, args.out / "scores-robust", jobs=args.jobs)
    overall = {r["system"]: r for r in summarize(scores)}
    base = overall[REFERENCE]
    lines = [f"Robustness to failing EMG (SIMULATED EMG; {len(read_manifest(mix))} test mixtures, every {args.every}th)", "",
             f"| model | EMG | PESQ | ESTOI | PESQ vs `{REFERENCE}` | ESTOI vs `{REFERENCE}` | share of the intact PESQ gain kept |",
             "|---|---|---:|---:|---:|---:|---:|",
             f"| {REFERENCE} | - | {base['pesq']:.3f} | {base['estoi']:.3f} | | | |"]
    for model in MODELS:
        intact = overall[f"{model}@none"]["pesq"] - base["pesq"]
        for fault in FAULTS:
            row = overall[f"{model}@{fault.label}"]
            gain = row["pesq"] - base["pesq"]
            kept = "" if fault.label == "none" else f"{100 * gain / intact:.0f}%" if intact > 0 else "n/a (no intact gain)"
            lines.append(f"| {model} | {fault.label} | {row['pesq']:.3f} | {row['estoi']:.3f} | {gain:+.3f} | {row['estoi'] - base['estoi']:+.3f} | {kept} |")
    intact = overall[f"{CHECKED}@none"]["pesq"] - base["pesq"]
    for fault in FAULTS[2:]:
        row = overall[f"{CHECKED}@{fault.label}-unchecked"]
        gain = row["pesq"] - base["pesq"]
        lines.append(f"| {CHECKED} | {fault.label}, channel check off | {row['pesq']:.3f} | {row['estoi']:.3f} | {gain:+.3f} | "
                     f"{row['estoi'] - base['estoi']:+.3f} | {100 * gain / intact:.0f}% |")
    text = "\n".join(lines)
    print("\n" + text)
    save_table(args.out, "robustness", text)


if __name__ == "__main__":
    main()
