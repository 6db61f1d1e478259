import numpy as np
import pytest

from emgse.errors import EmgseError
from emgse.faults import EmgFault, apply_fault


def test_faults_hit_the_requested_share_reproducibly():
    emg = np.random.default_rng(0).standard_normal((1000, 40)).astype(np.float32)
    used = list(range(0, 35))
    flat = apply_fault(emg, used, EmgFault("flat", 0.3, seed=1), key="utt1")
    dead = np.flatnonzero(np.all(flat == 0, axis=0))
    assert len(dead) == round(0.3 * 35) and set(dead) <= set(used)
    np.testing.assert_array_equal(flat, apply_fault(emg, used, EmgFault("flat", 0.3, seed=1), key="utt1"))
    other = apply_fault(emg, used, EmgFault("flat", 0.3, seed=1), key="utt2")
    assert set(np.flatnonzero(np.all(other == 0, axis=0))) != set(dead)
    noisy = apply_fault(emg, used, EmgFault("noisy", 0.3), key="u")
    changed = np.flatnonzero(np.any(noisy != emg, axis=0))
    assert len(changed) == 10 and np.all(noisy[:, changed].std(0) > 5)
    assert apply_fault(emg, used, EmgFault("absent")) is None
    assert apply_fault(emg, used, EmgFault("none")) is emg
    with pytest.raises(EmgseError, match="unknown EMG fault"):
        EmgFault("melted")


def test_unusable_channels_finds_flat_and_loud_channels():
    from emgse.faults import unusable_channels

    rng = np.random.default_rng(0)
    emg = rng.standard_normal((4000, 8)) * rng.uniform(0.5, 2.0, 8) + 3.0  # DC offsets do not count
    assert not unusable_channels(emg).any()
    broken = apply_fault(emg, list(range(8)), EmgFault("flat", 0.25), key="u")
    assert unusable_channels(broken).sum() == 2
    loud = apply_fault(emg, list(range(8)), EmgFault("noisy", 0.25), key="u")
    np.testing.assert_array_equal(unusable_channels(loud), unusable_channels(broken))  # same electrodes, both found
    emg[100, 3] = np.nan
    assert unusable_channels(emg)[3]


def _emg(seconds: float = 4.0, fs: float = 2000.0) -> np.ndarray:
    from tests.emg_signals import realistic_emg

    return realistic_emg(int(seconds * fs), 40, seed=3).astype(np.float32)


USED = [c for c in range(40) if c % 8 != 7]  # the 35 live channels


def _within_check_band(emg: np.ndarray) -> None:
    """Every used channel's spread stays inside the channel check's flat/loud band."""
    from emgse.faults import FLAT_RATIO, LOUD_RATIO

    spread = emg[:, USED].astype(np.float64).std(axis=0)
    ratio = spread / np.median(spread)
    assert np.all(ratio > 2 * FLAT_RATIO) and np.all(ratio < 0.9 * LOUD_RATIO), ratio


@pytest.mark.parametrize("kind", ["noisier", "intermittent", "drift", "mains", "shift"])
def test_unseen_faults_stay_inside_the_check_band_and_are_reproducible(kind):
    emg = _emg()
    fault = EmgFault(kind, 0.3, seed=2)
    out = apply_fault(emg, USED, fault, key="u1", fs=2000.0)
    assert out.shape == emg.shape and out.dtype == np.float32
    changed = np.flatnonzero(np.any(out != emg, axis=0))
    assert len(changed) > 0 and set(changed) <= set(range(40))
    _within_check_band(out)
    np.testing.assert_array_equal(out, apply_fault(emg, USED, fault, key="u1", fs=2000.0))
    assert fault.label == (kind if kind in ("mains", "shift") else f"{kind}30")


def test_noisier_channels_are_two_to_four_times_noisier():
    emg = _emg()
    out = apply_fault(emg, USED, EmgFault("noisier", 0.3), key="u")
    hit = np.flatnonzero(np.any(out != emg, axis=0))
    assert len(hit) == round(0.3 * 35) and set(hit) <= set(USED)
    ratio = out[:, hit].std(0) / emg[:, hit].std(0)
    assert np.all((ratio > 1.9) & (ratio < 4.1)) and ratio.max() - ratio.min() > 0.3


def test_intermittent_contact_drops_50_to_500_ms_and_keeps_the_rest():
    fs = 1000.0  # the time scale follows the rate
    emg = _emg(20.0, fs)
    out = apply_fault(emg, USED, EmgFault("intermittent", 0.3), key="u", fs=fs)
    hit = np.flatnonzero(np.any(out != emg, axis=0))
    assert len(hit) == round(0.3 * 35)
    for c in hit:
        dropped = out[:, c] != emg[:, c]
        assert np.all(out[dropped, c] == 0)  # contact lost: the channel reads 0, elsewhere untouched
        edges = np.flatnonzero(np.diff(np.concatenate([[0], (out[:, c] == 0).astype(int), [0]])))
        lengths = (edges[1::2] - edges[::2]) / fs
        assert np.all(lengths <= 0.5 + 1e-9) and np.any(lengths >= 0.05) and 3 <= len(lengths) <= 40
        assert 0.05 < dropped.mean() < 0.5


