import numpy as np

from emgse.metrics import si_sdr
from emgse.oracle import ideal_ratio_mask


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
