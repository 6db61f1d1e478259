"""The bad-input catalogue (issue 27): every command against broken options, inputs and outputs.

Each case runs ``emgse.cli.main`` in this process and asserts the promise at the edges: exit
status 2, exactly one line on stderr naming the file or option, no traceback, and nothing new
under a final name (the folders the test reads are listed before and after).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emgse import cli
from emgse.cli import build_parser, main
from emgse.config import MixConfig
from emgse.mixing import NoiseBank, mix_corpus
from emgse.options import RULES, numeric_options
from tests.conftest import write_prepared
from tests.scoring.test_scoring import write_pairs
from tests.test_stream import make_checkpoint


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """Good inputs of every kind: a prepared corpus, its test mixtures, real-recording pairs, a
    causal fusion checkpoint and an emg-only one, a scores.csv."""
    root = tmp_path_factory.mktemp("edges")
    prep = write_prepared(root / "prep", {"test": 2}, seconds=0.5, channels=40)
    mix_corpus(prep, ["test"], NoiseBank.from_sources(["white"]), MixConfig(snrs_db=(0.0,), seed=0), root / "mix", progress=False)
    wav = sorted((prep / "test").glob("*.wav"))[0]
    scores = root / "scores.csv"
    scores.write_text("system,utt_id,split,noise,category,snr_db,pesq,stoi,estoi,si_sdr\n")
    return {
        "root": root, "prep": prep, "mix": root / "mix", "folder": prep / "test", "wav": wav,
        "emg": wav.with_name(f"{wav.stem}.emg.npy"), "pairs": write_pairs(root / "pairs", rates=(16000,), seconds=0.5),
        "ckpt": make_checkpoint(root / "runs" / "causal" / "best.pt"),
        "voice_ckpt": make_checkpoint(root / "runs" / "emg-only" / "best.pt", "emg-only"),
        "scores": scores,
    }


def snapshot(*folders: Path) -> set[str]:
    return {str(p) for f in folders for p in f.rglob("*") if "__pycache__" not in p.parts}


QUIET = ("prepare", "mix", "simulate", "train", "enhance", "voice", "evaluate", "demo", "recipe")  # progress bars would share stderr with the error


def run(argv: list[str], capsys) -> tuple[int, str]:
    argv = [str(a) for a in argv]
    quiet = ["--quiet"] if argv and argv[0] in QUIET and "--quiet" not in argv and "--help" not in argv else []
    code = main(argv + quiet)
    out = capsys.readouterr()
    return code, out.err


def assert_refused(argv: list[str], capsys, names: str, *watched: Path, also: str | None = None) -> str:
    """The edge promise for one case; returns the stderr line."""
    before = snapshot(*watched)
    code, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2, (argv, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert names in lines[0], (names, lines[0])
    if also is not None:
        assert also in lines[0], (also, lines[0])
    assert snapshot(*watched) == before, "files appeared or vanished"
    return lines[0]


def paths(world: dict[str, Path], tmp: Path, **extra: Path) -> dict[str, str]:
    return {k: str(v) for k, v in {**world, "tmp": tmp, **extra}.items()}


def argv(template: str, values: dict[str, str]) -> list[str]:
    return [part.format(**values) for part in template.split()]


# --------------------------------------------------------------------------- numeric options
def _bad_values(kind: type, rule) -> list[str]:
    values = ["nan", "inf", "-inf", "abc", ""]
    if rule.lo is not None:
        values.append(str(int(rule.lo) - 1) if kind is int else repr(rule.lo - (1.0 if rule.lo_closed else 0.0)))
    if rule.hi is not None:
        values.append(str(int(rule.hi) + 1) if kind is int else repr(rule.hi * 10 + 1.0))
    if kind is int:
        values.append("1.5")
    return values


NUMERIC = numeric_options(build_parser())
NUMERIC_CASES = [(prog, opt, value) for prog, opt, kind, rule in NUMERIC for value in _bad_values(kind, rule)]


def test_every_numeric_option_has_a_rule():
    parser = build_parser()
    plain = [(prog, opt) for prog, opt, *_ in numeric_options(parser)]
    assert len(plain) == len(set(plain)) >= 55
    for prog in ("emgse train", "emgse mix", "emgse enhance", "emgse voice", "emgse features", "emgse prepare csl-emg-array"):
        assert any(p == prog for p, _ in plain), prog
    assert {r for *_, r in NUMERIC} <= set(RULES.values())


@pytest.mark.parametrize(("prog", "option", "value"), NUMERIC_CASES, ids=[f"{p[6:]} {o}={v}" for p, o, v in NUMERIC_CASES])
def test_numeric_option_out_of_range_is_one_line(prog, option, value, capsys, tmp_path):
    assert_refused([*prog.split()[1:], f"{option}={value}"], capsys, f"argument {option}:", tmp_path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(NUMERIC), x=st.floats(allow_nan=True, allow_infinity=True))
def test_numeric_options_refuse_any_value_out_of_range(case, x, capsys):
    prog, option, kind, rule = case
    if np.isfinite(x) and rule.admits(x) and (kind is float or float(x).is_integer()):
        return
    text = repr(int(x)) if kind is int and np.isfinite(x) and float(x).is_integer() else repr(x)
    code, err = run([*prog.split()[1:], f"{option}={text}"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"argument {option}:" in err


# --------------------------------------------------------------------------- checkpoints
def _bad_checkpoint(kind: str, good: Path, folder: Path) -> Path:
    path = folder / f"{kind}.pt"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "foreign":
        torch.save({"weights": torch.zeros(3)}, path)
    else:
        ckpt = torch.load(good, weights_only=True)
        if kind == "lacking":
            del ckpt["state_dict"]
        elif kind == "mismatch":
            name = next(iter(ckpt["state_dict"]))
            ckpt["state_dict"][name] = torch.zeros(3, 1)
        elif kind == "bad-args":
            ckpt["model_args"] = {"no_such_argument": 1}
        torch.save(ckpt, path)
    return path


CKPT_PROBLEMS = {
    "empty": "checkpoint file is empty", "truncated": "unreadable or corrupt checkpoint", "text": "unreadable or corrupt checkpoint",
    "foreign": "not an emgse checkpoint", "lacking": "checkpoint lacks state_dict", "mismatch": "expected shape",
    "bad-args": "bad arguments",
}
CKPT_COMMANDS = {
    "enhance": "enhance --checkpoint {bad} --audio {wav} --emg {emg} --out {tmp}/o.wav",
    "enhance-mixtures": "enhance --checkpoint {bad} --mixtures {mix} --system s --out {tmp}/enh",
    "enhance-folder": "enhance --checkpoint {bad} --folder {folder} --out {tmp}/enh",
    "voice": "voice --checkpoint {bad} --emg {emg} --out {tmp}/o.wav",
    "voice-folder": "voice --checkpoint {bad} --folder {folder} --out {tmp}/v",
    "stream": "stream --checkpoint {bad} --audio {wav} --emg {emg} --out {tmp}/o.wav",
    "export": "export --checkpoint {bad} --out {tmp}/o.onnx",
    "evaluate-pairs": "evaluate --pairs {pairs} --checkpoint {bad} --out {tmp}/scores --no-dnsmos --jobs 1",
    "train-init-from": "train --mixtures {mix} --model emgse-mask --init-from {bad} --out {tmp}/run",
}
CKPT_CASES = [(c, k) for c in CKPT_COMMANDS for k in CKPT_PROBLEMS
              if not (c == "train-init-from" and k in ("mismatch", "bad-args"))]  # warm starts take what fits


@pytest.mark.parametrize(("command", "kind"), CKPT_CASES, ids=[f"{c}-{k}" for c, k in CKPT_CASES])
def test_bad_checkpoints(world, tmp_path, capsys, command, kind):
    bad = _bad_checkpoint(kind, world["ckpt"], tmp_path)
    line = assert_refused(argv(CKPT_COMMANDS[command], paths(world, tmp_path, bad=bad)), capsys, bad.name,
                          tmp_path, world["root"], also=CKPT_PROBLEMS[kind])
    if kind == "mismatch":
        assert "found (3, 1)" in line


# --------------------------------------------------------------------------- arrays (.npy)
def _bad_npy(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.npy"
    arrays = {
        "complex": np.ones((1000, 40), np.complex64), "strings": np.array([["a"] * 40] * 1000), "bool": np.ones((1000, 40), bool),
        "1d": np.zeros(1000), "3d": np.zeros((1000, 40, 1)), "no-samples": np.zeros((0, 40)), "one-sample": np.zeros((1, 40)),
    }
    if kind == "zero-bytes":
        path.write_bytes(b"")
    elif kind == "truncated":
        np.save(path, np.zeros((1000, 40)))
        path.write_bytes(path.read_bytes()[:500])
    elif kind == "nan":
        a = np.zeros((1000, 40))
        a[10, 3] = np.nan
        np.save(path, a)
    elif kind == "object":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif kind == "archive":
        with open(path, "wb") as f:
            np.savez(f, a=np.zeros((1000, 40)))
    else:
        np.save(path, arrays[kind])
    return path


NPY_PROBLEMS = {
    "zero-bytes": "unreadable or truncated", "truncated": "unreadable or truncated", "object": "unreadable or truncated",
    "complex": "expected a real numeric", "strings": "expected a real numeric", "bool": "expected a real numeric",
    "1d": "expected a 2-D", "3d": "expected a 2-D", "nan": "NaN/Inf", "no-samples": "has no samples",
    "archive": "archive", "one-sample": "",
}
NPY_COMMANDS = {
    "enhance": "enhance --checkpoint {ckpt} --audio {wav} --emg {bad} --out {tmp}/o.wav",
    "stream": "stream --checkpoint {ckpt} --audio {wav} --emg {bad} --out {tmp}/o.wav",
    "voice": "voice --checkpoint {voice_ckpt} --emg {bad} --out {tmp}/o.wav",
    "features": "features --audio {wav} --emg {bad}",
}


def test_features_refuses_emg_far_shorter_than_the_audio(world, tmp_path, capsys):
    np.save(tmp_path / "short.npy", np.zeros((200, 40)))  # 0.1 s of EMG for 0.5 s of audio
    assert_refused(["features", "--audio", world["wav"], "--emg", tmp_path / "short.npy"], capsys, "short.npy",
                   tmp_path, also="EMG lasts 0.100 s but the audio 0.500 s")


# --------------------------------------------------------------------------- audio files
def _bad_wav(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.wav"
    if kind == "zero-bytes":
        path.write_bytes(b"")
    elif kind == "truncated":
        sf.write(path, np.zeros(8000), 16000)
        path.write_bytes(path.read_bytes()[:30])
    elif kind == "text":
        path.write_text("RIFF? no\n")
    elif kind == "nan":
        sf.write(path, np.full(8000, np.nan), 16000, subtype="FLOAT")
    elif kind == "stereo":
        sf.write(path, np.zeros((8000, 2)), 16000)
    elif kind == "no-samples":
        sf.write(path, np.zeros(0), 16000)
    return path


WAV_PROBLEMS = {"zero-bytes": "unreadable or corrupt", "truncated": "unreadable or corrupt", "text": "unreadable or corrupt",
                "nan": "NaN/Inf", "stereo": "expected mono", "no-samples": "no samples"}
WAV_COMMANDS = {
    "enhance": "enhance --checkpoint {ckpt} --audio {bad} --emg {emg} --out {tmp}/o.wav",
    "stream": "stream --checkpoint {ckpt} --audio {bad} --emg {emg} --out {tmp}/o.wav",
    "features": "features --audio {bad} --emg {emg}",
}


INPUT_KINDS = {"npy": (_bad_npy, NPY_COMMANDS, NPY_PROBLEMS), "wav": (_bad_wav, WAV_COMMANDS, WAV_PROBLEMS)}
INPUT_CASES = [(k, c, p) for k, (_, commands, problems) in INPUT_KINDS.items() for c in commands for p in problems]


@pytest.mark.parametrize(("kind", "command", "problem"), INPUT_CASES, ids=[f"{k}-{c}-{p}" for k, c, p in INPUT_CASES])
def test_bad_input_files(world, tmp_path, capsys, kind, command, problem):
    """Every broken .npy and audio file for every command that reads one (a 1-sample EMG included:
    voice says it is too short to voice; the others, that it is 100 ms from the audio)."""
    make, commands, problems = INPUT_KINDS[kind]
    bad = make(problem, tmp_path)
    assert_refused(argv(commands[command], paths(world, tmp_path, bad=bad)), capsys, bad.name, tmp_path, world["root"],
                   also=problems[problem] or ("too short to voice" if command == "voice" else "ms apart"))


# --------------------------------------------------------------------------- manifests
@pytest.mark.parametrize("command", [
    "evaluate --mixtures {cut} --out {tmp}/scores --jobs 1",
    "enhance --checkpoint {ckpt} --mixtures {cut} --system s --out {tmp}/enh",
    "voice --checkpoint {voice_ckpt} --mixtures {cut} --out {tmp}/enh",
], ids=["evaluate", "enhance", "voice"])
def test_manifest_cut_mid_row(world, tmp_path, capsys, command):
    cut = tmp_path / "cut"
    shutil.copytree(world["mix"], cut)
    text = (cut / "mixtures.csv").read_text()
    (cut / "mixtures.csv").write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])
    assert_refused(argv(command, paths(world, tmp_path, cut=cut)), capsys, "mixtures.csv", tmp_path, world["root"],
                   also="does not have the header's")


# --------------------------------------------------------------------------- outputs
FILE_OUTPUTS = {
    "enhance": "enhance --checkpoint {ckpt} --audio {wav} --emg {emg} --out {out}",
    "voice": "voice --checkpoint {voice_ckpt} --emg {emg} --out {out}",
    "stream": "stream --checkpoint {ckpt} --audio {wav} --emg {emg} --out {out}",
    "export": "export --checkpoint {ckpt} --out {out}",
    "report": "report --scores {scores} --out {out}",
}
FOLDER_OUTPUTS = {
    "enhance-mixtures": "enhance --checkpoint {ckpt} --mixtures {mix} --system s --out {out}",
    "enhance-folder": "enhance --checkpoint {ckpt} --folder {folder} --out {out}",
    "voice-folder": "voice --checkpoint {voice_ckpt} --folder {folder} --out {out}",
    "voice-mixtures": "voice --checkpoint {voice_ckpt} --mixtures {mix} --system s --out {out}",
    "evaluate": "evaluate --mixtures {mix} --out {out} --jobs 1",
    "evaluate-pairs": "evaluate --pairs {pairs} --checkpoint {ckpt} --out {out} --no-dnsmos --jobs 1",
    "mix": "mix --data {prep} --noise white --snr 0 --out {out}",
    "train": "train --mixtures {mix} --out {out}",
    "simulate": "simulate --out {out} --speakers 1 --utterances 1",
}
UNWRITABLE = {"proc": "/proc/emgse-x", "sys": "/sys/emgse-x", "under-a-file": "{tmp}/a-file/x"}


@pytest.mark.parametrize("command", [*FILE_OUTPUTS, *FOLDER_OUTPUTS])
@pytest.mark.parametrize("where", list(UNWRITABLE))
def test_unwritable_outputs_are_refused_before_any_work(world, tmp_path, capsys, command, where):
    (tmp_path / "a-file").write_text("a file, not a folder\n")
    out = UNWRITABLE[where].format(tmp=tmp_path) + (".wav" if command in FILE_OUTPUTS else "")
    template = FILE_OUTPUTS.get(command) or FOLDER_OUTPUTS[command]
    assert_refused(argv(template, paths(world, tmp_path, out=Path(out))), capsys, out.split("/emgse-x")[0] if where != "under-a-file" else out,
                   tmp_path, world["root"], also="cannot be written")


EXISTING = ["enhance", "voice", "stream", "export", "enhance-mixtures", "enhance-folder", "voice-folder", "voice-mixtures", "evaluate",
            "evaluate-pairs", "mix", "simulate"]


@pytest.mark.parametrize("command", EXISTING)
def test_existing_outputs_are_kept_without_force(world, tmp_path, capsys, command):
    if command in FILE_OUTPUTS:
        out = tmp_path / "out.wav"
        out.write_bytes(b"previous result")
    else:
        out = tmp_path / "out"
        target = out / "s" if "mixtures" in command else out
        target.mkdir(parents=True)
        (target / "scores.csv").write_text("previous result\n")
    template = FILE_OUTPUTS.get(command) or FOLDER_OUTPUTS[command]
    assert_refused(argv(template, paths(world, tmp_path, out=out)), capsys, str(out), tmp_path, world["root"], also="--force")


@pytest.mark.parametrize(("command", "out"), [
    ("enhance", "{wav}"), ("enhance", "{emg}"), ("stream", "{wav}"), ("voice", "{emg}"), ("export", "{ckpt}"), ("report", "{scores}"),
    ("enhance-folder", "{folder}"), ("enhance-folder", "{prep}"), ("evaluate", "{mix}"), ("evaluate", "{root}"), ("mix", "{prep}"),
    ("train", "{mix}"),
], ids=lambda x: x.strip("{}"))
def test_outputs_that_are_or_hold_an_input_are_refused(world, tmp_path, capsys, command, out):
    values = paths(world, tmp_path)
    template = (FILE_OUTPUTS.get(command) or FOLDER_OUTPUTS[command]).replace("{out}", out)
    assert_refused([*argv(template, values), "--force"] if command != "report" and command != "train" else argv(template, values),
                   capsys, out.format(**values), world["root"], also="input")


# --------------------------------------------------------------------------- sets of outputs
def test_a_bad_file_midway_leaves_no_folder(world, tmp_path, capsys):
    folder = tmp_path / "in"
    shutil.copytree(world["folder"], folder)
    first = sorted(folder.glob("*.wav"))[0]
    shutil.copy(first, folder / f"{first.stem}b.wav")
    np.save(folder / f"{first.stem}b.emg.npy", np.full((1000, 40), np.nan))  # the second of three is bad
    for command in ("enhance --checkpoint {ckpt} --folder {in} --out {tmp}/out", "voice --checkpoint {voice_ckpt} --folder {in} --out {tmp}/out"):
        assert_refused(argv(command, paths(world, tmp_path, **{"in": folder})), capsys, f"{first.stem}b.emg.npy", tmp_path, also="NaN")
        assert not list(tmp_path.glob("out*"))


def test_a_bad_mixture_midway_leaves_no_system(world, tmp_path, capsys):
    mix = tmp_path / "mix"
    shutil.copytree(world["mix"], mix)
    last = sorted(mix.rglob("*.wav"))[-1]
    last.write_bytes(b"broken")
    for command in ("enhance --checkpoint {ckpt} --mixtures {m} --system s --out {tmp}/enh",
                    "voice --checkpoint {voice_ckpt} --mixtures {m} --system s --out {tmp}/enh",
                    "evaluate --mixtures {m} --out {tmp}/scores --jobs 1"):
        assert_refused(argv(command, paths(world, tmp_path, m=mix)), capsys, last.name, tmp_path, also="unreadable or corrupt")
        assert not (tmp_path / "enh" / "s").exists() and not list(tmp_path.rglob("*.partial-*"))


def test_an_interrupt_midway_leaves_nothing_that_looks_finished(world, tmp_path, capsys, monkeypatch):
    import emgse.enhance

    calls = []

    def interrupted(path, audio, fs, subtype="FLOAT"):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        emgse.files.write_wav(path, audio, fs, subtype)

    monkeypatch.setattr(emgse.enhance, "write_wav", interrupted)
    code, err = run(["enhance", "--checkpoint", world["ckpt"], "--mixtures", world["mix"], "--system", "s", "--out", tmp_path / "enh"], capsys)
    assert code == 130 and "interrupted" in err
    assert len(calls) == 2 and not (tmp_path / "enh" / "s").exists() and not list(tmp_path.rglob("*.partial-*"))


def test_stale_partial_folders_are_named_and_removed_with_one_flag(world, tmp_path, capsys):
    stale = tmp_path / "enh" / "s.partial-999999999-x1"  # left by a killed run (no such process)
    stale.mkdir(parents=True)
    (stale / "half.wav").write_bytes(b"")
    base = ["enhance", "--checkpoint", world["ckpt"], "--mixtures", world["mix"], "--system", "s", "--out", tmp_path / "enh", "--quiet"]
    code, err = run(base, capsys)
    assert code == 0 and f"note: {stale} was left by an interrupted run" in err and stale.is_dir()
    code, err = run([*base, "--force", "--clean-partial"], capsys)
    assert code == 0 and f"removed {stale}" in err and not stale.exists()
    assert sorted(p.name for p in (tmp_path / "enh").iterdir()) == ["s"]
    # evaluate scores the finished system only, never a work folder
    (tmp_path / "enh" / "t.partial-999999999-x2").mkdir()
    code, _ = run(["evaluate", "--mixtures", world["mix"], "--enhanced", tmp_path / "enh", "--out", tmp_path / "scores", "--jobs", "1",
                   "--quiet"], capsys)
    assert code == 0
    systems = {line.split(",")[0] for line in (tmp_path / "scores" / "scores.csv").read_text().splitlines()[1:]}
    assert systems == {"noisy", "s"}


def test_evaluate_keeps_existing_scores_without_force_and_replaces_them_with_it(world, tmp_path, capsys):
    out = tmp_path / "scores"
    out.mkdir()
    (out / "scores.csv").write_text("previous\n")
    args = ["evaluate", "--mixtures", world["mix"], "--out", out, "--jobs", "1", "--quiet"]
    assert_refused(args, capsys, str(out), tmp_path, also="--force")
    assert (out / "scores.csv").read_text() == "previous\n"
    code, _ = run([*args, "--force"], capsys)
    assert code == 0 and (out / "scores.csv").read_text().startswith("system,")
    assert not list(tmp_path.glob("*.partial-*"))


def test_created_folders_have_normal_permissions(world, tmp_path, capsys):
    umask = os.umask(0o022)
    try:
        code, _ = run(["mix", "--data", world["prep"], "--noise", "white", "--snr", "0", "--out", tmp_path / "mix"], capsys)
    finally:
        os.umask(umask)
    assert code == 0 and (tmp_path / "mix").stat().st_mode & 0o777 == 0o755


def test_training_settings_refused_before_the_run_folder_is_written(world, tmp_path, capsys):
    for option in ("--batch-size=0", "--epochs=0", "--lr=nan", "--max-minutes=-1"):
        assert_refused(["train", "--mixtures", world["mix"], "--out", tmp_path / "run", option], capsys, option.split("=")[0], tmp_path)
        assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("yaml", "names"), [
    ("train: {lr: .nan}", "lr nan"), ("train: {batch_size: 0}", "batch_size 0"), ("train: {max_epochs: 0}", "max_epochs 0"),
    ("train: {lr: fast}", "lr 'fast'"), ("train: {loss: bogus}", "loss must be one of"), ("emg: {context: -1}", "context -1"),
    ("train: {device: bogus}", "--device 'bogus'"),
], ids=["lr-nan", "batch-0", "epochs-0", "lr-text", "loss", "context", "device"])
def test_training_settings_from_a_config_file_pass_the_same_gate(world, tmp_path, capsys, yaml, names):
    (tmp_path / "c.yaml").write_text(yaml + "\n")
    assert_refused(["train", "--mixtures", world["mix"], "--out", tmp_path / "run", "--config", tmp_path / "c.yaml"], capsys, names,
                   tmp_path, world["root"])
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- bugs
def test_a_bug_is_one_line_and_its_traceback_needs_emgse_debug(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setitem(cli.COMMANDS, "models", (cli.COMMANDS["models"][0], broken))
    code, err = run(["models"], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "internal error (RuntimeError: a bug over two lines)" in err and "EMGSE_DEBUG=1" in err
    monkeypatch.setenv("EMGSE_DEBUG", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        main(["models"])


# --------------------------------------------------------------------------- questionable inputs (issue 34, item 5)
# Paths, locks and a full disk have their own files: tests/cli/test_paths.py, tests/cli/test_disk.py;
# the demo's resume: tests/experiments/test_resume.py.
def test_audio_below_8_khz_is_refused(world, tmp_path, capsys):
    """A 7 Hz "WAV" holds no speech band: refused by the one audio reader (files.MIN_AUDIO_FS)."""
    sf.write(tmp_path / "slow.wav", np.zeros(70), 7)
    assert_refused(["enhance", "--checkpoint", world["ckpt"], "--audio", tmp_path / "slow.wav", "--out", tmp_path / "o.wav"], capsys,
                   "slow.wav", tmp_path, also="sample rate 7 Hz is below 8000 Hz")


def test_a_folder_named_like_an_input_is_refused_before_any_work(world, tmp_path, capsys, monkeypatch):
    import emgse.enhance

    folder = tmp_path / "in"
    shutil.copytree(world["folder"], folder)
    (folder / "sub.wav").mkdir()
    monkeypatch.setattr(emgse.enhance, "Enhancer", None)  # no model is even loaded
    assert_refused(["enhance", "--checkpoint", world["ckpt"], "--folder", folder, "--out", tmp_path / "out"], capsys, "sub.wav",
                   tmp_path, also="is a folder, not a .wav file")


def test_jobs_level_and_crop_bounds(world, tmp_path, capsys):
    """--jobs: at most 4 processes per core (CPU-bound scoring; more only add memory); --level: 20 dB
    above the level rule's floor; --crop: at least the default EMG context window (0.25 s)."""
    from emgse.features.level import FLOOR

    assert RULES["jobs"].hi == 4 * (os.cpu_count() or 1)
    assert RULES["level"].lo >= 20 * np.log10(FLOOR) + 20
    for args, option in ((["evaluate", "--mixtures", world["mix"], "--out", tmp_path / "s", "--jobs", "1024"], "--jobs"),
                         (["train", "--data", world["prep"], "--noise", "white", "--out", tmp_path / "r", "--level", "-200", "-200"], "--level"),
                         (["train", "--data", world["prep"], "--noise", "white", "--out", tmp_path / "r", "--crop", "0.001"], "--crop")):
        assert_refused(args, capsys, f"argument {option}:", tmp_path)
