"""Training: L1 on the log1p magnitude, Adam, early stopping, atomic resumable checkpoints.

Read top to bottom: ``train()`` sets up (device, optional DDP, data, model), then runs epochs of
``train_epoch`` and ``validate``, writing ``log.csv``, ``last.pt`` (every epoch) and ``best.pt``
(when the validation loss improves). A killed run resumes from ``last.pt`` with ``resume=True``
and loses at most the epoch in progress. Each epoch's randomness (segment offsets, shuffling,
dropout) is seeded from ``(seed, epoch)``, so a resumed run continues exactly as an
uninterrupted one would on CPU.

Multi-process: launch with ``torchrun --nproc_per_node N -m emgse train ...``; each process takes
every N-th batch of the shared shuffled order (gloo on CPU, NCCL on GPU); rank 0 writes.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from emgse.checkpoint import read_checkpoint, save_checkpoint
from emgse.config import AudioConfig, EmgConfig, from_dict, save_config, to_dict
from emgse.data import FeatureStore, SegmentDataset, check_store_matches
from emgse.errors import EmgseError
from emgse.features.emg import ZScore
from emgse.files import read_json, write_json, write_text
from emgse.models import build_model, count_parameters

LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "best_val_loss", "seconds", "data_wait", "steps", "lr")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (the paper's defaults)."""

    model: str = "emgse"
    batch_size: int = 16
    lr: float = 1e-4
    max_epochs: int = 500
    patience: int = 15
    segment: int = 64
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    max_minutes: float | None = None  # wall-clock budget; stops after the epoch that crosses it
    max_steps_per_epoch: int | None = None


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device_kind: str) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size())


def _device(spec: str) -> torch.device:
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EmgseError("--device cuda requested but no GPU is available")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device(f"cuda:{local}" if spec == "cuda" else spec)
    return torch.device(spec)


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919) % (2**31)


