"""``emgse features``: print the audio and EMG front-end of one utterance."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter
from emgse.protocol import PREPARED_EMG_FS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "features",
        help="show the audio and EMG front-end of one utterance (frame grid, shapes, statistics)",
        description=(
            "Compute the paper's front-end on one prepared utterance and print what it gives:\n"
            "257-bin log1p STFT magnitude (16 kHz, Blackman 512, hop 128) and EMG TD features\n"
            "(5 per channel, 32 ms frames, 8 ms hop) on the same frame grid, with context stacking."
        ),
        formatter_class=Formatter,
    )
    p.add_argument("--audio", required=True, type=Path, help="mono WAV (resampled to 16 kHz if needed)")
    p.add_argument("--emg", required=True, type=Path, help="EMG .npy of shape (samples, channels)")
    p.add_argument("--emg-fs", type=float, default=float(PREPARED_EMG_FS), help="EMG sampling rate (Hz)")
    p.add_argument("--channels", default="all", help="channel set: all, cheek, chin or indices like 0,1,2")
    p.add_argument("--context", type=int, default=15, help="context frames on each side (paper: 15)")


def run(args: argparse.Namespace) -> int:
    from emgse.features.describe import describe_utterance

    print(describe_utterance(args.audio, args.emg, emg_fs=args.emg_fs, channels=args.channels, context=args.context))
    return 0
