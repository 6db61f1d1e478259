"""Causal (streamable) variants of the paper's networks.

Same layer sizes as :mod:`emgse.models.paper`, with two changes so that output frame ``t`` depends
only on input frames ``<= t + lookahead``:

- the decoder is a 2-layer *unidirectional* LSTM (hidden 300) followed by 300 -> 257 + ReLU;
- the EMG encoder's first layer is a dense layer over ``past`` frames before, the current frame and
  ``lookahead`` frames after (frame-major ``[x[t-past], ..., x[t+lookahead]]``), not ``±context``.

The interface is the registry's: ``forward(log_mag (B, T, 257), emg (B, T + 2K, dims))`` where
``K = context`` is the margin the data pipeline supplies (``EmgConfig.context``); the model crops
the ``past``/``lookahead`` frames it needs from that margin, so the trainer, the Enhancer and
evaluation work unchanged. :meth:`step` runs one frame with explicit LSTM state, which is what
:mod:`emgse.stream` and :mod:`emgse.export` use.

:class:`CausalMaskSE` (``causal-audio-mask``) is instead ``audio-mask`` made causal (the masking
family's layers and names, a unidirectional LSTM), with the same per-frame :meth:`step`.

Per-utterance min-max normalization of the EMG features looks at the whole utterance and so is
not causal: train causal models with ``--normalization zscore`` (or ``none``) to stream them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from emgse.errors import EmgseError
from emgse.models.fusion import apply_mask
from emgse.models.paper import N_BINS, SpectrogramEncoder, init_paper

HIDDEN = 300
LAYERS = 2


class CausalContextLinear(nn.Module):
    """A dense layer over ``past`` frames before, the current one and ``lookahead`` after.

    ``(B, T + past + lookahead, dims) -> (B, T, out)``; ``weight`` is ``(out, (past+lookahead+1) * dims)``
    like ``nn.Linear`` on frame-major stacks, applied as a convolution over time.
    """

    def __init__(self, dims: int, past: int, lookahead: int, out: int):
        super().__init__()
        self.dims, self.past, self.lookahead = dims, past, lookahead
        self.span = past + lookahead + 1
        self.weight = nn.Parameter(torch.empty(out, self.span * dims))
        self.bias = nn.Parameter(torch.zeros(out))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = self.weight.view(-1, self.span, self.dims).transpose(1, 2)  # (out, dims, span)
        return F.conv1d(x.transpose(1, 2), kernel, self.bias).transpose(1, 2)  # (B, T, out)

    def step(self, window: torch.Tensor) -> torch.Tensor:
        """One frame: ``window`` ``(B, span, dims)`` (oldest first) -> ``(B, out)``."""
        return F.linear(window.reshape(window.shape[0], -1), self.weight, self.bias)


class CausalDecoder(nn.Module):
    """2-layer unidirectional LSTM (hidden 300) and a ReLU output layer: (B, T, in) -> (B, T, 257)."""

    def __init__(self, inp: int = 200, hidden: int = HIDDEN, layers: int = LAYERS, n_bins: int = N_BINS):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.lstm = nn.LSTM(inp, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, n_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)  # (B, T, hidden)
        return F.relu(self.out(h))

    def step(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One frame ``x`` ``(B, in)`` with state ``h, c`` ``(layers, B, hidden)`` -> ``(B, 257), h, c``
        (:func:`lstm_step`)."""
        x, h, c = lstm_step(self.lstm, x, h, c)
        return F.relu(self.out(x)), h, c


