import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from emgse.checkpoint import read_checkpoint
from emgse.errors import EmgseError
from emgse.train import TrainConfig, train
from tests.pipeline import tiny_pipeline

FAST = {"max_steps_per_epoch": 2, "batch_size": 4}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return tiny_pipeline(tmp_path_factory.mktemp("train"))


def epochs_logged(run):
    with open(run / "log.csv") as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def test_training_writes_log_checkpoints_and_loss_falls(pipeline, tmp_path):
    run = tmp_path / "run"
    summary = train(pipeline["train"], pipeline["val"], run, TrainConfig(model="emgse", max_epochs=4, batch_size=4), progress=False)
    assert summary["epochs"] == 4 and (run / "best.pt").is_file() and (run / "last.pt").is_file()
    assert (run / "train_config.yaml").is_file() and (run / "emg_config.yaml").is_file()
    with open(run / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert all(0 <= float(r["data_wait"]) < 1 for r in rows)
    ckpt = torch.load(run / "best.pt", weights_only=True)  # a plain dict
    assert ckpt["model_name"] == "emgse" and ckpt["channels"][:8] == [0, 1, 2, 3, 4, 5, 6, 8]
    assert ckpt["emg_config"]["context"] == 15 and ckpt["audio_config"]["n_fft"] == 512
    assert ckpt["emg_fs"] == 2000.0 and ckpt["emg_channels"] == 40


def test_early_stopping(pipeline, tmp_path):
    # lr 0: the validation loss never improves after epoch 1, so patience 2 stops at epoch 3
    summary = train(pipeline["train"], pipeline["val"], tmp_path / "r", TrainConfig(model="audio", lr=0.0, patience=2, max_epochs=10, **FAST), progress=False)
    assert summary["stop_reason"] == "early_stopping" and summary["epochs"] == 3 and summary["best_epoch"] == 1


def test_deterministic_and_resume_equals_uninterrupted(pipeline, tmp_path):
    cfg = TrainConfig(model="emgse", max_epochs=3, **FAST)
    train(pipeline["train"], pipeline["val"], tmp_path / "a", cfg, progress=False)
    train(pipeline["train"], pipeline["val"], tmp_path / "b", TrainConfig(model="emgse", max_epochs=1, **FAST), progress=False)
    train(pipeline["train"], pipeline["val"], tmp_path / "b", cfg, resume=True, progress=False)
    a, b = read_checkpoint(tmp_path / "a" / "last.pt"), read_checkpoint(tmp_path / "b" / "last.pt")
    for k in a["state_dict"]:
        torch.testing.assert_close(a["state_dict"][k], b["state_dict"][k], rtol=0, atol=0)
    assert epochs_logged(tmp_path / "b") == [1, 2, 3]
    with pytest.raises(EmgseError, match="previous run"):
        train(pipeline["train"], pipeline["val"], tmp_path / "a", cfg, progress=False)


def _emgse(*args):
    return [sys.executable, "-m", "emgse", *map(str, args)]


def test_kill_and_resume_loses_at_most_one_epoch(pipeline, tmp_path):
    run = tmp_path / "killed"
    args = ["train", "--mixtures", pipeline["mix"], "--out", run, "--model", "audio", "--batch-size", "4", "--quiet"]
    proc = subprocess.Popen(_emgse(*args, "--epochs", "200"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not ((run / "log.csv").is_file() and len(epochs_logged(run)) >= 2):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = epochs_logged(run)
    assert len(done) >= 2, proc.stderr.read().decode()
    saved = read_checkpoint(run / "last.pt")["epoch"]
    assert saved >= done[-1]  # the checkpoint is written before the log line: nothing logged is lost
    target = saved + 2
    r = subprocess.run(_emgse(*args, "--epochs", target, "--resume"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert epochs_logged(run) == list(range(1, target + 1))
    assert read_checkpoint(run / "last.pt")["epoch"] == target
    assert not list(run.glob("*.partial*"))


def test_two_process_torchrun_gloo(pipeline, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533", "-m", "emgse",
           "train", "--mixtures", str(pipeline["mix"]), "--out", str(run), "--model", "emgse", "--epochs", "2", "--batch-size", "4",
           "--device", "cpu", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=400, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    import json

    summary = json.loads((run / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["epochs"] == 2
    assert epochs_logged(run) == [1, 2]
    assert read_checkpoint(run / "best.pt")["model_name"] == "emgse"


def test_context_width_is_the_callers_not_the_store_builders(pipeline, tmp_path):
    # one store (built with the default +-15) serves every context width
    cfg = TrainConfig(model="emgse", max_epochs=1, max_steps_per_epoch=1, batch_size=4)
    train(pipeline["train"], pipeline["val"], tmp_path / "k5", cfg, progress=False, context=5)
    ckpt = read_checkpoint(tmp_path / "k5" / "best.pt")
    assert ckpt["emg_config"]["context"] == 5 and ckpt["model_args"]["context"] == 5
    assert ckpt["state_dict"]["emg_encoder.first.weight"].shape[1] == 11 * 175  # (2*5+1) stacked frames
