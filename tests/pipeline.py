"""A tiny end-to-end setup (prepared corpus -> mixtures -> feature stores) shared by tests."""

from __future__ import annotations

from pathlib import Path

from emgse.config import AudioConfig, EmgConfig, MixConfig
from emgse.mixing import NoiseBank, mix_corpus
from emgse.train import store_for
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