def lstm_step(lstm: nn.LSTM, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One frame of a unidirectional ``nn.LSTM``: ``x`` ``(B, in)``, state ``h, c`` ``(layers, B,
    hidden)`` -> ``(top layer's output (B, hidden), h, c)``, the same numbers as ``lstm`` on a
    sequence, step by step.

    The LSTM equations written out (gates i, f, g, o as in ``nn.LSTM``): for single frames this is
    several times faster on CPU than ``nn.LSTM``'s oneDNN path, and it exports to ONNX as plain
    matrix products.
    """
    hs, cs = [], []
    for layer in range(lstm.num_layers):
        w_ih = getattr(lstm, f"weight_ih_l{layer}")
        w_hh = getattr(lstm, f"weight_hh_l{layer}")
        bias = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
        gates = F.linear(x, w_ih, bias) + F.linear(h[layer], w_hh)  # (B, 4 * hidden)
        i, f, g, o = gates.chunk(4, dim=-1)
        cell = torch.sigmoid(f) * c[layer] + torch.sigmoid(i) * torch.tanh(g)
        x = torch.sigmoid(o) * torch.tanh(cell)
        hs.append(x)
        cs.append(cell)
    return x, torch.stack(hs), torch.stack(cs)


class _CausalBase(nn.Module):
    """Shared step/forward logic; subclasses define the encoders and the fusion input size."""

    uses_emg = True
    uses_audio = True
    causal = True

    def _init(self, emg_dims: int | None, context: int, past: int | None, lookahead: int, dropout: float, n_bins: int) -> None:
        past = context if past is None else past
        if lookahead < 0 or past < 0:
            raise EmgseError(f"causal model: past ({past}) and lookahead ({lookahead}) must be >= 0")
        if self.uses_emg and (past > context or lookahead > context):
            raise EmgseError(
                f"causal model: past ({past}) and lookahead ({lookahead}) frames must fit in the data's EMG margin "
                f"(context {context}); raise --context"
            )
        self.context, self.past = context, past
        self.lookahead = lookahead if self.uses_emg else 0
        self.spectrogram_encoder = SpectrogramEncoder(n_bins)
        fusion_in = 100
        if self.uses_emg:
            self.emg_first = CausalContextLinear(emg_dims, past, lookahead, 200)
            self.emg_rest = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(200, 100), nn.ReLU(), nn.Dropout(dropout))
            fusion_in = 200
        self.fusion = nn.Sequential(nn.Linear(fusion_in, 200), nn.ReLU())
        self.decoder = CausalDecoder(200, n_bins=n_bins)
        init_paper(self)

    @property
    def emg_span(self) -> int:
        """EMG frames one output frame sees: ``past + 1 + lookahead``."""
        return self.past + 1 + self.lookahead

    def _fused(self, log_mag: torch.Tensor, emg_window: torch.Tensor | None, step: bool) -> torch.Tensor:
        a = self.spectrogram_encoder(log_mag)
        if not self.uses_emg:
            return self.fusion(a)
        e = self.emg_first.step(emg_window) if step else self.emg_first(emg_window)
        return self.fusion(torch.cat([a, self.emg_rest(e)], dim=-1))

    def forward(self, log_mag: torch.Tensor, emg: torch.Tensor | None = None) -> torch.Tensor:
        """``log_mag`` ``(B, T, 257)``, ``emg`` ``(B, T + 2K, dims)`` -> ``(B, T, 257)``."""
        window = None
        if self.uses_emg:
            k, t = self.context, log_mag.shape[1]
            window = emg[:, k - self.past : k + t + self.lookahead]  # (B, T + past + lookahead, dims)
        return self.decoder(self._fused(log_mag, window, step=False))

    def initial_state(self, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero LSTM state ``(h, c)``, each ``(layers, batch, hidden)``."""
        z = torch.zeros(self.decoder.layers, batch, self.decoder.hidden)
        return z, z.clone()

    def step(
        self, log_mag: torch.Tensor, emg_window: torch.Tensor | None, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One frame: ``log_mag`` ``(B, 257)``, ``emg_window`` ``(B, emg_span, dims)`` (frames
        ``t - past .. t + lookahead``), LSTM state ``h, c`` ``(layers, B, hidden)`` ->
        ``(estimate (B, 257), h, c)``."""
        return self.decoder.step(self._fused(log_mag, emg_window, step=True), h, c)  # (B, 200) in


class CausalEmgSE(_CausalBase):
    """EMGSE with a unidirectional decoder and past-plus-lookahead EMG context.

    Args:
        emg_dims: per-frame EMG feature dims (channels * 5).
        context: the EMG margin the data supplies on each side (``EmgConfig.context``).
        past: EMG frames before the current one (default: ``context``).
        lookahead: EMG frames after the current one (0-2; each adds 8 ms of latency).
    """

    def __init__(self, emg_dims: int = 175, context: int = 15, past: int | None = None, lookahead: int = 1,
                 n_bins: int = N_BINS, dropout: float = 0.5):
        super().__init__()
        self._init(emg_dims, context, past, lookahead, dropout, n_bins)


class CausalAudioOnlySE(_CausalBase):
    """The audio-only baseline with a unidirectional decoder (EMG arguments accepted and ignored)."""

    uses_emg = False

    def __init__(self, emg_dims: int | None = None, context: int = 15, n_bins: int = N_BINS):
        super().__init__()
        self._init(None, context, 0, 0, 0.0, n_bins)


def _lookahead(frames: int):
    def build(emg_dims: int = 175, context: int = 15, **kwargs) -> CausalEmgSE:
        return CausalEmgSE(emg_dims, context, **{"lookahead": frames, **kwargs})

    build.__doc__ = f"``causal-emgse`` with {frames} frame(s) of EMG lookahead ({32 + 8 * frames} ms algorithmic latency)."
    return build


class CausalMaskSE(nn.Module):
    """``causal-audio-mask``: ``audio-mask`` made causal: a bounded mask from a unidirectional LSTM (32 ms latency).

    The layers of :class:`emgse.models.fusion.MaskFusionSE`'s audio path, with the same names, and a
    2-layer *unidirectional* LSTM in place of the bidirectional one: spectrogram encoder (257 ->
    ``hidden``, LayerNorm, ReLU), LSTM, and a mask ``sigmoid(out(h))`` in [0, 1] on the noisy
    magnitude (:func:`emgse.models.fusion.apply_mask`). Output frame ``t`` depends on input frames
    ``<= t`` only. ``emgse train --init-from`` an ``audio-mask`` checkpoint starts it from that
    model's encoder and the forward direction of its first LSTM layer (the weights whose names and
    shapes match). EMG arguments are accepted and ignored.
    """

    uses_emg = False
    uses_audio = True
    causal = True
    lookahead = 0
    emg_span = 1

    def __init__(self, emg_dims: int | None = None, context: int = 15, n_bins: int = N_BINS, hidden: int = 256):
        super().__init__()
        self.context = context
        self.spectrogram_encoder = nn.Sequential(nn.Linear(n_bins, hidden), nn.LayerNorm(hidden), nn.ReLU())
        self.lstm = nn.LSTM(hidden, hidden, num_layers=2, batch_first=True)
        self.out = nn.Linear(hidden, n_bins)

    def forward(self, log_mag: torch.Tensor, emg: torch.Tensor | None = None) -> torch.Tensor:
        """``log_mag`` ``(B, T, 257)`` -> the estimate ``(B, T, 257)`` (``emg`` ignored)."""
        h, _ = self.lstm(self.spectrogram_encoder(log_mag))  # (B, T, hidden)
        return apply_mask(self.out(h), log_mag)

    def initial_state(self, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero LSTM state ``(h, c)``, each ``(layers, batch, hidden)``."""
        z = torch.zeros(self.lstm.num_layers, batch, self.lstm.hidden_size)
        return z, z.clone()

    def step(self, log_mag: torch.Tensor, emg_window: torch.Tensor | None, h: torch.Tensor, c: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One frame: ``log_mag`` ``(B, 257)`` (``emg_window`` ignored), state ``h, c`` ``(2, B,
        hidden)`` -> ``(estimate (B, 257), h, c)``; the mask in its exportable form (equal to
        :meth:`forward` to float32 rounding)."""
        x, h, c = lstm_step(self.lstm, self.spectrogram_encoder(log_mag), h, c)
        return apply_mask(self.out(x), log_mag, exportable=True), h, c


MODELS = {
    "causal-audio": CausalAudioOnlySE,
    "causal-audio-mask": CausalMaskSE,
    "causal-emgse": CausalEmgSE,  # lookahead 1 frame: 32 + 8 = 40 ms algorithmic latency
    "causal-emgse-l0": _lookahead(0),
    "causal-emgse-l2": _lookahead(2),
}
