"""``emgse recipe emg-uka`` and ``emgse demo --real-emg`` on a tiny corpus in EMG-UKA's exact layout."""

from __future__ import annotations

import dataclasses

import soundfile as sf

from emgse.baselines import available_baselines
from emgse.checkpoint import read_checkpoint
from emgse.cli import main
from emgse.experiments import EMG_UKA_BUDGET, run_emg_uka_recipe
from emgse.files import read_json
from emgse.mixing import NoiseBank
from emgse.scoring import read_scores
from tests.conftest import write_emg_uka_corpus
from tests.scoring.test_scoring import write_pairs

LAYOUT = {("002", "101"): (["0100", "0101", "0102", "0103", "0104"], ["0200", "0201"]), ("004", "001"): (["0001", "0002"], ["0010"])}
TINY = dataclasses.replace(EMG_UKA_BUDGET, steps=2, epochs=1, batch_size=4, crop_s=0.5, test_snrs_db=(-11.0, 4.0), noises_per_test=2,
                           jobs=1)


def test_recipe_runs_the_protocol_on_the_corpus_split(tmp_path, capsys):
    corpus = write_emg_uka_corpus(tmp_path / "corpus", LAYOUT, seconds=1.0)
    out = tmp_path / "run"
    noises = (["white"], ["one_male_english", "street"])  # generated stand-ins: a talker noise and a non-speech one
    bank_dir = tmp_path / "test-noises"
    bank_dir.mkdir()
    for name, gen in zip(noises[1], ("babble", "brown"), strict=True):
        sf.write(bank_dir / f"{name}.wav", NoiseBank.from_sources([gen]).noises[0].signal, 16000)
    run_emg_uka_recipe(corpus, "002", "101", out, TINY, noise_train=noises[0], noise_test=[str(bank_dir)], progress=False)
    ids = {split: sorted(p.name.split(".")[0] for p in (out / folder / split).glob("*.wav"))
           for folder, split in (("prepared", "test"), ("prepared-train", "train"), ("prepared-train", "val"))}
    assert ids["test"] == ["002_101_0200", "002_101_0201"]  # the corpus's test list, nothing else
    assert len(ids["train"]) == 4 and len(ids["val"]) == 1 and not set(ids["train"]) & set(ids["test"])
    rows = read_scores(out / "scores" / "scores.csv")
    assert {r["system"] for r in rows} == {"noisy", "audio-mask", "emgse-mask", *available_baselines()}  # installed baselines too
    assert {r["utt_id"] for r in rows} == set(ids["test"]) and {float(r["snr_db"]) for r in rows} == {-11.0, 4.0}
    assert list(rows[0])[:8] == ["system", "utt_id", "noise", "snr_db", "pesq", "stoi", "estoi", "si_sdr"]
    ckpt = read_checkpoint(out / "runs" / "emgse-mask" / "best.pt")
    assert ckpt["train_config"]["init_from"] == "pretrained" and ckpt["emg_config"]["normalization"] == "zscore"
    printed = capsys.readouterr().out
    assert "| emgse-mask - audio-mask | ESTOI |" in printed
    assert "Fusion gain per noise category" in printed and "| competing talkers |" in printed and "| non-speech noise |" in printed
    assert "REAL EMG: EMG-UKA Trial Corpus" in printed
    html = (out / "report.html").read_text()
    assert "REAL EMG" in html and "SIMULATED" not in html and "Fusion gain per noise category" in html
    settings = read_json(out / "recipe.json")
    assert settings["speaker"] == "002" and settings["session"] == "101" and settings["noise_test"] == [str(bank_dir)]
    # a rerun finds every stage done: nothing retrained
    log = (out / "runs" / "emgse-mask" / "log.csv").read_text()
    run_emg_uka_recipe(corpus, "002", "101", out, TINY, noise_train=noises[0], noise_test=[str(bank_dir)], progress=False)
    assert (out / "runs" / "emgse-mask" / "log.csv").read_text() == log
    # other settings in the same folder are refused in one line
    assert main(["recipe", "emg-uka", "--corpus", str(corpus), "--out", str(out), "--steps", "3", "--quiet"]) == 2
    assert "holds a run with other settings" in capsys.readouterr().err


