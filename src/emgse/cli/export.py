"""``emgse export``: export a causal model's per-hop step to ONNX and check it."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a causal model's per-hop step (state in, state out) to ONNX and check it",
        description=(
            "Export the one-frame step of a causal-* checkpoint (inputs log_mag, emg, h_in, c_in; outputs\n"
            "estimate, h_out, c_out) and check onnxruntime against torch over chained hops (<= 1e-4)."
        ),
        formatter_class=Formatter,
    )
    p.add_argument("--checkpoint", required=True, type=Path, help="best.pt of a causal model")
    p.add_argument("--format", default="onnx", choices=["onnx"], help="export format")
    p.add_argument("--out", required=True, type=Path, help="output .onnx file")
    p.add_argument("--hops", type=int, default=8, help="chained hops compared with torch")
    p.add_argument("--force", action="store_true", help="replace an existing output")


def run(args: argparse.Namespace) -> int:
    from emgse.export import export_onnx

    info = export_onnx(args.checkpoint, args.out, hops=args.hops, force=args.force)
    print(
        f"exported {info['model']} step -> {info['output']} ({info['bytes'] / 1e6:.1f} MB, opset {info['opset']}); "
        f"onnxruntime vs torch over {info['hops_checked']} hops: max abs diff {info['max_abs_diff']:.1e}"
    )
    return 0
