import numpy as np
import pytest
import soundfile as sf
import torch

from emgse.cli import main
from emgse.config import AudioConfig
from emgse.errors import EmgseError
from emgse.features.audio import stft
from emgse.metrics import stoi
from emgse.mixing import read_manifest
from emgse.scoring import evaluate
from emgse.training import TrainConfig, train
from emgse.voice import (
    Voicer,
    griffin_lim,
    griffin_lim_librosa,
    voice_file,
    voice_folder,
    voice_mixtures,
)
from tests.pipeline import tiny_pipeline


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("voice")
    p = tiny_pipeline(root)
    for model, steps in (("emg-only", 8), ("emgse", 1), ("audio", 1), ("emgse-mask", 1), ("emgse-prior", 1)):
        cfg = TrainConfig(model=model, max_epochs=1, max_steps_per_epoch=steps, batch_size=4, lr=1e-3)
        train(p["train"], p["val"], root / model, cfg, progress=False)
        p[model] = root / model / "best.pt"
    return p


def speech_like(seconds: float = 2.0, fs: int = 16000, seed: int = 0) -> np.ndarray:
    """A voiced signal with speech's structure: gliding f0, two moving formants, syllables at 4 Hz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phi = 2 * np.pi * np.cumsum(f0) / fs
    k = np.arange(1, 41)[:, None]  # harmonics
    formants = (500 + 300 * np.sin(2 * np.pi * 1.3 * t), 1500 + 600 * np.sin(2 * np.pi * 0.9 * t + 1.0))
    envelope = sum(1.0 / (1.0 + ((k * f0 - f) / 120.0) ** 2) for f in formants)  # (harmonics, samples)
    x = (envelope * np.sin(k * phi)).sum(axis=0)
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    return (0.1 * x / np.abs(x).max() * syllables).astype(np.float32)


def test_griffin_lim_restores_intelligibility_and_a_consistent_spectrogram():
    config = AudioConfig()
    x = speech_like()
    mag = stft(torch.from_numpy(x), config).abs()

    def convergence(y) -> float:  # how far the output's own STFT magnitude is from the target
        return float((stft(torch.as_tensor(y), config).abs() - mag).norm() / mag.norm())

    y = griffin_lim(mag, len(x), config).numpy()
    via_librosa = griffin_lim_librosa(mag.numpy(), len(x), config)
    assert y.shape == x.shape == via_librosa.shape
    assert stoi(x, y, 16000) > 0.9 and stoi(x, y, 16000, extended=True) > 0.8
    assert stoi(x, via_librosa, 16000, extended=True) > 0.8
    # the iterations, not the magnitude alone, do it: a random phase is far from consistent
    assert convergence(y) < 0.1 < 0.4 < convergence(griffin_lim(mag, len(x), config, n_iter=0).numpy())
    # the default (fast, momentum 0.99) converges further than classic Griffin-Lim in as many iterations
    assert convergence(y) < convergence(griffin_lim(mag, len(x), config, momentum=0.0).numpy())
    assert np.array_equal(y, griffin_lim(mag, len(x), config).numpy())  # deterministic by seed
    with pytest.raises(ValueError, match="frames"):
        griffin_lim(mag[:-3], len(x), config)


def test_emg_only_voices_the_emg_duration_at_any_rate(runs):
    voicer = Voicer(runs["emg-only"], n_iter=8)
    rng = np.random.default_rng(3)
    emg = rng.standard_normal((1300, 40))  # 1.3 s at 1000 Hz; the checkpoint's rate is 2000 Hz
    y = voicer.voice(emg, emg_fs=1000.0)
    assert y.shape == (20800,) and y.dtype == np.float32
    assert np.all(np.isfinite(y)) and np.sqrt(np.mean(y**2)) > 1e-4
    # the magnitude comes from the EMG: other EMG, other speech
    assert not np.allclose(y, voicer.voice(rng.standard_normal((1300, 40)), emg_fs=1000.0))


def test_enhancer_channel_check_is_reused(runs):
    voicer = Voicer(runs["emg-only"], n_iter=2)
    emg = np.random.default_rng(4).standard_normal((2000, 40))
    emg[:, 5] = 0.0  # a fallen-off electrode
    voicer.voice(emg)
    assert voicer.last_unusable == [5]
    with pytest.raises(EmgseError, match="8 EMG channels, but the checkpoint was trained on 40"):
        voicer.voice(emg[:, :8], where="x.npy")


def test_refuses_checkpoints_that_cannot_speak_from_emg(runs):
    with pytest.raises(EmgseError, match=r"audio/best\.pt: the audio model uses no EMG"):
        Voicer(runs["audio"])
    with pytest.raises(EmgseError, match="masks the microphone's magnitude"):
        Voicer(runs["emgse-mask"])
    fusion = Voicer(runs["emgse"], n_iter=2)  # audio marked absent: runs, flagged as such
    assert fusion.uses_audio and fusion.voice(np.random.default_rng(5).standard_normal((2000, 40))).shape == (16000,)
    prior = Voicer(runs["emgse-prior"], n_iter=2)  # a mask blended with an EMG prior: speaks from the prior
    y = prior.voice(np.random.default_rng(5).standard_normal((2000, 40)))
    assert y.shape == (16000,) and np.sqrt(np.mean(y**2)) > 1e-5
    assert prior.trained_audio_absent and not fusion.trained_audio_absent  # emgse-prior saw silenced microphones


def test_folder_and_single_file(runs, tmp_path):
    written = voice_folder(runs["emg-only"], runs["prep"] / "test", tmp_path / "out", progress=False, n_iter=2)
    assert [p.name for p in written] == ["utttest00.wav", "utttest01.wav"]
    for p in written:
        y, fs = sf.read(p)
        x, _ = sf.read(runs["prep"] / "test" / p.name)
        assert fs == 16000 and len(y) == len(x)
    emg = runs["prep"] / "test" / "utttest00.emg.npy"
    with pytest.raises(EmgseError, match="already exists"):
        voice_file(runs["emg-only"], emg, written[0], n_iter=2)
    with pytest.raises(EmgseError, match="overwrite an input"):
        voice_file(runs["emg-only"], emg, emg, force=True, n_iter=2)
    with pytest.raises(EmgseError, match="no .emg.npy files"):
        voice_folder(runs["emg-only"], tmp_path / "out", tmp_path / "o2", progress=False)


def test_batch_mode_writes_outputs_evaluate_scores(runs, tmp_path):
    target = voice_mixtures(runs["emg-only"], runs["mix_test"], tmp_path / "enh", progress=False, n_iter=4)
    assert target == tmp_path / "enh" / "emg-alone"
    rows = read_manifest(runs["mix_test"])
    outputs = {}
    for r in rows:
        y, fs = sf.read(target / r["path"])
        noisy, _ = sf.read(runs["mix_test"] / r["path"])
        assert fs == 16000 and len(y) == len(noisy)
        outputs.setdefault(r["utt_id"], []).append(y)
    # the microphone is never used: every mixture of an utterance gets the same speech
    assert all(np.array_equal(ys[0], y) for ys in outputs.values() for y in ys)
    scores = evaluate(runs["mix_test"], tmp_path / "enh", None, tmp_path / "scores", jobs=1, progress=False)
    mine = [s for s in scores if s["system"] == "emg-alone"]
    assert len(mine) == len(rows) and all(np.isfinite(s["stoi"]) and np.isfinite(s["estoi"]) for s in mine)
    with pytest.raises(EmgseError, match="not empty"):
        voice_mixtures(runs["emg-only"], runs["mix_test"], tmp_path / "enh", progress=False)


def test_cli_voice(runs, tmp_path, capsys):
    emg = runs["prep"] / "test" / "utttest01.emg.npy"
    assert main(["voice", "--checkpoint", str(runs["emg-only"]), "--emg", str(emg), "--out", str(tmp_path / "v.wav"),
                 "--iterations", "4"]) == 0
    assert "16000 samples at 16000 Hz" in capsys.readouterr().out
    assert sf.info(tmp_path / "v.wav").frames == 16000
    assert main(["voice", "--checkpoint", str(runs["audio"]), "--emg", str(emg), "--out", str(tmp_path / "a.wav")]) == 2
    err = capsys.readouterr().err.strip()
    assert "uses no EMG" in err and "\n" not in err
    assert not (tmp_path / "a.wav").exists()


def test_only_the_emg_only_model_learns_speech_at_one_level(runs):
    """A model that never hears the microphone is trained on each utterance's clean speech at one RMS
    (it cannot know the recording's or the noise's level); models that hear it keep the mixture's level."""
    from emgse.checkpoint import read_checkpoint
    from emgse.features.level import LEVEL_RMS

    assert read_checkpoint(runs["emg-only"])["target_rms"] == LEVEL_RMS
    for model in ("emgse", "audio", "emgse-mask", "emgse-prior"):
        assert read_checkpoint(runs[model])["target_rms"] is None, model
