"""``emgse simulate``: the simulated corpus; its options belong to :mod:`emgse.corpora.simulated.cli`."""

from __future__ import annotations

import argparse

from emgse.cli.common import Formatter


def add_parser(sub: argparse._SubParsersAction) -> None:
    # Owned by the simulator (emgse.corpora.simulated); it declares its own options.
    from emgse.corpora.simulated.cli import add_arguments

    p = sub.add_parser(
        "simulate",
        help="write a simulated parallel speech + facial-EMG corpus in the CSL-EMG_Array layout",
        description="Simulate speakers reading sentences, with 40-channel facial EMG, in the exact "
        "CSL-EMG_Array on-disk layout. SIMULATED data: not a substitute for real EMG results.",
        formatter_class=Formatter,
    )
    add_arguments(p)


def run(args: argparse.Namespace) -> int:
    from emgse.corpora.simulated.cli import run as simulate

    return simulate(args)
