"""The bad-input catalogue, paths and folders (issue 34): nothing is read or written outside the
folder a manifest or an option names, and one run at a time writes an output folder.

Cases as in :mod:`tests.cli.test_edges`: exit status 2, one line naming the file or option, nothing
new under a final name.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emgse.files import hold_folder, inside, lock_path, plain_name
from tests.cli.test_edges import argv, assert_refused, paths, run, world  # noqa: F401 (world: a fixture)


def _rewrite_manifest(mix: Path, **changes: str) -> None:
    """Set the first row's columns ``changes`` in ``mix/mixtures.csv``."""
    with open(mix / "mixtures.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows, fields = list(reader), reader.fieldnames
    rows[0].update(changes)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (mix / "mixtures.csv").write_text(buf.getvalue())


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A user's file outside every folder the commands are given."""
    path = tmp_path / "victim" / "x.wav"
    path.parent.mkdir()
    sf.write(path, np.full(8000, 0.1), 16000, subtype="FLOAT")
    return path


MANIFEST_COMMANDS = {
    "enhance": "enhance --checkpoint {ckpt} --mixtures {m} --system s --out {tmp}/enh",
    "voice": "voice --checkpoint {voice_ckpt} --mixtures {m} --system s --out {tmp}/enh",
    "evaluate": "evaluate --mixtures {m} --out {tmp}/scores --jobs 1",
}
BAD_ROWS = {
    "absolute-path": lambda v: {"path": str(v)},
    "climbing-path": lambda v: {"path": "../" * 12 + str(v).lstrip("/")},
    "sibling-path": lambda v: {"path": "../victim/x.wav"},
    "absolute-clean": lambda v: {"clean": str(v)},
    "climbing-clean": lambda v: {"clean": "../../victim/x.wav"},
    "utt-id": lambda v: {"utt_id": "../../victim/x"},
    "split": lambda v: {"split": "../victim"},
    "symlink": None,  # a mixture path that is a link to the victim
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
@pytest.mark.parametrize("command", list(MANIFEST_COMMANDS))
def test_manifest_paths_stay_inside_their_folder(world, tmp_path, capsys, monkeypatch, victim, command, kind):  # noqa: F811
    """Item 1: a row naming anything outside its manifest's folder (or the prepared corpus) is one
    line before any file is read; the user's file is neither read nor overwritten."""
    mix = tmp_path / "m"
    shutil.copytree(world["mix"], mix)
    if kind == "symlink":
        first = next(r for r in csv.DictReader(open(mix / "mixtures.csv")))["path"]
        (mix / first).unlink()
        (mix / first).symlink_to(victim)
    else:
        _rewrite_manifest(mix, **BAD_ROWS[kind](victim))
    before = victim.read_bytes()
    read: list[str] = []
    real_read = sf.read
    monkeypatch.setattr(sf, "read", lambda path, *a, **k: read.append(str(path)) or real_read(path, *a, **k))
    line = assert_refused(argv(MANIFEST_COMMANDS[command], paths(world, tmp_path, m=mix)), capsys, "mixtures.csv", tmp_path / "victim")
    assert "line 2" in line and ("stay inside" in line or "resolves outside" in line or "plain name" in line or "not one of" in line)
    assert read == [] and victim.read_bytes() == before
    assert not (tmp_path / "enh").exists() and not (tmp_path / "scores").exists()


@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "a/b", "..", ".hidden", ""])
@pytest.mark.parametrize("command", [
    "enhance --checkpoint {ckpt} --mixtures {mix} --out {tmp}/enh --system={name}",
    "voice --checkpoint {voice_ckpt} --mixtures {mix} --out {tmp}/enh --system={name}",
    "evaluate --pairs {pairs} --checkpoint {ckpt} --system={name} --out {tmp}/scores --no-dnsmos --jobs 1",
], ids=["enhance", "voice", "evaluate-pairs"])
def test_output_names_are_one_plain_component(world, tmp_path, capsys, command, name):  # noqa: F811
    """Item 1: ``--system`` names a folder inside ``--out``, nothing else."""
    values = {**paths(world, tmp_path), "name": name}
    assert_refused(argv(command, values), capsys, "--system", tmp_path, world["root"], also="plain name")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_evaluate_systems_are_plain_names(world, tmp_path, capsys):  # noqa: F811
    (tmp_path / "enh").mkdir()
    assert_refused(["evaluate", "--mixtures", world["mix"], "--enhanced", tmp_path / "enh", "--systems", "../enh", "--out",
                    tmp_path / "scores", "--jobs", "1"], capsys, "--systems", tmp_path, also="plain name")


