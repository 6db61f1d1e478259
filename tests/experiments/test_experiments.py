"""Tiny-scale runs of the demo and of the paper recipe (on a simulated corpus in CSL layout)."""

import csv
import dataclasses
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from emgse.baselines import available_baselines
from emgse.checkpoint import read_checkpoint
from emgse.corpora.csl_emg_array import SplitRanges
from emgse.corpora.simulated.config import SimulationConfig
from emgse.corpora.simulated.writer import simulate_corpus
from emgse.errors import EmgseError
from emgse.experiments import (
    DEMO_INTERMEDIATE,
    RECORDED_PREFIX,
    DemoConfig,
    PaperConfig,
    demo_systems,
    record_settings,
    run_demo,
    run_paper_recipe,
)
from emgse.files import read_json
from emgse.resources import SPEECH_SUBSET, speech_folder
from tests.corpora.test_speech_corpus import SHARED_SPEECH, _say
from tests.scoring.test_scoring import write_pairs

BASELINES = available_baselines()  # every table adds the installed baselines (none where only .[dev] is installed)


def read_scores(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_demo_tiny(tmp_path):
    speech = tmp_path / "speech"  # recorded speech for training: two speakers of the train half, MFA layout
    for spk, voice in (("a1", "en-us+m3"), ("a2", "en-us+f2")):
        for k, text in enumerate(("Peter moved the yellow bottle.", "Anna found a purple kettle.")):
            _say(speech / "train" / spk / f"{spk}_{k}.flac", text, voice)
            (speech / "train" / spk / f"{spk}_{k}.txt").write_text(text.upper() + "\n")
    cfg = DemoConfig(
        speakers=3, utterances=6, test=1, val=1, test_snrs=(-6.0, 4.0), test_noises=("pink", "talker"), train_noises=("white", "brown"),
        epochs=1, jobs=1, speech=str(speech),
    )
    out = tmp_path / "demo"
    pairs = write_pairs(tmp_path / "pairs", rates=(8000,))  # real-speech section from a tiny pairs folder
    run_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    # the recorded speakers join training and validation (speaker-disjoint), never the test set
    mixed = {r["utt_id"] for r in read_scores(out / "mix-train" / "mixtures.csv")}
    recorded = {u for u in mixed if u.startswith(RECORDED_PREFIX)}
    assert len(recorded) == 4 and len(mixed - recorded) == 4  # 2 recorded speakers x 2; eSpeak: 2 train/val speakers x 2
    assert {r["split"] for r in read_scores(out / "mix-train" / "mixtures.csv") if r["utt_id"] in recorded} == {"train", "val"}
    rows = read_scores(out / "scores" / "scores.csv")
    assert {r["system"] for r in rows} == {"noisy", "audio-mask", "emgse-mask", *BASELINES}  # the default family: bounded masks
    assert len(rows) == (3 + len(BASELINES)) * 2 * 2 * 2  # systems x noises x SNRs x the 2 utterances of the one test speaker
    assert {r["utt_id"].split("_")[0] for r in rows} == {"Spk1"}  # speaker-disjoint: only the test speaker
    assert list(rows[0])[:8] == ["system", "utt_id", "noise", "snr_db", "pesq", "stoi", "estoi", "si_sdr"]
    html = (out / "report.html").read_text()
    assert "SIMULATED EMG" in html and "<audio" in html
    assert "<h2>Fusion gain over audio-only</h2>" in html and "<td>emgse-mask - audio-mask</td>" in html  # one utterance: no interval
    assert "<h2>Real speech (pairs, real recordings)</h2>" in html and "<td>emgse-mask</td><td>1</td>" in html
    assert "Target: does no harm to real recordings" in html  # each model judged (emgse.scoring.NO_HARM)
    assert [r["system"] for r in read_scores(out / "real-speech" / "pair_scores.csv")] == ["noisy", "pretrained", "audio-mask", "emgse-mask", *BASELINES]
    for name in ("audio-mask", "emgse-mask"):
        assert (out / "runs" / name / "best.pt").is_file()
        assert read_checkpoint(out / "runs" / name / "best.pt")["train_config"]["loss"] == "compressed"  # the demo's loss
    # a second run finds every stage complete, then removes the intermediate data (recorded in removed.json)
    before = (out / "scores" / "scores.csv").stat().st_mtime_ns
    run_demo(out, cfg, progress=False, real_pairs=pairs)
    assert (out / "runs" / "emgse-mask" / "log.csv").read_text().count("\n") == 2  # header + the one epoch, not retrained
    assert (out / "scores" / "scores.csv").stat().st_mtime_ns >= before
    assert sorted(read_json(out / "removed.json")["removed"]) == sorted(DEMO_INTERMEDIATE)
    assert not any((out / name).exists() for name in DEMO_INTERMEDIATE) and not list(out.glob("runs/*/last.pt"))
    assert (out / "prepared" / "test").is_dir() and (out / "mix-test" / "mixtures.csv").is_file()
    run_demo(out, cfg, progress=False, real_pairs=pairs)  # and again: nothing regenerated that nothing needs
    assert not (out / "corpus").exists() and not (out / "mix-train").exists()
    # a model to train again brings back what training needs
    shutil.rmtree(out / "runs" / "audio-mask")
    run_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    assert (out / "runs" / "audio-mask" / "best.pt").is_file() and (out / "mix-train" / "mixtures.csv").is_file()
    assert (out / "runs" / "audio-mask" / "last.pt").is_file()  # kept this time


def test_demo_model_families():
    assert [s.model for s in demo_systems(DemoConfig())] == ["audio-mask", "emgse-mask"]
    assert [(s.name, s.channels) for s in demo_systems(DemoConfig(family="paper", cheek=True))] == [
        ("audio", "all"), ("emgse", "all"), ("emgse-cheek", "cheek")]
    assert [(s.name, s.channels) for s in demo_systems(DemoConfig(cheek=True))][-1] == ("emgse-mask-cheek", "cheek")
    with pytest.raises(ValueError, match="demo family must be one of"):
        DemoConfig(family="tcn")
    with pytest.raises(ValueError, match="demo loss must be one of l1, compressed"):
        DemoConfig(loss="l2")


def test_builtin_speech_subset_ships_with_the_package(tmp_path):
    from emgse.corpora.simulated.writer import find_recordings

    assert speech_folder("builtin") == SPEECH_SUBSET
    recordings = find_recordings([SPEECH_SUBSET])
    assert len(recordings) >= 50 and {r.part for r in recordings} == {"train"}  # the corpus's train half only
    assert all(r.path.suffix == ".flac" and r.path.with_suffix(".txt").is_file() for r in recordings)
    assert sum(p.stat().st_size for p in SPEECH_SUBSET.rglob("*") if p.is_file()) <= 10.5e6
    assert "Zhang" in (SPEECH_SUBSET / "NOTICE.md").read_text()
    with pytest.raises(EmgseError, match="speech folder not found"):
        speech_folder(tmp_path / "absent")
    if SHARED_SPEECH.is_dir():  # no test-half speaker is shipped (the test half is the development proxy)
        table = (SHARED_SPEECH / "utterances.tsv").read_text().splitlines()[1:]
        test_speakers = {f"SPEAKER{line.split(chr(9))[1]}" for line in table if line.startswith("test")}
        assert test_speakers and not test_speakers & {r.speaker.split("/")[-1] for r in recordings}


def test_paper_recipe_cli_on_simulated_csl_corpus(tmp_path):
    corpus = tmp_path / "sim"
    simulate_corpus(corpus, SimulationConfig(speakers=2, utterances=4, seed=3))
    out = tmp_path / "paper"
    cmd = [sys.executable, "-m", "emgse", "recipe", "paper", "--corpus", str(corpus), "--speaker", "2",
           "--noise-train", "white", "brown", "--noise-test", "talker", "--out", str(out), "--systems", "audio", "emgse-cheek",
           "--test", "1", "--val", "2", "--train", "3-", "--epochs", "1", "--jobs", "1", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = read_scores(out / "scores" / "scores.csv")
    assert {r["system"] for r in rows} == {"noisy", "audio", "emgse-cheek", *BASELINES}
    assert {r["noise"] for r in rows} == {"talker", "pink"}  # generated pink added as the paper's 18th noise
    assert {float(r["snr_db"]) for r in rows} == {-11.0, -6.0, -1.0, 4.0}
    import torch

    ckpt = torch.load(out / "runs" / "emgse-cheek" / "best.pt", weights_only=True)
    assert len(ckpt["channels"]) == 28
    assert "Spk2_Block1-Initial" in (out / "prepared" / "corpus.json").read_text()
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0 and "done already, skipped" in r2.stdout


def test_gaddy_recipe_cli_on_format_faithful_corpus(tmp_path):
    from tests.conftest import write_gaddy_corpus

    corpus = write_gaddy_corpus(tmp_path / "g", split_file=True)  # testset_largedev.json beside emg_data
    out = tmp_path / "gaddy"
    cmd = [sys.executable, "-m", "emgse", "recipe", "gaddy", "--corpus", str(corpus), "--noise-train", "white", "brown",
           "--noise-test", "talker", "--out", str(out), "--epochs", "1", "--jobs", "1", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    meta = json.loads((out / "prepared" / "corpus.json").read_text())
    assert meta["split_file"].endswith("testset_largedev.json") and meta["utterances"] == {"train": 6, "val": 1, "test": 2}
    assert (meta["emg_fs"], meta["emg_channels"], meta["audio_target"]) == (1000, 8, "<i>_audio_clean.flac")
    rows = read_scores(out / "scores" / "scores.csv")
    assert {r["system"] for r in rows} == {"noisy", "audio", "emgse", "emg-alone", *BASELINES}  # EMG alone: voiced, no microphone
    assert {r["noise"] for r in rows} == {"talker", "pink"}  # pink added as the 18th EMGSE test noise
    alone = {(r["utt_id"], r["snr_db"], r["noise"]): r["estoi"] for r in rows if r["system"] == "emg-alone"}
    assert len(set(alone.values())) == 2  # one output per test utterance, whatever the noise or SNR
    assert {float(r["snr_db"]) for r in rows} == {-11.0, -6.0, -1.0, 4.0}
    assert {r["utt_id"] for r in rows} == {"5-5_1", "5-5_2"}  # the test sentences of the split file
    train = {line.split(",")[0] for line in (out / "mix-train" / "mixtures.csv").read_text().splitlines()[1:]}
    assert "nonparallel_5-6_1" in train and "nonparallel_5-6_2" not in train  # a test sentence's voiced twin left out
    assert len((out / "mix-train" / "mixtures.csv").read_text().splitlines()) == 1 + 7 * 5  # one noise per utt and SNR
    import torch

    assert len(torch.load(out / "runs" / "emgse" / "best.pt", weights_only=True)["channels"]) == 8
    assert "SEMamba-EMG" in (out / "report.html").read_text()
    # silent speech: the corpus's mouthed EMG (silent_parallel_data) voiced by the recipe's EMG-alone model
    silent = subprocess.run([sys.executable, "-m", "emgse", "prepare", "gaddy", "--corpus", str(corpus), "--out", str(tmp_path / "p"),
                             "--silent"], capture_output=True, text=True, timeout=600)
    assert silent.returncode == 0, silent.stderr[-2000:]
    voiced = subprocess.run([sys.executable, "-m", "emgse", "voice", "--checkpoint", str(out / "runs" / "emg-alone" / "best.pt"),
                             "--folder", str(tmp_path / "p" / "silent" / "test"), "--out", str(tmp_path / "spoken"), "--quiet"],
                            capture_output=True, text=True, timeout=600)
    assert voiced.returncode == 0, voiced.stderr[-2000:]
    import soundfile as sf

    speech, fs = sf.read(tmp_path / "spoken" / "silent_5-4_3.wav")
    assert fs == 16000 and len(speech) == 800 * 16 and np.isfinite(speech).all()  # 0.8 s of EMG at 1000 Hz -> 0.8 s of speech
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0 and r2.stdout.count("done already, skipped") >= 5
    r3 = subprocess.run([*cmd, "--audio", "raw"], capture_output=True, text=True, timeout=600)
    assert r3.returncode == 2 and "other settings (config.audio 'clean' -> 'raw')" in r3.stderr


def test_resumed_recipe_with_other_settings_refuses(tmp_path):
    # the corpus is missing, so each run stops at "prepare" - after recipe.json is checked and written
    out = tmp_path / "paper"
    noise = ["white"]
    with pytest.raises(EmgseError, match="nocorpus: corpus folder not found"):
        run_paper_recipe(tmp_path / "nocorpus", noise, noise, out, PaperConfig(seed=0), progress=False)
    recorded = json.loads((out / "recipe.json").read_text())
    assert recorded["config"]["seed"] == 0 and recorded["splits"]["test"] == [[0, 40]]
    for config, splits, why in ((PaperConfig(seed=1), None, r"config\.seed 0 -> 1"),
                                (PaperConfig(speaker=6), None, r"config\.speaker 5 -> 6"),
                                (PaperConfig(), SplitRanges(test=[(1, 30)]), r"splits\.test \[\[0, 40\]\] -> \[\[1, 30\]\]")):
        with pytest.raises(EmgseError, match=rf"recipe\.json: this folder holds a run with other settings \({why}\)"):
            run_paper_recipe(tmp_path / "nocorpus", noise, noise, out, config, splits=splits, progress=False)
        assert json.loads((out / "recipe.json").read_text()) == recorded  # not overwritten
    with pytest.raises(EmgseError, match=r"noise_test \['white'\] -> \['pink'\]"):
        run_paper_recipe(tmp_path / "nocorpus", noise, ["pink"], out, progress=False)
    # jobs and systems may change (speed; which systems to add); the same settings resume
    with pytest.raises(EmgseError, match="nocorpus: corpus folder not found"):
        run_paper_recipe(tmp_path / "nocorpus", noise, noise, out, PaperConfig(jobs=1, systems=("audio",)), progress=False)
    # the demo the same way
    demo = tmp_path / "demo"
    demo.mkdir()
    record_settings(demo / "demo.json", {"config": dataclasses.asdict(DemoConfig()), "noise_train": None, "noise_test": None})
    with pytest.raises(EmgseError, match=r"demo\.json: .*config\.epochs 3 -> 5"):
        run_demo(demo, DemoConfig(epochs=5), progress=False)
    assert sorted(p.name for p in demo.iterdir()) == ["demo.json"]  # nothing run


def test_resumed_gaddy_recipe_with_other_settings_refuses(tmp_path):
    # the Gaddy recipe records and checks its settings by the same rule as the paper recipe and the demo
    from emgse.experiments import GaddyConfig, run_gaddy_recipe

    out = tmp_path / "gaddy"
    with pytest.raises(EmgseError):  # no corpus: stops at "prepare", after recipe.json is written
        run_gaddy_recipe(tmp_path / "nocorpus", ["white"], ["white"], out, GaddyConfig(), progress=False)
    recorded = json.loads((out / "recipe.json").read_text())
    for config, why in ((GaddyConfig(train_snrs=(0.0,)), r"config\.train_snrs \[-10\.0, -5\.0, 0\.0, 5\.0, 10\.0\] -> \[0\.0\]"),
                        (GaddyConfig(lr=1e-3), r"config\.lr 0\.0001 -> 0\.001"),
                        (GaddyConfig(audio="raw"), r"config\.audio 'clean' -> 'raw'")):
        with pytest.raises(EmgseError, match=rf"recipe\.json: this folder holds a run with other settings \({why}\)"):
            run_gaddy_recipe(tmp_path / "nocorpus", ["white"], ["white"], out, config, progress=False)
        assert json.loads((out / "recipe.json").read_text()) == recorded  # not overwritten
    # jobs and systems may change
    with pytest.raises(EmgseError) as err:
        run_gaddy_recipe(tmp_path / "nocorpus", ["white"], ["white"], out, GaddyConfig(jobs=1, systems=("audio",)), progress=False)
    assert "other settings" not in str(err.value)


def test_a_finished_run_with_other_training_settings_is_not_reused(tmp_path):
    """A recipe or benchmark folder reuses a finished run only when it was trained as now asked
    (its train_config.yaml; a run from before the loss setting counts as l1)."""
    from emgse.config import save_config
    from emgse.experiments import System, train_system
    from emgse.training import TrainConfig

    run = tmp_path / "runs" / "audio-mask"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"parameters": 7}))
    save_config(TrainConfig(model="audio-mask", lr=1e-3, max_epochs=4, loss="compressed"), run / "train_config.yaml")
    system = System("audio-mask", "audio-mask")
    base = {"lr": 1e-3, "max_epochs": 4, "seed": 0}
    assert train_system(system, tmp_path / "absent-mixtures", tmp_path, {**base, "loss": "compressed"}, None, False)["parameters"] == 7
    with pytest.raises(EmgseError, match=r"runs/audio-mask: finished with other settings \(loss 'compressed' -> 'l1'\)"):
        train_system(system, tmp_path / "absent-mixtures", tmp_path, {**base, "loss": "l1"}, None, False)
    with pytest.raises(EmgseError, match=r"model 'audio-mask' -> 'emgse-mask'; max_epochs 4 -> 3"):
        train_system(System("audio-mask", "emgse-mask"), tmp_path / "m", tmp_path, {**base, "max_epochs": 3}, None, False)
    text = (run / "train_config.yaml").read_text()
    (run / "train_config.yaml").write_text("".join(line + "\n" for line in text.splitlines() if not line.startswith("loss:")))
    assert train_system(system, tmp_path / "m", tmp_path, {**base, "loss": "l1"}, None, False)["parameters"] == 7  # old run: l1


