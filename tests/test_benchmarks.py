"""The benchmark scripts (``python -m benchmarks.<name>``): their tables on tiny inputs, their refusals, their
--help. The quality benchmark's stages are tested with their module (tests/experiments/test_quality.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emgse.errors import EmgseError
from emgse.scoring import read_scores

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(name: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m benchmarks.<name> args`` from the repository root, its output captured."""
    return subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_robustness_table_runs_every_fault_on_tiny_models(tmp_path):
    """The code path of benchmarks/robustness.py on untrained tiny-data checkpoints (the real table
    needs the models of a finished quality run)."""
    import numpy as np
    import torch
    from benchmarks.robustness import FAULTS, SEEN, UNSEEN, robustness_table

    from emgse.checkpoint import save_checkpoint
    from emgse.config import AudioConfig, EmgConfig, MixConfig, to_dict
    from emgse.features.emg import CHANNEL_SETS
    from emgse.mixing import NoiseBank, mix_corpus
    from emgse.models import build_model
    from tests.conftest import write_prepared

    prep = write_prepared(tmp_path / "prepared", {"test": 1}, seconds=1.0)
    mix_corpus(prep, ["test"], NoiseBank.from_sources(["white"]), MixConfig(snrs_db=(0.0,), seed=1), tmp_path / "mix-test", progress=False)
    channels = list(CHANNEL_SETS["all"])
    dims = len(channels) * 5
    for name, args in (("audio", {}), ("emgse-tcn", {"emg_dims": dims, "context": 15})):
        torch.manual_seed(0)
        save_checkpoint(tmp_path / "runs" / name / "best.pt", {
            "model_name": name, "model_args": args, "state_dict": build_model(name, **args).state_dict(),
            "audio_config": to_dict(AudioConfig()), "emg_config": to_dict(EmgConfig(normalization="zscore", context=15)),
            "emg_fs": 2000.0, "emg_channels": 40, "channels": channels,
            "zscore": {"mean": [0.0] * dims, "std": [1.0] * dims}, "train_config": {}, "epoch": 0, "val_loss": 0.0,
        })
    text = robustness_table(tmp_path, every=1, jobs=1, progress=False)
    rows = [line for line in text.splitlines() if line.startswith("| emgse-tcn |")]
    assert [r.split("|")[2].strip() for r in rows] == [f.label for f in FAULTS] + [f.label for f in SEEN]
    for r in rows:
        cells = [c.strip() for c in r.split("|")[1:-1]]
        assert np.isfinite(float(cells[3])) and np.isfinite(float(cells[4]))
        assert cells[2] == ("cannot see it" if cells[1] in {f.label for f in UNSEEN} else "finds it" if r in rows[2:4] else
                            "off" if r in rows[-2:] else "")
    assert "emgse |" not in text  # models without a checkpoint are skipped
    with pytest.raises(EmgseError, match=r"audio-only reference 'audio-mask' in this run \(trained: audio, emgse-tcn\)"):
        robustness_table(tmp_path, every=1, jobs=1, progress=False, reference="audio-mask")
    (tmp_path / "runs" / "audio").rename(tmp_path / "runs" / "audio-mask")  # a mask-family run's audio-only model
    text = robustness_table(tmp_path, every=1, jobs=1, progress=False, models=("emgse-tcn",), faults=FAULTS[:2], reference="audio-mask")
    assert "PESQ vs `audio-mask`" in text and "| audio-mask | - |" in text and text.count("| emgse-tcn |") == 2
    # --loss compressed: the '-comp' runs of the same folder, scored apart
    for name in ("audio-mask", "emgse-tcn"):
        (tmp_path / "runs" / name).rename(tmp_path / "runs" / f"{name}-comp")
    text = robustness_table(tmp_path, every=1, jobs=1, progress=False, models=("emgse-tcn",), faults=FAULTS[:2], reference="audio-mask",
                            loss="compressed")
    assert "PESQ vs `audio-mask-comp`" in text and text.count("| emgse-tcn-comp |") == 2
    assert {r["system"] for r in read_scores(tmp_path / "scores-robust-comp" / "scores.csv")} == {
        "noisy", "audio-mask-comp", "emgse-tcn-comp@none", "emgse-tcn-comp@absent"}
    # --wave-loss sisdr as well: the '-comp-sisdr' runs
    for name in ("audio-mask", "emgse-tcn"):
        (tmp_path / "runs" / f"{name}-comp").rename(tmp_path / "runs" / f"{name}-comp-sisdr")
    text = robustness_table(tmp_path, every=1, jobs=1, progress=False, models=("emgse-tcn",), faults=FAULTS[:2], reference="audio-mask",
                            loss="compressed", wave_loss="sisdr")
    assert "PESQ vs `audio-mask-comp-sisdr`" in text and text.count("| emgse-tcn-comp-sisdr |") == 2
    assert {r["system"] for r in read_scores(tmp_path / "scores-robust-comp-sisdr" / "scores.csv")} == {
        "noisy", "audio-mask-comp-sisdr", "emgse-tcn-comp-sisdr@none", "emgse-tcn-comp-sisdr@absent"}


