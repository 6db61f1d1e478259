"""`emgse simulate --speech`: recorded speech + simulated EMG, speaker-disjoint splits, prepare --session all."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emgse.cli import main
from emgse.corpora.csl_emg_array import prepare_csl_emg_array
from emgse.corpora.prepared import list_utterances, read_utterance
from emgse.corpora.simulated import check
from emgse.corpora.simulated.emg import LIVE_CHANNELS
from emgse.corpora.simulated.speech import synthesize
from emgse.corpora.simulated.writer import (
    SimulationConfig,
    select_speakers,
    simulate_speech_corpus,
    speaker_splits,
)
from emgse.errors import EmgseError
from emgse.features.resample import resample
from tests.conftest import SHARED_DATA
from tests.corpora.test_alignment import PHONES, write_textgrid

SHARED_SPEECH = SHARED_DATA / "speech" / "speechocean762"
SENTENCES = ("Peter moved the yellow bottle.", "Anna found a purple kettle.", "Bob washed the big wagon.", "Maria bought a cheap map.")


def _say(path: Path, text: str, voice: str, fs: int = 16000) -> None:
    audio, _ = synthesize(text, voice, rate_wpm=130)
    rec = np.concatenate([np.zeros(5000), 0.5 * audio, np.zeros(4000)]) + 1e-3 * np.random.default_rng(0).standard_normal(audio.size + 9000)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, resample(rec, 16000, fs), fs, subtype="PCM_16")


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory) -> Path:
    """Two train speakers and one test speaker; transcripts, a TextGrid, a .lab, a .phn, a wrong transcript."""
    root = tmp_path_factory.mktemp("speech") / "corpus"
    for part, spk, voice in (("train", "s01", "en-us+m3"), ("train", "s02", "en-us+f2"), ("test", "s03", "en+m1")):
        for k, text in enumerate(SENTENCES):
            wav = root / part / spk / f"{spk}_{k}.{'flac' if k == 1 else 'wav'}"
            _say(wav, text, voice, fs=22050 if spk == "s02" else 16000)
            wav.with_suffix(".txt").write_text(text.upper() + "\n")
    # alignment files beside s01's first three recordings (they win over the transcript)
    write_textgrid(root / "train" / "s01" / "s01_0.TextGrid", {"phones": PHONES})
    (root / "train" / "s01" / "s01_1.lab").write_text("".join(f"{round(s * 1e7)} {round(e * 1e7)} {lab or 'sil'}\n" for lab, s, e in PHONES))
    (root / "train" / "s01" / "s01_2.phn").write_text("".join(f"{round(s * 16000)} {round(e * 16000)} {lab.lower().rstrip('01') or 'h#'}\n" for lab, s, e in PHONES))
    # a recording whose transcript is wrong: skipped and listed
    (root / "test" / "s03" / "s03_3.txt").write_text("NO\n")
    return root


@pytest.fixture(scope="module")
def corpus(speech_dir, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim") / "corpus"
    summary = simulate_speech_corpus(out, [speech_dir], SimulationConfig(seed=3), progress=False)
    return out, summary


def test_layout_markers_and_sources(corpus, speech_dir):
    out, summary = corpus
    sim = json.loads((out / "simulation.json").read_text())
    assert sim["sessions"] == summary["sessions"] == ["Spk1_Block1-Initial", "Spk2_Block1-Initial", "Spk3_Block1-Initial"]
    assert [Path(s["file"]).name for s in sim["skipped"]] == ["s03_3.wav"] and "cost ratio" in sim["skipped"][0]["reason"]
    assert summary["utterances"] == 11
    sources = {}
    for info_path in sorted(out.glob("*/*/*_info.json")):
        info = json.loads(info_path.read_text())
        stem = info_path.name[: -len("_info.json")]
        emg = np.load(info_path.with_name(f"{stem}_emg.npy"))
        audio, fs = sf.read(info_path.with_name(f"{stem}_audio.wav"), always_2d=True)
        assert emg.shape[1] == 41 and emg.dtype == np.float32 and fs == 16000 and audio.shape[1] == 2
        e0, a0 = check.marker_rise(emg[:, 40], 10.0), check.marker_rise(audio[:, 1], 0.5)
        assert e0 == round(info["preroll_s"]["emg"] * 2048) and a0 == round(info["preroll_s"]["audio"] * 16000)
        assert abs((emg.shape[0] - e0) / 2048 - (audio.shape[0] - a0) / 16000) < 1 / 2048
        # the speech after the rise is the recording (resampled to 16 kHz), not eSpeak's rendering
        source, sfs = sf.read(info["source_file"])
        assert abs(info["duration_s"] - len(source) / sfs) < 1e-3
        ph = info["phonemes"]
        assert ph[0]["start"] == 0 and abs(ph[-1]["end"] - info["duration_s"]) < 1e-5 and all(p["known"] for p in ph)
        sources[Path(info["source_file"]).name] = (info["alignment"], ph)
    assert sources["s01_0.wav"][0] == "textgrid" and sources["s01_1.flac"][0] == "lab" and sources["s01_2.wav"][0] == "phn"
    assert sources["s01_3.wav"][0] == "espeak-dtw" and sources["s02_1.flac"][0] == "espeak-dtw"
    # file timings pass through unchanged
    tg = [(p["phoneme"], p["start"], p["end"]) for p in sources["s01_0.wav"][1]]
    assert tg[:5] == [("_", 0.0, 0.3), ("h", 0.3, 0.38), ("@", 0.38, 0.45), ("l", 0.45, 0.52), ("oU", 0.52, 0.7)]


def test_emg_follows_the_recorded_phone_timeline(corpus):
    """Muscle activity follows the TextGrid's phones (speech 0.3-1.25 s), not the rest of the recording."""
    out, _ = corpus
    info = next(p for p in out.glob("*/*/*_info.json") if json.loads(p.read_text())["source_file"].endswith("s01_0.wav"))
    utt = next(u for u in check.read_corpus(out) if u.name == info.name[: -len("_info.json")])
    _, env = check.envelopes(utt)  # 4 ms frames
    live = env[:, list(LIVE_CHANNELS)].mean(axis=1)
    def mean(a: float, b: float) -> float:
        return float(live[int(a / 0.004) : int(b / 0.004)].mean())

    # activity leads each phone by ~60 ms: speech 0.3-0.7 s and 0.9-1.25 s, the "sil" 0.7-0.9 s
    before, pause, speaking = mean(0.0, 0.15), mean(0.64, 0.8), (mean(0.25, 0.6) + mean(0.85, 1.15)) / 2
    assert speaking > max(before, pause) + 0.2, (before, pause, speaking)


