"""Built-in voices (many speakers by default) and the recording chain of the simulator, and the
mild room of ``emgse mix --reverb-prob``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import welch

from emgse.cli import main
from emgse.corpora.simulated import recording, speech
from emgse.corpora.simulated.config import DEFAULT_VOICES, SimulationConfig
from emgse.corpora.simulated.writer import draw_speaker, session_splits, simulate_corpus
from emgse.errors import EmgseError

TEXT = "The quick brown fox jumps over the lazy dog."
FS = 16000


# ----------------------------------------------------------------------------- voices
def test_default_is_twenty_distinct_speakers_of_both_genders():
    config = SimulationConfig()
    assert config.speakers >= 20
    speakers = [draw_speaker(config, k) for k in range(config.speakers)]
    identities = {(s.voice, s.rate_wpm, s.shape) for s in speakers}
    assert len(identities) == config.speakers
    assert len({s.voice for s in speakers}) == len(DEFAULT_VOICES) == 20
    genders = [s.gender for s in speakers]
    assert genders.count("female") >= 8 and genders.count("male") >= 8
    f0 = {g: [s.shape.f0_hz for s in speakers if s.gender == g] for g in ("male", "female")}
    assert max(f0["male"]) < min(f0["female"])
    assert np.ptp([s.shape.formant_scale for s in speakers]) > 0.08
    assert np.ptp([s.shape.breath for s in speakers]) > 0.3
    assert np.ptp([s.rate_wpm for s in speakers]) > 25
    chains = [s.recording for s in speakers]
    assert np.ptp([c.level_db for c in chains]) > 20 and all(abs(c.level_db) <= 20 for c in chains)
    assert all(50 <= c.highpass_hz <= 150 for c in chains)


def test_speaker_depends_only_on_seed_and_index():
    def identity(config):
        s = draw_speaker(config, 2)
        return s.voice, s.rate_wpm, s.shape, s.recording, s.articulation, s.setup.electrodes.tolist()

    a, b = SimulationConfig(speakers=3, seed=4), SimulationConfig(speakers=30, seed=4)
    assert identity(a) == identity(b)
    other = identity(SimulationConfig(seed=5))
    assert all(x != y for x, y in zip(identity(a)[1:], other[1:], strict=True))


def test_variant_text_scales_formants_and_sets_pitch_and_breath():
    text = speech.variant_text("en-us+m3", speech.VoiceShape(90, 140, formant_scale=0.9, breath=1.0))
    lines = {tuple(line.split()[:2]): line.split() for line in text.splitlines() if line.strip()}
    assert lines[("pitch", "90")] == ["pitch", "90", "140"]
    assert lines[("formant", "1")][2] == str(round(96 * 0.9))  # m3's formant 1 is at 96 %
    assert any(line.startswith("breath 0 4 6") for line in text.splitlines())
    assert speech.voice_gender("en-us+f2") == "female" and speech.voice_gender("en-us+m3") == "male"
    with pytest.raises(EmgseError, match="unknown eSpeak voice"):
        speech.variant_text("en-us+nonsense", speech.VoiceShape(90, 140))


def test_shape_moves_measured_f0_and_centroid():
    """Pitch and formant scaling are audible: measured F0 and spectral centroid follow them."""
    def figures(**shape):
        audio, phones = speech.synthesize(TEXT, "en-us+m3", shape=speech.VoiceShape(**shape))
        return speech.voice_figures(audio), phones

    base, phones = figures(f0_hz=80, f0_top_hz=122)
    plain, plain_phones = speech.synthesize(TEXT, "en-us+m3")
    assert abs(speech.voice_figures(plain)["f0_hz"] - base["f0_hz"]) < 3  # m3's own pitch line: the same voice
    assert [p.symbol for p in plain_phones] == [p.symbol for p in phones]
    high, _ = figures(f0_hz=140, f0_top_hz=210)
    assert high["f0_hz"] > 1.5 * base["f0_hz"]
    short, short_phones = figures(f0_hz=80, f0_top_hz=122, formant_scale=1.15)
    long, _ = figures(f0_hz=80, f0_top_hz=122, formant_scale=0.85)
    assert short["centroid_hz"] > base["centroid_hz"] * 1.05 > long["centroid_hz"] * 1.1
    assert abs(short["f0_hz"] - base["f0_hz"]) < 5  # formants move, pitch does not
    assert [(p.symbol, p.start) for p in short_phones] == [(p.symbol, p.start) for p in phones]  # timing untouched


def test_default_speakers_differ_in_f0_and_centroid():
    config = SimulationConfig()
    figs = []
    for k in range(6):
        s = draw_speaker(config, k)
        audio, _ = speech.synthesize(TEXT, s.voice, rate_wpm=s.rate_wpm, shape=s.shape)
        figs.append((s.gender, speech.voice_figures(audio)))
    male = [f["f0_hz"] for g, f in figs if g == "male"]
    female = [f["f0_hz"] for g, f in figs if g == "female"]
    assert max(male) < min(female)
    pairs = [(a, b) for i, (_, a) in enumerate(figs) for _, b in figs[i + 1 :]]
    # every pair of speakers differs by >5 % in F0 or in centroid
    assert all(abs(a["f0_hz"] / b["f0_hz"] - 1) > 0.05 or abs(a["centroid_hz"] / b["centroid_hz"] - 1) > 0.05 for a, b in pairs)


def test_speaker_splits_are_disjoint():
    splits = session_splits(20, 3, 2)
    assert [splits[f"Spk{k}_Block1-Initial"] for k in (1, 3, 4, 5, 6, 20)] == ["test", "test", "val", "val", "train", "train"]
    with pytest.raises(EmgseError, match="cannot hold"):
        session_splits(5, 3, 2)


# ----------------------------------------------------------------------------- recording chain
def _speech_like(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    x = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((120, 240, 480, 960, 1920, 3840), 1))
    return x * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size)


def test_level_is_set_within_range_and_never_clips():
    x = _speech_like()
    floor = np.zeros_like(x)
    for level in (-20.0, 0.0, 20.0):
        chain = recording.RecordingChain(highpass_hz=80.0, tilt_db_per_octave=0.0, level_db=level)
        out, info = recording.apply_chain(x, floor, chain, FS)
        rms_db = 20 * np.log10(np.sqrt(np.mean(out**2)))
        assert abs(rms_db - (recording.NOMINAL_RMS_DBFS + level)) < 0.1 and info["limited_db"] == 0
    # a peaky signal at +20 dB would exceed full scale: it is scaled down, not clipped
    spiky = x.copy()
    spiky[1000] = 400.0
    out, info = recording.apply_chain(spiky, floor, recording.RecordingChain(80.0, 0.0, 20.0), FS)
    assert np.max(np.abs(out)) <= recording.PEAK_LIMIT + 1e-12 and info["limited_db"] > 0
    assert np.argmax(np.abs(out)) in range(995, 1010)  # the spike is still the peak: scaled, not clipped


def test_highpass_attenuates_30_hz_and_keeps_1_khz():
    t = np.arange(2 * FS) / FS
    for f, lo, hi in ((30.0, -30.0, -12.0), (1000.0, -0.2, 0.2)):
        x = np.sin(2 * np.pi * f * t)
        y = recording.highpass(x, 150.0, FS)[FS:]  # after the transient
        gain = 20 * np.log10(np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(x[FS:] ** 2)))
        assert lo < gain < hi, (f, gain)
    # 2nd order: 30 Hz under a 100 Hz corner loses about 2 x 20 log10(100/30) = 21 dB
    y = recording.highpass(np.sin(2 * np.pi * 30 * t), 100.0, FS)[FS:]
    assert abs(20 * np.log10(np.sqrt(2 * np.mean(y**2))) + 21) < 2


def test_tilt_is_a_slope_in_db_per_octave_without_delay():
    x = np.random.default_rng(1).standard_normal(4 * FS)
    y = recording.tilt(x, 2.0, FS)
    f, px = welch(x, FS, nperseg=2048)
    _, py = welch(y, FS, nperseg=2048)
    gain = 10 * np.log10(py / px)
    at = {hz: gain[np.argmin(np.abs(f - hz))] for hz in (250, 1000, 4000)}
    assert abs(at[1000]) < 0.7 and abs(at[4000] - 4.0) < 0.8 and abs(at[250] + 4.0) < 0.8
    assert np.argmax(np.correlate(y[1000:3000], x[1000:3000], "full")) == 1999  # zero lag


def test_room_keeps_length_and_direct_path():
    rng = np.random.default_rng(0)
    rir = recording.room_impulse_response(0.4, FS, rng)
    assert rir[0] == 1.0 and rir.size == int(0.4 * FS)
    tail = rir[1:] ** 2
    early, late = tail[: FS // 10].sum(), tail[3 * FS // 10 :].sum()
    assert late < early * 10 ** (-3.5)  # decaying ~60 dB over 0.4 s
    x = _speech_like(1.0)
    y = recording.reverberate(x, rir)
    assert y.shape == x.shape
    assert np.corrcoef(x, y)[0, 1] > 0.6  # aligned with the dry signal (direct path first)


# ----------------------------------------------------------------------------- corpus + CLI
@pytest.fixture(scope="module")
def voices_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("voices") / "corpus"
    simulate_corpus(out, SimulationConfig(speakers=3, utterances=1, seed=9))
    return out


def test_corpus_records_voice_and_chain_per_session(voices_corpus, tmp_path):
    levels = []
    for k in (1, 2, 3):
        session = json.loads((voices_corpus / f"Spk{k}_Block1-Initial" / "session.json").read_text())
        chain = session["recording"]
        assert {"f0_hz", "f0_top_hz", "formant_scale", "breath", "gender", "rate_wpm"} <= set(session["speaker"])
        info = json.loads((voices_corpus / f"Spk{k}_Block1-Initial" / "0001" / f"Spk{k}_Block1-Initial_0001_info.json").read_text())
        audio, _ = sf.read(voices_corpus / f"Spk{k}_Block1-Initial" / "0001" / f"Spk{k}_Block1-Initial_0001_audio.wav", always_2d=True)
        assert np.max(np.abs(audio[:, 0])) < 1.0
        target = chain["nominal_rms_dbfs"] + chain["level_db"]
        assert abs(info["level"]["rms_dbfs"] + info["level"]["limited_db"] - target) <= recording.UTTERANCE_JITTER_DB + 1e-6
        levels.append(info["level"]["rms_dbfs"])
    assert np.ptp(levels) > 3
    # same settings -> the same bytes
    simulate_corpus(tmp_path / "again", SimulationConfig(speakers=3, utterances=1, seed=9))
    name = "Spk3_Block1-Initial/0001/Spk3_Block1-Initial_0001_audio.wav"
    assert (tmp_path / "again" / name).read_bytes() == (voices_corpus / name).read_bytes()


def test_cli_without_chain_writes_nominal_level(tmp_path, capsys):
    out = tmp_path / "flat"
    assert main(["simulate", "--out", str(out), "--speakers", "2", "--utterances", "1", "--no-recording-chain", "--quiet"]) == 0
    assert "2 session(s)" in capsys.readouterr().out
    for k in (1, 2):
        session = json.loads((out / f"Spk{k}_Block1-Initial" / "session.json").read_text())
        info = json.loads((out / f"Spk{k}_Block1-Initial" / "0001" / f"Spk{k}_Block1-Initial_0001_info.json").read_text())
        assert session["recording"] is None and info["level"]["rms_dbfs"] == recording.NOMINAL_RMS_DBFS


def test_cli_default_speakers(capsys):
    from emgse.cli import build_parser
    from emgse.corpora.simulated.config import SimulationConfig

    args = build_parser().parse_args(["simulate", "--out", "x"])
    assert args.speakers is None and SimulationConfig().speakers == 20  # no --speech: the 20 built-in voices
