"""The protocols on real corpora: ``emgse recipe paper`` (the EMGSE paper's, on CSL-EMG_Array)
and ``emgse recipe gaddy`` (SEMamba-EMG's, on the Gaddy & Klein corpus), stage by stage."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from emgse.config import EmgConfig, MixConfig
from emgse.errors import EmgseError
from emgse.experiments.stages import (
    EMG_ALONE,
    PAPER_SYSTEMS,
    SIMULATED_NOTE,
    System,
    enhance_score_report,
    holding_out,
    paper_test_bank,
    record_settings,
    stage,
    train_system,
)
from emgse.files import read_json
from emgse.protocol import TEST_SNRS_DB, TRAIN_SNRS_DB


def mix_and_train(out: Path, noise_train: list[str], noise_test: list[str], config, systems: list[System], max_minutes: float | None,
                   progress: bool) -> None:
    """The protocol stages after ``prepare`` shared by the corpus recipes: training mixtures (``K``
    noises per utterance and SNR), the EMGSE test noises at every test SNR, then each system trained
    with the paper's settings from ``config`` (a :class:`PaperConfig` or :class:`GaddyConfig`)."""
    from emgse.mixing import NoiseBank, mix_corpus

    if stage("mix train/val", (out / "mix-train").is_dir()):
        bank = NoiseBank.from_sources(noise_train, progress=progress)
        mix = MixConfig(snrs_db=config.train_snrs_db, per_utterance=min(config.per_utterance, len(bank)), seed=config.seed)
        mix_corpus(out / "prepared", ["train", "val"], bank, mix, out / "mix-train", progress=progress)
    if stage("mix test", (out / "mix-test").is_dir()):
        mix_corpus(out / "prepared", ["test"], paper_test_bank(noise_test, progress), MixConfig(snrs_db=config.test_snrs_db, seed=config.seed + 1),
                   out / "mix-test", progress=progress)
    base = {"lr": config.lr, "batch_size": config.batch_size, "patience": config.patience, "seed": config.seed,
            "max_epochs": config.max_epochs, "max_minutes": max_minutes}
    for system in systems:
        train_system(system, out / "mix-train", out, base, EmgConfig(), progress)


@dataclass(frozen=True)
class ProtocolConfig:
    """What the corpus protocols share: the paper's training and test SNRs and training settings."""

    train_snrs_db: tuple[float, ...] = TRAIN_SNRS_DB
    per_utterance: int = 5
    test_snrs_db: tuple[float, ...] = TEST_SNRS_DB
    max_epochs: int = 500
    patience: int = 15
    lr: float = 1e-4
    batch_size: int = 16
    seed: int = 0
    jobs: int = 2
    systems: tuple[str, ...] = ("audio", "emgse", "emgse-cheek", "emgse-chin", "emg-alone")


@dataclass(frozen=True)
class PaperConfig(ProtocolConfig):
    """The paper's protocol (ICASSP 2022): speaker-dependent, one Block1-Initial session."""

    speaker: int = 5


@holding_out
def run_paper_recipe(
    corpus: str | Path,
    noise_train: list[str],
    noise_test: list[str],
    out: str | Path,
    config: PaperConfig = PaperConfig(),
    *,
    splits=None,
    max_minutes: float | None = None,
    progress: bool = True,
) -> list[dict]:
    """The paper's full protocol on CSL-EMG_Array, resumable stage by stage.

    Test noises: if none of ``noise_test`` is pink noise, the generated ``pink`` is added (the
    18th test noise of the paper, missing from some copies).
    """
    from emgse.corpora.csl_emg_array import SplitRanges, prepare_csl_emg_array

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    known = {s.name: s for s in (*PAPER_SYSTEMS, EMG_ALONE)}
    unknown = [s for s in config.systems if s not in known]
    if unknown:
        raise EmgseError(f"unknown system(s) {', '.join(unknown)} (known: {', '.join(known)})")
    systems = [known[s] for s in config.systems]
    session = f"Spk{config.speaker}_Block1-Initial"
    splits = splits or SplitRanges()
    record_settings(out / "recipe.json", {
        "corpus": str(Path(corpus).resolve()), "config": dataclasses.asdict(config), "splits": dataclasses.asdict(splits),
        "noise_train": [str(n) for n in noise_train], "noise_test": [str(n) for n in noise_test],
    })  # fmt: skip
    if stage(f"prepare {session}", (out / "prepared").is_dir()):
        prepare_csl_emg_array(corpus, session, out / "prepared", splits=splits, progress=progress)
    mix_and_train(out, noise_train, noise_test, config, systems, max_minutes, progress)
    source = read_json(out / "prepared" / "corpus.json").get("source", "")
    simulated = (Path(corpus) / "simulation.json").is_file()
    notes = [f"CSL-EMG_Array protocol, speaker {config.speaker} ({session}); source {source}."]
    if simulated:
        notes.insert(0, SIMULATED_NOTE)
    return enhance_score_report(out, systems, f"EMGSE paper protocol, {session}", notes, config.jobs, progress)


