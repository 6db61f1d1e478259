"""``emgse prepare``: read a corpus (CSL-EMG_Array, Gaddy & Klein, EMG-UKA) into the prepared layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter, parse_ranges
from emgse.protocol import CSL_EMG_FS, PREPARED_EMG_FS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="read a real corpus into the prepared layout (synced 16 kHz audio + EMG)",
        description=(
            "Convert a corpus into the prepared layout that every later stage reads:\n"
            "  DIR/corpus.json, DIR/{train,val,test}/<utt_id>.wav (mono 16 kHz) and\n"
            "  DIR/{train,val,test}/<utt_id>.emg.npy (float32, (samples, channels) at emg_fs).\n"
            "Your own recordings can be written straight into this layout (see docs/corpora.md)."
        ),
        formatter_class=Formatter,
    )
    psub = p.add_subparsers(dest="corpus_kind", required=True, metavar="CORPUS")

    c = psub.add_parser(
        "csl-emg-array",
        help=f"CSL-EMG_Array (40-channel cheek + chin arrays at {CSL_EMG_FS} Hz)",
        description=(
            "Read one session of CSL-EMG_Array: sync audio and EMG at the marker rise, drop the\n"
            f"marker, keep audio channel 0, resample EMG {CSL_EMG_FS} -> {PREPARED_EMG_FS} Hz (polyphase, anti-aliased).\n"
            "--session all reads every session; a corpus written by `emgse simulate --speech` holds\n"
            "splits.json, and then each session (speaker) goes whole to its train/val/test split."
        ),
        formatter_class=Formatter,
    )
    c.add_argument("--corpus", required=True, type=Path, help="corpus root (the folder holding session folders)")
    c.add_argument("--session", required=True, help="session name, e.g. Spk5_Block1-Initial, or 'all'")
    c.add_argument("--out", required=True, type=Path, help="prepared output folder")
    c.add_argument("--test", type=parse_ranges, default="0-40", help="utterance (folder) numbers for test (authors: 0000-0040)")
    c.add_argument("--val", type=parse_ranges, default="41-60", help="utterance numbers for validation")
    c.add_argument("--train", type=parse_ranges, default="61-999", help="utterance (folder) numbers for training (authors: 0061-0999; 1000+ unused)")
    c.add_argument("--emg-fs", type=int, default=PREPARED_EMG_FS, help="EMG rate of the prepared layout (Hz)")
    c.add_argument("--force", action="store_true", help="replace a non-empty --out")
    c.add_argument("--quiet", action="store_true", help="no progress bar")

    g = psub.add_parser(
        "gaddy",
        help="Gaddy & Klein (EMNLP 2020) EMG corpus (8 channels at 1000 Hz), read as its authors read it",
        description=(
            "Read the Gaddy & Klein corpus (emg_data/{voiced_parallel_data,nonparallel_data,silent_parallel_data}).\n"
            "EMG stays at 1000 Hz with its 8 channels and is cleaned as dgaddy/silent_speech does: 60 Hz\n"
            "notches at harmonics 1-7 (Q 30) and a 2 Hz 3rd-order high-pass, zero-phase, over the previous +\n"
            "current + next file. Reference clips (sentence_index -1) are skipped.\n"
            "Split: the corpus's testset_largedev.json (found beside emg_data, or --split-file) gives the\n"
            "dev and test sentences; voiced parallel utterances of test sentences are test, of dev\n"
            "sentences validation, the rest (and nonparallel_data) training; non-parallel recordings of\n"
            "dev/test sentences are left out. Without a split file, sentences are drawn at random.\n"
            "--silent also writes the silent EMG (input of emgse voice) to OUT/silent/<split>/<id>.emg.npy\n"
            "with OUT/silent/utterances.csv (split, sentence, the voiced twin's id, text)."
        ),
        formatter_class=Formatter,
    )
    g.add_argument("--corpus", required=True, type=Path, help="the corpus's emg_data folder (or its parent)")
    g.add_argument("--out", required=True, type=Path, help="prepared output folder")
    g.add_argument("--split-file", default="auto",
                   help="testset JSON ('dev'/'test' lists of [book, sentence_index]); auto: testset_largedev.json beside "
                        "emg_data if present, else random; random: a seeded random sentence split")
    g.add_argument("--audio", default="clean", choices=["clean", "raw"],
                   help="enhancement target: clean = <i>_audio_clean.flac (noise-reduced by the corpus authors), "
                        "raw = <i>_audio.flac (the microphone as recorded)")
    g.add_argument("--no-nonparallel", action="store_true", help="leave nonparallel_data out of training")
    g.add_argument("--silent", action="store_true", help="also write the silent EMG to OUT/silent/")
    g.add_argument("--val-fraction", type=float, default=0.03, help="random split: share of sentences for validation")
    g.add_argument("--test-fraction", type=float, default=0.015, help="random split: share of sentences for test")
    g.add_argument("--seed", type=int, default=0, help="seed of the random split")
    g.add_argument("--force", action="store_true", help="replace a non-empty --out")
    g.add_argument("--quiet", action="store_true", help="no progress bars")

    u = psub.add_parser(
        "emg-uka",
        help="EMG-UKA Trial Corpus (REAL facial EMG: 6 channels at 600 Hz + close-talk audio)",
        description=(
            "Read one speaker's session of the EMG-UKA Trial Corpus (emg/, audio/, offset/, Transcripts/, Subsets/):\n"
            "crop audio and EMG to the corpus's offsets, keep the microphone (stereo WAV: channel 0; mono FLAC as is),\n"
            "drop the marker (7th EMG channel), resample the EMG 600 -> --emg-fs Hz (polyphase; 600 Hz does not frame\n"
            "8 ms hops in whole samples), carry the transcripts. Split: Subsets/test.<mode> is test; a seeded\n"
            "--val-fraction of each session's Subsets/train.<mode> is validation, the rest training.\n"
            "Utterance ids: <spk>_<ses>_<utt>. --session all pools every session of the speaker."
        ),
        formatter_class=Formatter,
    )
    u.add_argument("--corpus", required=True, type=Path, help="corpus root (the folder holding emg/, audio/, offset/, Subsets/)")
    u.add_argument("--speaker", required=True, help="speaker, e.g. 002")
    u.add_argument("--session", required=True, help="session, e.g. 101, or 'all'")
    u.add_argument("--mode", choices=("audible", "whispered", "silent"), default="audible", help="speaking mode")
    u.add_argument("--out", required=True, type=Path, help="prepared output folder")
    u.add_argument("--emg-fs", type=int, default=PREPARED_EMG_FS, help="EMG rate of the prepared layout (Hz; 8 ms must be whole samples)")
    u.add_argument("--val-fraction", type=float, default=0.05, help="share of each session's training list kept for validation")
    u.add_argument("--seed", type=int, default=0, help="seed of the validation draw")
    u.add_argument("--force", action="store_true", help="replace a non-empty --out")
    u.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.corpus_kind == "csl-emg-array":
        from emgse.corpora.csl_emg_array import SplitRanges, prepare_csl_emg_array

        summary = prepare_csl_emg_array(
            args.corpus,
            args.session,
            args.out,
            splits=SplitRanges(test=args.test, val=args.val, train=args.train),
            emg_fs=args.emg_fs,
            force=args.force,
            progress=not args.quiet,
        )
    elif args.corpus_kind == "emg-uka":
        from emgse.corpora.emg_uka import prepare_emg_uka

        summary = prepare_emg_uka(args.corpus, args.speaker, args.session, args.out, mode=args.mode, emg_fs=args.emg_fs,
                                  val_fraction=args.val_fraction, seed=args.seed, force=args.force, progress=not args.quiet)
    else:
        from emgse.corpora.gaddy import prepare_gaddy

        summary = prepare_gaddy(
            args.corpus,
            args.out,
            split_file=args.split_file,
            audio=args.audio,
            nonparallel=not args.no_nonparallel,
            silent=args.silent,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            seed=args.seed,
            force=args.force,
            progress=not args.quiet,
        )
    counts = ", ".join(f"{k}: {v}" for k, v in summary["utterances"].items())
    print(f"prepared {args.out} ({counts}; EMG {summary['emg_channels']} channels at {summary['emg_fs']} Hz)")
    if summary.get("silent"):
        silent = ", ".join(f"{k}: {v}" for k, v in summary["silent"]["utterances"].items())
        print(f"silent EMG -> {args.out / summary['silent']['folder']} ({silent})")
    return 0
