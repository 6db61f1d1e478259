from emgse.scoring import FUSION_PAIRS
from emgse.scoring.run_names import RUN_SUFFIXES, run_suffix, split_loss_suffix, split_run_name


def test_run_names_carry_both_losses():
    assert run_suffix() == "" and run_suffix("compressed") == "-comp" and run_suffix("compressed", "sisdr") == "-comp-sisdr"
    assert run_suffix("l1", "mrstft") == "-mrstft" and len(set(RUN_SUFFIXES)) == 6 and RUN_SUFFIXES[0] == ""
    for name in ("emgse-mask", "emgse-tcn-chin", "emg-alone"):
        for loss, wave in (("l1", None), ("compressed", None), ("l1", "sisdr"), ("compressed", "mrstft")):
            assert split_run_name(name + run_suffix(loss, wave)) == (name, loss, wave)
            assert split_loss_suffix(name + run_suffix(loss, wave)) == (name, loss)  # a wave suffix is dropped too
    assert ("emgse-mask-comp-sisdr", "audio-mask-comp-sisdr") in FUSION_PAIRS and ("emgse-snr-mrstft", "audio-mask-mrstft") in FUSION_PAIRS
