"""``--data-root DIR`` on ``emgse demo`` and ``emgse recipe emg-uka``: the folder reaches the library
call (``data_root=``), and without the flag the library gets None (it then reads ``EMGSE_DATA``).
The library calls are replaced by recorders: nothing is trained."""

from __future__ import annotations

from pathlib import Path

import pytest

import emgse.experiments
from emgse.cli import main


@pytest.fixture
def calls(monkeypatch):
    """The library entry points of demo and recipe emg-uka, recording their keyword arguments."""
    seen = {}
    for name in ("run_demo", "run_session_demo", "run_emg_uka_recipe"):
        def record(*args, _name=name, **kwargs):
            seen[_name] = kwargs
            return []
        monkeypatch.setattr(emgse.experiments, name, record)
    return seen


RUNS = {
    "run_session_demo": ["demo"],
    "run_demo": ["demo", "--protocol", "unseen-speakers"],
    "run_emg_uka_recipe": ["demo", "--real-emg", "{corpus}"],
    "recipe emg-uka": ["recipe", "emg-uka", "--corpus", "{corpus}"],
}


@pytest.mark.parametrize("case", list(RUNS))
@pytest.mark.parametrize("given", [True, False])
def test_data_root_reaches_the_library(tmp_path, calls, case, given):
    argv = [a.format(corpus=tmp_path / "corpus") for a in RUNS[case]] + ["--out", str(tmp_path / "out")]
    if given:
        argv += ["--data-root", str(tmp_path / "data")]
    assert main(argv) == 0
    [kwargs] = calls.values()
    assert kwargs["data_root"] == (Path(tmp_path / "data") if given else None)
