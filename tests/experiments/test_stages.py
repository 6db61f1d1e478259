"""The stages the experiments share (:mod:`emgse.experiments.stages`)."""

import json

import pytest

from emgse.errors import EmgseError


def test_a_finished_run_with_other_training_settings_is_not_reused(tmp_path):
    """A recipe or benchmark folder reuses a finished run only when it was trained as now asked
    (its train_config.yaml; a run from before the loss setting counts as l1)."""
    from emgse.config import save_config
    from emgse.experiments import System, train_system
    from emgse.training import TrainConfig

    run = tmp_path / "runs" / "audio-mask"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"parameters": 7}))
    save_config(TrainConfig(model="audio-mask", lr=1e-3, max_epochs=4, loss="compressed"), run / "train_config.yaml")
    system = System("audio-mask", "audio-mask")
    base = {"lr": 1e-3, "max_epochs": 4, "seed": 0}
    assert train_system(system, tmp_path / "absent-mixtures", tmp_path, {**base, "loss": "compressed"}, None, False)["parameters"] == 7
    with pytest.raises(EmgseError, match=r"runs/audio-mask: finished with other settings \(loss 'compressed' -> 'l1'\)"):
        train_system(system, tmp_path / "absent-mixtures", tmp_path, {**base, "loss": "l1"}, None, False)
    with pytest.raises(EmgseError, match=r"model 'audio-mask' -> 'emgse-mask'; max_epochs 4 -> 3"):
        train_system(System("audio-mask", "emgse-mask"), tmp_path / "m", tmp_path, {**base, "max_epochs": 3}, None, False)
    text = (run / "train_config.yaml").read_text()
    (run / "train_config.yaml").write_text("".join(line + "\n" for line in text.splitlines() if not line.startswith("loss:")))
    assert train_system(system, tmp_path / "m", tmp_path, {**base, "loss": "l1"}, None, False)["parameters"] == 7  # old run: l1


def test_settings_recorded_under_old_names_resume_and_still_compare(tmp_path):
    """A folder started before the SNR settings took their ``*_snrs_db`` / ``*_snr_range_db`` names,
    or before the data root was recorded, resumes with the same settings; other values are refused."""
    from emgse.experiments import record_settings

    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"protocol": "speaker-dependent", "config": {"train_snr": [-10.0, 10.0], "test_snrs": [-11.0, 4.0], "seed": 11}}))
    now = {"protocol": "speaker-dependent", "config": {"train_snr_range_db": (-10.0, 10.0), "test_snrs_db": (-11.0, 4.0), "seed": 11},
           "data_root": "/x/shared/data"}
    record_settings(path, now)  # the same settings under today's names: resumed
    assert json.loads(path.read_text())["config"]["train_snr_range_db"] == [-10.0, 10.0]  # rewritten under the new names
    path.write_text(json.dumps({"config": {"train_snrs": [0.0, 5.0], "seed": 0}, "noise_train": None}))
    with pytest.raises(EmgseError, match=r"other settings \(config\.train_snrs_db \[0\.0, 5\.0\] -> \[0\.0\]\)"):
        record_settings(path, {"config": {"train_snrs_db": (0.0,), "seed": 0}, "noise_train": None, "data_root": None})
    path.write_text(json.dumps({"config": {"seed": 0}, "data_root": "/x/shared/data"}))
    with pytest.raises(EmgseError, match=r"other settings \(data_root '/x/shared/data' -> None\)"):
        record_settings(path, {"config": {"seed": 0}, "data_root": None})  # a recorded data root is compared
