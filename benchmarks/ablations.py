"""Ablations, each printing a table (SIMULATED EMG; see benchmarks/quality.py).

    python -m benchmarks.ablations --study channels   --out runs/quality [--quick]
    python -m benchmarks.ablations --study context    --out runs/quality [--quick]
    python -m benchmarks.ablations --study noise-type --out runs/quality
    python -m benchmarks.ablations --study normalization --out runs/quality
    python -m benchmarks.ablations --study emg-snr    --out runs/quality [--quick] [--pair emgse-tcn,audio]
    python -m benchmarks.ablations --study channels   --out runs/quality-speech --speech ../shared/data/speech/speechocean762

- channels: the paper's question "is cheek sufficient?": emgse-tcn on all 35, cheek 28, chin 7
  channels (with the paper's min-max EMG, EMGSE gains nothing from EMG on this benchmark, so the
  question needs a model that uses EMG).
- context: paper EMGSE with z-score EMG and +-5, +-10, +-15 frames of EMG context.
- noise-type: fusion gain over audio-only for speech vs nonspeech noise (from a quality run's scores).
- normalization: paper EMGSE with the paper's per-utterance min-max EMG normalization vs z-score
  statistics from the training data.
- emg-snr: the simulator's EMG quality knob: fusion gain (an EMG model over an audio-only model,
  ``--pair``) vs EMG SNR, one corpus per EMG SNR at a smaller size (80 utterances, 3 epochs).

The channels, normalization and context studies reuse the corpus, mixtures and trained systems of a quality
run in --out (built if missing) and train under the same budget; with --speech (as given to
benchmarks/quality.py) the run is the recorded-speech one, with its settings (training SNRs, input level
normalization).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from emgse.errors import EmgseError
from emgse.experiments import System
from emgse.experiments.quality import (
    EMG_CONFIGS,
    SETTINGS,
    ZSCORE,
    build_data,
    run_settings,
    save_table,
    score_real_speech,
    session_run,
    train_and_score,
    train_and_score_session,
)
from emgse.resources import data_folder
from emgse.scoring import (
    fusion_gain_table,
    read_scores,
    summarize,
)

# the speaker-dependent studies (the default protocol): the best fusion model of that protocol, emgse-mask,
# on all 35 / cheek 28 / chin 7 channels; EMG normalization of the paper's EMGSE and of emgse-mask
SESSION_STUDIES = {
    "channels": (System("audio-mask", "audio-mask"), System("emgse-mask", "emgse-mask"), System("emgse-mask-cheek", "emgse-mask", "cheek"),
                 System("emgse-mask-chin", "emgse-mask", "chin")),
    "normalization": (System("audio", "audio"), System("emgse", "emgse"), System("emgse-zscore", "emgse"), System("audio-mask", "audio-mask"),
                      System("emgse-mask", "emgse-mask"), System("emgse-mask-minmax", "emgse-mask")),
}
SESSION_TITLES = {
    "channels": "Channel sets, speaker-dependent: all 35 vs cheek 28 vs chin 7 (emgse-mask; SIMULATED EMG)",
    "normalization": "EMG normalization, speaker-dependent: per-utterance min-max (the paper's) vs z-score from the training data "
                     "(the paper's EMGSE and emgse-mask; SIMULATED EMG)",
}


def session_study(study: str, out: Path, quick: bool, seed: int | None, jobs: int) -> tuple[str, tuple[System, ...]]:
    """A channels or normalization study in the speaker-dependent protocol, in (and reusing) the
    speaker-dependent quality run of ``out``: the table (means, gains over the audio-only twin with
    95% intervals) and the systems."""
    config = session_run(out, quick, seed, jobs)
    systems = SESSION_STUDIES[study]
    scores, _, _ = train_and_score_session(out, systems, config, jobs=jobs, oracle=False, scores_name=f"scores-{study}")
    text = gain_table(scores, "audio-mask", f"{SESSION_TITLES[study]}; {config.protocol()}; {config.budget()}")
    gains = fusion_gain_table(scores)
    return text + ("\n\n" + gains.markdown() if gains is not None else ""), systems


def gain_table(scores: list[dict], reference: str, title: str, by: str | None = None) -> str:
    """Mean PESQ/STOI/ESTOI per system (and group) with the difference from ``reference``."""
    rows = summarize(scores, by)
    group = by or "group"
    lines = [title, "", f"| system | {group} | PESQ | STOI | ESTOI | SI-SDR | PESQ vs {reference} | ESTOI vs {reference} |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    ref = {r[group]: r for r in rows if r["system"] == reference}
    for r in rows:
        base = ref.get(r[group])
        dp = f"{r['pesq'] - base['pesq']:+.3f}" if base else ""
        de = f"{r['estoi'] - base['estoi']:+.3f}" if base else ""
        lines.append(f"| {r['system']} | {r[group]} | {r['pesq']:.3f} | {r['stoi']:.3f} | {r['estoi']:.3f} | {r['si_sdr']:.2f} | {dp} | {de} |")
    return "\n".join(lines)


def emg_snr_study(root: Path, pair: list[str], quick: bool, epochs: int | None, jobs: int) -> str:
    """Fusion gain vs the simulator's EMG SNR: one corpus per SNR, an EMG model and an audio-only model on each."""
    fusion, audio = pair
    s = SETTINGS["quick" if quick else "ablation"]
    epochs = epochs or s["epochs"]
    lines = []
    for snr in (-5.0, 5.0, 20.0):
        out = root / f"emg-snr-{snr:g}"
        build_data(out, s, quick, emg_snr_db=snr, noise_dir=data_folder("noise"))
        scores, _, _ = train_and_score(out, [System(audio, audio), System(fusion, fusion)], epochs, jobs=jobs, oracle=False, emg_configs=EMG_CONFIGS)
        overall = {r["system"]: r for r in summarize(scores)}
        a, f = overall[audio], overall[fusion]
        lines.append(f"| {snr:g} dB | {a['pesq']:.3f} | {f['pesq']:.3f} | {f['pesq'] - a['pesq']:+.3f} | {a['estoi']:.3f} | "
                     f"{f['estoi']:.3f} | {f['estoi'] - a['estoi']:+.3f} |")
    return "\n".join([f"Fusion gain vs EMG quality (SIMULATED EMG; {s['utterances']} utterances per corpus, {epochs} epochs)", "",
                      f"| EMG SNR | PESQ {audio} | PESQ {fusion} | PESQ gain | ESTOI {audio} | ESTOI {fusion} | ESTOI gain |",
                      "|---|---:|---:|---:|---:|---:|---:|", *lines])