def l1_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked L1 on log1p magnitudes ``(B, T, F)``; returns ``(mean loss, number of frames)``."""
    frames = mask.sum()
    loss = ((pred - target).abs().sum(-1) * mask).sum() / (frames * pred.shape[-1]).clamp_min(1)
    return loss, frames


def _forward(model: torch.nn.Module, batch: dict, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    noisy = batch["noisy"].to(device, non_blocking=True)
    emg = batch["emg"].to(device, non_blocking=True)
    return model(noisy, emg), batch["clean"].to(device, non_blocking=True)


def _batches(dataset: SegmentDataset, config: TrainConfig, epoch: int, d: _Dist, shuffle: bool) -> torch.utils.data.DataLoader:
    n = len(dataset)
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))).tolist()
    else:
        order = list(range(n))
    if d.world > 1:  # equal share per rank so every rank runs the same number of steps
        per_rank = len(order) // d.world
        order = order[d.rank :: d.world][:per_rank]
    return torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, order),
        batch_size=config.batch_size,
        shuffle=False,
        num_workers=config.num_workers,
        drop_last=False,
        persistent_workers=False,
    )


def train_epoch(model, optimizer, loader, device, config: TrainConfig, bar: tqdm | None) -> dict:
    model.train()
    total, frames, steps, wait = 0.0, 0.0, 0, 0.0
    start = time.perf_counter()
    t_fetch = time.perf_counter()
    for batch in loader:
        wait += time.perf_counter() - t_fetch
        pred, target = _forward(model, batch, device)
        loss, n = l1_loss(pred, target, batch["mask"].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * n.item()
        frames += n.item()
        steps += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total / max(frames, 1):.4f}")
        if config.max_steps_per_epoch and steps >= config.max_steps_per_epoch:
            break
        t_fetch = time.perf_counter()
    seconds = time.perf_counter() - start
    return {"loss": total / max(frames, 1), "frames": frames, "steps": steps, "data_wait": wait / max(seconds, 1e-9)}


@torch.no_grad()
def validate(model, loader, device, d: _Dist) -> float:
    model.eval()
    sums = torch.zeros(2, dtype=torch.float64)
    for batch in loader:
        pred, target = _forward(model, batch, device)
        loss, n = l1_loss(pred, target, batch["mask"].to(device))
        sums += torch.tensor([loss.item() * n.item(), n.item()], dtype=torch.float64)
    if d.world > 1:
        dist.all_reduce(sums)
    return float(sums[0] / sums[1].clamp_min(1))


def _read_log(path: Path, upto_epoch: int) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if int(r["epoch"]) <= upto_epoch]


def _write_log(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text(path, buf.getvalue())


def store_for(mixtures_dir: Path, split: str, emg_config: EmgConfig, *, audio_config: AudioConfig = AudioConfig(),
              progress: bool = True) -> Path:
    """The feature store of ``split`` for this EMG (and audio) configuration, built on first use.

    Stores are cached inside the mixture folder under ``features/<channels>-<normalization>/``
    (``...-level/`` with input level normalization, :mod:`emgse.features.level`).
    Under ``torchrun`` only rank 0 builds; the other ranks wait for it.
    """
    channels = emg_config.channels if isinstance(emg_config.channels, str) else "-".join(map(str, emg_config.channels))
    level = "" if audio_config.level_rms is None else "-level"
    path = Path(mixtures_dir) / "features" / f"{channels}-{emg_config.normalization}{level}" / split
    if (path / "index.json").is_file():
        built = from_dict(AudioConfig, read_json(path / "index.json")["audio_config"])
        if built != audio_config:
            raise EmgseError(f"{path}: feature store built with other audio settings ({built}); delete it to rebuild")
        return path
    if int(os.environ.get("RANK", "0")) == 0:
        from emgse.data import build_store

        build_store(mixtures_dir, split, path, audio_config=audio_config, emg_config=emg_config, progress=progress)
    else:
        deadline = time.monotonic() + 3600
        while not (path / "index.json").is_file():
            if time.monotonic() > deadline:
                raise EmgseError(f"{path}: timed out waiting for rank 0 to build the feature store")
            time.sleep(1.0)
    return path


def model_args_for(config: TrainConfig, store: FeatureStore, emg_config: EmgConfig) -> dict:
    """Data-dependent constructor arguments: ``emg_dims`` and ``context`` where the model takes them."""
    import inspect

    from emgse.models import MODELS

    if config.model not in MODELS:
        raise EmgseError(f"unknown model {config.model!r} (known: {', '.join(MODELS)})")
    params = inspect.signature(MODELS[config.model]).parameters
    args = {}
    if "emg_dims" in params:
        args["emg_dims"] = store.emg_dims
    if "context" in params:
        args["context"] = emg_config.context
    return args


def train(
    train_store: str | Path,
    val_store: str | Path,
    run_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    resume: bool = False,
    progress: bool = True,
    model_args: dict | None = None,
    context: int | None = None,
) -> dict:
    """Train a model on a feature store; returns a summary (best epoch, losses, timings).

    ``run_dir`` receives ``config.yaml``, ``log.csv``, ``last.pt``, ``best.pt``, ``summary.json``.
    ``context``: EMG context frames per side; default the store's. Stores hold per-frame features
    of whole utterances and are shared by every context width (they are keyed by channels and
    normalization only), so the width must be given here, not taken from whichever run built it.
    """
    run_dir = Path(run_dir)
    device = _device(config.device)
    d = _setup_distributed(device.type)
    torch.manual_seed(config.seed)
    tr, va = FeatureStore.open(train_store), FeatureStore.open(val_store)
    check_store_matches(tr, va)
    audio_config = from_dict(AudioConfig, tr.index["audio_config"])
    emg_config = from_dict(EmgConfig, tr.index["emg_config"])
    if context is not None:
        emg_config = dataclasses.replace(emg_config, context=context)
    zscore = ZScore.fit([tr.emg]) if emg_config.normalization == "zscore" else None
    z = (zscore.mean.astype(np.float32), zscore.std.astype(np.float32)) if zscore else None
    train_set = SegmentDataset(tr, config.segment, emg_config.context, zscore=z, random=True, seed=config.seed)
    val_set = SegmentDataset(va, config.segment, emg_config.context, zscore=z, random=False)

    args = model_args if model_args is not None else model_args_for(config, tr, emg_config)
    model = build_model(config.model, **args).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    state = {"epoch": 0, "best_val": math.inf, "best_epoch": 0, "stale": 0, "elapsed": 0.0}
    last, best = run_dir / "last.pt", run_dir / "best.pt"
    if resume and last.is_file():
        ckpt = read_checkpoint(last)
        if ckpt["model_name"] != config.model:
            raise EmgseError(f"{last}: holds model {ckpt['model_name']!r}, not {config.model!r}")
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        state.update(ckpt["trainer"])
    elif (last.exists() or best.exists()) and not resume:
        raise EmgseError(f"{run_dir}: holds a previous run (pass --resume to continue it, or choose another --out)")
    log_rows = _read_log(run_dir / "log.csv", state["epoch"]) if d.main else []
    if d.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    core = model.module if d.world > 1 else model

    base = {
        "model_name": config.model,
        "model_args": args,
        "audio_config": to_dict(audio_config),
        "emg_config": to_dict(emg_config),
        "emg_fs": float(tr.index["emg_fs"]),
        "emg_channels": int(tr.index["emg_channels"]),
        "channels": list(tr.index["channels"]),
        "zscore": zscore.to_dict() if zscore else None,
        "train_config": to_dict(config),
    }
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "train_config.yaml")
        save_config(emg_config, run_dir / "emg_config.yaml")
        save_config(audio_config, run_dir / "audio_config.yaml")
        n_params = count_parameters(core)
        tqdm.write(
            f"{config.model}: {n_params:,} parameters; {len(train_set)} training / {len(val_set)} validation segments; "
            f"device {device}{f' x {d.world} processes' if d.world > 1 else ''}"
        )

    started = time.perf_counter() - state["elapsed"]
    stop_reason = "max_epochs"
    for epoch in range(state["epoch"] + 1, config.max_epochs + 1):
        torch.manual_seed(_epoch_seed(config.seed, epoch))  # dropout
        train_set.set_epoch(epoch)
        loader = _batches(train_set, config, epoch, d, shuffle=True)
        steps = len(loader) if not config.max_steps_per_epoch else min(len(loader), config.max_steps_per_epoch)
        bar = tqdm(total=steps, desc=f"{config.model} epoch {epoch}", unit="step", leave=False, disable=not (progress and d.main))
        t0 = time.perf_counter()
        result = train_epoch(model, optimizer, loader, device, config, bar)
        bar.close()
        val_loss = validate(model, _batches(val_set, config, 0, d, shuffle=False), device, d)
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
                    "lr": config.lr,
                }
            )
            _write_log(run_dir / "log.csv", log_rows)
            tqdm.write(
                f"{config.model} epoch {epoch}: train {result['loss']:.4f}  val {val_loss:.4f}"
                f"{'  *best*' if improved else ''}  ({seconds:.1f} s, data wait {100 * result['data_wait']:.1f}%)"
            )
        stop = state["stale"] >= config.patience
        budget = config.max_minutes is not None and state["elapsed"] / 60 >= config.max_minutes
        if d.world > 1:  # every rank must agree to stop
            flag = torch.tensor([float(stop), float(budget)])
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            stop, budget = bool(flag[0]), bool(flag[1])
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
    }
    if d.main:
        write_json(run_dir / "summary.json", summary)
    if d.world > 1:
        dist.barrier()
    return summary
