"""Options generated from the configuration dataclasses (emgse.options.setting / add_config_flags):
every default lives once, in its field, and `emgse train --help` prints it."""

import argparse
import dataclasses
import re

import pytest

from emgse.cli import build_parser
from emgse.config import AudioConfig, EmgConfig, from_dict, load_config, save_config, to_dict
from emgse.errors import EmgseError
from emgse.features.level import with_level
from emgse.options import add_config_flags, config_flags, flag_of, option_fields, setting
from emgse.sampler import SamplerConfig
from emgse.training.config import TrainConfig
from emgse.training.loop import check_resume
from emgse.training.setup import SECTIONS, train_settings_from

CONFIGS = (SamplerConfig, TrainConfig, EmgConfig)  # the configurations behind emgse train's options


def _train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def _printed(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The help of one option as ``--help`` prints it (the command's formatter), on one line."""
    formatter = parser.formatter_class(prog=parser.prog)
    formatter.add_argument(action)
    return " ".join(formatter.format_help().split())


def _read_back(text: str, default: object) -> object:
    """A printed default as the field's type (``-5 20`` -> ``(-5.0, 20.0)``, ``none`` -> None)."""
    if text == "none":
        return None
    if isinstance(default, tuple):
        return tuple(type(default[0])(x) for x in text.split())
    return type(default)(text)


CASES = [(cls, f) for cls in CONFIGS for f in option_fields(cls)]


@pytest.mark.parametrize(("cls", "field"), CASES, ids=[f"{c.__name__}.{f.name}" for c, f in CASES])
def test_every_train_option_prints_its_settings_default(cls, field):
    parser = _train_parser()
    action = next((a for a in parser._actions if flag_of(field) in a.option_strings), None)
    assert action is not None, f"{cls.__name__}.{field.name} has no emgse train option"
    text = _printed(parser, action)
    assert text.count("(default:") == 1, text  # no second "(default: None)" from the formatter
    printed = re.search(r"\(default: ([^()]*)\)$", text)
    assert printed and _read_back(printed[1], field.default) == field.default, text
    if field.default is not None:  # the printed default, given back, is the field's default
        args = parser.parse_args(["--out", "o", flag_of(field), *printed[1].split()])
        assert config_flags(args, cls) == {field.name: field.default}


def test_no_options_give_the_configurations_defaults():
    args = _train_parser().parse_args(["--out", "o", "--mixtures", "m"])
    assert all(config_flags(args, cls) == {} for cls in CONFIGS)
    s, sampler = train_settings_from(args)
    assert s.train == TrainConfig() and s.emg == EmgConfig() and sampler == {}
    assert s.audio == with_level(AudioConfig())  # level normalization on unless told
    assert dataclasses.replace(from_dict(SamplerConfig, s.sampler_section), **sampler) == SamplerConfig()


def test_a_config_file_setting_is_overridden_only_by_an_option_given(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("train: {lr: 0.001, max_epochs: 3}\nemg: {context: 4}\nsampler: {snr_range_db: [0, 5]}\n")
    parser = _train_parser()
    s, sampler = train_settings_from(parser.parse_args(["--out", "o", "--config", str(config)]))
    assert (s.train.lr, s.train.max_epochs, s.emg.context, sampler) == (0.001, 3, 4, {})
    assert from_dict(SamplerConfig, s.sampler_section).snr_range_db == (0.0, 5.0)
    s, sampler = train_settings_from(parser.parse_args(["--out", "o", "--config", str(config), "--lr", "0.01", "--context", "2",
                                                        "--snr", "1", "2"]))
    assert (s.train.lr, s.train.max_epochs, s.emg.context, sampler) == (0.01, 3, 2, {"snr_range_db": (1.0, 2.0)})


def test_the_config_help_names_every_section_the_loader_reads():
    parser = _train_parser()
    config = next(a for a in parser._actions if "--config" in a.option_strings)
    description = " ".join(parser.description.split())
    for section in SECTIONS:
        assert f"'{section}'" in config.help and f"'{section}'" in description


def test_a_saved_sampler_config_with_the_old_snr_key_still_loads(tmp_path):
    assert from_dict(SamplerConfig, {"snr_db": [-1, 2]}) == SamplerConfig(snr_range_db=(-1.0, 2.0))
    (tmp_path / "sampler_config.yaml").write_text("crop_s: 1.0\nsnr_db: [-3.0, 7.0]\n")
    assert load_config(SamplerConfig, tmp_path / "sampler_config.yaml") == SamplerConfig(crop_s=1.0, snr_range_db=(-3.0, 7.0))
    with pytest.raises(EmgseError, match="'snr_db' is the old name of 'snr_range_db'"):
        from_dict(SamplerConfig, {"snr_db": [0, 1], "snr_range_db": [0, 1]})
    save_config(SamplerConfig(), tmp_path / "new.yaml")
    assert "snr_range_db" in (tmp_path / "new.yaml").read_text()
    # a killed run's last.pt from before the rename resumes with the same settings, and not with others
    old = {k if k != "snr_range_db" else "snr_db": v for k, v in to_dict(SamplerConfig()).items()}
    expected = {"sampler_config": to_dict(SamplerConfig()), "train_config": to_dict(TrainConfig())}
    check_resume(tmp_path / "last.pt", {"sampler_config": old, "train_config": to_dict(TrainConfig())}, expected)
    with pytest.raises(EmgseError, match="snr_range_db"):
        check_resume(tmp_path / "last.pt", {"sampler_config": {**old, "snr_db": [0.0, 1.0]}}, expected)


@dataclasses.dataclass(frozen=True)
class _Toy:
    rate: float = setting(2.5, "a rate", flag="--hz")
    sizes: tuple[int, ...] = setting((1, 2), "sizes")
    loud: bool = setting(True, "loudness")
    mode: str = setting("a", "mode", choices=("a", "b"))
    hidden: int = 3  # no option


def test_the_generator_reads_types_flags_and_choices_from_the_fields():
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_config_flags(parser, _Toy)
    assert config_flags(parser.parse_args([]), _Toy) == {}
    args = parser.parse_args(["--hz", "4", "--sizes", "5", "6", "7", "--no-loud", "--mode", "b"])
    assert config_flags(args, _Toy) == {"rate": 4.0, "sizes": (5, 6, 7), "loud": False, "mode": "b"}
    text = " ".join(parser.format_help().split())
    assert "a rate (default: 2.5)" in text and "sizes (default: 1 2)" in text and "loudness (default: on)" in text
    assert "--hidden" not in text and "None" not in text
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "c"])
    with pytest.raises(KeyError, match="hidden"):
        add_config_flags(argparse.ArgumentParser(), _Toy, ("hidden",))
