"""Speed and quality of the simulated corpus, printed as tables.

    python -m benchmarks.simulate [--sweep-utterances 40] [--snrs -5 0 10 20] [--skip-timing] [--skip-voices]

Timing runs pinned to one CPU core (eSpeak's worker processes inherit the pinning); the quality
sweep writes one corpus per EMG SNR and prints the figures of ``emgse simulate --check``. The
voices table speaks one sentence with each default speaker's voice (dry, before the recording
chain) and measures median F0 and the spectral centroid of voiced frames.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from emgse.corpora.simulated import speech  # noqa: E402
from emgse.corpora.simulated.check import check_corpus  # noqa: E402
from emgse.corpora.simulated.writer import SimulationConfig, draw_speaker, simulate_corpus  # noqa: E402

VOICE_TEXT = "The quick brown fox jumps over the lazy dog near the river bank."


def voices_table(seed: int) -> None:
    """Per default speaker: base voice, drawn shape, and the measured median F0 and centroid."""
    config = SimulationConfig(seed=seed)
    print(f"default speakers (seed {seed}): one sentence each, dry; measured median F0 and spectral centroid of voiced frames")
    print("| speaker | base voice | gender | wpm | pitch Hz | formants x | breath | F0 Hz | centroid Hz | level dB | high-pass Hz | tilt dB/oct |")
    print("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for k in range(config.speakers):
        s = draw_speaker(config, k)
        audio, _ = speech.synthesize(VOICE_TEXT, s.voice, rate_wpm=s.rate_wpm, shape=s.shape)
        f = speech.voice_figures(audio)
        r = s.recording
        print(f"| {k + 1} | {s.voice} | {s.gender} | {s.rate_wpm} | {s.shape.f0_hz:.0f}-{s.shape.f0_top_hz:.0f} | {s.shape.formant_scale:.3f} "
              f"| {s.shape.breath:.2f} | {f['f0_hz']:.0f} | {f['centroid_hz']:.0f} | {r.level_db:+.1f} | {r.highpass_hz:.0f} | {r.tilt_db_per_octave:+.1f} |")
    print()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sweep-utterances", type=int, default=40, help="utterances per corpus in the SNR sweep")
    p.add_argument("--snrs", type=float, nargs="+", default=[-5.0, 0.0, 10.0, 20.0], help="EMG SNRs of the sweep (dB)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-timing", action="store_true")
    p.add_argument("--skip-voices", action="store_true")
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    if not args.skip_voices:
        voices_table(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_timing:
            print("generation time, one core")
            print(f"{'utterances':>10} {'seconds':>8} {'audio min':>9} {'x real time':>11}")
            for n in (12, 100):
                start = time.perf_counter()
                s = simulate_corpus(Path(tmp) / f"t{n}", SimulationConfig(speakers=1, utterances=n, seed=args.seed))
                took = time.perf_counter() - start
                print(f"{n:>10} {took:8.1f} {s['seconds'] / 60:9.1f} {s['seconds'] / took:11.1f}")
            print()

        print(f"quality vs EMG SNR ({args.sweep_utterances} utterances, 1 speaker, seed {args.seed}; classifier chance 0.20)")
        print(
            f"{'SNR dB':>6} {'MDF Hz':>6} {'dead/live':>9} {'corr live, dead (chance)':>24} {'lead ms':>7}"
            f" {'bal.acc':>7} {'acc':>6} {'majority':>8}"
        )
        for snr in args.snrs:
            out = Path(tmp) / f"snr{snr:g}"
            simulate_corpus(out, SimulationConfig(speakers=1, utterances=args.sweep_utterances, seed=args.seed, emg_snr_db=snr))
            f = check_corpus(out)
            c = f["classifier"]
            r = f["speech_envelope_corr"]
            corr = f"{r['live']:.2f}/{r['live_chance']:.2f} {r['dead']:.2f}/{r['dead_chance']:.2f}"
            print(
                f"{snr:>6g} {f['median_frequency_hz']:6.0f} {f['dead_live_rms_ratio']:9.3f} {corr:>24} {f['emg_lead_ms']:7.0f}"
                f" {c['balanced_accuracy']:7.3f} {c['accuracy']:6.3f} {c['majority_rate']:8.3f}"
            )


if __name__ == "__main__":
    main()
