import numpy as np
import pytest
import soundfile as sf

from emgse.corpora.csl_emg_array import SplitRanges, prepare_csl_emg_array
from emgse.corpora.prepared import CorpusInfo, list_utterances, read_utterance
from emgse.errors import EmgseError
from emgse.synthetic import write_csl_utterance
from tests.conftest import write_csl_session

SESSION = "Spk5_Block1-Initial"
SPLITS = SplitRanges(test=[(1, 2)], val=[(3, 3)], train=[(4, 10**9)])


def test_prepare_layout_splits_and_metadata(tmp_path):
    write_csl_session(tmp_path / "corpus", SESSION, range(1, 7))
    out = tmp_path / "prep"
    meta = prepare_csl_emg_array(tmp_path / "corpus", SESSION, out, splits=SPLITS, progress=False)
    assert meta["utterances"] == {"train": 3, "val": 1, "test": 2}
    info = CorpusInfo.read(out)
    assert (info.audio_fs, info.emg_fs, info.emg_channels, info.source) == (16000, 2000.0, 40, "csl-emg-array")
    assert list_utterances(out, "test") == [f"{SESSION}_0001", f"{SESSION}_0002"]
    audio, emg = read_utterance(out, "train", f"{SESSION}_0004")
    assert emg.dtype == np.float32 and emg.shape[1] == 40
    assert len(audio) == 8 * emg.shape[0]  # same duration, 16 kHz vs 2 kHz
    data, fs = sf.read(out / "train" / f"{SESSION}_0004.wav")
    assert fs == 16000 and data.ndim == 1
    assert not list(tmp_path.glob("*.partial-*"))


def test_default_paper_split(tmp_path):
    write_csl_session(tmp_path / "c", SESSION, [1, 40, 41, 60, 61, 75])
    meta = prepare_csl_emg_array(tmp_path / "c", SESSION, tmp_path / "p", progress=False)
    assert meta["utterances"] == {"train": 2, "val": 2, "test": 2}


def test_folder_number_rule_is_the_authors(tmp_path):
    # The authors take the folders whose name starts with "0" and split by int(name) < 41 / < 61:
    # 0000 is test, 0999 training, 1000 and above unused; folders that are not four digits are ignored.
    write_csl_session(tmp_path / "c", SESSION, [0, 40, 41, 999, 1000, 1234])
    (tmp_path / "c" / SESSION / "notes").mkdir()
    (tmp_path / "c" / SESSION / "00001").mkdir()
    out = tmp_path / "p"
    meta = prepare_csl_emg_array(tmp_path / "c", SESSION, out, progress=False)
    assert meta["utterances"] == {"train": 1, "val": 1, "test": 2}
    assert list_utterances(out, "test") == [f"{SESSION}_0000", f"{SESSION}_0040"]
    assert list_utterances(out, "train") == [f"{SESSION}_0999"]
    assert SplitRanges().split_of(1000) is None and SplitRanges().split_of(0) == "test"


def test_speech_is_kept_whole_and_emg_fitted_to_it(tmp_path):
    # As the authors: the audio from its marker rise to its end, the EMG cropped or edge-padded.
    rng = np.random.default_rng(3)
    session_dir = tmp_path / "c" / SESSION
    for number, emg_extra_s in ((1, -0.06), (2, 0.05)):
        pre = write_csl_utterance(session_dir, number, rng, seconds=1.0, event_s=0.3)
        npy = session_dir / f"{number:04d}" / f"{SESSION}_{number:04d}_emg.npy"
        emg = np.load(npy)
        keep = int(round(pre["emg_preroll"] * 2048)) + int(round((1.0 + emg_extra_s) * 2048))
        if emg_extra_s < 0:
            np.save(npy, emg[:keep])
        else:
            np.save(npy, np.concatenate([emg, emg[-1:] + rng.standard_normal((keep - len(emg), emg.shape[1]))]))
    out = tmp_path / "p"
    prepare_csl_emg_array(tmp_path / "c", SESSION, out, splits=SplitRanges(test=[(1, 2)]), progress=False)
    for number in (1, 2):
        audio, emg = read_utterance(out, "test", f"{SESSION}_{number:04d}")
        assert len(audio) == 16000  # the whole second after the marker rise, not cut to the EMG
        assert emg.shape == (2000, 40)
    _, short = read_utterance(out, "test", f"{SESSION}_0001")
    tail = short[-int(0.05 * 2000) :]  # the last 50 ms were missing: the last sample repeated
    assert np.all(tail == tail[0])


def test_more_than_41_columns_with_the_marker_last(tmp_path):
    rng = np.random.default_rng(4)
    session_dir = tmp_path / "c" / SESSION
    write_csl_utterance(session_dir, 1, rng, emg_columns=43, event_s=0.4)
    out = tmp_path / "p"
    prepare_csl_emg_array(tmp_path / "c", SESSION, out, splits=SplitRanges(test=[(1, 1)]), progress=False)
    _, emg = read_utterance(out, "test", f"{SESSION}_0001")
    assert emg.shape[1] == 40 and abs(np.argmax(np.abs(emg[:, 3])) - 0.4 * 2000) <= 4


