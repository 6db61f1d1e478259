"""``emgse train``: train a model on mixtures drawn on the fly or on fixed mixtures."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter
from emgse.config import LOSSES, LR_SCHEDULES, WAVE_LOSSES


def _share(text: str) -> float | str:
    """``--audio-only-share``: ``auto``, ``all`` or a number (checked by :func:`emgse.training.audio_only_share`)."""
    try:
        return text if text in ("auto", "all") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use auto, all or a number in [0, 1)") from None


def _suppression_weight(text: str) -> float:
    """``--suppression-weight``: a number >= 1 (:attr:`emgse.training.TrainConfig.suppression_weight`)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number >= 1 (1: the symmetric loss)")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    from emgse.models import MODELS

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
            "Settings can come from --config YAML (sections 'train', 'emg' and 'audio'); flags override it.\n"
            "Causal models default to z-score EMG (per-utterance min-max is not causal and is refused).\n"
            "--audio-only-mix MIX2 (made by emgse mix --speech-only) adds speech without EMG to training:\n"
            "EMG models see it with EMG absent (zero features, the enhancer's input without EMG), at\n"
            "--audio-only-share of each epoch's segments (auto: 0.5 for EMG models, all for audio-only\n"
            "models). Validation and the z-score statistics use the paired data of MIX only."
        ),
        formatter_class=Formatter,
    )
    p.add_argument("--mixtures", type=Path, default=None, help="fixed mixtures: a folder holding train and val mixtures")
    p.add_argument("--data", type=Path, default=None, help="on the fly: a prepared corpus with EMG (train and val splits)")
    p.add_argument("--speech", nargs="+", type=Path, default=None, metavar="DIR",
                   help="on the fly: folders of audio-only speech (any layout; .wav/.flac at >= 16 kHz)")
    p.add_argument("--noise", nargs="+", default=None, metavar="SRC",
                   help="on the fly: noise folders, files or generated names (white, pink, babble, ...)")
    p.add_argument("--val-noise", nargs="+", default=None, metavar="SRC", help="on the fly: validation noises (default --noise)")
    p.add_argument("--val-share", type=float, default=0.05, metavar="SHARE",
                   help="on the fly without --data: share of --speech's speakers held out for validation")
    p.add_argument("--snr", nargs=2, type=float, default=None, metavar=("LOW", "HIGH"), help="on the fly: SNR range in dB (default -5 20)")
    p.add_argument("--level", nargs=2, type=float, default=None, metavar=("LOW", "HIGH"),
                   help="on the fly: mixture RMS range in dBFS (default -35 -15)")
    p.add_argument("--crop", type=float, default=None, metavar="S", help="on the fly: crop length in seconds (default 2)")
    p.add_argument("--reverb-prob", type=float, default=None, metavar="P",
                   help="on the fly: share of crops whose speech passes a synthetic room (default 0)")
    p.add_argument("--steps-per-epoch", type=int, default=None, metavar="N", help="on the fly: batches per epoch (default 200)")
    p.add_argument("--val-crops", type=int, default=None, metavar="N", help="on the fly: crops in the fixed validation set (default 256)")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default=None,
                   help="autocast of the forward pass (default fp32). On an H200, bf16 trained causal-audio but left "
                        "audio-mask's loss flat for 31 epochs where fp32 trained it (docs/pretrained.md): check the loss falls")
    p.add_argument("--out", required=True, type=Path, help="run folder for logs and checkpoints")
    p.add_argument("--config", type=Path, default=None, help="YAML with 'train', 'emg' and 'audio' sections")
    p.add_argument("--model", default=None, choices=sorted(MODELS), help="model (default emgse)")
    p.add_argument("--channels", default=None, help="EMG channel set: all, cheek, chin or indices (default all)")
    p.add_argument("--context", type=int, default=None, help="EMG context frames each side (default 15)")
    p.add_argument("--normalization", default=None, choices=["minmax", "zscore", "none"],
                   help="EMG feature normalization (default minmax; zscore for causal models)")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 500)")
    p.add_argument("--patience", type=int, default=None, help="early-stopping patience in epochs (default 15)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default 16)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-4)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--workers", type=int, default=None, help="data loader worker processes (default 0)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that exceeds this budget")
    p.add_argument("--level-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="input level normalization: each frame divided by the running RMS of the input (2 s), "
                        "undone on the output (default on, unless --config's audio section sets level_rms; the paper: "
                        "--no-level-norm)")
    p.add_argument("--audio-only-mix", type=Path, default=None, metavar="MIX2",
                   help="mixture folder of audio-only speech (emgse mix --speech-only) to train on as well")
    p.add_argument("--audio-only-share", default=None, metavar="SHARE", type=_share,
                   help="share of each epoch's segments from --audio-only-mix: auto, all or a number in [0, 1) (default auto)")
    p.add_argument("--emg-gain-jitter", type=float, default=None, metavar="SIGMA",
                   help="training augmentation for unseen electrode sessions: random per-channel EMG gains exp(N(0, SIGMA)), "
                        "applied exactly to the TD features; needs --normalization zscore or none (default 0: off)")
    p.add_argument("--init-from", type=Path, default=None, metavar="CKPT",
                   help="start from a trained checkpoint's weights where names and shapes match (e.g. an audio-mask run's "
                        "best.pt for emgse-mask: the fusion starts as that audio-only model, its EMG term at zero); "
                        "same audio front-end required")
    p.add_argument("--loss", choices=LOSSES, default=None,
                   help="training and validation loss: l1 on log1p magnitudes (the paper; default), or compressed: "
                        "squared error of magnitudes raised to 0.3, which weighs quiet bins (consonants, high bands) more")
    p.add_argument("--suppression-weight", type=_suppression_weight, default=None, metavar="ALPHA",
                   help="asymmetric loss: where the estimate falls below the clean target (speech removed) the error "
                        "counts ALPHA times (>= 1; default 1, symmetric), so the model learns to keep speech rather than cut it")
    p.add_argument("--wave-loss", choices=WAVE_LOSSES, default=None,
                   help="add a loss on the rebuilt waveform (the estimate with the noisy phase against the clean "
                        "recording): sisdr (negative SI-SDR in dB) or mrstft (multi-resolution STFT); the logged "
                        "losses are then the whole objective (default: none, the paper)")
    p.add_argument("--wave-weight", type=float, default=None, metavar="W",
                   help="weight of --wave-loss in the objective (> 0; default: the kind's, set so the term matches the "
                        "compressed spectral loss of the demo's model)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None,
                   help="learning rate over the run: constant (the paper; default), or cosine: decays step by step "
                        "to 0 at the last step of --epochs (for a fixed budget)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from emgse.training.setup import run_training, settings

    flags = {
        "model": args.model, "max_epochs": args.epochs, "patience": args.patience, "batch_size": args.batch_size,
        "lr": args.lr, "seed": args.seed, "num_workers": args.workers, "device": args.device, "max_minutes": args.max_minutes,
        "audio_only_share": args.audio_only_share, "emg_gain_jitter": args.emg_gain_jitter,
        "init_from": str(args.init_from) if args.init_from else None, "loss": args.loss,
        "lr_schedule": args.lr_schedule, "suppression_weight": args.suppression_weight,
        "wave_loss": args.wave_loss, "wave_weight": args.wave_weight, "precision": args.precision,
    }
    s = settings(args.config, flags, {"channels": args.channels, "context": args.context, "normalization": args.normalization},
                 args.level_norm)
    sampler = {"snr_db": args.snr and tuple(args.snr), "level_dbfs": args.level and tuple(args.level), "crop_s": args.crop,
               "reverb_prob": args.reverb_prob, "steps_per_epoch": args.steps_per_epoch, "val_crops": args.val_crops}
    summary = run_training(args.out, s, mixtures=args.mixtures, audio_only_mix=args.audio_only_mix, data=args.data, speech=args.speech,
                           noise=args.noise, val_noise=args.val_noise, val_share=args.val_share, sampler_flags=sampler,
                           resume=args.resume, progress=not args.quiet)
    print(
        f"{summary['model']}: best val loss {summary['best_val_loss']:.4f} at epoch {summary['best_epoch']} "
        f"of {summary['epochs']} ({summary['stop_reason']}, {summary['seconds']:.0f} s) -> {args.out / 'best.pt'}"
    )
    return 0
