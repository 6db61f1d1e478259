"""DNSMOS through speechmos: the same scores as speechmos' own run, and columns when asked for."""

from __future__ import annotations

import numpy as np
import pytest

from emgse.config import MixConfig
from emgse.mixing import NoiseBank, mix_corpus
from emgse.scoring import evaluate, read_scores
from tests.conftest import write_prepared

pytest.importorskip("onnxruntime")
speechmos_dnsmos = pytest.importorskip("speechmos.dnsmos")


def voiced(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2 + 0.02 * rng.standard_normal(t.size)


def test_scores_equal_speechmos_run():
    from emgse.dnsmos import score_dnsmos, windows

    x = voiced(2.3)  # repeated to 9.2 s: one window, as speechmos does
    assert windows(x).shape == (1, 144160)
    ours = score_dnsmos(x)
    ref = speechmos_dnsmos.run(x, sr=16000)
    for ours_key, ref_key in (("dnsmos_sig", "sig_mos"), ("dnsmos_bak", "bak_mos"), ("dnsmos_ovrl", "ovrl_mos")):
        assert ours[ours_key] == pytest.approx(float(ref[ref_key]), abs=1e-4)
        assert 1.0 <= ours[ours_key] <= 5.0
    assert windows(voiced(11.5)).shape[0] == 2  # windows every second, as speechmos


def test_evaluate_adds_dnsmos_columns_when_asked(tmp_path, monkeypatch):
    import emgse.dnsmos

    prep = write_prepared(tmp_path / "prep", {"test": 2}, seconds=1.0, channels=40)
    mix_corpus(prep, ["test"], NoiseBank.from_sources(["white"]), MixConfig(snrs_db=(0.0,)), tmp_path / "mix", progress=False)
    plain = evaluate(tmp_path / "mix", None, None, tmp_path / "s0", jobs=1, progress=False)
    assert "dnsmos_ovrl" not in plain[0]
    assert "dnsmos" not in (tmp_path / "s0" / "scores.csv").read_text().splitlines()[0]
    # The real scorer is tested above; here a stand-in keeps the test fast.
    monkeypatch.setattr(emgse.dnsmos, "score_dnsmos", lambda x, fs=16000: {"dnsmos_sig": 3.0, "dnsmos_bak": 4.0, "dnsmos_ovrl": 2.5})
    rows = evaluate(tmp_path / "mix", None, None, tmp_path / "s1", jobs=1, progress=False, dnsmos=True)
    assert rows[0]["dnsmos_ovrl"] == 2.5
    header = (tmp_path / "s1" / "scores.csv").read_text().splitlines()[0].split(",")
    assert header[header.index("si_sdr") + 1 : header.index("si_sdr") + 4] == ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"]
    assert read_scores(tmp_path / "s1")[0]["dnsmos_bak"] == 4.0
    assert "dnsmos_ovrl_gain" in (tmp_path / "s1" / "summary_overall.csv").read_text()
    assert "DNSMOS OVRL" in (tmp_path / "s1" / "summary.md").read_text()
