import numpy as np
import pytest

from emgse.features.emg import (
    CHANNEL_SETS,
    select_features,
)
from emgse.features.td import split_bands, td_features, td_features_reference
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

    from emgse.features.td import _filters

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
    from emgse.features.td import frame_window, windowed_crossings

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
    from emgse.features import td

    assert emgse.features.td_features is td.td_features


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
