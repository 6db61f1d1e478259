"""Causal models: no future beyond the lookahead, step == forward, and the trainer path with z-score."""

from __future__ import annotations

import inspect

import pytest
import torch

from emgse.checkpoint import read_checkpoint
from emgse.config import EmgConfig
from emgse.enhance import Enhancer
from emgse.errors import EmgseError
from emgse.models import MODELS, build_model
from emgse.stream import Streamer
from emgse.training import TrainConfig, train
from tests.pipeline import tiny_pipeline


def test_registered_with_the_registry_interface():
    assert {"causal-audio", "causal-emgse", "causal-emgse-l0", "causal-emgse-l2"} <= set(MODELS)
    assert [build_model(n).lookahead for n in ("causal-emgse-l0", "causal-emgse", "causal-emgse-l2")] == [0, 1, 2]
    # the trainer passes emg_dims / context by the constructor's signature (cheek: 28 channels)
    assert {"emg_dims", "context"} <= set(inspect.signature(MODELS["causal-emgse-l0"]).parameters)
    assert build_model("causal-emgse-l2", emg_dims=140).lookahead == 2
    y = build_model("causal-emgse").eval()(torch.rand(2, 40, 257), torch.randn(2, 70, 175))
    assert y.shape == (2, 40, 257) and torch.all(y >= 0)
    with pytest.raises(EmgseError, match="must fit in the data's EMG margin"):
        build_model("causal-emgse", context=1, lookahead=2)


@pytest.mark.parametrize("name", ["causal-emgse", "causal-emgse-l2", "causal-audio", "causal-audio-mask"])
def test_no_future_beyond_lookahead(name):
    torch.manual_seed(0)
    model = build_model(name, emg_dims=20, context=4).eval()
    la, t, k = model.lookahead, 12, 4
    x, e = torch.rand(1, 30, 257), torch.randn(1, 30 + 2 * k, 20)
    x2, e2 = x.clone(), e.clone()
    x2[:, t + 1 :] = torch.rand(1, 30 - t - 1, 257)  # audio after frame t
    e2[:, k + t + la + 1 :] = torch.randn(1, 30 + k - t - la - 1, 20)  # EMG after frame t + lookahead
    with torch.no_grad():
        a, b = model(x, e), model(x2, e2)
    assert torch.allclose(a[:, : t + 1], b[:, : t + 1], atol=1e-6)
    assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


def test_step_equals_forward():
    torch.manual_seed(0)
    model = build_model("causal-emgse", emg_dims=20, context=4, past=3).eval()
    x, e = torch.rand(1, 25, 257), torch.randn(1, 25 + 8, 20)
    with torch.no_grad():
        full = model(x, e)
        h, c = model.initial_state(1)
        steps = []
        for t in range(25):
            window = e[:, 4 + t - 3 : 4 + t + 2]  # frames t-3 .. t+1
            y, h, c = model.step(x[:, t], window, h, c)
            steps.append(y)
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)


def test_trains_with_zscore_and_streams(tmp_path):
    p = tiny_pipeline(tmp_path, EmgConfig(normalization="zscore", context=4))
    train(p["train"], p["val"], tmp_path / "run", TrainConfig(model="causal-emgse", max_epochs=1, max_steps_per_epoch=1, batch_size=4),
          progress=False)
    ckpt = read_checkpoint(tmp_path / "run" / "best.pt")
    assert ckpt["zscore"] is not None and ckpt["model_args"] == {"emg_dims": 175, "context": 4}
    streamer = Streamer(Enhancer(tmp_path / "run" / "best.pt"))
    assert streamer.latency_s == pytest.approx(0.040)


def test_causal_audio_mask_steps_as_it_runs_and_starts_from_the_shipped_audio_mask():
    from emgse.checkpoint import configs
    from emgse.resources import checkpoint_path
    from emgse.training.loop import warm_start

    torch.manual_seed(0)
    model = build_model("causal-audio-mask").eval()
    x = torch.rand(1, 25, 257) * 3
    with torch.no_grad():
        full = model(x)
        h, c = model.initial_state(1)
        steps = []
        for t in range(25):
            y, h, c = model.step(x[:, t], None, h, c)
            steps.append(y)
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)
    assert torch.all(full <= x + 1e-6) and torch.all(full >= 0)  # a mask in [0, 1] can only lower the magnitude
    shipped = checkpoint_path("pretrained")
    copied, total = warm_start(model, shipped, configs(read_checkpoint(shipped))[0])
    theirs = read_checkpoint(shipped)["state_dict"]
    own = model.state_dict()
    # the encoder and the forward direction of the first LSTM layer (and the second layer's recurrent
    # weights) come from audio-mask; the second layer's input weights and the mask head differ in shape
    assert {"spectrogram_encoder.0.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0"} <= {k for k in own if torch.equal(own[k], theirs[k].to(own[k].dtype))}
    assert 0 < copied < total and own["out.weight"].shape != theirs["out.weight"].shape


def test_causal_audio_mask_trains_from_the_shipped_model_and_streams_from_the_command_line(tmp_path):
    import numpy as np

    from emgse.cli import main
    from emgse.files import read_audio, write_wav
    from emgse.resources import SPEECH_SUBSET

    run = tmp_path / "run"
    assert main(["train", "--model", "causal-audio-mask", "--init-from", "pretrained", "--speech", str(SPEECH_SUBSET / "train"),
                 "--noise", "white", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", "--val-crops", "2",
                 "--device", "cpu", "--out", str(run), "--quiet"]) == 0
    ckpt = read_checkpoint(run / "best.pt")
    assert ckpt["model_name"] == "causal-audio-mask" and ckpt["train_config"]["init_from"] == "pretrained"
    noisy = (0.05 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    write_wav(tmp_path / "noisy.wav", noisy, 16000)
    assert main(["stream", "--checkpoint", str(run / "best.pt"), "--audio", str(tmp_path / "noisy.wav"), "--out", str(tmp_path / "out.wav")]) == 0
    out, fs = read_audio(tmp_path / "out.wav")
    assert fs == 16000 and out.shape == noisy.shape and np.all(np.isfinite(out))
    offline = Enhancer(run / "best.pt").enhance(noisy)
    assert np.abs(out - offline).max() <= 1e-4  # the streamed file is the offline enhancement