def test_marker_sync_puts_events_at_the_right_time(tmp_path):
    rng = np.random.default_rng(7)
    session_dir = tmp_path / "c" / SESSION
    event_s = 0.4
    prerolls = [write_csl_utterance(session_dir, n, rng, event_s=event_s) for n in (1, 2, 3)]
    assert len({round(p["emg_preroll"], 3) for p in prerolls}) == 3  # really random pre-rolls
    out = tmp_path / "p"
    prepare_csl_emg_array(tmp_path / "c", SESSION, out, splits=SplitRanges(test=[(1, 3)], val=[], train=[]), progress=False)
    for n in (1, 2, 3):
        audio, emg = read_utterance(out, "test", f"{SESSION}_{n:04d}")
        assert abs(np.argmax(np.abs(audio)) - event_s * 16000) <= 1
        # EMG burst on channel 3 at 2000 Hz after polyphase resampling (the burst lasts 2 ms)
        assert abs(np.argmax(np.abs(emg[:, 3])) - event_s * 2000) <= 4
        assert np.abs(emg[:, 3]).max() > 500  # the marker column is gone, channel 3 kept its burst


def test_session_found_one_level_down(tmp_path):
    write_csl_session(tmp_path / "c" / "Spk5", SESSION, [1])
    meta = prepare_csl_emg_array(tmp_path / "c", SESSION, tmp_path / "p", splits=SplitRanges(test=[(1, 1)]), progress=False)
    assert meta["utterances"]["test"] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"marker": False}, "no marker rise"),
        ({"emg_columns": 40}, "expected at least 41 columns"),
        ({"audio_fs": 8000}, "unsupported sample rate 8000"),
        ({"seconds": 0.02, "event_s": 0.01}, "too short after sync"),
    ],
)
def test_bad_utterance_gives_clear_error_and_no_output(tmp_path, kwargs, match):
    rng = np.random.default_rng(0)
    session_dir = tmp_path / "c" / SESSION
    write_csl_utterance(session_dir, 1, rng)
    write_csl_utterance(session_dir, 2, rng, **kwargs)
    out = tmp_path / "p"
    with pytest.raises(EmgseError, match=match) as e:
        prepare_csl_emg_array(tmp_path / "c", SESSION, out, splits=SplitRanges(test=[(1, 2)]), progress=False)
    assert f"{SESSION}_0002" in str(e.value) or "0002" in str(e.value)
    assert not out.exists()
    assert not list(tmp_path.glob("p.partial-*"))


def test_truncated_and_nan_files(tmp_path):
    rng = np.random.default_rng(0)
    session_dir = tmp_path / "c" / SESSION
    write_csl_utterance(session_dir, 1, rng)
    npy = session_dir / "0001" / f"{SESSION}_0001_emg.npy"
    data = npy.read_bytes()
    npy.write_bytes(data[: len(data) // 2])
    with pytest.raises(EmgseError, match="truncated"):
        prepare_csl_emg_array(tmp_path / "c", SESSION, tmp_path / "p", splits=SplitRanges(test=[(1, 1)]), progress=False)
    arr = rng.standard_normal((3000, 41))
    arr[10, 5] = np.nan
    np.save(npy, arr)
    with pytest.raises(EmgseError, match="NaN"):
        prepare_csl_emg_array(tmp_path / "c", SESSION, tmp_path / "p", splits=SplitRanges(test=[(1, 1)]), progress=False)
    write_csl_utterance(session_dir, 1, rng)
    wav = session_dir / "0001" / f"{SESSION}_0001_audio.wav"
    wav.write_bytes(b"RIFF....garbage")
    with pytest.raises(EmgseError, match="corrupt"):
        prepare_csl_emg_array(tmp_path / "c", SESSION, tmp_path / "p", splits=SplitRanges(test=[(1, 2)]), progress=False)


def test_missing_session_and_existing_output(tmp_path):
    write_csl_session(tmp_path / "c", SESSION, [1])
    with pytest.raises(EmgseError, match="session 'Spk9_Block1-Initial' not found"):
        prepare_csl_emg_array(tmp_path / "c", "Spk9_Block1-Initial", tmp_path / "p", progress=False)
    out = tmp_path / "p"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(EmgseError, match="not empty"):
        prepare_csl_emg_array(tmp_path / "c", SESSION, out, splits=SplitRanges(test=[(1, 1)]), progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    prepare_csl_emg_array(tmp_path / "c", SESSION, out, splits=SplitRanges(test=[(1, 1)]), force=True, progress=False)
    assert not (out / "keep.txt").exists() and (out / "corpus.json").exists()
