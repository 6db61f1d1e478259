"""The training loop shared by every data source: :func:`fit` sets up the model (fresh, warm-started
or resumed), then runs epochs of :func:`train_epoch` and :func:`validate`, writing ``log.csv``,
``last.pt`` (every epoch) and ``best.pt`` (when the validation loss improves). A killed run resumes
from ``last.pt`` and loses at most the epoch in progress. Each epoch's randomness (segment offsets,
shuffling, dropout) is seeded from ``(seed, epoch)``, so a resumed run continues exactly as an
uninterrupted one would on CPU."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from emgse.checkpoint import check_state_dict, configs, read_checkpoint, save_checkpoint
from emgse.config import (
    AudioConfig,
    EmgConfig,
    current_keys,
    save_config,
    to_dict,
)
from emgse.data import (
    SegmentDataset,
)
from emgse.errors import EmgseError, file_error
from emgse.features.emg import ZScore
from emgse.files import hold_folder, write_json, write_text
from emgse.models import build_model, count_parameters
from emgse.training.config import PRECISIONS, TrainConfig, lr_at, model_args_for, model_traits
from emgse.training.distributed import Dist, all_reduce, resolve_device
from emgse.training.losses import objective

LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "best_val_loss", "seconds", "data_wait", "steps", "lr", "frames_per_s")


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919) % (2**31)


def forward(model: torch.nn.Module, batch: dict, device: torch.device, precision: str = "fp32") -> tuple[torch.Tensor, torch.Tensor]:
    """``(estimate, clean target)`` of a batch, the forward pass under ``precision``'s autocast
    (the estimate returned in float32, so every loss is computed in float32)."""
    noisy = batch["noisy"].to(device, non_blocking=True)
    emg = batch["emg"].to(device, non_blocking=True)
    dtype = PRECISIONS[precision]
    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        pred = model(noisy, emg)
    return pred.float(), batch["clean"].to(device, non_blocking=True)


def batches(dataset: SegmentDataset, config: TrainConfig, epoch: int, d: Dist, shuffle: bool) -> torch.utils.data.DataLoader:
    """This process's batches: training (``shuffle``) or validation (every segment, in order).

    Training: step ``s`` of every process together is batch ``s`` of the single-process run; each
    process takes every ``world``-th segment of it (``batch_size / world`` segments).
    """
    n = len(dataset)
    batch_size = config.batch_size
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed(config.seed, epoch))).tolist()
        if d.world > 1:  # equal share per rank so every rank runs the same number of steps
            order = order[d.rank :: d.world][: n // d.world]
            batch_size //= d.world
    else:
        order = list(range(n))[d.rank :: d.world]  # validation: every segment, no step count to agree on
    return torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, order),
        batch_size=batch_size,
        shuffle=False,
        num_workers=config.num_workers,
        drop_last=False,
        persistent_workers=False,
    )


def epoch_steps(loader, config: TrainConfig) -> int:
    """Optimizer steps in an epoch over ``loader`` (capped by ``config.max_steps_per_epoch``)."""
    return len(loader) if not config.max_steps_per_epoch else min(len(loader), config.max_steps_per_epoch)


def train_epoch(model, optimizer, loader, device, config: TrainConfig, bar: tqdm | None, d: Dist | None = None,
                epoch: int = 1, audio_config: AudioConfig | None = None, scaler: torch.amp.GradScaler | None = None) -> dict:
    """One pass over ``loader`` (epoch ``epoch``, 1-based: sets the scheduled learning rate step by step).

    The logged loss is the output's spectral loss, or with a waveform loss the whole objective
    (``audio_config``: the store's front-end, needed to rebuild waveforms). ``scaler``: the
    gradient scaler of fp16 training. Returns the loss, frames, steps, the share of time spent
    waiting for data and the frames of speech trained on per second (this process's)."""
    d = d or Dist()
    n_steps = epoch_steps(loader, config)
    model.train()
    total, frames, steps, wait = 0.0, 0.0, 0, 0.0
    start = time.perf_counter()
    t_fetch = time.perf_counter()
    for batch in loader:
        wait += time.perf_counter() - t_fetch
        pred, target = forward(model, batch, device, config.precision)
        loss, n, trained = objective(model, pred, target, batch, config, audio_config)
        if d.world > 1:
            # DDP averages the processes' gradients; weighting each process's mean by its share of
            # the global batch's frames makes that average the gradient of the whole batch's mean.
            global_frames = n.detach().clone()
            dist.all_reduce(global_frames)
            trained = trained * (n * d.world / global_frames.clamp_min(1))
        optimizer.zero_grad(set_to_none=True)
        if config.lr_schedule != "constant":
            for group in optimizer.param_groups:
                group["lr"] = lr_at(config, epoch - 1 + steps / max(n_steps, 1))
        if scaler is not None:
            scaler.scale(trained).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            trained.backward()
            optimizer.step()
        total += loss.item() * n.item()
        frames += n.item()
        steps += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total / max(frames, 1):.4f}", frames_s=f"{frames / max(time.perf_counter() - start, 1e-9):,.0f}")
        if config.max_steps_per_epoch and steps >= config.max_steps_per_epoch:
            break
        t_fetch = time.perf_counter()
    seconds = time.perf_counter() - start
    own_frames = frames
    if d.world > 1:  # the epoch's loss over every process's frames
        total, frames = all_reduce([total, frames], device)
    return {"loss": total / max(frames, 1), "frames": frames, "steps": steps, "data_wait": wait / max(seconds, 1e-9),
            "frames_per_s": own_frames / max(seconds, 1e-9)}


@torch.no_grad()
def validate(model, loader, device, d: Dist, loss: str | TrainConfig = "l1", suppression_weight: float = 1.0,
             audio_config: AudioConfig | None = None) -> float:
    """Mean loss over every frame of ``loader``'s segments (summed over processes under DDP): the
    spectral loss ``loss`` with ``suppression_weight`` (see :func:`spectral_loss`), or, given a
    :class:`TrainConfig`, its logged loss (:func:`objective`; with a waveform loss the whole
    objective, ``audio_config`` the store's front-end).

    Pass the bare module, not the DDP wrapper: processes may run different numbers of batches.
    """
    config = loss if isinstance(loss, TrainConfig) else TrainConfig(loss=loss, suppression_weight=suppression_weight)
    model.eval()
    sums = torch.zeros(2, dtype=torch.float64)
    for batch in loader:
        pred, target = forward(model, batch, device, config.precision)
        value, n, _ = objective(model, pred, target, batch, config, audio_config)
        sums += torch.tensor([value.item() * n.item(), n.item()], dtype=torch.float64)
    if d.world > 1:
        sums = torch.tensor(all_reduce(sums.tolist(), device), dtype=torch.float64)
    return float(sums[0] / sums[1].clamp_min(1))


def read_log(path: Path, upto_epoch: int) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if int(r["epoch"]) <= upto_epoch]


