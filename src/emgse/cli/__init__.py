"""The ``emgse`` command line. It parses arguments and calls library functions; nothing else.

One module per command (``emgse.cli.<command>``, e.g. :mod:`emgse.cli.train`): its ``add_parser(sub)``
declares the command's arguments and its ``run(args)`` calls the library. What several commands
share (the formatter, one-line argparse errors, ``--atten-lim``, the channel-check flags) lives in
:mod:`emgse.cli.common`. User errors (:class:`EmgseError`) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys

from emgse import __version__, files
from emgse.cli import (
    demo,
    enhance,
    evaluate,
    export,
    features,
    mix,
    models,
    prepare,
    recipe,
    report,
    simulate,
    stream,
    train,
    voice,
)
from emgse.cli.common import Formatter, Parser, add_clean_partial, one_line
from emgse.errors import EmgseError

MAIN_HELP = """\
emgse: multimodal speech enhancement from a noisy microphone signal plus facial surface EMG.

Pipeline: corpus -> prepared layout -> mixtures -> features -> model -> enhance -> scores -> report.
Run `emgse <command> --help` for each command's options.
"""


# command -> (add_parser, run), in the order --help lists them
COMMANDS = {
    "prepare": (prepare.add_parser, prepare.run),
    "mix": (mix.add_parser, mix.run),
    "features": (features.add_parser, features.run),
    "models": (models.add_parser, models.run),
    "train": (train.add_parser, train.run),
    "enhance": (enhance.add_parser, enhance.run),
    "voice": (voice.add_parser, voice.run),
    "evaluate": (evaluate.add_parser, evaluate.run),
    "report": (report.add_parser, report.run),
    "demo": (demo.add_parser, demo.run),
    "recipe": (recipe.add_parser, recipe.run),
    "simulate": (simulate.add_parser, simulate.run),
    "stream": (stream.add_parser, stream.run),
    "export": (export.add_parser, export.run),
}


def build_parser() -> argparse.ArgumentParser:
    from emgse.options import gate_numeric_options

    parser = Parser(prog="emgse", description=MAIN_HELP, formatter_class=Formatter)
    parser.add_argument("--version", action="version", version=f"emgse {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    gate_numeric_options(parser)
    add_clean_partial(parser)
    return parser


# errors of the output's disk, not of emgse: one line even where the writer did not name the file
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG)


def main(argv: list[str] | None = None) -> int:
    """Run one command. User errors (:class:`EmgseError`, and an operating-system error on a named
    file) print one line and return 2; any other exception is a bug: one line and 1, with the
    traceback only when ``EMGSE_DEBUG=1``."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a bad option (one line, status 2)
        return e.code if isinstance(e.code, int) else 2
    debug = os.environ.get("EMGSE_DEBUG", "") not in ("", "0")
    files.REMOVE_STALE_PARTIALS = bool(getattr(args, "clean_partial", False))
    where = f"emgse {args.command}"
    try:
        return COMMANDS[args.command][1](args)
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except EmgseError as e:
        if debug:
            raise
        print(f"{where}: error: {one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        if debug or (e.filename is None and e.errno not in DISK_ERRNOS):
            raise
        print(f"{where}: error: {f'{e.filename}: ' if e.filename else ''}{one_line(e.strerror or e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if debug:
            raise
        print(f"{where}: internal error ({type(e).__name__}: {one_line(e)[:200]}); "
              "this is a bug: please report it with the traceback that EMGSE_DEBUG=1 shows", file=sys.stderr)
        return 1
