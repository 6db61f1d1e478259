"""Tiny-scale runs of the demo and of the paper recipe (on a simulated corpus in CSL layout)."""

import csv
import subprocess
import sys

from emgse.corpora.simulated.config import SimulationConfig
from emgse.corpora.simulated.writer import simulate_corpus
from emgse.recipes import DemoConfig, run_demo


def read_scores(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_demo_tiny(tmp_path):
    cfg = DemoConfig(
        speakers=3, utterances=6, test=1, val=1, test_snrs=(-6.0, 4.0), test_noises=("pink", "talker"), train_noises=("white", "brown"),
        epochs=1, jobs=1,
    )
    out = tmp_path / "demo"
    run_demo(out, cfg, progress=False)
    rows = read_scores(out / "scores" / "scores.csv")
    assert {r["system"] for r in rows} == {"noisy", "audio", "emgse"}
    assert len(rows) == 3 * 2 * 2 * 2  # systems x noises x SNRs x the 2 utterances of the one test speaker
    assert {r["utt_id"].split("_")[0] for r in rows} == {"Spk1"}  # speaker-disjoint: only the test speaker
    assert list(rows[0])[:8] == ["system", "utt_id", "noise", "snr_db", "pesq", "stoi", "estoi", "si_sdr"]
    html = (out / "report.html").read_text()
    assert "SIMULATED EMG" in html and "<audio" in html
    for name in ("audio", "emgse"):
        assert (out / "runs" / name / "best.pt").is_file()
    # a second run finds every stage complete
    before = (out / "scores" / "scores.csv").stat().st_mtime_ns
    run_demo(out, cfg, progress=False)
    assert (out / "runs" / "emgse" / "log.csv").read_text().count("\n") == 2  # header + the one epoch, not retrained
    assert (out / "scores" / "scores.csv").stat().st_mtime_ns >= before


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
    assert {r["system"] for r in rows} == {"noisy", "audio", "emgse-cheek"}
    assert {r["noise"] for r in rows} == {"talker", "pink"}  # generated pink added as the paper's 18th noise
    assert {float(r["snr_db"]) for r in rows} == {-11.0, -6.0, -1.0, 4.0}
    import torch

    ckpt = torch.load(out / "runs" / "emgse-cheek" / "best.pt", weights_only=True)
    assert len(ckpt["channels"]) == 28
    assert "Spk2_Block1-Initial" in (out / "prepared" / "corpus.json").read_text()
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0 and "done already, skipped" in r2.stdout
