"""The benchmark scripts' bookkeeping: scores kept per system, tables kept and put in the report."""

from __future__ import annotations

import os

import pytest
from benchmarks.quality import save_table, score_each, tables_markdown

from emgse.evaluate import read_scores, summarize
from tests.test_evaluate import make_mixtures, write_system


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    mix = make_mixtures(root, utterances=1, seconds=1.0)
    enh = root / "enhanced"
    systems = (("oracle-magnitude", lambda noisy, ref: ref), ("oracle-irm", lambda noisy, ref: 0.2 * noisy + 0.8 * ref),
               ("half", lambda noisy, ref: 0.5 * (noisy + ref)))
    for name, fn in systems:
        write_system(mix, enh, name, fn)
        (enh / name / ".complete").write_text("ok\n")
    return root, mix, enh


def test_scores_are_kept_per_system_and_redone_when_outputs_change(bench):
    root, mix, enh = bench
    cache, merged = root / "scores" / "systems", root / "scores"
    rows = score_each(mix, enh, ["oracle-magnitude"], cache, merged, jobs=1)
    assert {r["system"] for r in rows} == {"noisy", "oracle-magnitude"}
    stamp = (cache / "oracle-magnitude" / ".complete").stat().st_mtime_ns
    rows = score_each(mix, enh, ["oracle-magnitude", "half"], cache, merged, jobs=1)  # only "half" is new
    assert (cache / "oracle-magnitude" / ".complete").stat().st_mtime_ns == stamp
    assert [r["system"] for r in read_scores(merged)] == [r["system"] for r in rows]
    assert {r["system"] for r in rows} == {"noisy", "oracle-magnitude", "half"}
    later = stamp + 10**9
    os.utime(enh / "oracle-magnitude" / ".complete", ns=(later, later))  # outputs rewritten after scoring
    score_each(mix, enh, ["oracle-magnitude"], cache, merged, jobs=1)
    assert (cache / "oracle-magnitude" / ".complete").stat().st_mtime_ns != stamp


def test_tables_and_report(bench):
    root, mix, enh = bench
    rows = score_each(mix, enh, ["oracle-irm", "half", "oracle-magnitude"], root / "scores" / "systems", root / "scores", jobs=1)
    text = tables_markdown(rows, {"half": 1234}, {"half": 0.05})
    assert "| pesq |" in text and "| half |" in text and "1,234" in text and "| 0.050 |" in text
    table = text.split("\n\n")[0].splitlines()  # the PESQ table

    def cell(prefix: str, column: int) -> str:
        return next(line for line in table if line.startswith(prefix)).split("|")[column].strip()

    gap = cell("| half |", -4)
    # the share of the gap to the ceiling (clean magnitude, noisy phase), not to the IRM
    pesq = {r["system"]: r["pesq"] for r in summarize(rows)}
    expected = (pesq["half"] - pesq["noisy"]) / (pesq["oracle-magnitude"] - pesq["noisy"])
    assert gap == f"{100 * expected:.0f}%" and 0 < int(gap[:-1]) < 100
    assert cell("| oracle-irm (mask oracle) |", -4) == "" and cell("| oracle-magnitude (", -4) == ""
    os.symlink(mix, root / "mix-test")
    save_table(root, "robustness", "Robustness\n\n| model | PESQ |\n|---|---:|\n| x | 1.000 |")
    page = (root / "report.html").read_text()
    assert (root / "tables" / "robustness.md").is_file()
    assert "<h2>Robustness to failing EMG</h2>" in page and "<td>x</td><td>1.000</td>" in page


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


def test_robustness_help_works():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "robustness.py"
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "cannot see" in result.stdout
