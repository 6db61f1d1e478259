"""Audio-only baselines: the wrapper's contract (resampling, delay, length, level) with a stand-in
model registered here (CI installs only `.[dev]`), the "not installed" refusal, the baselines as
rows of evaluate and of the recipes' tables; the real models on a real pair when installed."""


import numpy as np
import pytest
from scipy.signal import correlate

from emgse import baselines
from emgse.baselines import Baseline, BaselineEnhancer, available_baselines, table_baselines
from emgse.cli import main
from emgse.errors import EmgseError
from emgse.features.resample import resample
from emgse.files import read_audio, write_wav
from emgse.mixing import read_manifest
from emgse.synthetic import make_mixtures, speech_like
from tests.conftest import SHARED_DATA
from tests.scoring.test_scoring import write_pairs

STAND_IN_FS, STAND_IN_DELAY, STAND_IN_GAIN = 48000, 144, 0.5  # 3 ms late at 48 kHz, half the level
REAL_PAIRS = SHARED_DATA / "real-speech" / "voicebank-demand-test"
SEEN: list[int] = []  # the lengths the stand-in model was given


def _delay_gain() -> baselines.Runner:
    def run(x: np.ndarray) -> np.ndarray:
        SEEN.append(len(x))
        return STAND_IN_GAIN * np.concatenate([np.zeros(STAND_IN_DELAY, np.float32), x])[: len(x)]

    return run


def peak_lag(reference: np.ndarray, signal: np.ndarray, most: int = 400) -> int:
    """The lag (samples) of the cross-correlation peak of ``signal`` against ``reference``."""
    cc = correlate(signal, reference, mode="full", method="fft")[len(reference) - 1 - most: len(reference) + most]
    return int(np.argmax(cc)) - most


@pytest.fixture
def stand_in(monkeypatch):
    """Registers ``standin`` (installed: its module is numpy) and ``absent`` (a package that is not there)."""
    monkeypatch.setitem(baselines.BASELINES, "standin", Baseline("standin", "Stand-in", "numpy", "numpy", STAND_IN_FS,
                                                                 STAND_IN_DELAY, "MIT", _delay_gain))
    monkeypatch.setitem(baselines.BASELINES, "absent", Baseline("absent", "Absent", "emgse-absent", "emgse_absent_package",
                                                                16000, 0, "MIT", _delay_gain))
    SEEN.clear()
    return "standin"


def test_stand_in_output_is_aligned_same_length_and_level(stand_in):
    clean = speech_like(1.2, seed=3)[:19_201]  # an odd length
    y = BaselineEnhancer(stand_in).enhance(clean)
    assert y.dtype == np.float32 and y.shape == clean.shape
    assert SEEN == [3 * len(clean) + STAND_IN_DELAY]  # resampled to 48 kHz, the end padded by the delay
    assert peak_lag(clean, y.astype(np.float64)) == 0  # uncompensated, the peak would sit at 48 samples
    inner = slice(200, -200)  # away from the resampler's edges
    assert np.std(y[inner]) / np.std(clean[inner]) == pytest.approx(STAND_IN_GAIN, rel=0.01)
    residual = y[inner] - STAND_IN_GAIN * clean[inner]  # the resampling round trip's error only
    assert 10 * np.log10(np.sum((STAND_IN_GAIN * clean[inner]) ** 2) / np.sum(residual**2)) > 30


def test_a_wrong_delay_shows_in_the_alignment(stand_in, monkeypatch):
    b = baselines.BASELINES[stand_in]
    monkeypatch.setitem(baselines.BASELINES, stand_in, Baseline(**{**b.__dict__, "delay": 0}))
    clean = speech_like(1.0, seed=4)
    assert peak_lag(clean, BaselineEnhancer(stand_in).enhance(clean).astype(np.float64)) == STAND_IN_DELAY // 3


