import numpy as np
import pytest

from emgse.corpora.prepared import list_utterances, read_utterance, write_utterance
from emgse.errors import EmgseError
from tests.conftest import write_prepared


def test_round_trip(tmp_path):
    root = write_prepared(tmp_path / "p", {"test": 2})
    assert list_utterances(root, "test") == ["utttest00", "utttest01"]
    assert list_utterances(root, "val") == []
    audio, emg = read_utterance(root, "test", "utttest00")
    assert audio.shape == (9600,) and emg.shape == (1200, 40)


def test_mismatched_lengths_and_channels_are_errors(tmp_path):
    root = write_prepared(tmp_path / "p", {"test": 1})
    write_utterance(root, "test", "long", np.zeros(16000), np.zeros((1600, 40)))  # 1.0 s vs 0.8 s
    with pytest.raises(EmgseError, match=r"long\.emg\.npy: EMG lasts 0\.800 s but its audio 1\.000 s"):
        read_utterance(root, "test", "long")
    write_utterance(root, "test", "narrow", np.zeros(16000), np.zeros((2000, 8)))
    with pytest.raises(EmgseError, match="8 EMG channels, but corpus.json says 40"):
        read_utterance(root, "test", "narrow")
    with pytest.raises(EmgseError, match="unknown split"):
        list_utterances(root, "dev")
