"""The EMG length rule: a short or long EMG is fitted as *raw* EMG to the audio's duration, once, for
training, enhancement and streaming."""

import numpy as np

from emgse.config import AudioConfig, EmgConfig
from emgse.data import utterance_emg
from emgse.features.audio import frame_count
from emgse.features.emg import CHANNEL_SETS, emg_features, emg_samples, fit_emg, minmax_normalize
from tests.emg_signals import realistic_emg

ALL = list(CHANNEL_SETS["all"])


def test_short_emg_leaves_the_normalization_of_the_other_frames_alone():
    """EMG 60 ms shorter than the audio: per-utterance min-max of the frames the EMG covers is (nearly)
    what it is with the audio trimmed to the EMG (zero feature frames used to stretch every frame's scale)."""
    cfg = EmgConfig()
    for seed in range(3):
        audio_samples = 24077
        emg = realistic_emg(audio_samples // 8 + 1 - 120, seed=seed)  # 60 ms short
        frames = frame_count(audio_samples, AudioConfig())
        matched = frame_count(emg.shape[0] * 8, AudioConfig())
        short = minmax_normalize(emg_features(emg, 2000.0, cfg, n_frames=frames))
        reference = minmax_normalize(emg_features(emg, 2000.0, cfg, n_frames=matched))
        common = matched - 3
        shift = np.abs(short[:common] - reference[:common]).reshape(common, 40, 5).max(axis=(0, 1))
        assert np.all(shift[:4] < 0.1), shift  # low mean, low power, high mean |x|, high power


def test_one_length_rule_for_training_enhancement_and_streaming():
    cfg = EmgConfig(normalization="zscore")
    frames = frame_count(19277, AudioConfig())
    need = emg_samples(frames, 2000.0, cfg)
    assert need == (19277 + 127) // 128 * 16  # the audio's duration in whole hops
    for offset in (-120, 100):  # 60 ms short, 50 ms long
        emg = realistic_emg(19277 // 8 + offset, seed=1)
        fitted = fit_emg(emg, need)
        assert fitted.shape == (need, 40)
        if offset < 0:
            assert np.all(fitted[emg.shape[0] :] == emg[-1])  # the last sample held, as the streamer's flush does
        else:
            np.testing.assert_array_equal(fitted, emg[:need])
        train = utterance_emg(emg, 2000.0, frames, ALL, cfg)  # the feature store's path
        np.testing.assert_array_equal(train, emg_features(fitted, 2000.0, cfg)[:, (np.asarray(ALL)[:, None] * 5 + np.arange(5)).ravel()])
