"""The HTML report: self-contained, with the tables, plots that decode, and one player per signal."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
import soundfile as sf

from emgse.errors import EmgseError
from emgse.report import build_report, log_spectrogram, pick_examples, write_report
from emgse.scoring import evaluate, summary_tables
from emgse.synthetic import make_mixtures, speech_like, write_system

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mixset(tmp_path_factory):
    """One utterance x (talker, white) x 2 SNRs, with an oracle and a pass-through system."""
    root = tmp_path_factory.mktemp("report")
    mix = make_mixtures(root, utterances=1)
    write_system(mix, root / "enh", "oracle", lambda noisy, ref: ref)
    write_system(mix, root / "enh", "passthrough", lambda noisy, ref: noisy)
    return mix, root / "enh"


@pytest.fixture(scope="module")
def scored(mixset, tmp_path_factory):
    out = tmp_path_factory.mktemp("report_scores")
    return evaluate(*mixset, None, out, jobs=2, progress=False), out


def data_uris(page: str, kind: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(rf'src="data:{kind};base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_is_self_contained_with_tables_plots_and_audio(scored, tmp_path):
    scores, out = scored
    clean = speech_like(1.0, seed=3)
    noisy = clean + 0.05 * np.random.default_rng(0).standard_normal(clean.size)
    examples = [
        {"label": "first", "signals": {"clean": clean, "noisy": noisy, "emgse": 0.5 * (clean + noisy)}},
        {"label": "second <flat>", "clean": clean, "noisy": 3 * noisy},  # flat form, loud: scaled for playback
    ]
    notes = ["SIMULATED EMG — not results on real EMG"]
    path = write_report(tmp_path / "report.html", out / "scores.csv", examples, "Test & report", notes)
    page = path.read_text(encoding="utf-8")
    # self-contained: every src/href is inline data
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "http" not in page
    assert "<title>Test &amp; report</title>" in page and notes[0] in page
    assert "second &lt;flat&gt;" in page
    # the summary tables, with their numbers
    for table in summary_tables(scores):
        assert f"<h3>{table.title}</h3>" in page
        assert "<td>" + "</td><td>".join(table.rows[0]) + "</td>" in page
    # one spectrogram and one player per signal, plus two plots
    assert page.count("<audio controls") == 5
    pngs = data_uris(page, "image/png")
    assert len(pngs) == 5 + 2
    import matplotlib.image

    for png in pngs:
        assert png.startswith(PNG_MAGIC)
        image = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 100
    wavs = data_uris(page, "audio/wav")
    assert len(wavs) == 5
    first, fs = sf.read(io.BytesIO(wavs[0]))
    assert fs == 16000 and first.shape == clean.shape
    np.testing.assert_allclose(first, clean, atol=1 / 32768 + 1e-9)  # level kept when it fits
    loud, _ = sf.read(io.BytesIO(wavs[4]))
    assert np.max(np.abs(loud)) == pytest.approx(0.9, abs=1e-3)  # scaled down jointly, not clipped


def test_build_report_picks_examples_from_disk(mixset, scored, tmp_path):
    mix, enh = mixset
    scores, out = scored
    chosen = pick_examples(scores, 3)
    # hardest SNR first, alternating categories, distinct noises while they last, one utterance
    assert [(c["snr_db"], c["category"]) for c in chosen] == [(-5.0, "speech"), (-5.0, "nonspeech"), (5.0, "speech")]
    assert len({c["utt_id"] for c in chosen}) == 1
    assert len(pick_examples(scores, 10)) == 4  # every mixture of that utterance, once
    page = build_report(tmp_path / "r.html", out, mixtures_dir=mix, enhanced_root=enh, n_examples=3,
                        title="t", notes=["n"]).read_text()
    # clean, noisy, oracle, passthrough for each of the 3 examples
    assert page.count("<audio controls") == 12
    with pytest.raises(EmgseError, match="enhanced outputs"):
        build_report(tmp_path / "r2.html", out, mixtures_dir=mix)
    assert build_report(tmp_path / "r3.html", out).read_text().count("<audio") == 0


def test_bad_example_is_a_clear_error(scored, tmp_path):
    _, out = scored
    with pytest.raises(EmgseError, match="'x'.*signal 'noisy'"):
        write_report(tmp_path / "r.html", out / "scores.csv", [{"label": "x", "noisy": np.full(100, np.nan)}])
    assert not (tmp_path / "r.html").exists()


def test_log_spectrogram_shape_and_peak():
    t = np.arange(16000) / 16000
    spec = log_spectrogram(np.sin(2 * np.pi * 1000 * t))
    assert spec.shape == (257, (16000 - 512) // 128 + 1)
    assert np.argmax(spec.mean(axis=1)) == 32  # 1000 Hz / (16000 / 512) per bin


def test_markdown_sections_become_html_tables(scored, tmp_path):
    _, out = scored
    text = "Robustness (`every 6th`)\n\n| model | PESQ |\n|---|---:|\n| emgse | 1.500 |\n| a<b | 2 |\n"
    page = write_report(tmp_path / "r.html", out / "scores.csv", sections=[("Robustness", text)]).read_text()
    assert "<h2>Robustness</h2><p>Robustness (<code>every 6th</code>)</p>" in page
    assert "<thead><tr><th>model</th><th>PESQ</th></tr></thead><tbody><tr><td>emgse</td><td>1.500</td></tr>" in page
    assert "<td>a&lt;b</td>" in page and "---" not in page.split("<h2>Robustness</h2>")[1]


def test_real_speech_section(scored, tmp_path, monkeypatch):
    from emgse.resources import DATA_ENV
    from emgse.scoring import REAL_PAIRS, find_real_pairs, real_speech_section
    from tests.scoring.test_scoring import write_pairs
    from tests.test_stream import make_checkpoint

    _, out = scored
    monkeypatch.delenv(DATA_ENV, raising=False)  # no data root: no section, nothing run
    assert find_real_pairs() is None and real_speech_section({"m": tmp_path / "none.pt"}, tmp_path / "o") is None
    under = write_pairs(tmp_path / "data" / REAL_PAIRS, rates=(16000,))  # the pairs under a data root are found
    assert find_real_pairs(data_root=tmp_path / "data") == under
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "data"))
    assert find_real_pairs() == under
    pairs = write_pairs(tmp_path / "pairs", rates=(16000, 8000))
    ckpt = make_checkpoint(tmp_path / "c.pt", "causal-audio")
    heading, text = real_speech_section({"tiny": ckpt}, tmp_path / "real", pairs, jobs=1, progress=False, dnsmos=False)
    assert heading == "Real speech (pairs, real recordings)"
    assert text.startswith("2 real recorded pairs from") and "| tiny | 2 |" in text and "ESTOI worse by > 0.02" in text
    assert (tmp_path / "real" / "pair_scores.csv").is_file() and "Target:" not in text
    # with a target, a verdict table follows the scores (its arithmetic: tests/scoring/test_scoring.py)
    from emgse.scoring import HELPS_REAL_SPEECH

    _, judged = real_speech_section({"tiny": ckpt}, tmp_path / "real2", pairs, jobs=1, progress=False, dnsmos=False,
                                    target=HELPS_REAL_SPEECH)
    assert judged.startswith(text.split("per-file")[0]) and "### Target: helps real recordings" in judged
    assert "| tiny | " in judged.split("### Target")[1] and ("| met |" in judged or "missed: " in judged)
    page = write_report(tmp_path / "r.html", out / "scores.csv", sections=[(heading, text)]).read_text()
    assert f"<h2>{heading}</h2>" in page and "<td>tiny</td><td>2</td>" in page
    assert find_real_pairs(pairs) == pairs


# --------------------------------------------------------------------------- fusion gain over audio-only
def fake_scores(systems=("noisy", "audio", "emgse", "emg-alone"), utts=3, noises=("babble", "pink"), snrs=(-11.0, 4.0), seed=0):
    """Random but fixed scores on a full grid of mixtures; fusion PESQ NaN on one mixture."""
    rng = np.random.default_rng(seed)
    rows = []
    for system in systems:
        for u in range(utts):
            for noise in noises:
                for snr in snrs:
                    row = {"system": system, "utt_id": f"u{u}", "noise": noise, "snr_db": snr, "split": "test",
                           "category": "speech" if noise == "babble" else "nonspeech", "path": f"test/{noise}/{snr:g}dB/u{u}.wav",
                           "pesq": float(rng.uniform(1, 3)), "stoi": float(rng.uniform(0.4, 0.9)),
                           "estoi": float(rng.uniform(0.2, 0.8)), "si_sdr": float(rng.uniform(-5, 10))}
                    rows.append(row)
    for r in rows:
        if r["system"] == "emgse" and r["utt_id"] == "u0" and r["snr_db"] == -11.0 and r["noise"] == noises[0]:
            r["pesq"] = float("nan")
    return rows


def test_paired_gains_equal_hand_computed_paired_means():
    from scipy.stats import t as student_t

    from emgse.scoring import paired_gains

    scores = fake_scores()
    gains = paired_gains(scores, [("emgse", "audio"), ("emgse-tcn", "audio")])
    assert [(g["fusion"], g["snr_db"]) for g in gains] == [("emgse", -11.0), ("emgse", 4.0)]  # emgse-tcn absent: no rows
    for g in gains:
        for m in ("pesq", "stoi", "estoi"):
            diffs, per_utt = [], {}
            for f in scores:
                if f["system"] != "emgse" or f["snr_db"] != g["snr_db"]:
                    continue
                a = next(r for r in scores if r["system"] == "audio" and r["utt_id"] == f["utt_id"]
                         and r["noise"] == f["noise"] and r["snr_db"] == f["snr_db"])
                if np.isfinite(f[m] - a[m]):
                    diffs.append(f[m] - a[m])
                    per_utt.setdefault(f["utt_id"], []).append(f[m] - a[m])
            assert g[m] == pytest.approx(sum(diffs) / len(diffs), abs=1e-12)
            assert g[f"{m}_n"] == len(diffs)
            means = [sum(v) / len(v) for v in per_utt.values()]
            half = student_t.ppf(0.975, len(means) - 1) * np.std(means, ddof=1) / np.sqrt(len(means))
            assert g[f"{m}_hi"] - g[m] == pytest.approx(half) and g[m] - g[f"{m}_lo"] == pytest.approx(half)
    assert gains[0]["pesq_n"] == 5 and gains[1]["pesq_n"] == 6  # the NaN mixture left out
    overall = paired_gains(scores, [("emgse", "audio")], by=None)
    assert len(overall) == 1 and overall[0]["group"] == "all" and overall[0]["stoi_n"] == 12
    one_utt = paired_gains(fake_scores(utts=1), [("emgse", "audio")])
    assert all(np.isnan(g["estoi_lo"]) and np.isfinite(g["estoi"]) for g in one_utt)  # no interval from one utterance


def legend_labels(fig) -> set[str]:
    return {text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()}


def test_report_has_fusion_gain_figure_and_emg_alone_line_only_when_scored(tmp_path):
    from emgse.report import plot_fusion_gains
    from emgse.scoring import fusion_gain_table

    scores = fake_scores()
    fig = plot_fusion_gains(scores)
    assert {"EMG alone", "emgse - audio", "emgse", "audio"} <= legend_labels(fig)
    page = write_report(tmp_path / "with.html", scores).read_text()
    assert "<h2>Fusion gain over audio-only</h2>" in page and 'alt="fusion gain over audio-only against SNR, with EMG alone"' in page
    table = fusion_gain_table(scores)
    assert "<td>" + "</td><td>".join(table.rows[0]) + "</td>" in page
    assert table.rows[0][:2] == ["emgse - audio", "PESQ"] and len(table.rows) == 3 and "EMG alone" in table.notes[-1]
    pngs = data_uris(page, "image/png")
    assert len(pngs) == 3 and all(p.startswith(PNG_MAGIC) for p in pngs)

    # an EMG-alone run of another loss gets its own line, named, beside the plain one
    comp = [{**r, "system": "emg-alone-comp", "estoi": r["estoi"] + 0.01} for r in scores if r["system"] == "emg-alone"]
    fig = plot_fusion_gains(scores + comp)
    assert {"EMG alone", "EMG alone (emg-alone-comp)"} <= legend_labels(fig)
    assert sum("EMG alone" in note for note in fusion_gain_table(scores + comp).notes) == 2
    assert "<code>emg-alone</code>, <code>emg-alone-comp</code>" in write_report(tmp_path / "comp.html", scores + comp).read_text()

    without = [r for r in scores if r["system"] != "emg-alone"]
    assert "EMG alone" not in legend_labels(plot_fusion_gains(without))
    page = write_report(tmp_path / "without.html", without).read_text()
    assert 'alt="fusion gain over audio-only against SNR"' in page and "EMG alone" not in page


def test_report_without_a_fusion_pair_has_no_gain_section(tmp_path):
    from emgse.report import plot_fusion_gains
    from emgse.scoring import fusion_gain_table

    for systems in (("audio",), ("noisy", "emgse"), ("noisy", "emg-alone")):
        scores = fake_scores(systems)
        assert plot_fusion_gains(scores) is None and fusion_gain_table(scores) is None
        page = write_report(tmp_path / "r.html", scores).read_text()
        assert "Fusion gain over audio-only" not in page and "<h2>Scores against SNR</h2>" in page
    # a pair given explicitly is used
    page = write_report(tmp_path / "r.html", fake_scores(("noisy", "a", "b")), pairs=[("b", "a")]).read_text()
    assert "<td>b - a</td>" in page
