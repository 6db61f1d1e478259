import pytest
import torch

from emgse.models import build_model, count_parameters
from emgse.models.fusion import (
    MaskFusionSE,
    PriorFusionSE,
    SnrGatedSE,
    TemporalEmgEncoder,
    band_energies,
    drop_emg,
    speech_share,
)
from emgse.training import auxiliary_loss

FAMILY = ("emgse-mask", "emgse-map", "emgse-tcn", "emgse-prior", "emgse-snr")


@pytest.mark.parametrize("name", FAMILY)
def test_no_more_parameters_than_paper_emgse(name):
    assert count_parameters(build_model(name)) <= count_parameters(build_model("emgse"))
    assert count_parameters(build_model("audio-mask")) < count_parameters(build_model("emgse-mask"))


@pytest.mark.parametrize("name", FAMILY + ("audio-mask",))
def test_shapes_and_nonnegative_log_magnitude(name):
    model = build_model(name).eval()
    noisy = torch.rand(2, 50, 257) * 4
    out = model(noisy, torch.randn(2, 80, 175)) if model.uses_emg else model(noisy)
    assert out.shape == noisy.shape and torch.all(torch.isfinite(out)) and torch.all(out >= 0)


def test_hybrid_blends_between_its_mask_and_mapping_heads():
    model = MaskFusionSE(output="hybrid", fusion="concat", encoder_norm=False).eval()
    noisy, emg = torch.rand(1, 20, 257) * 4, torch.randn(1, 50, 175)
    with torch.no_grad():
        model.out_blend.weight.zero_()
        model.out_blend.bias.fill_(50.0)  # blend -> 1: the masked branch only
        masked = model(noisy, emg)
        model.out_blend.bias.fill_(-50.0)  # blend -> 0: the mapping only
        mapped = model(noisy, emg)
    assert torch.all(masked <= noisy + 1e-5)
    assert torch.any(mapped > noisy)  # a mapping is not bounded by the noisy magnitude
    with pytest.raises(ValueError, match="output must be one of"):
        MaskFusionSE(output="spectral-subtraction")


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


def assert_emg_fully_dropped_in_training(model: torch.nn.Module) -> torch.Tensor:
    """With modality dropout 1, training ignores the EMG (20 dims, context 15); leaves ``model`` in
    eval mode and returns the audio input used ``(2, 30, 257)``."""
    x, emg = torch.rand(2, 30, 257), torch.randn(2, 60, 20)
    model.train()
    torch.manual_seed(1)
    a = model(x, emg)
    torch.manual_seed(1)
    b = model(x, torch.zeros(2, 60, 20))
    torch.testing.assert_close(a, b)  # EMG fully dropped in training
    model.eval()
    return x


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
    x = assert_emg_fully_dropped_in_training(model)
    assert not torch.allclose(model(x, torch.randn(2, 60, 20)), model(x, torch.zeros(2, 60, 20)))


