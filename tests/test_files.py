import numpy as np
import pytest

from emgse.errors import EmgseError
from emgse.files import atomic_path, output_dir, read_audio, read_npy, write_npy, write_wav


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.npy"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    write_npy(target, np.arange(3))
    assert read_npy(target).tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]


def test_output_dir_is_all_or_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError), output_dir(out) as work:
        (work / "a.txt").write_text("partial")
        raise ValueError
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with output_dir(out) as work:
        (work / "a.txt").write_text("done")
    assert (out / "a.txt").read_text() == "done"
    with pytest.raises(EmgseError, match="not empty"):
        with output_dir(out):
            pass
    with output_dir(out, force=True) as work:
        (work / "b.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_readers_name_the_file(tmp_path):
    with pytest.raises(EmgseError, match=r"missing\.wav: file not found"):
        read_audio(tmp_path / "missing.wav")
    (tmp_path / "bad.wav").write_bytes(b"\x00" * 10)
    with pytest.raises(EmgseError, match=r"bad\.wav: unreadable or corrupt"):
        read_audio(tmp_path / "bad.wav")
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(EmgseError, match="numeric"):
        read_npy(tmp_path / "s.npy")
    np.save(tmp_path / "o.npy", np.zeros(3))
    with pytest.raises(EmgseError, match="2-D"):
        read_npy(tmp_path / "o.npy", ndim=2)


def _wav_chunks(data: bytes) -> list[bytes]:
    """The chunk ids of a RIFF/WAVE file, in order."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    ids, pos = [], 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        ids.append(data[pos : pos + 4])
        pos += 8 + size + (size & 1)
    return ids


@pytest.mark.parametrize("shape", [(1000,), (1000, 3)])
def test_float_wav_bytes_depend_only_on_the_samples(tmp_path, shape):
    # libsndfile's default PEAK chunk stamps the time of writing: two runs differ in bytes
    x = (0.1 * np.random.default_rng(0).standard_normal(shape)).astype(np.float32)
    write_wav(tmp_path / "a.wav", x, 16000)
    data = (tmp_path / "a.wav").read_bytes()
    assert b"PEAK" not in _wav_chunks(data) and b"data" in _wav_chunks(data)
    back, fs = read_audio(tmp_path / "a.wav", channels="all")
    assert fs == 16000 and back.shape == (1000, 1 if len(shape) == 1 else 3)
    np.testing.assert_array_equal(back.astype(np.float32).reshape(shape), x)


def test_folder_inputs_one_rule_for_folder_modes(tmp_path):
    from emgse.files import folder_inputs

    with pytest.raises(EmgseError, match="in: folder not found"):
        folder_inputs(tmp_path / "in", tmp_path / "out", ".wav")
    (tmp_path / "in").mkdir()
    with pytest.raises(EmgseError, match="no .wav files"):
        folder_inputs(tmp_path / "in", tmp_path / "out", ".wav")
    for name in ("b.wav", "a.wav", ".hidden.wav", "c.emg.npy"):
        (tmp_path / "in" / name).write_bytes(b"")
    assert [p.name for p in folder_inputs(tmp_path / "in", tmp_path / "out", ".wav")] == ["a.wav", "b.wav"]
    with pytest.raises(EmgseError, match="output folder is the input folder"):
        folder_inputs(tmp_path / "in", tmp_path / "in" / ".." / "in", ".emg.npy")
