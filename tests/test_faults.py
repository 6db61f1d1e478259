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