def main() -> None:
    try:
        run(parse_args())
    except EmgseError as e:  # a folder started with other settings, too few speakers
        sys.exit(f"error: {e}")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", required=True, choices=["channels", "context", "noise-type", "emg-snr", "normalization"])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--protocol", choices=("speaker-dependent", "unseen-speakers"), default="speaker-dependent",
                    help="channels and normalization: speaker-dependent (the default; in the speaker-dependent quality run of --out) "
                         "or unseen-speakers (the other studies are unseen-speaker only)")
    ap.add_argument("--seed", type=int, default=None, help="speaker-dependent: the quality run's seed (default 11)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--pair", default="emgse-tcn,audio", help="emg-snr study: EMG model,audio-only model")
    ap.add_argument("--speech", type=Path, default=None,
                    help="the recorded-speech quality run's speech folder (as given to benchmarks/quality.py --speech)")
    ap.add_argument("--real-pairs", type=Path, default=None,
                    help="real clean/noisy pairs to also score the study's systems on (channels, context, normalization; "
                         "evaluation only; default: ../shared/data/real-speech/voicebank-demand-test when present)")
    args = ap.parse_args()
    if args.protocol == "speaker-dependent" and args.study in SESSION_STUDIES:
        if args.speech or args.epochs:
            ap.error("--speech and --epochs belong to --protocol unseen-speakers")
    elif args.speech and (args.quick or args.study == "emg-snr"):
        ap.error("--speech goes with the channels, context and normalization studies of a full run")
    return args


