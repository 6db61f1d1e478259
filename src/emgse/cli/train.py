"""``emgse train``: train a model on mixtures drawn on the fly or on fixed mixtures. Its training,
sampler and EMG options are generated from the config fields (:func:`emgse.training.setup.add_train_options`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter


def add_parser(sub: argparse._SubParsersAction) -> None:
    from emgse.training.setup import SECTIONS_TEXT, add_train_options

    p = sub.add_parser(
        "train",
        help="train a model (audio, emgse, emg-only) on mixtures drawn on the fly, or on fixed mixtures",
        description=(
            "Two ways to get training mixtures:\n"
            "  on the fly (recommended): --noise SRC... with --data PREPARED (a corpus with EMG: its train\n"
            "    split trains, val validates) and/or --speech DIR... (audio-only speech; without --data,\n"
            "    --val-share of its speakers validate). Every batch is mixed anew on the training device:\n"
            "    random utterance and --crop, random noise and offset, SNR uniform in --snr, level in\n"
            "    --level; an epoch is --steps-per-epoch batches. Nothing is written but the run folder.\n"
            "  fixed (the paper's protocol): --mixtures MIX (made by `emgse mix --split train val ...`);\n"
            "    features are computed once per split into MIX/features/<channels>-<normalization>-<hash>/\n"
            "    (the hash covers every front-end setting, so changed settings never reuse old features).\n"
            "Input level normalization (default on; --no-level-norm for the paper's raw spectra) divides\n"
            "each STFT frame by the input's running RMS, so the model does not depend on the input's gain.\n"
            "The paper's recipe: L1 on log1p magnitude, Adam 1e-4, batch 16, 64-frame segments,\n"
            "up to 500 epochs, early stopping after 15 epochs without validation improvement.\n"
            "OUT receives config files, log.csv, last.pt (every epoch) and best.pt. --resume continues\n"
            "a killed run. Multi-process: torchrun --nproc_per_node N -m emgse train ...\n"
            f"Settings can come from --config YAML (sections {SECTIONS_TEXT}); flags given override it.\n"
            "Causal models default to z-score EMG (per-utterance min-max is not causal and is refused).\n"
            "--audio-only-mix MIX2 (made by emgse mix --speech-only) adds speech without EMG to training:\n"
            "EMG models see it with EMG absent (zero features, the enhancer's input without EMG), at\n"
            "--audio-only-share of each epoch's segments (auto: 0.5 for EMG models, all for audio-only\n"
            "models). Validation and the z-score statistics use the paired data of MIX only."
        ),
        formatter_class=Formatter,
    )
    p.add_argument("--mixtures", type=Path, default=None, help="fixed mixtures: a folder holding train and val mixtures")
    p.add_argument("--audio-only-mix", type=Path, default=None, metavar="MIX2",
                   help="mixture folder of audio-only speech (emgse mix --speech-only) to train on as well")
    p.add_argument("--data", type=Path, default=None, help="on the fly: a prepared corpus with EMG (train and val splits)")
    p.add_argument("--speech", nargs="+", type=Path, default=None, metavar="DIR",
                   help="on the fly: folders of audio-only speech (any layout; .wav/.flac at >= 16 kHz)")
    p.add_argument("--noise", nargs="+", default=None, metavar="SRC",
                   help="on the fly: noise folders, files or generated names (white, pink, babble, ...)")
    p.add_argument("--val-noise", nargs="+", default=None, metavar="SRC", help="on the fly: validation noises (default --noise)")
    p.add_argument("--val-share", type=float, default=0.05, metavar="SHARE",
                   help="on the fly without --data: share of --speech's speakers held out for validation")
    p.add_argument("--out", required=True, type=Path, help="run folder for logs and checkpoints")
    add_train_options(p)  # --config and the settings' options (emgse.training.setup)
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from emgse.training.setup import run_training, train_settings_from

    s, sampler = train_settings_from(args)
    summary = run_training(args.out, s, mixtures=args.mixtures, audio_only_mix=args.audio_only_mix, data=args.data, speech=args.speech,
                           noise=args.noise, val_noise=args.val_noise, val_share=args.val_share, sampler_flags=sampler,
                           resume=args.resume, progress=not args.quiet)
    print(
        f"{summary['model']}: best val loss {summary['best_val_loss']:.4f} at epoch {summary['best_epoch']} "
        f"of {summary['epochs']} ({summary['stop_reason']}, {summary['seconds']:.0f} s) -> {args.out / 'best.pt'}"
    )
    return 0
