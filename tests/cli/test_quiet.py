"""``--quiet`` on every command that can run long, and a quiet run shows no progress bar (tqdm
writes its bars to stderr, which then stays empty)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import soundfile as sf

from emgse.cli import build_parser
from emgse.mixing import NoiseBank
from tests.cli.test_edges import argv, paths, run, world  # noqa: F401 (world: a fixture)
from tests.conftest import write_csl_session
from tests.pipeline import write_speech_folder

# commands that read one file or print a listing: no progress bar, so no --quiet
SHORT = {"emgse features", "emgse models", "emgse report", "emgse stream", "emgse export"}


def leaf_parsers(parser: argparse.ArgumentParser):
    """The parsers that run something: ``emgse mix``, ``emgse prepare gaddy``, ..."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
    for action in subs:
        for sub in action.choices.values():
            yield from leaf_parsers(sub)


def test_every_long_command_takes_quiet():
    leaves = {p.prog: p for p in leaf_parsers(build_parser())}
    assert SHORT <= set(leaves)
    long = sorted(set(leaves) - SHORT)
    assert {"emgse prepare csl-emg-array", "emgse prepare gaddy", "emgse prepare emg-uka", "emgse mix", "emgse simulate",
            "emgse train", "emgse enhance", "emgse voice", "emgse evaluate", "emgse demo", "emgse recipe paper",
            "emgse recipe gaddy", "emgse recipe emg-uka"} == set(long)
    quiet = {prog: [a for a in leaves[prog]._actions if a.option_strings == ["--quiet"]] for prog in long}
    lacking = [prog for prog, found in quiet.items() if not found]
    assert not lacking, lacking
    assert all((a.dest, a.const, a.default) == ("quiet", True, False) for [a] in quiet.values())  # a switch, off by default


QUIET_RUNS = {
    "prepare": "prepare csl-emg-array --corpus {csl} --session Spk1_Block1-Initial --out {tmp}/prep --test 1-2 --val 3 --train 4-",
    "train": "train --speech {speech} --noise white pink --model audio-mask --out {tmp}/run --epochs 1 --steps-per-epoch 1 "
             "--batch-size 2 --crop 0.5 --val-crops 2 --val-share 0.3",
    "enhance-folder": "enhance --checkpoint {ckpt} --folder {folder} --out {tmp}/enh",
    "enhance-mixtures": "enhance --checkpoint {ckpt} --mixtures {mix} --system s --out {tmp}/enh",
    "voice-folder": "voice --checkpoint {voice_ckpt} --folder {folder} --out {tmp}/v",
    "voice-mixtures": "voice --checkpoint {voice_ckpt} --mixtures {mix} --out {tmp}/v",
    "evaluate-mixtures": "evaluate --mixtures {mix} --out {tmp}/scores --jobs 1",
    "evaluate-pairs": "evaluate --pairs {pairs} --checkpoint {ckpt} --out {tmp}/scores --no-dnsmos --jobs 1",
}


@pytest.mark.parametrize("case", list(QUIET_RUNS))
def test_a_quiet_run_writes_nothing_to_stderr(world, tmp_path, capsys, case):  # noqa: F811
    extra = {}
    if case == "prepare":
        extra["csl"] = write_csl_session(tmp_path / "corpus", "Spk1_Block1-Initial", range(1, 5)).parent
    if case == "train":
        extra["speech"] = write_speech_folder(tmp_path / "speech")
    code, err = run([*argv(QUIET_RUNS[case], paths(world, tmp_path, **extra)), "--quiet"], capsys)
    assert code == 0 and err == ""


def test_quiet_silences_the_noise_bank(world, tmp_path, capsys):  # noqa: F811
    noises = tmp_path / "noises"
    noises.mkdir()
    for k in range(20):  # the bank shows a bar from 20 files on
        sf.write(noises / f"n{k}.wav", np.random.default_rng(k).standard_normal(1600) * 0.1, 16000)
    code, err = run(["mix", "--data", world["prep"], "--noise", noises, "--snr", "0", "--out", tmp_path / "mix", "--quiet"], capsys)
    assert code == 0 and err == ""
    NoiseBank.from_sources([noises])
    assert "noise noises" in capsys.readouterr().err  # without --quiet the bar is there
