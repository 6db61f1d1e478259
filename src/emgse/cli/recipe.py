"""``emgse recipe``: the full experimental protocols on real corpora (paper, gaddy, emg-uka)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter, add_data_root, parse_ranges
from emgse.protocol import TRAIN_SNR_RANGE_DB, TRAIN_SNRS_DB, snr_list


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recipe",
        help="full experimental protocols (paper: the EMGSE paper on CSL-EMG_Array; gaddy: SEMamba-EMG on Gaddy & Klein; "
             "emg-uka: the paper's protocol on real EMG-UKA EMG)",
        formatter_class=Formatter,
    )
    rsub = p.add_subparsers(dest="recipe", required=True, metavar="RECIPE")
    r = rsub.add_parser(
        "paper",
        help="the EMGSE paper's protocol on one CSL-EMG_Array speaker",
        description=(
            "The paper's full protocol: Spk<N>_Block1-Initial, utterances 0-40 test, 41-60 val, 61-999 train;\n"
            f"training noises at {snr_list(TRAIN_SNRS_DB)} dB, 5 per utterance; every test noise at {snr_list()} dB\n"
            "(generated pink added if the test set lacks it); audio, emgse, emgse-cheek, emgse-chin trained\n"
            "with Adam 1e-4, batch 16, up to 500 epochs, early stopping (15); then enhance, score, report.\n"
            "Resumable stage by stage: run the same command again after an interruption."
        ),
        formatter_class=Formatter,
    )
    r.add_argument("--corpus", required=True, type=Path, help="CSL-EMG_Array root")
    r.add_argument("--speaker", type=int, default=5, help="speaker number")
    r.add_argument("--noise-train", nargs="+", required=True, help="training noises (e.g. the 100 Hu noises folder)")
    r.add_argument("--noise-test", nargs="+", required=True, help="test noises (e.g. the 17/18 EMGSE test noises folder)")
    r.add_argument("--out", required=True, type=Path, help="output folder")
    r.add_argument("--systems", nargs="+", default=["audio", "emgse", "emgse-cheek", "emgse-chin", "emg-alone"],
                   help="systems to train (emg-alone: an emg-only model voiced with no microphone, the 'EMG alone' row)")
    r.add_argument("--epochs", type=int, default=500, help="maximum epochs")
    r.add_argument("--test", type=parse_ranges, default="0-40", help="utterance (folder) numbers for test (authors: 0000-0040)")
    r.add_argument("--val", type=parse_ranges, default="41-60", help="utterance numbers for validation")
    r.add_argument("--train", type=parse_ranges, default="61-999", help="utterance (folder) numbers for training (authors: 0061-0999; 1000+ unused)")
    r.add_argument("--max-minutes", type=float, default=None, help="training budget per system (default: none)")
    r.add_argument("--jobs", type=int, default=2, help="processes for scoring")
    r.add_argument("--seed", type=int, default=0, help="random seed")
    r.add_argument("--quiet", action="store_true", help="no progress bars")

    g = rsub.add_parser(
        "gaddy",
        help="SEMamba-EMG's protocol on the Gaddy & Klein corpus (audio-only vs fusion)",
        description=(
            "SEMamba-EMG's (arXiv 2501.06530) Gaddy & Klein protocol: voiced parallel data (8 channels at 1 kHz,\n"
            "EMG cleaned as dgaddy/silent_speech does) plus nonparallel_data for training; the corpus's\n"
            f"testset_largedev.json split (found beside emg_data, or --split-file); training noises at {snr_list(TRAIN_SNRS_DB)}\n"
            "dB (--per-utterance per utterance and SNR); every test noise (the 18 EMGSE noises, generated\n"
            f"pink added if missing) at {snr_list()} dB; audio-only and fusion trained alike (Adam 1e-4, batch\n"
            "16, early stopping 15); enhance, score, report. Published SEMamba-EMG averages (PESQ / STOI):\n"
            "noisy 1.188 / 0.685, audio-only 2.118 / 0.860, fusion 2.606 / 0.913.\n"
            "Resumable stage by stage: run the same command again after an interruption."
        ),
        formatter_class=Formatter,
    )
    g.add_argument("--corpus", required=True, type=Path, help="the corpus's emg_data folder (or its parent)")
    g.add_argument("--noise-train", nargs="+", required=True, help="training noises (folders, files or generated names)")
    g.add_argument("--noise-test", nargs="+", required=True, help="test noises (e.g. the 17/18 EMGSE test noises folder)")
    g.add_argument("--out", required=True, type=Path, help="output folder")
    g.add_argument("--split-file", default="auto", help="testset JSON, auto (testset_largedev.json beside emg_data) or random")
    g.add_argument("--audio", default="clean", choices=["clean", "raw"],
                   help="enhancement target: <i>_audio_clean.flac (noise-reduced) or <i>_audio.flac (as recorded)")
    g.add_argument("--no-nonparallel", action="store_true", help="train on the voiced parallel data only")
    g.add_argument("--systems", nargs="+", default=["audio", "emgse", "emg-alone"],
                   help="models to train (audio = audio-only baseline; emg-alone: an emg-only model voiced with no microphone, "
                        "the 'EMG alone' row)")
    g.add_argument("--per-utterance", type=int, default=1, help="training noises per utterance and SNR")
    g.add_argument("--epochs", type=int, default=500, help="maximum epochs")
    g.add_argument("--max-minutes", type=float, default=None, help="training budget per system (default: none)")
    g.add_argument("--jobs", type=int, default=2, help="processes for scoring")
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


    u = rsub.add_parser(
        "emg-uka",
        help="the paper's protocol on REAL EMG: one EMG-UKA speaker's session (speaker- and session-dependent)",
        description=(
            "The paper's protocol on the EMG-UKA Trial Corpus (REAL facial EMG, 6 channels at 600 Hz): the session's\n"
            "Subsets/test list is test, its train list train + validation (emgse prepare emg-uka); audio-mask and\n"
            f"emgse-mask (or --systems) trained on mixtures drawn on the fly at {TRAIN_SNR_RANGE_DB[0]:g}...{TRAIN_SNR_RANGE_DB[1]:g} dB with the paper's training\n"
            "noises, the mask pair from the shipped pretrained audio path, EMG z-scored; the test utterances mixed\n"
            f"with the paper's test noises (generated pink added) at {snr_list()} dB; enhance, score (scores/scores.csv),\n"
            "report.html, and the EMG gain (fusion minus audio-only) per SNR and noise category with 95% intervals.\n"
            "Noises default to noise/{train,test} under the data root (--data-root DIR, else EMGSE_DATA) when present, else generated banks.\n"
            "The default budget is the demo's (2 x 200 steps of 16 x 2 s; a hand run trained and scored in 6.7 min on 2 cores);\n"
            "--epochs/--steps raise it. Resumable stage by stage: run the same command again after an interruption."
        ),
        formatter_class=Formatter,
    )
    u.add_argument("--corpus", required=True, type=Path, help="EMG-UKA corpus root (emg/, audio/, offset/, Subsets/)")
    u.add_argument("--speaker", default="002", help="speaker")
    u.add_argument("--session", default="101", help="session, or 'all' (the speaker's sessions pooled)")
    u.add_argument("--out", required=True, type=Path, help="output folder")
    u.add_argument("--mode", choices=("audible", "whispered", "silent"), default="audible", help="speaking mode")
    u.add_argument("--systems", nargs="+", default=["audio-mask", "emgse-mask"],
                   help="systems: audio-mask, emgse-mask (from the pretrained audio path), audio, emgse (the paper's, from "
                        "scratch), emg-alone (speech from EMG alone, no microphone)")
    u.add_argument("--channels", default="all", help="EMG channels (0-based indices, e.g. 0-3,5 drops EMG5, which the corpus's "
                                                     "authors find unstable)")
    u.add_argument("--epochs", type=int, default=2, help="training epochs per model")
    u.add_argument("--steps", type=int, default=200, help="training steps per epoch (batches of 16 crops of 2 s)")
    u.add_argument("--per-utterance", type=int, default=3, help="test noises per utterance and SNR")
    u.add_argument("--noise-train", nargs="+", default=None, help="training noises (default: the paper's under the data root when present, else generated)")
    u.add_argument("--noise-test", nargs="+", default=None, help="test noises (default: the paper's under the data root when present, else generated)")
    u.add_argument("--real-pairs", type=Path, default=None, help="real clean/noisy pairs to also score the audio paths on (evaluation only)")
    add_data_root(u)
    u.add_argument("--silent", action="store_true",
                   help="also voice the session's silent test EMG with emg-alone (add it to --systems) and score it by DTW "
                        "mel-cepstral distortion against the audible recording of the same sentence (scores/parallel.csv)")
    u.add_argument("--jobs", type=int, default=2, help="processes for scoring")
    u.add_argument("--seed", type=int, default=11, help="random seed")
    u.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from emgse.corpora.csl_emg_array import SplitRanges
    from emgse.experiments import (
        EMG_UKA_BUDGET,
        GaddyConfig,
        PaperConfig,
        run_emg_uka_recipe,
        run_gaddy_recipe,
        run_paper_recipe,
    )

    if args.recipe == "emg-uka":
        budget = dataclasses.replace(EMG_UKA_BUDGET, epochs=args.epochs, steps=args.steps, noises_per_test=args.per_utterance,
                                     seed=args.seed, jobs=args.jobs)
        run_emg_uka_recipe(args.corpus, args.speaker, args.session, args.out, budget, systems=tuple(args.systems), mode=args.mode,
                           channels=args.channels, noise_train=args.noise_train, noise_test=args.noise_test, real_pairs=args.real_pairs,
                           silent=args.silent, progress=not args.quiet, data_root=args.data_root)
        return 0
    if args.recipe == "gaddy":
        gaddy = dataclasses.replace(
            GaddyConfig(), audio=args.audio, nonparallel=not args.no_nonparallel, per_utterance=args.per_utterance, max_epochs=args.epochs,
            jobs=args.jobs, seed=args.seed, systems=tuple(args.systems),
        )
        run_gaddy_recipe(args.corpus, args.noise_train, args.noise_test, args.out, gaddy, split_file=args.split_file,
                         max_minutes=args.max_minutes, progress=not args.quiet)
        return 0
    config = dataclasses.replace(
        PaperConfig(), speaker=args.speaker, max_epochs=args.epochs, jobs=args.jobs, seed=args.seed, systems=tuple(args.systems)
    )
    run_paper_recipe(
        args.corpus, args.noise_train, args.noise_test, args.out, config,
        splits=SplitRanges(test=args.test, val=args.val, train=args.train), max_minutes=args.max_minutes, progress=not args.quiet,
    )
    return 0
