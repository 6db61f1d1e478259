import math

import numpy as np
import pytest
import torch

from emgse.errors import EmgseError
from emgse.features.emg import stack_context
from emgse.models import MODELS, build_model, count_parameters

LSTM = 2 * (4 * 300 * (200 + 300) + 8 * 300) + 2 * (4 * 300 * (600 + 300) + 8 * 300)
AUDIO = (257 * 128 + 128) + (128 * 100 + 100) + (100 * 200 + 200) + LSTM + (300 * 257 + 257)


def emgse_params(inputs: int) -> int:
    emg_encoder = (inputs * 200 + 200) + (200 * 100 + 100)
    return AUDIO - (100 * 200 + 200) + (200 * 200 + 200) + emg_encoder


def test_parameter_counts_are_the_papers_layer_sizes():
    assert count_parameters(build_model("audio")) == AUDIO == 3_513_081
    assert count_parameters(build_model("emgse")) == emgse_params(5425)  # 35 channels x 5 x 31
    assert count_parameters(build_model("emgse", emg_dims=140)) == emgse_params(4340)  # cheek, 28 channels
    assert count_parameters(build_model("emgse", emg_dims=35)) == emgse_params(1085)  # chin, 7 channels
    assert {"audio", "emgse", "emg-only"} <= set(MODELS)


def test_shapes_and_output_is_nonnegative():
    x = torch.rand(2, 40, 257)
    e = torch.randn(2, 70, 175)
    for name in MODELS:
        y = build_model(name).eval()(x, e)
        assert y.shape == (2, 40, 257) and torch.all(y >= 0)


def test_context_layer_equals_dense_layer_on_stacked_frames():
    model = build_model("emgse", emg_dims=10, context=3).eval()
    layer = model.emg_encoder.first
    feats = np.random.default_rng(0).standard_normal((20, 10)).astype(np.float32)
    dense = torch.as_tensor(stack_context(feats, 3)) @ layer.weight.T + layer.bias
    padded = torch.as_tensor(np.pad(feats, ((3, 3), (0, 0))))[None]
    torch.testing.assert_close(layer(padded)[0], dense, atol=1e-5, rtol=1e-5)


def test_xavier_uniform_init_and_zero_biases():
    torch.manual_seed(0)
    model = build_model("emgse")
    for name, p in model.named_parameters():
        if "bias" in name:
            assert torch.all(p == 0), name
    w = model.emg_encoder.first.weight
    bound = math.sqrt(6 / (5425 + 200))  # the dense layer's fans
    assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound


def test_audio_model_ignores_emg_and_emg_only_ignores_audio():
    x, e = torch.rand(1, 30, 257), torch.randn(1, 60, 175)
    audio = build_model("audio").eval()
    torch.testing.assert_close(audio(x, e), audio(x, torch.zeros_like(e)))
    emg_only = build_model("emg-only").eval()
    torch.testing.assert_close(emg_only(x, e), emg_only(torch.zeros_like(x), e))
    fused = build_model("emgse").eval()
    assert not torch.allclose(fused(x, e), fused(x, torch.zeros_like(e)))


def test_unknown_model_and_bad_args():
    with pytest.raises(EmgseError, match="unknown model"):
        build_model("transformer")
    with pytest.raises(EmgseError, match="bad arguments"):
        build_model("audio", emg_dims=3)
