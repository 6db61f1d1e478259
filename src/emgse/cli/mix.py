"""``emgse mix``: mix prepared clean speech (or audio-only speech) with noise at given SNRs."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter
from emgse.errors import EmgseError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from emgse.mixing import GENERATED_NOISES

    p = sub.add_parser(
        "mix",
        help="mix prepared clean speech with noise at given SNRs",
        description=(
            "Mix the clean speech of a prepared corpus with noise. Each mixture takes a random\n"
            "segment of a noise (looped if short) scaled to the exact SNR over the utterance. If the\n"
            "mixture would clip it is scaled down and the gain recorded (noisy = gain * (clean + noise)).\n"
            "Without --per-utterance every noise is used at every SNR (the paper's test protocol);\n"
            "with it, K noises are drawn per utterance and SNR (the paper's training: K=5 at -10..10 dB).\n"
            "Writes float32 WAVs and OUT/mixtures.csv. Generated noises: " + ", ".join(GENERATED_NOISES) + ".\n"
            "Audio-only speech (no EMG): --speech-only DIR [DIR ...] instead of --data mixes every\n"
            ".wav/.flac under DIR (any folder layout, any rate >= 16 kHz) as training data: 16 kHz copies\n"
            "in OUT/speech/, rows with split train and has_emg 0. Train on it with emgse train\n"
            "--audio-only-mix OUT; it is never validation or test data."
        ),
        formatter_class=Formatter,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="prepared corpus folder")
    source.add_argument("--speech-only", nargs="+", type=Path, metavar="DIR",
                        help="folders of audio-only speech (.wav/.flac, any layout) to mix as training data without EMG")
    p.add_argument("--split", nargs="+", default=None, choices=["train", "val", "test"], help="split(s) to mix (default test)")
    p.add_argument(
        "--noise",
        nargs="+",
        required=True,
        help="noise sources: folders of WAVs (any rate), single WAV files, or generated noise names",
    )
    p.add_argument("--snr", nargs="+", type=float, required=True, help="SNRs in dB")
    p.add_argument("--per-utterance", type=int, default=None, metavar="K", help="draw K noises per utterance and SNR")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed -> byte-identical files)")
    p.add_argument(
        "--speech-noise", nargs="+", default=[], metavar="NAME",
        help="noises (by name, the file stem) that are competing speech, for the speech/nonspeech summaries; "
        "the generated talker/babble and the paper's 12 talker noises are known already",
    )
    p.add_argument(
        "--reverb-prob", type=float, default=0.0, metavar="P",
        help="share of mixtures whose speech is reverberated first (mild synthetic room, RT60 0.2-0.5 s); the clean target stays dry",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from emgse.mixing import MixConfig, NoiseBank, mix_corpus, mix_speech_only

    if args.speech_only and args.split:
        raise EmgseError("--split: audio-only speech (--speech-only) is always training data; leave --split out")
    bank = NoiseBank.from_sources(args.noise, progress=not args.quiet)
    config = MixConfig(snrs_db=tuple(args.snr), per_utterance=args.per_utterance, seed=args.seed, reverb_prob=args.reverb_prob)
    if args.speech_only:
        rows = mix_speech_only(args.speech_only, bank, config, args.out, force=args.force, speech_noises=args.speech_noise,
                               progress=not args.quiet)
        utterances = len({r["utt_id"] for r in rows})
        print(f"wrote {len(rows)} audio-only training mixtures of {utterances} utterances to {args.out}/mixtures.csv "
              f"(train on them with emgse train --audio-only-mix {args.out})")
        return 0
    rows = mix_corpus(args.data, args.split or ["test"], bank, config, args.out, force=args.force, speech_noises=args.speech_noise,
                      progress=not args.quiet)
    print(f"wrote {len(rows)} mixtures ({len(bank)} noises x {len(config.snrs_db)} SNRs) to {args.out}/mixtures.csv")
    return 0
