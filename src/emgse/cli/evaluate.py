"""``emgse evaluate``: score mixtures (noisy and enhanced) or real recording pairs."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter
from emgse.resources import PRETRAINED_NAME


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score noisy and enhanced mixtures: PESQ (wide-band), STOI, ESTOI, SI-SDR",
        description=(
            "Score the noisy input and every system of ENH (ENH/<system>/<mixture path>) against\n"
            "gain * clean, in parallel processes. Writes OUT/scores.csv (one row per system x utterance\n"
            "x noise x SNR), summaries per SNR, noise and noise category (CSV) and summary.md.\n"
            "Real recordings: --pairs DIR (DIR/clean/X.wav + DIR/noisy/X.wav, any rate) [--checkpoint CKPT\n"
            "--checkpoint CKPT2 ...] enhances every noisy file with each checkpoint (default: the shipped\n"
            "pretrained model; audio only, EMG absent)\n"
            "and writes OUT/pair_scores.csv (PESQ, STOI, ESTOI, SI-SDR, DNSMOS per file), pair_summary.md\n"
            "(means, gain over noisy, files made worse) and OUT/enhanced/<system>/X.wav. Evaluation only:\n"
            "never train or select models on such pairs."
        ),
        formatter_class=Formatter,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--mixtures", type=Path, help="mixture folder (mixtures.csv, mix.json)")
    source.add_argument("--pairs", type=Path, help="folder of real recordings: clean/X.wav and noisy/X.wav")
    p.add_argument("--checkpoint", type=Path, action="append", default=None,
                   help=f"pairs mode: a checkpoint to score (repeatable; default: the shipped pretrained model; '{PRETRAINED_NAME}' names it beside others)")
    p.add_argument("--system", action="append", default=None, help="pairs mode: a name per --checkpoint (default: its run folder)")
    p.add_argument("--enhanced", type=Path, default=None, help="folder of <system>/ outputs (omit to score only noisy)")
    p.add_argument("--systems", nargs="+", default=None, help="systems to score (default: every folder in --enhanced)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--limit", type=int, default=None, help="score only the first N mixtures")
    p.add_argument("--split", nargs="+", default=None, choices=["train", "val", "test"], help="only these splits")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--dnsmos", action=argparse.BooleanOptionalAction, default=None,
                   help="no-reference DNSMOS columns dnsmos_sig, dnsmos_bak, dnsmos_ovrl (slow; default: off for --mixtures, on for --pairs)")
    p.add_argument("--atten-lim", type=float, default=None, metavar="DB",
                   help="pairs mode: enhance with this attenuation limit (see emgse enhance)")
    p.add_argument("--baseline", nargs="+", default=None, metavar="NAME",
                   help="add audio-only baselines as systems (dfn3, gtcrn; pip install -e '.[baselines]'): pairs mode enhances "
                        "each file with them; mixtures mode writes ENH/<NAME>/ (--enhanced ENH) unless complete, then scores it")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")


def run(args: argparse.Namespace) -> int:
    from emgse.scoring import (
        check_evaluate_options,
        evaluate,
        evaluate_pairs,
        is_evaluation_pairs,
        pairs_table,
        summary_markdown,
    )

    check_evaluate_options("mixtures" if args.pairs is None else "pairs", vars(args))
    if args.pairs is not None:
        checkpoints, systems = (args.checkpoint, args.system) if args.checkpoint else ([Path(PRETRAINED_NAME)], args.system or [PRETRAINED_NAME])
        rows = evaluate_pairs(args.pairs, checkpoints, args.out, systems=systems, jobs=args.jobs, progress=not args.quiet,
                              dnsmos=args.dnsmos is not False, atten_lim_db=args.atten_lim, force=args.force,
                              baselines=args.baseline or ())
        print(pairs_table(rows, f"Real recordings: {args.pairs.name}", evaluation_only=is_evaluation_pairs(args.pairs)).markdown())
        print(f"per-file scores: {args.out / 'pair_scores.csv'}")
        return 0
    systems = args.systems
    if args.baseline:
        from emgse.baselines import baseline_systems

        names = baseline_systems(args.baseline, args.mixtures, args.enhanced, splits=args.split or ("train", "val", "test"),
                                 force=args.force, progress=not args.quiet)
        systems = None if systems is None else list(dict.fromkeys([*systems, *names]))
    rows = evaluate(args.mixtures, args.enhanced, systems, args.out, jobs=args.jobs, limit=args.limit, splits=args.split,
                    progress=not args.quiet, dnsmos=bool(args.dnsmos), force=args.force)
    print(summary_markdown(rows))
    return 0
