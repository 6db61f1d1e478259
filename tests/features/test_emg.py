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
    split_bands,
    stack_context,
    td_features,
    td_features_reference,
)
from emgse.features.utterance import utterance_features
from tests.emg_signals import realistic_emg


@pytest.mark.parametrize(("fs", "channels", "n"), [(2000.0, 35, 3001), (1000.0, 8, 1500), (2000.0, 1, 64), (4000.0, 3, 2000)])
def test_td_features_equal_reference_loop(fs, channels, n):
    emg = np.random.default_rng(1).standard_normal((n, channels)) * 50 + 3.0
    fast = td_features(emg, fs)
    slow = td_features_reference(emg, fs)
    win, hop = int(0.032 * fs), int(0.008 * fs)
    assert fast.shape == ((n - win) // hop + 1, channels * 5)
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-9 * np.abs(slow).max())


def test_zero_crossings_of_a_held_stretch_count_the_settled_band():
    """EMG held at its last value (the edge padding of the EMG length rule) leaves a high band of
    rounding noise; the zero-crossing feature counts it as settled (all zero: every pair counts),
    so it no longer depends on rounding, while moving EMG is counted as before."""
    emg = realistic_emg(1600, seed=3)[:, :6]
    held = np.concatenate([emg, np.repeat(emg[-1:], 400, axis=0)])
    low, high = split_bands(held, 2000.0)
    assert np.abs(high[-50:]).max() < 1e-12 * np.abs(low[-50:]).min()  # settled: rounding noise only
    feats = td_features(held, 2000.0).reshape(-1, 6, 5)
    np.testing.assert_array_equal(feats[-1, :, 4], 63 / 64)  # the last frame lies in the settled stretch
    np.testing.assert_allclose(feats, td_features_reference(held, 2000.0).reshape(-1, 6, 5), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(feats[:20], td_features(emg, 2000.0).reshape(-1, 6, 5)[:20])  # moving EMG: unchanged


def authors_td_features(emg: np.ndarray, channels: list[int]) -> np.ndarray:
    """A plain transcription of the authors' loop (main/sEMG_feature_extract.py of
    eric-wang135/EMGSE): sos Butterworth filters, np.blackman(64), windowed frames."""
    from scipy import signal

    lowpass = signal.butter(3, 134, "low", output="sos", fs=2000)
    highpass = signal.butter(3, 134, "high", output="sos", fs=2000)
    win_size, step, feature_num = 64, 16, 5
    window = np.blackman(win_size)
    win_num = (emg.shape[0] - win_size) // step + 1
    data = np.zeros([win_num, feature_num * len(channels)])
    for i, ch in enumerate(channels):
        emg_lowband = signal.sosfilt(lowpass, emg[:, ch])
        emg_highband = signal.sosfilt(highpass, emg[:, ch])
        for j in range(win_num):
            emg_low = emg_lowband[step * j : step * j + win_size] * window
            emg_high = emg_highband[step * j : step * j + win_size] * window
            data[j, i * feature_num] = np.mean(emg_low)
            data[j, i * feature_num + 1] = np.mean(np.power(emg_low, 2))
            data[j, i * feature_num + 2] = np.mean(np.abs(emg_high))
            data[j, i * feature_num + 3] = np.mean(np.power(emg_high, 2))
            data[j, i * feature_num + 4] = sum((emg_high[0:-1]) * (emg_high[1:]) <= 0) / win_size
    return data


def test_td_features_equal_the_authors_loop():
    # The authors' zero-crossing rate is taken on the *windowed* high band; their window is the
    # symmetric np.blackman(64), whose ends are -1.4e-17, so the edge pairs count a crossing when
    # the unwindowed samples have the same sign. Identical ZCRs, the rest to float32 rounding.
    used = list(CHANNEL_SETS["all"])
    emg = realistic_emg(1203, 40)
    theirs = authors_td_features(emg, used)
    ours = select_features(td_features(emg, 2000.0), used).astype(np.float64)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours[:, 4::5], theirs[:, 4::5], rtol=0, atol=1e-9)
    for k in range(4):
        np.testing.assert_allclose(ours[:, k::5], theirs[:, k::5], rtol=2e-6, atol=1e-9 * np.abs(theirs[:, k::5]).max())


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(8)
    emg = realistic_emg(3001, 13, seed=7)
    held = realistic_emg(1600, 6, seed=3)
    return {
        "noise": rng.standard_normal((4003, 35)) * 30 + 5,
        "band-limited float32": emg,
        "held tail": np.concatenate([held, np.repeat(held[-1:], 400, axis=0)]),
        "edge padded": np.pad(emg[:1207], ((24, 300), (0, 0)), mode="edge"),
        "zeros": np.zeros((1000, 3)),
        "one frame, odd channels": rng.standard_normal((64, 7)),
        "odd length": rng.standard_normal((1234, 9)) + 5,
        "tiny and zero stretches": np.concatenate([rng.standard_normal((500, 4)), np.zeros((300, 4)), 1e-160 * rng.standard_normal((301, 4))]),
    }


