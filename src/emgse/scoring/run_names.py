"""Run names in a benchmark folder: a system trained with another loss carries it as a suffix
(``audio-mask-comp``, ``emgse-mask-comp-sisdr``), so that one folder holds each system trained with
each loss and :data:`emgse.scoring.FUSION_PAIRS` pairs them. Used by the scoring tables and the benchmarks."""

from __future__ import annotations

from emgse.config import LOSSES

# a benchmark folder may hold a system trained with each loss: the run of `audio-mask` trained with
# the compressed loss is `audio-mask-comp` (benchmarks/quality.py --loss, emgse.scoring.FUSION_PAIRS)
LOSS_SUFFIXES = {"l1": "", "compressed": "-comp"}
# a run trained with a waveform loss (emgse.config.WAVE_LOSSES) carries it after the loss suffix:
# `audio-mask-comp-sisdr` (benchmarks/quality.py --wave-loss)
WAVE_SUFFIXES = {None: "", "sisdr": "-sisdr", "mrstft": "-mrstft"}


def run_suffix(loss: str = "l1", wave_loss: str | None = None) -> str:
    """The suffix of a benchmark run trained with these losses: ``("compressed", "sisdr")`` -> ``"-comp-sisdr"``."""
    return LOSS_SUFFIXES[loss] + WAVE_SUFFIXES[wave_loss]


RUN_SUFFIXES = tuple(run_suffix(loss, wave) for loss in LOSSES for wave in WAVE_SUFFIXES)
"""Every suffix a benchmark folder's runs may carry (``""`` first: the paper's L1 loss alone)."""


def split_run_name(name: str) -> tuple[str, str, str | None]:
    """A run name as ``(system, loss, wave loss)`` (:func:`run_suffix`): ``emgse-mask-comp-sisdr`` ->
    ``("emgse-mask", "compressed", "sisdr")``, ``emgse-tcn`` -> ``("emgse-tcn", "l1", None)``."""
    wave = next((kind for kind, suffix in WAVE_SUFFIXES.items() if suffix and name.endswith(suffix)), None)
    name = name[: len(name) - len(WAVE_SUFFIXES[wave])]
    loss = next((loss for loss, suffix in LOSS_SUFFIXES.items() if suffix and name.endswith(suffix)), "l1")
    return name[: len(name) - len(LOSS_SUFFIXES[loss])], loss, wave


def split_loss_suffix(name: str) -> tuple[str, str]:
    """A run name as ``(system, loss)``, any wave-loss suffix dropped too (:func:`split_run_name`):
    ``emgse-tcn-comp`` -> ``("emgse-tcn", "compressed")``, ``emgse-tcn`` -> ``("emgse-tcn", "l1")``."""
    system, loss, _ = split_run_name(name)
    return system, loss