# SEMamba-EMG (Feng, Xu, Das, arXiv 2501.06530), Gaddy & Klein voiced data, the 18 EMGSE test noises at
# -11/-6/-1/4 dB (mismatched with training): (PESQ, STOI) averaged over the four SNRs.
SEMAMBA_EMG_PUBLISHED = {"noisy": (1.188, 0.685), "audio-only": (2.118, 0.860), "fusion": (2.606, 0.913)}


@dataclass(frozen=True)
class GaddyConfig(ProtocolConfig):
    """The Gaddy & Klein protocol of SEMamba-EMG: voiced parallel data (8 channels at 1 kHz), the
    corpus's train/validation/test split, training noises at -10..10 dB, the EMGSE test noises at
    the paper's test SNRs (:data:`emgse.protocol.TEST_SNRS_DB`); audio-only against fusion under the same training settings.

    ``per_utterance``: training noises drawn per utterance and SNR (1: five mixtures per utterance;
    the paper recipe's 5 would write 25 per utterance of a corpus many times larger than one
    CSL-EMG_Array session).
    """

    audio: str = "clean"  # enhancement target: clean (<i>_audio_clean.flac) or raw (<i>_audio.flac)
    nonparallel: bool = True
    per_utterance: int = 1
    systems: tuple[str, ...] = ("audio", "emgse", "emg-alone")


@holding_out
def run_gaddy_recipe(
    corpus: str | Path,
    noise_train: list[str],
    noise_test: list[str],
    out: str | Path,
    config: GaddyConfig = GaddyConfig(),
    *,
    split_file: str | Path = "auto",
    max_minutes: float | None = None,
    progress: bool = True,
) -> list[dict]:
    """SEMamba-EMG's Gaddy & Klein protocol, resumable stage by stage like :func:`run_paper_recipe`.

    ``split_file``: the corpus's ``testset_largedev.json`` (``"auto"`` finds it beside ``emg_data``;
    without it sentences are split at random). ``config.systems`` are registered model names
    trained on all 8 channels (``audio`` is the audio-only baseline) or ``emg-alone``
    (:data:`EMG_ALONE`: speech from the EMG alone, the silent-speech limit).
    """
    from emgse.corpora.gaddy import prepare_gaddy
    from emgse.models import MODELS

    out = Path(out)
    unknown = [s for s in config.systems if s not in MODELS and s != EMG_ALONE.name]
    if unknown:
        raise EmgseError(f"unknown system(s) {', '.join(unknown)} (known: {EMG_ALONE.name}, the models {', '.join(MODELS)})")
    systems = [EMG_ALONE if s == EMG_ALONE.name else System(s, s) for s in config.systems]
    out.mkdir(parents=True, exist_ok=True)
    record_settings(out / "recipe.json", {
        "recipe": "gaddy", "corpus": str(Path(corpus).resolve()), "split_file": str(split_file), "config": dataclasses.asdict(config),
        "noise_train": [str(n) for n in noise_train], "noise_test": [str(n) for n in noise_test],
    })  # fmt: skip
    if stage("prepare gaddy", (out / "prepared").is_dir()):
        prepare_gaddy(corpus, out / "prepared", split_file=split_file, audio=config.audio, nonparallel=config.nonparallel, seed=config.seed,
                      progress=progress)
    meta = read_json(out / "prepared" / "corpus.json")
    mix_and_train(out, noise_train, noise_test, config, systems, max_minutes, progress)
    counts = meta.get("utterances", {})
    split = f"split from {Path(meta['split_file']).name}" if meta.get("split_file") else f"random sentence split (seed {meta.get('split_seed')})"
    published = ", ".join(f"{k} {p:.3f} / {s:.3f}" for k, (p, s) in SEMAMBA_EMG_PUBLISHED.items())
    notes = [
        f"Gaddy & Klein corpus, real EMG (8 channels at 1000 Hz); {split}: {counts.get('train', 0)} train / {counts.get('val', 0)} validation / "
        f"{counts.get('test', 0)} test utterances; target {meta.get('audio_target')}.",
        f"Compare with SEMamba-EMG (arXiv 2501.06530), same corpus and test noises, PESQ / STOI averaged over -11/-6/-1/4 dB: {published}.",
    ]
    return enhance_score_report(out, systems, "SEMamba-EMG protocol on the Gaddy & Klein corpus", notes, config.jobs, progress)
