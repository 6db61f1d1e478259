"""Data shipped inside the package.

``speechocean762-subset/``: a few recordings of the speechocean762 corpus's TRAIN half (Zhang et
al., Interspeech 2021, arXiv 2104.01378; OpenSLR 101; free for commercial and non-commercial use),
in the Montreal Forced Aligner's layout (``train/<speaker>/<utt>.flac`` + ``<utt>.txt``), so that
``emgse demo`` learns from human voices on a fresh machine. See ``NOTICE.md`` beside it. No
test-half speaker is shipped.

``pretrained/``: weights trained by ``benchmarks/pretrain.py`` (their card: ``docs/pretrained.md``
and each checkpoint's ``"card"`` entry), used by ``emgse enhance`` without ``--checkpoint`` and by
``emgse train --init-from pretrained``.

The data that does not ship (the paper's noises, real recorded pairs, corpora) is found by one rule,
:func:`data_folder`: a root given by the caller (``--data-root DIR``), else the ``EMGSE_DATA``
environment variable, else none.
"""

from __future__ import annotations

import os
from pathlib import Path

from emgse.errors import EmgseError

SPEECH_SUBSET = Path(__file__).resolve().parent / "speechocean762-subset"


def speech_folder(speech: str | Path) -> Path:
    """The recorded-speech folder for ``speech``: ``"builtin"`` is :data:`SPEECH_SUBSET`, anything else a path.

    Raises:
        EmgseError: the folder does not exist (a broken install for ``"builtin"``).
    """
    folder = SPEECH_SUBSET if str(speech) == "builtin" else Path(speech)
    if not folder.is_dir():
        what = "the built-in speech subset is missing from the installed package (reinstall emgse)" if str(speech) == "builtin" else "speech folder not found"
        raise EmgseError(f"{folder}: {what}")
    return folder


PRETRAINED_NAME = "pretrained"  # the shipped weights' name: emgse enhance's default checkpoint, the demo's init_from
PRETRAINED = Path(__file__).resolve().parent / PRETRAINED_NAME
PRETRAINED_MODELS = {PRETRAINED_NAME: "audio-mask.pt"}  # name -> file in PRETRAINED (benchmarks/pretrain.py --export)


def checkpoint_path(spec: str | Path) -> Path:
    """A checkpoint given by path or by the name of a shipped one (``"pretrained"``).

    Raises:
        EmgseError: the named weights are not in this install.
    """
    if str(spec) in PRETRAINED_MODELS and not Path(spec).exists():
        path = PRETRAINED / PRETRAINED_MODELS[str(spec)]
        if not path.is_file():
            raise EmgseError(f"{path}: no pretrained weights in this install (benchmarks/pretrain.py --export makes them)")
        return path
    return Path(spec)


DATA_ENV = "EMGSE_DATA"  # the environment variable naming the data root when no --data-root is given


def find_data_root(root: str | Path | None = None) -> tuple[Path | None, str]:
    """The data root and where it came from: ``root`` when given (``"--data-root"``), else the
    :data:`DATA_ENV` environment variable when set and not empty (``"EMGSE_DATA"``), else ``(None, "")``."""
    if root is not None:
        return Path(root), "--data-root"
    env = os.environ.get(DATA_ENV, "")
    return (Path(env), DATA_ENV) if env else (None, "")


def data_folder(*parts: str, root: str | Path | None = None) -> Path | None:
    """``<data root>/<parts>`` when that folder exists, else None. The data root is ``root`` when
    given, else the ``EMGSE_DATA`` environment variable (:func:`find_data_root`); with neither there is
    none. Where the paper's data lives is the caller's to say: nothing here looks beside the
    package or the working folder. E.g. ``data_folder("noise", "train")``."""
    base, _ = find_data_root(root)
    if base is None:
        return None
    folder = base.joinpath(*parts)
    return folder if folder.is_dir() else None


def data_note(root: str | Path | None = None, found: bool | None = None, fallback: str = "generated noises") -> str:
    """One line saying which data a run reads: ``"data: /x/shared/data (EMGSE_DATA)"``, or
    ``"data: none -- generated noises; set --data-root or EMGSE_DATA"`` without a root; ``found``
    False: the root holds none of what the run looks for. ``fallback``: what the run does without it."""
    base, source = find_data_root(root)
    if base is None:
        return f"data: none -- {fallback}; set --data-root or {DATA_ENV}"
    note = f"data: {base} ({source})"
    return note if found is not False else f"{note}, holding none of the data looked for -- {fallback}"
