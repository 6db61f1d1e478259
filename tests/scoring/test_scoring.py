"""Scoring a mixture set end to end: oracle and pass-through systems, errors, summaries."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from emgse.errors import EmgseError
from emgse.files import read_audio, write_wav
from emgse.mixing import noise_category, read_manifest
from emgse.scoring import (
    SCORE_COLUMNS,
    evaluate,
    read_scores,
    summarize,
    summary_markdown,
)
from emgse.synthetic import make_mixtures, speech_like, write_system

SNRS = (-5.0, 5.0)


@pytest.fixture(scope="module")
def mixset(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    mix = make_mixtures(root, snrs_db=SNRS)
    enh = root / "enh"
    write_system(mix, enh, "oracle", lambda noisy, ref: ref)
    write_system(mix, enh, "passthrough", lambda noisy, ref: noisy)
    return mix, enh


@pytest.fixture(scope="module")
def scored(mixset, tmp_path_factory) -> tuple[list[dict], Path]:
    mix, enh = mixset
    out = tmp_path_factory.mktemp("scores")
    return evaluate(mix, enh, None, out, jobs=2, progress=False), out


def test_scores_csv_layout_and_rows(mixset, scored):
    scores, out = scored
    with open(out / "scores.csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        lines = list(reader)
    assert header[:8] == ["system", "utt_id", "noise", "snr_db", "pesq", "stoi", "estoi", "si_sdr"]
    assert tuple(header) == SCORE_COLUMNS
    # 2 utterances x 2 noises x 2 SNRs, for noisy + 2 systems (found as folders, sorted)
    assert len(lines) == len(scores) == 3 * 8
    assert [s["system"] for s in scores[::8]] == ["noisy", "oracle", "passthrough"]
    back = read_scores(out / "scores.csv")
    for a, b in zip(scores, back, strict=True):
        for m in ("pesq", "stoi", "estoi", "si_sdr"):
            assert b[m] == pytest.approx(a[m], rel=1e-5)
    assert {s["category"] for s in scores} == {"speech", "nonspeech"}


def test_reference_is_gain_times_clean(scored):
    scores, _ = scored
    by_system = {name: [s for s in scores if s["system"] == name] for name in ("noisy", "oracle", "passthrough")}
    for s in by_system["oracle"]:
        assert s["si_sdr"] > 100 and s["stoi"] > 0.999 and s["pesq"] > 4.4
    # pass-through scores exactly like the noisy input, and its SI-SDR is close to the mixing SNR
    for a, b in zip(by_system["noisy"], by_system["passthrough"], strict=True):
        for m in ("pesq", "stoi", "estoi", "si_sdr"):
            assert b[m] == pytest.approx(a[m], abs=1e-9)  # equal up to BLAS rounding
        assert a["si_sdr"] == pytest.approx(a["snr_db"], abs=1.0)


def test_summaries_gain_and_files(scored):
    scores, out = scored
    for name in ("summary_overall.csv", "summary_snr.csv", "summary_noise.csv", "summary_category.csv", "summary.md", "evaluate.json"):
        assert (out / name).is_file(), name
    by_snr = summarize(scores, "snr_db")
    assert [r["snr_db"] for r in by_snr if r["system"] == "noisy"] == list(SNRS)
    for r in by_snr:
        assert r["n"] == 4
        if r["system"] == "passthrough":
            assert r["pesq_gain"] == pytest.approx(0.0, abs=1e-9) and r["stoi_gain"] == pytest.approx(0.0, abs=1e-9)
        if r["system"] == "oracle":
            assert r["pesq_gain"] > 1.0 and r["stoi_gain"] > 0.05 and r["si_sdr_gain"] > 50
    # noisy gets worse at lower SNR
    noisy = [r for r in by_snr if r["system"] == "noisy"]
    assert noisy[0]["stoi"] < noisy[1]["stoi"] and noisy[0]["pesq"] < noisy[1]["pesq"]
    with open(out / "summary_snr.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[:5] == ["system", "snr_db", "n", "pesq", "pesq_gain"]
    cats = summarize(scores, "category")
    assert [r["category"] for r in cats[::3]] == ["speech", "nonspeech"]
    md = (out / "summary.md").read_text()
    assert md == summary_markdown(scores)
    assert "| System | n | PESQ | STOI | ESTOI | SI-SDR (dB) |" in md
    assert "| System | -5 dB | 5 dB | speech | nonspeech | all |" in md
    assert "| Noise | Category | noisy | oracle | passthrough |" in md
    overall = summarize(scores)
    oracle = next(r for r in overall if r["system"] == "oracle")
    assert f"| oracle | 8 | {oracle['pesq']:.3f} ({oracle['pesq_gain']:+.3f}) |" in md


def test_parallel_equals_in_process(mixset, scored, tmp_path):
    mix, enh = mixset
    serial = evaluate(mix, enh, ["oracle"], tmp_path, jobs=1, limit=3, progress=False)
    assert [s["system"] for s in serial] == ["noisy"] * 3 + ["oracle"] * 3
    parallel = [s for s in scored[0] if s["system"] in ("noisy", "oracle")]
    parallel = [s for s in parallel if s["path"] in {x["path"] for x in serial}]
    for a, b in zip(serial, parallel, strict=True):
        assert a.keys() == b.keys()
        assert all(a[k] == pytest.approx(b[k], abs=1e-9) if isinstance(a[k], float) else a[k] == b[k] for k in a)


def test_noisy_only_without_enhanced(mixset, tmp_path):
    mix, _ = mixset
    scores = evaluate(mix, None, None, tmp_path, jobs=1, limit=2, progress=False)
    assert [s["system"] for s in scores] == ["noisy", "noisy"]
    assert all(math.isnan(r["pesq_gain"]) for r in summarize(scores))


def test_system_alone_without_noisy(mixset, scored, tmp_path):
    mix, enh = mixset
    alone = evaluate(mix, enh, ["passthrough"], tmp_path, jobs=1, limit=2, progress=False, score_noisy=False)
    assert [s["system"] for s in alone] == ["passthrough"] * 2
    kept = [s for s in scored[0] if s["system"] == "passthrough"][:2]
    assert [a["pesq"] for a in alone] == pytest.approx([k["pesq"] for k in kept], abs=1e-9)
    with pytest.raises(EmgseError, match="nothing to score"):
        evaluate(mix, None, None, tmp_path, jobs=1, score_noisy=False)


def test_nan_scores_are_left_out_and_counted(scored):
    scores = [dict(s) for s in scored[0]]
    target = next(s for s in scores if s["system"] == "oracle")
    target["pesq"] = float("nan")
    row = next(r for r in summarize(scores) if r["system"] == "oracle")
    finite = [s["pesq"] for s in scores if s["system"] == "oracle" and np.isfinite(s["pesq"])]
    assert row["pesq_nan"] == 1 and row["n"] == 8
    assert row["pesq"] == pytest.approx(np.mean(finite))
    assert "1 of 8 `oracle` scores undefined" in summary_markdown(scores)


def test_missing_and_wrong_length_outputs_are_one_line_errors(mixset, tmp_path):
    mix, enh = mixset
    broken = tmp_path / "enh"
    shutil.copytree(enh / "oracle", broken / "sys")
    rows = read_manifest(mix)
    victim = broken / "sys" / rows[1]["path"]
    victim.unlink()
    with pytest.raises(EmgseError, match=r"enhanced file not found") as e:
        evaluate(mix, broken, None, tmp_path / "out", jobs=1, progress=False)
    assert str(victim) in str(e.value) and "\n" not in str(e.value)
    audio, _ = read_audio(enh / "oracle" / rows[1]["path"])
    write_wav(victim, audio[:-10], 16000)
    for jobs in (1, 2):
        with pytest.raises(EmgseError, match=r"samples, expected") as e:
            evaluate(mix, broken, None, tmp_path / "out", jobs=jobs, progress=False)
        assert str(victim) in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(EmgseError, match="no folder for system 'nope'"):
        evaluate(mix, broken, ["nope"], tmp_path / "out", progress=False)
    with pytest.raises(EmgseError, match="no folder of enhanced outputs"):
        evaluate(mix, None, ["sys"], tmp_path / "out", progress=False)


def test_noise_category_from_an_explicit_list_not_substrings():
    speech = ["talker", "babble", "one_female_english", "two_male_one_female_chinese", "one_female_one_male_english"]
    # words inside a name decide nothing: speech-shaped noise is stationary noise
    nonspeech = ["speech_shaped_noise", "female", "babble_like_hum", "car_noise_idle_noise_60_mph", "pink", "white", "street"]
    assert [noise_category(n) for n in speech] == ["speech"] * len(speech)
    assert [noise_category(n) for n in nonspeech] == ["nonspeech"] * len(nonspeech)
    assert noise_category("cafe", speech=["cafe"]) == "speech"  # marked with emgse mix --speech-noise


# --------------------------------------------------------------------------- real recordings (--pairs)
def write_pairs(root: Path, rates=(16000, 8000, 16000), seconds: float = 1.5) -> Path:
    """DIR/clean/X.wav + DIR/noisy/X.wav: speech-like signals plus white noise, one pair per rate."""
    from emgse.features.resample import resample

    for i, fs in enumerate(rates):
        clean = resample(speech_like(seconds, seed=10 + i), 16000, fs)
        noise = np.random.default_rng(i).standard_normal(clean.size) * 0.03
        write_wav(root / "clean" / f"f{i}.wav", clean, fs)
        write_wav(root / "noisy" / f"f{i}.wav", clean + noise, fs)
    return root


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory):
    from tests.test_stream import make_checkpoint

    root = tmp_path_factory.mktemp("pairs")
    pairs = write_pairs(root / "pairs")
    ckpts = [make_checkpoint(root / "runs" / "audio" / "best.pt", "causal-audio"),
             make_checkpoint(root / "runs" / "emg" / "best.pt", "causal-emgse")]  # an EMG model, run with EMG absent
    from emgse.scoring import evaluate_pairs

    rows = evaluate_pairs(pairs, ckpts, root / "out", dnsmos=False, jobs=1, progress=False)
    return pairs, ckpts, root / "out", rows


def test_pairs_per_file_rows_means_and_outputs(pair_run):
    from emgse.scoring import read_pairs, summarize_pairs

    pairs, _, out, rows = pair_run
    assert [(r["system"], r["file"]) for r in rows] == [(s, f) for s in ("noisy", "audio", "emg") for f in ("f0", "f1", "f2")]
    with open(out / "pair_scores.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [(t["system"], t["file"]) for t in table] == [(r["system"], r["file"]) for r in rows]
    assert float(table[4]["estoi"]) == pytest.approx(rows[4]["estoi"], rel=1e-5)
    # the 8 kHz pair is scored at 16 kHz: noisy STOI is what the metric gives on the resampled pair
    pair = read_pairs(pairs)[1]
    from emgse.metrics import score_pair

    assert rows[1]["stoi"] == pytest.approx(score_pair(pair.clean, pair.noisy)["stoi"], abs=1e-9)
    for system in ("audio", "emg"):
        y, fs = read_audio(out / "enhanced" / system / "f1.wav")
        assert fs == 16000 and y.size == pair.noisy.size
    summary = {s["system"]: s for s in summarize_pairs(rows)}
    for system in ("noisy", "audio"):
        mine = [r for r in rows if r["system"] == system]
        assert summary[system]["n"] == 3
        assert summary[system]["pesq"] == pytest.approx(np.mean([r["pesq"] for r in mine]))
    noisy = [r for r in rows if r["system"] == "noisy"]
    audio = [r for r in rows if r["system"] == "audio"]
    assert summary["audio"]["worse_estoi"] == sum(a["estoi"] < n["estoi"] - 0.02 for a, n in zip(audio, noisy, strict=True))
    assert summary["audio"]["estoi_gain"] == pytest.approx(np.mean([a["estoi"] - n["estoi"] for a, n in zip(audio, noisy, strict=True)]))
    md = (out / "pair_summary.md").read_text()
    assert "| System | n | PESQ | STOI | ESTOI | SI-SDR (dB) | ESTOI worse by > 0.02 | PESQ lower |" in md
    assert f"| {summary['audio']['worse_estoi']} of 3 |" in md
    assert (out / "pair_summary.csv").is_file() and (out / "pairs.json").is_file()


def test_pair_worse_counts():
    from emgse.scoring import summarize_pairs

    base = [0.80, 0.70, 0.60, 0.50]
    deltas = [-0.03, -0.01, 0.05, -0.021]  # two fall by more than 0.02 ESTOI; three lose PESQ
    rows = [{"system": "noisy", "file": f"x{i}", "pesq": 2.0, "estoi": b} for i, b in enumerate(base)]
    rows += [{"system": "m", "file": f"x{i}", "pesq": 2.0 + np.sign(d), "estoi": b + d} for i, (b, d) in enumerate(zip(base, deltas, strict=True))]
    m = next(s for s in summarize_pairs(rows) if s["system"] == "m")
    assert m["worse_estoi"] == sum(d < -0.02 for d in deltas)
    assert m["lower_pesq"] == sum(d < 0 for d in deltas)
    assert m["estoi_gain"] == pytest.approx(np.mean(deltas))


def test_pair_errors_are_one_line(tmp_path, pair_run):
    from emgse.scoring import evaluate_pairs, read_pairs, system_names

    _, ckpts, _, _ = pair_run
    with pytest.raises(EmgseError, match="pairs folder not found"):
        read_pairs(tmp_path / "nope")
    (tmp_path / "empty" / "clean").mkdir(parents=True)
    with pytest.raises(EmgseError, match="noisy: folder not found"):
        read_pairs(tmp_path / "empty")
    (tmp_path / "empty" / "noisy").mkdir()
    with pytest.raises(EmgseError, match="no .wav files"):
        read_pairs(tmp_path / "empty")
    pairs = write_pairs(tmp_path / "p", rates=(16000, 16000))
    (pairs / "noisy" / "f1.wav").rename(pairs / "noisy" / "other.wav")
    with pytest.raises(EmgseError, match=r"f1\.wav: no noisy/f1\.wav to pair it with") as e:
        read_pairs(pairs)
    assert "\n" not in str(e.value)
    (pairs / "noisy" / "other.wav").unlink()
    (pairs / "clean" / "f1.wav").unlink()
    audio, _ = read_audio(pairs / "noisy" / "f0.wav")
    write_wav(pairs / "noisy" / "f0.wav", audio[:-100], 16000)
    with pytest.raises(EmgseError, match=r"noisy/f0\.wav: lasts .* but its clean file .* a pair must match"):
        evaluate_pairs(pairs, ckpts, tmp_path / "o", dnsmos=False, progress=False)
    assert not (tmp_path / "o").exists()  # nothing written before the inputs are checked
    assert system_names(["r/audio/best.pt", "r/emg/last.pt", "x/model.pt", "y/model.pt"]) == ["audio", "emg", "model", "model-2"]
    with pytest.raises(EmgseError, match="one per checkpoint"):
        system_names(["a.pt"], ["a", "b"])
    with pytest.raises(EmgseError, match="not 'noisy'"):
        system_names(["a.pt"], ["noisy"])


def test_cli_pairs_mode_with_dnsmos(pair_run, tmp_path, capsys):
    from emgse.cli import main

    pairs, ckpts, _, _ = pair_run
    small = tmp_path / "small"
    for sub in ("clean", "noisy"):
        (small / sub).mkdir(parents=True)
        shutil.copy(pairs / sub / "f1.wav", small / sub / "f1.wav")  # the 8 kHz pair
    assert main(["evaluate", "--pairs", str(small), "--checkpoint", str(ckpts[0]), "--system", "tiny", "--out", str(tmp_path / "o"),
                 "--jobs", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "| System | n | PESQ | STOI | ESTOI | SI-SDR (dB) | DNSMOS SIG | DNSMOS BAK | DNSMOS OVRL |" in printed
    assert "| tiny | 1 |" in printed
    with open(tmp_path / "o" / "pair_scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["system"] for r in rows] == ["noisy", "tiny"] and 1.0 < float(rows[1]["dnsmos_ovrl"]) < 5.0
    assert main(["evaluate", "--pairs", str(small), "--enhanced", str(tmp_path), "--out", str(tmp_path / "o2")]) == 2
    assert "--enhanced belongs to --mixtures mode" in capsys.readouterr().err
    # no --checkpoint: the shipped pretrained model is scored beside noisy
    assert main(["evaluate", "--pairs", str(small), "--out", str(tmp_path / "o3"), "--jobs", "1", "--quiet", "--no-dnsmos"]) == 0
    assert "| pretrained | 1 |" in capsys.readouterr().out
    with open(tmp_path / "o3" / "pair_scores.csv", newline="") as f:
        assert [r["system"] for r in csv.DictReader(f)] == ["noisy", "pretrained"]


def test_only_the_evaluation_pairs_are_said_to_be_evaluation_only(pair_run):
    from emgse.scoring import is_evaluation_pairs, pairs_table

    _, _, out, rows = pair_run
    claim = "Evaluation only: never used to train or select models."
    assert claim in pairs_table(rows, "t").markdown() and claim not in pairs_table(rows, "t", evaluation_only=False).markdown()
    assert is_evaluation_pairs(Path("x") / "voicebank-demand-test") and not is_evaluation_pairs(Path("runs") / "dev-pairs")
    assert claim not in (out / "pair_summary.md").read_text()  # a folder named 'pairs' is not the evaluation set


def test_pairs_target_verdicts_on_known_scores():
    from emgse.scoring import HELPS_REAL_SPEECH, NO_HARM, NOISY, PairsTarget

    def rows(system, pesq, estoi, n=5):  # per-file scores: noisy at 2.0 / 0.8, `system` shifted per file
        out = []
        for i in range(n):
            out.append({"system": NOISY, "file": f"f{i}", "pesq": 2.0, "stoi": 0.9, "estoi": 0.8, "si_sdr": 5.0})
            out.append({"system": system, "file": f"f{i}", "pesq": 2.0 + pesq[i], "stoi": 0.9, "estoi": 0.8 + estoi[i], "si_sdr": 6.0})
        return out

    # mean gains +0.30 PESQ, +0.012 ESTOI, no file worse: helps
    good = rows("good", [0.3] * 5, [0.012] * 5)
    table = HELPS_REAL_SPEECH.table(good)
    assert table.rows == [["good", "+0.300", "+0.012", "0 of 5", "met"]]
    assert "PESQ gain (>= +0.25)" in table.header and "files ESTOI worse by > 0.02 (<= 0)" in table.header
    # one file loses 0.03 ESTOI: mean ESTOI gain (0.012*4 - 0.03)/5 = 0.0036, short by 0.0064 -> 0.006 at 3 decimals
    one_bad = rows("one-bad", [0.3] * 5, [0.012] * 4 + [-0.03])
    verdict = HELPS_REAL_SPEECH.table(one_bad).rows[0][-1]
    assert verdict == "missed: ESTOI gain short by 0.006; 1 file worse (at most 0)"
    # the demo's check allows 2 worse files and asks only for no mean loss
    assert NO_HARM.table(one_bad).rows[0][-1] == "met"
    three_bad = rows("three-bad", [0.1] * 5, [0.04, 0.04, -0.03, -0.03, -0.03])  # mean -0.002
    assert NO_HARM.table(three_bad).rows[0][-1] == "missed: ESTOI gain short by 0.002; 3 files worse (at most 2)"
    # a gain that rounds to the threshold at the printed precision counts as met; noisy is never judged
    edge = PairsTarget("t", pesq_gain=0.25, estoi_gain=0.0, max_worse=0).table(rows("edge", [0.2496] * 5, [0.0] * 5))
    assert [r[0] for r in edge.rows] == ["edge"] and edge.rows[0][-1] == "met"
