"""Arguments and entry point of ``emgse simulate``.

``emgse simulate --out DIR [...]`` writes a simulated corpus in the CSL-EMG_Array layout;
``emgse simulate --out DIR --speech SPEECH [...]`` does the same from recorded speech (EMG simulated
from each recording's phone timeline); ``emgse simulate --check DIR`` measures an existing corpus
and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from emgse.corpora.simulated.config import DEFAULT_VOICES, SimulationConfig


def _voices(text: str) -> tuple[str, ...]:
    voices = tuple(v.strip() for v in text.split(",") if v.strip())
    if not voices:
        raise argparse.ArgumentTypeError("give at least one voice, e.g. en-us+m3,en-us+f2")
    return voices


def add_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", type=Path, help="folder to write the corpus to (CSL-EMG_Array layout)")
    what.add_argument("--check", type=Path, metavar="DIR", help="measure an existing simulated corpus and print the figures")
    d = SimulationConfig()
    p.add_argument(
        "--speech",
        type=Path,
        action="append",
        metavar="DIR",
        help="recorded speech instead of eSpeak (repeatable): speaker folders of X.wav/X.flac with X.txt and/or an alignment"
        " (X.TextGrid, X.lab, X.phn), optionally under train/ and test/ (kept as speaker-disjoint splits)",
    )
    p.add_argument(
        "--speakers", type=int, default=None, help=f"number of speakers, one Block1-Initial session each (default {d.speakers}; with --speech: all)"
    )
    p.add_argument("--utterances", type=int, default=None, help=f"utterances per speaker (default {d.utterances}; with --speech: all)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (same seed -> byte-identical files)")
    p.add_argument("--emg-snr-db", type=float, default=d.emg_snr_db, help="muscle signal over electrode noise on the live channels (dB)")
    p.add_argument("--mains-db", type=float, default=d.mains_db, help="50 Hz mains (with harmonics) relative to the muscle signal (dB)")
    p.add_argument("--wander", type=float, default=d.wander, help="baseline wander RMS relative to the muscle signal")
    p.add_argument("--motion-rate", type=float, default=d.motion_rate_hz, help="motion spikes per second")
    p.add_argument("--lead-ms", type=float, default=d.lead_ms, help="mean lead of muscle activity over the sound (ms), jittered per speaker")
    p.add_argument(
        "--voices", type=_voices, default=",".join(DEFAULT_VOICES), help="comma-separated English eSpeak voices, cycled over speakers"
    )
    p.add_argument(
        "--no-recording-chain", action="store_true",
        help="no per-session level (+-20 dB), microphone high-pass or tilt: every utterance at the nominal level",
    )
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="do not list the utterances as they are written")
    p.add_argument("--json", action="store_true", help="with --check: print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    if args.check is not None:
        from emgse.corpora.simulated.check import check_corpus, format_report

        figures = check_corpus(args.check)
        print(json.dumps(figures, indent=2) if args.json else format_report(figures))
        return 0

    from emgse.corpora.simulated.writer import simulate_corpus, simulate_speech_corpus

    d = SimulationConfig()
    config = SimulationConfig(
        speakers=d.speakers if args.speakers is None else args.speakers,
        utterances=d.utterances if args.utterances is None else args.utterances,
        seed=args.seed,
        emg_snr_db=args.emg_snr_db,
        mains_db=args.mains_db,
        wander=args.wander,
        motion_rate_hz=args.motion_rate,
        lead_ms=args.lead_ms,
        voices=tuple(args.voices),
        recording=not args.no_recording_chain,
    )
    start = time.perf_counter()
    if args.speech:
        summary = simulate_speech_corpus(
            args.out, args.speech, config, speakers=args.speakers, utterances=args.utterances, force=args.force, progress=not args.quiet
        )
        for item in summary["skipped"]:
            print(f"skipped {item['file']}: {item['reason']}")
        counts = ", ".join(f"{s}: {list(summary['splits'].values()).count(s)}" for s in ("train", "val", "test"))
        print(
            f"wrote recorded speech with SIMULATED EMG to {args.out}: {len(summary['sessions'])} session(s) ({counts} speakers), "
            f"{summary['utterances']} utterances ({len(summary['skipped'])} skipped), {summary['seconds'] / 60:.1f} min, "
            f"in {time.perf_counter() - start:.1f} s\n"
            f"next: emgse simulate --check {args.out}   or   emgse prepare csl-emg-array --corpus {args.out} --session all --out PREPARED"
        )
        return 0
    summary = simulate_corpus(args.out, config, force=args.force, progress=None if args.quiet else print)
    print(
        f"wrote a SIMULATED corpus to {args.out}: {len(summary['sessions'])} session(s), "
        f"{summary['utterances']} utterances, {summary['seconds'] / 60:.1f} min, in {time.perf_counter() - start:.1f} s\n"
        f"next: emgse simulate --check {args.out}   or   "
        f"emgse prepare csl-emg-array --corpus {args.out} --session {summary['sessions'][0]} --out PREPARED"
    )
    return 0
