import csv
import json

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from emgse.corpora.gaddy import clean_emg, prepare_gaddy, read_emg, read_silent_emg
from emgse.corpora.prepared import CorpusInfo, list_utterances, read_utterance
from emgse.errors import EmgseError
from emgse.features.resample import resample
from emgse.features.td import td_features
from tests.conftest import (
    GADDY_AUDIO_FS,
    GADDY_BOOK,
    GADDY_SPLIT,
    gaddy_raw_emg,
    write_gaddy_corpus,
)


# A plain transcription of dgaddy/silent_speech read_emg.py (remove_drift, notch, notch_harmonics,
# apply_to_all and the before/after part of load_utterance), the reference for our vectorized version.
def _their_remove_drift(signal, fs):
    b, a = scipy.signal.butter(3, 2, "highpass", fs=fs)
    return scipy.signal.filtfilt(b, a, signal)


def _their_notch(signal, freq, sample_frequency):
    b, a = scipy.signal.iirnotch(freq, 30, sample_frequency)
    return scipy.signal.filtfilt(b, a, signal)


def _their_notch_harmonics(signal, freq, sample_frequency):
    for harmonic in range(1, 8):
        signal = _their_notch(signal, freq * harmonic, sample_frequency)
    return signal


def _their_apply_to_all(function, signal_array, *args):
    return np.stack([function(signal_array[:, i], *args) for i in range(signal_array.shape[1])], 1)


def _their_load_emg(base_dir, index):
    raw_emg = np.load(base_dir / f"{index}_emg.npy")
    before, after = base_dir / f"{index - 1}_emg.npy", base_dir / f"{index + 1}_emg.npy"
    raw_emg_before = np.load(before) if before.exists() else np.zeros([0, raw_emg.shape[1]])
    raw_emg_after = np.load(after) if after.exists() else np.zeros([0, raw_emg.shape[1]])
    x = np.concatenate([raw_emg_before, raw_emg, raw_emg_after], 0)
    x = _their_apply_to_all(_their_notch_harmonics, x, 60, 1000)
    x = _their_apply_to_all(_their_remove_drift, x, 1000)
    return x[raw_emg_before.shape[0] : x.shape[0] - raw_emg_after.shape[0], :]


@pytest.mark.parametrize("index", [0, 2, 4])  # first file (no 'before'), middle, last (no 'after')
def test_emg_cleaning_equals_silent_speech(tmp_path, index):
    session = write_gaddy_corpus(tmp_path) / "voiced_parallel_data" / "5-4"
    ours = read_emg(session, index)
    theirs = _their_load_emg(session, index)
    assert ours.shape == theirs.shape == np.load(session / f"{index}_emg.npy").shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


def test_cleaning_removes_offset_drift_and_hum_but_keeps_muscle(tmp_path):
    rng = np.random.default_rng(1)
    n = 3000
    muscle = np.clip(np.sin(2 * np.pi * 1.5 * np.arange(n) / 1000), 0, None)[:, None] * rng.standard_normal((n, 8)) * 20.0
    raw = gaddy_raw_emg(n, np.random.default_rng(2), muscle=muscle)
    cleaned = clean_emg(raw)
    inner = slice(500, -500)  # the zero-phase filters' edge transients are what the neighbouring files absorb
    assert np.abs(cleaned[inner].mean(axis=0)).max() < 2.0 < np.abs(raw.mean(axis=0)).min()
    hum = np.abs(np.fft.rfft(cleaned[inner], axis=0))[:, 0]
    freqs = np.fft.rfftfreq(n - 1000, 1 / 1000)
    raw_hum = np.abs(np.fft.rfft(raw[inner], axis=0))[:, 0]
    at60 = np.argmin(np.abs(freqs - 60))
    assert hum[at60] < 0.05 * raw_hum[at60]
    # the TD low-band power (feature 1 of 5) tracked the offset before; now it tracks the muscle
    low_power = lambda x: td_features(x, 1000.0)[:, 1::5].mean()  # noqa: E731
    assert low_power(raw) > 1000 * low_power(muscle)
    assert low_power(cleaned[inner]) < 3 * low_power(muscle[inner])
    # the muscle signal itself (20-400 Hz mostly) passes
    band = (freqs > 20) & (np.abs(freqs - 60 * np.round(freqs / 60)) > 5)
    kept = np.abs(np.fft.rfft(cleaned[inner], axis=0))[band].sum() / np.abs(np.fft.rfft(muscle[inner], axis=0))[band].sum()
    assert 0.9 < kept < 1.1