def write_log(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text(path, buf.getvalue())


def check_resume(path: Path, ckpt: dict, expected: dict) -> None:
    """A resumed run must continue the model it started: same model, arguments, channels, front-end
    and loss (the best validation loss so far is in its units)."""
    labels = {"model_name": "model", "model_args": "model arguments", "channels": "EMG channels",
              "emg_config": "EMG settings", "audio_config": "audio settings", "sampler_config": "mixing settings"}
    labels = {k: v for k, v in labels.items() if k in expected or k in ckpt}

    def short(v):
        return f"{len(v)} channels {v[:3]}...{v[-1:]}" if isinstance(v, list) and len(v) > 8 else repr(v)

    diffs = []
    for key, label in labels.items():
        old, new = ckpt.get(key), expected.get(key)
        if key == "sampler_config" and isinstance(old, dict):  # a run from before a setting was renamed
            from emgse.sampler import SamplerConfig

            old = current_keys(SamplerConfig, old)
        if isinstance(old, dict) and isinstance(new, dict):
            changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            if changed:
                diffs.append(f"{label} " + ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in changed))
        elif old != new:
            diffs.append(f"{label} {short(old)} -> {short(new)}")
    old_train = ckpt.get("train_config") or {}
    # runs from before an option trained with its default
    for key, before in (("loss", "l1"), ("suppression_weight", 1.0), ("wave_loss", None), ("wave_weight", None)):
        old = old_train.get(key, before)
        if old != expected["train_config"][key]:
            diffs.append(f"{key.replace('_', ' ')} {old!r} -> {expected['train_config'][key]!r}")
    if diffs:
        raise EmgseError(f"{path}: cannot resume with other settings ({'; '.join(diffs)}); use the run's settings or another --out")


