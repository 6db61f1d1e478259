"""``emgse voice``: speech from EMG alone (no microphone)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter
from emgse.errors import EmgseError
from emgse.protocol import PREPARED_EMG_FS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "voice",
        help="speech from EMG alone (no microphone): magnitude from an EMG model, phase by Griffin-Lim",
        description=(
            f"One recording: --emg X.npy [--emg-fs {PREPARED_EMG_FS}] --out X.wav (EMG at any rate, resampled to the\n"
            "  checkpoint's; output at the checkpoint's audio rate, as long as the EMG).\n"
            "Folder: --folder DIR --out OUTDIR voices every X.emg.npy of DIR into OUTDIR/X.wav.\n"
            "Batch: --mixtures MIX --out ENH writes ENH/<system>/<mixture path> (default system\n"
            "  emg-alone; the microphone signal is not used) for emgse evaluate to score.\n"
            "An emg-only checkpoint always gives meaningful output; a fusion model runs with its audio\n"
            "  input marked absent (silence) and means something only if trained with audio-absent\n"
            "  examples; audio-only and mask models are refused."
        ),
        formatter_class=Formatter,
    )
    p.add_argument("--checkpoint", required=True, type=Path, help="best.pt of a training run (emg-only recommended)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--emg", type=Path, help="EMG .npy (samples, channels)")
    src.add_argument("--folder", type=Path, help="folder of X.emg.npy (folder mode)")
    src.add_argument("--mixtures", type=Path, help="mixture folder (batch mode; EMG from its prepared corpus)")
    p.add_argument("--emg-fs", type=float, default=None, help="EMG rate in Hz (default: the checkpoint's)")
    p.add_argument("--out", required=True, type=Path, help="output WAV (single) or output root (folder, batch)")
    p.add_argument("--system", default="emg-alone", help="batch mode: system name for the output folder")
    p.add_argument("--split", nargs="+", default=["test"], choices=["train", "val", "test"], help="batch mode: splits")
    p.add_argument("--phase", default="emgse", choices=["emgse", "librosa"],
                   help="Griffin-Lim on emgse's STFT grid, or librosa.griffinlim with the same window and hop")
    p.add_argument("--iterations", type=int, default=None, help="Griffin-Lim iterations (default 100)")
    p.add_argument("--momentum", type=float, default=None, help="fast Griffin-Lim momentum (default 0.99; 0: classic)")
    p.add_argument("--seed", type=int, default=0, help="initial random phase")
    p.add_argument("--force", action="store_true", help="replace existing outputs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--no-channel-check", action="store_true", help="feed every EMG channel as recorded (see emgse enhance)")


def run(args: argparse.Namespace) -> int:
    from emgse.voice import MOMENTUM, N_ITER, voice_file, voice_folder, voice_mixtures

    options = {"check_channels": not args.no_channel_check, "phase": args.phase, "seed": args.seed,
               "n_iter": N_ITER if args.iterations is None else args.iterations,
               "momentum": MOMENTUM if args.momentum is None else args.momentum}
    if options["n_iter"] < 0:
        raise EmgseError(f"--iterations {args.iterations}: must be 0 or more")
    if args.folder:
        written = voice_folder(args.checkpoint, args.folder, args.out, emg_fs=args.emg_fs, force=args.force, progress=not args.quiet, **options)
        print(f"voiced {len(written)} files -> {args.out}")
    elif args.mixtures:
        target = voice_mixtures(args.checkpoint, args.mixtures, args.out, system=args.system, splits=tuple(args.split), force=args.force,
                                progress=not args.quiet, **options)
        print(f"voiced mixtures -> {target} (score with emgse evaluate --mixtures {args.mixtures} --enhanced {args.out})")
    else:
        info = voice_file(args.checkpoint, args.emg, args.out, emg_fs=args.emg_fs, force=args.force, **options)
        print(f"voiced {info['input']} -> {info['output']} ({info['samples']} samples at {info['fs']} Hz)")
        if info["uses_audio"] and not info["trained_audio_absent"]:
            print(f"note: {info['model']} is a fusion model run with its audio marked absent (silence); its output means "
                  "something only if it was trained with audio-absent examples")
        if info["unusable_channels"]:
            print(f"EMG channels {', '.join(map(str, info['unusable_channels']))} read flat or abnormally loud: treated as missing")
    return 0
