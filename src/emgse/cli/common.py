"""What several commands share: the help formatter, one-line argparse errors, utterance ranges,
the ``--atten-lim`` and channel-check flags, and ``--clean-partial`` on every command with an ``--out``."""

from __future__ import annotations

import argparse
from pathlib import Path


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``emgse <command>: error: <message>`` and exit status 2
    (no usage block; ``--help`` shows it)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def one_line(message: object) -> str:
    """A message on one line (newlines folded into spaces)."""
    return " ".join(str(message).split()) or "(no message)"


def parse_ranges(text: str) -> list[tuple[int, int]]:
    """Parse ``"1-40"`` or ``"1-40,90-99"`` or ``"61-"`` (open end) into inclusive ranges."""
    ranges = []
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            start = int(lo)
            end = (int(hi) if hi else 10**9) if sep else start
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad utterance range {part!r} (use e.g. 1-40 or 61-)") from None
        if end < start:
            raise argparse.ArgumentTypeError(f"bad utterance range {part!r}: end before start")
        ranges.append((start, end))
    return ranges


def add_data_root(p: argparse.ArgumentParser) -> None:
    """``--data-root DIR`` (``emgse demo``, ``emgse recipe emg-uka``): the root of the paper's data
    (:func:`emgse.resources.find_data_root`); default None, i.e. the ``EMGSE_DATA`` variable, else none."""
    p.add_argument("--data-root", type=Path, default=None, metavar="DIR",
                   help="where the paper's data is read from: noise/{train,test} (the paper's noises) and "
                        "real-speech/voicebank-demand-test (real pairs, evaluation only); default: the EMGSE_DATA "
                        "environment variable, else none (generated noises). The run prints the root it used and "
                        "records it (data_root) in demo.json / recipe.json")


def add_atten_lim(p: argparse.ArgumentParser) -> None:
    p.add_argument("--atten-lim", type=float, default=None, metavar="DB",
                   help="attenuate no time-frequency bin by more than DB (e.g. 12): less noise removed, less speech "
                        "distortion")


def add_channel_check(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--no-channel-check", dest="channel_check", action="store_false", default=None,
        help="feed every EMG channel as recorded (default, for checkpoints trained with EMG channel dropout on z-scored "
        "EMG: from 0.5 s on, a channel whose running spread reads below 5%% or over 5x the median channel's is treated "
        "as missing, as EMG dropout trains for; other checkpoints, like the paper's min-max EMGSE, are never checked)",
    )
    g.add_argument("--channel-check", dest="channel_check", action="store_true", help="apply the channel check to any checkpoint")


def dropped_line(channels: list[int]) -> str | None:
    if not channels:
        return None
    return f"EMG channels {', '.join(map(str, channels))} read flat or abnormally loud: treated as missing"


def add_clean_partial(parser: argparse.ArgumentParser) -> None:
    """``--clean-partial`` for every command that writes an ``--out`` (any of them may name what a
    killed run left; the experiments, ``demo`` and ``recipe``, remove it in their folder anyway)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                add_clean_partial(sub)
    if any("--out" in a.option_strings for a in parser._actions):
        parser.add_argument("--clean-partial", action="store_true",
                            help="remove the *.partial-* work folders that interrupted runs left beside the output")

