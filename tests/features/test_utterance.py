"""The EMG length rule: a short or long EMG is fitted as *raw* EMG to the audio's duration, once, for
training, enhancement and streaming."""

import numpy as np

from emgse.config import AudioConfig, EmgConfig
from emgse.features.audio import frame_count
from emgse.features.emg import (
    CHANNEL_SETS,
    emg_features,
    emg_samples,
    fit_emg,
    minmax_normalize,
    select_features,
    utterance_emg,
)
from emgse.features.td import td_features
from tests.emg_signals import realistic_emg

ALL = list(CHANNEL_SETS["all"])


def test_short_emg_leaves_the_normalization_of_the_other_frames_alone():
    """EMG 60 ms shorter than the audio: per-utterance min-max (the store's and the enhancer's
    :func:`utterance_emg`) of the frames the EMG covers equals what it is with the audio trimmed to
    the EMG, for every feature including the ZCR. (Zero feature frames used to stretch every frame's
    scale; then the held last sample's rounding-noise ZCR of ~1 did.)"""
    cfg = EmgConfig()
    assert cfg.normalization == "minmax"
    for seed in range(3):
        audio_samples = 24077
        emg = realistic_emg(audio_samples // 8 + 1 - 120, seed=seed)  # 60 ms short
        frames = frame_count(audio_samples, AudioConfig())
        matched = frame_count(emg.shape[0] * 8, AudioConfig())
        short = utterance_emg(emg, 2000.0, frames, ALL, cfg)
        reference = utterance_emg(emg, 2000.0, matched, ALL, cfg)
        assert short.shape == (frames, 175) and frames - matched >= 7
        common = matched - 3
        shift = np.abs(short[:common] - reference[:common]).reshape(common, 35, 5).max(axis=(0, 1))
        assert np.all(shift < 1e-6), shift  # low mean, low power, high mean |x|, high power, ZCR
        assert short.min() >= 0.0 and short.max() <= 1.0  # the frames past the EMG stay on the [0, 1] scale


def test_minmax_without_edge_padding_uses_the_authors_frames():
    """With the authors' grid (no edge padding) the min-max statistics come from the frames whose
    window lies within the recorded EMG, as in their code (features of the EMG, then min-max)."""
    cfg = EmgConfig(edge_padding=False)
    emg = realistic_emg(3001, seed=4)
    own = (3001 - 64) // 16 + 1
    frames = own + 12  # audio 96 ms longer than the EMG
    x = utterance_emg(emg, 2000.0, frames, ALL, cfg)
    theirs = minmax_normalize(select_features(td_features(emg, 2000.0), ALL))
    np.testing.assert_allclose(x[:own], theirs, atol=1e-6)


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
