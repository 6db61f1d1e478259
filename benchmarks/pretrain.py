"""The pretrained real-speech model that ships with emgse: trained, exported, scored by one command.

    python -m benchmarks.pretrain --out runs/pretrain [--device cuda --batch-size 64 --steps-per-epoch 250]
                                  [--epochs 15 | --fit-minutes 3.3] [--resume] [--export]

Trains ``audio-mask`` (hidden 256 by default) on mixtures drawn on the fly (:mod:`emgse.sampler`)
from every recording of ``../shared/data/speech/speechocean762/train`` (never its ``test`` half:
the studies test on it) and the paper's 100 Hu training noises ``../shared/data/noise/train``: 2 s
crops, SNR uniform in -5...20 dB (``--snr``), mixture level -35...-15 dBFS, the compressed loss, Adam with a
cosine decay. 5% of the speakers are held out; the best checkpoint is chosen by the validation loss
on them, never on the VoiceBank-DEMAND pairs. ``--resume`` continues a killed run exactly.

Then (``--export``) the best checkpoint is written, float16, to
``src/emgse/resources/pretrained/audio-mask.pt`` with its card (data, steps, time, device, scores),
and scored: the 25 VoiceBank-DEMAND pairs (evaluation only) against the pretrained-model target
(PESQ >= noisy + 0.40, ESTOI >= noisy + 0.02, no file losing more than 0.02 ESTOI, DNSMOS OVRL >=
noisy's) and the real-time factor on one CPU thread. The installed audio-only baselines
(:mod:`emgse.baselines`: DeepFilterNet3, GTCRN) are scored beside it as rows of the same table, and
a "not installed" line is printed for each other. ``--score-only`` scores an existing export.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

from emgse.baselines import table_baselines
from emgse.checkpoint import export_checkpoint, read_checkpoint, save_checkpoint
from emgse.files import read_json, write_json
from emgse.resources import PRETRAINED, PRETRAINED_MODELS, data_folder
from emgse.sampler import SamplerConfig
from emgse.scoring import PRETRAINED_TARGET, evaluate_pairs, pairs_table
from emgse.training import TrainConfig, train_from_sources

SHIPPED = {ckpt.removesuffix('.pt'): ckpt for ckpt in PRETRAINED_MODELS.values()}  # model -> shipped file
# the default data, None where absent
SPEECH = data_folder("speech", "speechocean762", "train")
NOISE = data_folder("noise", "train")
PAIRS = data_folder("real-speech", "voicebank-demand-test")


def real_time_factor(checkpoint: Path, seconds: float = 30.0) -> float:
    """Seconds of compute per second of audio, enhancing ``seconds`` of noise on one CPU thread."""
    from emgse.enhance import Enhancer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        enhancer = Enhancer(checkpoint)
        x = (0.05 * np.random.default_rng(0).standard_normal(int(seconds * 16000))).astype(np.float32)
        enhancer.enhance(x[:16000])  # warm-up
        t0 = time.perf_counter()
        enhancer.enhance(x)
        return (time.perf_counter() - t0) / seconds
    finally:
        torch.set_num_threads(threads)


def score(checkpoint: Path, out: Path, pairs: Path | None, jobs: int, progress: bool = True) -> dict:
    """Score ``checkpoint`` on the real pairs (with DNSMOS) and time it; print the target table.

    Its row is labelled by its model (``audio-mask``, ``causal-audio-mask``); ``scores.json`` keeps it
    under ``"pretrained"``, the slot of the model being exported."""
    result = {"rtf_1_thread": round(real_time_factor(checkpoint), 4)}
    if pairs is not None and pairs.is_dir():
        baselines, notes = table_baselines()  # the installed audio-only baselines score beside it, as rows
        label = read_checkpoint(checkpoint)["model_name"]
        rows = evaluate_pairs(pairs, [checkpoint], out / "pairs", systems=[label], dnsmos=True, jobs=jobs, write_audio=True,
                              baselines=baselines, progress=progress)
        print(pairs_table(rows, f"Real recordings: {pairs.name} (evaluation only)").markdown())
        for note in notes:
            print(note)
        print()
        print(PRETRAINED_TARGET.table(rows).markdown())
        summary = {r["system"]: r for r in json.loads(json.dumps(_summaries(rows)))}
        summary["pretrained"] = summary.pop(label)
        result["pairs"] = {"set": pairs.name, "files": summary["noisy"]["n"], "noisy": _means(summary["noisy"]),
                           "pretrained": _means(summary["pretrained"]),
                           "worse_estoi": summary["pretrained"]["worse_estoi"],
                           "verdict": PRETRAINED_TARGET.shortfalls(summary["pretrained"]) or "met",
                           "baselines": {name: _means(summary[name]) for name in baselines}}
    else:
        print(f"({pairs or 'the VoiceBank-DEMAND test pairs'} not found: real-pair scores skipped)")
    print(f"real-time factor, one CPU thread: {result['rtf_1_thread']:.4f} (target <= 0.02)")
    return result


def _summaries(rows: list[dict]) -> list[dict]:
    from emgse.scoring import summarize_pairs

    return summarize_pairs(rows)


def _means(s: dict) -> dict:
    return {k: round(float(s[k]), 4) for k in ("pesq", "stoi", "estoi", "si_sdr", "dnsmos_ovrl") if k in s}


def epochs_for(minutes: float, run: Path, args: argparse.Namespace) -> int:
    """The epochs of ``--steps-per-epoch`` steps that fit in ``minutes`` of training, timed by a
    throwaway probe (2 epochs of 40 steps in ``run``; the second one, warm, is the rate)."""
    probe = TrainConfig(**{**_train_kwargs(args), "max_epochs": 2, "patience": 2})
    sampler = _sampler(args, steps_per_epoch=40)
    train_from_sources(run, probe, noise=args.noise, speech=args.speech, val_share=0.05, sampler_config=sampler,
                       model_args=_model_args(args), progress=False)
    seconds = float(list(csv.DictReader(open(run / "log.csv")))[-1]["seconds"]) / 40  # per step, validation included
    epochs = max(1, int(minutes * 60 / (seconds * args.steps_per_epoch)))
    print(f"probe: {seconds * 1000:.1f} ms/step -> {epochs} epochs of {args.steps_per_epoch} steps in {minutes:g} min")
    return epochs


def _train_kwargs(args: argparse.Namespace) -> dict:
    return {"model": args.model, "batch_size": args.batch_size, "lr": args.lr, "max_epochs": args.epochs, "patience": args.epochs,
            "seed": args.seed, "device": args.device, "loss": "compressed", "lr_schedule": "cosine", "precision": args.precision,
            "init_from": args.init_from}


def _sampler(args: argparse.Namespace, steps_per_epoch: int) -> SamplerConfig:
    """The mixtures: 2 s crops, SNR uniform in ``--snr`` (validation crops too), level -35...-15 dBFS."""
    return SamplerConfig(crop_s=2.0, snr_range_db=tuple(args.snr), level_dbfs=(-35.0, -15.0), steps_per_epoch=steps_per_epoch, val_crops=256)


def _model_args(args: argparse.Namespace) -> dict | None:
    return {"hidden": args.hidden} if args.hidden is not None else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="run folder (the training run is OUT/run)")
    ap.add_argument("--speech", nargs="+", type=Path, default=[SPEECH] if SPEECH else None, help="training speech folders (default speechocean762 train)")
    ap.add_argument("--noise", nargs="+", default=[str(NOISE)] if NOISE else None, help="noise sources (default the 100 Hu training noises)")
    ap.add_argument("--pairs", type=Path, default=PAIRS, help="real pairs to score on (evaluation only)")
    ap.add_argument("--model", default="audio-mask", help="an audio-only model (causal-audio-mask or causal-audio: streaming ones)")
    ap.add_argument("--hidden", type=int, default=None, help="audio-mask width (default 256: 2.8 M parameters)")
    ap.add_argument("--init-from", default=None, metavar="CKPT",
                    help="start from a checkpoint's weights where names and shapes match (e.g. 'pretrained' for causal-audio-mask)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--fit-minutes", type=float, default=None,
                    help="choose --epochs to fill this many minutes of training, timed by a short probe first (GPU runs)")
    ap.add_argument("--steps-per-epoch", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    snr = SamplerConfig().snr_range_db  # the sampler's default, -5...20 dB
    ap.add_argument("--snr", type=float, nargs=2, default=list(snr), metavar=("LOW", "HIGH"),
                    help=f"training (and validation) SNR range in dB (default {snr[0]:g} {snr[1]:g})")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="scoring processes")
    ap.add_argument("--resume", action="store_true", help="continue OUT/run")
    ap.add_argument("--export", action="store_true", help="write the best checkpoint, float16 with its card, to --dest and score it")
    ap.add_argument("--dest", type=Path, default=None, help="where --export writes (default: the package's shipped file for --model)")
    ap.add_argument("--no-score", action="store_true", help="export without scoring (score later with --score-only)")
    ap.add_argument("--score-only", action="store_true", help="score the weights at --dest and write the scores into their card")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    for option, given in (("--speech", args.speech), ("--noise", args.noise)):
        if given is None and not args.score_only:
            ap.error(f"{option}: its default folder is not in the development data; give it")
    if args.model == "audio-mask" and args.hidden is None:
        args.hidden = 256
    dest = args.dest or PRETRAINED / SHIPPED.get(args.model, f"{args.model}.pt")
    run = args.out / "run"
    if not args.score_only:
        if args.fit_minutes is not None and not args.resume:
            args.epochs = epochs_for(args.fit_minutes, args.out / "probe", args)
        # a probed budget also stops by the clock (20% over), so a slower card still leaves a best checkpoint
        config = TrainConfig(**_train_kwargs(args), max_minutes=1.2 * args.fit_minutes if args.fit_minutes else None)
        sampler = _sampler(args, steps_per_epoch=args.steps_per_epoch)
        t0 = time.perf_counter()
        summary = train_from_sources(run, config, noise=args.noise, speech=args.speech, val_share=0.05, sampler_config=sampler,
                                     model_args=_model_args(args), resume=args.resume, progress=not args.quiet)
        print(f"trained: {json.dumps(summary)} ({time.perf_counter() - t0:.0f} s this call)")
    if args.export:
        summary = read_json(run / "summary.json")
        ckpt = read_checkpoint(run / "best.pt")
        crops = summary["epochs"] * ckpt["train_config"]["batch_size"] * ckpt["sampler_config"]["steps_per_epoch"]
        log = list(csv.DictReader(open(run / "log.csv")))
        card = {
            "model": ckpt["model_name"], "model_args": ckpt["model_args"], "parameters": summary["parameters"],
            "speech": [str(p) for p in args.speech], "noise": list(args.noise), "train_utterances": summary["train_utterances"],
            "noises": summary["noises"], "sampler_config": ckpt["sampler_config"], "train_config": ckpt["train_config"],
            "epochs": summary["epochs"], "best_epoch": summary["best_epoch"], "steps": summary["epochs"] * ckpt["sampler_config"]["steps_per_epoch"],
            "audio_hours_seen": round(crops * ckpt["sampler_config"]["crop_s"] / 3600, 1), "train_seconds": summary["seconds"],
            "device": summary["device"], "device_name": torch.cuda.get_device_name() if summary["device"].startswith("cuda") else "cpu",
            "best_val_loss": summary["best_val_loss"], "frames_per_s": round(float(np.median([float(r["frames_per_s"]) for r in log])), -2),
        }
        export_checkpoint(run / "best.pt", dest, card=card)
        print(f"exported -> {dest} ({dest.stat().st_size / 1e6:.1f} MB)")
    if (args.export and not args.no_score) or args.score_only:
        result = score(dest, args.out, args.pairs, args.jobs, progress=not args.quiet)
        shipped = read_checkpoint(dest)
        save_checkpoint(dest, {**shipped, "card": {**shipped.get("card", {}), "scores": result}})  # the card carries its scores
        write_json(args.out / "scores.json", result)
        print(f"scores -> {args.out / 'scores.json'} and the card of {dest}")


if __name__ == "__main__":
    main()