def test_speaker_disjoint_splits_and_prepare_all(corpus, tmp_path):
    out, summary = corpus
    splits = json.loads((out / "splits.json").read_text())["sessions"]
    speaker = {s: json.loads((out / s / "session.json").read_text())["speaker"]["id"] for s in splits}
    by_speaker = {speaker[s]: v for s, v in splits.items()}
    assert by_speaker["test/s03"] == "test"  # the corpus's own test half
    assert sorted([by_speaker["train/s01"], by_speaker["train/s02"]]) == ["train", "val"]  # val drawn from the train half
    prepared = tmp_path / "prepared"
    meta = prepare_csl_emg_array(out, "all", prepared, progress=False)
    assert meta["split_rule"].startswith("speaker-disjoint") and sum(meta["utterances"].values()) == 11
    for split in ("train", "val", "test"):
        ids = list_utterances(prepared, split)
        assert ids and {i.rsplit("_", 1)[0] for i in ids} == {s for s, v in splits.items() if v == split}
        audio, emg = read_utterance(prepared, split, ids[0])
        assert emg.shape[1] == 40 and abs(len(audio) / 16000 - emg.shape[0] / 2000) < 0.01
    figures = check.check_corpus(out)
    assert figures["recorded_speech"] and figures["utterances"] == 11 and 40 < figures["median_frequency_hz"] < 200


def test_prepare_all_without_splits_file_uses_ranges_per_session(corpus, tmp_path):
    out, _ = corpus
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(out, copy)
    (copy / "splits.json").unlink()
    meta = prepare_csl_emg_array(copy, "all", tmp_path / "p", progress=False, splits=__import__("emgse.corpora.csl_emg_array", fromlist=["SplitRanges"]).SplitRanges(test=[(1, 1)], val=[(2, 2)], train=[(3, 9)]))
    assert meta["utterances"] == {"train": 5, "val": 3, "test": 3} and meta["split_rule"].startswith("utterance-number")


def test_speaker_split_rules():
    parts = {f"t{i}": "train" for i in range(20)} | {f"e{i}": "test" for i in range(5)}
    s = speaker_splits(parts, 0)
    assert all(s[f"e{i}"] == "test" for i in range(5))
    assert sum(v == "val" for v in s.values()) == 2 and s == speaker_splits(parts, 0) and s != speaker_splits(parts, 1)
    free = speaker_splits({f"x{i}": None for i in range(10)}, 0)
    assert sorted(free.values()).count("test") == 2 and sorted(free.values()).count("val") == 1
    chosen = select_speakers(parts, 5, 0)
    assert len(chosen) == 5 and sum(c.startswith("e") for c in chosen) == 1


def test_recording_without_transcript_is_a_readable_error(speech_dir, tmp_path, capsys):
    bad = tmp_path / "bad"
    _say(bad / "spk" / "a.wav", "Hello there.", "en-us")
    with pytest.raises(EmgseError, match=r"a\.wav: no transcript \(X\.txt\) and no alignment"):
        simulate_speech_corpus(tmp_path / "out", [bad], SimulationConfig(), progress=False)
    assert not (tmp_path / "out").exists()
    assert main(["simulate", "--out", str(tmp_path / "out"), "--speech", str(bad), "--quiet"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a.wav: no transcript" in err[0]


def test_cli_speech_subset(speech_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["simulate", "--out", str(out), "--speech", str(speech_dir), "--speakers", "2", "--utterances", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "recorded speech with SIMULATED EMG" in text and "--session all" in text
    assert len(list(out.glob("*/*/*_info.json"))) == 2


@pytest.mark.skipif(not SHARED_SPEECH.is_dir(), reason="../shared/data/speech/speechocean762 not present")
def test_shared_speechocean_subset(tmp_path):
    summary = simulate_speech_corpus(tmp_path / "so", [SHARED_SPEECH], SimulationConfig(seed=0), speakers=2, utterances=2, progress=False)
    assert summary["utterances"] + len(summary["skipped"]) == 4
    assert set(summary["splits"].values()) <= {"train", "val", "test"}
