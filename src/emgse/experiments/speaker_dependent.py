"""``emgse demo`` (the default) and the speaker-dependent benchmarks: the paper's protocol on a
simulated session -- test, validation and training utterances of the same speaker, every model
trained on mixtures drawn on the fly from the pretrained audio path, the EMG gain printed per SNR."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from emgse.config import EmgConfig, MixConfig
from emgse.experiments.stages import (
    SIMULATED_NOTE,
    System,
    announce_data,
    check_finished_run,
    enhance_score_report,
    finish_demo,
    holding_out,
    paper_test_bank,
    real_speech_systems,
    record_settings,
    stage,
)
from emgse.protocol import (
    SESSION_TEST_UTTERANCES,
    SESSION_VAL_UTTERANCES,
    TEST_SNRS_DB,
    TRAIN_SNR_RANGE_DB,
)
from emgse.resources import PRETRAINED_NAME, data_folder


@dataclass(frozen=True)
class SessionConfig:
    """A speaker-dependent experiment (the paper's protocol), as ``emgse demo`` runs it by default.

    Each simulated speaker's session is split as CSL-EMG_Array's is: utterances ``1..test`` test,
    the next ``val`` validate, the rest train (the same speakers; the test utterances unseen). Every
    model trains on mixtures drawn on the fly at SNRs uniform in ``train_snr_range_db`` (the paper's
    -10...10 dB) for ``epochs`` x ``steps`` steps of ``batch_size`` crops of ``crop_s`` (a budget in
    steps, the same for every model), the EMG z-scored with the training statistics; the mask
    family starts from the shipped pretrained audio path (``init_from``), so the fusion model learns
    what the EMG adds. Noise: the paper's (``noise/{train,test}`` under the data root,
    :func:`session_noises`) when present, else the generated banks below. The defaults are the demo's (about 10 minutes on 2 cores).
    """

    speakers: int = 1
    utterances: int = 100  # per speaker
    test: int = SESSION_TEST_UTTERANCES
    val: int = SESSION_VAL_UTTERANCES
    train_snr_range_db: tuple[float, float] = TRAIN_SNR_RANGE_DB
    test_snrs_db: tuple[float, ...] = TEST_SNRS_DB
    train_noises: tuple[str, ...] = ("white", "brown", "blue", "hum", "talker")
    test_noises: tuple[str, ...] = ("pink", "babble", "violet", "clicks")
    noises_per_test: int = 2  # test noises per utterance and SNR
    steps: int = 200  # per epoch, of batch_size crops of crop_s (16 x 200 beat 32 x 100 at the same compute: +0.021 vs +0.018 ESTOI at -11 dB)
    epochs: int = 2
    batch_size: int = 16
    crop_s: float = 2.0
    lr: float = 5e-4
    init_from: str | None = PRETRAINED_NAME
    seed: int = 11
    jobs: int = 2

    def __post_init__(self) -> None:
        if self.test < 1 or self.val < 1 or self.utterances <= self.test + self.val:
            raise ValueError(f"{self.utterances} utterances per speaker leave none to train on after {self.test} test and {self.val} validation")

    def budget(self) -> str:
        """The training budget in words, for tables and reports."""
        return (f"{self.epochs} x {self.steps} steps of {self.batch_size} x {self.crop_s:g} s crops drawn on the fly, "
                f"SNR {self.train_snr_range_db[0]:g}...{self.train_snr_range_db[1]:g} dB, lr {self.lr:g} cosine")

    def protocol(self) -> str:
        """The protocol in words: who is tested on what."""
        return (f"speaker-dependent (the paper's protocol): {self.speakers} simulated speaker(s) x {self.utterances} utterances, "
                f"each session split as CSL-EMG_Array's: utterances 1-{self.test} test, {self.test + 1}-{self.test + self.val} "
                "validation, the rest training (the test utterances are unseen, the speakers are not)")


# the mask family warm-starts from the shipped pretrained audio path (same-named, same-shaped weights)
PRETRAINED_FAMILY = ("audio-mask", "emgse-mask")


# what a finished speaker-dependent demo removes (regenerated from the seed when a model must train again)
# the demo's pair: the audio-only model and its fusion twin, both from the pretrained audio path
SESSION_DEMO_SYSTEMS = (System("audio-mask", "audio-mask"), System("emgse-mask", "emgse-mask"))
SESSION_INTERMEDIATE = ("corpus", "prepared-train")


def session_noises(config: SessionConfig, data_root: str | Path | None = None) -> tuple[list[str], list[str]]:
    """The training and test noise sources of a session experiment: the paper's noises
    (``noise/{train,test}`` under ``data_root``, else under ``EMGSE_DATA``:
    :func:`emgse.resources.data_folder`) when present, else ``config``'s generated banks."""
    paper_train, paper_test = data_folder("noise", "train", root=data_root), data_folder("noise", "test", root=data_root)
    return ([str(paper_train)] if paper_train else list(config.train_noises), [str(paper_test)] if paper_test else list(config.test_noises))