def test_robustness_help_works():
    result = run_benchmark("robustness", "--help")
    assert result.returncode == 0 and "cannot see" in result.stdout


def test_ablations_take_the_recorded_speech_run_and_refuse_it_where_it_does_not_apply(tmp_path):
    shown = run_benchmark("ablations", "--help")
    assert shown.returncode == 0 and "--speech" in shown.stdout
    for extra, why in ((["--study", "emg-snr"], "--speech goes with"),
                       (["--study", "channels", "--quick", "--protocol", "unseen-speakers"], "--speech goes with"),
                       (["--study", "channels"], "--speech and --epochs belong to --protocol unseen-speakers")):  # the default protocol
        refused = run_benchmark("ablations", *extra, "--out", str(tmp_path / "run"), "--speech", str(tmp_path))
        assert refused.returncode == 2 and why in refused.stderr
        assert not (tmp_path / "run").exists()  # refused before anything is built


# --------------------------------------------------------------------------- low-SNR targets (benchmarks/low_snr.py)
SNRS = (-11.0, -6.0, -1.0, 4.0)
# emgse-tcn - audio per SNR (ESTOI, STOI, PESQ); paper emgse is audio + 0.02 everywhere
TCN_GAIN = {-11.0: (0.12, 0.05, 0.15), -6.0: (0.04, 0.03, 0.2), -1.0: (0.0, 0.0, 0.3), 4.0: (0.0, 0.0, 0.3)}


def fake_quality_run(out, emg_alone_estoi: float = 0.25):
    """A quality run's bookkeeping without training: per-system scores, merged scores, parameter counts."""
    import json

    import numpy as np

    from emgse.scoring import write_scores

    rng = np.random.default_rng(0)
    base = {(u, n, s): rng.uniform(0.3, 0.6, 4) for u in range(2) for n in ("babble", "pink") for s in SNRS}
    jitter = {0: 0.01, 1: -0.01}  # per utterance, mean zero: the gains stay exact, the interval gets a width
    gains = {"noisy": lambda s: (-0.1, -0.1, -0.1), "audio": lambda s: (0, 0, 0), "emgse": lambda s: (0.02, 0.02, 0.02),
             "emgse-tcn": lambda s: TCN_GAIN[s], "emg-alone": None}
    merged = []
    for system, gain in gains.items():
        rows = []
        for (u, noise, snr), b in base.items():
            if gain is None:
                estoi, stoi, pesq = emg_alone_estoi, 0.6, 1.1
            else:
                g = gain(snr)
                j = jitter[u] if system == "emgse-tcn" else 0.0
                estoi, stoi, pesq = b[0] + g[0] + j, b[1] + g[1] + j, 1 + b[2] + g[2] + j
            rows.append({"system": system, "utt_id": f"u{u}", "noise": noise, "snr_db": snr, "pesq": pesq, "stoi": stoi,
                         "estoi": estoi, "si_sdr": b[3], "split": "test", "category": "", "path": f"test/{noise}/{snr:g}dB/u{u}.wav"})
        write_scores(out / "scores" / "systems" / system / "scores.csv", rows)
        (out / "scores" / "systems" / system / ".complete").write_text("ok\n")
        merged += rows
    write_scores(out / "scores" / "scores.csv", merged)
    for system, n, model in (("audio", 3_513_081, "audio"), ("emgse", 4_638_381, "emgse"), ("emgse-tcn", 3_766_653, "emgse-tcn"),
                             ("emg-alone", 3_000_000, "emg-only")):
        (out / "runs" / system).mkdir(parents=True)
        (out / "runs" / system / "summary.json").write_text(json.dumps({"parameters": n, "model": model}))


