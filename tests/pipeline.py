"""A tiny end-to-end setup (prepared corpus -> mixtures -> feature stores) shared by tests."""

from __future__ import annotations

from pathlib import Path

from emgse.config import AudioConfig, EmgConfig, MixConfig
from emgse.mixing import NoiseBank, mix_corpus
from emgse.training import store_for
from tests.conftest import write_prepared


def tiny_pipeline(root: Path, emg_config: EmgConfig = EmgConfig(), audio_config: AudioConfig = AudioConfig()) -> dict[str, Path]:
    prep = write_prepared(root / "prep", {"train": 4, "val": 2, "test": 2}, seconds=1.0, channels=40)
    bank = NoiseBank.from_sources(["white", "pink"])
    mix_corpus(prep, ["train", "val"], bank, MixConfig(snrs_db=(-5.0, 5.0), per_utterance=1, seed=0), root / "mix", progress=False)
    mix_corpus(prep, ["test"], bank, MixConfig(snrs_db=(0.0,), seed=1), root / "mix-test", progress=False)
    return {
        "prep": prep,
        "mix": root / "mix",
        "mix_test": root / "mix-test",
        "train": store_for(root / "mix", "train", emg_config, audio_config=audio_config, progress=False),
        "val": store_for(root / "mix", "val", emg_config, audio_config=audio_config, progress=False),
    }


def write_speech_folder(root: Path, seed: int = 0) -> Path:
    """Audio-only speech in mixed layouts and rates: MFA speaker folders (48 kHz stereo WAV with a
    transcript, 22.05 kHz FLAC one folder deeper) and a flat 16 kHz WAV. Speech-like noise bursts."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)

    def speech(seconds: float, fs: int, channels: int = 1) -> np.ndarray:
        n = int(seconds * fs)
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * np.arange(n) / fs)
        return (0.1 * envelope[:, None] * rng.standard_normal((n, channels))).squeeze()

    (root / "spk1").mkdir(parents=True)
    (root / "spk2" / "session").mkdir(parents=True)
    sf.write(root / "spk1" / "a.wav", speech(0.9, 48000, 2), 48000, subtype="PCM_16")
    (root / "spk1" / "a.txt").write_text("a transcript, ignored\n")
    sf.write(root / "spk2" / "session" / "b.flac", speech(1.2, 22050), 22050)
    sf.write(root / "c.wav", speech(0.7, 16000), 16000, subtype="FLOAT")
    return root


def tiny_speech_only(root: Path, emg_config: EmgConfig = EmgConfig(), audio_config: AudioConfig = AudioConfig()) -> dict[str, Path]:
    """Audio-only speech mixed for training (``emgse mix --speech-only``) and its feature store."""
    from emgse.mixing import mix_speech_only

    speech = write_speech_folder(root / "speech")
    bank = NoiseBank.from_sources(["white", "pink"])
    mix_speech_only([speech], bank, MixConfig(snrs_db=(-5.0, 5.0), per_utterance=1, seed=0), root / "mix-speech", progress=False)
    return {
        "speech": speech,
        "mix": root / "mix-speech",
        "train": store_for(root / "mix-speech", "train", emg_config, audio_config=audio_config, progress=False),
    }
