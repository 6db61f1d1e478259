"""The quality benchmark's stages (emgse.experiments.quality): scores kept per system, tables kept and
put in the report, settings kept per run, both protocols trained and scored on tiny settings."""

from __future__ import annotations

import os

import pytest

from emgse.errors import EmgseError
from emgse.experiments.quality import save_table, score_each, tables_markdown
from emgse.scoring import read_scores, summarize
from emgse.synthetic import make_mixtures, write_system
from tests.test_benchmarks import fake_quality_run


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    mix = make_mixtures(root, utterances=1, seconds=1.0)
    enh = root / "enhanced"
    systems = (("oracle-magnitude", lambda noisy, ref: ref), ("oracle-irm", lambda noisy, ref: 0.2 * noisy + 0.8 * ref),
               ("half", lambda noisy, ref: 0.5 * (noisy + ref)))
    for name, fn in systems:
        write_system(mix, enh, name, fn)
        (enh / name / ".complete").write_text("ok\n")
    return root, mix, enh


def test_scores_are_kept_per_system_and_redone_when_outputs_change(bench):
    root, mix, enh = bench
    cache, merged = root / "scores" / "systems", root / "scores"
    rows = score_each(mix, enh, ["oracle-magnitude"], cache, merged, jobs=1)
    assert {r["system"] for r in rows} == {"noisy", "oracle-magnitude"}
    stamp = (cache / "oracle-magnitude" / ".complete").stat().st_mtime_ns
    rows = score_each(mix, enh, ["oracle-magnitude", "half"], cache, merged, jobs=1)  # only "half" is new
    assert (cache / "oracle-magnitude" / ".complete").stat().st_mtime_ns == stamp
    assert [r["system"] for r in read_scores(merged)] == [r["system"] for r in rows]
    assert {r["system"] for r in rows} == {"noisy", "oracle-magnitude", "half"}
    later = stamp + 10**9
    os.utime(enh / "oracle-magnitude" / ".complete", ns=(later, later))  # outputs rewritten after scoring
    score_each(mix, enh, ["oracle-magnitude"], cache, merged, jobs=1)
    assert (cache / "oracle-magnitude" / ".complete").stat().st_mtime_ns != stamp


def test_tables_and_report(bench):
    root, mix, enh = bench
    rows = score_each(mix, enh, ["oracle-irm", "half", "oracle-magnitude"], root / "scores" / "systems", root / "scores", jobs=1)
    text = tables_markdown(rows, {"half": 1234}, {"half": 0.05})
    assert "| pesq |" in text and "| half |" in text and "1,234" in text and "| 0.050 |" in text
    table = text.split("\n\n")[0].splitlines()  # the PESQ table

    def cell(prefix: str, column: int) -> str:
        return next(line for line in table if line.startswith(prefix)).split("|")[column].strip()

    gap = cell("| half |", -4)
    # the share of the gap to the ceiling (clean magnitude, noisy phase), not to the IRM
    pesq = {r["system"]: r["pesq"] for r in summarize(rows)}
    expected = (pesq["half"] - pesq["noisy"]) / (pesq["oracle-magnitude"] - pesq["noisy"])
    assert gap == f"{100 * expected:.0f}%" and 0 < int(gap[:-1]) < 100
    assert cell("| oracle-irm (mask oracle) |", -4) == "" and cell("| oracle-magnitude (", -4) == ""
    os.symlink(mix, root / "mix-test")
    save_table(root, "robustness", "Robustness\n\n| model | PESQ |\n|---|---:|\n| x | 1.000 |")
    page = (root / "report.html").read_text()
    assert (root / "tables" / "robustness.md").is_file()
    assert "<h2>Robustness to failing EMG</h2>" in page and "<td>x</td><td>1.000</td>" in page


