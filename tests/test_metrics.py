"""Behavioural tests of the scores: monotone in SNR, exact on identity, NaN on failure."""

from __future__ import annotations

import numpy as np
import pytest

from emgse.corpora.prepared import AUDIO_FS
from emgse.errors import EmgseError
from emgse.metrics import METRICS, SI_SDR_LIMIT_DB, pesq_wb, score_pair, si_sdr, stoi
from emgse.synthetic import add_white_noise, speech_like


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return speech_like()


def test_every_metric_increases_with_snr(clean):
    snrs = (-5, 0, 10, 20)
    scores = [score_pair(clean, add_white_noise(clean, snr)) for snr in snrs]
    for metric in METRICS:
        values = np.array([s[metric] for s in scores])
        assert np.all(np.isfinite(values)), (metric, values)
        assert np.all(np.diff(values) > 0), (metric, values)
    # SI-SDR of additive white noise is the SNR itself (noise is almost orthogonal to speech).
    np.testing.assert_allclose([s["si_sdr"] for s in scores], snrs, atol=0.2)
    # and the spread is substantial, not rounding noise
    assert scores[-1]["stoi"] - scores[0]["stoi"] > 0.3
    assert scores[-1]["estoi"] - scores[0]["estoi"] > 0.4


def test_identity_is_perfect(clean):
    s = score_pair(clean, clean)
    assert s["pesq"] > 4.4
    assert s["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert s["estoi"] == pytest.approx(1.0, abs=1e-6)
    assert s["si_sdr"] > 100


def test_si_sdr_is_scale_invariant_and_matches_definition(clean):
    noisy = add_white_noise(clean, 5.0)
    base = si_sdr(clean, noisy)
    assert si_sdr(clean, 0.1 * noisy) == pytest.approx(base, abs=1e-9)
    assert si_sdr(3.0 * clean, noisy) == pytest.approx(base, abs=1e-9)
    # DC offsets are removed
    assert si_sdr(clean + 0.5, noisy - 0.2) == pytest.approx(base, abs=1e-6)
    # explicit projection
    r, e = clean - clean.mean(), noisy - noisy.mean()
    target = (e @ r) / (r @ r) * r
    assert base == pytest.approx(10 * np.log10(np.sum(target**2) / np.sum((e - target) ** 2)), abs=1e-9)


def test_si_sdr_vectorized_and_degenerate_cases(clean):
    batch = np.stack([add_white_noise(clean, snr, seed=i) for i, snr in enumerate((0.0, 10.0))])
    out = si_sdr(clean[None], batch)
    assert out.shape == (2,)
    np.testing.assert_allclose(out, [si_sdr(clean, b) for b in batch])
    assert si_sdr(clean, clean) == SI_SDR_LIMIT_DB
    assert np.isnan(si_sdr(np.zeros(100), np.ones(100)))
    assert np.isnan(si_sdr(clean, np.zeros_like(clean)))


def test_failures_give_nan_not_exceptions(clean):
    silent = np.zeros_like(clean)
    s = score_pair(silent, clean)
    assert np.isnan(s["pesq"]) and np.isnan(s["stoi"]) and np.isnan(s["estoi"]) and np.isnan(s["si_sdr"])
    # too short for PESQ (< 1/4 s) and for STOI (< 30 frames)
    short = clean[: AUDIO_FS // 8]
    assert np.isnan(pesq_wb(short, short))
    assert np.isnan(stoi(short, short))


def test_score_pair_rejects_bad_input(clean):
    with pytest.raises(EmgseError, match="samples but the estimate has"):
        score_pair(clean, clean[:-1])
    with pytest.raises(EmgseError, match="16000 Hz"):
        score_pair(clean, clean, fs=8000)
    bad = clean.copy()
    bad[10] = np.nan
    with pytest.raises(EmgseError, match="estimate contains NaN"):
        score_pair(clean, bad)
    with pytest.raises(EmgseError, match="mono"):
        score_pair(np.stack([clean, clean], 1), np.stack([clean, clean], 1))


@pytest.mark.parametrize("outcome", ["raise", "code"])
def test_pesq_library_errors_become_nan(clean, monkeypatch, outcome):
    import pesq

    def failing(fs, ref, deg, mode, on_error=0):
        if outcome == "raise":
            raise pesq.NoUtterancesError("No utterances detected")
        return pesq.PesqError.NO_UTTERANCES_DETECTED  # what on_error=RETURN_VALUES gives

    monkeypatch.setattr(pesq, "pesq", failing)
    assert np.isnan(pesq_wb(clean, clean))
    assert np.isnan(score_pair(clean, clean)["pesq"])