def test_session_demo_is_speaker_dependent(tmp_path, capsys):
    """``emgse demo`` (the paper's protocol) on tiny settings: each session split as CSL-EMG_Array's
    (test, validation and training utterances of the same speaker), EMG z-scored with the training
    statistics, both models from the pretrained audio path, the EMG gain printed per SNR, the
    intermediate data removed at the end and a rerun that retrains nothing."""
    from emgse.experiments import SESSION_INTERMEDIATE, SessionConfig, run_session_demo

    cfg = SessionConfig(utterances=7, test=2, val=1, steps=2, epochs=1, batch_size=4, crop_s=0.5, test_snrs=(-11.0, 4.0),
                        noises_per_test=1, jobs=1)
    out = tmp_path / "demo"
    pairs = write_pairs(tmp_path / "pairs", rates=(16000,))
    run_session_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    ids = {s: sorted(p.name.split(".")[0] for p in (out / folder / s).glob("*.wav"))
           for folder, s in (("prepared", "test"), ("prepared-train", "val"), ("prepared-train", "train"))}
    assert ids == {"test": ["Spk1_Block1-Initial_0001", "Spk1_Block1-Initial_0002"], "val": ["Spk1_Block1-Initial_0003"],
                   "train": [f"Spk1_Block1-Initial_000{k}" for k in range(4, 8)]}
    assert not (out / "prepared" / "train").exists() and not (out / "prepared-train" / "test").exists()  # test data never in training
    for name in ("audio-mask", "emgse-mask"):
        ckpt = read_checkpoint(out / "runs" / name / "best.pt")
        assert ckpt["train_config"]["init_from"] == "pretrained" and ckpt["sampler_config"]["snr_range_db"] == [-10.0, 10.0]
        assert ckpt["sampler_config"]["steps_per_epoch"] == 2 and ckpt["train_config"]["batch_size"] == 4  # the budget in steps
    ckpt = read_checkpoint(out / "runs" / "emgse-mask" / "best.pt")
    assert ckpt["emg_config"]["normalization"] == "zscore" and ckpt["zscore"] is not None
    rows = read_scores(out / "scores" / "scores.csv")
    assert {r["system"] for r in rows} == {"noisy", "audio-mask", "emgse-mask", *BASELINES} and {float(r["snr_db"]) for r in rows} == {-11.0, 4.0}
    assert {r["utt_id"] for r in rows} == set(ids["test"])
    printed = capsys.readouterr().out
    assert "Fusion gain over the same-budget audio-only model" in printed and "| emgse-mask - audio-mask | ESTOI |" in printed
    assert [r["system"] for r in read_scores(out / "real-speech" / "pair_scores.csv")] == ["noisy", "pretrained", "audio-mask", "emgse-mask", *BASELINES]
    assert "speaker-dependent" in (out / "report.html").read_text()
    # a rerun without --keep-intermediate finds every stage done and removes the training-only data
    log = (out / "runs" / "emgse-mask" / "log.csv").read_text()
    run_session_demo(out, cfg, progress=False, real_pairs=pairs)
    assert (out / "runs" / "emgse-mask" / "log.csv").read_text() == log  # not retrained
    assert sorted(read_json(out / "removed.json")["removed"]) == sorted(SESSION_INTERMEDIATE)
    assert not any((out / n).exists() for n in SESSION_INTERMEDIATE) and not list(out.glob("runs/*/last.pt"))
    run_session_demo(out, cfg, progress=False, real_pairs=pairs)  # nothing regenerated that nothing needs
    assert not (out / "corpus").exists()
    shutil.rmtree(out / "runs" / "audio-mask")  # a model to train again brings back what training needs
    run_session_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    assert (out / "runs" / "audio-mask" / "best.pt").is_file() and (out / "prepared-train" / "train").is_dir()
