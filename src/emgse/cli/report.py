"""``emgse report``: write a self-contained report.html from scores."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained report.html (tables, plots vs SNR, spectrograms, audio players)",
        formatter_class=Formatter,
    )
    p.add_argument("--scores", required=True, type=Path, help="scores.csv or the folder holding it")
    p.add_argument("--out", required=True, type=Path, help="output .html file")
    p.add_argument("--mixtures", type=Path, default=None, help="mixture folder (for audio examples)")
    p.add_argument("--enhanced", type=Path, default=None, help="enhanced outputs folder (for audio examples)")
    p.add_argument("--examples", type=int, default=3, help="number of listening examples")
    p.add_argument("--title", default="emgse results", help="page title")
    p.add_argument("--note", nargs="+", default=None, help="lines shown under the title")


def run(args: argparse.Namespace) -> int:
    from emgse.report import build_report

    path = build_report(
        args.out, args.scores, mixtures_dir=args.mixtures, enhanced_root=args.enhanced, n_examples=args.examples, title=args.title, notes=args.note or []
    )
    print(f"wrote {path}")
    return 0