def warm_start(model: torch.nn.Module, path: str | Path, audio_config: AudioConfig) -> tuple[int, int]:
    """Start ``model`` from the checkpoint at ``path``: every weight with the same name and shape is
    copied (e.g. an ``audio-mask`` run into ``emgse-mask``: its spectrogram encoder, BLSTM and mask
    head), the rest keeps its initialization. A fusion model with a gated EMG term
    (``start_from_audio``) started from an audio-only run starts with that term at zero, so it begins
    exactly as that model and the EMG can only be added by training (started from a fusion run, it
    keeps the run's term). The checkpoint must have
    the same audio front-end (STFT, level rule). Returns ``(copied, total)`` weight tensors.
    """
    ckpt = read_checkpoint(path)
    theirs = configs(ckpt)[0]
    if theirs != audio_config:
        changed = sorted(k for k, v in to_dict(theirs).items() if to_dict(audio_config).get(k) != v)
        raise file_error(path, f"cannot start from this checkpoint: its audio front-end differs ({', '.join(changed)})")
    own = model.state_dict()
    matched = {k: v for k, v in ckpt["state_dict"].items() if k in own and own[k].shape == v.shape}
    if not matched:
        raise file_error(path, f"cannot start from this checkpoint: none of its weights fits {ckpt['model_name']!r} -> this model")
    model.load_state_dict(matched, strict=False)
    if hasattr(model, "start_from_audio"):
        model.start_from_audio(set(matched))
    return len(matched), len(own)


@dataclass
class TrainingData:
    """What the training loop needs from a data source (a feature store or the on-the-fly sampler):
    ``epoch_batches(epoch)`` (this process's training batches of an epoch, 1-based; ``len()`` gives
    the steps), ``val_batches()`` (every validation batch of this process), the front-end
    (``audio_config``, ``emg_config``), the EMG layout (``emg_dims``, ``emg_fs``, ``emg_channels``,
    ``channels``, ``zscore``), ``target_rms`` (see :class:`emgse.data.SegmentDataset`), a
    ``description`` for the opening line and ``summary`` entries of its own."""

    epoch_batches: object
    val_batches: object
    audio_config: AudioConfig
    emg_config: EmgConfig
    emg_dims: int
    emg_fs: float
    emg_channels: int
    channels: list[int]
    zscore: ZScore | None
    target_rms: float | None
    description: str
    summary: dict = dataclasses.field(default_factory=dict)


def checked_config(config: TrainConfig, d: Dist) -> TrainConfig:
    """Checks every data source shares; the waveform loss's weight made explicit (the checkpoint records it)."""
    if d.world > 1 and config.batch_size % d.world:
        raise EmgseError(f"batch size {config.batch_size} is the global batch: it must be a multiple of the {d.world} processes")
    if config.wave_loss is not None:
        if not model_traits(config.model)[2]:
            raise EmgseError(f"model {config.model!r} does not take audio: a waveform loss needs the microphone's phase (leave out --wave-loss)")
        config = dataclasses.replace(config, wave_weight=config.wave_factor)
    return config


def fit(data: TrainingData, run_dir: str | Path, config: TrainConfig, *, d: Dist | None = None, **options) -> dict:
    """The training loop over any :class:`TrainingData`: build the model (or resume it), then epochs of
    :func:`train_epoch` and :func:`validate`, writing the run folder (see :func:`train`). The main
    process holds the run folder meanwhile (:func:`emgse.files.hold_folder`: one run per folder).

    ``last.pt`` is each epoch's commit point, written after ``best.pt``: a run killed between the
    two resumes from the previous ``last.pt`` and redoes the epoch; ``resume`` without a ``last.pt``
    starts afresh over what a kill in the first epoch left."""
    d = d or Dist()
    with hold_folder(run_dir) if d.main else contextlib.nullcontext():
        return _fit(data, Path(run_dir), config, d=d, **options)