def test_names_aliases_and_the_not_installed_line(stand_in):
    assert baselines.resolve_name("DeepFilterNet3") == "dfn3" and baselines.resolve_name("GTCRN") == "gtcrn"
    with pytest.raises(EmgseError, match="unknown baseline 'rnnoise'"):
        baselines.resolve_name("rnnoise")
    with pytest.raises(EmgseError) as e:
        BaselineEnhancer("absent")
    assert str(e.value) == "baseline 'absent' is not installed (pip install -e '.[baselines]')"
    assert "standin" in available_baselines() and "absent" not in available_baselines()
    heard, notes = table_baselines(["standin", "absent"])
    assert heard == ["standin"] and len(notes) == 1 and "absent" in notes[0] and "not installed" in notes[0]


def test_cli_refuses_a_baseline_not_installed_in_one_line(stand_in, tmp_path, capsys):
    write_wav(tmp_path / "x.wav", speech_like(0.5), 16000)
    assert main(["enhance", "--baseline", "absent", "--audio", str(tmp_path / "x.wav"), "--out", str(tmp_path / "y.wav")]) == 2
    err = capsys.readouterr().err
    assert err == "emgse enhance: error: baseline 'absent' is not installed (pip install -e '.[baselines]')\n"
    assert main(["evaluate", "--pairs", str(tmp_path), "--baseline", "standin", "absent", "--out", str(tmp_path / "o")]) == 2
    assert "baseline 'absent' is not installed" in capsys.readouterr().err
    assert not (tmp_path / "y.wav").exists() and not (tmp_path / "o").exists()


def test_cli_enhances_a_file_at_its_own_rate(stand_in, tmp_path):
    x = resample(speech_like(1.0, seed=5), 16000, 8000)
    write_wav(tmp_path / "x.wav", x, 8000)
    assert main(["enhance", "--baseline", "standin", "--audio", str(tmp_path / "x.wav"), "--out", str(tmp_path / "y.wav")]) == 0
    y, fs = read_audio(tmp_path / "y.wav")
    assert fs == 8000 and y.shape == x.shape and peak_lag(x, y) == 0
    assert main(["enhance", "--baseline", "standin", "--emg", "e.npy", "--audio", str(tmp_path / "x.wav"),
                 "--out", str(tmp_path / "z.wav")]) == 2  # EMG options do not apply


def test_evaluate_pairs_adds_the_baseline_as_a_system(stand_in, tmp_path):
    pairs = write_pairs(tmp_path / "pairs", rates=(16000, 8000))
    assert main(["evaluate", "--pairs", str(pairs), "--baseline", "standin", "--out", str(tmp_path / "out"),
                 "--no-dnsmos", "--jobs", "1", "--quiet"]) == 0
    summary = (tmp_path / "out" / "pair_summary.md").read_text()
    assert "| standin |" in summary and "| pretrained |" in summary
    written, _ = read_audio(tmp_path / "out" / "enhanced" / "standin" / "f1.wav")
    noisy, _ = read_audio(pairs / "noisy" / "f0.wav")
    assert written.size == resample(read_audio(pairs / "noisy" / "f1.wav")[0], 8000, 16000).size
    assert noisy.size == read_audio(tmp_path / "out" / "enhanced" / "standin" / "f0.wav")[0].size


def test_evaluate_mixtures_enhances_and_scores_the_baseline(stand_in, tmp_path):
    mix = make_mixtures(tmp_path, utterances=1, seconds=1.0)
    enh = tmp_path / "enh"
    assert main(["evaluate", "--mixtures", str(mix), "--baseline", "standin", "--out", str(tmp_path / "scores"),
                 "--jobs", "1", "--quiet"]) == 2  # needs --enhanced
    assert main(["evaluate", "--mixtures", str(mix), "--enhanced", str(enh), "--baseline", "standin",
                 "--out", str(tmp_path / "scores"), "--jobs", "1", "--quiet"]) == 0
    rows = read_manifest(mix)
    assert all((enh / "standin" / r["path"]).is_file() for r in rows)
    systems = [line.split(",")[0] for line in (tmp_path / "scores" / "scores.csv").read_text().splitlines()[1:]]
    assert systems.count("standin") == len(rows) and systems.count("noisy") == len(rows)
    SEEN.clear()  # a second run scores the outputs already there
    assert main(["evaluate", "--mixtures", str(mix), "--enhanced", str(enh), "--baseline", "standin",
                 "--out", str(tmp_path / "scores"), "--jobs", "1", "--quiet", "--force"]) == 0
    assert SEEN == []


