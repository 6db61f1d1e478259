import csv
import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from emgse.checkpoint import read_checkpoint
from emgse.config import AudioConfig, EmgConfig
from emgse.data import FeatureStore, SegmentDataset
from emgse.errors import EmgseError
from emgse.features.level import LEVEL_RMS
from emgse.models import build_model
from emgse.training import (
    Dist,
    TrainConfig,
    batches,
    default_normalization,
    lr_at,
    setup_distributed,
    spectral_loss,
    store_for,
    train,
    train_epoch,
    validate,
)
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


def test_store_is_keyed_on_every_setting_that_changes_its_content(pipeline):
    mix = pipeline["mix"]
    assert store_for(mix, "train", EmgConfig(), progress=False) == pipeline["train"]
    # the context width does not change a store (per-frame features); 134 is 134.0
    assert store_for(mix, "train", EmgConfig(context=5, cutoff_hz=134), progress=False) == pipeline["train"]
    default = FeatureStore.open(pipeline["train"])
    for changed in (EmgConfig(cutoff_hz=100.0), EmgConfig(filter_order=4), EmgConfig(win_s=0.024)):
        path = store_for(mix, "train", changed, progress=False)
        assert path != pipeline["train"]
        store = FeatureStore.open(path)
        assert store.index["emg_config"]["cutoff_hz"] == changed.cutoff_hz  # built with what was asked, not reused
        assert not np.array_equal(np.asarray(store.emg), np.asarray(default.emg))
        np.testing.assert_array_equal(np.asarray(store.noisy), np.asarray(default.noisy))  # the audio front-end is unchanged
    # the paper's grid (no edge padding) needs both streams unpadded: its own store, fewer frames
    paper = FeatureStore.open(store_for(mix, "train", EmgConfig(edge_padding=False), audio_config=AudioConfig(edge_padding=False), progress=False))
    assert paper.noisy.shape[0] < default.noisy.shape[0] and paper.emg.shape[0] == paper.clean.shape[0]