def build_session(out: Path, config: SessionConfig, *, training: bool = True, progress: bool = True,
                  noise_test: list[str] | None = None) -> None:
    """Simulate and prepare a session experiment into ``out`` (each stage skipped when done):
    ``OUT/prepared`` holds the test utterances, ``OUT/prepared-train`` the training and validation
    ones (built only when ``training``: a model still has to train), ``OUT/mix-test`` the test
    mixtures (``noises_per_test`` of the test noises per utterance and SNR; ``noise_test``, default
    :func:`session_noises`)."""
    from emgse.corpora.csl_emg_array import SplitRanges, prepare_csl_emg_array
    from emgse.corpora.simulated.config import SimulationConfig
    from emgse.corpora.simulated.writer import simulate_corpus
    from emgse.mixing import mix_corpus

    test = [(1, config.test)]
    learn = {"val": [(config.test + 1, config.test + config.val)], "train": [(config.test + config.val + 1, 9999)]}
    need_train = training and not (out / "prepared-train").is_dir()
    needed = need_train or not (out / "prepared").is_dir()
    if stage("simulate", (out / "corpus").is_dir() or not needed):
        simulate_corpus(out / "corpus", SimulationConfig(speakers=config.speakers, utterances=config.utterances, seed=config.seed))
    if stage(f"prepare test (utterances 1-{config.test} of each session)", (out / "prepared").is_dir()):
        prepare_csl_emg_array(out / "corpus", "all", out / "prepared", splits=SplitRanges(test=test, val=[], train=[]), progress=progress)
    if stage(f"prepare train/val (utterances {config.test + 1}+ of the same sessions)", not need_train):
        prepare_csl_emg_array(out / "corpus", "all", out / "prepared-train", splits=SplitRanges(test=[], **learn), progress=progress)
    if stage("mix test", (out / "mix-test").is_dir()):
        bank = paper_test_bank(noise_test or session_noises(config)[1], progress)
        mix = MixConfig(snrs_db=config.test_snrs_db, per_utterance=min(config.noises_per_test, len(bank)), seed=config.seed + 1)
        mix_corpus(out / "prepared", ["test"], bank, mix, out / "mix-test", progress=progress)


def session_trained(out: Path, systems: list[System]) -> bool:
    """Whether every system of a session experiment in ``out`` finished training."""
    return all((out / "runs" / s.name / "summary.json").is_file() for s in systems)