def test_quality_run_refuses_a_folder_started_with_other_settings(tmp_path):
    """benchmarks/quality.py keeps its settings in OUT/benchmark.json: a rerun with the same ones
    resumes, one with others (here the level rule or the epochs) is one clear line, not a silent mix."""
    from emgse.config import AudioConfig
    from emgse.experiments.quality import record_run, run_settings

    out = tmp_path / "run"
    s, audio = run_settings(False, None)
    assert audio.level_rms is not None  # the eSpeak voices' sessions span +-20 dB: level normalization on
    record_run(out, s, audio, 4, 0, None)
    record_run(out, s, audio, 4, 0, None)  # same settings: resumes
    with pytest.raises(EmgseError, match=r"benchmark.json: this folder holds a run with other settings \(audio_config.level_rms 0.05 -> None"):
        record_run(out, s, AudioConfig(), 4, 0, None)
    with pytest.raises(EmgseError, match=r"epochs 4 -> 8"):
        record_run(out, s, audio, 8, 0, None)


def test_quality_tables_and_systems_carry_both_losses():
    from emgse.experiments import System
    from emgse.experiments.quality import TABLES, with_loss

    assert [x.name for x in with_loss((System("audio-mask", "audio-mask"),), "compressed", "sisdr")] == ["audio-mask-comp-sisdr"]
    titles = dict(TABLES)
    assert titles["quality-comp"] == "Quality benchmark, compressed loss"
    assert titles["real-speech-comp-sisdr"].endswith(", compressed loss + sisdr") and titles["quality-mrstft"].endswith(", l1 loss + mrstft")


def test_speaker_dependent_quality_trains_every_system_on_one_session(tmp_path, capsys):
    """benchmarks/quality.py's default protocol on tiny settings: the session split as the paper's
    (test utterances unseen, their speaker not), the same step budget for every system, the mask
    family from the pretrained audio path and the others from scratch, the paper's EMGSE with its
    min-max EMG and the rest z-scored, and the targets judged from the scores."""
    import dataclasses

    from emgse.checkpoint import read_checkpoint
    from emgse.experiments import System
    from emgse.experiments.quality import SESSION_QUICK, session_targets, train_and_score_session

    config = dataclasses.replace(SESSION_QUICK, utterances=8, test=2, val=1, steps=2, jobs=1)
    systems = (System("audio-mask", "audio-mask"), System("emgse-mask", "emgse-mask"), System("emgse", "emgse"))
    out = tmp_path / "bench"
    scores, params, rtf = train_and_score_session(out, systems, config, jobs=1, oracle=False, progress=False)
    assert sorted(p.name for p in (out / "prepared" / "test").glob("*.wav")) == ["Spk1_Block1-Initial_0001.wav", "Spk1_Block1-Initial_0002.wav"]
    assert len(list((out / "prepared-train" / "train").glob("*.wav"))) == 5 and not (out / "prepared" / "train").exists()
    runs = {x.name: read_checkpoint(out / "runs" / x.name / "best.pt") for x in systems}
    assert {n: c["train_config"]["init_from"] for n, c in runs.items()} == {"audio-mask": "pretrained", "emgse-mask": "pretrained", "emgse": None}
    assert {n: c["emg_config"]["normalization"] for n, c in runs.items()} == {"audio-mask": "zscore", "emgse-mask": "zscore", "emgse": "minmax"}
    assert {c["sampler_config"]["steps_per_epoch"] for c in runs.values()} == {2}
    assert {r["system"] for r in scores} == {"noisy", "audio-mask", "emgse-mask", "emgse"} and set(rtf) == set(params)
    text = session_targets(scores, params)
    assert "best EMG gain at -11 dB: emgse-mask - audio-mask" in text  # the larger of the two twins' gains there
    assert f"emgse-mask ({params['emgse-mask']:,} vs {params['emgse']:,}) - emgse" in text
    assert ("met" in text) or ("missed by" in text)