def test_drift_is_slow_and_twice_the_spread():
    emg = _emg(8.0)
    out = apply_fault(emg, USED, EmgFault("drift", 0.3), key="u")
    hit = np.flatnonzero(np.any(out != emg, axis=0))
    wander = (out[:, hit] - emg[:, hit]).astype(np.float64)
    np.testing.assert_allclose(wander.std(0) / emg[:, hit].std(0), 2.0, rtol=1e-3)
    spectrum = np.abs(np.fft.rfft(wander, axis=0)) ** 2
    hz = np.fft.rfftfreq(len(wander), 1 / 2000)
    assert np.all(spectrum[hz > 1.0].sum(0) < 0.05 * spectrum.sum(0))  # under 1 Hz (edges leak a little)


def test_mains_enters_the_two_channels_of_one_electrode_with_opposite_signs():
    emg = _emg()
    used = list(range(8, 15))  # cheek row 1: electrodes 8..15
    out = apply_fault(emg, used, EmgFault("mains", seed=4), key="u")
    hit = np.flatnonzero(np.any(out != emg, axis=0))
    assert set(hit) <= set(range(7, 16)) and 1 <= len(hit) <= 2
    hum = (out[:, hit] - emg[:, hit]).astype(np.float64)
    if len(hit) == 2:
        assert hit[1] == hit[0] + 1
        np.testing.assert_allclose(hum[:, 0], -hum[:, 1], atol=1e-3 * np.abs(hum).max())
    spectrum = np.abs(np.fft.rfft(hum[:, 0]))
    hz = np.fft.rfftfreq(len(hum), 1 / 2000)
    assert hz[np.argmax(spectrum)] == 50.0 and spectrum[np.argmin(np.abs(hz - 150))] > 0.1 * spectrum.max()
    np.testing.assert_allclose(hum[:, 0].std(), 3.0 * np.median(emg[:, used].std(0)), rtol=1e-3)


def test_shift_moves_the_cheek_array_by_one_row():
    emg = _emg(1.0)
    out = apply_fault(emg, USED, EmgFault("shift"), key="u")
    for r in range(3):
        np.testing.assert_array_equal(out[:, 8 * r : 8 * r + 8], emg[:, 8 * (r + 1) : 8 * (r + 1) + 8])
    np.testing.assert_array_equal(out[:, 24:32], emg[:, 24:32])  # the last row: nothing recorded beyond it
    np.testing.assert_array_equal(out[:, 32:], emg[:, 32:])  # the chin strip stays


@pytest.mark.parametrize("kind", ["mains", "shift"])
def test_array_faults_need_the_40_channel_layout(kind):
    with pytest.raises(EmgseError, match="40-channel"):
        apply_fault(np.ones((500, 8), np.float32), list(range(8)), EmgFault(kind), key="u")


def test_channel_check_is_causal_and_the_same_at_once_or_hop_by_hop():
    from emgse.faults import ChannelCheck
    from tests.emg_signals import realistic_emg

    emg = realistic_emg(10000, 35, seed=1).astype(np.float64)  # 5 s
    emg[:, 3] *= 20.0  # loud from the start
    emg[2000:, 9] = 5.0 + 0.01 * np.random.default_rng(0).standard_normal(8000)  # falls off at 1 s
    check = ChannelCheck(2000.0, 16, 35)
    at_once = check.update(emg)
    check.reset()
    hop_by_hop = np.concatenate([check.update(emg[i : i + 16]) for i in range(0, 10000, 16)])
    np.testing.assert_array_equal(at_once, hop_by_hop)  # the enhancer's and the streamer's numbers
    assert at_once.shape == (625, 35) and check.warmup_hops == 63
    assert not at_once[:63].any()  # nothing is judged during the 0.5 s warm-up
    assert at_once[63:, 3].all()  # the loud electrode, from the end of the warm-up on
    fell = np.flatnonzero(at_once[:, 9])
    assert fell.size and fell[0] > 2000 // 16 and at_once[fell[0]:, 9].all()  # after it fell off, not before
    others = np.delete(at_once, [3, 9], axis=1)
    assert not others.any()  # realistic clean channels (gains 0.6-1.6, DC offsets, modulation) pass
    # causal: a decision never depends on later samples
    check.reset()
    np.testing.assert_array_equal(check.update(emg[:4000]), at_once[:250])


def test_channel_check_applies_to_checkpoints_trained_for_missing_channels():
    from emgse.faults import check_applies
    from emgse.models import build_model

    tcn = build_model("emgse-tcn", emg_dims=20, context=15)
    assert check_applies(tcn, "zscore")
    assert not check_applies(tcn, "minmax")  # min-max removes a channel's gain: the paper recipe is left alone
    assert not check_applies(build_model("emgse", emg_dims=20, context=3), "zscore")  # no EMG channel dropout
