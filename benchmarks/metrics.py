"""Scoring speed and reference values, printed as tables.

    python -m benchmarks.metrics [--utterances 4] [--repeats 3]

1. Seconds per metric for one 3 s speech-like utterance in white noise.
2. The scores of the noisy signal at -5, 0, 10, 20 dB (what tests/test_metrics.py checks).
3. ``evaluate`` throughput on a synthetic mixture set of 3 s utterances (a talker noise and white
   noise at -11, -6, -1, 4 dB; systems: pass-through and oracle), for jobs=1 and jobs=2.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks._util import best_of
from emgse.metrics import pesq_wb, score_pair, si_sdr, stoi
from emgse.protocol import TEST_SNRS_DB
from emgse.scoring import evaluate
from emgse.synthetic import add_white_noise, make_mixtures, speech_like, write_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    clean = speech_like(3.0)
    noisy = add_white_noise(clean, 0.0)
    print("| metric (3 s utterance) | seconds |\n|---|---:|")
    for name, fn in (
        ("PESQ wb", lambda: pesq_wb(clean, noisy)),
        ("STOI", lambda: stoi(clean, noisy)),
        ("ESTOI", lambda: stoi(clean, noisy, extended=True)),
        ("SI-SDR", lambda: si_sdr(clean, noisy)),
        ("score_pair (all four)", lambda: score_pair(clean, noisy)),
    ):
        print(f"| {name} | {best_of(fn, args.repeats):.4f} |")

    print("\n| white noise SNR (dB) | PESQ | STOI | ESTOI | SI-SDR |\n|---:|---:|---:|---:|---:|")
    for snr in (-5, 0, 10, 20):
        s = score_pair(clean, add_white_noise(clean, snr))
        print(f"| {snr} | {s['pesq']:.3f} | {s['stoi']:.3f} | {s['estoi']:.3f} | {s['si_sdr']:.2f} |")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mix = make_mixtures(root, utterances=args.utterances, seconds=3.0, snrs_db=TEST_SNRS_DB)
        write_system(mix, root / "enh", "oracle", lambda n, r: r)
        write_system(mix, root / "enh", "passthrough", lambda n, r: n)
        n_mix = args.utterances * 2 * 4
        print(f"\n| evaluate, {n_mix} mixtures x 3 systems (3 s) | seconds | mixtures/s | scored utterances/s |\n|---|---:|---:|---:|")
        for jobs in (1, 2):
            seconds = best_of(lambda jobs=jobs: evaluate(mix, root / "enh", None, root / f"out{jobs}", jobs=jobs, progress=False), args.repeats)
            print(f"| jobs={jobs} | {seconds:.2f} | {n_mix / seconds:.2f} | {3 * n_mix / seconds:.2f} |")


if __name__ == "__main__":
    main()