def test_low_snr_table_met_and_missed_arithmetic(tmp_path, capsys):
    from benchmarks.low_snr import low_snr_targets, main, read_parameters, read_run_scores

    fake_quality_run(tmp_path)
    scores = read_run_scores(tmp_path)
    fusion, audio, rows = low_snr_targets(scores, read_parameters(tmp_path))
    assert (fusion, audio) == ("emgse-tcn", "audio")  # +0.12 ESTOI at -11 dB beats emgse's +0.02
    got = {t.label: (t.measured, t.status()) for t in rows}
    mean = {m: sum(TCN_GAIN[s][i] for s in SNRS) / len(SNRS) - 0.02 for i, m in enumerate(("ESTOI", "STOI", "PESQ"))}
    expected = {
        "-11 dB: ESTOI gain over `audio`": (0.12, "met"),
        "-11 dB: STOI gain over `audio`": (0.05, "missed by 0.030"),
        "-11 dB: PESQ gain over `audio`": (0.15, "met"),  # exactly on the threshold
        "-6 dB: ESTOI gain over `audio`": (0.04, "missed by 0.020"),
        "mean over SNRs: PESQ margin over paper `emgse`": (mean["PESQ"], "met"),
        "mean over SNRs: ESTOI margin over paper `emgse`": (mean["ESTOI"], f"missed by {0.026 - mean['ESTOI']:.3f}"),
        "parameters (paper `emgse`: 4,638,381)": (3_766_653, "met"),
        "EMG alone (`emg-alone`): ESTOI": (0.25, "missed by 0.050"),
    }
    assert list(got) == list(expected)
    for label, (value, status) in expected.items():
        assert got[label][0] == pytest.approx(value, abs=1e-9) and got[label][1] == status, label
    low = rows[0]
    assert low.interval[0] < 0.12 < low.interval[1]  # the utterance jitter gives the interval a width

    # judging paper emgse instead: no margin over itself, and a parameter count over budget is missed by the excess
    _, _, paper = low_snr_targets(scores, {"emgse": 4_638_381, "emgse-tcn": 3_766_653}, "emgse")
    assert paper[4].status() == "missed by 0.174" and paper[6].status() == "met"
    over = low_snr_targets(scores, {"emgse": 4_638_381, "emgse-tcn": 4_638_400})[2][6]
    assert over.status() == "missed by 19"
    assert low_snr_targets(scores, {})[2][6].status() == "not measured"

    assert main(["--out", str(tmp_path), "--plot", str(tmp_path / "fig" / "gain.png")]) == 0
    assert (tmp_path / "fig" / "gain.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "| -11 dB: STOI gain over `audio` | >= +0.080 | +0.050 |" in printed and "4 of 8 met" in printed
    assert "| EMG alone (`emg-alone`): ESTOI | >= 0.300 | 0.250 |  | missed by 0.050 |" in printed and "SIMULATED EMG" in printed
    # what was tried: every scored pair, what its model is, its losses and its gains at -11 / -6 dB
    from emgse.models import describe

    tried = printed.split("What was tried")[1].split("What the EMG itself adds")[0]
    assert f"| `emgse-tcn` | `audio` | `emgse-tcn`: {describe('emgse-tcn')} | l1 | +0.120 [" in tried
    assert f"| `emgse` | `audio` | `emgse`: {describe('emgse')} | l1 | +0.020 [+0.020, +0.020] |" in tried
    assert describe("emgse-tcn").startswith("The paper's audio path")  # not "``emgse-tcn``: the paper's ..."
    assert (tmp_path / "tables" / "low-snr.md").read_text().strip() == printed.strip().rsplit("\nwrote ", 1)[0].strip()
    page = (tmp_path / "report.html").read_text()
    assert "<h2>Low-SNR targets</h2>" in page and "<h2>Fusion gain over audio-only</h2>" in page and "with EMG alone" in page


def test_low_snr_emg_share_from_the_robustness_subset(tmp_path, capsys):
    """The second table: the fusion model intact minus the same model with its EMG absent, read from
    the robustness scores; 'not measured' (with the command to run) when they are missing."""
    from benchmarks.low_snr import emg_share, main

    from emgse.scoring import write_scores

    fake_quality_run(tmp_path)
    assert emg_share(tmp_path, "emgse-tcn") is None
    assert main(["--out", str(tmp_path), "--no-report"]) == 0
    assert "What the EMG itself adds to `emgse-tcn` (intact minus EMG absent): not measured" in capsys.readouterr().out
    added = {-11.0: 0.05, -6.0: 0.02, -1.0: 0.0, 4.0: -0.01}  # ESTOI from the EMG per SNR
    rows = []
    for label in ("none", "absent"):
        for u in range(3):
            for snr in SNRS:
                e = 0.3 + 0.01 * u + (added[snr] + 0.004 * (u - 1) if label == "none" else 0.0)
                rows.append({"system": f"emgse-tcn@{label}", "utt_id": f"u{u}", "noise": "pink", "snr_db": snr, "pesq": 1.2,
                             "stoi": 0.6, "estoi": e, "si_sdr": 0.0, "split": "test", "category": "", "path": f"test/pink/{snr:g}dB/u{u}.wav"})
    write_scores(tmp_path / "scores-robust" / "scores.csv", rows)
    gains, n = emg_share(tmp_path, "emgse-tcn")
    assert n == 12 and [g["snr_db"] for g in gains] == list(SNRS)
    for g in gains:
        assert g["estoi"] == pytest.approx(added[g["snr_db"]], abs=1e-9) and g["pesq"] == pytest.approx(0.0, abs=1e-9)
        assert g["estoi_lo"] < g["estoi"] < g["estoi_hi"]
    assert emg_share(tmp_path, "emgse") is None  # no robustness rows for that model
    assert main(["--out", str(tmp_path), "--no-report"]) == 0
    printed = capsys.readouterr().out
    assert "robustness.py`'s subset, 12 mixtures" in printed and "| -11 dB | +0.050 [" in printed


def test_low_snr_errors_are_one_line(tmp_path, capsys):
    from benchmarks.low_snr import main

    assert main(["--out", str(tmp_path)]) == 2
    assert "no scores of a quality run" in capsys.readouterr().err
    fake_quality_run(tmp_path)
    assert main(["--out", str(tmp_path), "--fusion", "audio", "--no-report"]) == 2
    assert "--fusion audio: not a scored fusion system" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_low_snr_help_works():
    result = run_benchmark("low_snr", "--help")
    assert result.returncode == 0 and "-11 dB" in result.stdout and "Trains nothing" in result.stdout


# --------------------------------------------------------------------------- development pairs (benchmarks/dev_pairs.py)
def _speech_and_noise(root, speakers: int = 5):
    import numpy as np

    from emgse.files import write_wav

    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    for s in range(speakers):
        for u in range(2):  # a tone burst pattern per recording, at 16 kHz (FLAC, as speechocean762)
            x = 0.1 * np.sin(2 * np.pi * (150 + 20 * s + 5 * u) * t) * (np.sin(2 * np.pi * 3 * t) > 0)
            path = root / "speech" / "test" / f"SPK{s}" / f"{s}{u}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            import soundfile as sf

            sf.write(path, x, 16000)
    write_wav(root / "noise" / "a.wav", rng.standard_normal(8000), 16000)  # shorter than the speech: looped
    write_wav(root / "noise" / "b.wav", rng.standard_normal((40000, 2)), 20000)  # 20 kHz, two channels: the first, resampled
    return root / "speech", root / "noise"


def test_dev_pairs_are_deterministic_at_the_asked_snrs(tmp_path, capsys):
    import json

    import numpy as np
    from benchmarks.dev_pairs import build_pairs, main

    from emgse.scoring import read_pairs

    speech, noise = _speech_and_noise(tmp_path)
    records = build_pairs(speech, noise, tmp_path / "a", pairs=4, snrs=(0.0, 10.0), seed=3)
    build_pairs(speech, noise, tmp_path / "b", pairs=4, snrs=(0.0, 10.0), seed=3)
    assert [r["noise"] for r in records] == ["a.wav", "b.wav", "a.wav", "b.wav"]
    assert len({r["speech"].split("/")[1] for r in records}) == 4  # one recording per speaker
    pairs = read_pairs(tmp_path / "a")
    assert len(pairs) == 4
    for pair, r in zip(pairs, records, strict=True):
        noise_part = pair.noisy - pair.clean
        snr = 10 * np.log10(np.mean(pair.clean**2) / np.mean(noise_part**2))
        assert snr == pytest.approx(r["snr_db"], abs=1e-3)
        assert 0.06 - 1e-9 <= np.abs(pair.noisy).max() <= 0.3 + 1e-9
    for name in ("clean/p00.wav", "noisy/p03.wav", "pairs.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert json.loads((tmp_path / "a" / "pairs.json").read_text())["seed"] == 3

    # an existing folder is refused (nothing touched), too few speakers is one line
    before = (tmp_path / "a" / "noisy" / "p00.wav").read_bytes()
    assert main(["--out", str(tmp_path / "a"), "--speech", str(speech), "--noises", str(noise), "--pairs", "4"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "a" / "noisy" / "p00.wav").read_bytes() == before
    assert main(["--out", str(tmp_path / "c"), "--speech", str(speech), "--noises", str(noise), "--pairs", "6"]) == 2
    err = capsys.readouterr().err
    assert "5 speaker folders, fewer than the 6 pairs" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_low_snr_judges_the_runs_of_another_loss(tmp_path, capsys):
    """With the '-comp' runs of benchmarks/quality.py --loss compressed beside the l1 ones, the
    judged pair, its EMG-alone run and its EMG share are the compressed ones when they gain more."""
    import shutil

    from benchmarks.low_snr import emg_share, low_snr_targets, main, read_run_scores

    from emgse.experiments import System
    from emgse.experiments.quality import with_loss
    from emgse.scoring import write_scores
    from emgse.scoring.run_names import split_loss_suffix

    fake_quality_run(tmp_path)
    systems = tmp_path / "scores" / "systems"
    for name, shift in (("audio", 0.0), ("emgse-tcn", 0.2), ("emg-alone", 0.1)):  # the compressed fusion gains 0.2 more ESTOI
        rows = [{**r, "system": f"{name}-comp", "estoi": r["estoi"] + shift} for r in read_scores(systems / name / "scores.csv")]
        write_scores(systems / f"{name}-comp" / "scores.csv", rows)
        (systems / f"{name}-comp" / ".complete").write_text("ok\n")
        shutil.copytree(tmp_path / "runs" / name, tmp_path / "runs" / f"{name}-comp")
    scores = read_run_scores(tmp_path)
    fusion, audio, rows = low_snr_targets(scores, {})
    assert (fusion, audio) == ("emgse-tcn-comp", "audio-comp")
    assert rows[0].measured == pytest.approx(0.32, abs=1e-9)
    assert rows[-1].label == "EMG alone (`emg-alone-comp`): ESTOI" and rows[-1].measured == pytest.approx(0.35, abs=1e-9)
    assert main(["--out", str(tmp_path), "--no-report"]) == 0
    assert f"(run `python -m benchmarks.robustness --out {tmp_path} --loss compressed` first)" in capsys.readouterr().out
    rows = [{"system": f"emgse-tcn-comp@{label}", "utt_id": f"u{u}", "noise": "pink", "snr_db": -11.0, "pesq": 1.2, "stoi": 0.6,
             "estoi": 0.3 + 0.01 * u + (0.04 if label == "none" else 0.0), "si_sdr": 0.0, "split": "test", "category": "",
             "path": f"test/pink/-11dB/u{u}.wav"} for label in ("none", "absent") for u in range(3)]
    write_scores(tmp_path / "scores-robust-comp" / "scores.csv", rows)
    gains, n = emg_share(tmp_path, "emgse-tcn-comp")
    assert n == 3 and gains[0]["estoi"] == pytest.approx(0.04, abs=1e-9)
    assert emg_share(tmp_path, "emgse-tcn") is None
    assert [x.name for x in with_loss((System("audio-mask", "audio-mask"),), "compressed")] == ["audio-mask-comp"]
    assert split_loss_suffix("emgse-tcn-comp")[0] == "emgse-tcn" and split_loss_suffix("emgse-tcn")[0] == "emgse-tcn"
    assert split_loss_suffix("emgse-tcn-comp")[1] == "compressed" and split_loss_suffix("emgse-tcn")[1] == "l1"
    # runs trained with a waveform loss as well: judged as any pair, EMG alone of the same spectral loss
    for name in ("audio", "emgse-tcn"):
        rows = [{**r, "system": f"{name}-comp-sisdr", "estoi": r["estoi"] + (0.1 if name == "emgse-tcn" else 0.0)}
                for r in read_scores(systems / f"{name}-comp" / "scores.csv")]
        write_scores(systems / f"{name}-comp-sisdr" / "scores.csv", rows)
        (systems / f"{name}-comp-sisdr" / ".complete").write_text("ok\n")
    fusion, audio, rows = low_snr_targets(read_run_scores(tmp_path), {})
    assert (fusion, audio) == ("emgse-tcn-comp-sisdr", "audio-comp-sisdr") and rows[0].measured == pytest.approx(0.42, abs=1e-9)
    assert rows[-1].label == "EMG alone (`emg-alone-comp`): ESTOI"
    assert main(["--out", str(tmp_path), "--no-report"]) == 0
    assert f"(run `python -m benchmarks.robustness --out {tmp_path} --loss compressed --wave-loss sisdr` first)" in capsys.readouterr().out


def test_quality_refuses_a_waveform_loss_for_emg_alone_before_writing(tmp_path):
    out = tmp_path / "bench"
    result = run_benchmark("quality", "--out", str(out), "--protocol", "unseen-speakers", "--wave-loss", "sisdr",
                           "--systems", "emg-alone")
    assert result.returncode == 2 and "emg-alone hears no microphone" in result.stderr and not out.exists()
    # the default protocol is speaker-dependent: the unseen-speaker options are refused there, before anything is written
    result = run_benchmark("quality", "--out", str(out), "--all", "--epochs", "2")
    assert result.returncode == 2 and "--all, --epochs: unseen-speaker benchmark option(s)" in result.stderr and not out.exists()


def test_demo_choices_rule_and_table():
    """benchmarks/demo_choices.py: the selection rule fixed before measuring, on made-up figures."""
    from benchmarks.demo_choices import choose, means, table_markdown, variant_name

    assert [variant_name(1.0), variant_name(2.0), variant_name(1.0, 18.0), variant_name(1.0, wave="sisdr")] == ["a1", "a2", "a1-lim18", "a1-sisdr"]

    def seed_rows(pesq_gain, estoi_gain, estoi):
        return [{"seed": s, "proxy_pesq_gain": pesq_gain, "proxy_estoi_gain": estoi_gain + d, "proxy_worse": s, "proxy_n": 40,
                 "pesq": 1.1, "stoi": 0.77, "estoi": estoi, "estoi_low": 0.32} for s, d in ((0, -0.001), (1, 0.001))]

    rows = {"a1": seed_rows(0.05, 0.003, 0.52), "a2": seed_rows(0.04, 0.010, 0.52), "a4": seed_rows(0.02, 0.020, 0.52),
            "a1-lim18": seed_rows(0.05, 0.015, 0.50)}
    m = means(rows)
    assert m["a2"]["proxy_estoi_gain"] == pytest.approx(0.010) and m["a1"]["proxy_worse"] == 0.5
    # a4 loses too much proxy PESQ, a1-lim18 too much simulated ESTOI: a2 has the largest proxy ESTOI gain left
    assert choose(m) == "a2"
    m["a2"]["proxy_estoi_gain"] = 0.0035  # within 0.001 of the baseline's: the simpler (listed first) wins
    assert choose(m) == "a1"
    text = table_markdown(rows)
    assert "| a2 | mean | +0.040 | +0.0100 | 0.5 of 40 |" in text and "| a1 | 1 | +0.050 | +0.0040 | 1 of 40 |" in text
    assert "Chosen by the rule: `a2`" in text


def test_wave_weights_match_each_term_to_the_spectral_loss(tmp_path):
    """benchmarks/wave_weights.py on a demo-shaped folder (mix-train + runs/audio-mask)."""
    from benchmarks.wave_weights import measure

    from emgse.training import TrainConfig, train
    from tests.pipeline import tiny_pipeline

    pipe = tiny_pipeline(tmp_path / "p")
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "mix-train").symlink_to(pipe["mix"])
    train(pipe["train"], pipe["val"], demo / "runs" / "audio-mask",
          TrainConfig(model="audio-mask", loss="compressed", max_epochs=1, batch_size=4, max_steps_per_epoch=2), progress=False)
    m = measure(demo)
    assert m["spectral"] > 0
    for kind in ("sisdr", "mrstft"):
        assert m[kind] != 0 and m[f"{kind}_weight"] * abs(m[kind]) == pytest.approx(m["spectral"], rel=1e-9)
    assert m["mrstft"] > 0  # a distance, unlike the negative SI-SDR


def test_level_benchmark_prints_spread_and_verdict(tmp_path, capsys):
    from benchmarks.level import main, spread_verdict

    from tests.scoring.test_scoring import write_pairs
    from tests.test_stream import make_checkpoint

    assert spread_verdict(0.0) == "met" and spread_verdict(0.0204) == "met" and spread_verdict(0.036) == "missed by 0.016"
    pairs = write_pairs(tmp_path / "pairs", rates=(16000,))
    ckpt = make_checkpoint(tmp_path / "tiny.pt", "causal-audio")
    main(["--checkpoint", str(ckpt), "--pairs", str(pairs), "--gains", "0.1", "1"])
    printed = capsys.readouterr().out
    assert "Level robustness on 1 real pairs of pairs" in printed
    assert printed.count("| tiny | ") == 3 and printed.count("| noisy | ") == 3  # 2 gains + the spread row each
    spread_row = [line for line in printed.splitlines() if line.startswith("| tiny |")][-1]  # the spread table's row
    assert "target: STOI spread <= 0.02" in printed and (spread_row.endswith("| met |") or "| missed by " in spread_row)


def test_pretrain_trains_probes_and_exports_a_card(tmp_path, monkeypatch):
    """benchmarks/pretrain.py end to end on tiny settings: --fit-minutes probes and picks the epochs,
    --export writes float16 weights with their card (loadable with weights_only), --no-score skips scoring."""
    import sys

    import torch
    from benchmarks import pretrain

    from emgse.resources import SPEECH_SUBSET

    dest = tmp_path / "model.pt"
    argv = ["pretrain.py", "--out", str(tmp_path / "p"), "--speech", str(SPEECH_SUBSET / "train"), "--noise", "white", "--hidden", "16",
            "--fit-minutes", "0.02", "--steps-per-epoch", "2", "--batch-size", "2", "--device", "cpu", "--quiet", "--export", "--no-score",
            "--dest", str(dest), "--snr", "0", "30"]
    monkeypatch.setattr(sys, "argv", argv)
    pretrain.main()
    assert (tmp_path / "p" / "probe" / "log.csv").is_file()  # the throwaway probe run
    ckpt = torch.load(dest, weights_only=True)
    card = ckpt["card"]
    assert card["model"] == "audio-mask" and card["model_args"] == {"hidden": 16} and card["steps"] == 2 * card["epochs"] >= 2
    assert card["train_utterances"] > 0 and card["noises"] == 1 and card["device"] == "cpu" and "scores" not in card
    assert all(v.dtype == torch.float16 for v in ckpt["state_dict"].values() if v.is_floating_point())
    assert "optimizer" not in ckpt and 1 <= card["epochs"] <= ckpt["train_config"]["max_epochs"]  # the clock may stop it early
    assert tuple(card["sampler_config"]["snr_range_db"]) == (0.0, 30.0)  # --snr reaches the mixtures and the card
