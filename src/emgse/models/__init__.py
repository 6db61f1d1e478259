"""Model registry: ``build_model(name, **kwargs)`` with plain keyword arguments.

Every model maps a noisy log1p magnitude ``(batch, frames, 257)`` and, if it uses EMG, per-frame
EMG features with ``context`` frames of margin on each side ``(batch, frames + 2*context, dims)``
to an estimate of the clean log1p magnitude ``(batch, frames, 257)``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import torch

from emgse.errors import EmgseError

# Each family module defines ``MODELS = {name: constructor}``; the registry is their union.
FAMILIES = ("paper", "causal", "fusion")
MODELS: dict[str, Callable[..., torch.nn.Module]] = {}
for _family in FAMILIES:
    try:
        _module = importlib.import_module(f"emgse.models.{_family}")
    except ModuleNotFoundError as _e:  # a family not written yet
        if _e.name != f"emgse.models.{_family}":
            raise
        continue
    MODELS.update(_module.MODELS)


def build_model(name: str, **kwargs) -> torch.nn.Module:
    """Instantiate a registered model by name."""
    if name not in MODELS:
        raise EmgseError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    try:
        return MODELS[name](**kwargs)
    except TypeError as e:
        raise EmgseError(f"model {name!r}: bad arguments ({e})") from None


def describe(name: str) -> str:
    """A registered model in one line: the first line of its constructor's docstring, without a
    leading ````name``:```` that repeats the name (the rest then starts with a capital)."""
    if name not in MODELS:
        raise EmgseError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    line = next(iter((inspect.getdoc(MODELS[name]) or "").splitlines()), "")
    prefix = f"``{name}``: "
    if not line.startswith(prefix):
        return line
    rest = line.removeprefix(prefix)
    return rest[:1].upper() + rest[1:]


def uses_emg(model: torch.nn.Module) -> bool:
    return bool(getattr(model, "uses_emg", False))


def uses_audio(model: torch.nn.Module) -> bool:
    return bool(getattr(model, "uses_audio", True))


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
