"""Behavioural tests of the scores: monotone in SNR, exact on identity, NaN on failure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from emgse.errors import EmgseError
from emgse.metrics import METRICS, SI_SDR_LIMIT_DB, pesq_wb, score_pair, si_sdr, stoi

FS = 16000
# (F1, F2, F3, F4) in Hz of a few vowels
_VOWELS = np.array([(730, 1090, 2440, 3400), (270, 2290, 3010, 3700), (300, 870, 2240, 3300),
                    (530, 1840, 2480, 3500), (570, 840, 2410, 3300), (440, 1020, 2240, 3200)])


def speech_like(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A deterministic speech-like signal ``(samples,)`` at 16 kHz, peak 0.3.

    Glottal pulse train (f0 around 110 Hz with drift and vibrato, spectral tilt), cut into
    syllables of 150-350 ms with short pauses, each filtered by four formant resonators of a
    random vowel, some with a fricative (high-passed noise) onset. PESQ detects it as speech.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    f0 = 110 * (1 + 0.15 * np.sin(2 * np.pi * 0.4 * t + rng.uniform(0, 6)) + 0.03 * np.sin(2 * np.pi * 4.7 * t))
    pulses = np.diff(np.floor(np.cumsum(f0) / FS), prepend=0.0)
    source = lfilter([1.0, -1.0], [1.0, -0.97], pulses) + 0.02 * rng.standard_normal(n)
    out = np.zeros(n)
    pos = int(0.1 * FS)
    while pos < n - int(0.2 * FS):
        d = min(int(rng.uniform(0.15, 0.35) * FS), n - pos)
        y = np.zeros(d)
        for f, bw, g in zip(_VOWELS[rng.integers(len(_VOWELS))], (90, 110, 160, 200), (1.0, 0.7, 0.35, 0.2), strict=True):
            r = np.exp(-np.pi * bw / FS)
            y += g * lfilter([1 - r * r], [1, -2 * r * np.cos(2 * np.pi * f / FS), r * r], source[pos : pos + d])
        y *= np.sin(np.pi * np.arange(d) / d) ** 0.6
        if rng.random() < 0.5:
            m = int(0.06 * FS)
            fricative = lfilter([1, -0.9], [1], rng.standard_normal(m)) * np.hanning(m)
            y[:m] += 0.45 * fricative * np.std(y) / np.std(fricative)
        out[pos : pos + d] += y
        pos += d + int(rng.uniform(0.02, 0.12) * FS)
    return 0.3 * out / np.max(np.abs(out))


def add_white_noise(clean: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(clean.size)
    return clean + noise * np.sqrt(np.sum(clean**2) / (np.sum(noise**2) * 10 ** (snr_db / 10)))


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
    short = clean[: FS // 8]
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
