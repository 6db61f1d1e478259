import pytest

from emgse.config import (
    AudioConfig,
    EmgConfig,
    ExperimentConfig,
    MixConfig,
    load_config,
    save_config,
)
from emgse.errors import EmgseError


def test_yaml_round_trip(tmp_path):
    cfg = ExperimentConfig(emg=EmgConfig(channels="cheek", context=7), mix=MixConfig(snrs_db=(-5.0, 5.0), per_utterance=2))
    save_config(cfg, tmp_path / "config.yaml")
    back = load_config(ExperimentConfig, tmp_path / "config.yaml")
    assert back == cfg
    assert back.audio == AudioConfig()


def test_unknown_key_is_a_clear_error(tmp_path):
    (tmp_path / "c.yaml").write_text("audio:\n  n_ftt: 256\n")
    with pytest.raises(EmgseError, match="unknown key.*n_ftt"):
        load_config(ExperimentConfig, tmp_path / "c.yaml")
