"""Quality benchmark: every compared system trained under the same budget on one simulated corpus.

    python -m benchmarks.quality --out runs/quality            # about 45 min on 2 CPU cores
    python -m benchmarks.quality --out runs/quality --all      # + the variants kept for the record (~72 min)
    python -m benchmarks.quality --out runs/quality-quick --quick
    python -m benchmarks.quality --out runs/quality --all --loss compressed --systems audio-mask emgse-mask
                                                                # the same systems trained with the compressed loss
    python -m benchmarks.quality --out runs/quality --all --loss compressed --wave-loss sisdr --systems audio-mask emgse-mask
                                                                # ... plus a loss on the rebuilt waveform
    python -m benchmarks.quality --out runs/quality-speech --speech ../shared/data/speech/speechocean762
                                                                # recorded speech + SIMULATED EMG

With --speech the corpus is recorded speech (a folder in the Montreal Forced Aligner layout with
`train`/`test` halves, e.g. speechocean762) with EMG simulated from each recording's phone timing
(`emgse simulate --speech`): 36 speakers of the train half (validation speakers drawn from them)
and 3 speakers of the test half, all 6 utterances each, chosen by seed; training SNRs -10...20 dB
(real recordings reach +17 dB; the eSpeak corpus keeps the paper's -10...10). `--systems` trains
only the systems named. `--loss compressed` trains with power-law compressed magnitudes instead of
the paper's L1 on log1p magnitudes (`emgse train --loss`); those runs are named `<system>-comp`, so
one folder holds both, and their scores and tables carry the same suffix (`scores-comp`,
`tables/quality-comp.md`, `real-speech-comp`). `--wave-loss sisdr|mrstft` adds a loss on the
rebuilt waveform at its default weight (`emgse train --wave-loss`); its name follows the loss's:
`<system>-comp-sisdr`, `scores-comp-sisdr` (`emgse.scoring.run_names.run_suffix`). `emg-alone` hears no
microphone and takes no waveform loss: with one it is left out (the low-SNR table uses the
`emg-alone` run of the same spectral loss).

SIMULATED EMG: the corpus comes from `emgse simulate`; the figures are not results on real EMG.

Fixed by seed: 20 simulated speakers (eSpeak voices of their own, each session through its own
recording chain), test and validation speakers unseen in training (speaker-disjoint), training noises
from ../shared/data/noise/train when present (else the generated bank), test noises disjoint from
training (../shared/data/noise/test plus generated pink when present, else generated noises unseen
in training, babble included), test SNRs -11, -6, -1, 4 dB. Systems: noisy, the paper's `audio`
and `emgse`, the new `emgse-tcn`, the causal models, `emg-alone` (an `emg-only` model voiced by
`emgse voice`: speech from EMG alone, the microphone unused), two oracles on the noisy phase -- `oracle-magnitude`
(the clean magnitude: the ceiling of the paper's mapping models) and `oracle-irm` (the ideal ratio
mask: a mask oracle, below it) -- and with --all the bounded-mask family
(`audio-mask`, `emgse-mask`), `emgse-map` (measured worse, kept for the record), `emgse-prior`
(a mask blended with a speech prior predicted from EMG) and `emgse-snr` (emgse-mask with its EMG
term opened by an estimate of the input's SNR). Prints one table per metric (per SNR and averaged) with
parameters, CPU real-time factor and the share of the noisy -> `oracle-magnitude` gap each system
closes. Stages are
resumable like the recipes (run again with the same --out to continue); OUT/benchmark.json keeps
the settings (corpus sizes, SNRs, level rule, epochs, seed, --speech), and a rerun with other ones
is refused in one line rather than mixing old and new systems in one table. Every run trains with
input level normalization (as `emgse train`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from emgse.config import LOSSES, WAVE_LOSSES
from emgse.errors import EmgseError
from emgse.experiments import session_noises
from emgse.experiments.quality import (
    EMG_CONFIGS,
    RECORD_SYSTEMS,
    SESSION_SYSTEMS,
    SYSTEMS,
    build_data,
    record_run,
    run_settings,
    save_table,
    score_real_speech,
    session_run,
    session_targets,
    tables_markdown,
    train_and_score,
    train_and_score_session,
    with_loss,
)
from emgse.resources import data_folder
from emgse.scoring import HELPS_REAL_SPEECH, fusion_gain_table
from emgse.scoring.run_names import run_suffix


def main_session(args: argparse.Namespace, systems) -> None:
    """``--protocol speaker-dependent``: every system trained and scored in the paper's protocol; prints
    the quality tables, the EMG gain of each fusion model over its audio-only twin and the targets."""
    try:
        config = session_run(args.out, args.quick, args.seed, args.jobs)
    except EmgseError as e:
        sys.exit(f"error: {e}")
    started = time.perf_counter()
    scores, params, rtf = train_and_score_session(args.out, systems, config, jobs=args.jobs, dnsmos=not args.no_dnsmos)
    noise_train, noise_test = session_noises(config)
    text = (f"Quality benchmark, speaker-dependent ({'quick' if args.quick else 'full'}; SIMULATED EMG, not real EMG; {config.protocol()}; "
            f"every system trained for the same budget: {config.budget()} (the mask family from the shipped pretrained audio path, the "
            f"others from scratch); train noises {', '.join(Path(n).name for n in noise_train)}, test noises "
            f"{', '.join(Path(n).name for n in noise_test)}, {config.noises_per_test} per utterance and SNR; this invocation "
            f"{(time.perf_counter() - started) / 60:.1f} min (stages finished earlier are skipped))\n\n" + tables_markdown(scores, params, rtf))
    gains = fusion_gain_table(scores)
    if gains is not None:
        text += "\n" + gains.markdown() + "\n"
    text += "\n" + session_targets(scores, params) + "\n"
    print("\n" + text)
    save_table(args.out, "quality", text)
    score_real_speech(args.out, systems, "real-speech", args.real_pairs, jobs=args.jobs, dnsmos=not args.no_dnsmos)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--quick", action="store_true", help="CI-sized run (a few minutes)")
    ap.add_argument("--all", action="store_true", help="also audio-mask, emgse-mask, emgse-map, emgse-prior and emgse-snr")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per system (default: 4, quick: 1)")
    ap.add_argument("--protocol", choices=("speaker-dependent", "unseen-speakers"), default="speaker-dependent",
                    help="speaker-dependent (the default, the paper's): one simulated speaker's session, utterances 1-40 test, "
                         "41-60 validation, 61-260 training, every system trained on the fly for the same steps; "
                         "unseen-speakers: test speakers unseen in training (--all, --epochs, --speech, --loss, --wave-loss apply)")
    ap.add_argument("--seed", type=int, default=None, help="default: 11 speaker-dependent, 0 unseen-speakers")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-dnsmos", action="store_true", help="skip the DNSMOS columns (no-reference SIG/BAK/OVRL)")
    ap.add_argument("--speech", type=Path, default=None,
                    help="recorded speech (MFA layout with train/test halves, e.g. ../shared/data/speech/speechocean762) "
                         "instead of eSpeak voices; the EMG is simulated from its timing")
    ap.add_argument("--systems", nargs="+", default=None, metavar="NAME", help="train only these systems (default: all)")
    ap.add_argument("--loss", choices=LOSSES, default="l1",
                    help="training loss of every system (default l1, the paper's); compressed: power-law compressed magnitudes, "
                         "the runs named <system>-comp beside the l1 ones, scores in OUT/scores-comp")
    ap.add_argument("--wave-loss", choices=WAVE_LOSSES, default=None,
                    help="also a loss on the rebuilt waveform, at its default weight (emgse train --wave-loss); the runs named "
                         "<system><loss suffix>-<wave loss>, e.g. audio-mask-comp-sisdr; emg-alone is left out (no microphone)")
    ap.add_argument("--real-pairs", type=Path, default=None,
                    help="real clean/noisy pairs to also score every system on (evaluation only; default: "
                         "../shared/data/real-speech/voicebank-demand-test when present)")
    args = ap.parse_args()
    if args.protocol == "speaker-dependent":
        given = [o for o, v in (("--all", args.all), ("--epochs", args.epochs), ("--speech", args.speech), ("--loss", args.loss != "l1"),
                                ("--wave-loss", args.wave_loss)) if v]
        if given:
            ap.error(f"{', '.join(given)}: unseen-speaker benchmark option(s); add --protocol unseen-speakers")
        systems = SESSION_SYSTEMS
        if args.systems:
            unknown = sorted(set(args.systems) - {x.name for x in systems})
            if unknown:
                ap.error(f"unknown system(s) {', '.join(unknown)}; known: {', '.join(x.name for x in systems)}")
            systems = tuple(x for x in systems if x.name in args.systems)
        main_session(args, systems)
        return
    args.seed = args.seed or 0
    systems = SYSTEMS + (RECORD_SYSTEMS if args.all else ())  # checked before anything is written
    if args.systems:
        unknown = sorted(set(args.systems) - {x.name for x in systems})
        if unknown:
            ap.error(f"unknown system(s) {', '.join(unknown)}; known: {', '.join(x.name for x in systems)}")
        systems = tuple(x for x in systems if x.name in args.systems)
    if args.wave_loss:  # a waveform loss needs the microphone's signal to rebuild
        if args.systems and any(x.model == "emg-only" for x in systems):
            ap.error("--wave-loss: emg-alone hears no microphone and takes no waveform loss; leave it out of --systems")
        systems = tuple(x for x in systems if x.model != "emg-only")
    s, audio_config = run_settings(args.quick, args.speech)
    epochs = args.epochs or s["epochs"]
    started = time.perf_counter()
    try:
        record_run(args.out, s, audio_config, epochs, args.seed, args.speech)
        noise_train, noise_test = build_data(args.out, s, args.quick, args.seed, speech=args.speech, noise_dir=data_folder("noise"))
    except EmgseError as e:
        sys.exit(f"error: {e}")
    suffix = run_suffix(args.loss, args.wave_loss)
    systems = with_loss(systems, args.loss, args.wave_loss)
    scores, params, rtf = train_and_score(args.out, systems, epochs, seed=args.seed, jobs=args.jobs, emg_configs=EMG_CONFIGS,
                                          dnsmos=not args.no_dnsmos, audio_config=audio_config, loss=args.loss, wave_loss=args.wave_loss,
                                          scores_name="scores" + suffix)
    if args.speech:
        meta = json.loads((args.out / "prepared" / "corpus.json").read_text())
        # counted from the run's own speaker links (a run may have been given other speakers than the defaults)
        train_speakers, test_speakers = (sum(p.is_dir() for p in (args.out / "speech" / part).iterdir()) for part in ("train", "test"))
        corpus = (f"recorded speech from {args.speech.name} + SIMULATED EMG, not real EMG): {train_speakers} train-half speakers "
                  f"(validation drawn from them) and {test_speakers} test-half speakers, utterances {meta['utterances']}, ")
    else:
        corpus = (f"SIMULATED EMG, not real EMG; eSpeak voices): {s['speakers']} speakers "
                  f"({s['test']} test, {s['val']} validation, unseen in training), {s['utterances']} utterances, ")
    text = (f"Quality benchmark ({'quick' if args.quick else 'full'}; " + corpus
            + f"{epochs} epochs per system, loss {args.loss}{' + ' + args.wave_loss if args.wave_loss else ''}, train noises {', '.join(Path(n).name for n in noise_train)}, "
            f"test noises {', '.join(Path(n).name for n in noise_test)}; this invocation {(time.perf_counter() - started) / 60:.1f} min "
            f"(stages finished earlier are skipped)\n\n"
            + tables_markdown(scores, params, rtf))
    print("\n" + text)
    save_table(args.out, "quality" + suffix, text)
    # trained on recorded speech, a model must help real recordings (issue 10's second target): judged per system
    score_real_speech(args.out, systems, "real-speech" + suffix, args.real_pairs, jobs=args.jobs, dnsmos=not args.no_dnsmos,
                      target=HELPS_REAL_SPEECH if args.speech else None)


if __name__ == "__main__":
    main()