def train_session_system(out: Path, system: System, config: SessionConfig, *, emg_config: EmgConfig = EmgConfig(normalization="zscore"),
                         progress: bool = True, noise: list[str] | None = None) -> dict:
    """Train ``system`` on the fly from ``OUT/prepared-train`` under ``config``'s budget into
    ``OUT/runs/<name>`` (skipped when finished; resumed from ``last.pt``); returns its summary.
    The mask family (:data:`PRETRAINED_FAMILY`) starts from ``config.init_from``, others from scratch.
    ``noise``: the training noise sources (default: :func:`session_noises`)."""
    from emgse.sampler import SamplerConfig
    from emgse.training import TrainConfig, train_from_sources

    run = out / "runs" / system.name
    init = config.init_from if system.model in PRETRAINED_FAMILY else None
    base = {"batch_size": config.batch_size, "lr": config.lr, "max_epochs": config.epochs, "patience": config.epochs, "seed": config.seed,
            "loss": "compressed", "lr_schedule": "cosine", "init_from": init}
    if not stage(f"train {system.name} (on the fly, from {init or 'scratch'}, EMG {system.channels})", (run / "summary.json").is_file()):
        check_finished_run(run, system, base)
        return json.loads((run / "summary.json").read_text())
    sampler = SamplerConfig(crop_s=config.crop_s, snr_range_db=config.train_snr_range_db, steps_per_epoch=config.steps, val_crops=2 * config.batch_size)
    return train_from_sources(run, TrainConfig(model=system.model, **base), noise=noise or session_noises(config)[0], data=out / "prepared-train",
                              emg_config=dataclasses.replace(emg_config, channels=system.channels), sampler_config=sampler,
                              resume=True, progress=progress)  # from last.pt, or afresh when a kill came before it


@holding_out
def run_session_demo(out: str | Path, config: SessionConfig = SessionConfig(), *, progress: bool = True,
                     real_pairs: str | Path | None = None, keep_intermediate: bool = False,
                     data_root: str | Path | None = None) -> list[dict]:
    """``emgse demo``: the main job in the paper's protocol (:class:`SessionConfig`): simulate,
    prepare speaker-dependently, train ``audio-mask`` and ``emgse-mask`` on the fly from the
    pretrained audio path, enhance, score at the test SNRs, write ``scores/`` and ``report.html``
    (its "Fusion gain over audio-only" section is the EMG gain per SNR with a 95% interval), print
    that gain, and score the models on real recordings (``real_pairs``, else the VoiceBank-DEMAND
    pairs under the data root when present; evaluation only). A finished demo removes :data:`SESSION_INTERMEDIATE` and the
    runs' ``last.pt`` unless ``keep_intermediate``.

    ``data_root``: where the paper's noises and the real pairs are read from (else ``EMGSE_DATA``,
    else generated noises and no real-speech section: :func:`emgse.resources.data_folder`); printed
    and recorded in ``OUT/demo.json``."""
    from emgse.scoring import NO_HARM, fusion_gain_table, real_speech_section

    out = Path(out)
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    noise_train, noise_test = session_noises(config, data_root)
    paper_noise = noise_train != list(config.train_noises)
    record_settings(out / "demo.json", {"protocol": "speaker-dependent", "config": dataclasses.asdict(config),
                                        "data_root": announce_data(data_root, found=paper_noise)})
    systems = list(SESSION_DEMO_SYSTEMS)
    build_session(out, config, training=not session_trained(out, systems), progress=progress, noise_test=noise_test)
    for system in systems:
        train_session_system(out, system, config, progress=progress, noise=noise_train)
    stage("real speech (evaluation only)", False)
    heard = real_speech_systems(out, systems)
    real = real_speech_section(heard, out / "real-speech", real_pairs, jobs=config.jobs, progress=progress, target=NO_HARM, reuse=True,
                               data_root=data_root)
    scores = enhance_score_report(
        out, systems, "emgse demo, the paper's protocol (simulated corpus, speaker-dependent)",
        [SIMULATED_NOTE, f"Protocol: {config.protocol()}. Both models trained on the fly ({config.budget()}) from "
         f"{config.init_from or 'scratch'}; EMG z-scored with the training statistics; noises: "
         f"{'the paper' + chr(39) + 's' if paper_noise else 'generated'}, test noises unseen in training."],
        config.jobs, progress, [real] if real else [],
    )
    gains = fusion_gain_table(scores, [(systems[1].name, systems[0].name)])
    if gains is not None:  # the EMG's share: fusion minus its audio-only twin, per SNR, with 95% intervals
        print(f"\n{gains.markdown()}")
    if real:
        print(f"\n## {real[0]}\n\n{real[1]}")
    finish_demo(out, started, None if keep_intermediate else SESSION_INTERMEDIATE)
    return scores