@pytest.mark.parametrize("name", FAMILY)
def test_tiny_training_step_reduces_loss(name):
    torch.manual_seed(0)
    model = build_model(name, emg_dims=20, modality_dropout=0.0, channel_dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    noisy = torch.rand(4, 32, 1) * 3 * torch.rand(257)  # frames at random levels, one spectral shape
    clean = noisy * 0.5
    emg = torch.randn(4, 62, 20)
    losses = []
    for _ in range(40):
        loss = (model(noisy, emg) - clean).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_tcn_model_keeps_the_paper_audio_path_and_drops_emg_in_training():
    model = build_model("emgse-tcn", emg_dims=20, modality_dropout=1.0)
    x, emg = assert_emg_fully_dropped_in_training(model), torch.randn(2, 60, 20)
    torch.testing.assert_close(model(x), model(x, torch.zeros(2, 60, 20)))  # absent EMG == zero features
    assert not torch.allclose(model(x, emg), model(x))
    assert count_parameters(build_model("emgse-tcn")) < count_parameters(build_model("emgse")) - 500_000  # no 5425-wide layer


def test_prior_model_blends_its_mask_with_the_emg_prior():
    model = PriorFusionSE(emg_dims=20, context=15).eval()
    noisy, emg = torch.rand(1, 20, 257) * 4, torch.randn(1, 50, 20)
    with torch.no_grad():
        model.out_blend.weight.zero_()
        model.out_blend.bias.fill_(50.0)  # blend -> 1: the mask on the microphone only
        masked = model(noisy, emg)
        assert torch.all(masked <= noisy + 1e-5)
        model.out_blend.bias.fill_(-50.0)  # blend -> 0: the prior from EMG only
        from_emg = model(noisy, emg)
        torch.testing.assert_close(from_emg, model(torch.zeros_like(noisy), emg), atol=1e-4, rtol=0)  # ... the microphone unused
        model.prior_out.bias.fill_(3.0)
        assert torch.any(model(noisy, emg) > noisy)  # the prior is not bounded by the noisy magnitude
        assert not torch.allclose(from_emg, model(noisy, torch.randn(1, 50, 20)))


def test_prior_model_auxiliary_loss_and_audio_dropout():
    model = PriorFusionSE(emg_dims=20, context=15, modality_dropout=0.0, channel_dropout=0.0, audio_dropout=1.0, prior_weight=0.5)
    noisy, emg, clean = torch.rand(2, 30, 257) * 3, torch.randn(2, 60, 20), torch.rand(2, 30, 257)
    mask = torch.ones(2, 30)
    assert auxiliary_loss(model, clean, mask) == 0  # nothing before a training forward
    model.train()
    torch.manual_seed(0)
    a = model(noisy, emg)
    aux = auxiliary_loss(model, clean, mask)
    torch.testing.assert_close(aux, 0.5 * (model.prior - clean).abs().mean())
    aux.backward()
    assert model.prior_out.weight.grad.abs().sum() > 0 and model.out_mask.weight.grad is None  # the prior's own term
    other = torch.rand(2, 30, 257)
    torch.manual_seed(0)
    torch.testing.assert_close(a, model(other, emg))  # audio dropout 1: the microphone is silenced
    model.eval()
    model(noisy, emg)
    assert model.auxiliary() == [] and auxiliary_loss(model, clean, mask) == 0  # evaluation: no auxiliary term


def test_speech_share_is_the_clean_part_of_the_noisy_band_energy():
    clean = torch.rand(1, 6, 257) * 2
    noise = torch.rand(1, 6, 257) * 2
    noisy = torch.log1p(torch.sqrt(torch.expm1(clean) ** 2 + torch.expm1(noise) ** 2))  # powers add
    share = speech_share(clean, noisy)
    expected = band_energies(clean) / (band_energies(clean) + band_energies(noise))
    torch.testing.assert_close(share, expected)
    assert share.shape == (1, 6, 9) and torch.all((share > 0) & (share < 1))
    torch.testing.assert_close(speech_share(noisy, noisy), torch.ones(1, 6, 9))  # all speech
    torch.testing.assert_close(speech_share(clean * 0, noisy), torch.zeros(1, 6, 9))  # all noise
    silent = torch.zeros(1, 6, 257)
    assert torch.all(speech_share(silent, silent) == 0)  # silent input: 0, not NaN
    torch.testing.assert_close(speech_share(clean + 1, noisy), torch.ones(1, 6, 9))  # clipped to 1


def test_snr_gate_opens_the_emg_term_only_where_the_microphone_holds_noise():
    model = SnrGatedSE(emg_dims=20, context=15).eval()
    noisy, emg = torch.rand(1, 20, 257) * 4, torch.randn(1, 50, 20)
    with torch.no_grad():
        model.share_out.weight.zero_()
        model.share_out.bias.fill_(50.0)  # estimated speech share 1: a clean microphone
        torch.testing.assert_close(model(noisy, emg), model(noisy, torch.randn(1, 50, 20)))  # the EMG term is shut
        assert torch.all(model(noisy, emg) <= noisy + 1e-5)  # still a bounded mask
        model.share_out.bias.fill_(-50.0)  # speech share 0: all noise, the EMG term fully open
        assert not torch.allclose(model(noisy, emg), model(noisy, torch.randn(1, 50, 20)))
    with pytest.raises(ValueError, match="needs EMG"):
        SnrGatedSE(emg_dims=0)


def test_snr_gate_auxiliary_loss_is_the_share_estimate_l1():
    model = SnrGatedSE(emg_dims=20, context=15, modality_dropout=0.0, channel_dropout=0.0, share_weight=0.5)
    noisy, emg, clean = torch.rand(2, 30, 257) * 3, torch.randn(2, 60, 20), torch.rand(2, 30, 257)
    mask = torch.ones(2, 30)
    mask[1, 20:] = 0  # padded frames do not count
    assert auxiliary_loss(model, clean, mask) == 0  # nothing before a training forward
    model.train()
    model(noisy, emg)
    share = model.auxiliary()[0][1]
    error = (share - speech_share(clean, noisy)).abs()
    aux = auxiliary_loss(model, clean, mask)
    torch.testing.assert_close(aux, 0.5 * torch.cat([error[0], error[1, :20]]).mean())
    aux.backward()
    assert model.share_out.weight.grad.abs().sum() > 0 and model.out.weight.grad is None  # the estimator's own term
    model.eval()
    model(noisy, emg)
    assert model.auxiliary() == [] and auxiliary_loss(model, clean, mask) == 0
