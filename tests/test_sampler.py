"""On-the-fly mixtures: exact SNR and level, frame alignment with the offline front-end, EMG crops,
determinism, exact resume, every model, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from emgse.cli import main
from emgse.config import AudioConfig, EmgConfig
from emgse.corpora.prepared import CorpusInfo, list_utterances, read_utterance
from emgse.data import utterance_emg
from emgse.errors import EmgseError
from emgse.features.audio import frame_count, log_magnitude
from emgse.features.emg import ZScore
from emgse.features.level import levelled_log_magnitude, with_level
from emgse.mixing import NoiseBank
from emgse.models import MODELS
from emgse.models.fusion import MASK_FAMILY
from emgse.sampler import (
    MixtureSampler,
    NoisePool,
    SamplerConfig,
    SpeechPool,
    corpus_split,
    speech_folders,
)
from emgse.training import TrainConfig, train_sampled
from tests.conftest import write_prepared
from tests.pipeline import write_speech_folder


def speech_like(n: int, rng: np.random.Generator) -> np.ndarray:
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * np.arange(n) / 16000)
    return (0.1 * envelope * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture
def pools():
    rng = np.random.default_rng(0)
    audio = [speech_like(n, rng) for n in (40000, 9000, 52000)]
    return audio, SpeechPool.build(audio, ["a", "b", "c"]), NoisePool.from_bank(NoiseBank.from_sources(["white", "babble"]))


def test_snr_and_level_are_exact(pools):
    _, speech, noise = pools
    sampler = MixtureSampler(speech, noise, SamplerConfig(snr_range_db=(-10.0, 10.0), level_dbfs=(-40.0, -20.0)), with_level(), seed=3)
    choice = sampler.draw(24, torch.Generator().manual_seed(1))
    batch = sampler.mix(choice)
    clean, noisy = batch["clean_wave"].double(), batch["noisy_wave"].double()
    snr = 10 * torch.log10(clean.square().sum(-1) / (noisy - clean).square().sum(-1))
    assert torch.allclose(snr, choice["snr_db"], atol=1e-4)
    level = 20 * torch.log10(noisy.square().mean(-1).sqrt())
    assert torch.allclose(level, choice["level_dbfs"], atol=1e-4)
    assert float(choice["snr_db"].min()) >= -10 and float(choice["snr_db"].max()) <= 10


def test_crop_frames_are_the_whole_recordings_frames(pools):
    """The clean target is frames k..k+T-1 of the whole utterance's front-end (no level rule), and
    with the level rule the noisy input is the offline front-end of the crop as a recording."""
    audio, speech, noise = pools
    plain = AudioConfig()
    sampler = MixtureSampler(speech, noise, SamplerConfig(crop_s=0.5), plain, seed=0)
    choice = sampler.draw(16, torch.Generator().manual_seed(2))
    batch = sampler.mix(choice)
    T = sampler.frames
    for i in range(16):
        u, k = int(choice["utt"][i]), int(choice["frame"][i])
        whole = torch.expm1(log_magnitude(torch.from_numpy(audio[u]), plain)[0])
        n = int(batch["mask"][i].sum())
        assert n == min(T, frame_count(len(audio[u])) - k)
        gain = float(batch["clean_wave"][i].abs().max() / torch.from_numpy(audio[u]).abs()[max(0, k * 128 - 384):(k + T) * 128].max())
        got = torch.expm1(batch["clean"][i, :n])
        assert torch.allclose(got, gain * whole[k : k + n], rtol=1e-3, atol=1e-5 * float(whole.max()))
    levelled = MixtureSampler(speech, noise, SamplerConfig(crop_s=0.5), with_level(), seed=0)
    batch = levelled.mix(choice)
    for i in range(4):
        offline, _, _ = levelled_log_magnitude(batch["noisy_wave"][i], with_level())
        n = int(batch["mask"][i].sum())
        assert torch.allclose(batch["noisy"][i, :n], offline[3 : 3 + n], atol=2e-5)  # frame i of the crop ends with hop i + 3


def test_emg_crops_with_context_match_the_utterance_features(tmp_path):
    prep = write_prepared(tmp_path / "prep", {"train": 3, "val": 1}, seconds=1.0, channels=40)
    emg_config = EmgConfig(normalization="zscore")
    audio, ids, feats, meta = corpus_split(prep, "train", emg_config)
    info = CorpusInfo.read(prep)
    x, emg = read_utterance(prep, "train", list_utterances(prep, "train")[0], info)
    expected = utterance_emg(emg, info.emg_fs, frame_count(len(x)), list(meta["channels"]), emg_config)
    assert np.array_equal(feats[0], expected)
    pool = SpeechPool.build(audio, ids, emg=feats, zscore="fit", emg_meta=meta)
    z = ZScore.fit(feats)
    sampler = MixtureSampler(pool, NoisePool.from_bank(NoiseBank.from_sources(["white"])), SamplerConfig(crop_s=0.4), context=5, seed=1)
    choice = sampler.draw(8, torch.Generator().manual_seed(0))
    batch = sampler.mix(choice)
    assert batch["emg"].shape == (8, sampler.frames + 10, pool.emg_dims)
    for i in range(8):
        u, k = int(choice["utt"][i]), int(choice["frame"][i])
        padded = np.pad(z(feats[u]), ((5, sampler.frames + 5), (0, 0)))  # zeros beyond the utterance
        assert np.allclose(batch["emg"][i].numpy(), padded[k : k + sampler.frames + 10], atol=1e-5)


def test_same_seed_same_batches_other_rank_other_stream(pools):
    _, speech, noise = pools
    a = MixtureSampler(speech, noise, SamplerConfig(reverb_prob=0.5), with_level(), seed=7)
    b = MixtureSampler(speech, noise, SamplerConfig(reverb_prob=0.5), with_level(), seed=7)
    c = MixtureSampler(speech, noise, SamplerConfig(reverb_prob=0.5), with_level(), seed=7, rank=1)
    x, y, z = a.batch(5, 4), b.batch(5, 4), c.batch(5, 4)
    assert all(torch.equal(x[k], y[k]) for k in x)
    assert not torch.equal(x["noisy"], z["noisy"])
    assert not torch.equal(x["noisy"], a.batch(6, 4)["noisy"])


def test_reverberated_speech_keeps_a_dry_target(pools):
    _, speech, noise = pools
    choice = MixtureSampler(speech, noise, SamplerConfig(), with_level(), seed=0).draw(6, torch.Generator().manual_seed(0))
    wet = MixtureSampler(speech, noise, SamplerConfig(reverb_prob=1.0), with_level(), seed=0)
    choice["room"] = torch.arange(6)
    dry = MixtureSampler(speech, noise, SamplerConfig(), with_level(), seed=0).mix({**choice, "room": torch.full((6,), -1)})
    out = wet.mix(choice)
    assert not torch.allclose(out["noisy_wave"], dry["noisy_wave"])
    ratio = out["clean_wave"].norm(dim=-1) / dry["clean_wave"].norm(dim=-1)  # the same dry speech, at another level
    assert torch.allclose(out["clean_wave"], dry["clean_wave"] * ratio[:, None], atol=1e-6)


def test_audio_only_share_weights_the_draws(tmp_path, pools):
    audio, _, noise = pools
    pool = SpeechPool.build(audio, ["a", "b", "c"], emg=[np.ones((frame_count(len(audio[0])), 5), np.float32), None, None])
    sampler = MixtureSampler(pool, noise, SamplerConfig(crop_s=0.3), seed=0, absent_share=0.25)
    utt = sampler.draw(4000, torch.Generator().manual_seed(0))["utt"]
    assert abs(float((utt != 0).float().mean()) - 0.25) < 0.03


def _train(tmp_path, name, epochs, resume=False, model="audio-mask", **kw):
    rng = np.random.default_rng(1)
    audio = [speech_like(n, rng) for n in (9000, 12000, 10000)]
    speech = SpeechPool.build(audio, ["a", "b", "c"])
    val = SpeechPool.build(audio[:1], ["a"])
    noise = NoisePool.from_bank(NoiseBank.from_sources(["white"]))
    config = TrainConfig(model=model, batch_size=2, max_epochs=epochs, patience=10, lr=1e-3, device="cpu", **kw)
    return train_sampled(speech, val, noise, tmp_path / name, config, sampler_config=SamplerConfig(crop_s=0.25, steps_per_epoch=2, val_crops=3),
                         resume=resume, progress=False, model_args={"hidden": 16} if model == "audio-mask" else None)


def test_resume_continues_exactly(tmp_path):
    _train(tmp_path, "straight", 2)
    _train(tmp_path, "resumed", 1)
    _train(tmp_path, "resumed", 2, resume=True)
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "straight" / "sampler_config.yaml").is_file()
    with pytest.raises(EmgseError, match="mixing settings"):
        rng = np.random.default_rng(1)
        audio = [speech_like(n, rng) for n in (9000, 12000)]
        train_sampled(SpeechPool.build(audio, ["a", "b"]), SpeechPool.build(audio, ["a", "b"]),
                      NoisePool.from_bank(NoiseBank.from_sources(["white"])), tmp_path / "straight",
                      TrainConfig(model="audio-mask", batch_size=2, max_epochs=3, device="cpu"),
                      sampler_config=SamplerConfig(crop_s=0.5, steps_per_epoch=2, val_crops=3), resume=True, progress=False,
                      model_args={"hidden": 16})


def test_bf16_autocast_trains(tmp_path):
    summary = _train(tmp_path, "bf16", 1, model="causal-audio", precision="bf16")
    assert np.isfinite(summary["best_val_loss"])


@pytest.mark.parametrize("model", MASK_FAMILY)
def test_bf16_is_refused_for_the_mask_models_in_one_line(tmp_path, model, capsys):
    """bf16 left audio-mask's loss flat on a GPU (docs/training.md): refused before any work."""
    with pytest.raises(ValueError, match=f"bf16 is refused for {model}"):
        TrainConfig(model=model, precision="bf16")
    TrainConfig(model=model, precision="fp16")  # only bf16 was seen to fail
    assert main(["train", "--data", str(tmp_path / "absent"), "--noise", "white", "--model", model, "--precision", "bf16",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"bf16 is refused for {model}" in err and "--precision fp32" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_trains_on_the_fly(tmp_path, model):
    """Every registered model trains on mixtures drawn on the fly (EMG models from a prepared corpus)."""
    prep = write_prepared(tmp_path / "prep", {"train": 2, "val": 1}, seconds=0.6, channels=40)
    norm = "zscore" if "causal" in model else "minmax"
    rc = main(["train", "--data", str(prep), "--noise", "white", "--model", model, "--out", str(tmp_path / "run"), "--epochs", "1",
               "--steps-per-epoch", "1", "--batch-size", "2", "--crop", "0.3", "--val-crops", "2", "--normalization", norm, "--quiet"])
    assert rc == 0
    ckpt = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert ckpt["model_name"] == model and ckpt["sampler_config"]["crop_s"] == 0.3


def test_cli_speech_folders_train_and_enhance(tmp_path, capsys):
    speech = write_speech_folder(tmp_path / "speech")
    rc = main(["train", "--speech", str(speech), "--noise", "white", "pink", "--model", "audio-mask", "--out", str(tmp_path / "run"),
               "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--crop", "0.5", "--val-crops", "2", "--val-share", "0.3",
               "--quiet"])
    assert rc == 0
    assert "-> " in capsys.readouterr().out
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert log[0].endswith("frames_per_s") and float(log[1].split(",")[-1]) > 0


def test_speech_folders_hold_out_validation(tmp_path):
    speech = write_speech_folder(tmp_path / "speech")
    (train_audio, train_ids), (val_audio, val_ids) = speech_folders([speech], val_share=0.3, seed=0)
    assert len(val_ids) == 1 and len(train_ids) == 2 and not set(val_ids) & set(train_ids)
    assert all(a.dtype == np.float32 for a in train_audio + val_audio)


def _one_line_error(capsys, argv) -> str:
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_bad_input_is_one_line(tmp_path, capsys):
    speech = write_speech_folder(tmp_path / "speech")
    base = ["train", "--model", "audio-mask", "--out", str(tmp_path / "run"), "--epochs", "1", "--quiet"]
    (tmp_path / "empty").mkdir()
    assert "no .wav or .flac" in _one_line_error(capsys, [*base, "--speech", str(speech), "--noise", str(tmp_path / "empty")])
    assert "shorter than the" in _one_line_error(capsys, [*base, "--speech", str(speech), "--noise", "white", "--crop", "5"])
    low = tmp_path / "low"
    low.mkdir()
    sf.write(low / "x.wav", np.zeros(8000) + 0.1, 8000)
    assert "below 16000 Hz" in _one_line_error(capsys, [*base, "--speech", str(low), "--noise", "white"])
    assert "needs --noise" in _one_line_error(capsys, [*base, "--speech", str(speech)])
    assert "either --mixtures" in _one_line_error(capsys, base)
    assert "snr db range" in _one_line_error(capsys, [*base, "--speech", str(speech), "--noise", "white", "--snr", "5", "-5"])
    assert not (tmp_path / "run").exists()
    prep = write_prepared(tmp_path / "prep", {"train": 1, "val": 1}, seconds=0.6, channels=40)
    assert "uses EMG" in _one_line_error(capsys, [*base[:2], "emgse-mask", *base[3:], "--speech", str(speech), "--noise", "white"])
    del prep
