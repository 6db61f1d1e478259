"""Training: L1 on the log1p magnitude, Adam, early stopping, atomic resumable checkpoints.

Read top to bottom: ``train()`` sets up (device, optional DDP, data, model), then runs epochs of
``train_epoch`` and ``validate``, writing ``log.csv``, ``last.pt`` (every epoch) and ``best.pt``
(when the validation loss improves). A killed run resumes from ``last.pt`` with ``resume=True``
and loses at most the epoch in progress. Each epoch's randomness (segment offsets, shuffling,
dropout) is seeded from ``(seed, epoch)``, so a resumed run continues exactly as an
uninterrupted one would on CPU.

Multi-process: launch with ``torchrun --nproc_per_node N -m emgse train ...`` (gloo on CPU, NCCL
on GPU; rank 0 writes). The configured batch is the *global* batch: each of the N processes takes
``batch_size / N`` segments of it (every N-th segment of the shared shuffled order), and the loss
is scaled so that the averaged gradient is the one of the whole batch, so N processes take the same
steps as one (up to float rounding; at most N - 1 segments per epoch are left out so that every
process runs the same number of steps). Validation covers every segment, split over the processes.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from emgse.checkpoint import check_state_dict, configs, read_checkpoint, save_checkpoint
from emgse.config import (
    LOSSES,
    LR_SCHEDULES,
    WAVE_LOSSES,
    AudioConfig,
    EmgConfig,
    from_dict,
    save_config,
    to_dict,
)
from emgse.data import (
    FeatureStore,
    SegmentDataset,
    add_phases,
    check_audio_only_store,
    check_front_ends,
    check_store_matches,
    store_key,
    store_settings,
)
from emgse.errors import EmgseError, file_error
from emgse.features.audio import istft
from emgse.features.emg import ZScore
from emgse.features.level import LEVEL_RMS
from emgse.files import write_json, write_text
from emgse.metrics import si_sdr_tensor
from emgse.models import build_model, count_parameters, uses_audio, uses_emg

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}  # TrainConfig.precision -> autocast dtype
LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "best_val_loss", "seconds", "data_wait", "steps", "lr", "frames_per_s")


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
    # audio-only speech (train(audio_only_store=...)): share of each epoch's segments, see audio_only_share()
    audio_only_share: float | str = "auto"
    emg_gain_jitter: float = 0.0  # random per-channel EMG gains in training, log-normal sigma (SegmentDataset.gain_jitter)
    init_from: str | None = None  # a checkpoint whose same-named, same-shaped weights start the model (warm_start)
    # training and validation loss (see spectral_loss): "l1" on log1p magnitudes (the paper), or
    # "compressed": squared error of power-law compressed magnitudes |S|^0.3
    loss: str = "l1"
    # learning rate over the run: "constant" (the paper), or "cosine": lr * (1 + cos(pi * p)) / 2 at
    # the fraction p of max_epochs done, step by step, down to 0 at the last step (a fixed budget's
    # last steps then refine instead of jumping)
    lr_schedule: str = "constant"
    # the loss's over-suppression weight (spectral_loss): >1 makes removing speech cost more than
    # leaving noise in; 1 (the paper) is symmetric
    suppression_weight: float = 1.0
    # a loss on the rebuilt waveform added to the spectral loss (waveform_loss): None (the paper),
    # "sisdr" or "mrstft", times wave_weight (None: that kind's WAVE_WEIGHTS entry). With one, the
    # logged training and validation losses (and the best checkpoint) are the whole objective.
    wave_loss: str | None = None
    wave_weight: float | None = None
    # autocast of the forward pass: "fp32" (off), "bf16" or "fp16" (with a gradient scaler on a GPU);
    # the losses are computed in float32 either way
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if not self.suppression_weight >= 1.0:
            raise ValueError(f"suppression weight must be at least 1, got {self.suppression_weight!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.wave_loss is not None and self.wave_loss not in WAVE_LOSSES:
            raise ValueError(f"wave loss must be one of {', '.join(WAVE_LOSSES)}, got {self.wave_loss!r}")
        if self.wave_weight is not None and (self.wave_loss is None or not self.wave_weight > 0):
            raise ValueError(f"wave weight {self.wave_weight!r}: needs a wave loss and a number > 0")

    @property
    def wave_factor(self) -> float:
        """The waveform loss's weight in the objective (0 without one)."""
        if self.wave_loss is None:
            return 0.0
        return WAVE_WEIGHTS[self.wave_loss] if self.wave_weight is None else self.wave_weight


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


