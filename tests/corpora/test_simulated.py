"""The simulated corpus: layout, determinism, physiology figures, CLI errors, round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from emgse.cli import main
from emgse.corpora.simulated import articulation, check, emg, sentences
from emgse.corpora.simulated.writer import SimulationConfig, simulate_corpus

SESSION = "Spk1_Block1-Initial"
N_UTTS = 8


def _utt(root: Path, n: int, kind: str, session: str = SESSION) -> Path:
    return root / session / f"{n:04d}" / f"{session}_{n:04d}_{kind}"


# The figure tests below are statistics of 8 utterances of one speaker and move with the seed
# (over seeds 0-5 the measured lead spans 0-56 ms and the dead-channel excess -0.06..+0.05, before
# and after the voices changed); seed 0 sits in the middle of both.
@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "corpus"
    simulate_corpus(out, SimulationConfig(speakers=1, utterances=N_UTTS, seed=0))
    return out


@pytest.fixture(scope="session")
def figures(corpus) -> dict:
    return check.check_corpus(corpus)


@pytest.fixture(scope="session")
def noisy_figures(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sim") / "noisy"
    simulate_corpus(out, SimulationConfig(speakers=1, utterances=N_UTTS, seed=0, emg_snr_db=-10.0))
    return check.check_corpus(out)


# ----------------------------------------------------------------------------- layout
def test_layout_files_and_shapes(corpus):
    sim = json.loads((corpus / "simulation.json").read_text())
    assert sim["simulated"] is True and sim["sessions"] == [SESSION]
    session = json.loads((corpus / SESSION / "session.json").read_text())
    assert sorted(session["prompts"]) == [f"{n:04d}" for n in range(1, N_UTTS + 1)]
    assert sorted(p.name for p in (corpus / SESSION).iterdir() if p.is_dir()) == [f"{n:04d}" for n in range(1, N_UTTS + 1)]
    for n in range(1, N_UTTS + 1):
        e = np.load(_utt(corpus, n, "emg.npy"))
        a, fs = sf.read(_utt(corpus, n, "audio.wav"), always_2d=True)
        info = json.loads(_utt(corpus, n, "info.json").read_text())
        assert e.shape[1] == 41 and e.dtype == np.float32 and np.all(np.isfinite(e))
        assert fs == 16000 and a.shape[1] == 2
        # markers: 0 during the pre-roll, then constant high
        e0, a0 = check.marker_rise(e[:, 40], 10.0), check.marker_rise(a[:, 1], 0.5)
        assert np.all(e[:e0, 40] == 0) and np.all(e[e0:, 40] == 1000)
        assert np.all(a[:a0, 1] == 0) and np.allclose(a[a0:, 1], 0.9, atol=1e-4)
        assert e0 == round(info["preroll_s"]["emg"] * 2048) and a0 == round(info["preroll_s"]["audio"] * 16000)
        assert 0.1 <= info["preroll_s"]["emg"] <= 0.5 and 0.1 <= info["preroll_s"]["audio"] <= 0.5
        # same span after the rises
        assert abs((e.shape[0] - e0) / 2048 - (a.shape[0] - a0) / 16000) < 1 / 2048
        assert info["prompt"] == session["prompts"][f"{n:04d}"]


def test_alignment_covers_utterance_and_matches_audio(corpus):
    for n in range(1, N_UTTS + 1):
        info = json.loads(_utt(corpus, n, "info.json").read_text())
        ph = info["phonemes"]
        assert ph[0]["start"] == 0 and abs(ph[-1]["end"] - info["duration_s"]) < 1e-5
        assert all(abs(p["end"] - q["start"]) < 1e-9 for p, q in zip(ph, ph[1:], strict=False))
        assert all(p["known"] for p in ph), [p["phoneme"] for p in ph if not p["known"]]
        spoken = [p for p in ph if not p["phoneme"].startswith("_")]
        assert 2.0 <= spoken[-1]["end"] - spoken[0]["start"] <= 5.0
        # the audio is near-silent before the first phoneme and loud soon after it (>30 dB more),
        # at the level the recording chain set
        a, _ = sf.read(_utt(corpus, n, "audio.wav"), always_2d=True)
        speech = a[check.marker_rise(a[:, 1], 0.5) :, 0]
        onset = int(info["speech_onset_s"] * 16000)
        before = np.sqrt(np.mean(speech[: onset - 160] ** 2))
        after = np.sqrt(np.mean(speech[onset : onset + 4000] ** 2))
        assert after > 10 ** (30 / 20) * before
        assert abs(20 * np.log10(after) - info["level"]["rms_dbfs"]) < 12


def test_same_seed_gives_identical_files_and_other_seed_differs(corpus, tmp_path):
    # a shorter corpus with the same seed reproduces the first utterances byte for byte
    simulate_corpus(tmp_path / "again", SimulationConfig(speakers=1, utterances=2, seed=0))
    simulate_corpus(tmp_path / "other", SimulationConfig(speakers=1, utterances=1, seed=1))
    for n in (1, 2):
        for kind in ("emg.npy", "audio.wav", "info.json"):
            assert _utt(tmp_path / "again", n, kind).read_bytes() == _utt(corpus, n, kind).read_bytes()
    assert _utt(tmp_path / "other", 1, "emg.npy").read_bytes() != _utt(corpus, 1, "emg.npy").read_bytes()
    assert _utt(tmp_path / "other", 1, "info.json").read_text() != _utt(corpus, 1, "info.json").read_text()


def test_speakers_differ(tmp_path):
    simulate_corpus(tmp_path / "two", SimulationConfig(speakers=2, utterances=1, seed=1))
    s1 = json.loads((tmp_path / "two" / "Spk1_Block1-Initial" / "session.json").read_text())
    s2 = json.loads((tmp_path / "two" / "Spk2_Block1-Initial" / "session.json").read_text())
    assert s1["speaker"]["voice"] != s2["speaker"]["voice"]
    assert s1["emg_session"]["electrodes_mm"] != s2["emg_session"]["electrodes_mm"]


# ----------------------------------------------------------------------------- building blocks
def test_sentences_are_deterministic_and_varied():
    a = [sentences.make_sentence(np.random.default_rng([1, i])) for i in range(60)]
    b = [sentences.make_sentence(np.random.default_rng([1, i])) for i in range(60)]
    assert a == b
    assert len(set(a)) == len(a)
    assert len({w for s in a for w in s.split()}) > 150


def test_critically_damped_step_has_no_overshoot():
    fs, tau = 2048.0, 0.015
    step = np.ones((int(0.3 * fs), 1))
    y = articulation.critically_damped(step, tau, fs)[:, 0]
    assert np.all(np.diff(y) >= 0) and y.max() <= 1.0
    t90 = np.argmax(y >= 0.9) / fs
    assert 3.5 * tau < t90 < 4.3 * tau  # 1 - (1 + t/tau) exp(-t/tau) = 0.9 at t = 3.89 tau


def test_targets_reflect_articulation():
    p, a, i, t = (articulation.phoneme_targets(s)[0] for s in ("p", "'a", "i:", "t"))
    m = articulation
    assert p[m.OOS] > a[m.OOS] and p[m.OOI] > i[m.OOI]  # lips close for bilabials
    assert a[m.ABD] > max(p[m.ABD], i[m.ABD], t[m.ABD])  # jaw opens for open vowels
    assert i[m.RIS] > max(p[m.RIS], a[m.RIS]) and i[m.ZYG] > a[m.ZYG]  # lips spread for i
    assert t[m.MYL] > max(p[m.MYL], a[m.MYL])  # tongue raised for alveolars
    assert len(articulation.phoneme_targets("aI")) == 2
    assert not np.any(articulation.phoneme_targets("_:")[0])


def test_activation_leads_the_phoneme():
    fs = 2048.0
    params = articulation.draw_articulation(np.random.default_rng(0), lead_ms=60.0, lead_jitter_ms=0.0)
    phones = [("_", 0.0, 0.5), ("p", 0.5, 0.6), ("_", 0.6, 1.2)]
    act = articulation.activations(phones, 0.0, int(1.2 * fs), fs, params, np.random.default_rng(1))
    lips = act[:, articulation.OOI] - params.tonic[articulation.OOI]
    centre = np.sum(np.arange(lips.size) * lips) / np.sum(lips) / fs
    assert 0.04 < 0.55 - centre < 0.08  # centre of the burst ~60 ms before the phoneme's centre


def test_array_geometry_and_dead_channels():
    bip = emg.bipolar_matrix()
    assert not np.any(bip[:, list(emg.DEAD_CHANNELS)])
    assert np.all(np.abs(bip[:, list(emg.LIVE_CHANNELS)]).sum(axis=0) == 2)
    setup = emg.draw_session(np.random.default_rng(0))
    pick = emg.pickup_matrix(setup)
    assert not np.any(pick[:, list(emg.DEAD_CHANNELS)])
    # each muscle is seen most by channels near it: masseter on the lateral cheek, mylohyoid on the chin
    strength = np.zeros((articulation.N_MUSCLES, 40))
    np.add.at(strength, setup.source_muscle, np.abs(pick))
    assert np.argmax(strength[articulation.MYL]) >= 32
    assert np.argmax(strength[articulation.MAS]) % 8 >= 4


def test_source_spectrum_median_frequency():
    b, a = emg.shwedyk_filter(55.0, 130.0)
    from scipy.signal import lfilter

    x = lfilter(b, a, np.random.default_rng(0).standard_normal((2048 * 20, 1)), axis=0)
    mdf = check.median_frequency(x)[0]
    assert 70 <= mdf <= 130


# ----------------------------------------------------------------------------- figures
def test_median_frequency_is_emg_like(figures):
    assert 60 <= figures["median_frequency_hz"] <= 150


def test_dead_channels_are_quiet_and_unrelated_to_speech(figures):
    assert figures["dead_live_rms_ratio"] < 0.2
    corr = figures["speech_envelope_corr"]
    assert corr["live"] > corr["live_chance"] + 0.05  # live envelopes follow their own speech
    assert corr["dead"] < corr["dead_chance"] + 0.03  # dead ones no more than another utterance's


def test_emg_leads_speech(figures):
    assert 20 <= figures["emg_lead_ms"] <= 120


def test_classifier_beats_chance_but_is_not_perfect(figures):
    c = figures["classifier"]
    assert c["balanced_accuracy"] > c["chance"] + 0.25
    assert c["balanced_accuracy"] < 0.9 and c["accuracy"] < 0.95


def test_emg_snr_moves_classifier(figures, noisy_figures):
    assert noisy_figures["classifier"]["balanced_accuracy"] < figures["classifier"]["balanced_accuracy"] - 0.15


def test_lead_knob_moves_measured_lead(tmp_path):
    leads = []
    for lead in (20.0, 110.0):
        out = tmp_path / f"lead{lead:g}"
        simulate_corpus(out, SimulationConfig(speakers=1, utterances=3, seed=2, lead_ms=lead))
        leads.append(check.lead_ms(check.read_corpus(out)))
    assert leads[1] - leads[0] > 50


# ----------------------------------------------------------------------------- CLI
def test_cli_simulate_and_check(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["simulate", "--out", str(out), "--utterances", "4", "--seed", "3", "--quiet"]) == 0
    assert "SIMULATED" in capsys.readouterr().out
    assert main(["simulate", "--check", str(out)]) == 0
    report = capsys.readouterr().out
    assert "median frequency" in report and "leads speech" in report and "balanced accuracy" in report


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--utterances", "0"], "--utterances: '0': must be an integer from 1"),
        (["--speakers", "0"], "--speakers: '0': must be an integer from 1"),
        (["--voices", "en-zz-nonsense"], "unknown eSpeak voice"),
        (["--voices", "de"], "not an English eSpeak voice"),
    ],
)
def test_cli_bad_options(tmp_path, capsys, extra, message):
    out = tmp_path / "bad"
    assert main(["simulate", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not out.exists()


def test_cli_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["simulate", "--out", str(blocker / "corpus"), "--utterances", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot be written" in err and "is a file, not a folder" in err and "\n" not in err


def test_cli_refuses_existing_folder(corpus, capsys):
    assert main(["simulate", "--out", str(corpus), "--utterances", "1"]) == 2
    assert "already exists" in capsys.readouterr().err


# ----------------------------------------------------------------------------- round trip
def test_prepare_round_trip(corpus, tmp_path):
    csl = pytest.importorskip("emgse.corpora.csl_emg_array")
    out = tmp_path / "prepared"
    csl.prepare_csl_emg_array(
        corpus, SESSION, out, splits=csl.SplitRanges(test=[(1, 2)], val=[(3, 3)], train=[(4, 10**9)])
    )
    counts = {s: len(list((out / s).glob("*.wav"))) for s in ("train", "val", "test")}
    assert counts == {"train": N_UTTS - 3, "val": 1, "test": 2}
    assert json.loads((out / "corpus.json").read_text())["emg_channels"] == 40
    for n, split in ((1, "test"), (3, "val"), (5, "train")):
        raw_e = np.load(_utt(corpus, n, "emg.npy")).astype(np.float64)
        raw_a, _ = sf.read(_utt(corpus, n, "audio.wav"), always_2d=True)
        post_e = raw_e[check.marker_rise(raw_e[:, 40], 10.0) :, :40]
        post_a = raw_a[check.marker_rise(raw_a[:, 1], 0.5) :, 0]
        wav, fs = sf.read(out / split / f"{SESSION}_{n:04d}.wav")
        pe = np.load(out / split / f"{SESSION}_{n:04d}.emg.npy")
        assert fs == 16000 and pe.shape[1] == 40
        # synced at the rises: the prepared audio is the speech channel from its rise on
        assert np.allclose(wav, post_a[: wav.size], atol=1e-4)
        ref = resample_poly(post_e, 125, 128, axis=0)[: pe.shape[0]]
        assert np.allclose(pe, ref, rtol=1e-3, atol=1e-2 * np.abs(ref).max())
        assert abs(wav.size / 16000 - pe.shape[0] / 2000) < 0.01
