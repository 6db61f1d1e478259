"""EMG statistics, measured alike on real and simulated prepared corpora."""

from __future__ import annotations

import numpy as np
import pytest

from emgse.corpora.emg_statistics import (
    STATISTICS,
    emg_statistics,
    statistics_table,
    utterance_statistics,
)
from emgse.corpora.prepared import write_corpus_info, write_utterance
from emgse.errors import EmgseError


def _bursts(n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """A syllable-like envelope: random on/off segments of 100-300 ms, smoothed."""
    env, t = np.zeros(n), 0
    while t < n:
        length = int(rng.uniform(0.1, 0.3) * fs)
        env[t : t + length] = rng.uniform(0.5, 1.0) if rng.random() < 0.5 else 0.02
        t += length
    return np.convolve(env, np.ones(int(0.02 * fs)) / int(0.02 * fs), mode="same")


def _utterance(rng: np.random.Generator, lead_s: float, seconds: float = 3.0, channels: int = 6, linked: bool = True):
    n_a, n_e = int(seconds * 16000), int(seconds * 2000)
    env_a = _bursts(n_a + int(lead_s * 16000), 16000, rng)
    audio = env_a[:n_a] * np.sin(2 * np.pi * 200 * np.arange(n_a) / 16000)
    env_e = env_a[int(lead_s * 16000) :: 8][:n_e] if linked else _bursts(n_e, 2000, rng)  # EMG at t: the speech at t + lead
    emg = rng.standard_normal((n_e, channels)) * (0.05 + env_e[:, None])
    return audio, emg


def test_lead_and_correlation_are_found(tmp_path):
    rng = np.random.default_rng(0)
    linked = [utterance_statistics(*_utterance(rng, 0.048), 2000) for _ in range(4)]
    xc = np.sum([r["xcorr"] for r in linked], axis=0)
    lead_ms = (int(np.argmax(xc)) - xc.size // 2) * 8
    assert lead_ms == 48
    unrelated = [utterance_statistics(*_utterance(rng, 0.048, linked=False), 2000) for _ in range(4)]
    assert np.max(xc) / 4 > 0.5 > np.max(np.sum([r["xcorr"] for r in unrelated], axis=0)) / 4
    assert linked[0]["active_db"] > 10 > abs(unrelated[0]["active_db"])


def test_statistics_of_a_prepared_corpus_and_their_table(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(3):
        write_utterance(tmp_path, "test", f"u{i}", *_utterance(rng, 0.04))
    write_corpus_info(tmp_path, emg_fs=2000, emg_channels=6, source="test")
    stats = emg_statistics(tmp_path)
    assert set(STATISTICS) <= set(stats) and stats["utterances"] == 3 and stats["channels"] == 6
    assert 40 <= stats["lead_ms"] <= 48 and stats["speech_corr"] > 0.5
    assert 20 < stats["median_hz"] < 290 and 0 < stats["low_share"] < 1
    assert stats["channel_corr"] < 0.3  # independent noise carriers
    assert stats["kurtosis"] > 0.5  # amplitude-modulated noise is heavy-tailed
    table = statistics_table({"real": stats, "simulated": stats})
    assert table.header == ["statistic", "real", "simulated"] and len(table.rows) == len(STATISTICS) + 1
    with pytest.raises(EmgseError, match="no utterances in train"):
        emg_statistics(tmp_path, "train")
    with pytest.raises(EmgseError, match="does not fit an EMG rate"):
        utterance_statistics(np.zeros(16000), np.ones((500, 6)), 500)


def test_realism_benchmark_prints_both_columns(tmp_path, capsys):
    from benchmarks.emg_realism import main

    from emgse.corpora.emg_uka import prepare_emg_uka
    from tests.conftest import write_emg_uka_corpus

    corpus = write_emg_uka_corpus(tmp_path / "corpus", {("002", "101"): (["0100"], ["0200", "0201"])}, seconds=1.5)
    prepare_emg_uka(corpus, "002", "101", tmp_path / "real", progress=False)
    rng = np.random.default_rng(2)
    for i in range(2):
        write_utterance(tmp_path / "sim", "test", f"u{i}", *_utterance(rng, 0.05, channels=35))
    write_corpus_info(tmp_path / "sim", emg_fs=2000, emg_channels=35, source="simulated")
    assert main(["--real", str(tmp_path / "real"), "--simulated", str(tmp_path / "sim")]) == 0
    out = capsys.readouterr().out
    assert "| statistic | real | simulated |" in out and "| utterances x channels | 2 x 6 | 2 x 35 |" in out
