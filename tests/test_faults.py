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
