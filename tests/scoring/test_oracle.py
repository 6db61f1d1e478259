import numpy as np
import pytest
import torch

from emgse.features.audio import stft
from emgse.metrics import pesq_wb, si_sdr, stoi
from emgse.scoring.oracle import clean_magnitude_noisy_phase, ideal_ratio_mask
from emgse.synthetic import speech_like


def test_irm_beats_noisy_and_is_exact_without_noise():
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    speech = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    noise = 0.3 * rng.standard_normal(16000)
    noisy = speech + noise
    est = ideal_ratio_mask(noisy, speech)
    assert est.shape == noisy.shape
    assert si_sdr(speech, est) > si_sdr(speech, noisy) + 10
    np.testing.assert_allclose(ideal_ratio_mask(speech, speech), speech, atol=1e-5)


def _mixture(snr_db: float, seconds: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    speech = speech_like(seconds)
    noise = speech_like(seconds, seed=7)[::-1].copy()  # a competing "talker": overlapping spectra
    noise += 0.05 * np.random.default_rng(1).standard_normal(len(noise))
    noise *= np.sqrt(np.mean(speech**2) / np.mean(noise**2)) * 10 ** (-snr_db / 20)
    return speech + noise, speech


def test_magnitude_oracle_is_the_clean_magnitude_with_the_noisy_phase():
    noisy, speech = _mixture(-11.0)
    est = clean_magnitude_noisy_phase(noisy, speech)
    assert est.shape == noisy.shape and est.dtype == np.float32
    # where the noise has the speech's phase (noise = speech), the oracle is the speech itself;
    # the IRM, a mask of the summed magnitude, is not (sqrt(1/2) * 2 |S|)
    np.testing.assert_allclose(clean_magnitude_noisy_phase(2 * speech, speech), speech, atol=1e-5)
    assert np.abs(ideal_ratio_mask(2 * speech, speech) - speech).max() > 0.05
    # its phase is the noisy one: re-analysed, each frame's phase is closer to the noisy phase than
    # to the clean phase, and its magnitude closer to the clean magnitude than the IRM's
    spec = lambda x: stft(torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy()  # noqa: E731
    s, y, e, m = spec(speech), spec(noisy), spec(est), spec(ideal_ratio_mask(noisy, speech))
    loud = np.abs(s) > 0.1 * np.abs(s).max()
    to_noisy = np.abs(np.angle(e[loud] * np.conj(y[loud]))).mean()
    to_clean = np.abs(np.angle(e[loud] * np.conj(s[loud]))).mean()
    assert to_noisy < 0.5 * to_clean
    assert np.abs(np.abs(e) - np.abs(s)).mean() < np.abs(np.abs(m) - np.abs(s)).mean()


@pytest.mark.parametrize("snr_db", [-11.0, 4.0])
def test_magnitude_oracle_scores_at_least_the_irm(snr_db):
    noisy, speech = _mixture(snr_db)
    mag, irm = clean_magnitude_noisy_phase(noisy, speech), ideal_ratio_mask(noisy, speech)
    # the ceiling of the mapping models is above the mask oracle on PESQ and ESTOI (here by about
    # +0.3 PESQ); not on SI-SDR at -11 dB, where the noisy phase costs more than the mask's magnitude error
    assert pesq_wb(speech, mag) >= pesq_wb(speech, irm) + 0.1
    assert stoi(speech, mag, extended=True) >= stoi(speech, irm, extended=True)
