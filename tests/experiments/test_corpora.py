"""The recipes on real corpora (:mod:`emgse.experiments.corpora`) at tiny scale: the paper's on a
simulated corpus in CSL layout, SEMamba-EMG's on a format-faithful Gaddy & Klein corpus."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from emgse.corpora.csl_emg_array import SplitRanges
from emgse.corpora.simulated.config import SimulationConfig
from emgse.corpora.simulated.writer import simulate_corpus
from emgse.errors import EmgseError
from emgse.experiments import DemoConfig, PaperConfig, record_settings, run_demo, run_paper_recipe
from tests.experiments import BASELINES, read_scores


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
    for config, why in ((GaddyConfig(train_snrs_db=(0.0,)), r"config\.train_snrs_db \[-10\.0, -5\.0, 0\.0, 5\.0, 10\.0\] -> \[0\.0\]"),
                        (GaddyConfig(lr=1e-3), r"config\.lr 0\.0001 -> 0\.001"),
                        (GaddyConfig(audio="raw"), r"config\.audio 'clean' -> 'raw'")):
        with pytest.raises(EmgseError, match=rf"recipe\.json: this folder holds a run with other settings \({why}\)"):
            run_gaddy_recipe(tmp_path / "nocorpus", ["white"], ["white"], out, config, progress=False)
        assert json.loads((out / "recipe.json").read_text()) == recorded  # not overwritten
    # jobs and systems may change
    with pytest.raises(EmgseError) as err:
        run_gaddy_recipe(tmp_path / "nocorpus", ["white"], ["white"], out, GaddyConfig(jobs=1, systems=("audio",)), progress=False)
    assert "other settings" not in str(err.value)
