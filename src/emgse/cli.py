"""The ``emgse`` command line. It parses arguments and calls library functions; nothing else.

Each subcommand has a ``_add_<name>`` function that declares its arguments and a ``_run_<name>``
function that calls the library. User errors (:class:`EmgseError`) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from emgse import __version__, files
from emgse.config import LOSSES
from emgse.errors import EmgseError

MAIN_HELP = """\
emgse: multimodal speech enhancement from a noisy microphone signal plus facial surface EMG.

Pipeline: corpus -> prepared layout -> mixtures -> features -> model -> enhance -> scores -> report.
Run `emgse <command> --help` for each command's options.
"""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``emgse <command>: error: <message>`` and exit status 2
    (no usage block; ``--help`` shows it)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def one_line(message: object) -> str:
    """A message on one line (newlines folded into spaces)."""
    return " ".join(str(message).split()) or "(no message)"


def _parse_ranges(text: str) -> list[tuple[int, int]]:
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


# --------------------------------------------------------------------------- prepare
def _add_prepare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="read a real corpus into the prepared layout (synced 16 kHz audio + EMG)",
        description=(
            "Convert a corpus into the prepared layout that every later stage reads:\n"
            "  DIR/corpus.json, DIR/{train,val,test}/<utt_id>.wav (mono 16 kHz) and\n"
            "  DIR/{train,val,test}/<utt_id>.emg.npy (float32, (samples, channels) at emg_fs).\n"
            "Your own recordings can be written straight into this layout (see docs/corpora.md)."
        ),
        formatter_class=_Formatter,
    )
    psub = p.add_subparsers(dest="corpus_kind", required=True, metavar="CORPUS")

    c = psub.add_parser(
        "csl-emg-array",
        help="CSL-EMG_Array (40-channel cheek + chin arrays at 2048 Hz)",
        description=(
            "Read one session of CSL-EMG_Array: sync audio and EMG at the marker rise, drop the\n"
            "marker, keep audio channel 0, resample EMG 2048 -> 2000 Hz (polyphase, anti-aliased).\n"
            "--session all reads every session; a corpus written by `emgse simulate --speech` holds\n"
            "splits.json, and then each session (speaker) goes whole to its train/val/test split."
        ),
        formatter_class=_Formatter,
    )
    c.add_argument("--corpus", required=True, type=Path, help="corpus root (the folder holding session folders)")
    c.add_argument("--session", required=True, help="session name, e.g. Spk5_Block1-Initial, or 'all'")
    c.add_argument("--out", required=True, type=Path, help="prepared output folder")
    c.add_argument("--test", type=_parse_ranges, default="0-40", help="utterance (folder) numbers for test (authors: 0000-0040)")
    c.add_argument("--val", type=_parse_ranges, default="41-60", help="utterance numbers for validation")
    c.add_argument("--train", type=_parse_ranges, default="61-999", help="utterance (folder) numbers for training (authors: 0061-0999; 1000+ unused)")
    c.add_argument("--emg-fs", type=int, default=2000, help="EMG rate of the prepared layout (Hz)")
    c.add_argument("--force", action="store_true", help="replace a non-empty --out")

    g = psub.add_parser(
        "gaddy",
        help="Gaddy & Klein (EMNLP 2020) EMG corpus (8 channels at 1000 Hz), read as its authors read it",
        description=(
            "Read the Gaddy & Klein corpus (emg_data/{voiced_parallel_data,nonparallel_data,silent_parallel_data}).\n"
            "EMG stays at 1000 Hz with its 8 channels and is cleaned as dgaddy/silent_speech does: 60 Hz\n"
            "notches at harmonics 1-7 (Q 30) and a 2 Hz 3rd-order high-pass, zero-phase, over the previous +\n"
            "current + next file. Reference clips (sentence_index -1) are skipped.\n"
            "Split: the corpus's testset_largedev.json (found beside emg_data, or --split-file) gives the\n"
            "dev and test sentences; voiced parallel utterances of test sentences are test, of dev\n"
            "sentences validation, the rest (and nonparallel_data) training; non-parallel recordings of\n"
            "dev/test sentences are left out. Without a split file, sentences are drawn at random.\n"
            "--silent also writes the silent EMG (input of emgse voice) to OUT/silent/<split>/<id>.emg.npy\n"
            "with OUT/silent/utterances.csv (split, sentence, the voiced twin's id, text)."
        ),
        formatter_class=_Formatter,
    )
    g.add_argument("--corpus", required=True, type=Path, help="the corpus's emg_data folder (or its parent)")
    g.add_argument("--out", required=True, type=Path, help="prepared output folder")
    g.add_argument("--split-file", default="auto",
                   help="testset JSON ('dev'/'test' lists of [book, sentence_index]); auto: testset_largedev.json beside "
                        "emg_data if present, else random; random: a seeded random sentence split")
    g.add_argument("--audio", default="clean", choices=["clean", "raw"],
                   help="enhancement target: clean = <i>_audio_clean.flac (noise-reduced by the corpus authors), "
                        "raw = <i>_audio.flac (the microphone as recorded)")
    g.add_argument("--no-nonparallel", action="store_true", help="leave nonparallel_data out of training")
    g.add_argument("--silent", action="store_true", help="also write the silent EMG to OUT/silent/")
    g.add_argument("--val-fraction", type=float, default=0.03, help="random split: share of sentences for validation")
    g.add_argument("--test-fraction", type=float, default=0.015, help="random split: share of sentences for test")
    g.add_argument("--seed", type=int, default=0, help="seed of the random split")
    g.add_argument("--force", action="store_true", help="replace a non-empty --out")

    u = psub.add_parser(
        "emg-uka",
        help="EMG-UKA Trial Corpus (REAL facial EMG: 6 channels at 600 Hz + close-talk audio)",
        description=(
            "Read one speaker's session of the EMG-UKA Trial Corpus (emg/, audio/, offset/, Transcripts/, Subsets/):\n"
            "crop audio and EMG to the corpus's offsets, keep the microphone (stereo WAV: channel 0; mono FLAC as is),\n"
            "drop the marker (7th EMG channel), resample the EMG 600 -> --emg-fs Hz (polyphase; 600 Hz does not frame\n"
            "8 ms hops in whole samples), carry the transcripts. Split: Subsets/test.<mode> is test; a seeded\n"
            "--val-fraction of each session's Subsets/train.<mode> is validation, the rest training.\n"
            "Utterance ids: <spk>_<ses>_<utt>. --session all pools every session of the speaker."
        ),
        formatter_class=_Formatter,
    )
    u.add_argument("--corpus", required=True, type=Path, help="corpus root (the folder holding emg/, audio/, offset/, Subsets/)")
    u.add_argument("--speaker", required=True, help="speaker, e.g. 002")
    u.add_argument("--session", required=True, help="session, e.g. 101, or 'all'")
    u.add_argument("--mode", choices=("audible", "whispered", "silent"), default="audible", help="speaking mode")
    u.add_argument("--out", required=True, type=Path, help="prepared output folder")
    u.add_argument("--emg-fs", type=int, default=2000, help="EMG rate of the prepared layout (Hz; 8 ms must be whole samples)")
    u.add_argument("--val-fraction", type=float, default=0.05, help="share of each session's training list kept for validation")
    u.add_argument("--seed", type=int, default=0, help="seed of the validation draw")
    u.add_argument("--force", action="store_true", help="replace a non-empty --out")
    u.add_argument("--quiet", action="store_true", help="no progress bar")


def _run_prepare(args: argparse.Namespace) -> int:
    if args.corpus_kind == "csl-emg-array":
        from emgse.corpora.csl_emg_array import SplitRanges, prepare_csl_emg_array

        summary = prepare_csl_emg_array(
            args.corpus,
            args.session,
            args.out,
            splits=SplitRanges(test=args.test, val=args.val, train=args.train),
            emg_fs=args.emg_fs,
            force=args.force,
        )
    elif args.corpus_kind == "emg-uka":
        from emgse.corpora.emg_uka import prepare_emg_uka

        summary = prepare_emg_uka(args.corpus, args.speaker, args.session, args.out, mode=args.mode, emg_fs=args.emg_fs,
                                  val_fraction=args.val_fraction, seed=args.seed, force=args.force, progress=not args.quiet)
    else:
        from emgse.corpora.gaddy import prepare_gaddy

        summary = prepare_gaddy(
            args.corpus,
            args.out,
            split_file=args.split_file,
            audio=args.audio,
            nonparallel=not args.no_nonparallel,
            silent=args.silent,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            seed=args.seed,
            force=args.force,
        )
    counts = ", ".join(f"{k}: {v}" for k, v in summary["utterances"].items())
    print(f"prepared {args.out} ({counts}; EMG {summary['emg_channels']} channels at {summary['emg_fs']} Hz)")
    if summary.get("silent"):
        silent = ", ".join(f"{k}: {v}" for k, v in summary["silent"]["utterances"].items())
        print(f"silent EMG -> {args.out / summary['silent']['folder']} ({silent})")
    return 0


# --------------------------------------------------------------------------- mix
def _add_mix(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mix",
        help="mix prepared clean speech with noise at given SNRs",
        description=(
            "Mix the clean speech of a prepared corpus with noise. Each mixture takes a random\n"
            "segment of a noise (looped if short) scaled to the exact SNR over the utterance. If the\n"
            "mixture would clip it is scaled down and the gain recorded (noisy = gain * (clean + noise)).\n"
            "Without --per-utterance every noise is used at every SNR (the paper's test protocol);\n"
            "with it, K noises are drawn per utterance and SNR (the paper's training: K=5 at -10..10 dB).\n"
            "Writes float32 WAVs and OUT/mixtures.csv. Generated noises: " + "{names}.\n"
            "Audio-only speech (no EMG): --speech-only DIR [DIR ...] instead of --data mixes every\n"
            ".wav/.flac under DIR (any folder layout, any rate >= 16 kHz) as training data: 16 kHz copies\n"
            "in OUT/speech/, rows with split train and has_emg 0. Train on it with emgse train\n"
            "--audio-only-mix OUT; it is never validation or test data."
        ),
        formatter_class=_Formatter,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="prepared corpus folder")
    source.add_argument("--speech-only", nargs="+", type=Path, metavar="DIR",
                        help="folders of audio-only speech (.wav/.flac, any layout) to mix as training data without EMG")
    p.add_argument("--split", nargs="+", default=None, choices=["train", "val", "test"], help="split(s) to mix (default test)")
    p.add_argument(
        "--noise",
        nargs="+",
        required=True,
        help="noise sources: folders of WAVs (any rate), single WAV files, or generated noise names",
    )
    p.add_argument("--snr", nargs="+", type=float, required=True, help="SNRs in dB")
    p.add_argument("--per-utterance", type=int, default=None, metavar="K", help="draw K noises per utterance and SNR")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed -> byte-identical files)")
    p.add_argument(
        "--speech-noise", nargs="+", default=[], metavar="NAME",
        help="noises (by name, the file stem) that are competing speech, for the speech/nonspeech summaries; "
        "the generated talker/babble and the paper's 12 talker noises are known already",
    )
    p.add_argument(
        "--reverb-prob", type=float, default=0.0, metavar="P",
        help="share of mixtures whose speech is reverberated first (mild synthetic room, RT60 0.2-0.5 s); the clean target stays dry",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _run_mix(args: argparse.Namespace) -> int:
    from emgse.mixing import MixConfig, NoiseBank, mix_corpus, mix_speech_only

    if args.speech_only and args.split:
        raise EmgseError("--split: audio-only speech (--speech-only) is always training data; leave --split out")
    bank = NoiseBank.from_sources(args.noise, progress=not args.quiet)
    config = MixConfig(snrs_db=tuple(args.snr), per_utterance=args.per_utterance, seed=args.seed, reverb_prob=args.reverb_prob)
    if args.speech_only:
        rows = mix_speech_only(args.speech_only, bank, config, args.out, force=args.force, speech_noises=args.speech_noise,
                               progress=not args.quiet)
        utterances = len({r["utt_id"] for r in rows})
        print(f"wrote {len(rows)} audio-only training mixtures of {utterances} utterances to {args.out}/mixtures.csv "
              f"(train on them with emgse train --audio-only-mix {args.out})")
        return 0
    rows = mix_corpus(args.data, args.split or ["test"], bank, config, args.out, force=args.force, speech_noises=args.speech_noise,
                      progress=not args.quiet)
    print(f"wrote {len(rows)} mixtures ({len(bank)} noises x {len(config.snrs_db)} SNRs) to {args.out}/mixtures.csv")
    return 0


# --------------------------------------------------------------------------- features
def _add_features(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "features",
        help="show the audio and EMG front-end of one utterance (frame grid, shapes, statistics)",
        description=(
            "Compute the paper's front-end on one prepared utterance and print what it gives:\n"
            "257-bin log1p STFT magnitude (16 kHz, Blackman 512, hop 128) and EMG TD features\n"
            "(5 per channel, 32 ms frames, 8 ms hop) on the same frame grid, with context stacking."
        ),
        formatter_class=_Formatter,
    )
    p.add_argument("--audio", required=True, type=Path, help="mono WAV (resampled to 16 kHz if needed)")
    p.add_argument("--emg", required=True, type=Path, help="EMG .npy of shape (samples, channels)")
    p.add_argument("--emg-fs", type=float, default=2000.0, help="EMG sampling rate (Hz)")
    p.add_argument("--channels", default="all", help="channel set: all, cheek, chin or indices like 0,1,2")
    p.add_argument("--context", type=int, default=15, help="context frames on each side (paper: 15)")


def _run_features(args: argparse.Namespace) -> int:
    from emgse.describe import describe_utterance

    print(describe_utterance(args.audio, args.emg, emg_fs=args.emg_fs, channels=args.channels, context=args.context))
    return 0


# --------------------------------------------------------------------------- simulate
def _add_simulate(sub: argparse._SubParsersAction) -> None:
    # Owned by the simulator (emgse.corpora.simulated); it declares its own options.
    from emgse.corpora.simulated.cli import add_arguments

    p = sub.add_parser(
        "simulate",
        help="write a simulated parallel speech + facial-EMG corpus in the CSL-EMG_Array layout",
        description="Simulate speakers reading sentences, with 40-channel facial EMG, in the exact "
        "CSL-EMG_Array on-disk layout. SIMULATED data: not a substitute for real EMG results.",
        formatter_class=_Formatter,
    )
    add_arguments(p)


def _run_simulate(args: argparse.Namespace) -> int:
    from emgse.corpora.simulated.cli import run

    return run(args)


# --------------------------------------------------------------------------- models
def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models with their parameter counts", formatter_class=_Formatter)
    p.add_argument("--channels", type=int, default=35, help="EMG channels used (35 all, 28 cheek, 7 chin)")
    p.add_argument("--context", type=int, default=15, help="EMG context frames each side")


def _run_models(args: argparse.Namespace) -> int:
    import inspect

    from emgse.models import MODELS, build_model, count_parameters, describe

    print(f"{'model':<16} {'parameters':>12}  description (EMG: {args.channels} channels x 5 TD features, context +-{args.context})")
    for name, ctor in MODELS.items():
        params = inspect.signature(ctor).parameters
        kwargs = {k: v for k, v in (("emg_dims", args.channels * 5), ("context", args.context)) if k in params}
        print(f"{name:<16} {count_parameters(build_model(name, **kwargs)):>12,}  {describe(name)}")
    return 0


# --------------------------------------------------------------------------- train
def _add_train(sub: argparse._SubParsersAction) -> None:
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
        formatter_class=_Formatter,
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


def _run_train(args: argparse.Namespace) -> int:
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


# --------------------------------------------------------------------------- enhance
def _add_enhance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "enhance",
        help="enhance a recording (audio + EMG) or every mixture of a manifest with a checkpoint",
        description=(
            "One recording: --audio noisy.wav [--emg emg.npy --emg-fs 2000] --out enhanced.wav\n"
            "  (any audio rate, resampled and back; output has exactly the input's length; EMG and\n"
            "  audio may differ by up to 100 ms).\n"
            "Batch: --mixtures MIX --out ENH writes ENH/<system>/<mixture path> for the test split,\n"
            "  reading EMG from the prepared corpus the mixtures were made from.\n"
            "Folder: --folder DIR --out OUTDIR enhances every X.wav of DIR with X.emg.npy beside it\n"
            "  (the prepared layout) into OUTDIR/X.wav."
        ),
        formatter_class=_Formatter,
    )
    p.add_argument("--checkpoint", default=Path("pretrained"), type=Path,
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
    _add_channel_check(p)
    _add_atten_lim(p)
    p.add_argument("--baseline", default=None, metavar="NAME",
                   help="enhance with an audio-only baseline instead of a checkpoint: dfn3 or gtcrn (pip install -e '.[baselines]'; "
                        "docs/baselines.md)")
    p.add_argument(
        "--dnsmos", action="store_true",
        help="no-reference DNSMOS (SIG/BAK/OVRL) of input and output: printed (single) or OUT/dnsmos.csv (folder); "
        "for mixtures use emgse evaluate --dnsmos",
    )


def _add_atten_lim(p: argparse.ArgumentParser) -> None:
    p.add_argument("--atten-lim", type=float, default=None, metavar="DB",
                   help="attenuate no time-frequency bin by more than DB (e.g. 12): less noise removed, less speech "
                        "distortion")


def _add_channel_check(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--no-channel-check", dest="channel_check", action="store_false", default=None,
        help="feed every EMG channel as recorded (default, for checkpoints trained with EMG channel dropout on z-scored "
        "EMG: from 0.5 s on, a channel whose running spread reads below 5%% or over 5x the median channel's is treated "
        "as missing, as EMG dropout trains for; other checkpoints, like the paper's min-max EMGSE, are never checked)",
    )
    g.add_argument("--channel-check", dest="channel_check", action="store_true", help="apply the channel check to any checkpoint")


def _dropped_line(channels: list[int]) -> str | None:
    if not channels:
        return None
    return f"EMG channels {', '.join(map(str, channels))} read flat or abnormally loud: treated as missing"


def _run_enhance(args: argparse.Namespace) -> int:
    from emgse.enhance import CHANNEL_CSV, enhance_file, enhance_folder, enhance_mixtures

    if args.mixtures and args.dnsmos:
        raise EmgseError("--dnsmos with --mixtures: score mixtures with emgse evaluate --dnsmos")
    if args.baseline is not None:
        return _run_enhance_baseline(args)
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
        if line := _dropped_line(info["unusable_channels"]):
            print(line)
        if args.dnsmos:
            print(_dnsmos_line(info))
    return 0


def _run_enhance_baseline(args: argparse.Namespace) -> int:
    from emgse import baselines

    given = [flag for flag, value in (("--checkpoint", args.checkpoint != Path("pretrained")), ("--emg", args.emg),
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


# --------------------------------------------------------------------------- voice
def _add_voice(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "voice",
        help="speech from EMG alone (no microphone): magnitude from an EMG model, phase by Griffin-Lim",
        description=(
            "One recording: --emg X.npy [--emg-fs 2000] --out X.wav (EMG at any rate, resampled to the\n"
            "  checkpoint's; output at the checkpoint's audio rate, as long as the EMG).\n"
            "Folder: --folder DIR --out OUTDIR voices every X.emg.npy of DIR into OUTDIR/X.wav.\n"
            "Batch: --mixtures MIX --out ENH writes ENH/<system>/<mixture path> (default system\n"
            "  emg-alone; the microphone signal is not used) for emgse evaluate to score.\n"
            "An emg-only checkpoint always gives meaningful output; a fusion model runs with its audio\n"
            "  input marked absent (silence) and means something only if trained with audio-absent\n"
            "  examples; audio-only and mask models are refused."
        ),
        formatter_class=_Formatter,
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


def _run_voice(args: argparse.Namespace) -> int:
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


# --------------------------------------------------------------------------- evaluate / report
def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score noisy and enhanced mixtures: PESQ (wide-band), STOI, ESTOI, SI-SDR",
        description=(
            "Score the noisy input and every system of ENH (ENH/<system>/<mixture path>) against\n"
            "gain * clean, in parallel processes. Writes OUT/scores.csv (one row per system x utterance\n"
            "x noise x SNR), summaries per SNR, noise and noise category (CSV) and summary.md.\n"
            "Real recordings: --pairs DIR (DIR/clean/X.wav + DIR/noisy/X.wav, any rate) [--checkpoint CKPT\n"
            "--checkpoint CKPT2 ...] enhances every noisy file with each checkpoint (default: the shipped\n"
            "pretrained model; audio only, EMG absent)\n"
            "and writes OUT/pair_scores.csv (PESQ, STOI, ESTOI, SI-SDR, DNSMOS per file), pair_summary.md\n"
            "(means, gain over noisy, files made worse) and OUT/enhanced/<system>/X.wav. Evaluation only:\n"
            "never train or select models on such pairs."
        ),
        formatter_class=_Formatter,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--mixtures", type=Path, help="mixture folder (mixtures.csv, mix.json)")
    source.add_argument("--pairs", type=Path, help="folder of real recordings: clean/X.wav and noisy/X.wav")
    p.add_argument("--checkpoint", type=Path, action="append", default=None,
                   help="pairs mode: a checkpoint to score (repeatable; default: the shipped pretrained model; 'pretrained' names it beside others)")
    p.add_argument("--system", action="append", default=None, help="pairs mode: a name per --checkpoint (default: its run folder)")
    p.add_argument("--enhanced", type=Path, default=None, help="folder of <system>/ outputs (omit to score only noisy)")
    p.add_argument("--systems", nargs="+", default=None, help="systems to score (default: every folder in --enhanced)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--limit", type=int, default=None, help="score only the first N mixtures")
    p.add_argument("--split", nargs="+", default=None, choices=["train", "val", "test"], help="only these splits")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--dnsmos", action=argparse.BooleanOptionalAction, default=None,
                   help="no-reference DNSMOS columns dnsmos_sig, dnsmos_bak, dnsmos_ovrl (slow; default: off for --mixtures, on for --pairs)")
    p.add_argument("--atten-lim", type=float, default=None, metavar="DB",
                   help="pairs mode: enhance with this attenuation limit (see emgse enhance)")
    p.add_argument("--baseline", nargs="+", default=None, metavar="NAME",
                   help="add audio-only baselines as systems (dfn3, gtcrn; pip install -e '.[baselines]'): pairs mode enhances "
                        "each file with them; mixtures mode writes ENH/<NAME>/ (--enhanced ENH) unless complete, then scores it")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")


def _dnsmos_line(info: dict) -> str:
    cols = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
    return "DNSMOS SIG/BAK/OVRL: input " + " / ".join(f"{info['noisy_' + c]:.2f}" for c in cols) + \
        ", enhanced " + " / ".join(f"{info[c]:.2f}" for c in cols)


def _run_evaluate(args: argparse.Namespace) -> int:
    from emgse.scoring import (
        evaluate,
        evaluate_pairs,
        is_evaluation_pairs,
        pairs_table,
        summary_markdown,
    )

    if args.pairs is not None:
        for flag, value in (("--enhanced", args.enhanced), ("--systems", args.systems), ("--limit", args.limit), ("--split", args.split)):
            if value is not None:
                raise EmgseError(f"{flag} belongs to --mixtures mode, not --pairs")
        checkpoints, systems = (args.checkpoint, args.system) if args.checkpoint else ([Path("pretrained")], args.system or ["pretrained"])
        rows = evaluate_pairs(args.pairs, checkpoints, args.out, systems=systems, jobs=args.jobs, progress=not args.quiet,
                              dnsmos=args.dnsmos is not False, atten_lim_db=args.atten_lim, force=args.force,
                              baselines=args.baseline or ())
        print(pairs_table(rows, f"Real recordings: {args.pairs.name}", evaluation_only=is_evaluation_pairs(args.pairs)).markdown())
        print(f"per-file scores: {args.out / 'pair_scores.csv'}")
        return 0
    if args.checkpoint or args.system or args.atten_lim is not None:
        raise EmgseError("--checkpoint, --system and --atten-lim belong to --pairs mode (--mixtures scores outputs already enhanced)")
    systems = args.systems
    if args.baseline:
        from emgse.baselines import baseline_systems

        if args.enhanced is None:
            raise EmgseError("--baseline with --mixtures needs --enhanced ENH: the baselines' outputs go to ENH/<NAME>/")
        names = baseline_systems(args.baseline, args.mixtures, args.enhanced, splits=args.split or ("train", "val", "test"),
                                 force=args.force, progress=not args.quiet)
        systems = None if systems is None else list(dict.fromkeys([*systems, *names]))
    rows = evaluate(args.mixtures, args.enhanced, systems, args.out, jobs=args.jobs, limit=args.limit, splits=args.split,
                    progress=not args.quiet, dnsmos=bool(args.dnsmos), force=args.force)
    print(summary_markdown(rows))
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained report.html (tables, plots vs SNR, spectrograms, audio players)",
        formatter_class=_Formatter,
    )
    p.add_argument("--scores", required=True, type=Path, help="scores.csv or the folder holding it")
    p.add_argument("--out", required=True, type=Path, help="output .html file")
    p.add_argument("--mixtures", type=Path, default=None, help="mixture folder (for audio examples)")
    p.add_argument("--enhanced", type=Path, default=None, help="enhanced outputs folder (for audio examples)")
    p.add_argument("--examples", type=int, default=3, help="number of listening examples")
    p.add_argument("--title", default="emgse results", help="page title")
    p.add_argument("--note", nargs="+", default=None, help="lines shown under the title")


def _run_report(args: argparse.Namespace) -> int:
    from emgse.report import build_report

    path = build_report(
        args.out, args.scores, mixtures_dir=args.mixtures, enhanced_root=args.enhanced, n_examples=args.examples, title=args.title, notes=args.note or []
    )
    print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------- demo
def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: simulate a corpus, train audio-only and EMGSE in the paper's protocol, score, write report.html",
        description=(
            "Run the whole system on a small SIMULATED corpus (about 9 minutes on an idle 2-core CPU).\n"
            "Default, the paper's protocol (speaker-dependent, emgse.experiments.SessionConfig): one simulated speaker's\n"
            "session, utterances 1-20 test, 21-26 validation, the rest training -> audio-mask and emgse-mask trained on\n"
            "mixtures drawn on the fly at -10...10 dB, both from the shipped pretrained audio path -> enhance -> score\n"
            "(PESQ, STOI, ESTOI, SI-SDR at -11, -6, -1, 4 dB) -> report.html, the EMG gain (fusion minus audio-only)\n"
            "per SNR with a 95% interval, and the models scored on real recordings when pairs are at hand.\n"
            "--protocol unseen-speakers: test speakers unseen in training (a harder, separate question).\n"
            "Stages whose output exists are skipped, so a killed demo resumes where it stopped."
        ),
        formatter_class=_Formatter,
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--protocol", choices=DEMO_PROTOCOLS, default="speaker-dependent",
                   help="'speaker-dependent' (the paper's protocol, the default): test utterances unseen, their speaker not; "
                        "'unseen-speakers': test speakers unseen in training (the options marked so below)")
    p.add_argument("--steps", type=int, default=None, help="speaker-dependent: training steps per epoch (default 200)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: 11 speaker-dependent, 0 unseen-speakers)")
    p.add_argument("--jobs", type=int, default=2, help="processes for scoring")
    p.add_argument("--real-pairs", type=Path, default=None,
                   help="real clean/X.wav + noisy/X.wav pairs to also score the models on (evaluation only; default: "
                        "../shared/data/real-speech/voicebank-demand-test when present)")
    p.add_argument("--keep-intermediate", action="store_true",
                   help="keep the raw simulated corpora, the training data and mixtures, and the runs' last.pt (removed at the end "
                        "by default: a finished demo leaves about 250 MB)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--real-emg", type=Path, default=None,
                   help="an EMG-UKA Trial Corpus root: run the paper's protocol on its REAL EMG (emgse recipe emg-uka at the "
                        "demo's budget) in place of the simulated session")
    p.add_argument("--real-emg-session", default="002/101", help="with --real-emg: SPEAKER/SESSION (SESSION may be 'all')")
    unseen = p.add_argument_group("unseen-speakers protocol only")
    unseen.add_argument("--noise-train", nargs="+", default=None, help="training noises (folders, files or generated names); default: a generated bank")
    unseen.add_argument("--noise-test", nargs="+", default=None, help="test noises; default: generated noises not used in training (incl. babble)")
    unseen.add_argument("--speakers", type=int, default=None, help="simulated speakers: 3 test, 2 validation, the rest training (default 20)")
    unseen.add_argument("--utterances", type=int, default=None, help="simulated utterances in all, spread evenly over the speakers (default 60)")
    unseen.add_argument("--epochs", type=int, default=None, help="training epochs per model, the same for every model (default 3)")
    unseen.add_argument("--minutes-per-model", type=float, default=None, help="optional cap on training time per model")
    unseen.add_argument("--cheek", action="store_true", help="also train the fusion model on the 28 cheek channels")
    unseen.add_argument("--family", choices=("mask", "paper"), default=None,
                        help="models to train: 'mask' (audio-mask and emgse-mask, bounded masks: the least harm on real recordings; "
                             "the default) or 'paper' (the paper's audio and emgse, direct mapping)")
    unseen.add_argument("--speech", default=None,
                        help="recorded speech added to training (MFA layout, EMG simulated from its timing): a folder, 'builtin' (the "
                             "shipped speechocean762 train-half subset) or 'none' (eSpeak voices only); default: the demo's setting")
    unseen.add_argument("--loss", choices=LOSSES, default=None,
                        help="training loss of every model: compressed magnitudes (the demo's default, see docs/training.md) "
                             "or the paper's l1 on log1p magnitudes")


DEMO_PROTOCOLS = ("speaker-dependent", "unseen-speakers")
# options that shape only the unseen-speaker demo (given with the default protocol, they are refused)
UNSEEN_ONLY = ("noise_train", "noise_test", "speakers", "utterances", "epochs", "minutes_per_model", "cheek", "family", "speech", "loss")


def _run_demo(args: argparse.Namespace) -> int:
    import dataclasses

    from emgse.experiments import DemoConfig, SessionConfig, run_demo, run_session_demo

    if args.protocol == "speaker-dependent":
        given = [f"--{k.replace('_', '-')}" for k in UNSEEN_ONLY if getattr(args, k) not in (None, False)]
        if given:
            raise EmgseError(f"{', '.join(given)}: unseen-speaker demo option(s); add --protocol unseen-speakers")
        if args.real_emg is not None:
            from emgse.experiments import EMG_UKA_BUDGET, run_emg_uka_recipe

            speaker, sep, session = args.real_emg_session.partition("/")
            if not sep or not speaker or not session:
                raise EmgseError(f"--real-emg-session {args.real_emg_session!r}: use SPEAKER/SESSION, e.g. 002/101")
            budget = dataclasses.replace(EMG_UKA_BUDGET, jobs=args.jobs, **({"steps": args.steps} if args.steps else {}),
                                         **({"seed": args.seed} if args.seed is not None else {}))
            run_emg_uka_recipe(args.real_emg, speaker, session, args.out, budget, real_pairs=args.real_pairs, demo=True,
                               keep_intermediate=args.keep_intermediate, progress=not args.quiet)
            return 0
        session = SessionConfig(jobs=args.jobs, **({"steps": args.steps} if args.steps else {}),
                                **({"seed": args.seed} if args.seed is not None else {}))
        run_session_demo(args.out, session, progress=not args.quiet, real_pairs=args.real_pairs, keep_intermediate=args.keep_intermediate)
        return 0
    if args.steps is not None:
        raise EmgseError("--steps belongs to the speaker-dependent demo (the default protocol)")
    if args.real_emg is not None:
        raise EmgseError("--real-emg runs the paper's speaker-dependent protocol; leave out --protocol unseen-speakers")
    given = {k: getattr(args, k) for k in ("speakers", "utterances", "epochs", "family", "loss") if getattr(args, k) is not None}
    config = dataclasses.replace(DemoConfig(), minutes_per_model=args.minutes_per_model, cheek=args.cheek, jobs=args.jobs,
                                 **given, **({"seed": args.seed} if args.seed is not None else {}))
    if args.speech is not None:
        config = dataclasses.replace(config, speech=None if args.speech.lower() == "none" else args.speech)
    run_demo(args.out, config, noise_train=args.noise_train, noise_test=args.noise_test, progress=not args.quiet, real_pairs=args.real_pairs,
             keep_intermediate=args.keep_intermediate)
    return 0


# --------------------------------------------------------------------------- recipe
def _add_recipe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recipe",
        help="full experimental protocols (paper: the EMGSE paper on CSL-EMG_Array; gaddy: SEMamba-EMG on Gaddy & Klein; "
             "emg-uka: the paper's protocol on real EMG-UKA EMG)",
        formatter_class=_Formatter,
    )
    rsub = p.add_subparsers(dest="recipe", required=True, metavar="RECIPE")
    r = rsub.add_parser(
        "paper",
        help="the EMGSE paper's protocol on one CSL-EMG_Array speaker",
        description=(
            "The paper's full protocol: Spk<N>_Block1-Initial, utterances 0-40 test, 41-60 val, 61-999 train;\n"
            "training noises at -10, -5, 0, 5, 10 dB, 5 per utterance; every test noise at -11, -6, -1, 4 dB\n"
            "(generated pink added if the test set lacks it); audio, emgse, emgse-cheek, emgse-chin trained\n"
            "with Adam 1e-4, batch 16, up to 500 epochs, early stopping (15); then enhance, score, report.\n"
            "Resumable stage by stage: run the same command again after an interruption."
        ),
        formatter_class=_Formatter,
    )
    r.add_argument("--corpus", required=True, type=Path, help="CSL-EMG_Array root")
    r.add_argument("--speaker", type=int, default=5, help="speaker number")
    r.add_argument("--noise-train", nargs="+", required=True, help="training noises (e.g. the 100 Hu noises folder)")
    r.add_argument("--noise-test", nargs="+", required=True, help="test noises (e.g. the 17/18 EMGSE test noises folder)")
    r.add_argument("--out", required=True, type=Path, help="output folder")
    r.add_argument("--systems", nargs="+", default=["audio", "emgse", "emgse-cheek", "emgse-chin", "emg-alone"],
                   help="systems to train (emg-alone: an emg-only model voiced with no microphone, the 'EMG alone' row)")
    r.add_argument("--epochs", type=int, default=500, help="maximum epochs")
    r.add_argument("--test", type=_parse_ranges, default="0-40", help="utterance (folder) numbers for test (authors: 0000-0040)")
    r.add_argument("--val", type=_parse_ranges, default="41-60", help="utterance numbers for validation")
    r.add_argument("--train", type=_parse_ranges, default="61-999", help="utterance (folder) numbers for training (authors: 0061-0999; 1000+ unused)")
    r.add_argument("--max-minutes", type=float, default=None, help="training budget per system (default: none)")
    r.add_argument("--jobs", type=int, default=2, help="processes for scoring")
    r.add_argument("--seed", type=int, default=0, help="random seed")
    r.add_argument("--quiet", action="store_true", help="no progress bars")

    g = rsub.add_parser(
        "gaddy",
        help="SEMamba-EMG's protocol on the Gaddy & Klein corpus (audio-only vs fusion)",
        description=(
            "SEMamba-EMG's (arXiv 2501.06530) Gaddy & Klein protocol: voiced parallel data (8 channels at 1 kHz,\n"
            "EMG cleaned as dgaddy/silent_speech does) plus nonparallel_data for training; the corpus's\n"
            "testset_largedev.json split (found beside emg_data, or --split-file); training noises at -10, -5, 0,\n"
            "5, 10 dB (--per-utterance per utterance and SNR); every test noise (the 18 EMGSE noises, generated\n"
            "pink added if missing) at -11, -6, -1, 4 dB; audio-only and fusion trained alike (Adam 1e-4, batch\n"
            "16, early stopping 15); enhance, score, report. Published SEMamba-EMG averages (PESQ / STOI):\n"
            "noisy 1.188 / 0.685, audio-only 2.118 / 0.860, fusion 2.606 / 0.913.\n"
            "Resumable stage by stage: run the same command again after an interruption."
        ),
        formatter_class=_Formatter,
    )
    g.add_argument("--corpus", required=True, type=Path, help="the corpus's emg_data folder (or its parent)")
    g.add_argument("--noise-train", nargs="+", required=True, help="training noises (folders, files or generated names)")
    g.add_argument("--noise-test", nargs="+", required=True, help="test noises (e.g. the 17/18 EMGSE test noises folder)")
    g.add_argument("--out", required=True, type=Path, help="output folder")
    g.add_argument("--split-file", default="auto", help="testset JSON, auto (testset_largedev.json beside emg_data) or random")
    g.add_argument("--audio", default="clean", choices=["clean", "raw"],
                   help="enhancement target: <i>_audio_clean.flac (noise-reduced) or <i>_audio.flac (as recorded)")
    g.add_argument("--no-nonparallel", action="store_true", help="train on the voiced parallel data only")
    g.add_argument("--systems", nargs="+", default=["audio", "emgse", "emg-alone"],
                   help="models to train (audio = audio-only baseline; emg-alone: an emg-only model voiced with no microphone, "
                        "the 'EMG alone' row)")
    g.add_argument("--per-utterance", type=int, default=1, help="training noises per utterance and SNR")
    g.add_argument("--epochs", type=int, default=500, help="maximum epochs")
    g.add_argument("--max-minutes", type=float, default=None, help="training budget per system (default: none)")
    g.add_argument("--jobs", type=int, default=2, help="processes for scoring")
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


    u = rsub.add_parser(
        "emg-uka",
        help="the paper's protocol on REAL EMG: one EMG-UKA speaker's session (speaker- and session-dependent)",
        description=(
            "The paper's protocol on the EMG-UKA Trial Corpus (REAL facial EMG, 6 channels at 600 Hz): the session's\n"
            "Subsets/test list is test, its train list train + validation (emgse prepare emg-uka); audio-mask and\n"
            "emgse-mask (or --systems) trained on mixtures drawn on the fly at -10...10 dB with the paper's training\n"
            "noises, the mask pair from the shipped pretrained audio path, EMG z-scored; the test utterances mixed\n"
            "with the paper's test noises (generated pink added) at -11, -6, -1, 4 dB; enhance, score (scores/scores.csv),\n"
            "report.html, and the EMG gain (fusion minus audio-only) per SNR and noise category with 95% intervals.\n"
            "Noises default to ../shared/data/noise/{train,test} when present, else generated banks.\n"
            "The default budget is the demo's (2 x 200 steps of 16 x 2 s; a hand run trained and scored in 6.7 min on 2 cores);\n"
            "--epochs/--steps raise it. Resumable stage by stage: run the same command again after an interruption."
        ),
        formatter_class=_Formatter,
    )
    u.add_argument("--corpus", required=True, type=Path, help="EMG-UKA corpus root (emg/, audio/, offset/, Subsets/)")
    u.add_argument("--speaker", default="002", help="speaker")
    u.add_argument("--session", default="101", help="session, or 'all' (the speaker's sessions pooled)")
    u.add_argument("--out", required=True, type=Path, help="output folder")
    u.add_argument("--mode", choices=("audible", "whispered", "silent"), default="audible", help="speaking mode")
    u.add_argument("--systems", nargs="+", default=["audio-mask", "emgse-mask"],
                   help="systems: audio-mask, emgse-mask (from the pretrained audio path), audio, emgse (the paper's, from "
                        "scratch), emg-alone (speech from EMG alone, no microphone)")
    u.add_argument("--channels", default="all", help="EMG channels (0-based indices, e.g. 0-3,5 drops EMG5, which the corpus's "
                                                     "authors find unstable)")
    u.add_argument("--epochs", type=int, default=2, help="training epochs per model")
    u.add_argument("--steps", type=int, default=200, help="training steps per epoch (batches of 16 crops of 2 s)")
    u.add_argument("--per-utterance", type=int, default=3, help="test noises per utterance and SNR")
    u.add_argument("--noise-train", nargs="+", default=None, help="training noises (default: the paper's when present, else generated)")
    u.add_argument("--noise-test", nargs="+", default=None, help="test noises (default: the paper's when present, else generated)")
    u.add_argument("--real-pairs", type=Path, default=None, help="real clean/noisy pairs to also score the audio paths on (evaluation only)")
    u.add_argument("--silent", action="store_true",
                   help="also voice the session's silent test EMG with emg-alone (add it to --systems) and score it by DTW "
                        "mel-cepstral distortion against the audible recording of the same sentence (scores/parallel.csv)")
    u.add_argument("--jobs", type=int, default=2, help="processes for scoring")
    u.add_argument("--seed", type=int, default=11, help="random seed")
    u.add_argument("--quiet", action="store_true", help="no progress bars")


def _run_recipe(args: argparse.Namespace) -> int:
    import dataclasses

    from emgse.corpora.csl_emg_array import SplitRanges
    from emgse.experiments import (
        EMG_UKA_BUDGET,
        GaddyConfig,
        PaperConfig,
        run_emg_uka_recipe,
        run_gaddy_recipe,
        run_paper_recipe,
    )

    if args.recipe == "emg-uka":
        budget = dataclasses.replace(EMG_UKA_BUDGET, epochs=args.epochs, steps=args.steps, noises_per_test=args.per_utterance,
                                     seed=args.seed, jobs=args.jobs)
        run_emg_uka_recipe(args.corpus, args.speaker, args.session, args.out, budget, systems=tuple(args.systems), mode=args.mode,
                           channels=args.channels, noise_train=args.noise_train, noise_test=args.noise_test, real_pairs=args.real_pairs,
                           silent=args.silent, progress=not args.quiet)
        return 0
    if args.recipe == "gaddy":
        gaddy = dataclasses.replace(
            GaddyConfig(), audio=args.audio, nonparallel=not args.no_nonparallel, per_utterance=args.per_utterance, max_epochs=args.epochs,
            jobs=args.jobs, seed=args.seed, systems=tuple(args.systems),
        )
        run_gaddy_recipe(args.corpus, args.noise_train, args.noise_test, args.out, gaddy, split_file=args.split_file,
                         max_minutes=args.max_minutes, progress=not args.quiet)
        return 0
    config = dataclasses.replace(
        PaperConfig(), speaker=args.speaker, max_epochs=args.epochs, jobs=args.jobs, seed=args.seed, systems=tuple(args.systems)
    )
    run_paper_recipe(
        args.corpus, args.noise_train, args.noise_test, args.out, config,
        splits=SplitRanges(test=args.test, val=args.val, train=args.train), max_minutes=args.max_minutes, progress=not args.quiet,
    )
    return 0


# --------------------------------------------------------------------------- stream / export
def _add_stream(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stream",
        help="enhance a recording through the causal streaming engine, hop by hop, and time it",
        description=(
            "Feed --audio and --emg to emgse.stream.Streamer in 8 ms hops (128 audio samples, 8 ms of EMG)\n"
            "as a device would, write the enhanced audio (the fixed delay removed, input length and rate)\n"
            "and print the algorithmic latency (window + EMG lookahead), per-hop compute and the real-time\n"
            "factor. Needs a causal-* checkpoint trained with --normalization zscore (or none)."
        ),
        formatter_class=_Formatter,
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
    _add_channel_check(p)
    _add_atten_lim(p)


def _run_stream(args: argparse.Namespace) -> int:
    from emgse.stream import stream_file

    info = stream_file(args.checkpoint, args.audio, args.out, emg=args.emg, emg_fs=args.emg_fs, dc_block=args.dc_block,
                       threads=args.threads, force=args.force, backend=args.backend, check_channels=args.channel_check,
                       atten_lim_db=args.atten_lim)
    print(
        f"streamed {info['input']} -> {info['output']}: latency {info['latency_ms']:.0f} ms (window + lookahead), "
        f"per hop {info['mean_ms']:.2f} ms mean / {info['p95_ms']:.2f} ms p95, RTF {info['rtf']:.3f} "
        f"({info['hops']} hops, {args.backend}, {args.threads} thread{'s' if args.threads != 1 else ''})"
    )
    if line := _dropped_line(info["unusable_channels"]):
        print(line)
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a causal model's per-hop step (state in, state out) to ONNX and check it",
        description=(
            "Export the one-frame step of a causal-* checkpoint (inputs log_mag, emg, h_in, c_in; outputs\n"
            "estimate, h_out, c_out) and check onnxruntime against torch over chained hops (<= 1e-4)."
        ),
        formatter_class=_Formatter,
    )
    p.add_argument("--checkpoint", required=True, type=Path, help="best.pt of a causal model")
    p.add_argument("--format", default="onnx", choices=["onnx"], help="export format")
    p.add_argument("--out", required=True, type=Path, help="output .onnx file")
    p.add_argument("--hops", type=int, default=8, help="chained hops compared with torch")
    p.add_argument("--force", action="store_true", help="replace an existing output")


def _run_export(args: argparse.Namespace) -> int:
    from emgse.export import export_onnx

    info = export_onnx(args.checkpoint, args.out, hops=args.hops, force=args.force)
    print(
        f"exported {info['model']} step -> {info['output']} ({info['bytes'] / 1e6:.1f} MB, opset {info['opset']}); "
        f"onnxruntime vs torch over {info['hops_checked']} hops: max abs diff {info['max_abs_diff']:.1e}"
    )
    return 0


COMMANDS = {
    "prepare": (_add_prepare, _run_prepare),
    "mix": (_add_mix, _run_mix),
    "features": (_add_features, _run_features),
    "models": (_add_models, _run_models),
    "train": (_add_train, _run_train),
    "enhance": (_add_enhance, _run_enhance),
    "voice": (_add_voice, _run_voice),
    "evaluate": (_add_evaluate, _run_evaluate),
    "report": (_add_report, _run_report),
    "demo": (_add_demo, _run_demo),
    "recipe": (_add_recipe, _run_recipe),
    "simulate": (_add_simulate, _run_simulate),
    "stream": (_add_stream, _run_stream),
    "export": (_add_export, _run_export),
}


def build_parser() -> argparse.ArgumentParser:
    from emgse.mixing import GENERATED_NOISES
    from emgse.options import gate_numeric_options

    parser = _Parser(prog="emgse", description=MAIN_HELP, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"emgse {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    mix = sub.choices["mix"]
    mix.description = mix.description.replace("{names}", ", ".join(GENERATED_NOISES))
    gate_numeric_options(parser)
    _add_clean_partial(parser)
    return parser


def _add_clean_partial(parser: argparse.ArgumentParser) -> None:
    """``--clean-partial`` for every command that writes an ``--out`` (any of them may name what a
    killed run left; the experiments, ``demo`` and ``recipe``, remove it in their folder anyway)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _add_clean_partial(sub)
    if any("--out" in a.option_strings for a in parser._actions):
        parser.add_argument("--clean-partial", action="store_true",
                            help="remove the *.partial-* work folders that interrupted runs left beside the output")


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