def _all_reduce(values: list[float], device: torch.device, op=dist.ReduceOp.SUM) -> list[float]:
    """Sum (or ``op``) a few numbers over the processes, on the GPU when NCCL needs it there."""
    t = torch.tensor(values, dtype=torch.float64, device=device if device.type == "cuda" else "cpu")
    dist.all_reduce(t, op=op)
    return t.tolist()


def _device(spec: str) -> torch.device:
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EmgseError("--device cuda requested but no GPU is available")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device(f"cuda:{local}" if spec == "cuda" else spec)
    return torch.device(spec)


def lr_at(config: TrainConfig, done: float) -> float:
    """The learning rate after ``done`` of ``config.max_epochs`` epochs (e.g. 2.5: half-way through the third)."""
    if config.lr_schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(done / config.max_epochs, 1.0)))


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919) % (2**31)


COMPRESSION = 0.3  # the power of the compressed loss (Braun & Tashev 2021, "A consolidated view of loss functions ...")
_COMPRESSION_EPS = 1e-6  # keeps the power's gradient finite at a zero magnitude


def compressed_magnitude(log_mag: torch.Tensor) -> torch.Tensor:
    """``|S|^0.3`` from a log1p magnitude ``(..., F)`` (negative magnitudes clamped to 0)."""
    return (torch.expm1(log_mag).clamp_min(0) + _COMPRESSION_EPS) ** COMPRESSION


