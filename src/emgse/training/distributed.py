"""Processes and devices: one process or several under ``torchrun --nproc_per_node N -m emgse
train ...`` (gloo on CPU, NCCL on GPU; rank 0 writes). The configured batch is the *global* batch:
each of the N processes takes ``batch_size / N`` segments of it and the loss is scaled so that the
averaged gradient is the one of the whole batch (N processes take the same steps as one, up to
float rounding)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from emgse.errors import EmgseError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_kind: str) -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size())


def all_reduce(values: list[float], device: torch.device, op=dist.ReduceOp.SUM) -> list[float]:
    """Sum (or ``op``) a few numbers over the processes, on the GPU when NCCL needs it there."""
    t = torch.tensor(values, dtype=torch.float64, device=device if device.type == "cuda" else "cpu")
    dist.all_reduce(t, op=op)
    return t.tolist()


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EmgseError("--device cuda requested but no GPU is available")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device(f"cuda:{local}" if spec == "cuda" else spec)
    return torch.device(spec)
