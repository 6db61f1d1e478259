import numpy as np
import pytest
import torch

from emgse.config import AudioConfig, EmgConfig
from emgse.errors import EmgseError
from emgse.features.audio import log_magnitude
from emgse.features.emg import (
    CHANNEL_SETS,
    DEAD_CHANNELS,
    ZScore,
    emg_features,
    minmax_normalize,
    resolve_channels,
    select_features,
    stack_context,
)
from emgse.features.td import td_features
from emgse.features.utterance import utterance_features


def test_unsupported_rate_short_and_nan_raise():
    with pytest.raises(EmgseError, match="2048"):
        td_features(np.zeros((4096, 2)), 2048.0)
    with pytest.raises(EmgseError, match="shorter than one"):
        td_features(np.zeros((10, 2)), 2000.0)
    bad = np.zeros((500, 2))
    bad[3, 1] = np.nan
    with pytest.raises(EmgseError, match="NaN"):
        td_features(bad)
    with pytest.raises(EmgseError, match="samples, channels"):
        td_features(np.zeros(500))


def test_emg_and_audio_frames_cover_the_same_time():
    # An event at 0.3 s in both modalities must peak in the same frames.
    audio = np.zeros(16000)
    audio[int(0.3 * 16000)] = 1.0
    for fs in (2000.0, 1000.0):
        emg = np.zeros((int(fs), 1))
        emg[int(0.3 * fs), 0] = 1.0
        log_mag, feats = utterance_features(audio, emg, fs)
        assert feats.shape[0] == log_mag.shape[0]
        audio_hit = np.flatnonzero(log_mag.sum(1) > 1e-5)
        emg_energy = feats[:, 3]  # high-band power
        emg_hit = np.flatnonzero(emg_energy > emg_energy.max() * 1e-3)
        # the filtered impulse rings for a few ms after the event; its onset frames must match
        assert emg_hit[0] in (audio_hit[0], audio_hit[0] + 1)
        assert abs(np.argmax(log_mag.sum(1)) - np.argmax(emg_energy)) <= 1


def test_emg_features_fit_audio_frame_count():
    emg = np.random.default_rng(0).standard_normal((2003, 4))
    cfg = EmgConfig()
    assert emg_features(emg, 2000.0, cfg, n_frames=200).shape == (200, 20)
    assert np.all(emg_features(emg, 2000.0, cfg, n_frames=300)[-1, 0::5] != 0)  # the raw EMG is held, not zero features
    lm, _ = log_magnitude(torch.zeros(16024), AudioConfig())
    assert emg_features(emg, 2000.0, cfg).shape[0] == lm.shape[0]


def test_stack_context_frame_major_zero_padded():
    x = np.arange(12, dtype=float).reshape(4, 3) + 1  # frames 0..3, dims 3
    s = stack_context(x, 1)
    assert s.shape == (4, 9)
    np.testing.assert_array_equal(s[0], [0, 0, 0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(s[2], [4, 5, 6, 7, 8, 9, 10, 11, 12])
    np.testing.assert_array_equal(s[3], [7, 8, 9, 10, 11, 12, 0, 0, 0])
    assert stack_context(np.ones((40, 175)), 15).shape == (40, 5425)


def test_minmax_and_zscore():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 6)) * 10 + 3
    x[:, 2] = 7.0
    m = minmax_normalize(x)
    assert m.min() == 0 and m.max() == 1 and np.all(m[:, 2] == 0)
    parts = [rng.standard_normal((n, 4)) * 3 + 1 for n in (10, 30, 7)]
    z = ZScore.fit(parts)
    full = np.concatenate(parts)
    np.testing.assert_allclose(z.mean, full.mean(0))
    np.testing.assert_allclose(z.std, full.std(0))
    out = z(full)
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    z2 = ZScore.from_dict(z.to_dict())
    np.testing.assert_array_equal(z2(full), out)
    with pytest.raises(EmgseError):
        z(np.zeros((2, 5)))


def test_channel_sets():
    assert len(CHANNEL_SETS["all"]) == 35 and len(CHANNEL_SETS["cheek"]) == 28 and len(CHANNEL_SETS["chin"]) == 7
    assert not set(DEAD_CHANNELS) & set(CHANNEL_SETS["all"])
    assert set(CHANNEL_SETS["cheek"]) == set(range(32)) - {7, 15, 23, 31}
    assert resolve_channels("chin", 40) == list(range(32, 39))
    assert resolve_channels("all", 8) == list(range(8))
    assert resolve_channels("0-2,5", 8) == [0, 1, 2, 5]
    assert resolve_channels([4, 1], 8) == [4, 1]
    with pytest.raises(EmgseError, match="40-channel"):
        resolve_channels("cheek", 8)
    with pytest.raises(EmgseError, match="out of range"):
        resolve_channels("9", 8)
    with pytest.raises(EmgseError, match="unknown channel set"):
        resolve_channels("lips", 40)
    f = np.arange(20, dtype=float)[None]  # 4 channels x 5
    np.testing.assert_array_equal(select_features(f, [2, 0]), [[10, 11, 12, 13, 14, 0, 1, 2, 3, 4]])