def test_prepare_reads_22050_hz_clean_audio_and_skips_reference_clips(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g")
    meta = prepare_gaddy(corpus, tmp_path / "p", split_file="random", val_fraction=0.2, test_fraction=0.2, progress=False)
    info = CorpusInfo.read(tmp_path / "p")
    assert (info.emg_fs, info.emg_channels, info.audio_fs) == (1000.0, 8, 16000)
    ids = [u for s in ("train", "val", "test") for u in list_utterances(tmp_path / "p", s)]
    assert "5-4_0" not in ids and "5-4_1" in ids and "nonparallel_5-6_1" in ids
    # 7 voiced parallel, 3 non-parallel (less one if its sentence 501 was drawn for val/test); reference clips skipped
    assert sum(meta["utterances"].values()) + meta["excluded_dev_test_sentences"] == 7 + 3
    split = next(s for s in ("train", "val", "test") if "5-4_2" in list_utterances(tmp_path / "p", s))
    audio, emg = read_utterance(tmp_path / "p", split, "5-4_2")
    assert emg.shape == (700, 8) and len(audio) == 700 * 16  # 0.7 s; EMG rate unchanged, audio at 16 kHz
    flac, fs = sf.read(corpus / "voiced_parallel_data" / "5-4" / "2_audio_clean.flac")
    assert fs == GADDY_AUDIO_FS == 22050
    np.testing.assert_allclose(audio, resample(flac, fs, 16000)[: len(audio)], atol=1e-6)
    assert np.abs(emg.mean(axis=0)).max() < 50  # offsets of up to 3000 removed
    assert meta["audio_target"] == "<i>_audio_clean.flac" and "notch 60 Hz" in meta["emg_cleaning"]


def test_raw_audio_target(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g", split_file=True)
    prepare_gaddy(corpus, tmp_path / "p", audio="raw", nonparallel=False, progress=False)
    audio, _ = read_utterance(tmp_path / "p", "train", "5-4_1")
    raw, fs = sf.read(corpus / "voiced_parallel_data" / "5-4" / "1_audio.flac")
    np.testing.assert_allclose(audio, resample(raw, fs, 16000)[: len(audio)], atol=1e-6)
    with pytest.raises(EmgseError, match="unknown audio target 'noisy'"):
        prepare_gaddy(corpus, tmp_path / "q", audio="noisy", progress=False)


def test_split_file_found_beside_emg_data_and_dev_test_sentences_kept_out_of_training(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g", split_file=True)
    meta = prepare_gaddy(corpus, tmp_path / "p", progress=False)
    assert meta["split_file"] == str(tmp_path / "g" / "testset_largedev.json")
    assert list_utterances(tmp_path / "p", "test") == ["5-5_1", "5-5_2"]
    assert list_utterances(tmp_path / "p", "val") == ["5-4_2"]
    train = list_utterances(tmp_path / "p", "train")
    # the non-parallel recording of test sentence 501 is left out, as in silent_speech
    assert train == ["5-4_1", "5-4_3", "5-4_4", "5-5_3", "nonparallel_5-6_1", "nonparallel_5-6_3"]
    assert meta["utterances"] == {"train": 6, "val": 1, "test": 2} and meta["excluded_dev_test_sentences"] == 1
    # an explicit file wins over the one found
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"dev": [], "test": [[GADDY_BOOK, 403]]}))
    prepare_gaddy(corpus, tmp_path / "q", split_file=other, nonparallel=False, progress=False)
    assert list_utterances(tmp_path / "q", "test") == ["5-4_3"] and list_utterances(tmp_path / "q", "val") == []


