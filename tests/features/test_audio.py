import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emgse.config import AudioConfig
from emgse.features.audio import frame_count, from_log_magnitude, istft, log_magnitude, stft
from emgse.features.resample import resample

PAPER = AudioConfig(edge_padding=False)


def test_shapes_match_paper_layout():
    x = torch.randn(3, 16000)
    log_mag, phase = log_magnitude(x)
    assert log_mag.shape == (3, frame_count(16000), 257)
    assert phase.shape == log_mag.shape
    assert torch.all(log_mag >= 0)
    # Paper mode: no centring, no padding.
    assert log_magnitude(x, PAPER)[0].shape == (3, (16000 - 512) // 128 + 1, 257)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(min_value=1, max_value=6000), seed=st.integers(0, 1000))
def test_reconstruction_is_exact_including_edges(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, n, generator=g) * 2 - 1
    log_mag, phase = log_magnitude(x)
    y = from_log_magnitude(log_mag, phase, n)
    assert y.shape == x.shape
    assert (y - x).abs().max().item() < 1e-4
    # the edges specifically
    assert (y[:, :400] - x[:, :400]).abs().max().item() < 1e-4
    assert (y[:, -400:] - x[:, -400:]).abs().max().item() < 1e-4


def test_unbatched_equals_batched():
    x = torch.randn(2, 5000)
    lm, ph = log_magnitude(x)
    lm0, ph0 = log_magnitude(x[1])
    assert torch.allclose(lm[1], lm0)
    assert istft(stft(x[1]), 5000).shape == (5000,)


def test_paper_mode_loses_edges():
    # Without padding the first samples are only covered by the near-zero start of the Blackman
    # window: the reason emgse pads.
    x = torch.rand(1, 8000) * 2 - 1
    lm, ph = log_magnitude(x, PAPER)
    y = from_log_magnitude(lm, ph, 8000, PAPER)
    assert y.shape == x.shape
    assert (y[:, 1000:7000] - x[:, 1000:7000]).abs().max() < 1e-4
    assert (y[:, :2] - x[:, :2]).abs().max() > 1e-3


def test_frame_j_spans_expected_samples():
    # A click at sample s raises the energy of exactly the frames whose span
    # [j*hop - pad, j*hop - pad + win) contains s.
    cfg = AudioConfig()
    s = 5000
    x = torch.zeros(16000)
    x[s] = 1.0
    energy = stft(x).abs().pow(2).sum(-1)
    hit = set(torch.nonzero(energy > 1e-6).flatten().tolist())
    expected = {j for j in range(len(energy)) if j * cfg.hop_length - cfg.pad_length <= s < j * cfg.hop_length - cfg.pad_length + cfg.win_length}
    # the window's first sample is ~0, so the frame starting exactly at s may not register
    assert hit <= expected and len(expected - hit) <= 1 and len(hit) >= 3


def test_differentiable():
    log_mag = (torch.rand(1, 20, 257) * 2).requires_grad_()
    phase = torch.rand(1, 20, 257) * 6.28
    y = from_log_magnitude(log_mag, phase, 2000)
    y.pow(2).sum().backward()
    assert log_mag.grad is not None and torch.isfinite(log_mag.grad).all() and log_mag.grad.abs().sum() > 0
    x = torch.randn(1, 3000, requires_grad=True)
    log_magnitude(x)[0].sum().backward()
    assert torch.isfinite(x.grad).all()


def test_too_short_for_one_frame_raises():
    with pytest.raises(ValueError):
        stft(torch.zeros(100), PAPER)


def test_resample_rates():
    x = np.sin(2 * np.pi * 440 * np.arange(20000) / 20000)
    y = resample(x, 20000, 16000)
    assert len(y) == 16000
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * 16000 / len(y) - 440) < 2


def test_paper_window_is_the_authors_symmetric_blackman():
    # The authors' STFT: librosa.stft(x, n_fft=512, hop_length=128, window=scipy.signal.windows.blackman,
    # center=False), i.e. rfft of each frame times the symmetric 512-point Blackman.
    from scipy.signal.windows import blackman

    x = np.random.default_rng(0).standard_normal(4000)
    ours = stft(torch.as_tensor(x), PAPER).numpy()  # (frames, 257)
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::128]
    np.testing.assert_allclose(ours, np.fft.rfft(frames * blackman(512), axis=-1), atol=1e-9)
    periodic = stft(torch.as_tensor(x), AudioConfig(edge_padding=False, window_periodic=True)).numpy()
    assert np.abs(periodic - ours).max() > 1e-3  # the option really changes the window


@pytest.mark.parametrize("periodic", [False, True])
def test_both_windows_reconstruct_perfectly(periodic):
    cfg = AudioConfig(window_periodic=periodic)
    x = torch.rand(3001, dtype=torch.float64) * 2 - 1
    y = istft(stft(x, cfg), 3001, cfg)
    assert (y - x).abs().max().item() < 1e-10


def test_checkpoints_older_than_the_window_option_keep_periodic_windows():
    from emgse.checkpoint import configs
    from emgse.config import EmgConfig, to_dict

    old = {k: v for k, v in to_dict(AudioConfig()).items() if k != "window_periodic"}
    old_emg = {k: v for k, v in to_dict(EmgConfig()).items() if k != "window_periodic"}
    audio, emg = configs({"audio_config": old, "emg_config": old_emg})
    assert audio.window_periodic and emg.window_periodic
    audio, emg = configs({"audio_config": to_dict(AudioConfig()), "emg_config": to_dict(EmgConfig())})
    assert not audio.window_periodic and not emg.window_periodic