def test_recipe_tables_add_installed_baselines_and_name_the_others(stand_in, tmp_path, capsys):
    from emgse.experiments import enhance_score_report

    mix = make_mixtures(tmp_path, utterances=1, seconds=1.0)
    out = tmp_path / "recipe"
    out.mkdir()
    mix.rename(out / "mix-test")
    (tmp_path / "prepared").rename(out / "prepared")  # mix.json names the prepared corpus by its path
    (out / "mix-test" / "mix.json").write_text((out / "mix-test" / "mix.json").read_text().replace(str(tmp_path / "prepared"),
                                                                                                  str(out / "prepared")))
    scores = enhance_score_report(out, [], "stand-in table", [], 1, False, baselines=["standin", "absent"])
    assert {s["system"] for s in scores} == {"noisy", "standin"}
    printed = capsys.readouterr().out
    assert "| standin |" in printed and "Baseline absent (Absent, emgse-absent): not installed" in printed
    assert "not installed" in (out / "report.html").read_text()


@pytest.mark.parametrize("name", ["dfn3", "gtcrn"])
def test_real_baseline_on_a_real_pair_is_aligned_and_levelled(name):
    if name not in available_baselines():
        pytest.skip(f"{name} not installed (pip install -e '.[baselines]')")
    if not (REAL_PAIRS / "noisy" / "p232_005.wav").is_file():
        pytest.skip(f"{REAL_PAIRS} not at hand")
    from emgse.metrics import pesq_wb

    clean, _ = read_audio(REAL_PAIRS / "clean" / "p232_005.wav")
    noisy, _ = read_audio(REAL_PAIRS / "noisy" / "p232_005.wav")
    y = BaselineEnhancer(name).enhance(noisy).astype(np.float64)
    assert y.shape == noisy.shape and peak_lag(clean, y) == 0
    assert 0.8 < np.std(y) / np.std(clean) < 1.2
    assert pesq_wb(clean, y) > pesq_wb(clean, noisy) + 0.3


def test_pretrain_benchmark_scores_the_installed_baselines_beside_the_model(stand_in, tmp_path, monkeypatch, capsys):
    from benchmarks import pretrain

    from emgse.resources import checkpoint_path
    from emgse.scoring import evaluate_pairs

    monkeypatch.setattr(pretrain, "table_baselines", lambda: baselines.table_baselines(["standin", "absent"]))
    monkeypatch.setattr(pretrain, "evaluate_pairs", lambda *a, **k: evaluate_pairs(*a, **{**k, "dnsmos": False}))
    monkeypatch.setattr(pretrain, "real_time_factor", lambda checkpoint: 0.01)  # timed elsewhere; not the point here
    pairs = write_pairs(tmp_path / "pairs", rates=(16000, 16000))
    result = pretrain.score(checkpoint_path("pretrained"), tmp_path / "out", pairs, jobs=1, progress=False)
    printed, bars = capsys.readouterr()
    assert "score pairs" not in bars and "enhance standin" not in bars  # --quiet reaches the scoring bars
    assert "| standin |" in printed and "| audio-mask |" in printed  # the scored row is named by its model
    assert result["pairs"]["pretrained"]["pesq"] > 1.0  # kept in the exported model's slot
    assert "Baseline absent (Absent, emgse-absent): not installed" in printed
    assert set(result["pairs"]["baselines"]) == {"standin"} and result["pairs"]["baselines"]["standin"]["pesq"] > 1.0
