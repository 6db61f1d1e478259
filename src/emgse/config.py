"""Typed configuration, one dataclass per concern, with YAML in/out.

Every run directory gets the config it ran with (``save_config``), so results can be traced.
Model constructors take plain keyword arguments and do not depend on these classes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emgse.errors import EmgseError
from emgse.files import write_text
from emgse.options import setting
from emgse.protocol import TEST_SNRS_DB

# training losses (emgse.training.spectral_loss): the paper's L1 on log1p magnitudes, or squared error of
# power-law compressed magnitudes
LOSSES = ("l1", "compressed")


LR_SCHEDULES = ("constant", "cosine")  # emgse.training.lr_at
NORMALIZATIONS = ("minmax", "zscore", "none")  # EmgConfig.normalization
# losses on the rebuilt waveform, added to the spectral loss (emgse.training.waveform_loss): negative
# SI-SDR, or a multi-resolution STFT loss
WAVE_LOSSES = ("sisdr", "mrstft")


@dataclass(frozen=True)
class AudioConfig:
    """The paper's audio front-end: 16 kHz, 512-point Blackman STFT, 128-sample (8 ms) hop.

    ``window_periodic``: the paper's window is the *symmetric* Blackman (the authors pass
    ``scipy.signal.windows.blackman`` to ``librosa.stft``, which calls it with ``sym=True``); true
    selects the periodic ("DFT-even") one. Checkpoints saved before this option existed were
    trained with the periodic window and load with it.

    ``edge_padding``: the paper uses no centring, so the first and last 384 samples are poorly
    covered. With padding, the signal is zero-padded by ``win - hop`` samples in front (and enough
    at the end) so that every sample is reconstructed; frame ``j`` then spans
    ``[j*hop - pad, j*hop - pad + win)``. The EMG front-end pads by the same duration, so frame ``j``
    of both modalities always covers the same 32 ms.

    ``level_rms``: input level normalization (:mod:`emgse.features.level`). None (the paper, and
    every checkpoint saved before the setting existed): the model sees the raw waveform's spectrum.
    A number: each frame's spectrum is divided by the running RMS of the input (time constant
    ``level_time_s``) over this target RMS, and the estimate multiplied back, so the model's input
    does not depend on the input's gain.
    """

    fs: int = 16000
    n_fft: int = 512
    win_length: int = 512
    hop_length: int = 128
    window: str = "blackman"
    window_periodic: bool = False
    edge_padding: bool = True
    level_rms: float | None = None
    level_time_s: float = 2.0

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def pad_length(self) -> int:
        return self.win_length - self.hop_length if self.edge_padding else 0

    @property
    def hop_s(self) -> float:
        return self.hop_length / self.fs

    @property
    def win_s(self) -> float:
        return self.win_length / self.fs


@dataclass(frozen=True)
class EmgConfig:
    """EMG front-end: TD features (Jou et al. 2006) on the audio frame grid.

    ``channels``: a named set (``all``, ``cheek``, ``chin``) or a list of channel indices.
    ``normalization``: ``minmax`` (per utterance, as in the paper), ``zscore`` (statistics fitted
    on training data and stored with the model) or ``none``.
    ``context``, ``normalization`` and ``channels`` are also ``emgse train`` options.
    ``window_periodic``: the Blackman window of the TD frames; the paper's is symmetric
    (``np.blackman(64)``), true selects the periodic one.
    """

    win_s: float = 0.032
    hop_s: float = 0.008
    cutoff_hz: float = 134.0
    filter_order: int = 3
    context: int = setting(15, "EMG context frames each side")
    normalization: str = setting("minmax", "EMG feature normalization (causal models: zscore unless told)",
                                 choices=NORMALIZATIONS)
    channels: str | tuple[int, ...] = setting("all", "EMG channel set: all, cheek, chin or indices", type=str)
    edge_padding: bool = True
    window_periodic: bool = False

    @property
    def pad_s(self) -> float:
        return self.win_s - self.hop_s if self.edge_padding else 0.0


@dataclass(frozen=True)
class MixConfig:
    """Noise mixing: SNRs, how many noises per utterance (None: all), seed, clipping headroom, and the
    share of mixtures whose speech is reverberated (a mild synthetic room; the clean target stays dry)."""

    snrs_db: tuple[float, ...] = TEST_SNRS_DB
    per_utterance: int | None = None
    seed: int = 0
    peak_limit: float = 0.99
    reverb_prob: float = 0.0


@dataclass
class ExperimentConfig:
    """Everything a run needs, saved as ``config.yaml`` in its directory."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    emg: EmgConfig = field(default_factory=EmgConfig)
    mix: MixConfig = field(default_factory=MixConfig)


def to_dict(config: Any) -> dict:
    """A dataclass (nested) as plain Python types, tuples turned into lists."""

    def plain(v: Any) -> Any:
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(config))


def current_keys(cls: type, data: dict) -> dict:
    """``data`` (a saved config of dataclass ``cls``) with the keys of renamed fields (their
    ``old_names``, :func:`emgse.options.setting`) under today's names: ``snr_db`` -> ``snr_range_db``."""
    renamed = {old: f.name for f in dataclasses.fields(cls) for old in f.metadata.get("old_names", ())}
    both = sorted(old for old in renamed.keys() & data.keys() if renamed[old] in data)
    if both:
        raise EmgseError(f"config for {cls.__name__}: {both[0]!r} is the old name of {renamed[both[0]]!r}; give one of them")
    return {renamed.get(key, key): value for key, value in data.items()}


def from_dict(cls: type, data: dict) -> Any:
    """Build dataclass ``cls`` from a (nested) dict, rejecting unknown keys with a clear error."""
    if not isinstance(data, dict):
        raise EmgseError(f"config for {cls.__name__}: expected a mapping, got {type(data).__name__}")
    data = current_keys(cls, data)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise EmgseError(f"config for {cls.__name__}: unknown key(s) {sorted(unknown)}; known: {sorted(fields)}")
    kwargs = {}
    for name, value in data.items():
        factory = fields[name].default_factory
        if factory is not dataclasses.MISSING and dataclasses.is_dataclass(factory):
            kwargs[name] = from_dict(factory, value)
        elif isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:  # the dataclass's own checks
        raise EmgseError(f"config for {cls.__name__}: {e}") from None


def save_config(config: Any, path: str | Path) -> None:
    """Write a dataclass config as YAML (atomically)."""
    write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise EmgseError(f"{path}: file not found") from None
    except yaml.YAMLError as e:
        raise EmgseError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None


def load_config(cls: type, path: str | Path) -> Any:
    """Read a YAML config into dataclass ``cls``."""
    path = Path(path)
    data = _read_yaml(path)
    try:
        return from_dict(cls, data)
    except EmgseError as e:
        raise EmgseError(f"{path}: {e}") from None


def load_yaml_sections(path: str | Path, sections: tuple[str, ...]) -> dict[str, dict]:
    """Read a YAML mapping and return the named sections (missing ones empty); unknown ones are an error."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise EmgseError(f"{path}: expected a mapping with sections {', '.join(sections)}")
    unknown = set(data) - set(sections)
    if unknown:
        raise EmgseError(f"{path}: unknown section(s) {sorted(unknown)}; known: {', '.join(sections)}")
    return {s: data.get(s) or {} for s in sections}
