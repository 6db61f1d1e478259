import json

import numpy as np
import pytest

from emgse.corpora.gaddy import prepare_gaddy
from emgse.corpora.prepared import CorpusInfo, list_utterances, read_utterance
from emgse.errors import EmgseError
from tests.conftest import write_gaddy_corpus


def test_prepare_gaddy_skips_reference_clips_and_keeps_1khz(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g")
    meta = prepare_gaddy(corpus, tmp_path / "p", val_fraction=0.2, test_fraction=0.2, progress=False)
    assert sum(meta["utterances"].values()) == 5  # 7 files, 2 reference clips (index 0 of each session)
    info = CorpusInfo.read(tmp_path / "p")
    assert (info.emg_fs, info.emg_channels) == (1000.0, 8)
    ids = [u for s in ("train", "val", "test") for u in list_utterances(tmp_path / "p", s)]
    assert "5-4_0" not in ids and "5-4_1" in ids
    split = next(s for s in ("train", "val", "test") if "5-4_2" in list_utterances(tmp_path / "p", s))
    audio, emg = read_utterance(tmp_path / "p", split, "5-4_2")
    assert emg.shape == (700, 8) and len(audio) == 700 * 16  # 0.7 s, unchanged rate


def test_random_split_is_seeded(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g")
    a = prepare_gaddy(corpus, tmp_path / "a", val_fraction=0.2, test_fraction=0.2, seed=3, progress=False)
    b = prepare_gaddy(corpus, tmp_path / "b", val_fraction=0.2, test_fraction=0.2, seed=3, progress=False)
    assert a["utterances"] == b["utterances"]
    for s in ("train", "val", "test"):
        assert list_utterances(tmp_path / "a", s) == list_utterances(tmp_path / "b", s)


def test_split_file(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g")
    split_file = tmp_path / "testset.json"
    book = "books/War_of_the_Worlds.txt"
    split_file.write_text(json.dumps({"dev": [[book, 402]], "test": [[book, 501], [book, 502]]}))
    meta = prepare_gaddy(corpus, tmp_path / "p", split_file=split_file, progress=False)
    assert meta["utterances"] == {"train": 2, "val": 1, "test": 2}
    assert list_utterances(tmp_path / "p", "test") == ["5-5_1", "5-5_2"]


def test_wrong_channel_count_is_reported(tmp_path):
    corpus = write_gaddy_corpus(tmp_path / "g")
    bad = corpus / "voiced_parallel_data" / "5-5" / "2_emg.npy"
    np.save(bad, np.zeros((700, 6)))
    with pytest.raises(EmgseError, match=r"2_emg\.npy: expected 8 EMG channels, found 6"):
        prepare_gaddy(corpus, tmp_path / "p", progress=False)
    assert not (tmp_path / "p").exists()