def spectral_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, kind: str = "l1",
                  suppression_weight: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked spectral loss between log1p magnitudes ``(B, T, F)`` over the frames where ``mask``
    ``(B, T)`` is 1; returns ``(mean per bin, number of frames)``.

    ``"l1"``: ``|pred - target|`` on the log1p magnitudes (the paper). Near 0, log1p is linear, so
    quiet bins (consonants, high bands) weigh little against loud ones.
    ``"compressed"``: ``(|S_pred|^0.3 - |S|^0.3)^2`` on the magnitudes, a power-law compression that
    weighs quiet bins more (Braun & Tashev 2021).

    ``suppression_weight`` (alpha >= 1): a bin whose estimate falls below the clean target (speech
    removed) has its difference multiplied by alpha before ``|.|`` or squaring, an asymmetric loss
    that makes cutting speech cost more than leaving noise in (as VoiceFilter-Lite's, Wang et al.
    2020); 1 is the symmetric loss.
    """
    if kind == "l1":
        diff = pred - target
    elif kind == "compressed":
        diff = compressed_magnitude(pred) - compressed_magnitude(target)
    else:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {kind!r}")
    if suppression_weight != 1.0:
        diff = torch.where(diff < 0, suppression_weight * diff, diff)
    diff = diff.abs() if kind == "l1" else diff**2
    frames = mask.sum()
    loss = (diff.sum(-1) * mask).sum() / (frames * pred.shape[-1]).clamp_min(1)
    return loss, frames


def auxiliary_loss(model: torch.nn.Module, target: torch.Tensor, mask: torch.Tensor, kind: str = "l1",
                   suppression_weight: float = 1.0) -> torch.Tensor | float:
    """Weighted loss of a model's auxiliary predictions (``model.auxiliary()``); 0 for models without any.

    A term ``(weight, prediction)`` is a clean log1p magnitude (``emgse-prior``'s EMG speech prior),
    scored against the clean target by :func:`spectral_loss` (``kind``, ``suppression_weight``); a term
    ``(weight, prediction, truth)`` (``emgse-snr``'s speech share, ``(B, T, D)``) is scored by the L1
    distance to ``truth(target)`` over the frames ``mask`` keeps.
    """
    core = getattr(model, "module", model)  # DDP wraps the model
    total = 0.0
    for weight, pred, *truth in core.auxiliary() if hasattr(core, "auxiliary") else []:
        if truth:
            frames = mask[..., None].expand_as(pred)
            total = total + weight * ((pred - truth[0](target)).abs() * frames).sum() / frames.sum().clamp_min(1.0)
        else:
            total = total + weight * spectral_loss(pred, target, mask, kind, suppression_weight)[0]
    return total


# The waveform losses' default weights: each makes the term, on the demo's validation set at the demo's
# trained audio-mask (compressed loss), as large as that model's compressed spectral loss there.
WAVE_WEIGHTS = {"sisdr": 0.0040, "mrstft": 0.0057}  # benchmarks/wave_weights.py
MRSTFT_RESOLUTIONS = ((256, 64), (512, 128), (1024, 256))  # (n_fft = window, hop) in samples at 16 kHz
WAVE_MIN_SNR_DB = -30.0  # segments whose clean target lies this far below the noisy input are left out
_WAVE_EPS = 1e-8


def rebuild_segments(log_mag: torch.Tensor, phase: torch.Tensor, mask: torch.Tensor, audio_config: AudioConfig) -> torch.Tensor:
    """Waveforms ``(B, samples)`` of segments given as log1p magnitudes and phases ``(B, T, F)``, the
    frames where ``mask`` ``(B, T)`` is 0 silenced; by the project's inverse STFT (differentiable)."""
    magnitude = torch.expm1(log_mag).clamp_min(0.0) * mask[..., None]
    spec = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
    frames = log_mag.shape[1]
    length = (frames - 1) * audio_config.hop_length + audio_config.win_length - audio_config.pad_length
    return istft(spec, length, audio_config)


def _valid_segments(noisy: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B,)`` segments whose clean target is within :data:`WAVE_MIN_SNR_DB` of the noisy input
    (spectral energies): a silent stretch has no waveform to match."""
    def energy(log_mag: torch.Tensor) -> torch.Tensor:
        return (torch.expm1(log_mag).clamp_min(0) ** 2 * mask[..., None]).sum((1, 2))

    return energy(target) > energy(noisy) * 10 ** (WAVE_MIN_SNR_DB / 10) + _WAVE_EPS


def mrstft_loss(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss of ``estimate`` against ``reference`` ``(B, samples)``: the mean
    over :data:`MRSTFT_RESOLUTIONS` (Hann windows) of spectral convergence
    ``||S - S_hat||_F / ||S||_F`` plus the mean ``|log S - log S_hat|`` (Yamamoto et al. 2020)."""
    total = estimate.new_zeros(())
    for n_fft, hop in MRSTFT_RESOLUTIONS:
        window = torch.hann_window(n_fft, device=estimate.device, dtype=estimate.dtype)

        def mag(x, n_fft=n_fft, hop=hop, window=window):
            spec = torch.stft(x, n_fft, hop_length=hop, win_length=n_fft, window=window, center=True, return_complex=True)
            return (spec.real**2 + spec.imag**2).clamp_min(1e-14).sqrt()

        s, s_hat = mag(reference), mag(estimate)
        convergence = torch.linalg.vector_norm(s - s_hat) / torch.linalg.vector_norm(s).clamp_min(_WAVE_EPS)
        total = total + convergence + (torch.log(s) - torch.log(s_hat)).abs().mean()
    return total / len(MRSTFT_RESOLUTIONS)


def waveform_loss(pred: torch.Tensor, batch: dict, kind: str, audio_config: AudioConfig) -> torch.Tensor:
    """A loss on the rebuilt waveform: the estimate's magnitude ``pred`` ``(B, T, F)`` (log1p) with
    the noisy phase against the clean target with its own phase (``batch`` from a
    :class:`SegmentDataset` with ``phases``), both by the same inverse STFT over each segment. With
    level normalization both stay in the model's level domain (every frame divided by the same
    noisy-derived gain), so the two signals are compared on equal terms.

    ``"sisdr"``: the negative SI-SDR (dB) averaged over the segments; ``"mrstft"``:
    :func:`mrstft_loss` over them. Segments whose clean speech is silent (:func:`_valid_segments`)
    are left out; 0 (with a gradient path) when none is left.
    """
    device = pred.device
    target = batch["clean"].to(device)
    mask = batch["mask"].to(device)
    keep = _valid_segments(batch["noisy"].to(device), target, mask)
    if not bool(keep.any()):
        return pred.sum() * 0.0
    estimate = rebuild_segments(pred[keep], batch["noisy_phase"].to(device)[keep], mask[keep], audio_config)
    reference = rebuild_segments(target[keep], batch["clean_phase"].to(device)[keep], mask[keep], audio_config)
    if kind == "sisdr":
        return -si_sdr_tensor(reference, estimate, _WAVE_EPS).mean()
    if kind == "mrstft":
        return mrstft_loss(estimate, reference)
    raise ValueError(f"wave loss must be one of {', '.join(WAVE_LOSSES)}, got {kind!r}")


def objective(model: torch.nn.Module, pred: torch.Tensor, target: torch.Tensor, batch: dict, config: TrainConfig,
              audio_config: AudioConfig | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(logged loss, frames, trained objective)`` of a batch: the logged loss is the output's
    spectral loss plus the weighted waveform loss when there is one (the whole objective, which
    validation picks the best epoch by); the objective adds any auxiliary term (``emgse-prior``)."""
    frame_mask = batch["mask"].to(pred.device)
    loss, n = spectral_loss(pred, target, frame_mask, config.loss, config.suppression_weight)
    if config.wave_loss is not None:
        loss = loss + config.wave_factor * waveform_loss(pred, batch, config.wave_loss, audio_config)
    return loss, n, loss + auxiliary_loss(model, target, frame_mask, config.loss, config.suppression_weight)


def _forward(model: torch.nn.Module, batch: dict, device: torch.device, precision: str = "fp32") -> tuple[torch.Tensor, torch.Tensor]:
    """``(estimate, clean target)`` of a batch, the forward pass under ``precision``'s autocast
    (the estimate returned in float32, so every loss is computed in float32)."""
    noisy = batch["noisy"].to(device, non_blocking=True)
    emg = batch["emg"].to(device, non_blocking=True)
    dtype = PRECISIONS[precision]
    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        pred = model(noisy, emg)
    return pred.float(), batch["clean"].to(device, non_blocking=True)


def _batches(dataset: SegmentDataset, config: TrainConfig, epoch: int, d: _Dist, shuffle: bool) -> torch.utils.data.DataLoader:
    """This process's batches: training (``shuffle``) or validation (every segment, in order).

    Training: step ``s`` of every process together is batch ``s`` of the single-process run; each
    process takes every ``world``-th segment of it (``batch_size / world`` segments).
    """
    n = len(dataset)
    batch_size = config.batch_size
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))).tolist()
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


def train_epoch(model, optimizer, loader, device, config: TrainConfig, bar: tqdm | None, d: _Dist | None = None,
                epoch: int = 1, audio_config: AudioConfig | None = None, scaler: torch.amp.GradScaler | None = None) -> dict:
    """One pass over ``loader`` (epoch ``epoch``, 1-based: sets the scheduled learning rate step by step).

    The logged loss is the output's spectral loss, or with a waveform loss the whole objective
    (``audio_config``: the store's front-end, needed to rebuild waveforms). ``scaler``: the
    gradient scaler of fp16 training. Returns the loss, frames, steps, the share of time spent
    waiting for data and the frames of speech trained on per second (this process's)."""
    d = d or _Dist()
    n_steps = epoch_steps(loader, config)
    model.train()
    total, frames, steps, wait = 0.0, 0.0, 0, 0.0
    start = time.perf_counter()
    t_fetch = time.perf_counter()
    for batch in loader:
        wait += time.perf_counter() - t_fetch
        pred, target = _forward(model, batch, device, config.precision)
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
        total, frames = _all_reduce([total, frames], device)
    return {"loss": total / max(frames, 1), "frames": frames, "steps": steps, "data_wait": wait / max(seconds, 1e-9),
            "frames_per_s": own_frames / max(seconds, 1e-9)}


@torch.no_grad()
def validate(model, loader, device, d: _Dist, loss: str | TrainConfig = "l1", suppression_weight: float = 1.0,
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
        pred, target = _forward(model, batch, device, config.precision)
        value, n, _ = objective(model, pred, target, batch, config, audio_config)
        sums += torch.tensor([value.item() * n.item(), n.item()], dtype=torch.float64)
    if d.world > 1:
        sums = torch.tensor(_all_reduce(sums.tolist(), device), dtype=torch.float64)
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


def store_for(
    mixtures_dir: Path, split: str, emg_config: EmgConfig, *, audio_config: AudioConfig = AudioConfig(), progress: bool = True
) -> Path:
    """The feature store of ``split`` for these front-end settings, built on first use.

    Stores are cached inside the mixture folder under ``features/<channels>-<normalization>-<hash>/``
    (:func:`emgse.data.store_key`): every setting that changes the features (filter cutoff and
    order, window, edge padding, ...) selects its own store; the EMG context width does not.
    Under ``torchrun`` only rank 0 builds; the other ranks wait for it.
    """
    check_front_ends(audio_config, emg_config)
    path = Path(mixtures_dir) / "features" / store_key(audio_config, emg_config) / split
    if (path / "index.json").is_file():
        if FeatureStore.open(path).settings != store_settings(audio_config, emg_config):
            raise EmgseError(f"{path}: feature store built with other settings than requested; delete it to rebuild")
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


@functools.cache
def _model_traits(name: str) -> tuple[bool, bool, bool]:
    """``(causal, uses_emg, uses_audio)`` of a registered model (built once with its default arguments)."""
    model = build_model(name)
    return bool(getattr(model, "causal", False)), uses_emg(model), uses_audio(model)


def default_normalization(model: str) -> str:
    """The EMG normalization a model trains with unless told: ``zscore`` for causal models (their
    statistics come from the training data, so streaming can apply them), else the paper's ``minmax``."""
    return "zscore" if _model_traits(model)[0] else "minmax"


def check_normalization(model: str, normalization: str) -> None:
    """Refuse per-utterance min-max for a causal model that uses EMG: it needs the whole utterance."""
    causal, emg, _ = _model_traits(model)
    if causal and emg and normalization == "minmax":
        raise EmgseError(
            f"model {model!r} is causal but EMG normalization 'minmax' is per whole utterance (not causal); "
            "use --normalization zscore (the default for causal models) or none"
        )


DEFAULT_AUDIO_ONLY_SHARE = 0.5


def audio_only_share(model: str, share: float | str) -> float | None:
    """The share of each epoch's segments that audio-only speech makes (None: all of its segments).

    ``"auto"``: :data:`DEFAULT_AUDIO_ONLY_SHARE` for a model that uses EMG (so hours of speech
    without EMG do not drown minutes of paired data that teach the fusion), every segment for an
    audio-only model (for it the speech is ordinary training data); ``"all"``: every segment; a
    number in [0, 1): that share (see :class:`emgse.data.SegmentDataset`).
    """
    if share == "auto":
        return DEFAULT_AUDIO_ONLY_SHARE if _model_traits(model)[1] else None
    if share == "all":
        return None
    try:
        value = float(share)
    except (TypeError, ValueError):
        raise EmgseError(f"audio-only share {share!r}: use auto, all or a number in [0, 1)") from None
    if not 0.0 <= value < 1.0:
        raise EmgseError(f"audio-only share {share!r}: use auto, all or a number in [0, 1)")
    return value


def _check_resume(path: Path, ckpt: dict, expected: dict) -> None:
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


def model_args_for(config: TrainConfig, emg_dims: int, emg_config: EmgConfig) -> dict:
    """Data-dependent constructor arguments: ``emg_dims`` and ``context`` where the model takes them."""
    import inspect

    from emgse.models import MODELS

    if config.model not in MODELS:
        raise EmgseError(f"unknown model {config.model!r} (known: {', '.join(MODELS)})")
    params = inspect.signature(MODELS[config.model]).parameters
    args = {}
    if "emg_dims" in params:
        args["emg_dims"] = int(emg_dims)
    if "context" in params:
        args["context"] = emg_config.context
    return args


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


def _checked_config(config: TrainConfig, d: _Dist) -> TrainConfig:
    """Checks every data source shares; the waveform loss's weight made explicit (the checkpoint records it)."""
    if d.world > 1 and config.batch_size % d.world:
        raise EmgseError(f"batch size {config.batch_size} is the global batch: it must be a multiple of the {d.world} processes")
    if config.wave_loss is not None:
        if not _model_traits(config.model)[2]:
            raise EmgseError(f"model {config.model!r} does not take audio: a waveform loss needs the microphone's phase (leave out --wave-loss)")
        config = dataclasses.replace(config, wave_weight=config.wave_factor)
    return config


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
    audio_only_store: str | Path | None = None,
) -> dict:
    """Train a model on a feature store (the paper's fixed mixtures); returns a summary (best epoch,
    losses, timings).

    ``run_dir`` receives ``config.yaml``, ``log.csv``, ``last.pt``, ``best.pt``, ``summary.json``.
    ``context``: EMG context frames per side; default the store's. Stores hold per-frame features
    of whole utterances and are shared by every context width (their key leaves the context out),
    so the width must be given here, not taken from whichever run built it.

    ``audio_only_store``: a store of audio-only speech (``emgse mix --speech-only``) whose
    segments join training with EMG absent, at ``config.audio_only_share`` of each epoch
    (:func:`audio_only_share`); validation and the z-score statistics use paired data only.
    Mixtures drawn on the fly instead: :func:`train_sampled`.
    """
    device = _device(config.device)
    d = _setup_distributed(device.type)
    config = _checked_config(config, d)
    if config.wave_loss is not None:
        if d.main:  # phases beside the stores' magnitudes, once (other ranks wait for rank 0's files)
            for store in (train_store, val_store, audio_only_store):
                if store is not None:
                    add_phases(store, progress=progress)
        if d.world > 1:
            dist.barrier()
    tr, va = FeatureStore.open(train_store), FeatureStore.open(val_store)
    check_store_matches(tr, va)
    audio_config = from_dict(AudioConfig, tr.index["audio_config"])
    emg_config = from_dict(EmgConfig, tr.index["emg_config"])
    if context is not None:
        emg_config = dataclasses.replace(emg_config, context=context)
    check_normalization(config.model, emg_config.normalization)
    share = audio_only_share(config.model, config.audio_only_share)  # checked before any work
    ao = None
    if audio_only_store is not None:
        ao = FeatureStore.open(audio_only_store)
        check_audio_only_store(tr, ao)
        if not _model_traits(config.model)[2]:
            raise EmgseError(f"model {config.model!r} does not take audio: audio-only speech cannot train it (leave out the audio-only mixtures)")
    # emg.npy holds the paired utterances' frames only: audio-only speech never moves the statistics
    zscore = ZScore.fit([tr.emg]) if emg_config.normalization == "zscore" else None
    z = zscore.float32() if zscore else None
    # a model that never hears the microphone learns clean speech at one level (SegmentDataset)
    target_rms = None if _model_traits(config.model)[2] else LEVEL_RMS
    train_set = SegmentDataset(tr, config.segment, emg_config.context, zscore=z, random=True, seed=config.seed,
                               audio_only=ao, audio_only_share=share, target_rms=target_rms, gain_jitter=config.emg_gain_jitter,
                               phases=config.wave_loss is not None)
    val_set = SegmentDataset(va, config.segment, emg_config.context, zscore=z, random=False, target_rms=target_rms,
                             phases=config.wave_loss is not None)

    def epoch_batches(epoch: int):
        train_set.set_epoch(epoch)
        return _batches(train_set, config, epoch, d, shuffle=True)

    audio_only_note = f" ({train_set.absent_segments} of them audio-only, EMG absent)" if ao is not None else ""
    data = TrainingData(
        epoch_batches, lambda: _batches(val_set, config, 0, d, shuffle=False), audio_config, emg_config, tr.emg_dims,
        float(tr.index["emg_fs"]), int(tr.index["emg_channels"]), list(tr.index["channels"]), zscore, target_rms,
        f"{len(train_set)} training{audio_only_note} / {len(val_set)} validation segments",
        {"audio_only_mixtures": len(ao) if ao is not None else 0, "audio_only_share": share if ao is not None else None},
    )
    return fit(data, run_dir, config, resume=resume, progress=progress, model_args=model_args, device=device, d=d)


class SampledEpoch:
    """An epoch of on-the-fly batches: step ``i`` of epoch ``e`` is the sampler's batch
    ``(e - 1) * steps + i`` (so a resumed run draws exactly the batches it would have), ``size``
    crops each (this process's share of the global batch)."""

    def __init__(self, sampler, epoch: int, steps: int, size: int):
        self.sampler, self.epoch, self.steps, self.size = sampler, epoch, steps, size

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        first = (self.epoch - 1) * self.steps
        for i in range(self.steps):
            yield self.sampler.batch(first + i, self.size)


def train_sampled(
    train_speech,
    val_speech,
    noise,
    run_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    sampler_config=None,
    val_noise=None,
    audio_config: AudioConfig | None = None,
    emg_config: EmgConfig = EmgConfig(),
    resume: bool = False,
    progress: bool = True,
    model_args: dict | None = None,
    absent_share: float | None = None,
) -> dict:
    """Train on mixtures drawn on the fly (:mod:`emgse.sampler`) on the training device.

    ``train_speech``, ``val_speech``: :class:`emgse.sampler.SpeechPool` (on the CPU; moved to the
    device here); ``noise`` (and ``val_noise``, default ``noise``): :class:`emgse.sampler.NoisePool`;
    ``sampler_config``: :class:`emgse.sampler.SamplerConfig`; ``audio_config``: the front-end
    (default: the level rule on); ``emg_config``: the EMG front-end the pools' features were made
    with (its ``context`` sets the margins). Each epoch is ``sampler_config.steps_per_epoch`` steps of
    ``config.batch_size`` crops; validation is a fixed, seeded set of ``val_crops`` crops of
    ``val_speech``. ``absent_share``: see :class:`emgse.sampler.MixtureSampler`. The run folder is
    as :func:`train`'s, with ``sampler_config.yaml`` beside.
    """
    from emgse.features.level import with_level
    from emgse.sampler import MixtureSampler, SamplerConfig

    sampler_config = sampler_config or SamplerConfig()
    audio_config = audio_config or with_level()
    device = _device(config.device)
    d = _setup_distributed(device.type)
    config = _checked_config(config, d)
    check_normalization(config.model, emg_config.normalization)
    uses = _model_traits(config.model)
    if uses[1] and not (train_speech.emg_dims and bool(train_speech.has_emg.any())):
        raise EmgseError(f"model {config.model!r} uses EMG but the training speech has none (give a prepared corpus with EMG)")
    if config.emg_gain_jitter and emg_config.normalization == "minmax":
        raise EmgseError("EMG gain jitter needs raw features (z-score or none): per-utterance min-max removes the gains")
    target_rms = None if uses[2] else LEVEL_RMS
    common = {"context": emg_config.context, "target_rms": target_rms, "phases": config.wave_loss is not None}
    sampler = MixtureSampler(train_speech.to(device), noise.to(device), sampler_config, audio_config, **common,
                             emg_gain_jitter=config.emg_gain_jitter, seed=config.seed, rank=d.rank, absent_share=absent_share)
    val_sampler = MixtureSampler(val_speech.to(device), (val_noise or noise).to(device), sampler_config, audio_config, **common,
                                 seed=config.seed, rank=0)
    val_all = val_sampler.fixed_batches(sampler_config.val_crops, config.batch_size)
    val_mine = val_all[d.rank :: d.world]
    size = config.batch_size // d.world
    steps = sampler_config.steps_per_epoch
    data = TrainingData(
        lambda epoch: SampledEpoch(sampler, epoch, steps, size), lambda: val_mine, audio_config, emg_config,
        train_speech.emg_dims, train_speech.emg_fs or 2000.0, train_speech.emg_channels, list(train_speech.channels),
        train_speech.zscore, target_rms,
        f"mixed on the fly from {len(train_speech)} utterances x {len(noise.names)} noises "
        f"({steps} steps of {config.batch_size} x {sampler_config.crop_s:g} s per epoch); {sampler_config.val_crops} validation crops "
        f"from {len(val_speech)} utterances",
        {"training_data": "on the fly", "train_utterances": len(train_speech), "noises": len(noise.names)},
    )
    if d.main:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        save_config(sampler_config, Path(run_dir) / "sampler_config.yaml")
    return fit(data, run_dir, config, resume=resume, progress=progress, model_args=model_args, device=device, d=d,
               extra={"sampler_config": to_dict(sampler_config)})


def fit(data: TrainingData, run_dir: str | Path, config: TrainConfig, *, resume: bool = False, progress: bool = True,
        model_args: dict | None = None, device: torch.device | None = None, d: _Dist | None = None,
        extra: dict | None = None) -> dict:
    """The training loop over any :class:`TrainingData`: build the model (or resume it), then epochs of
    :func:`train_epoch` and :func:`validate`, writing the run folder (see :func:`train`)."""
    run_dir = Path(run_dir)
    device = device or _device(config.device)
    d = d or _Dist()
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
        _check_resume(last, ckpt, base)
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
    log_rows = _read_log(run_dir / "log.csv", state["epoch"]) if d.main else []
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
        torch.manual_seed(_epoch_seed(config.seed, epoch))  # dropout
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
            _write_log(run_dir / "log.csv", log_rows)
            tqdm.write(
                f"{config.model} epoch {epoch}: train {result['loss']:.4f}  val {val_loss:.4f}"
                f"{'  *best*' if improved else ''}  ({seconds:.1f} s, {result['frames_per_s']:,.0f} frames/s, "
                f"data wait {100 * result['data_wait']:.1f}%)"
            )
        stop = state["stale"] >= config.patience
        budget = config.max_minutes is not None and state["elapsed"] / 60 >= config.max_minutes
        if d.world > 1:  # every rank must agree to stop
            stop, budget = (bool(x) for x in _all_reduce([float(stop), float(budget)], device, op=dist.ReduceOp.MAX))
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


def train_from_sources(
    run_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    noise: list[str | Path],
    data: str | Path | None = None,
    speech: list[str | Path] | None = None,
    val_noise: list[str | Path] | None = None,
    val_share: float = 0.05,
    sampler_config=None,
    audio_config: AudioConfig | None = None,
    emg_config: EmgConfig = EmgConfig(),
    resume: bool = False,
    progress: bool = True,
    model_args: dict | None = None,
) -> dict:
    """Train on mixtures drawn on the fly from recordings (``emgse train --data/--speech --noise``).

    ``data``: a prepared corpus with EMG (its ``train`` split trains, ``val`` validates); ``speech``:
    folders of audio-only speech, which join training with EMG absent (at
    ``config.audio_only_share`` of the crops for an EMG model, see :func:`audio_only_share`) and,
    without ``data``, give the validation speech too (``val_share`` of their speakers held out,
    :func:`emgse.sampler.speech_folders`); ``noise`` (``val_noise``, default the same): noise
    sources as :meth:`emgse.mixing.NoiseBank.from_sources` takes them; ``model_args``: the model's
    constructor arguments (None: the defaults with the data's EMG layout). See :func:`train_sampled`.
    """
    from emgse.mixing import NoiseBank
    from emgse.sampler import NoisePool, SpeechPool, corpus_split, speech_folders

    if data is None and not speech:
        raise EmgseError("nothing to train on: give a prepared corpus (--data) or speech folders (--speech)")
    if not 0.0 <= val_share < 1.0:
        raise EmgseError(f"validation share {val_share!r}: must be in [0, 1)")
    check_normalization(config.model, emg_config.normalization)
    share = audio_only_share(config.model, config.audio_only_share)
    bank = NoiseBank.from_sources(list(noise))
    val_bank = NoiseBank.from_sources(list(val_noise)) if val_noise else bank
    extra_train, extra_val = speech_folders(speech, val_share=0.0 if data is not None else val_share, seed=config.seed) if speech else (([], []), ([], []))
    if data is not None:
        audio, ids, feats, meta = corpus_split(data, "train", emg_config)
        v_audio, v_ids, v_feats, _ = corpus_split(data, "val", emg_config)
        zscore = "fit" if emg_config.normalization == "zscore" else None
        train_pool = SpeechPool.build(audio + extra_train[0], ids + extra_train[1], emg=feats + [None] * len(extra_train[0]),
                                      zscore=zscore, emg_meta=meta)
        val_pool = SpeechPool.build(v_audio, v_ids, emg=v_feats, zscore=train_pool.zscore, emg_meta=meta)
    else:
        if not extra_val[0]:
            raise EmgseError("no validation speech: give --val-share > 0 (speech held out of --speech) or a prepared corpus (--data)")
        train_pool = SpeechPool.build(*extra_train)
        val_pool = SpeechPool.build(*extra_val)
    return train_sampled(train_pool, val_pool, NoisePool.from_bank(bank), run_dir, config, sampler_config=sampler_config,
                         val_noise=NoisePool.from_bank(val_bank), audio_config=audio_config, emg_config=emg_config,
                         resume=resume, progress=progress, model_args=model_args, absent_share=share)
