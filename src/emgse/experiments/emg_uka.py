"""``emgse recipe emg-uka`` and ``emgse demo --real-emg``: the paper's protocol on REAL facial EMG.

One speaker's session of the EMG-UKA Trial Corpus (or all of the speaker's sessions pooled), split
by the corpus's own lists: the test utterances are unseen, the speaker and session are not
(speaker- and session-dependent, as the paper and the field). Every model trains on mixtures drawn
on the fly under a :class:`~emgse.experiments.speaker_dependent.SessionConfig` budget (the demo's by default),
the mask pair from the shipped pretrained audio path; the test utterances are mixed with the paper's
test noises at the paper's test SNRs (:data:`emgse.protocol.TEST_SNRS_DB`). Printed: the scores, the EMG gain per SNR and per noise category
with 95% intervals over utterances; written: ``scores/scores.csv`` and ``report.html``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from emgse.config import EmgConfig, MixConfig
from emgse.errors import EmgseError
from emgse.experiments.speaker_dependent import (
    SessionConfig,
    session_noises,
    session_trained,
    train_session_system,
)
from emgse.experiments.stages import (
    EMG_ALONE,
    System,
    announce_data,
    enhance_score_report,
    finish_demo,
    holding_out,
    log,
    paper_test_bank,
    real_speech_systems,
    record_settings,
    stage,
)

# the recipe's systems by name: the mask pair (the default, from the pretrained audio path), the
# paper's direct-mapping pair (from scratch) and speech from EMG alone (no microphone)
RECIPE_SYSTEMS = {
    "audio-mask": System("audio-mask", "audio-mask"),
    "emgse-mask": System("emgse-mask", "emgse-mask"),
    "audio": System("audio", "audio"),
    "emgse": System("emgse", "emgse"),
    EMG_ALONE.name: EMG_ALONE,
}
DEFAULT_SYSTEMS = ("audio-mask", "emgse-mask")
# The demo's budget, with 3 test noises per utterance and SNR (20 test utterances x 3 noises x 4 SNRs
# = 240 mixtures on 002/101): about 7 minutes on 2 cores.
EMG_UKA_BUDGET = SessionConfig(noises_per_test=3)
EMG_UKA_INTERMEDIATE = ("prepared-train",)


def real_emg_note(speaker: str, session: str, mode: str) -> str:
    """The label every table on this data carries."""
    return (f"REAL EMG: EMG-UKA Trial Corpus (Wand et al. 2014), speaker {speaker}, session {session}, {mode} speech; "
            "six facial EMG channels recorded at 600 Hz (resampled to 2 kHz) with close-talk audio. Speaker- and "
            "session-dependent: the test utterances (the corpus's test list) are unseen, the speaker is not.")


def recipe_systems(names: tuple[str, ...] | list[str], channels: str = "all") -> list[System]:
    """The :class:`System` of each name in :data:`RECIPE_SYSTEMS`, its EMG limited to ``channels``."""
    unknown = [n for n in names if n not in RECIPE_SYSTEMS]
    if unknown:
        raise EmgseError(f"unknown system(s) {', '.join(unknown)} (choose from {', '.join(RECIPE_SYSTEMS)})")
    return [dataclasses.replace(RECIPE_SYSTEMS[n], channels=channels) for n in dict.fromkeys(names)]


@holding_out
def run_emg_uka_recipe(corpus: str | Path, speaker: str, session: str, out: str | Path, config: SessionConfig = EMG_UKA_BUDGET, *,
                       systems: tuple[str, ...] = DEFAULT_SYSTEMS, mode: str = "audible", channels: str = "all",
                       noise_train: list[str] | None = None, noise_test: list[str] | None = None,
                       real_pairs: str | Path | None = None, silent: bool = False, demo: bool = False,
                       keep_intermediate: bool = True, progress: bool = True, data_root: str | Path | None = None) -> list[dict]:
    """Run the protocol into ``out`` (each stage skipped when done, so a killed run resumes):

    ``OUT/prepared`` (test utterances) and ``OUT/prepared-train`` (train + val) by
    :func:`emgse.corpora.emg_uka.prepare_emg_uka`; ``OUT/mix-test`` (``config.noises_per_test`` of the
    test noises per utterance at each of ``config.test_snrs_db``); ``OUT/runs/<system>`` trained on the
    fly; then enhance, score and report. Noises default to the paper's (``noise/{train,test}`` under
    ``data_root``, else under ``EMGSE_DATA``: :func:`session_noises`) when present, else ``config``'s
    generated banks; the data root is printed and recorded with the settings. ``silent``: also voice the session's silent test EMG
    with ``emg-alone`` and score it against the audible recordings of the same sentences
    (:func:`score_silent`). ``demo``: the run is ``emgse demo --real-emg`` (its
    title; ``prepared-train`` and ``last.pt`` removed at the end unless ``keep_intermediate``).
    Returns the score rows.
    """
    from emgse.corpora.emg_uka import prepare_emg_uka, select_utterances
    from emgse.mixing import mix_corpus
    from emgse.scoring import NO_HARM, category_gain_table, fusion_gain_table, real_speech_section

    corpus, out = Path(corpus), Path(out)
    started = time.perf_counter()
    chosen = recipe_systems(systems, channels)
    if silent and EMG_ALONE.name not in systems:
        raise EmgseError("--silent voices silent EMG with emg-alone: add emg-alone to --systems")
    select_utterances(corpus, speaker, session, mode)  # an unknown speaker, session or mode: one line before any work
    default_train, default_test = session_noises(config, data_root)
    train_noise, test_noise = list(noise_train or default_train), list(noise_test or default_test)
    out.mkdir(parents=True, exist_ok=True)
    record_settings(out / ("demo.json" if demo else "recipe.json"), {
        "protocol": "emg-uka speaker-dependent", "corpus": str(corpus.resolve()), "speaker": speaker, "session": session, "mode": mode,
        "systems": [s.name for s in chosen], "channels": channels, "silent": silent, "noise_train": train_noise, "noise_test": test_noise,
        "config": dataclasses.asdict(config),
        "data_root": announce_data(data_root, found=default_train != list(config.train_noises))})
    log(f"EMG-UKA {speaker}/{session} ({mode}) from {corpus}; training noises {', '.join(train_noise)}; test noises {', '.join(test_noise)}")
    if stage("prepare test (the corpus's test list)", (out / "prepared").is_dir()):
        prepare_emg_uka(corpus, speaker, session, out / "prepared", mode=mode, splits=("test",), progress=progress)
    if stage("prepare train/val (the corpus's train list)", session_trained(out, chosen) or (out / "prepared-train").is_dir()):
        prepare_emg_uka(corpus, speaker, session, out / "prepared-train", mode=mode, splits=("train", "val"), progress=progress)
    if stage("mix test", (out / "mix-test").is_dir()):
        bank = paper_test_bank(test_noise, progress)
        mix = MixConfig(snrs_db=config.test_snrs_db, per_utterance=min(config.noises_per_test, len(bank)), seed=config.seed + 1)
        mix_corpus(out / "prepared", ["test"], bank, mix, out / "mix-test", progress=progress)
    for system in chosen:
        train_session_system(out, system, config, emg_config=EmgConfig(normalization="zscore"), progress=progress, noise=train_noise)
    sections = []
    heard = [s for s in chosen if s.model != "emg-only"]  # the real pairs have no EMG for a model that hears none
    if demo or real_pairs is not None:
        stage("real speech (evaluation only)", False)
        real = real_speech_section(real_speech_systems(out, heard), out / "real-speech", real_pairs, jobs=config.jobs, progress=progress,
                                   target=NO_HARM, reuse=True, data_root=data_root)  # a rerun takes the scores it already holds
        sections += [real] if real else []
    note = real_emg_note(speaker, session, mode)
    title = "emgse demo on real EMG" if demo else "emgse recipe emg-uka"
    scores = enhance_score_report(out, chosen, f"{title}: EMG-UKA {speaker}/{session}, REAL EMG, speaker-dependent", [
        note, f"Every model trained on the fly ({config.budget()}) from {config.init_from or 'scratch'} (the mask family; the "
              f"others from scratch); EMG z-scored with the training statistics, channels {channels}; test noises "
              f"{', '.join(test_noise)} (unseen in training)."], config.jobs, progress, sections)
    for table in (fusion_gain_table(scores), category_gain_table(scores)):
        if table is not None:  # the EMG's share: each fusion model minus its audio-only twin
            print(f"\n{table.markdown()}\n{note}")
    for heading, text in sections:
        print(f"\n## {heading}\n\n{text}")
    if silent:
        table = score_silent(out, corpus, speaker, session, progress=progress)
        print(f"\n{table.markdown()}\n{note}")
    if demo:
        finish_demo(out, started, None if keep_intermediate else EMG_UKA_INTERMEDIATE)
    else:
        log(f"recipe finished in {(time.perf_counter() - started) / 60:.1f} min")
    return scores


def score_silent(out: Path, corpus: Path, speaker: str, session: str, *, progress: bool = True):
    """Speech from silent EMG, measured against the audible recording of the same sentence.

    The session's silent test EMG (``OUT/prepared-silent``) and its audible test EMG are voiced by
    ``OUT/runs/emg-alone/best.pt`` (``OUT/voiced/{silent,audible}``); each is scored by DTW-MCD
    (:mod:`emgse.scoring.parallel`) against the audible recording whose transcript matches, written to
    ``OUT/scores/parallel.csv``. The audible row is the same measure where the reference is the
    utterance's own recording: the level to read the silent row against. Returns the table."""
    import numpy as np

    from emgse.corpora.emg_uka import prepare_emg_uka
    from emgse.files import write_text
    from emgse.scoring.gains import interval_half_width
    from emgse.scoring.parallel import normalize_text, score_parallel
    from emgse.scoring.rows import csv_text
    from emgse.scoring.summaries import Table
    from emgse.voice import voice_folder

    checkpoint = out / "runs" / EMG_ALONE.name / "best.pt"
    if stage("prepare silent (the session's silent test list)", (out / "prepared-silent").is_dir()):
        prepare_emg_uka(corpus, speaker, session, out / "prepared-silent", mode="silent", splits=("test",), progress=progress)
    sources = {"audible": out / "prepared" / "test", "silent": out / "prepared-silent" / "test"}
    for mode, folder in sources.items():
        if stage(f"voice {mode} test EMG with {EMG_ALONE.name}", (out / "voiced" / mode).is_dir()):
            voice_folder(checkpoint, folder, out / "voiced" / mode, progress=progress)

    def transcripts(folder: Path) -> dict[str, str]:
        return {p.stem: p.read_text().strip() for p in folder.glob("*.txt")}

    audible_text = transcripts(sources["audible"])
    references = {normalize_text(t): sources["audible"] / f"{u}.wav" for u, t in audible_text.items()}
    rows = []
    for mode, folder in sources.items():
        voiced = {p.stem: p for p in sorted((out / "voiced" / mode).glob("*.wav"))}
        rows += [dict(r, mode=mode) for r in score_parallel(voiced, transcripts(folder), references, EMG_ALONE.name)]
    write_text(out / "scores" / "parallel.csv", csv_text(rows, ["system", "mode", "utt_id", "reference", "mcd_db"]))
    table_rows = []
    for mode in sources:
        values = np.array([r["mcd_db"] for r in rows if r["mode"] == mode])
        half = interval_half_width(values)  # one value per utterance
        table_rows.append([mode, str(values.size), f"{values.mean():.2f}" if values.size else "-",
                           f"± {half:.2f}" if np.isfinite(half) else "-"])
    return Table("Speech from EMG alone against a parallel recording (DTW mel-cepstral distortion, dB; lower is better)",
                 ["EMG", "utterances", "MCD", "95% interval (Student t)"], table_rows,
                 ["Each voiced utterance against the audible recording of the same sentence, time-aligned by DTW. Silent: "
                  "the reference was spoken at another time; audible: the reference is the utterance's own recording."])
