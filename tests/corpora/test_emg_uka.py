"""EMG-UKA reader: the corpus's layout in, the prepared layout out (fixture in tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emgse.cli import main
from emgse.corpora.emg_uka import prepare_emg_uka, read_subset, select_utterances
from emgse.corpora.prepared import CorpusInfo, list_utterances, read_utterance
from emgse.features.emg import fit_emg
from emgse.features.resample import resample
from tests.conftest import SHARED_DATA, write_emg_uka_corpus

SHARED_EMG_UKA = SHARED_DATA / "emg-uka"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_emg_uka_corpus(tmp_path_factory.mktemp("emg-uka"))


def test_subset_lists_parse(corpus):
    utts = read_subset(corpus / "Subsets" / "test.audible")
    assert [u.utt_id for u in utts] == ["002_101_0200", "002_101_0201", "002_101_0202", "002_001_0110", "004_001_0010"]


def test_prepare_session_matches_the_corpus_cropped_to_its_offsets(corpus, tmp_path):
    meta = prepare_emg_uka(corpus, "002", "101", tmp_path / "p", progress=False)
    assert meta["utterances"] == {"train": 9, "val": 1, "test": 3}
    assert meta["source"] == "emg-uka" and meta["real_emg"] is True
    info = CorpusInfo.read(tmp_path / "p")
    assert (info.emg_fs, info.emg_channels) == (2000, 6)
    assert list_utterances(tmp_path / "p", "test") == ["002_101_0200", "002_101_0201", "002_101_0202"]
    assert len(list_utterances(tmp_path / "p", "train") + list_utterances(tmp_path / "p", "val")) == 10
    forms = {utt: next(corpus.glob(f"audio/002/101/a_002_101_{utt}.*")) for utt in ("0200", "0202")}
    assert forms["0200"].suffix == ".flac" and sf.info(forms["0200"]).channels == 1
    assert forms["0202"].suffix == ".wav" and sf.info(forms["0202"]).channels == 2  # microphone + marker
    for utt, wav in forms.items():
        (a0, a1), (e0, e1) = (tuple(int(x) for x in line.split()) for line in
                              (corpus / "offset/002/101" / f"offset_002_101_{utt}.txt").read_text().splitlines())
        mic = sf.read(wav, dtype="float64", always_2d=True)[0][:, 0]
        emg_raw = np.fromfile(corpus / "emg/002/101" / f"e07_002_101_{utt}.adc", dtype="<i2").reshape(-1, 7)
        audio, emg = read_utterance(tmp_path / "p", "test", f"002_101_{utt}")
        np.testing.assert_array_equal(audio, mic[a0:a1].astype(np.float32))
        expected = fit_emg(resample(emg_raw[e0:e1, :6].astype(np.float64), 600, 2000, axis=0), round((a1 - a0) * 2000 / 16000))
        np.testing.assert_allclose(emg, expected.astype(np.float32), rtol=0, atol=1e-3)
        assert emg.shape == (round((a1 - a0) / 8), 6)
        assert not np.any(emg == 1000.0)  # the marker channel is gone
        text = (tmp_path / "p" / "test" / f"002_101_{utt}.txt").read_text().strip()
        assert text == f"SENTENCE NUMBER {utt} OF 002"


def test_all_sessions_pool_and_validation_is_deterministic(corpus, tmp_path):
    a = select_utterances(corpus, "002", "all", seed=3)
    b = select_utterances(corpus, "002", "all", seed=3)
    assert a == b
    assert {u.session for u in a["test"]} == {"101", "001"}
    assert len(a["test"]) == 4
    assert {u.session for u in a["val"]} == {"101", "001"}  # every session gives validation utterances
    assert not {u.utt_id for u in a["val"]} & {u.utt_id for u in a["train"]}
    assert len(a["train"]) + len(a["val"]) == 13


def test_native_rate_is_refused_with_the_reason(corpus, tmp_path, capsys):
    rc = main(["prepare", "emg-uka", "--corpus", str(corpus), "--speaker", "002", "--session", "101", "--out",
               str(tmp_path / "o"), "--emg-fs", "600", "--quiet"])
    assert rc == 2
    assert "whole number of samples" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_prepare_cli_1000_hz(corpus, tmp_path, capsys):
    rc = main(["prepare", "emg-uka", "--corpus", str(corpus), "--speaker", "004", "--session", "001", "--out", str(tmp_path / "o"),
               "--emg-fs", "1000", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "o" / "corpus.json").read_text())["emg_fs"] == 1000
    assert "EMG 6 channels at 1000 Hz" in capsys.readouterr().out


def _run(corpus: Path, out: Path, *extra: str, speaker: str = "002", session: str = "101") -> int:
    return main(["prepare", "emg-uka", "--corpus", str(corpus), "--speaker", speaker, "--session", session, "--out", str(out),
                 "--quiet", *extra])


@pytest.mark.parametrize("damage, expected", [
    ("no-offset", "offset_002_101_0200.txt: offset file not found"),
    ("offset-out-of-range", "offset_002_101_0200.txt: EMG offset 120 99999 out of range"),
    ("offset-garbled", "offset_002_101_0200.txt: expected two lines of two whole numbers"),
    ("offset-mismatch", "offset_002_101_0200.txt: the offsets give"),
    ("adc-channels", "e07_002_101_0200.adc: truncated or not 7-channel int16 EMG"),
    ("adc-empty", "e07_002_101_0200.adc: EMG file holds no samples"),
    ("audio-3ch", "a_002_101_0200.wav: 3 channels"),
    ("audio-rate", "a_002_101_0200.wav: sample rate 8000 Hz"),
    ("audio-missing", "a_002_101_0200.wav: audio file not found"),
])
def test_bad_corpus_files_give_one_line_and_exit_2(tmp_path, capsys, damage, expected):
    corpus = write_emg_uka_corpus(tmp_path / "c", layout={("002", "101"): (["0100", "0101"], ["0200"])})
    offset = corpus / "offset/002/101/offset_002_101_0200.txt"
    adc = corpus / "emg/002/101/e07_002_101_0200.adc"
    wav = corpus / "audio/002/101/a_002_101_0200.wav"
    (corpus / "audio/002/101/a_002_101_0200.flac").unlink()  # the audio cases give it as WAV
    if damage not in ("audio-3ch", "audio-rate", "audio-missing"):
        sf.write(wav, np.zeros((16000, 2)), 16000, subtype="PCM_16")  # stereo: microphone + marker
    if damage == "no-offset":
        offset.unlink()
    elif damage == "offset-out-of-range":
        offset.write_text("3200 12800\n120 99999\n")
    elif damage == "offset-garbled":
        offset.write_text("3200 12800\n")
    elif damage == "offset-mismatch":
        offset.write_text("3200 12800\n120 300\n")
    elif damage == "adc-channels":
        np.zeros((300, 8), dtype="<i2").tofile(adc)
    elif damage == "adc-empty":
        adc.write_bytes(b"")
    elif damage == "audio-3ch":
        sf.write(wav, np.zeros((16000, 3)), 16000)
    elif damage == "audio-rate":
        sf.write(wav, np.zeros((16000, 2)), 8000)
    out = tmp_path / "out"
    assert _run(corpus, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
    assert not out.exists()  # nothing half-written


@pytest.mark.parametrize("speaker, session, expected", [
    ("009", "101", "unknown speaker '009' (speakers here: 002, 004)"),
    ("002", "777", "speaker 002 has no session '777' in audible mode (sessions: 001, 101)"),
])
def test_unknown_speaker_or_session(corpus, tmp_path, capsys, speaker, session, expected):
    assert _run(corpus, tmp_path / "o", speaker=speaker, session=session) == 2
    assert expected in capsys.readouterr().err


def test_empty_mode_and_missing_corpus(corpus, tmp_path, capsys):
    assert _run(corpus, tmp_path / "o", "--mode", "silent") == 2
    assert "speaker 002 has no session '101' in silent mode (sessions: none)" in capsys.readouterr().err
    assert _run(corpus, tmp_path / "o", "--mode", "silent", session="all") == 2
    assert "speaker 002 has no silent utterances" in capsys.readouterr().err
    assert _run(tmp_path / "nowhere", tmp_path / "o") == 2
    assert "corpus folder not found" in capsys.readouterr().err
    assert _run(corpus / "emg", tmp_path / "o") == 2
    assert "not an EMG-UKA corpus root (no Subsets folder)" in capsys.readouterr().err


@pytest.mark.skipif(not SHARED_EMG_UKA.is_dir(), reason="the EMG-UKA corpus is not in ../shared/data")
def test_shared_corpus_session_002_101(tmp_path):
    chosen = select_utterances(SHARED_EMG_UKA, "002", "101")
    assert len(chosen["test"]) == 20
    assert len(chosen["train"]) + len(chosen["val"]) == 500
    first = chosen["test"][0]
    from emgse.corpora.emg_uka import read_utterance as read_corpus_utterance

    audio, emg, _ = read_corpus_utterance(SHARED_EMG_UKA, first)
    assert emg.shape == (round(len(audio) / 8), 6) and np.all(np.isfinite(emg))
