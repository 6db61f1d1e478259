"""``emgse features``' library (:mod:`emgse.features.describe`): the front-end of one utterance, printed."""

from emgse.features.describe import describe_utterance
from tests.conftest import write_prepared


def test_describe_prints_the_frame_grid_and_both_front_ends(tmp_path):
    root = write_prepared(tmp_path / "prep", {"test": 1}, seconds=0.6)
    wav = next((root / "test").glob("*.wav"))
    text = describe_utterance(wav, wav.with_suffix(".emg.npy"), channels="cheek", context=2)
    lines = text.splitlines()
    assert len(lines) == 6 and "at 2000 Hz (0.600 s)" in lines[1]  # the prepared EMG rate is the default
    assert "frames of 32 ms every 8 ms" in lines[2] and "(40 channels x 5)" in lines[4]
    assert "(cheek: 28 channels, context +-2, min-max)" in lines[5]
