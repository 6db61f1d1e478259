"""Data shipped inside the package.

``speechocean762-subset/``: a few recordings of the speechocean762 corpus's TRAIN half (Zhang et
al., Interspeech 2021, arXiv 2104.01378; OpenSLR 101; free for commercial and non-commercial use),
in the Montreal Forced Aligner's layout (``train/<speaker>/<utt>.flac`` + ``<utt>.txt``), so that
``emgse demo`` learns from human voices on a fresh machine. See ``NOTICE.md`` beside it. No
test-half speaker is shipped.

``pretrained/``: weights trained by ``benchmarks/pretrain.py`` (their card: ``docs/pretrained.md``
and each checkpoint's ``"card"`` entry), used by ``emgse enhance`` without ``--checkpoint`` and by
``emgse train --init-from pretrained``.
"""

from __future__ import annotations

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


PRETRAINED = Path(__file__).resolve().parent / "pretrained"
PRETRAINED_MODELS = {"pretrained": "audio-mask.pt"}  # name -> file in PRETRAINED (benchmarks/pretrain.py --export)


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


def shared_folder(*parts: str) -> Path | None:
    """``../shared/data/<parts>`` beside the project checkout (or the working folder) when it exists:
    the data a development machine may hold (noises, real pairs) and a user's fresh clone has not."""
    for base in (Path(__file__).resolve().parents[4], Path.cwd().parent):
        folder = base.joinpath("shared", "data", *parts)
        if folder.is_dir():
            return folder
    return None
