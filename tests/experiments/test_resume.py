"""The demo always resumes (docs/errors.md, partial outputs): the on-disk state a kill leaves at a
stage boundary or inside a checkpoint write, then a rerun that finishes with the same numbers, redoes no finished stage and
removes what the killed run left."""

from __future__ import annotations

import os

from emgse.baselines import available_baselines
from emgse.cli import build_parser
from emgse.experiments import SessionConfig, run_session_demo
from emgse.files import lock_path
from tests.scoring.test_scoring import write_pairs

DEAD = 999_999_999  # no such process


def _mtimes(out, *names):
    return {n: (out / n).stat().st_mtime_ns for n in names}


def test_a_killed_demo_resumes_and_finishes_with_the_same_numbers(tmp_path, capsys):
    cfg = SessionConfig(utterances=7, test=2, val=1, steps=2, epochs=1, batch_size=4, crop_s=0.5, test_snrs_db=(-11.0, 4.0),
                        noises_per_test=1, jobs=1)
    out = tmp_path / "demo"
    pairs = write_pairs(tmp_path / "pairs", rates=(16000,))
    run_session_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    scores = (out / "scores" / "scores.csv").read_text()
    pair_scores = (out / "real-speech" / "pair_scores.csv").read_text()
    cached = ("scores/scores.csv", "real-speech/pair_scores.csv", "runs/emgse-mask/best.pt")

    # a rerun of a finished demo redoes nothing: not the scoring, not the real-speech stage
    before = _mtimes(out, *cached)
    capsys.readouterr()
    run_session_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    assert _mtimes(out, *cached) == before
    scored = ", ".join(["audio-mask", "emgse-mask", *available_baselines()])  # the installed baselines are scored too
    assert f"score noisy + {scored}: done already" in capsys.readouterr().out

    # killed inside emgse-mask's first checkpoint write (best.pt written, last.pt not: a 0-byte
    # temporary file instead), after audio-mask's last epoch but before its summary.json, with an
    # older stage's work folders, an old-style temporary file and the lock left behind
    run = out / "runs" / "emgse-mask"
    for name in ("last.pt", "summary.json", "log.csv"):
        (run / name).unlink()
    (run / f".last.partial-{DEAD}-k1.pt").write_bytes(b"")
    (run / ".last.a1b2c3.partial.pt").write_bytes(b"")
    (out / "runs" / "audio-mask" / "summary.json").unlink()
    for name in ("enhanced", "scores", "real-speech"):
        os.rename(out / name, out / f"{name}.partial-{DEAD}-k2")  # as a kill mid-stage leaves them
    (out / "report.html").unlink()
    lock_path(out).write_text(f"{DEAD} {os.uname().nodename} 2025-01-01 00:00:00\n")

    run_session_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    assert (out / "scores" / "scores.csv").read_text() == scores  # the same numbers
    assert (out / "real-speech" / "pair_scores.csv").read_text() == pair_scores
    assert (out / "runs" / "audio-mask" / "summary.json").is_file() and (run / "summary.json").is_file()
    assert not [p for p in out.rglob("*") if ".partial" in p.name]  # every stale work folder and file removed
    assert not lock_path(out).exists()


def test_clean_partial_is_accepted_wherever_it_is_advised():
    """Every command that writes an --out (the demo and the recipes included) takes --clean-partial."""
    parser = build_parser()
    for args in (["demo", "--out", "o"], ["recipe", "paper", "--corpus", "c", "--noise-train", "n", "--noise-test", "n", "--out", "o"],
                 ["recipe", "gaddy", "--corpus", "c", "--noise-train", "n", "--noise-test", "n", "--out", "o"],
                 ["train", "--out", "o"], ["mix", "--data", "d", "--noise", "white", "--snr", "0", "--out", "o"],
                 ["enhance", "--folder", "f", "--out", "o"], ["evaluate", "--mixtures", "m", "--out", "o"]):
        assert parser.parse_args([*args, "--clean-partial"]).clean_partial
