"""Graceful degradation when EMG fails, on the models of a finished quality benchmark.

    python -m benchmarks.robustness --out runs/quality [--every 6] [--reference audio-mask] [--loss compressed]

SIMULATED EMG (see benchmarks/quality.py). Each EMG model (paper `emgse`, the fusion family and `emgse-prior`;
those without a checkpoint under `--out/runs` are skipped) enhances a balanced subset of the test
mixtures (every N-th) with intact EMG, with EMG absent, and with each electrode fault of
`emgse.faults` on 30% of its channels: two the enhancer's channel check
(`emgse.faults.ChannelCheck`) finds and feeds as missing -- flat (fallen off) and noisy (10x
RMS) -- and five it cannot see, all inside its 5% .. 5x band: 2-4x noisier channels, intermittent
contact (50-500 ms dropouts), slow baseline drift, 50 Hz mains on one electrode, and the cheek
array re-seated one electrode row off. Prints mean PESQ / ESTOI, the difference from an audio-only
model of the same run (`--reference`: the paper's `audio` by default, `audio-mask` for a run of the
mask family) and the share of the intact PESQ gain over it that is kept. Rows "channel check off"
show `emgse-tcn` with the check disabled on the faults it sees.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from emgse.config import LOSSES, WAVE_LOSSES
from emgse.errors import EmgseError
from emgse.experiments import enhance_system
from emgse.experiments.quality import save_table
from emgse.faults import EmgFault
from emgse.files import read_json, write_json
from emgse.mixing import read_manifest, write_manifest
from emgse.scoring import evaluate, summarize
from emgse.scoring.run_names import run_suffix

MODELS = ("emgse", "emgse-tcn", "emgse-mask", "emgse-map", "emgse-prior", "emgse-snr")
REFERENCE = "audio"
CHECKED = "emgse-tcn"
SEEN = (EmgFault("flat", 0.3), EmgFault("noisy", 0.3))  # far outside the check's band: it finds them
UNSEEN = (EmgFault("noisier", 0.3), EmgFault("intermittent", 0.3), EmgFault("drift", 0.3), EmgFault("mains"), EmgFault("shift"))
FAULTS = (EmgFault("none"), EmgFault("absent"), *SEEN, *UNSEEN)


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


def robustness_table(out: Path, every: int = 6, *, jobs: int = 2, models=MODELS, faults=FAULTS, progress: bool = True,
                     reference: str = REFERENCE, loss: str = "l1", wave_loss: str | None = None) -> str:
    """Enhance and score the fault grid on the checkpoints ``out/runs/<model>/best.pt``, against the
    audio-only ``reference``; the table as markdown.

    ``loss``, ``wave_loss``: the runs trained with those losses (``benchmarks/quality.py --loss
    --wave-loss``): every model and the reference take their run-name suffix
    (:func:`emgse.scoring.run_names.run_suffix`), scores go to ``out/scores-robust<suffix>``."""
    suffix = run_suffix(loss, wave_loss)
    models, reference, checked = [m + suffix for m in models], reference + suffix, CHECKED + suffix
    checkpoint = lambda model: out / "runs" / model / "best.pt"  # noqa: E731
    if not checkpoint(reference).is_file():
        trained = sorted(p.parent.name for p in (out / "runs").glob("*/best.pt"))
        raise EmgseError(f"{checkpoint(reference)}: no checkpoint of the audio-only reference {reference!r} in this run "
                         f"(trained: {', '.join(trained) or 'none'}); choose one with --reference")
    mix = subset_mixtures(out / "mix-test", out / "mix-robust", every)
    enhanced = out / "enhanced-robust"
    models = [m for m in models if checkpoint(m).is_file()]
    enhance_system(checkpoint(reference), mix, enhanced, reference, progress=progress)
    systems = [reference]
    for model in models:
        for fault in faults:
            name = f"{model}@{fault.label}"
            enhance_system(checkpoint(model), mix, enhanced, name, fault=fault, progress=progress)
            systems.append(name)
    # the faults the check sees, without the enhancer's channel check: what the model does with them fed in
    unchecked = [f for f in faults if f in SEEN] if checked in models else []
    for fault in unchecked:
        name = f"{checked}@{fault.label}-unchecked"
        enhance_system(checkpoint(checked), mix, enhanced, name, fault=fault, check_channels=False, progress=progress)
        systems.append(name)
    scores = evaluate(mix, enhanced, systems, out / f"scores-robust{suffix}", jobs=jobs, progress=progress)
    overall = {r["system"]: r for r in summarize(scores)}
    base = overall[reference]
    lines = [f"Robustness to failing EMG (SIMULATED EMG; {len(read_manifest(mix))} test mixtures, every {every}th; "
             f"faults on 30% of the used channels unless one electrode or the whole array)", "",
             f"| model | EMG | the channel check | PESQ | ESTOI | PESQ vs `{reference}` | ESTOI vs `{reference}` | share of the intact PESQ gain kept |",
             "|---|---|---|---:|---:|---:|---:|---:|",
             f"| {reference} | - | | {base['pesq']:.3f} | {base['estoi']:.3f} | | | |"]

    def row(model: str, label: str, check: str, system: str, intact: float) -> str:
        r = overall[system]
        gain = r["pesq"] - base["pesq"]
        kept = "" if label == "none" else f"{100 * gain / intact:.0f}%" if intact > 0 else "n/a (no intact gain)"
        return (f"| {model} | {label} | {check} | {r['pesq']:.3f} | {r['estoi']:.3f} | {gain:+.3f} | "
                f"{r['estoi'] - base['estoi']:+.3f} | {kept} |")

    for model in models:
        intact = overall[f"{model}@none"]["pesq"] - base["pesq"]
        for fault in faults:
            check = "finds it" if fault in SEEN else "cannot see it" if fault in UNSEEN else ""
            lines.append(row(model, fault.label, check, f"{model}@{fault.label}", intact))
    for fault in unchecked:
        lines.append(row(checked, fault.label, "off", f"{checked}@{fault.label}-unchecked", overall[f"{checked}@none"]["pesq"] - base["pesq"]))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder of a finished benchmarks/quality.py run")
    ap.add_argument("--every", type=int, default=6, help="use every N-th test mixture")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--reference", default=REFERENCE, help=f"the run's audio-only model the faults are compared with (default {REFERENCE}; "
                    "audio-mask for the mask family)")
    ap.add_argument("--loss", choices=LOSSES, default="l1",
                    help="the runs trained with this loss (benchmarks/quality.py --loss; compressed: the '-comp' runs)")
    ap.add_argument("--wave-loss", choices=WAVE_LOSSES, default=None,
                    help="the runs trained with this waveform loss as well (benchmarks/quality.py --wave-loss; e.g. the '-comp-sisdr' runs)")
    args = ap.parse_args()
    try:
        text = robustness_table(args.out, args.every, jobs=args.jobs, reference=args.reference, loss=args.loss,
                                wave_loss=args.wave_loss)
    except EmgseError as e:
        sys.exit(f"error: {e}")
    print("\n" + text)
    save_table(args.out, "robustness" + run_suffix(args.loss, args.wave_loss), text)


if __name__ == "__main__":
    main()
