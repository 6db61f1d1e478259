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