def run(args: argparse.Namespace) -> None:
    """The study of ``args``: trained and scored where it trains, printed and kept in the run's report."""
    if args.protocol == "speaker-dependent" and args.study in SESSION_STUDIES:
        text, systems = session_study(args.study, args.out, args.quick, args.seed, args.jobs)
        print("\n" + text)
        save_table(args.out, f"ablation-{args.study}", text)
        score_real_speech(args.out, systems, f"real-speech-ablation-{args.study}", args.real_pairs, jobs=args.jobs)
        return
    s, audio_config = run_settings(args.quick, args.speech)
    corpus = "recorded speech + SIMULATED EMG" if args.speech else "SIMULATED EMG"
    epochs = args.epochs or s["epochs"]
    if args.study == "noise-type":
        scores = read_scores(args.out / "scores" / "scores.csv")
        text = gain_table(scores, "audio", "Gain over `audio` by noise category: speech (babble, talkers) vs nonspeech (every system of the quality run; SIMULATED EMG)", by="category")
    elif args.study == "emg-snr":
        text = emg_snr_study(args.out, args.pair.split(","), args.quick, args.epochs, args.jobs)
    else:
        build_data(args.out, s, args.quick, speech=args.speech, noise_dir=data_folder("noise"))
        if args.study == "channels":
            # emgse-tcn (z-score EMG): with the paper's min-max EMGSE gets no gain from EMG at all here
            tcn = [System("emgse-tcn", "emgse-tcn", "all"), System("emgse-tcn-cheek", "emgse-tcn", "cheek"), System("emgse-tcn-chin", "emgse-tcn", "chin")]
            configs = {x.name: ZSCORE for x in tcn}
            systems = [*tcn, System("audio", "audio")]
            scores, _, _ = train_and_score(args.out, systems, epochs, jobs=args.jobs, oracle=False, emg_configs=configs,
                                           scores_name="scores-channels", audio_config=audio_config)
            text = gain_table(scores, "audio", f"Channel sets: all 35 vs cheek 28 vs chin 7 (emgse-tcn; {corpus})")
        elif args.study == "normalization":
            systems = [System("emgse", "emgse"), System("emgse-zscore", "emgse"), System("audio", "audio")]
            scores, _, _ = train_and_score(args.out, systems, epochs, jobs=args.jobs, oracle=False, emg_configs={"emgse-zscore": ZSCORE},
                                           scores_name="scores-normalization", audio_config=audio_config)
            text = gain_table(scores, "audio", f"EMG normalization: per-utterance min-max (paper) vs z-score from training data (paper EMGSE; {corpus})")
        else:
            # paper EMGSE with z-score EMG (see the normalization study), +-15 frames = emgse-zscore
            systems = [System(f"emgse-zscore-k{k}", "emgse") for k in (5, 10)] + [System("emgse-zscore", "emgse"), System("audio", "audio")]
            configs = {f"emgse-zscore-k{k}": dataclasses.replace(ZSCORE, context=k) for k in (5, 10)} | {"emgse-zscore": ZSCORE}
            scores, _, _ = train_and_score(args.out, systems, epochs, jobs=args.jobs, oracle=False, emg_configs=configs, scores_name="scores-context",
                                           audio_config=audio_config)
            text = gain_table(scores, "audio", f"EMG context width: +-5, +-10, +-15 frames (paper EMGSE with z-score EMG; {corpus})")
    print("\n" + text)
    save_table(args.out, f"ablation-{args.study}", text)
    if args.study in ("channels", "context", "normalization"):  # the study's models on real recordings, EMG absent
        score_real_speech(args.out, systems, f"real-speech-ablation-{args.study}", args.real_pairs, jobs=args.jobs)


if __name__ == "__main__":
    main()