def test_random_split_is_seeded_and_by_sentence(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g")
    a = prepare_gaddy(corpus, tmp_path / "a", split_file="random", val_fraction=0.3, test_fraction=0.3, seed=3, progress=False)
    b = prepare_gaddy(corpus, tmp_path / "b", val_fraction=0.3, test_fraction=0.3, seed=3, progress=False)  # auto: no file -> random
    assert a["utterances"] == b["utterances"] and a["split_seed"] == 3 and a["split_file"] is None
    for s in ("train", "val", "test"):
        assert list_utterances(tmp_path / "a", s) == list_utterances(tmp_path / "b", s)
    assert a["utterances"]["test"] == 2 and a["utterances"]["val"] == 2  # 30% of 7 sentences each


def test_silent_emg_for_voice(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g", split_file=True)
    got = list(read_silent_emg(corpus))
    assert [(u, s) for u, s, _ in got] == [("silent_5-4_1", "train"), ("silent_5-4_2", "val"), ("silent_5-4_3", "test")]
    session = corpus / "silent_parallel_data" / "5-4"
    np.testing.assert_allclose(got[2][2], _their_load_emg(session, 3), rtol=0, atol=1e-9)
    meta = prepare_gaddy(corpus, tmp_path / "p", silent=True, progress=False)
    assert meta["silent"] == {"folder": "silent", "utterances": {"train": 1, "val": 1, "test": 1}}
    emg = np.load(tmp_path / "p" / "silent" / "test" / "silent_5-4_3.emg.npy")
    assert emg.dtype == np.float32 and emg.shape == (800, 8)
    with open(tmp_path / "p" / "silent" / "utterances.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows[2]["voiced_id"] == "5-5_1" and rows[2]["sentence_index"] == "501" and rows[2]["split"] == "test"
    assert list_utterances(tmp_path / "p", "test") == ["5-5_1", "5-5_2"]  # the silent folder is not a split


def test_split_file_format_is_checked(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dev": [], "tests": GADDY_SPLIT["test"]}))
    with pytest.raises(EmgseError, match=r"bad\.json: expected keys 'dev' and 'test'"):
        prepare_gaddy(corpus, tmp_path / "p", split_file=bad, progress=False)


def test_wrong_channel_count_is_reported(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g")
    bad = corpus / "voiced_parallel_data" / "5-5" / "2_emg.npy"
    np.save(bad, np.zeros((700, 6)))
    with pytest.raises(EmgseError, match=r"5-5/2_emg\.npy: expected 8 EMG channels, found 6"):
        prepare_gaddy(corpus, tmp_path / "p", progress=False)  # met first as the neighbour of 1_emg.npy
    assert not (tmp_path / "p").exists()


def test_prepare_gaddy_cli(tmp_path):
    import subprocess
    import sys

    corpus = write_gaddy_corpus(tmp_path / "g", split_file=True)
    cmd = [sys.executable, "-m", "emgse", "prepare", "gaddy", "--corpus", str(corpus), "--out", str(tmp_path / "p"), "--audio", "raw", "--silent"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "train: 6, val: 1, test: 2" in r.stdout and "silent EMG" in r.stdout and "train: 1, val: 1, test: 1" in r.stdout
    assert json.loads((tmp_path / "p" / "corpus.json").read_text())["audio_target"] == "<i>_audio.flac"
    r = subprocess.run([*cmd[:-3], "--split-file", str(tmp_path / "missing.json"), "--force"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "missing.json: file not found" in r.stderr and "Traceback" not in r.stderr
