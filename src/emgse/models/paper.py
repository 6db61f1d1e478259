"""The published EMGSE networks (Wang et al., ICASSP 2022), layer for layer.

- SpectrogramEncoder: 257 -> 128 -> 100, linear + ReLU each.
- EmgEncoder: (2K+1) * channels * 5 stacked TD features -> 200 -> 100, linear + ReLU, dropout 0.5
  after each (5425 inputs for 35 channels and K = 15).
- FusionLayer: concatenation (200) -> 200 + ReLU (audio-only: 100 -> 200).
- Decoder: 2-layer bidirectional LSTM, hidden 300, the two directions summed; 300 -> 257 + ReLU.
- Xavier-uniform weights, zero biases.

The EMG encoder's first layer is the paper's dense layer over the stacked context; it is applied
as a 1-D convolution over per-frame features whose kernel is that same weight matrix viewed as
``(200, 2K+1, dims)``. This is exactly the dense layer on frame-major stacked inputs, without
materializing the 5425-wide stack.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

N_BINS = 257


def init_paper(module: nn.Module) -> None:
    """Xavier-uniform weights (with the dense layer's fans) and zero biases, as in the paper."""
    for name, p in module.named_parameters():
        if name.endswith("bias") or "bias_" in name:
            nn.init.zeros_(p)
        elif p.dim() >= 2:
            nn.init.xavier_uniform_(p)


class SpectrogramEncoder(nn.Module):
    def __init__(self, n_bins: int = N_BINS, hidden: int = 128, out: int = 100):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_bins, hidden), nn.ReLU(), nn.Linear(hidden, out), nn.ReLU())

    def forward(self, log_mag: torch.Tensor) -> torch.Tensor:  # (B, T, 257) -> (B, T, 100)
        return self.net(log_mag)


class ContextLinear(nn.Module):
    """A dense layer over ``±context`` stacked frames, ``(B, T + 2K, dims) -> (B, T, out)``.

    ``weight`` is ``(out, (2K+1) * dims)`` like ``nn.Linear`` on frame-major stacks
    ``[x[t-K], ..., x[t+K]]``; it runs as a convolution over time.
    """

    def __init__(self, dims: int, context: int, out: int):
        super().__init__()
        self.dims, self.context = dims, context
        self.weight = nn.Parameter(torch.empty(out, (2 * context + 1) * dims))
        self.bias = nn.Parameter(torch.zeros(out))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = 2 * self.context + 1
        kernel = self.weight.view(-1, k, self.dims).transpose(1, 2)  # (out, dims, 2K+1)
        y = F.conv1d(x.transpose(1, 2), kernel, self.bias)  # (B, out, T)
        return y.transpose(1, 2)


class EmgEncoder(nn.Module):
    def __init__(self, dims: int, context: int = 15, hidden: int = 200, out: int = 100, dropout: float = 0.5):
        super().__init__()
        self.context = context
        self.first = ContextLinear(dims, context, hidden)
        self.rest = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, emg: torch.Tensor) -> torch.Tensor:  # (B, T + 2K, dims) -> (B, T, 100)
        return self.rest(self.first(emg))


class Decoder(nn.Module):
    """2-layer BLSTM (directions summed) and a ReLU output layer: (B, T, in) -> (B, T, 257)."""

    def __init__(self, inp: int = 200, hidden: int = 300, layers: int = 2, n_bins: int = N_BINS):
        super().__init__()
        self.hidden = hidden
        self.lstm = nn.LSTM(inp, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        self.out = nn.Linear(hidden, n_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)  # (B, T, 2 * hidden)
        h = h[..., : self.hidden] + h[..., self.hidden :]
        return F.relu(self.out(h))


class AudioOnlySE(nn.Module):
    """The paper's audio-only baseline: spectrogram encoder -> 100 -> 200 -> BLSTM decoder."""

    uses_emg = False
    uses_audio = True

    def __init__(self, n_bins: int = N_BINS):
        super().__init__()
        self.spectrogram_encoder = SpectrogramEncoder(n_bins)
        self.fusion = nn.Sequential(nn.Linear(100, 200), nn.ReLU())
        self.decoder = Decoder(200, n_bins=n_bins)
        init_paper(self)

    def forward(self, log_mag: torch.Tensor, emg: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(self.fusion(self.spectrogram_encoder(log_mag)))


class EmgSE(nn.Module):
    """EMGSE: spectrogram and EMG encoders, concatenated, fused (200 -> 200), BLSTM decoder.

    Args:
        emg_dims: per-frame EMG feature dims (channels * 5; 175 for 35 channels).
        context: frames of EMG context on each side (15: 5425 stacked inputs for 35 channels).
    """

    uses_emg = True
    uses_audio = True

    def __init__(self, emg_dims: int = 175, context: int = 15, n_bins: int = N_BINS, dropout: float = 0.5):
        super().__init__()
        self.context = context
        self.spectrogram_encoder = SpectrogramEncoder(n_bins)
        self.emg_encoder = EmgEncoder(emg_dims, context, dropout=dropout)
        self.fusion = nn.Sequential(nn.Linear(200, 200), nn.ReLU())
        self.decoder = Decoder(200, n_bins=n_bins)
        init_paper(self)

    def forward(self, log_mag: torch.Tensor, emg: torch.Tensor) -> torch.Tensor:
        a = self.spectrogram_encoder(log_mag)  # (B, T, 100)
        e = self.emg_encoder(emg)  # (B, T, 100)
        return self.decoder(self.fusion(torch.cat([a, e], dim=-1)))


class EmgOnlySE(nn.Module):
    """EMG alone -> clean spectrum (no audio input): EMG encoder -> 100 -> 200 -> BLSTM decoder."""

    uses_emg = True
    uses_audio = False

    def __init__(self, emg_dims: int = 175, context: int = 15, n_bins: int = N_BINS, dropout: float = 0.5):
        super().__init__()
        self.context = context
        self.emg_encoder = EmgEncoder(emg_dims, context, dropout=dropout)
        self.fusion = nn.Sequential(nn.Linear(100, 200), nn.ReLU())
        self.decoder = Decoder(200, n_bins=n_bins)
        init_paper(self)

    def forward(self, log_mag: torch.Tensor | None, emg: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.fusion(self.emg_encoder(emg)))


MODELS = {"audio": AudioOnlySE, "emgse": EmgSE, "emg-only": EmgOnlySE}