def test_the_path_rules_in_one_place(tmp_path):
    (tmp_path / "base" / "a").mkdir(parents=True)
    (tmp_path / "base" / "in.wav").write_bytes(b"")
    (tmp_path / "base" / "a" / "link.wav").symlink_to(tmp_path / "base" / "in.wav")  # a link inside: fine
    (tmp_path / "base" / "out.wav").symlink_to(tmp_path)
    assert inside(tmp_path / "base", "a/link.wav", "m.csv") == tmp_path / "base" / "a" / "link.wav"
    for bad in ("/etc/passwd", "../x", "a/../../x", "", ".", "out.wav/x", "a\\..\\..\\x"):
        with pytest.raises(Exception, match="m.csv: path"):
            inside(tmp_path / "base", bad, "m.csv")
    assert plain_name("emgse-mask_2", "--system") == "emgse-mask_2"
    for bad in ("a/b", "..", ".", "", ".x", "s.partial-1-x", "a\\b", "a\0b"):
        with pytest.raises(Exception, match="plain name"):
            plain_name(bad, "--system")


# --------------------------------------------------------------------------- one run per folder
HOLDER = """
import sys, time
from emgse.files import hold_folder
with hold_folder(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""

LOCKED = {
    "enhance-folder": "enhance --checkpoint {ckpt} --folder {folder} --out {out}",
    "enhance-mixtures": "enhance --checkpoint {ckpt} --mixtures {mix} --system s --out {root_out}",
    "evaluate": "evaluate --mixtures {mix} --out {out} --jobs 1",
    "mix": "mix --data {prep} --noise white --snr 0 --out {out}",
    "train": "train --mixtures {mix} --out {out} --epochs 1",
}


@pytest.mark.parametrize("command", list(LOCKED))
def test_a_second_run_into_a_held_folder_is_refused_and_a_stale_lock_cleared(world, tmp_path, capsys, command):  # noqa: F811
    """Item 2: another live process holds the output folder: one line naming it, nothing written;
    once that process is killed its lock is stale, and the next run clears it and finishes."""
    out = tmp_path / "out"
    target = out / "s" if command == "enhance-mixtures" else out
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(target)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        values = paths(world, tmp_path, out=out, root_out=out)
        line = assert_refused(argv(LOCKED[command], values), capsys, str(target), world["root"],
                              also=f"another emgse run is writing here (pid {holder.pid} on ")
        assert str(lock_path(target)) in line
        assert not target.exists() or not any(target.iterdir())
    finally:
        holder.kill()  # as a kill -9 would: the lock stays behind
        holder.wait()
    assert lock_path(target).is_file()
    if command == "train":
        return  # training needs more time than a catalogue case; the lock rule is the same function
    code, err = run(argv(LOCKED[command], paths(world, tmp_path, out=out, root_out=out)), capsys)
    assert code == 0, err
    assert f"removed the stale lock {lock_path(target)}" in err and not lock_path(target).exists()


def test_a_lock_is_taken_once_per_process_and_released(tmp_path):
    with hold_folder(tmp_path / "o"), hold_folder(tmp_path / "o"):  # nested: the same run
        assert lock_path(tmp_path / "o").read_text().split()[0] == str(os.getpid())
    assert not lock_path(tmp_path / "o").exists()
    lock_path(tmp_path / "o").write_text("")  # cut short by a kill, just now: a run starting
    with pytest.raises(Exception, match="a run starting now"), hold_folder(tmp_path / "o"):
        pass
    os.utime(lock_path(tmp_path / "o"), (0, 0))  # and long ago: stale
    with hold_folder(tmp_path / "o"):
        pass
    assert not lock_path(tmp_path / "o").exists()
