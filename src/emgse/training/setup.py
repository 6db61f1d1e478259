"""The one way into training from outside Python: a ``--config`` YAML file (sections ``train``,
``emg``, ``audio``, ``sampler``) plus command-line flags -> checked configurations -> a run on
fixed mixtures or on mixtures drawn on the fly. A flag given wins over the file; a setting in
neither takes the configuration's default (level normalization on, the model's EMG
normalization). ``emgse train`` declares its settings' options with :func:`add_train_options`
(generated from the configurations' fields), reads them back with :func:`train_settings_from` and
calls :func:`run_training`."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
from pathlib import Path

from emgse.config import AudioConfig, EmgConfig, from_dict, load_yaml_sections
from emgse.errors import EmgseError
from emgse.training.config import (
    TrainConfig,
    audio_only_share,
    check_normalization,
    default_normalization,
)

SECTIONS = ("train", "emg", "audio", "sampler")
SECTIONS_TEXT = ", ".join(f"'{name}'" for name in SECTIONS[:-1]) + f" and '{SECTIONS[-1]}'"  # for --help
# the TrainConfig settings of emgse train's options after --model and the EMG ones, in --help order
TRAIN_OPTIONS = ("max_epochs", "patience", "batch_size", "lr", "seed", "num_workers", "device", "max_minutes", "audio_only_share",
                 "emg_gain_jitter", "init_from", "loss", "suppression_weight", "wave_loss", "wave_weight", "lr_schedule", "precision")


def check_device(spec: str) -> None:
    """``--device`` (or the config's ``device``): auto, or a device torch knows (cpu, cuda, cuda:N, ...)."""
    import torch

    if spec != "auto":
        try:
            torch.device(spec)
        except (RuntimeError, TypeError, ValueError):
            raise EmgseError(f"--device {spec!r}: use auto, cpu, cuda or cuda:N") from None


@dataclasses.dataclass(frozen=True)
class Settings:
    """The checked configurations of one run, and the file's ``sampler`` section (on-the-fly runs)."""

    train: TrainConfig
    emg: EmgConfig
    audio: AudioConfig
    sampler_section: dict
    config_path: Path | None = None


def settings(config_path: Path | None, train_flags: dict, emg_flags: dict, level_norm: bool | None) -> Settings:
    """``config_path``'s sections with the flags given (None: not given) on top, checked.

    ``train_flags``: :class:`TrainConfig` fields; ``emg_flags``: ``channels``, ``context``,
    ``normalization``; ``level_norm``: input level normalization on/off (None: the file's
    ``audio.level_rms`` when it sets one, else on)."""
    from emgse.features.level import LEVEL_RMS, with_level
    from emgse.options import check_settings, setting_rules

    sections = load_yaml_sections(config_path, SECTIONS) if config_path else {n: {} for n in SECTIONS}
    where = str(config_path) if config_path else None
    try:
        train = dataclasses.replace(from_dict(TrainConfig, sections["train"]), **{k: v for k, v in train_flags.items() if v is not None})
    except ValueError as e:  # TrainConfig's checks (e.g. --wave-weight without --wave-loss)
        raise EmgseError(f"training settings: {e}") from None
    check_settings(train, setting_rules(TrainConfig), where or "training settings")
    check_device(train.device)
    normalization = emg_flags.get("normalization") or sections["emg"].get("normalization") or default_normalization(train.model)
    emg = dataclasses.replace(from_dict(EmgConfig, sections["emg"]),
                              **{k: v for k, v in {**emg_flags, "normalization": normalization}.items() if v is not None})
    check_settings(emg, {"context": ("context", int)}, where or "EMG settings")
    check_normalization(train.model, emg.normalization)  # before building any features
    if train.emg_gain_jitter < 0 or (train.emg_gain_jitter and emg.normalization == "minmax"):
        raise EmgseError(f"--emg-gain-jitter {train.emg_gain_jitter:g}: must be >= 0, and needs --normalization zscore or none "
                         "(per-utterance min-max removes the gains)")
    audio_only_share(train.model, train.audio_only_share)
    audio = from_dict(AudioConfig, sections["audio"])  # the file's audio section as written
    if level_norm is not None or "level_rms" not in sections["audio"]:
        audio = with_level(audio, level_rms=None if level_norm is False else LEVEL_RMS)
    return Settings(train, emg, audio, sections["sampler"], config_path)


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``emgse train`` that set its configurations: ``--config`` and one option per
    :class:`SamplerConfig`, :class:`EmgConfig` and :class:`TrainConfig` setting (generated from the
    fields, :func:`emgse.options.add_config_flags`), and ``--level-norm``. Read back by :func:`train_settings_from`."""
    from emgse.options import add_config_flags
    from emgse.sampler import SamplerConfig

    parser.add_argument("--config", type=Path, default=None, help=f"YAML with {SECTIONS_TEXT} sections")
    add_config_flags(parser, SamplerConfig, prefix="on the fly: ")
    add_config_flags(parser, TrainConfig, ("model",))
    add_config_flags(parser, EmgConfig, ("channels", "context", "normalization"))
    add_config_flags(parser, TrainConfig, TRAIN_OPTIONS)
    parser.add_argument("--level-norm", action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                        help="input level normalization: each frame divided by the running RMS of the input (2 s), "
                             "undone on the output (default: on, unless --config's audio section sets level_rms; the paper: "
                             "--no-level-norm)")


def train_settings_from(args: argparse.Namespace) -> tuple[Settings, dict]:
    """The run's :class:`Settings` from the options of :func:`add_train_options` (``--config``
    with the options given on top), and the :class:`SamplerConfig` options given (on top of the
    file's ``sampler`` section, for :func:`run_training`)."""
    from emgse.options import config_flags
    from emgse.sampler import SamplerConfig

    s = settings(args.config, config_flags(args, TrainConfig), config_flags(args, EmgConfig), getattr(args, "level_norm", None))
    return s, config_flags(args, SamplerConfig)


def run_training(out: Path, s: Settings, *, mixtures: Path | None = None, audio_only_mix: Path | None = None, data: Path | None = None,
                 speech: list[Path] | None = None, noise: list[str] | None = None, val_noise: list[str] | None = None,
                 val_share: float = 0.05, sampler_flags: dict | None = None, resume: bool = False, progress: bool = True) -> dict:
    """Train into ``out`` under :func:`settings`' configurations: on fixed ``mixtures`` (feature
    stores, :func:`emgse.training.stores.train`) or on the fly from ``data``/``speech`` with
    ``noise`` (:func:`emgse.training.sampled.train_from_sources`, the file's ``sampler`` section
    with ``sampler_flags`` on top). Inputs and the output are checked before any work; returns the
    run's summary."""
    from emgse.checkpoint import read_checkpoint
    from emgse.files import check_output, hold_folder

    if s.train.init_from is not None:  # before any features are built
        read_checkpoint(s.train.init_from)
    inputs = [Path(x) for x in (mixtures, audio_only_mix, s.train.init_from, s.config_path) if x is not None]
    check_output(out, inputs=inputs, force=True, folder=True)  # a run folder grows; training itself refuses an old run
    main = int(os.environ.get("RANK", "0")) == 0  # under torchrun, the main process holds it for all
    with hold_folder(out) if main else contextlib.nullcontext():  # one run per run folder, before any features are built
        return _train(out, s, mixtures=mixtures, audio_only_mix=audio_only_mix, data=data, speech=speech, noise=noise,
                      val_noise=val_noise, val_share=val_share, sampler_flags=sampler_flags, resume=resume, progress=progress)


def _train(out: Path, s: Settings, *, mixtures: Path | None, audio_only_mix: Path | None, data: Path | None,
           speech: list[Path] | None, noise: list[str] | None, val_noise: list[str] | None, val_share: float,
           sampler_flags: dict | None, resume: bool, progress: bool) -> dict:
    on_the_fly = data is not None or speech is not None
    if on_the_fly == (mixtures is not None):
        raise EmgseError("give either --mixtures (fixed mixtures) or --data/--speech with --noise (mixed on the fly)")
    if on_the_fly:
        from emgse.sampler import SamplerConfig
        from emgse.training.sampled import train_from_sources

        if not noise:
            raise EmgseError("training on the fly needs --noise (noise folders, files or generated names such as white babble)")
        if audio_only_mix is not None:
            raise EmgseError("--audio-only-mix is for --mixtures; on the fly, give the audio-only speech folders to --speech")
        try:
            sampler = dataclasses.replace(from_dict(SamplerConfig, s.sampler_section),
                                          **{k: v for k, v in (sampler_flags or {}).items() if v is not None})
        except ValueError as e:
            raise EmgseError(f"mixing settings: {e}") from None
        return train_from_sources(out, s.train, noise=noise, data=data, speech=speech, val_noise=val_noise, val_share=val_share,
                                  sampler_config=sampler, audio_config=s.audio, emg_config=s.emg, resume=resume, progress=progress)
    if noise or s.sampler_section:
        raise EmgseError("--noise and the mixing settings are for training on the fly (--data/--speech), not --mixtures")
    from emgse.training.stores import store_for, train

    train_store = store_for(mixtures, "train", s.emg, audio_config=s.audio, progress=progress)
    val_store = store_for(mixtures, "val", s.emg, audio_config=s.audio, progress=progress)
    extra = store_for(audio_only_mix, "train", s.emg, audio_config=s.audio, progress=progress) if audio_only_mix is not None else None
    return train(train_store, val_store, out, s.train, resume=resume, progress=progress, context=s.emg.context, audio_only_store=extra)