def test_audio_and_emg_edge_padding_must_agree(pipeline, tmp_path):
    for audio, emg in ((AudioConfig(), EmgConfig(edge_padding=False)), (AudioConfig(edge_padding=False), EmgConfig())):
        with pytest.raises(EmgseError, match="edge_padding.*3 frames off"):
            store_for(pipeline["mix"], "train", emg, audio_config=audio, progress=False)
    # from the CLI's YAML: one line, exit 2, and the setting is not silently ignored
    (tmp_path / "c.yaml").write_text("emg:\n  edge_padding: false\n")
    r = subprocess.run(_emgse("train", "--mixtures", pipeline["mix"], "--out", tmp_path / "r", "--config", tmp_path / "c.yaml"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "edge_padding" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    # the YAML audio section is honoured: both streams unpadded train (the paper's grid), its other settings kept,
    # level normalization on unless the section or a flag sets it
    (tmp_path / "c.yaml").write_text("emg:\n  edge_padding: false\naudio:\n  edge_padding: false\n  level_time_s: 1.0\n"
                                     "train:\n  max_epochs: 1\n  max_steps_per_epoch: 1\n  batch_size: 4\n")
    for extra, level in (([], LEVEL_RMS), (["--no-level-norm"], None)):
        out = tmp_path / f"r{len(extra)}"
        r = subprocess.run(_emgse("train", "--mixtures", pipeline["mix"], "--out", out, "--model", "audio", "--config", tmp_path / "c.yaml",
                                  "--quiet", *extra), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        audio = read_checkpoint(out / "best.pt")["audio_config"]
        assert audio["edge_padding"] is False and audio["level_time_s"] == 1.0 and audio["level_rms"] == level


def test_resume_with_other_channels_or_model_arguments_is_one_clear_line(pipeline, tmp_path):
    cfg = TrainConfig(model="emgse", max_epochs=1, max_steps_per_epoch=1, batch_size=4)
    run = tmp_path / "run"
    train(pipeline["train"], pipeline["val"], run, cfg, progress=False)
    more = dataclasses.replace(cfg, max_epochs=2)
    with pytest.raises(EmgseError, match=r"cannot resume.*model arguments context 15 -> 5"):
        train(pipeline["train"], pipeline["val"], run, more, resume=True, progress=False, context=5)
    cheek = [store_for(pipeline["mix"], split, EmgConfig(channels="cheek"), progress=False) for split in ("train", "val")]
    with pytest.raises(EmgseError, match=r"cannot resume.*emg_dims 175 -> 140.*EMG channels 35 channels.*-> 28 channels"):
        train(*cheek, run, more, resume=True, progress=False)
    with pytest.raises(EmgseError, match=r"cannot resume.*model 'emgse' -> 'audio'"):
        train(pipeline["train"], pipeline["val"], run, dataclasses.replace(more, model="audio"), resume=True, progress=False)
    assert train(pipeline["train"], pipeline["val"], run, more, resume=True, progress=False)["epochs"] == 2  # same settings: fine


def test_causal_models_default_to_zscore_and_refuse_minmax(pipeline, tmp_path):
    assert default_normalization("causal-emgse") == default_normalization("causal-emgse-l0") == "zscore"
    assert default_normalization("emgse") == "minmax"  # the paper's recipe is unchanged
    cfg = TrainConfig(model="causal-emgse", max_epochs=1, max_steps_per_epoch=1, batch_size=4)
    with pytest.raises(EmgseError, match="causal.*minmax.*not causal"):
        train(pipeline["train"], pipeline["val"], tmp_path / "r", cfg, progress=False)  # the pipeline's store is min-max
    r = subprocess.run(_emgse("train", "--mixtures", pipeline["mix"], "--out", tmp_path / "c", "--model", "causal-emgse-l0",
                              "--normalization", "minmax"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "not causal" in r.stderr and not (tmp_path / "c").exists()


def _ddp_worker(rank, world, port, stores, state, batch, out):
    """One process of a gloo group: validation loss of ``state`` and the weights after 2 SGD steps."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank))
    torch.set_num_threads(1)
    d = setup_distributed("cpu")
    result = _one_and_steps(stores, state, batch, d)
    if rank == 0:
        torch.save(result, out)
    torch.distributed.destroy_process_group()


def _one_and_steps(stores, state, batch, d):
    tr, va = FeatureStore.open(stores[0]), FeatureStore.open(stores[1])
    cfg = TrainConfig(model="emgse", batch_size=batch, max_steps_per_epoch=2)
    model = build_model("emgse", emg_dims=tr.emg_dims, dropout=0.0)
    model.load_state_dict(state)
    val_set = torch.utils.data.Subset(SegmentDataset(va, 64, 15, random=False), range(7))  # 7: a remainder for 2 processes
    val = validate(model, batches(val_set, cfg, 0, d, shuffle=False), torch.device("cpu"), d)
    net = torch.nn.parallel.DistributedDataParallel(model) if d.world > 1 else model
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)  # plain SGD: the weights move by exactly the gradient
    train_set = SegmentDataset(tr, 64, 15, seed=0)
    train_set.set_epoch(1)
    loader = batches(train_set, cfg, 1, d, shuffle=True)
    result = train_epoch(net, optimizer, loader, torch.device("cpu"), cfg, None, d)
    return {"val": val, "steps": result["steps"], "batches": len(loader), "state": model.state_dict()}


def test_one_and_two_processes_same_validation_and_global_batch(pipeline, tmp_path):
    torch.manual_seed(0)
    state = build_model("emgse", emg_dims=175, dropout=0.0).state_dict()
    stores = (pipeline["train"], pipeline["val"])
    one = _one_and_steps(stores, state, 8, Dist())
    # fork: the children need no fresh interpreter (no re-import of torch)
    torch.multiprocessing.start_processes(_ddp_worker, args=(2, 29541, stores, state, 8, tmp_path / "two.pt"), nprocs=2, start_method="fork")
    two = torch.load(tmp_path / "two.pt", weights_only=True)
    assert two["val"] == pytest.approx(one["val"], rel=1e-6)  # every segment, split over the processes
    assert two["steps"] == one["steps"] == 2 and two["batches"] == one["batches"]  # the global batch is the configured 8
    for k, w in one["state"].items():  # and each step's gradient is that of the whole batch
        torch.testing.assert_close(two["state"][k], w, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def speech(pipeline):
    from tests.pipeline import tiny_speech_only

    return tiny_speech_only(pipeline["mix"].parent)


def test_cli_trains_emgse_tcn_with_audio_only_speech(pipeline, speech, tmp_path, capsys):
    from emgse.cli import main
    from emgse.enhance import Enhancer
    from emgse.features.emg import ZScore
    from emgse.features.level import with_level

    run = tmp_path / "tcn"
    assert main(["train", "--mixtures", str(pipeline["mix"]), "--audio-only-mix", str(speech["mix"]), "--out", str(run),
                 "--model", "emgse-tcn", "--normalization", "zscore", "--epochs", "1", "--batch-size", "4", "--quiet",
                 "--loss", "compressed", "--suppression-weight", "2"]) == 0
    assert "audio-only, EMG absent" in capsys.readouterr().out
    import json

    summary = json.loads((run / "summary.json").read_text())
    assert summary["audio_only_mixtures"] == 6 and summary["audio_only_share"] == 0.5
    # z-score statistics come from the paired training utterances only
    emg = EmgConfig(normalization="zscore")
    paired = FeatureStore.open(store_for(pipeline["mix"], "train", emg, audio_config=with_level(), progress=False))
    ckpt = read_checkpoint(run / "best.pt")
    assert ckpt["train_config"]["loss"] == "compressed" and ckpt["train_config"]["suppression_weight"] == 2.0
    np.testing.assert_allclose(ckpt["zscore"]["mean"], ZScore.fit([paired.emg]).mean)
    # an audio-only training segment's EMG is exactly the enhancer's input for a recording without EMG
    extra = FeatureStore.open(store_for(speech["mix"], "train", emg, audio_config=with_level(), progress=False))
    z = ZScore.from_dict(ckpt["zscore"]).float32()  # as the enhancer applies it
    ds = SegmentDataset(paired, 64, ckpt["emg_config"]["context"], zscore=z, audio_only=extra)
    absent = next(ds[i] for i in range(len(ds)) if ds[i]["has_emg"] == 0)
    torch.testing.assert_close(absent["emg"], Enhancer(run / "best.pt").absent_emg_input(64)[0], rtol=0, atol=0)


@pytest.mark.parametrize(("model", "share"), [("emgse", 0.5), ("audio", None)])
def test_training_with_audio_only_speech(pipeline, speech, tmp_path, model, share):
    cfg = TrainConfig(model=model, max_epochs=1, **FAST)
    summary = train(pipeline["train"], pipeline["val"], tmp_path / model, cfg, progress=False, audio_only_store=speech["train"])
    assert summary["audio_only_mixtures"] == 6 and summary["audio_only_share"] == share  # audio models: every segment
    assert np.isfinite(summary["best_val_loss"])


def test_audio_only_speech_refusals(pipeline, speech, tmp_path):
    cfg = TrainConfig(model="emgse", max_epochs=1, **FAST)
    with pytest.raises(EmgseError, match="does not take audio"):
        train(pipeline["train"], pipeline["val"], tmp_path / "a", dataclasses.replace(cfg, model="emg-only"), audio_only_store=speech["train"])
    with pytest.raises(EmgseError, match="holds mixtures with EMG"):
        train(pipeline["train"], pipeline["val"], tmp_path / "b", cfg, audio_only_store=pipeline["val"])
    for bad in ("most", 1.0, -0.1):
        with pytest.raises(EmgseError, match="use auto, all or a number"):
            train(pipeline["train"], pipeline["val"], tmp_path / "c", dataclasses.replace(cfg, audio_only_share=bad))
    assert not (tmp_path / "c").exists()


def test_init_from_an_audio_only_run_starts_the_fusion_as_that_model(pipeline, tmp_path):
    from emgse.checkpoint import configs, load_model
    from emgse.training import warm_start

    train(pipeline["train"], pipeline["val"], tmp_path / "audio-mask", TrainConfig(model="audio-mask", max_epochs=1, **FAST), progress=False)
    source = tmp_path / "audio-mask" / "best.pt"
    cfg = TrainConfig(model="emgse-mask", max_epochs=1, lr=0.0, init_from=str(source), **FAST)  # lr 0: the weights as started
    train(pipeline["train"], pipeline["val"], tmp_path / "fused", cfg, progress=False)
    audio, _ = load_model(source)
    fused, ckpt = load_model(tmp_path / "fused" / "best.pt")
    assert ckpt["train_config"]["init_from"] == str(source)
    noisy = torch.rand(2, 40, 257) * 3
    with torch.no_grad():  # the fusion computes exactly its audio-only start, whatever the EMG says
        torch.testing.assert_close(fused(noisy, torch.randn(2, 70, 175)), audio(noisy), atol=0, rtol=0)
    again = build_model("emgse-mask", **ckpt["model_args"])  # started from a fusion run: its EMG term is kept, not zeroed
    assert warm_start(again, tmp_path / "fused" / "best.pt", configs(ckpt)[0]) == (44, 44)
    torch.testing.assert_close(again.state_dict(), fused.state_dict(), atol=0, rtol=0)
    torch.nn.init.normal_(fused.emg_proj.weight)
    torch.save({**torch.load(tmp_path / "fused" / "best.pt", weights_only=True), "state_dict": fused.state_dict()}, tmp_path / "f2.pt")
    warm_start(again, tmp_path / "f2.pt", configs(ckpt)[0])
    assert again.emg_proj.weight.abs().sum() > 0
    # front-ends must agree, and something must fit
    with pytest.raises(EmgseError, match=r"best.pt: cannot start from this checkpoint: its audio front-end differs \(n_fft"):
        warm_start(build_model("emgse-mask"), source, AudioConfig(n_fft=256, win_length=256))
    train(pipeline["train"], pipeline["val"], tmp_path / "paper", TrainConfig(model="emgse", max_epochs=1, **FAST), progress=False)
    with pytest.raises(EmgseError, match=r"none of its weights fits 'emgse' -> this model"):
        warm_start(build_model("audio-mask"), tmp_path / "paper" / "best.pt", configs(read_checkpoint(source))[0])


def test_compressed_loss_is_on_magnitudes_raised_to_0_3_and_weighs_quiet_bins_more():
    mag = torch.tensor([[[0.001, 0.001, 2.0, 2.0]]])  # (B, T, F): two quiet bins (-66 dB), two loud ones
    est = mag * torch.tensor([0.5, 1.0, 0.5, 1.0])  # each half-suppressed bin loses 6 dB
    frames = torch.ones(1, 1)
    l1, n = spectral_loss(torch.log1p(est), torch.log1p(mag), frames, "l1")
    comp, _ = spectral_loss(torch.log1p(est), torch.log1p(mag), frames, "compressed")
    assert n == 1
    torch.testing.assert_close(l1, (torch.log1p(mag) - torch.log1p(est)).abs().mean())
    eps = 1e-6
    expected = (((est + eps) ** 0.3 - (mag + eps) ** 0.3) ** 2).mean()
    torch.testing.assert_close(comp, expected, rtol=1e-4, atol=1e-9)

    def quiet_over_loud(kind):  # the same 6 dB loss costs this much less in a quiet bin than in a loud one
        quiet = spectral_loss(torch.log1p(est[..., :1]), torch.log1p(mag[..., :1]), frames, kind)[0]
        return quiet / spectral_loss(torch.log1p(est[..., 2:3]), torch.log1p(mag[..., 2:3]), frames, kind)[0]

    assert quiet_over_loud("l1") < 0.002 and quiet_over_loud("compressed") > 5 * quiet_over_loud("l1")
    # masked frames do not count; a perfect estimate costs nothing
    two = torch.log1p(torch.cat([mag, 5 * mag], dim=1))
    assert spectral_loss(two, torch.log1p(torch.cat([mag, mag], dim=1)), torch.tensor([[1.0, 0.0]]), "compressed")[0] == 0
    with pytest.raises(ValueError, match="loss must be one of"):
        spectral_loss(two, two, torch.ones(1, 2), "l2")
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig(loss="mse")


def test_suppression_weight_below_one_is_refused_by_the_cli(capsys):
    from emgse.cli import main

    for bad in ("0.5", "x"):
        assert main(["train", "--mixtures", "m", "--out", "o", "--suppression-weight", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert f"--suppression-weight: {bad!r}: use a number >= 1" in err and "\n" not in err


def test_suppression_weight_makes_removing_speech_cost_more_than_leaving_noise():
    mag = torch.tensor([[[0.5, 0.5]]])
    est = mag * torch.tensor([0.5, 1.5])  # bin 0 half suppressed (speech removed), bin 1 too loud (noise left)
    frames = torch.ones(1, 1)
    for kind in ("l1", "compressed"):
        def per_bin(weight, k=kind):
            return [spectral_loss(torch.log1p(est[..., b:b + 1]), torch.log1p(mag[..., b:b + 1]), frames, k, weight)[0] for b in (0, 1)]

        (cut1, left1), (cut3, left3) = per_bin(1.0), per_bin(3.0)
        assert left3 == left1  # leaving noise in costs the same
        torch.testing.assert_close(cut3, cut1 * (3.0 if kind == "l1" else 9.0))  # alpha before |.|, alpha^2 before squaring
        assert spectral_loss(torch.log1p(mag), torch.log1p(mag), frames, kind, 3.0)[0] == 0
    with pytest.raises(ValueError, match="suppression weight must be at least 1"):
        TrainConfig(suppression_weight=0.5)


def test_training_with_the_compressed_loss_logs_it_and_refuses_to_resume_with_another(pipeline, tmp_path):
    cfg = TrainConfig(model="audio-mask", max_epochs=2, loss="compressed", batch_size=4, max_steps_per_epoch=6)
    run = tmp_path / "run"
    summary = train(pipeline["train"], pipeline["val"], run, dataclasses.replace(cfg, max_epochs=1), progress=False)
    ckpt = read_checkpoint(run / "best.pt")
    assert ckpt["train_config"]["loss"] == "compressed"
    # the logged validation loss is the compressed loss of the saved model
    tr, va = FeatureStore.open(pipeline["train"]), FeatureStore.open(pipeline["val"])
    model = build_model("audio-mask")
    model.load_state_dict(ckpt["state_dict"])
    val_set = SegmentDataset(va, cfg.segment, 15, random=False)
    d = Dist()
    loader = batches(val_set, cfg, 0, d, shuffle=False)
    assert validate(model, loader, torch.device("cpu"), d, "compressed") == pytest.approx(summary["best_val_loss"], rel=1e-6)
    assert validate(model, loader, torch.device("cpu"), d, "l1") != pytest.approx(summary["best_val_loss"], rel=1e-2)
    with pytest.raises(EmgseError, match=r"cannot resume with other settings \(loss 'compressed' -> 'l1'\)"):
        train(pipeline["train"], pipeline["val"], run, dataclasses.replace(cfg, loss="l1"), resume=True, progress=False)
    with pytest.raises(EmgseError, match=r"cannot resume with other settings \(suppression weight 1.0 -> 2.0\)"):
        train(pipeline["train"], pipeline["val"], run, dataclasses.replace(cfg, suppression_weight=2.0), resume=True, progress=False)
    assert train(pipeline["train"], pipeline["val"], run, cfg, resume=True, progress=False)["epochs"] == 2
    del tr


def test_cosine_schedule_decays_step_by_step_and_resumes_exactly(pipeline, tmp_path):
    cfg = TrainConfig(model="audio-mask", lr=1e-3, max_epochs=4, lr_schedule="cosine", batch_size=4, max_steps_per_epoch=3)
    assert lr_at(cfg, 0) == 1e-3 and lr_at(cfg, 2) == pytest.approx(5e-4) and lr_at(cfg, 4) == pytest.approx(0, abs=1e-12)
    assert lr_at(dataclasses.replace(cfg, lr_schedule="constant"), 3.9) == 1e-3
    with pytest.raises(ValueError, match="lr schedule must be one of constant, cosine"):
        TrainConfig(lr_schedule="step")
    train(pipeline["train"], pipeline["val"], tmp_path / "a", cfg, progress=False)
    with open(tmp_path / "a" / "log.csv") as f:
        logged = [float(r["lr"]) for r in csv.DictReader(f)]
    # each epoch's last step (3 per epoch) ran at lr_at(epoch - 1 + 2/3)
    assert logged == pytest.approx([lr_at(cfg, e - 1 + 2 / 3) for e in (1, 2, 3, 4)], rel=1e-5)
    # stopped after epoch 1 (a time budget) and resumed: the same weights as the uninterrupted run
    stopped = train(pipeline["train"], pipeline["val"], tmp_path / "b", dataclasses.replace(cfg, max_minutes=1e-6), progress=False)
    assert stopped["stop_reason"] == "time_budget" and stopped["epochs"] == 1
    train(pipeline["train"], pipeline["val"], tmp_path / "b", cfg, resume=True, progress=False)
    a, b = read_checkpoint(tmp_path / "a" / "last.pt"), read_checkpoint(tmp_path / "b" / "last.pt")
    for k in a["state_dict"]:
        torch.testing.assert_close(a["state_dict"][k], b["state_dict"][k], rtol=0, atol=0)
    assert b["optimizer"]["param_groups"][0]["lr"] == pytest.approx(logged[-1])


def _segment_batch(pipeline, n=4, segment=32):
    """A batch of real segments with phases (the store gets them once)."""
    from emgse.data import add_phases

    add_phases(pipeline["train"], progress=False)
    ds = SegmentDataset(FeatureStore.open(pipeline["train"]), segment=segment, context=15, random=False, phases=True)
    return torch.utils.data.default_collate([ds[i] for i in range(n)])


def test_rebuilt_segments_are_the_recordings_and_si_sdr_is_scale_invariant(pipeline):
    from emgse.config import from_dict
    from emgse.metrics import si_sdr, si_sdr_tensor
    from emgse.training import rebuild_segments

    config = from_dict(AudioConfig, FeatureStore.open(pipeline["train"]).index["audio_config"])
    rng = np.random.default_rng(0)
    wave = torch.as_tensor(rng.standard_normal(64 * 128), dtype=torch.float32)[None]
    from emgse.features.audio import log_magnitude

    log_mag, phase = log_magnitude(wave, config)
    rebuilt = rebuild_segments(log_mag, phase, torch.ones(log_mag.shape[:2]), config)
    # every sample the frames cover, from the first frame's hop to the last frame's end (the signal + its end padding)
    assert rebuilt.shape == (1, (log_mag.shape[1] - 1) * 128 + 512 - 384)
    torch.testing.assert_close(rebuilt[:, : wave.shape[1]], wave, atol=1e-4, rtol=1e-4)
    assert rebuilt[:, wave.shape[1]:].abs().max() < 1e-4
    noisy = wave + 0.3 * torch.as_tensor(rng.standard_normal(wave.shape), dtype=torch.float32)
    assert si_sdr_tensor(wave, wave) > 60 and si_sdr_tensor(wave, 3 * noisy) == pytest.approx(si_sdr_tensor(wave, noisy), abs=1e-3)
    assert si_sdr_tensor(wave, noisy).item() == pytest.approx(10 * np.log10(1 / 0.09), abs=0.5)  # 0.3 x the signal's RMS: ~10.5 dB
    # the loss is the metric (same definition, same argument order: reference first)
    assert si_sdr_tensor(wave, noisy).item() == pytest.approx(si_sdr(wave.double().numpy(), noisy.double().numpy())[0], abs=1e-3)


def test_waveform_losses_reward_the_clean_recording_skip_silence_and_carry_gradients(pipeline):
    from emgse.config import from_dict
    from emgse.training import waveform_loss

    config = from_dict(AudioConfig, FeatureStore.open(pipeline["train"]).index["audio_config"])
    batch = _segment_batch(pipeline)
    perfect = {**batch, "noisy_phase": batch["clean_phase"]}  # the clean magnitude with the clean phase
    assert waveform_loss(batch["clean"], perfect, "sisdr", config) < -40
    assert waveform_loss(batch["clean"], perfect, "mrstft", config) < 1e-3
    # the noisy input itself (its magnitude with its phase): SI-SDR near the mixture's SNR (the 4 segments are mixture 0's)
    snr = FeatureStore.open(pipeline["train"]).index["mixtures"][0]["snr_db"]
    assert waveform_loss(batch["noisy"], batch, "sisdr", config).item() == pytest.approx(-snr, abs=1.5)
    assert waveform_loss(batch["noisy"], batch, "mrstft", config) > 0.1
    # SI-SDR ignores the estimate's level, the multi-resolution STFT loss does not
    half = torch.log1p(0.5 * torch.expm1(batch["noisy"]))
    assert waveform_loss(half, batch, "sisdr", config).item() == pytest.approx(waveform_loss(batch["noisy"], batch, "sisdr", config).item(), abs=1e-3)
    assert waveform_loss(torch.log1p(0.5 * torch.expm1(batch["clean"])), perfect, "mrstft", config) > 0.1
    # a segment of silent clean speech is left out; all silent: 0 with a gradient path
    silent = {**batch, "clean": batch["clean"].clone()}
    silent["clean"][0] = 0.0
    pred = batch["noisy"].clone().requires_grad_(True)
    kept = waveform_loss(pred, silent, "sisdr", config)
    expected = waveform_loss(batch["noisy"][1:], {k: v[1:] for k, v in silent.items()}, "sisdr", config)
    assert kept.item() == pytest.approx(expected.item(), abs=1e-4)
    kept.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[1:].abs().sum() > 0 and pred.grad[0].abs().sum() == 0
    none = {**batch, "clean": torch.zeros_like(batch["clean"])}
    pred = batch["noisy"].clone().requires_grad_(True)
    zero = waveform_loss(pred, none, "mrstft", config)
    assert zero.item() == 0.0 and zero.requires_grad
    with pytest.raises(ValueError, match="wave loss must be one of sisdr, mrstft"):
        waveform_loss(batch["noisy"], batch, "l2", config)


def test_training_with_a_waveform_loss_logs_the_objective_and_refuses_other_settings(pipeline, tmp_path, capsys):
    from emgse.cli import main
    from emgse.config import from_dict
    from emgse.training import WAVE_WEIGHTS

    cfg = TrainConfig(model="audio-mask", max_epochs=2, loss="compressed", wave_loss="sisdr", batch_size=4, max_steps_per_epoch=4)
    assert cfg.wave_factor == WAVE_WEIGHTS["sisdr"] and TrainConfig().wave_factor == 0.0
    run = tmp_path / "run"
    summary = train(pipeline["train"], pipeline["val"], run, dataclasses.replace(cfg, max_epochs=1), progress=False)
    ckpt = read_checkpoint(run / "best.pt")
    assert ckpt["train_config"]["wave_loss"] == "sisdr" and ckpt["train_config"]["wave_weight"] == WAVE_WEIGHTS["sisdr"]
    # the logged validation loss is the whole objective of the saved model: compressed + weight x (-SI-SDR)
    va = FeatureStore.open(pipeline["val"])
    model = build_model("audio-mask")
    model.load_state_dict(ckpt["state_dict"])
    d = Dist()
    loader = batches(SegmentDataset(va, cfg.segment, 15, random=False, phases=True), cfg, 0, d, shuffle=False)
    config = from_dict(AudioConfig, va.index["audio_config"])
    whole = validate(model, loader, torch.device("cpu"), d, cfg, audio_config=config)
    assert whole == pytest.approx(summary["best_val_loss"], rel=1e-5)
    assert abs(whole - validate(model, loader, torch.device("cpu"), d, "compressed")) > 1e-4
    with pytest.raises(EmgseError, match=r"cannot resume with other settings \(wave loss 'sisdr' -> 'mrstft'; wave weight 0.004 -> 0.0057\)"):
        train(pipeline["train"], pipeline["val"], run, dataclasses.replace(cfg, wave_loss="mrstft"), resume=True, progress=False)
    assert train(pipeline["train"], pipeline["val"], run, cfg, resume=True, progress=False)["epochs"] == 2
    with pytest.raises(EmgseError, match=r"model 'emg-only' does not take audio: a waveform loss needs the microphone's phase"):
        train(pipeline["train"], pipeline["val"], tmp_path / "e", dataclasses.replace(cfg, model="emg-only"), progress=False)
    with pytest.raises(ValueError, match="wave loss must be one of sisdr, mrstft"):
        TrainConfig(wave_loss="l2")
    assert main(["train", "--mixtures", str(pipeline["mix"]), "--out", str(tmp_path / "c"), "--wave-weight", "0.01"]) == 2
    assert not (tmp_path / "c").exists()
    assert "training settings: wave weight 0.01: needs a wave loss and a number > 0" in capsys.readouterr().err
