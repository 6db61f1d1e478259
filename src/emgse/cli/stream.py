"""``emgse stream``: enhance a recording through the causal streaming engine and time it."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter, add_atten_lim, add_channel_check, dropped_line


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stream",
        help="enhance a recording through the causal streaming engine, hop by hop, and time it",
        description=(
            "Feed --audio and --emg to emgse.stream.Streamer in 8 ms hops (128 audio samples, 8 ms of EMG)\n"
            "as a device would, write the enhanced audio (the fixed delay removed, input length and rate)\n"
            "and print the algorithmic latency (window + EMG lookahead), per-hop compute and the real-time\n"
            "factor. Needs a causal-* checkpoint trained with --normalization zscore (or none)."
        ),
        formatter_class=Formatter,
    )
    p.add_argument("--checkpoint", required=True, type=Path, help="best.pt of a causal model")
    p.add_argument("--audio", required=True, type=Path, help="noisy recording (mono)")
    p.add_argument("--emg", type=Path, default=None, help="EMG .npy (samples, channels)")
    p.add_argument("--emg-fs", type=float, default=None, help="EMG rate in Hz (default: the checkpoint's)")
    p.add_argument("--out", required=True, type=Path, help="output WAV")
    p.add_argument("--backend", default="torch", choices=["torch", "onnx"], help="run the model step in torch or onnxruntime")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--dc-block", action="store_true", help="remove DC offset from the audio input")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    add_channel_check(p)
    add_atten_lim(p)


def run(args: argparse.Namespace) -> int:
    from emgse.stream import stream_file

    info = stream_file(args.checkpoint, args.audio, args.out, emg=args.emg, emg_fs=args.emg_fs, dc_block=args.dc_block,
                       threads=args.threads, force=args.force, backend=args.backend, check_channels=args.channel_check,
                       atten_lim_db=args.atten_lim)
    print(
        f"streamed {info['input']} -> {info['output']}: latency {info['latency_ms']:.0f} ms (window + lookahead), "
        f"per hop {info['mean_ms']:.2f} ms mean / {info['p95_ms']:.2f} ms p95, RTF {info['rtf']:.3f} "
        f"({info['hops']} hops, {args.backend}, {args.threads} thread{'s' if args.threads != 1 else ''})"
    )
    if line := dropped_line(info["unusable_channels"]):
        print(line)
    return 0
