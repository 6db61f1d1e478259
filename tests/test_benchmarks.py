"""The benchmark scripts' bookkeeping: scores kept per system, tables kept and put in the report."""

from __future__ import annotations

import os

import pytest
from benchmarks.quality import save_table, score_each, tables_markdown

from emgse.evaluate import read_scores
from tests.test_evaluate import make_mixtures, write_system


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    mix = make_mixtures(root, utterances=1, seconds=1.0)
    enh = root / "enhanced"
    for name, fn in (("oracle", lambda noisy, ref: ref), ("half", lambda noisy, ref: 0.5 * (noisy + ref))):
        write_system(mix, enh, name, fn)
        (enh / name / ".complete").write_text("ok\n")
    return root, mix, enh


def test_scores_are_kept_per_system_and_redone_when_outputs_change(bench):
    root, mix, enh = bench
    cache, merged = root / "scores" / "systems", root / "scores"
    rows = score_each(mix, enh, ["oracle"], cache, merged, jobs=1)
    assert {r["system"] for r in rows} == {"noisy", "oracle"}
    stamp = (cache / "oracle" / ".complete").stat().st_mtime_ns
    rows = score_each(mix, enh, ["oracle", "half"], cache, merged, jobs=1)  # only "half" is new
    assert (cache / "oracle" / ".complete").stat().st_mtime_ns == stamp
    assert [r["system"] for r in read_scores(merged)] == [r["system"] for r in rows]
    assert {r["system"] for r in rows} == {"noisy", "oracle", "half"}
    later = stamp + 10**9
    os.utime(enh / "oracle" / ".complete", ns=(later, later))  # outputs rewritten after scoring
    score_each(mix, enh, ["oracle"], cache, merged, jobs=1)
    assert (cache / "oracle" / ".complete").stat().st_mtime_ns != stamp


def test_tables_and_report(bench):
    root, mix, enh = bench
    rows = score_each(mix, enh, ["oracle", "half"], root / "scores" / "systems", root / "scores", jobs=1)
    text = tables_markdown(rows, {"half": 1234}, {"half": 0.05})
    assert "| pesq |" in text and "| half |" in text and "1,234" in text and "| 0.050 |" in text
    gap = next(line for line in text.splitlines() if line.startswith("| half |")).split("|")[-4].strip()
    assert gap.endswith("%") and 0 < int(gap[:-1]) < 100  # halfway between noisy and the oracle
    os.symlink(mix, root / "mix-test")
    save_table(root, "robustness", "Robustness\n\n| model | PESQ |\n|---|---:|\n| x | 1.000 |")
    page = (root / "report.html").read_text()
    assert (root / "tables" / "robustness.md").is_file()
    assert "<h2>Robustness to failing EMG</h2>" in page and "<td>x</td><td>1.000</td>" in page