def test_quality_trains_and_scores_the_compressed_runs_under_their_own_names(tmp_path):
    """benchmarks/quality.py --loss compressed: the runs train with that loss under '<system>-comp'
    names, scores go to their own folder, and the same names asked with the other loss are refused."""
    from emgse.checkpoint import read_checkpoint
    from emgse.experiments import System
    from emgse.experiments.quality import train_and_score, with_loss
    from tests.pipeline import tiny_pipeline

    p = tiny_pipeline(tmp_path / "data")
    out = tmp_path / "bench"
    out.mkdir()
    for name, target in (("mix-train", p["mix"]), ("mix-test", p["mix_test"]), ("prepared", p["prep"])):
        (out / name).symlink_to(target)
    systems = with_loss((System("audio-mask", "audio-mask"),), "compressed")
    scores, params, rtf = train_and_score(out, systems, 1, jobs=1, oracle=False, loss="compressed", scores_name="scores-comp")
    assert read_checkpoint(out / "runs" / "audio-mask-comp" / "best.pt")["train_config"]["loss"] == "compressed"
    assert {r["system"] for r in read_scores(out / "scores-comp" / "scores.csv")} == {"noisy", "audio-mask-comp"}
    assert set(params) == set(rtf) == {"audio-mask-comp"} and not (out / "runs" / "audio-mask").exists()
    with pytest.raises(EmgseError, match=r"audio-mask-comp: finished with other settings \(loss 'compressed' -> 'l1'\)"):
        train_and_score(out, systems, 1, jobs=1, oracle=False, loss="l1")
    # --wave-loss: its own runs and scores beside; the finished ones refuse another waveform loss
    systems = with_loss((System("audio-mask", "audio-mask"),), "compressed", "sisdr")
    train_and_score(out, systems, 1, jobs=1, oracle=False, loss="compressed", wave_loss="sisdr", scores_name="scores-comp-sisdr")
    config = read_checkpoint(out / "runs" / "audio-mask-comp-sisdr" / "best.pt")["train_config"]
    assert (config["loss"], config["wave_loss"], config["wave_weight"]) == ("compressed", "sisdr", 0.004)
    assert {r["system"] for r in read_scores(out / "scores-comp-sisdr" / "scores.csv")} == {"noisy", "audio-mask-comp-sisdr"}
    with pytest.raises(EmgseError, match=r"audio-mask-comp-sisdr: finished with other settings \(wave_loss 'sisdr' -> 'mrstft'\)"):
        train_and_score(out, systems, 1, jobs=1, oracle=False, loss="compressed", wave_loss="mrstft")


def test_score_real_speech_keeps_the_section_of_the_microphone_models(tmp_path, capsys):
    # used by quality.py (real-speech<suffix>) and ablations.py (real-speech-ablation-<study>)
    from emgse.experiments import System
    from emgse.experiments.quality import TABLES, score_real_speech
    from emgse.scoring import HELPS_REAL_SPEECH
    from tests.scoring.test_scoring import write_pairs
    from tests.test_stream import make_checkpoint

    fake_quality_run(tmp_path)  # save_table rebuilds the run's report from its scores
    pairs = write_pairs(tmp_path / "pairs", rates=(16000,))
    (tmp_path / "runs" / "tiny").mkdir(parents=True)
    make_checkpoint(tmp_path / "runs" / "tiny" / "best.pt", "causal-audio")
    systems = [System("tiny", "causal-audio"), System("emg-alone", "emg-only")]  # emg-alone: no checkpoint needed, never run
    text = score_real_speech(tmp_path, systems, "real-speech-ablation-channels", pairs, jobs=1, target=HELPS_REAL_SPEECH)
    assert "| tiny | 1 |" in text and "emg-alone" not in text and "Target: helps real recordings" in text
    assert (tmp_path / "tables" / "real-speech-ablation-channels.md").read_text().strip() == text.strip()
    assert "| tiny | 1 |" in capsys.readouterr().out
    assert "real-speech-ablation-channels" in dict(TABLES) and "channels ablation</h2>" in (tmp_path / "report.html").read_text()
    assert score_real_speech(tmp_path, [System("emg-alone", "emg-only")], "x", pairs) is None  # nothing heard the microphone


def test_save_table_in_a_folder_that_only_ran_another_loss(tmp_path):
    # `quality.py --loss compressed` on a fresh folder: its scores are in scores-comp, not scores
    from emgse.experiments.quality import save_table

    save_table(tmp_path, "quality-comp", "| a | b |")  # nothing scored yet: the table is kept, no report
    assert (tmp_path / "tables" / "quality-comp.md").read_text() == "| a | b |\n" and not (tmp_path / "report.html").exists()
    fake_quality_run(tmp_path)
    (tmp_path / "scores").rename(tmp_path / "scores-comp")
    save_table(tmp_path, "quality-comp", "| a | b |")
    page = (tmp_path / "report.html").read_text()
    assert "emgse quality benchmark" in page and "<td>emgse-tcn</td>" in page
