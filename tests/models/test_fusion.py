import pytest
import torch

from emgse.models import build_model, count_parameters
from emgse.models.fusion import MaskFusionSE, TemporalEmgEncoder, drop_emg


def test_no_more_parameters_than_paper_emgse():
    assert count_parameters(build_model("emgse-mask")) <= count_parameters(build_model("emgse"))
    assert count_parameters(build_model("audio-mask")) < count_parameters(build_model("emgse-mask"))


def test_mask_is_bounded_by_the_noisy_magnitude():
    model = build_model("emgse-mask").eval()
    noisy = torch.rand(2, 50, 257) * 4
    out = model(noisy, torch.randn(2, 80, 175) * 5)
    assert out.shape == noisy.shape
    assert torch.all(out >= 0) and torch.all(out <= noisy + 1e-5)


def test_temporal_encoder_crops_context_and_is_local():
    enc = TemporalEmgEncoder(dims=10, context=15).eval()
    x = torch.randn(1, 40 + 30, 10)
    y = enc(x)
    assert y.shape == (1, 40, 128) and enc.reach == 15
    # frame 0's output depends only on input frames 0..30 (its +-15 window)
    x2 = x.clone()
    x2[:, 31:] = 0
    torch.testing.assert_close(enc(x2)[:, 0], y[:, 0])
    with pytest.raises(ValueError, match="context frames"):
        TemporalEmgEncoder(dims=10, context=5)


def test_emg_dropout_behaviour():
    emg = torch.ones(64, 3, 4 * 5)
    assert torch.all(drop_emg(emg, 5, modality=1.0, channel=0.0) == 0)
    torch.testing.assert_close(drop_emg(emg, 5, modality=0.0, channel=0.0), emg)
    torch.manual_seed(0)
    dropped = drop_emg(emg, 5, modality=0.0, channel=0.5)
    per_channel = dropped.view(64, 3, 4, 5)
    assert torch.all(per_channel == per_channel[..., :1])  # a channel's 5 features go together
    assert 0.3 < (dropped == 0).float().mean() < 0.7
    model = MaskFusionSE(emg_dims=20, context=15, modality_dropout=1.0)
    x = torch.rand(2, 30, 257)
    model.train()
    emg = torch.randn(2, 60, 20)
    torch.manual_seed(1)
    a = model(x, emg)
    torch.manual_seed(1)
    b = model(x, torch.zeros(2, 60, 20))
    torch.testing.assert_close(a, b)  # EMG fully dropped in training
    model.eval()
    assert not torch.allclose(model(x, torch.randn(2, 60, 20)), model(x, torch.zeros(2, 60, 20)))


def test_tiny_training_step_reduces_loss():
    torch.manual_seed(0)
    model = build_model("emgse-mask", emg_dims=20, modality_dropout=0.0, channel_dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    noisy = torch.rand(4, 32, 257) * 2
    clean = noisy * 0.5
    emg = torch.randn(4, 62, 20)
    losses = []
    for _ in range(15):
        loss = (model(noisy, emg) - clean).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
