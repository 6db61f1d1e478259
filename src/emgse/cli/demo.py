"""``emgse demo``: the whole system on a small simulated corpus, or on real EMG (``--real-emg``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emgse.cli.common import Formatter, add_data_root
from emgse.config import LOSSES
from emgse.protocol import (
    SESSION_TEST_UTTERANCES,
    SESSION_VAL_UTTERANCES,
    TRAIN_SNR_RANGE_DB,
    snr_list,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from emgse.experiments import DEMO_PROTOCOLS

    p = sub.add_parser(
        "demo",
        help="the main job: simulate a corpus, train audio-only and EMGSE in the paper's protocol, score, write report.html",
        description=(
            "Run the whole system on a small SIMULATED corpus (about 9 minutes on an idle 2-core CPU).\n"
            "Default, the paper's protocol (speaker-dependent, emgse.experiments.SessionConfig): one simulated speaker's\n"
            f"session, utterances 1-{SESSION_TEST_UTTERANCES} test, {SESSION_TEST_UTTERANCES + 1}-"
            f"{SESSION_TEST_UTTERANCES + SESSION_VAL_UTTERANCES} validation, the rest training -> audio-mask and emgse-mask trained on\n"
            f"mixtures drawn on the fly at {TRAIN_SNR_RANGE_DB[0]:g}...{TRAIN_SNR_RANGE_DB[1]:g} dB, both from the shipped pretrained audio path -> enhance -> score\n"
            f"(PESQ, STOI, ESTOI, SI-SDR at {snr_list()} dB) -> report.html, the EMG gain (fusion minus audio-only)\n"
            "per SNR with a 95% interval, and the models scored on real recordings when pairs are at hand.\n"
            "--protocol unseen-speakers: test speakers unseen in training (a harder, separate question).\n"
            "Stages whose output exists are skipped, so a killed demo resumes where it stopped."
        ),
        formatter_class=Formatter,
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
                        "real-speech/voicebank-demand-test under the data root when present)")
    add_data_root(p)
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


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from emgse.experiments import (
        EMG_UKA_BUDGET,
        DemoConfig,
        SessionConfig,
        check_demo_options,
        run_demo,
        run_emg_uka_recipe,
        run_session_demo,
        split_speaker_session,
    )

    check_demo_options(args.protocol, vars(args))
    if args.protocol == "speaker-dependent":
        if args.real_emg is not None:
            speaker, session = split_speaker_session(args.real_emg_session)
            budget = dataclasses.replace(EMG_UKA_BUDGET, jobs=args.jobs, **({"steps": args.steps} if args.steps else {}),
                                         **({"seed": args.seed} if args.seed is not None else {}))
            run_emg_uka_recipe(args.real_emg, speaker, session, args.out, budget, real_pairs=args.real_pairs, demo=True,
                               keep_intermediate=args.keep_intermediate, progress=not args.quiet, data_root=args.data_root)
            return 0
        session = SessionConfig(jobs=args.jobs, **({"steps": args.steps} if args.steps else {}),
                                **({"seed": args.seed} if args.seed is not None else {}))
        run_session_demo(args.out, session, progress=not args.quiet, real_pairs=args.real_pairs, keep_intermediate=args.keep_intermediate,
                         data_root=args.data_root)
        return 0
    given = {k: getattr(args, k) for k in ("speakers", "utterances", "epochs", "family", "loss") if getattr(args, k) is not None}
    config = dataclasses.replace(DemoConfig(), minutes_per_model=args.minutes_per_model, cheek=args.cheek, jobs=args.jobs,
                                 **given, **({"seed": args.seed} if args.seed is not None else {}))
    if args.speech is not None:
        config = dataclasses.replace(config, speech=None if args.speech.lower() == "none" else args.speech)
    run_demo(args.out, config, noise_train=args.noise_train, noise_test=args.noise_test, progress=not args.quiet, real_pairs=args.real_pairs,
             keep_intermediate=args.keep_intermediate, data_root=args.data_root)
    return 0
