"""Arguments and entry point of ``emgse simulate`` (placeholder until the simulator lands)."""

from __future__ import annotations

import argparse

from emgse.errors import EmgseError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True)


def run(args: argparse.Namespace) -> int:
    raise EmgseError("the simulator is not implemented yet")
