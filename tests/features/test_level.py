"""Input level normalization: scale-equivariant, causal, the same numbers offline, hop by hop and in
training; a trained model's scores do not move with the input gain; old checkpoints unchanged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emgse.config import AudioConfig, EmgConfig
from emgse.data import FeatureStore, SegmentDataset
from emgse.features.audio import frame_count, log_magnitude
from emgse.features.level import (
    LEVEL_RMS,
    RunningLevel,
    frame_gains,
    levelled_log_magnitude,
    unlevelled_waveform,
    with_level,
)
from emgse.synthetic import speech_like

LEVEL = with_level()


def noisy_speech(seconds: float = 2.0, seed: int = 0, snr_db: float = 5.0) -> np.ndarray:
    clean = speech_like(seconds, seed=seed)
    noise = np.random.default_rng(seed + 100).standard_normal(clean.size)
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) * 10 ** (-snr_db / 20)
    return clean + noise


@settings(max_examples=40, deadline=None)
@given(gain=st.floats(0.03, 3.0), n=st.integers(130, 6000), seed=st.integers(0, 2**16), paper_grid=st.booleans())
def test_gains_are_scale_equivariant(gain, n, seed, paper_grid):
    config = dataclasses.replace(LEVEL, edge_padding=not paper_grid)
    x = np.random.default_rng(seed).standard_normal(n + 512) * np.linspace(0.01, 0.3, n + 512)
    g1, g2 = frame_gains(x, config), frame_gains(gain * x, config)
    assert g1.shape == (frame_count(n + 512, config),)
    np.testing.assert_allclose(g2, gain * g1, rtol=1e-5)
    # ... so the model input does not move at all
    a, _, _ = levelled_log_magnitude(torch.as_tensor(x, dtype=torch.float32), config)
    b, _, _ = levelled_log_magnitude(torch.as_tensor(gain * x, dtype=torch.float32), config)
    assert torch.allclose(a, b, atol=2e-4)


def test_gains_are_causal_and_track_the_level():
    x = noisy_speech(3.0)
    g = frame_gains(x, LEVEL)
    changed = x.copy()
    changed[16000:] *= 10.0  # the future changes: frames that end before sample 16000 keep their gain
    g2 = frame_gains(changed, LEVEL)
    last_untouched = 16000 // 128 - 1  # frame j ends with hop j on the edge-padded grid
    np.testing.assert_array_equal(g2[: last_untouched + 1], g[: last_untouched + 1])
    assert g2[-1] > 5 * g[-1]
    # the running RMS is about the signal's RMS once warmed up, so levelled frames sit near the target
    rms = np.sqrt(np.mean(x**2))
    assert g[-1] * LEVEL_RMS == pytest.approx(rms, rel=0.3)
    assert np.all(np.isfinite(frame_gains(np.zeros(1000), LEVEL)))
    assert frame_gains(x, AudioConfig()) is None


def test_running_level_equals_frame_gains_hop_by_hop():
    x = noisy_speech(1.0, seed=3)
    n = len(x) // 128 * 128
    offline = frame_gains(x[:n], LEVEL)
    level = RunningLevel(LEVEL)
    hops = [level.push(x[i : i + 128]) for i in range(0, n, 128)]
    hops += [level.push(np.zeros(128)) for _ in range(len(offline) - len(hops))]  # the end padding
    np.testing.assert_array_equal(np.array(hops, np.float32), offline)


def test_without_level_the_front_end_is_unchanged():
    x = torch.as_tensor(noisy_speech(0.7, seed=2), dtype=torch.float32)
    log_mag, phase, gains = levelled_log_magnitude(x, AudioConfig())
    ref_mag, ref_phase = log_magnitude(x, AudioConfig())
    assert gains is None and torch.equal(log_mag, ref_mag) and torch.equal(phase, ref_phase)
    # with the rule, the round trip still reconstructs the input
    log_mag, phase, gains = levelled_log_magnitude(x, LEVEL)
    y = unlevelled_waveform(log_mag, phase, gains, len(x), LEVEL)
    assert torch.allclose(y, x, atol=1e-4)


def test_training_store_applies_the_same_rule(tmp_path):
    """noisy.npy = the enhancement front-end's levelled input; the clean target uses the noisy gain."""
    from emgse.files import read_audio
    from emgse.mixing import read_manifest
    from tests.pipeline import tiny_pipeline

    p = tiny_pipeline(tmp_path, audio_config=LEVEL)
    assert p["train"].parent.name.startswith("all-minmax-")  # the key hashes the level settings too
    store = FeatureStore.open(p["train"])
    assert store.level is not None
    mix = store.index["mixtures"][0]
    noisy, _ = read_audio(p["mix"] / mix["path"])
    expected, _, gains = levelled_log_magnitude(torch.as_tensor(noisy, dtype=torch.float32), LEVEL)
    np.testing.assert_allclose(store.noisy[: mix["frames"]], expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(store.level[: mix["frames"]], gains[:, 0].numpy())
    row = next(r for r in read_manifest(p["mix"]) if r["path"] == mix["path"])
    clean, _ = read_audio(p["prep"] / row["clean"])
    clean_mag = torch.expm1(log_magnitude(torch.as_tensor(clean, dtype=torch.float32))[0]).numpy()
    item = SegmentDataset(store, segment=mix["frames"], context=2, random=False)[0]
    target = np.log1p(mix["gain"] * clean_mag / gains.numpy())
    np.testing.assert_allclose(item["clean"].numpy(), target, atol=1e-4)
    # a store built without the rule, or with another target level, is another folder (the store key
    # hashes every audio setting)
    from emgse.training import store_for

    plain = store_for(p["mix"], "train", EmgConfig(), progress=False).parent.name
    other = store_for(p["mix"], "train", EmgConfig(), audio_config=with_level(level_rms=0.1), progress=False).parent.name
    assert len({plain, other, p["train"].parent.name}) == 3


def _with_audio_config(src, dst, audio_config: dict):
    from emgse.checkpoint import read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(src)
    save_checkpoint(dst, {**ckpt, "audio_config": audio_config})
    return dst


def test_streaming_equals_offline_with_level_normalization(tmp_path):
    from emgse.config import to_dict
    from emgse.enhance import Enhancer
    from emgse.stream import Streamer, stream_array
    from tests.test_stream import make_checkpoint, signals

    ckpt = _with_audio_config(make_checkpoint(tmp_path / "c.pt", "causal-emgse"), tmp_path / "level.pt", to_dict(LEVEL))
    enh = Enhancer(ckpt)
    audio, emg = signals(1.0)
    audio = audio * np.linspace(0.05, 2.0, len(audio), dtype=np.float32)  # a level that moves
    offline = enh.enhance(audio, emg)
    y, _ = stream_array(Streamer(enh), audio, emg)
    assert np.abs(y - offline).max() <= 1e-5 * max(1.0, np.abs(offline).max())
    assert np.abs(offline).max() > 1e-3
    # and the level rule is really on: the raw front-end gives another output
    plain = Enhancer(_with_audio_config(ckpt, tmp_path / "plain.pt", to_dict(AudioConfig()))).enhance(audio, emg)
    assert np.abs(plain - offline).max() > 1e-3


def test_old_checkpoints_load_and_give_identical_output(tmp_path):
    """A checkpoint saved before the level setting existed (no level keys) runs the raw front-end."""
    from emgse.config import to_dict
    from emgse.enhance import Enhancer
    from emgse.features.audio import from_log_magnitude
    from tests.test_stream import make_checkpoint, signals

    old = {k: v for k, v in to_dict(AudioConfig()).items() if not k.startswith("level")}
    ckpt = _with_audio_config(make_checkpoint(tmp_path / "c.pt", "causal-audio"), tmp_path / "old.pt", old)
    enh = Enhancer(ckpt)
    assert enh.audio_config.level_rms is None
    audio, _ = signals(0.8)
    x = torch.as_tensor(audio)
    with torch.no_grad():
        log_mag, phase = log_magnitude(x)
        expected = from_log_magnitude(enh.model(log_mag[None], None)[0], phase, len(audio)).numpy()
    np.testing.assert_array_equal(enh.enhance(audio), expected)


@pytest.fixture(scope="module")
def trained_levelled(tmp_path_factory):
    from emgse.training import TrainConfig, train
    from tests.pipeline import tiny_pipeline

    root = tmp_path_factory.mktemp("level_train")
    p = tiny_pipeline(root, audio_config=LEVEL)
    train(p["train"], p["val"], root / "run", TrainConfig(model="audio", max_epochs=2, batch_size=4, lr=1e-3), progress=False)
    return root / "run" / "best.pt"


def test_trained_model_scores_do_not_depend_on_input_gain(trained_levelled):
    from emgse.enhance import Enhancer
    from emgse.metrics import stoi

    enh = Enhancer(trained_levelled)
    assert enh.audio_config.level_rms == LEVEL_RMS
    clean = speech_like(2.0, seed=7)
    noise = np.random.default_rng(7).standard_normal(clean.size) * np.sqrt(np.mean(clean**2))  # 0 dB
    scores = {}
    for gain in (0.03, 0.1, 0.3, 1.0, 3.0):
        y = enh.enhance(gain * (clean + noise))
        scores[gain] = stoi(gain * clean, y)
        assert np.all(np.isfinite(y))
    assert max(scores.values()) - min(scores.values()) <= 0.02, scores
