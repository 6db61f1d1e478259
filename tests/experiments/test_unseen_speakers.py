"""``emgse demo --protocol unseen-speakers`` (:mod:`emgse.experiments.unseen_speakers`) at tiny scale."""

import shutil

import pytest

from emgse.checkpoint import read_checkpoint
from emgse.errors import EmgseError
from emgse.experiments import DEMO_INTERMEDIATE, RECORDED_PREFIX, DemoConfig, demo_systems, run_demo
from emgse.files import read_json
from emgse.resources import SPEECH_SUBSET, speech_folder
from tests.corpora.test_speech_corpus import SHARED_SPEECH, _say
from tests.experiments import BASELINES, read_scores
from tests.scoring.test_scoring import write_pairs


def test_demo_tiny(tmp_path):
    speech = tmp_path / "speech"  # recorded speech for training: two speakers of the train half, MFA layout
    for spk, voice in (("a1", "en-us+m3"), ("a2", "en-us+f2")):
        for k, text in enumerate(("Peter moved the yellow bottle.", "Anna found a purple kettle.")):
            _say(speech / "train" / spk / f"{spk}_{k}.flac", text, voice)
            (speech / "train" / spk / f"{spk}_{k}.txt").write_text(text.upper() + "\n")
    cfg = DemoConfig(
        speakers=3, utterances=6, test=1, val=1, test_snrs_db=(-6.0, 4.0), test_noises=("pink", "talker"), train_noises=("white", "brown"),
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
