"""Smoke tests of the real ``emgse`` command line, run as a subprocess like a user would."""

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import write_csl_session


def emgse(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "emgse", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_commands():
    r = emgse("--help")
    assert r.returncode == 0
    for cmd in ("prepare", "mix", "features", "simulate"):
        assert cmd in r.stdout
    for sub in (("prepare", "csl-emg-array"), ("prepare", "gaddy"), ("mix",), ("features",)):
        r = emgse(*sub, "--help")
        assert r.returncode == 0 and "--out" in r.stdout or "--audio" in r.stdout
    assert "pink" in emgse("mix", "--help").stdout


def test_prepare_mix_features_end_to_end(tmp_path):
    write_csl_session(tmp_path / "corpus", "Spk1_Block1-Initial", range(1, 5))
    r = emgse("prepare", "csl-emg-array", "--corpus", tmp_path / "corpus", "--session", "Spk1_Block1-Initial",
              "--out", tmp_path / "prep", "--test", "1-2", "--val", "3", "--train", "4-")
    assert r.returncode == 0, r.stderr
    assert "train: 1, val: 1, test: 2" in r.stdout
    r = emgse("mix", "--data", tmp_path / "prep", "--split", "test", "--noise", "white", "pink",
              "--snr", "-11", "-6", "-1", "4", "--seed", "3", "--out", tmp_path / "mix")
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "mix" / "mixtures.csv").read_text().splitlines()
    assert len(lines) == 1 + 2 * 2 * 4
    assert lines[0].startswith("utt_id,split,noise,snr_db,offset,gain")
    r = emgse("features", "--audio", tmp_path / "prep" / "test" / "Spk1_Block1-Initial_0001.wav",
              "--emg", tmp_path / "prep" / "test" / "Spk1_Block1-Initial_0001.emg.npy", "--channels", "cheek")
    assert r.returncode == 0, r.stderr
    assert "(28 channels" not in r.stdout and "cheek: 28 channels" in r.stdout and "4340" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mix", "--data", "{tmp}/nothing", "--noise", "white", "--snr", "0", "--out", "{tmp}/o"], "corpus.json: file not found"),
        (["mix", "--data", "{prep}", "--noise", "purple", "--snr", "0", "--out", "{tmp}/o"], "purple: not a noise folder"),
        (["features", "--audio", "{tmp}/a.wav", "--emg", "{tmp}/e.npy", "--emg-fs", "2048"], "unsupported EMG rate 2048"),
        (["features", "--audio", "{tmp}/a.wav", "--emg", "{tmp}/bad.npy"], "bad.npy: array contains 1 NaN/Inf"),
        (["prepare", "csl-emg-array", "--corpus", "{tmp}", "--session", "X", "--out", "{tmp}/o"], "session 'X' not found"),
        (["train", "--mixtures", "{tmp}/nothing", "--model", "emg-only", "--emg-gain-jitter", "0.3", "--out", "{tmp}/o"],
         "--emg-gain-jitter 0.3: must be >= 0, and needs --normalization zscore"),
        (["train", "--mixtures", "{tmp}/nothing", "--model", "emgse-mask", "--init-from", "{tmp}/audio.pt", "--out", "{tmp}/o"],
         "audio.pt: checkpoint not found"),
        (["demo", "--out", "{tmp}/o", "--speakers", "3", "--cheek"],  # the default demo is speaker-dependent
         "--speakers, --cheek: unseen-speaker demo option(s); add --protocol unseen-speakers"),
        (["demo", "--out", "{tmp}/o", "--protocol", "unseen-speakers", "--steps", "5"], "--steps belongs to the speaker-dependent demo"),
    ],
)
def test_user_errors_are_one_line_without_traceback(tmp_path, prepared, args, message):
    import soundfile as sf

    sf.write(tmp_path / "a.wav", np.zeros(8000), 16000)
    np.save(tmp_path / "e.npy", np.zeros((1000, 4)))
    bad = np.zeros((1000, 4))
    bad[0, 0] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    r = emgse(*[a.format(tmp=tmp_path, prep=prepared) for a in args])
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert message in r.stderr
    assert not (tmp_path / "o").exists()


def test_models_lists_registry_with_paper_parameter_counts():
    r = emgse("models")
    assert r.returncode == 0, r.stderr
    assert "4,638,381" in r.stdout and "3,513,081" in r.stdout
    assert "4,421,381" in emgse("models", "--channels", "28").stdout  # cheek


def test_descriptions_print_as_written():
    """argparse formats help strings with %, not descriptions: a description's '%%' would print doubled."""
    import argparse

    from emgse.cli import build_parser

    def walk(parser: argparse.ArgumentParser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)

    parsers = list(walk(build_parser()))
    assert len(parsers) > 20
    doubled = [p.prog for p in parsers if "%%" in (p.description or "")]
    assert not doubled, doubled