def test_demo_real_emg_and_its_option_checks(tmp_path, capsys):
    corpus = write_emg_uka_corpus(tmp_path / "corpus", {("004", "001"): (["0001", "0002"], ["0010"])}, seconds=2.2)  # the 2 s crops fit
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--real-emg", str(corpus), "--real-emg-session", "002", "--quiet"]) == 2
    assert "use SPEAKER/SESSION" in capsys.readouterr().err
    assert main(["demo", "--out", str(out), "--real-emg", str(corpus), "--protocol", "unseen-speakers", "--quiet"]) == 2
    assert "--real-emg runs the paper's speaker-dependent protocol" in capsys.readouterr().err
    assert main(["demo", "--out", str(out), "--real-emg", str(corpus), "--real-emg-session", "009/001", "--quiet"]) == 2
    assert "unknown speaker '009'" in capsys.readouterr().err
    pairs = write_pairs(tmp_path / "pairs", rates=(16000,))  # a tiny real-speech section, not the shared 25 pairs
    rc = main(["demo", "--out", str(out), "--real-emg", str(corpus), "--real-emg-session", "004/001", "--steps", "1", "--jobs", "1",
               "--real-pairs", str(pairs), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    assert read_json(out / "demo.json")["speaker"] == "004"
    assert {r["utt_id"] for r in read_scores(out / "scores" / "scores.csv")} == {"004_001_0010"}
    assert not (out / "prepared-train").exists() and not list(out.glob("runs/*/last.pt"))  # intermediate data removed
    html = (out / "report.html").read_text()
    assert "emgse demo on real EMG" in html and "Real speech (pairs, real recordings)" in html
    # a rerun redoes nothing: not the training, not the real-speech scores
    before = {f: (out / f).stat().st_mtime_ns for f in ("real-speech/pair_scores.csv", "runs/emgse-mask/best.pt", "scores/scores.csv")}
    assert main(["demo", "--out", str(out), "--real-emg", str(corpus), "--real-emg-session", "004/001", "--steps", "1", "--jobs", "1",
                 "--real-pairs", str(pairs), "--quiet"]) == 0
    assert {f: (out / f).stat().st_mtime_ns for f in before} == before


def test_unknown_recipe_system(tmp_path, capsys):
    corpus = write_emg_uka_corpus(tmp_path / "corpus", LAYOUT, seconds=1.0)
    assert main(["recipe", "emg-uka", "--corpus", str(corpus), "--out", str(tmp_path / "o"), "--systems", "wavenet", "--quiet"]) == 2
    assert "unknown system(s) wavenet" in capsys.readouterr().err


def test_silent_emg_is_scored_against_the_parallel_audible_recording(tmp_path, capsys):
    """--silent: emg-alone voices the silent test EMG, scored by DTW-MCD against the audible
    recording of the same sentence; the audible row is the same measure against its own recording."""
    import numpy as np

    from tests.conftest import write_emg_uka_utterance

    corpus = write_emg_uka_corpus(tmp_path / "corpus", {("004", "001"): (["0001", "0002"], ["0010", "0011"])}, seconds=2.2)
    rng = np.random.default_rng(4)
    for silent, audible in (("0210", "0010"), ("0211", "0011")):  # mouthed twins of the audible test sentences
        write_emg_uka_utterance(corpus, "004", "001", silent, rng, seconds=2.2)
        text = (corpus / "Transcripts/004/001" / f"transcript_004_001_{audible}.txt").read_text()
        (corpus / "Transcripts/004/001" / f"transcript_004_001_{silent}.txt").write_text(text.lower())
    (corpus / "Subsets" / "test.silent").write_text("emg_004-001: emg_004-001-0210 emg_004-001-0211\n")
    out = tmp_path / "run"
    assert main(["recipe", "emg-uka", "--corpus", str(corpus), "--speaker", "004", "--session", "001", "--out", str(out),
                 "--silent", "--quiet"]) == 2
    assert "add emg-alone to --systems" in capsys.readouterr().err
    cfg = dataclasses.replace(TINY, crop_s=2.0)
    run_emg_uka_recipe(corpus, "004", "001", out, cfg, systems=("emg-alone",), silent=True, noise_train=["white"], noise_test=["pink"],
                       progress=False)
    import csv

    with open(out / "scores" / "parallel.csv") as f:
        rows = [dict(r, mcd_db=float(r["mcd_db"])) for r in csv.DictReader(f)]
    assert sorted((r["mode"], r["utt_id"], r["reference"]) for r in rows) == [
        ("audible", "004_001_0010", "004_001_0010"), ("audible", "004_001_0011", "004_001_0011"),
        ("silent", "004_001_0210", "004_001_0010"), ("silent", "004_001_0211", "004_001_0011")]
    assert all(r["mcd_db"] > 0 for r in rows)
    printed = capsys.readouterr().out
    assert "DTW mel-cepstral distortion" in printed and "| silent | 2 |" in printed


def test_dtw_mcd_is_zero_on_itself_and_ignores_timing():
    import numpy as np

    from emgse.scoring.parallel import dtw_mcd

    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    speech = np.sin(2 * np.pi * (200 + 300 * t) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(t.size)
    assert dtw_mcd(speech, speech) == 0.0
    paused = np.concatenate([speech[:8000], 0.01 * rng.standard_normal(3200), speech[8000:]])  # other timing: a pause
    other = 0.3 * rng.standard_normal(t.size)
    assert dtw_mcd(speech, paused) < 0.25 * dtw_mcd(speech, other)
