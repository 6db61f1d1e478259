"""``emgse enhance``: enhance a recording, a folder or a manifest's mixtures (a checkpoint or a baseline)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter, add_atten_lim, add_channel_check, dropped_line
from emgse.errors import EmgseError
from emgse.protocol import PREPARED_EMG_FS
from emgse.resources import PRETRAINED_NAME


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "enhance",
        help="enhance a recording (audio + EMG) or every mixture of a manifest with a checkpoint",
        description=(
            f"One recording: --audio noisy.wav [--emg emg.npy --emg-fs {PREPARED_EMG_FS}] --out enhanced.wav\n"
            "  (any audio rate, resampled and back; output has exactly the input's length; EMG and\n"
            "  audio may differ by up to 100 ms).\n"
            "Batch: --mixtures MIX --out ENH writes ENH/<system>/<mixture path> for the test split,\n"
            "  reading EMG from the prepared corpus the mixtures were made from.\n"
            "Folder: --folder DIR --out OUTDIR enhances every X.wav of DIR with X.emg.npy beside it\n"
            "  (the prepared layout) into OUTDIR/X.wav."
        ),
        formatter_class=Formatter,
    )
    p.add_argument("--checkpoint", default=Path(PRETRAINED_NAME), type=Path,
                   help="best.pt of a training run (default: the pretrained audio-only model that ships, docs/pretrained.md)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--audio", type=Path, help="noisy recording (mono)")
    src.add_argument("--mixtures", type=Path, help="mixture folder (batch mode)")
    src.add_argument("--folder", type=Path, help="folder of X.wav + X.emg.npy (folder mode)")
    p.add_argument("--emg", type=Path, default=None, help="EMG .npy (samples, channels), single-recording mode")
    p.add_argument("--emg-fs", type=float, default=None, help="EMG rate in Hz (default: the checkpoint's)")
    p.add_argument("--out", required=True, type=Path, help="output WAV (single) or output root (batch)")
    p.add_argument("--system", default=None, help="batch mode: system name for the output folder (default: model name)")
    p.add_argument("--split", nargs="+", default=["test"], choices=["train", "val", "test"], help="batch mode: splits")
    p.add_argument("--force", action="store_true", help="replace existing outputs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_channel_check(p)
    add_atten_lim(p)
    p.add_argument("--baseline", default=None, metavar="NAME",
                   help="enhance with an audio-only baseline instead of a checkpoint: dfn3 or gtcrn (pip install -e '.[baselines]'; "
                        "docs/baselines.md)")
    p.add_argument(
        "--dnsmos", action="store_true",
        help="no-reference DNSMOS (SIG/BAK/OVRL) of input and output: printed (single) or OUT/dnsmos.csv (folder); "
        "for mixtures use emgse evaluate --dnsmos",
    )


def run(args: argparse.Namespace) -> int:
    from emgse.enhance import CHANNEL_CSV, enhance_file, enhance_folder, enhance_mixtures

    if args.mixtures and args.dnsmos:
        raise EmgseError("--dnsmos with --mixtures: score mixtures with emgse evaluate --dnsmos")
    if args.baseline is not None:
        return _run_baseline(args)
    if args.folder:
        written = enhance_folder(args.checkpoint, args.folder, args.out, emg_fs=args.emg_fs, force=args.force,
                                 progress=not args.quiet, dnsmos=args.dnsmos, check_channels=args.channel_check, atten_lim_db=args.atten_lim)
        print(f"enhanced {len(written)} files -> {args.out}" + (f" (DNSMOS: {args.out / 'dnsmos.csv'})" if args.dnsmos else ""))
        if (args.out / CHANNEL_CSV).is_file():
            print(f"channels treated as missing, per file: {args.out / CHANNEL_CSV}")
    elif args.mixtures:
        target = enhance_mixtures(
            args.checkpoint, args.mixtures, args.out, system=args.system, splits=tuple(args.split), force=args.force, progress=not args.quiet,
            check_channels=args.channel_check, atten_lim_db=args.atten_lim,
        )
        print(f"enhanced mixtures -> {target}")
        if (target / CHANNEL_CSV).is_file():
            print(f"channels treated as missing, per mixture: {target / CHANNEL_CSV}")
    else:
        info = enhance_file(args.checkpoint, args.audio, args.out, emg=args.emg, emg_fs=args.emg_fs, force=args.force, dnsmos=args.dnsmos,
                            check_channels=args.channel_check, atten_lim_db=args.atten_lim)
        print(f"enhanced {info['input']} -> {info['output']} ({info['samples']} samples at {info['fs']} Hz)")
        if line := dropped_line(info["unusable_channels"]):
            print(line)
        if args.dnsmos:
            print(_dnsmos_line(info))
    return 0


def _dnsmos_line(info: dict) -> str:
    cols = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
    return "DNSMOS SIG/BAK/OVRL: input " + " / ".join(f"{info['noisy_' + c]:.2f}" for c in cols) + \
        ", enhanced " + " / ".join(f"{info[c]:.2f}" for c in cols)


def _run_baseline(args: argparse.Namespace) -> int:
    from emgse import baselines

    given = [flag for flag, value in (("--checkpoint", args.checkpoint != Path(PRETRAINED_NAME)), ("--emg", args.emg),
                                      ("--emg-fs", args.emg_fs), ("--atten-lim", args.atten_lim), ("--dnsmos", args.dnsmos),
                                      ("--channel-check", args.channel_check is not None), ("--system", args.system)) if value]
    if given:
        raise EmgseError(f"{given[0]} does not apply to --baseline (an audio-only model of another project)")
    name = baselines.require_baselines([args.baseline])[0]
    if args.folder:
        written = baselines.enhance_baseline_folder(name, args.folder, args.out, force=args.force, progress=not args.quiet)
        print(f"enhanced {len(written)} files with {name} -> {args.out}")
    elif args.mixtures:
        target = baselines.enhance_baseline_mixtures(name, args.mixtures, args.out, splits=tuple(args.split), force=args.force,
                                                     progress=not args.quiet)
        print(f"enhanced mixtures with {name} -> {target}")
    else:
        info = baselines.enhance_baseline_file(name, args.audio, args.out, force=args.force)
        print(f"enhanced {info['input']} with {name} -> {info['output']} ({info['samples']} samples at {info['fs']} Hz)")
    return 0