@pytest.mark.parametrize("kwargs", [{}, {"periodic": True}, {"fs": 1000.0}, {"hop_s": 0.012}, {"order": 2}, {"order": 4, "cutoff_hz": 300.0}])
def test_td_features_equal_the_previous_vectorized_code_bit_for_bit(kwargs):
    """The work-array rewrite (band split channel by channel, batched sums, crossings on booleans)
    changes no bit of the features."""
    from tests.features.td_previous import td_features_previous

    for name, emg in _inputs().items():
        if emg.shape[0] < 0.032 * kwargs.get("fs", 2000.0):
            continue
        expected = td_features_previous(emg, **kwargs)
        for threads in (1, 2):
            np.testing.assert_array_equal(td_features(emg, threads=threads, **kwargs), expected, err_msg=f"{name}, {threads} thread(s)")


def test_split_bands_equal_lfilter_then_convolve1d_bit_for_bit():
    from scipy.ndimage import convolve1d
    from scipy.signal import lfilter

    from emgse.features.emg import _filters

    x = realistic_emg(2001, 5, seed=2).astype(np.float64)
    for order in (2, 3, 5):
        (bl, al), (bh, _) = _filters(2000.0, 134.0, order)
        v = lfilter([1.0], al, x, axis=0)
        low, high = split_bands(x, 2000.0, order=order)
        np.testing.assert_array_equal(low, convolve1d(v, bl, axis=0, mode="constant", origin=-(len(bl) // 2)))
        np.testing.assert_array_equal(high, convolve1d(v, bh, axis=0, mode="constant", origin=-(len(bl) // 2)))


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("hop", [16, 24])
def test_windowed_crossings_equal_the_literal_windowed_product(periodic, hop):
    from emgse.features.emg import frame_window, windowed_crossings

    rng = np.random.default_rng(5)
    high = rng.standard_normal((4, 900))
    high[1, 100:300] = 0.0  # exact zeros: every pair counts
    high[2] = np.abs(high[2])  # one sign throughout: only the window's ends flip the count
    high[3, 400:] = 1e-160 * rng.standard_normal(500)  # products that underflow
    w = frame_window(64, periodic)
    starts = np.arange((900 - 64) // hop + 1) * hop
    literal = np.array([[np.sum((high[c, s : s + 64] * w)[:-1] * (high[c, s : s + 64] * w)[1:] <= 0) for s in starts] for c in range(4)])
    np.testing.assert_array_equal(windowed_crossings(high, w, starts), literal)
    np.testing.assert_array_equal(windowed_crossings(high[:3], w, starts), literal[:3])  # the fast path alone
    assert np.all(literal[2] == (2 if not periodic else 1))


def test_td_features_is_a_public_name_of_the_package():
    import emgse.features
    from emgse.features import emg

    assert emgse.features.td_features is emg.td_features


def test_td_features_single_thread_equals_threaded():
    emg = np.random.default_rng(2).standard_normal((4000, 20))
    np.testing.assert_array_equal(td_features(emg, threads=1), td_features(emg, threads=2))


def test_feature_order_is_channel_major():
    # Channel 1 silent, channel 0 a pure 400 Hz tone: only channel 0's high band is active.
    t = np.arange(4000) / 2000
    emg = np.zeros((4000, 2))
    emg[:, 0] = np.sin(2 * np.pi * 400 * t)
    f = td_features(emg)
    assert f.shape[1] == 10
    assert np.all(f[:, 5:9] == 0)
    # x[n] * x[n+1] <= 0 counts zeros as crossings (the definition): 63 pairs in 64 samples
    assert np.all(f[:, 9] == 63 / 64)
    # high-band mean square of a unit sine through a windowed mean ~ 0.5 * mean(w^2)
    assert f[100, 3] > 0.1 and f[100, 1] < 1e-3
    # zero-crossing rate of a 400 Hz tone at 2 kHz: 0.4 crossings per sample
    assert abs(f[100, 4] - 0.4) < 0.05


def test_filters_are_causal():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2000, 2))
    b = a.copy()
    b[1000:] = rng.standard_normal((1000, 2))
    fa, fb = td_features(a), td_features(b)
    last_untouched = (1000 - 64) // 16  # frames ending before sample 1000
    np.testing.assert_array_equal(fa[: last_untouched + 1], fb[: last_untouched + 1])
    assert not np.allclose(fa[-1], fb[-1])


def test_split_bands_matches_two_lfilters():
    from scipy.signal import butter, lfilter

    x = np.random.default_rng(4).standard_normal((3000, 3))
    low, high = split_bands(x, 2000.0)
    np.testing.assert_allclose(low, lfilter(*butter(3, 134, fs=2000), x, axis=0), atol=1e-12)
    np.testing.assert_allclose(high, lfilter(*butter(3, 134, "high", fs=2000), x, axis=0), atol=1e-12)


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
