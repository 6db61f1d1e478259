"""The bad-input catalogue, a full disk (issue 34): an operating-system error on any output is one
line naming the file and the reason, exit status 2, and nothing half-written under a final name.

The disk is simulated at the write layer: every file opened for writing under the test's output
folder whose name ends in the given suffix refuses its bytes with ``ENOSPC``, as a full file
system does (the other files are written, as when the WAVs fit but the CSV does not).
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest

from emgse.checkpoint import save_checkpoint
from emgse.errors import EmgseError
from tests.cli.test_edges import argv, paths, run, world  # noqa: F401 (world: a fixture)


class _Full:
    """A file whose writes fail as on a full disk."""

    def __init__(self, f):
        self._f = f

    def write(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def full_disk(monkeypatch, root: Path, suffix: str) -> None:
    """Make files ``*<suffix>`` opened for writing under ``root`` fail with ENOSPC."""
    real = io.open

    def opened(file, mode="r", *args, **kwargs):
        f = real(file, mode, *args, **kwargs)
        name = os.fspath(file) if isinstance(file, (str, os.PathLike)) else ""
        if any(c in mode for c in "wax+") and name.startswith(str(root)) and name.endswith(suffix):
            return _Full(f)
        return f

    monkeypatch.setattr(io, "open", opened)
    monkeypatch.setattr(builtins, "open", opened)


DISK_CASES = {
    "enhance-audio": ("enhance --checkpoint {ckpt} --audio {wav} --emg {emg} --out {out}/o.wav", ".wav", "o.wav"),
    "enhance-mixtures": ("enhance --checkpoint {ckpt} --mixtures {mix} --system s --out {out}/enh", ".wav", ".wav"),
    "enhance-folder-csv": ("enhance --checkpoint {ckpt} --folder {folder} --out {out}/enh --channel-check", ".csv", "channel_check.csv"),
    "mix-wav": ("mix --data {prep} --noise white --snr 0 --out {out}/mix", ".wav", ".wav"),
    "mix-csv": ("mix --data {prep} --noise white --snr 0 --out {out}/mix", ".csv", "mixtures.csv"),
    "mix-json": ("mix --data {prep} --noise white --snr 0 --out {out}/mix", ".json", "mix.json"),
    "evaluate-csv": ("evaluate --mixtures {mix} --out {out}/scores --jobs 1", ".csv", ".csv"),
    "evaluate-json": ("evaluate --mixtures {mix} --out {out}/scores --jobs 1", ".json", "evaluate.json"),
    "evaluate-pairs": ("evaluate --pairs {pairs} --checkpoint {ckpt} --out {out}/scores --no-dnsmos --jobs 1", ".csv", ".csv"),
    "voice": ("voice --checkpoint {voice_ckpt} --emg {emg} --out {out}/o.wav", ".wav", "o.wav"),
    "stream": ("stream --checkpoint {ckpt} --audio {wav} --emg {emg} --out {out}/o.wav", ".wav", "o.wav"),
    "report": ("report --scores {tmp}/sc --out {out}/r.html", ".html", "r.html"),
}


@pytest.mark.parametrize("case", list(DISK_CASES))
def test_a_full_disk_is_one_line_naming_the_file(world, tmp_path, capsys, monkeypatch, case):  # noqa: F811
    """Item 4: every writer (WAV, CSV, JSON, HTML) on a full disk: exit 2, one line with the file
    and "No space left on device", no traceback, nothing under a final name, no temporary file."""
    template, suffix, names = DISK_CASES[case]
    out = tmp_path / "disk"
    out.mkdir()
    if case == "report":
        assert run(["evaluate", "--mixtures", world["mix"], "--out", tmp_path / "sc", "--jobs", "1"], capsys)[0] == 0
    full_disk(monkeypatch, out, suffix)
    code, err = run(argv(template, paths(world, tmp_path, out=out)), capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "No space left on device" in lines[0] and names in lines[0] and "cannot be written" in lines[0], lines[0]
    left = [p for p in out.rglob("*") if p.is_file()]
    assert not any(p.name.endswith(suffix) for p in left), left
    assert not [p for p in out.rglob("*") if ".partial" in p.name]


def test_a_checkpoint_on_a_full_disk(tmp_path, monkeypatch):
    """Checkpoints are serialized in memory and written by the same layer: the file and the reason,
    not torch's "unexpected pos"; best.pt is never half-written."""
    full_disk(monkeypatch, tmp_path, ".pt")
    with pytest.raises(EmgseError, match=r"best\.pt: cannot be written \(No space left on device\)"):
        save_checkpoint(tmp_path / "run" / "best.pt", {"state_dict": {}})
    assert list((tmp_path / "run").iterdir()) == []


def test_a_disk_error_without_a_file_name_is_still_one_line(capsys, monkeypatch):
    """A writer outside emgse's layer (a library writing on its own) hitting a full disk."""
    from emgse import cli

    def broken(args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setitem(cli.COMMANDS, "models", (cli.COMMANDS["models"][0], broken))
    code, err = run(["models"], capsys)
    assert code == 2 and err.strip() == "emgse models: error: No space left on device"