def _fit(data: TrainingData, run_dir: Path, config: TrainConfig, *, resume: bool = False, progress: bool = True,
         model_args: dict | None = None, device: torch.device | None = None, d: Dist | None = None,
         extra: dict | None = None) -> dict:
    device = device or resolve_device(config.device)
    d = d or Dist()
    torch.manual_seed(config.seed)
    audio_config, emg_config = data.audio_config, data.emg_config
    args = model_args if model_args is not None else model_args_for(config, data.emg_dims, emg_config)
    model = build_model(config.model, **args).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scaler = torch.amp.GradScaler(device.type) if config.precision == "fp16" and device.type == "cuda" else None
    state = {"epoch": 0, "best_val": math.inf, "best_epoch": 0, "stale": 0, "elapsed": 0.0}
    base = {
        "model_name": config.model,
        "model_args": args,
        "audio_config": to_dict(audio_config),
        "emg_config": to_dict(emg_config),
        "emg_fs": float(data.emg_fs),
        "emg_channels": int(data.emg_channels),
        "channels": list(data.channels),
        "zscore": data.zscore.to_dict() if data.zscore else None,
        "train_config": to_dict(config),
        "target_rms": data.target_rms,  # None: the clean target at its mixture's level
        **(extra or {}),
    }
    last, best = run_dir / "last.pt", run_dir / "best.pt"
    if resume and last.is_file():
        ckpt = read_checkpoint(last)
        check_resume(last, ckpt, base)
        check_state_dict(last, model, ckpt["state_dict"])
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        state.update(ckpt["trainer"])
    elif (last.exists() or best.exists()) and not resume:
        raise EmgseError(f"{run_dir}: holds a previous run (pass --resume to continue it, or choose another --out)")
    elif config.init_from:
        copied, total = warm_start(model, config.init_from, audio_config)
        if d.main:
            tqdm.write(f"{config.model}: {copied} of {total} weight tensors start from {config.init_from}")
    log_rows = read_log(run_dir / "log.csv", state["epoch"]) if d.main else []
    if d.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    core = model.module if d.world > 1 else model
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "train_config.yaml")
        save_config(emg_config, run_dir / "emg_config.yaml")
        save_config(audio_config, run_dir / "audio_config.yaml")
        tqdm.write(
            f"{config.model}: {count_parameters(core):,} parameters; {data.description}; "
            f"device {device}{f' x {d.world} processes' if d.world > 1 else ''}"
            f"{'' if config.precision == 'fp32' else f', {config.precision} autocast'}"
        )

    started = time.perf_counter() - state["elapsed"]
    stop_reason = "max_epochs"
    for epoch in range(state["epoch"] + 1, config.max_epochs + 1):
        torch.manual_seed(epoch_seed(config.seed, epoch))  # dropout
        loader = data.epoch_batches(epoch)
        bar = tqdm(total=epoch_steps(loader, config), desc=f"{config.model} epoch {epoch}", unit="step", leave=False, disable=not (progress and d.main))
        t0 = time.perf_counter()
        result = train_epoch(model, optimizer, loader, device, config, bar, d, epoch=epoch, audio_config=audio_config, scaler=scaler)
        bar.close()
        val_loss = validate(core, data.val_batches(), device, d, config, audio_config=audio_config)
        seconds = time.perf_counter() - t0
        improved = val_loss < state["best_val"]
        state.update(
            epoch=epoch,
            best_val=min(state["best_val"], val_loss),
            best_epoch=epoch if improved else state["best_epoch"],
            stale=0 if improved else state["stale"] + 1,
            elapsed=time.perf_counter() - started,
        )
        if d.main:
            payload = {**base, "state_dict": core.state_dict(), "epoch": epoch, "val_loss": val_loss}
            if improved:
                save_checkpoint(best, payload)
            save_checkpoint(last, {**payload, "optimizer": optimizer.state_dict(), "trainer": dict(state)})
            log_rows.append(
                {
                    "epoch": epoch,
                    "train_loss": f"{result['loss']:.6f}",
                    "val_loss": f"{val_loss:.6f}",
                    "best_val_loss": f"{state['best_val']:.6f}",
                    "seconds": f"{seconds:.2f}",
                    "data_wait": f"{result['data_wait']:.4f}",
                    "steps": result["steps"],
                    "lr": f"{optimizer.param_groups[0]['lr']:.6g}",  # the last step's
                    "frames_per_s": f"{result['frames_per_s']:.0f}",
                }
            )
            write_log(run_dir / "log.csv", log_rows)
            tqdm.write(
                f"{config.model} epoch {epoch}: train {result['loss']:.4f}  val {val_loss:.4f}"
                f"{'  *best*' if improved else ''}  ({seconds:.1f} s, {result['frames_per_s']:,.0f} frames/s, "
                f"data wait {100 * result['data_wait']:.1f}%)"
            )
        stop = state["stale"] >= config.patience
        budget = config.max_minutes is not None and state["elapsed"] / 60 >= config.max_minutes
        if d.world > 1:  # every rank must agree to stop
            stop, budget = (bool(x) for x in all_reduce([float(stop), float(budget)], device, op=dist.ReduceOp.MAX))
        if stop:
            stop_reason = "early_stopping"
            break
        if budget:
            stop_reason = "time_budget"
            break
    summary = {
        "model": config.model,
        "parameters": count_parameters(core),
        "epochs": state["epoch"],
        "best_epoch": state["best_epoch"],
        "best_val_loss": state["best_val"],
        "stop_reason": stop_reason,
        "seconds": round(state["elapsed"], 2),
        "processes": d.world,
        "device": str(device),
        **data.summary,
    }
    if d.main:
        write_json(run_dir / "summary.json", summary)
    if d.world > 1:
        dist.barrier()
    return summary
