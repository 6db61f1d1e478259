"""Checkpoints as plain dicts, loadable with ``torch.load(path, weights_only=True)``.

Keys: ``format``, ``format_version``, ``emgse_version``, ``model_name``, ``model_args``,
``state_dict``, ``audio_config``, ``emg_config`` (dicts), ``emg_fs``, ``emg_channels`` (channel
count of the recordings), ``channels`` (indices used), ``zscore`` (``{"mean", "std"}`` or None),
``train_config``, ``epoch``, ``val_loss``. Training checkpoints (``last.pt``) add ``optimizer``
and ``trainer`` (early-stopping state). Everything inference needs is inside.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from emgse import __version__
from emgse.config import AudioConfig, EmgConfig, from_dict
from emgse.errors import EmgseError, file_error
from emgse.files import write_bytes
from emgse.models import build_model

FORMAT = "emgse-checkpoint"
FORMAT_VERSION = 1
REQUIRED = ("model_name", "model_args", "state_dict", "audio_config", "emg_config", "emg_fs", "emg_channels", "channels")


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write a checkpoint dict atomically, stamping format and versions. It is serialized in memory
    first, so a full disk is an ``OSError`` with its reason (:func:`emgse.files.write_bytes`), not
    torch's "unexpected pos"."""
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "emgse_version": __version__, **payload}
    buf = io.BytesIO()
    torch.save(payload, buf)
    write_bytes(path, buf.getbuffer())


def read_checkpoint(path: str | Path) -> dict:
    """Load and check a checkpoint dict (weights only: no code is unpickled). ``path`` may name a
    checkpoint that ships with emgse (``"pretrained"``, :func:`emgse.resources.checkpoint_path`)."""
    from emgse.resources import checkpoint_path

    path = checkpoint_path(path)
    if not path.is_file():
        raise file_error(path, "checkpoint not found")
    if path.stat().st_size == 0:
        raise file_error(path, "checkpoint file is empty (0 bytes)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for corrupt/truncated files
        first = (str(e).strip().splitlines() or [""])[0].split(". ")[0][:120]
        raise file_error(path, f"unreadable or corrupt checkpoint ({type(e).__name__}{': ' + first if first else ''})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise file_error(path, "not an emgse checkpoint")
    version = ckpt.get("format_version", 0)
    if not isinstance(version, int):
        raise file_error(path, f"checkpoint format_version {version!r} is not a number")
    if version > FORMAT_VERSION:
        raise file_error(path, f"checkpoint format {version} is newer than this emgse understands ({FORMAT_VERSION})")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise file_error(path, f"checkpoint lacks {', '.join(missing)}")
    kinds = {"model_args": dict, "state_dict": dict, "audio_config": dict, "emg_config": dict, "model_name": str}
    wrong = [k for k, kind in kinds.items() if not isinstance(ckpt[k], kind)]
    if wrong:
        raise file_error(path, f"checkpoint entries {', '.join(wrong)} have the wrong type")
    return ckpt


def check_state_dict(path: str | Path, model: torch.nn.Module, state: dict) -> None:
    """Refuse (one line naming ``path``) weights that do not fit ``model``: the first missing,
    unexpected or differently shaped tensor, expected against found."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        what = f"lacks tensor {missing[0]}" if missing else f"has unexpected tensor {extra[0]}"
        more = len(missing) + len(extra) - 1
        raise file_error(path, f"weights do not fit the {type(model).__name__} model: {what}" + (f" ({more} more)" if more else ""))
    for k, t in expected.items():
        found = state[k]
        if not isinstance(found, torch.Tensor) or tuple(found.shape) != tuple(t.shape):
            shape = tuple(found.shape) if isinstance(found, torch.Tensor) else type(found).__name__
            raise file_error(path, f"tensor {k}: expected shape {tuple(t.shape)}, found {shape}")


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """Build the model of a checkpoint, load its weights, put it in eval mode."""
    ckpt = read_checkpoint(path)
    try:
        model = build_model(ckpt["model_name"], **ckpt["model_args"])
    except EmgseError as e:
        raise file_error(path, str(e)) from None
    except (TypeError, ValueError, KeyError) as e:
        raise file_error(path, f"model {ckpt['model_name']!r} cannot be built from the checkpoint's model_args ({e})") from None
    check_state_dict(path, model, ckpt["state_dict"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt


def configs(ckpt: dict) -> tuple[AudioConfig, EmgConfig]:
    """The checkpoint's front-end settings. Checkpoints older than the ``window_periodic`` option
    were trained with periodic windows, so they keep them."""
    legacy = {"window_periodic": True}
    return (from_dict(AudioConfig, {**legacy, **ckpt["audio_config"]}),
            from_dict(EmgConfig, {**legacy, **ckpt["emg_config"]}))


def export_checkpoint(source: str | Path, dest: str | Path, *, half: bool = True, card: dict | None = None) -> dict:
    """Write the inference part of checkpoint ``source`` to ``dest`` (atomically): no optimizer or
    trainer state, floating weights stored as float16 when ``half`` (they load into a float32
    model unchanged in shape; :func:`load_model` casts them), ``card`` (where the weights come
    from: data, steps, device, scores) under ``"card"``. Returns the written dict."""
    ckpt = read_checkpoint(source)
    payload = {k: v for k, v in ckpt.items() if k not in ("optimizer", "trainer", "format", "format_version", "emgse_version")}
    if half:
        payload["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    if card is not None:
        payload["card"] = card
    save_checkpoint(dest, payload)
    return payload
