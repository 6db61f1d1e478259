"""Streaming enhancement: audio and EMG in 8 ms hops in, enhanced audio out, hop by hop.

A :class:`Streamer` holds everything the offline front-end computes over a whole recording as
state that advances one hop (128 audio samples at 16 kHz; ``0.008 * emg_fs`` EMG samples) at a
time:

- audio: the last 512 samples (starting as the 384 zeros of the offline edge padding), one STFT
  frame per hop, the frames waiting for EMG lookahead, and the overlap-add tail of the inverse STFT;
- EMG (:class:`StreamingTD`): the Butterworth band-split filter state (``lfilter`` ``zi``), the last
  64 samples of each band and the per-frame TD features of the last ``past + 1 + lookahead`` frames;
  the first hop is preceded by 48 copies of its first sample, as offline;
- the model: the LSTM state of a causal model (:mod:`emgse.models.causal`);
- with ``AudioConfig.level_rms``: the running power of the input level rule
  (:class:`emgse.features.level.RunningLevel`, the same gains as offline).

The EMG length rule is the offline one (:func:`emgse.features.emg.fit_emg`): :func:`stream_array`
trims the raw EMG to the audio's hops or pads it by repeating its last sample, and :meth:`Streamer.flush`
holds the last sample for the grid's end padding. The channel check is the offline one too
(:class:`emgse.faults.ChannelCheck`, fed hop by hop, where the checkpoint calls for it).

Frame ``f`` of the STFT is complete after hop ``f``; the model can run it once EMG frame
``f + lookahead`` has arrived; its overlap-add makes output samples ``[128 (f-3), 128 (f-2))``
final. Every :meth:`Streamer.push` therefore returns 128 samples that are the offline output
delayed by ``delay = (win - hop) + lookahead * hop`` samples (zeros during the first hops), and
:meth:`Streamer.flush` returns the last ``delay`` samples, treating the end exactly as the offline
front-end does (zero audio, edge-repeated EMG). Streamed output equals ``Enhancer.enhance`` on the
same input to float32 rounding (tested to 1e-5).

Real-world input: an EMG hop given as ``None`` (lost, or arrived too late) is *absent*: the filters
are fed the last sample held, and every feature frame whose 32 ms window touches the gap is set
to zero (the training mean after z-scoring), as beyond the ends of an utterance offline. NaN/Inf
samples are treated the same way (EMG) or replaced by zeros (audio). ``dc_block=True`` removes a
DC offset from the audio with a one-pole high-pass (not part of the offline model, so it breaks
exact parity). Per-utterance min-max normalization is not causal: min-max checkpoints are refused.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
import torch
from scipy.signal import lfilter

from emgse.enhance import Enhancer, check_emg_length, limit_attenuation
from emgse.errors import EmgseError, file_error
from emgse.faults import ChannelCheck
from emgse.features.audio import analysis_window
from emgse.features.emg import ZScore, fit_emg, zero_channels
from emgse.features.level import RunningLevel
from emgse.features.resample import resample
from emgse.features.td import N_TD, _filters, frame_samples, frame_window, settled_high
from emgse.files import check_output, read_audio, read_npy, write_wav

HOLD = "hold"  # flush marker: feed the last EMG sample again (the offline edge padding at the end)
DC_POLE = 0.995  # one-pole DC blocker: y[n] = x[n] - x[n-1] + r y[n-1] (-3 dB near 13 Hz at 16 kHz)


class StreamingTD:
    """TD features of the selected EMG channels, one frame per hop, with filter state.

    Args:
        fs: EMG rate (Hz); the 32 ms frame and 8 ms hop must be whole samples.
        channels: indices of the channels used (of ``n_channels`` in the recording).
        zscore: the training statistics (:class:`emgse.features.emg.ZScore`, float32) or None (features as computed).
        check: the channel check (over the selected channels), fed every hop received; the
            features of a channel it finds unusable are zero (after normalization), as offline.
    """

    def __init__(self, fs: float, channels: list[int], n_channels: int, *, win_s: float = 0.032, hop_s: float = 0.008,
                 cutoff_hz: float = 134.0, order: int = 3, periodic: bool = False,
                 zscore: ZScore | None = None, check: ChannelCheck | None = None):
        self.win = frame_samples(fs, win_s, "frame")
        self.hop = frame_samples(fs, hop_s, "hop")
        if self.win % self.hop:
            raise EmgseError(f"streaming needs the EMG frame ({self.win}) to be a whole number of hops ({self.hop})")
        self.channels = np.asarray(channels)
        self.n_channels = n_channels
        (self.bl, self.al), (self.bh, _) = _filters(float(fs), float(cutoff_hz), int(order))
        w = frame_window(self.win, periodic)
        self.w = w
        self.w1, self.w2, self.wabs = w / self.win, w * w / self.win, np.abs(w) / self.win
        self.zscore = zscore
        self.dims = len(channels) * N_TD
        self.check = check
        self.reset()

    def reset(self) -> None:
        c = len(self.channels)
        self.started = False
        self.zi = np.zeros((c, len(self.al) - 1))  # all-pole state
        self.v_tail = np.zeros((c, len(self.bl) - 1))  # last samples of the all-pole output (FIR history)
        self.low = np.zeros((c, self.win))
        self.high = np.zeros((c, self.win))
        self.last = np.zeros(c)  # last sample received (held over gaps)
        self.missing = deque([True] * (self.win // self.hop), maxlen=self.win // self.hop)
        self.bad = np.zeros(c, dtype=bool)  # channels the check finds unusable now
        self.dropped = np.zeros(c, dtype=bool)  # ... at any time since reset
        if self.check is not None:
            self.check.reset()

    def _judge(self, x: np.ndarray) -> None:
        """Feed one received hop ``(channels, hop)`` to the channel check."""
        if self.check is not None:
            self.bad = self.check.update(x.T)[-1]
            self.dropped |= self.bad

    def _filter(self, x: np.ndarray) -> None:
        """Advance the band split by ``x`` ``(channels, n)`` and shift it into the band buffers."""
        v, self.zi = lfilter([1.0], self.al, x, axis=1, zi=self.zi)
        ext = np.concatenate([self.v_tail, v], axis=1)
        n, taps = x.shape[1], len(self.bl)
        # Causal FIR y[n] = sum_k b[k] v[n-k] on the all-pole output (as emg.split_bands does).
        low = sum(self.bl[k] * ext[:, taps - 1 - k : taps - 1 - k + n] for k in range(taps))
        high = sum(self.bh[k] * ext[:, taps - 1 - k : taps - 1 - k + n] for k in range(taps))
        self.v_tail = ext[:, -(taps - 1) :]
        m = min(n, self.win)
        self.low = np.concatenate([self.low[:, n:], low[:, -m:]], axis=1)[:, -self.win :]
        self.high = np.concatenate([self.high[:, n:], high[:, -m:]], axis=1)[:, -self.win :]

    def push(self, emg_hop: np.ndarray | None | str) -> np.ndarray:
        """One hop of raw EMG ``(hop, n_channels)`` (or None: absent; or :data:`HOLD`) -> the
        (normalized) features of the frame ending with it, ``(dims,)`` float32 (zeros if absent)."""
        absent = emg_hop is None
        if isinstance(emg_hop, str):
            x = np.repeat(self.last[:, None], self.hop, axis=1)
            absent = not self.started
        elif emg_hop is not None:
            emg_hop = np.asarray(emg_hop)
            if emg_hop.shape != (self.hop, self.n_channels):
                raise EmgseError(f"EMG hop must be ({self.hop}, {self.n_channels}) samples x channels, got {emg_hop.shape}")
            x = emg_hop[:, self.channels].T.astype(np.float64)
            if not np.all(np.isfinite(x)):
                absent = True  # a corrupt chunk counts as a missing one
        if absent:
            if self.started:
                self._filter(np.repeat(self.last[:, None], self.hop, axis=1))
        else:
            self._judge(x)
            if not self.started:  # the offline edge padding: (win - hop) copies of the first sample
                x = np.concatenate([np.repeat(x[:, :1], self.win - self.hop, axis=1), x], axis=1)
                self.started = True
                self.missing.extend([False] * self.missing.maxlen)  # the padding counts as received
            self._filter(x)
            self.last = x[:, -1].copy()
        self.missing.append(absent)
        if any(self.missing):
            return np.zeros(self.dims, np.float32)
        return self._features()

    def _features(self) -> np.ndarray:
        lo, hi = self.low, self.high
        feats = np.empty((lo.shape[0], N_TD))
        feats[:, 0] = lo @ self.w1
        feats[:, 1] = (lo * lo) @ self.w2
        feats[:, 2] = np.abs(hi) @ self.wabs
        feats[:, 3] = (hi * hi) @ self.w2
        hw = settled_high(hi, lo) * self.w  # zero crossings of the windowed frame, as offline (emg.windowed_crossings)
        feats[:, 4] = np.count_nonzero(hw[:, :-1] * hw[:, 1:] <= 0, axis=1) / self.win
        out = feats.astype(np.float32).reshape(-1)
        if self.zscore is not None:
            out = self.zscore(out)
        if self.bad.any():
            out = zero_channels(out, self.bad)
        return out


class Streamer:
    """Causal streaming enhancement with a ``causal-*`` checkpoint.

    ``push(audio_hop (128,), emg_hop (emg_hop, channels) | None) -> (128,)`` float32, the offline
    output delayed by :attr:`delay` samples; ``flush() -> (delay,)`` ends the stream.

    Args:
        checkpoint: a checkpoint of a causal model trained with ``zscore`` or ``none`` EMG normalization.
        dc_block: remove DC from the audio input (one-pole high-pass) before the STFT.
        threads: torch threads (None: leave as is).
        backend: ``torch`` (eager) or ``onnx`` (the step exported by :mod:`emgse.export`, run by
            onnxruntime on one thread: less per-hop overhead).
    """

    def __init__(self, checkpoint: str | Path | Enhancer, *, dc_block: bool = False, threads: int | None = None,
                 backend: str = "torch"):
        enh = checkpoint if isinstance(checkpoint, Enhancer) else Enhancer(checkpoint)
        self.enhancer, self.model, self.path = enh, enh.model, enh.path
        if not getattr(self.model, "causal", False):
            raise EmgseError(f"{enh.path}: model {enh.name!r} is not causal (it looks at future frames); stream a causal-* model")
        if enh.uses_emg and enh.emg_config.normalization == "minmax":
            raise EmgseError(
                f"{enh.path}: EMG normalized per utterance (min-max) cannot be streamed; "
                f"train with --normalization zscore (or none)"
            )
        a = enh.audio_config
        if not (a.edge_padding and enh.emg_config.edge_padding):
            raise EmgseError(f"{enh.path}: streaming needs the edge-padded frame grid (edge_padding: true)")
        if threads is not None:
            torch.set_num_threads(threads)
        self.hop, self.win, self.fs = a.hop_length, a.win_length, a.fs
        if self.win % self.hop:
            raise EmgseError(f"{enh.path}: streaming needs the window ({self.win}) to be a whole number of hops ({self.hop})")
        self.lookahead = int(getattr(self.model, "lookahead", 0))
        self.delay = (self.win - self.hop) + self.lookahead * self.hop
        self.dc_block = dc_block
        w = analysis_window(a)
        self.window = w.astype(np.float32)
        env = (w * w).reshape(-1, self.hop).sum(axis=0)  # the WOLA envelope of one hop, 4 frames overlapping
        self.envelope = np.where(env > 1e-8, env, 1.0).astype(np.float32)
        self.level = RunningLevel(a) if a.level_rms is not None else None  # the offline level rule, per hop
        self.uses_emg = enh.uses_emg
        e = enh.emg_config
        self.emg_hop = frame_samples(enh.emg_fs, e.hop_s, "hop") if self.uses_emg else 0
        self.emg_td = (
            StreamingTD(enh.emg_fs, enh.channels, enh.emg_channels, win_s=e.win_s, hop_s=e.hop_s, cutoff_hz=e.cutoff_hz,
                        order=e.filter_order, periodic=e.window_periodic, zscore=enh.zscore,
                        check=enh.channel_check() if enh.check_channels else None)
            if self.uses_emg else None
        )
        if backend not in ("torch", "onnx"):
            raise EmgseError(f"unknown streaming backend {backend!r} (torch or onnx)")
        self.last_unusable: list[int] = []  # channels the check dropped in the last flushed stream
        self.backend, self.session = backend, None
        if backend == "onnx":
            from emgse.export import _ort_session, export_step

            self.session = _ort_session(export_step(self.model, self.emg_td.dims if self.emg_td else None))
        self.reset()

    @property
    def latency_s(self) -> float:
        """Algorithmic latency: the analysis window plus the EMG lookahead (seconds)."""
        return (self.win + self.lookahead * self.hop) / self.fs

    def reset(self) -> None:
        """Forget everything: the next push starts a new stream."""
        self.audio = np.zeros(self.win, np.float32)  # the offline front padding: zeros
        self.pending: deque[tuple[torch.Tensor, np.ndarray, np.float32]] = deque()  # STFT frames (+ level gain) awaiting lookahead
        self.ola = np.zeros(self.win, np.float32)
        self.state = self.model.initial_state(1)
        self.frames_done = 0
        self.dc_zi = np.zeros(1)
        if self.level is not None:
            self.level.reset()
        if self.emg_td is not None:
            self.emg_td.reset()
            self.emg_frames = torch.zeros(self.model.emg_span, self.emg_td.dims)

    @torch.inference_mode()
    def push(self, audio_hop: np.ndarray, emg_hop: np.ndarray | None = None) -> np.ndarray:
        """One hop: ``audio_hop`` ``(hop,)`` at 16 kHz and ``emg_hop`` ``(emg_hop, channels)`` or None
        (EMG absent for this hop). Returns ``(hop,)`` float32 enhanced audio, :attr:`delay` samples late."""
        x = np.asarray(audio_hop, dtype=np.float32)
        if x.shape != (self.hop,):
            raise EmgseError(f"audio hop must be ({self.hop},) samples, got {x.shape}")
        if not np.all(np.isfinite(x)):
            x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        if self.dc_block:
            y, self.dc_zi = lfilter([1.0, -1.0], [1.0, -DC_POLE], x.astype(np.float64), zi=self.dc_zi)
            x = y.astype(np.float32)
        self.audio = np.concatenate([self.audio[self.hop :], x])
        spec = np.fft.rfft(self.audio * self.window).astype(np.complex64)  # (257,)
        g = self.level.push(x) if self.level is not None else np.float32(1.0)
        self.pending.append((torch.from_numpy(np.log1p(np.abs(spec) / g)), spec, g))
        if self.emg_td is not None:
            self._add_emg(self.emg_td.push(emg_hop))
        if len(self.pending) <= self.lookahead:
            return np.zeros(self.hop, np.float32)
        return self._run_frame()

    def _add_emg(self, feats: np.ndarray) -> None:
        self.emg_frames = torch.cat([self.emg_frames[1:], torch.from_numpy(feats)[None]])

    def _run_frame(self) -> np.ndarray:
        """Run the oldest pending frame through the model and the overlap-add; return one hop."""
        log_mag, spec, g = self.pending.popleft()
        emg = self.emg_frames[None] if self.emg_td is not None else None
        if self.session is None:
            est, h, c = self.model.step(log_mag[None], emg, *self.state)
            self.state = (h, c)
            est = est[0].numpy()
        else:
            feed = [log_mag[None].numpy(), *([] if emg is None else [emg.numpy()]), *(t.numpy() for t in self.state)]
            names = [i.name for i in self.session.get_inputs()]
            est, h, c = self.session.run(None, dict(zip(names, feed, strict=True)))
            self.state = (torch.from_numpy(h), torch.from_numpy(c))
            est = est[0]
        if self.enhancer.floor > 0:  # the attenuation limit, on the levelled log magnitudes as offline
            est = limit_attenuation(torch.from_numpy(np.asarray(est)), log_mag, self.enhancer.floor).numpy()
        magnitude = np.maximum(np.expm1(est), 0.0) * g  # (257,), the level gain undone
        # The noisy phase as a unit phasor (the offline path's polar(magnitude, angle(spec))).
        phasor = np.exp(1j * np.angle(spec)).astype(np.complex64)
        self.ola += np.fft.irfft(magnitude * phasor, n=self.win).astype(np.float32) * self.window
        out = self.ola[: self.hop] / self.envelope
        self.ola = np.concatenate([self.ola[self.hop :], np.zeros(self.hop, np.float32)])
        self.frames_done += 1
        # Frames 0-2 complete only front-padding samples: they stand in for the delay as zeros.
        return out if self.frames_done > (self.win // self.hop - 1) else np.zeros(self.hop, np.float32)

    @property
    def unusable(self) -> list[int]:
        """Channels the channel check has treated as missing since the stream began."""
        if self.emg_td is None:
            return []
        return [c for c, d in zip(self.emg_td.channels.tolist(), self.emg_td.dropped, strict=True) if d]

    @torch.inference_mode()
    def flush(self) -> np.ndarray:
        """End the stream: ``(delay,)`` float32, the last samples, then :meth:`reset`."""
        out = []
        for _ in range(self.win // self.hop - 1):  # the offline end padding: zero audio, edge-repeated EMG
            out.append(self.push(np.zeros(self.hop, np.float32), HOLD))
        for _ in range(self.lookahead):  # beyond the last frame the EMG context is absent (zeros)
            self._add_emg(np.zeros(self.emg_td.dims, np.float32))
            out.append(self._run_frame())
        self.last_unusable = self.unusable
        self.reset()
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def stream_array(streamer: Streamer, audio: np.ndarray, emg: np.ndarray | None = None,
                 missing: set[int] | None = None) -> tuple[np.ndarray, dict]:
    """Stream a whole recording hop by hop, as a device would, and time every hop.

    Args:
        audio: ``(samples,)`` at 16 kHz; padded with zeros to whole hops.
        emg: ``(samples, channels)`` at the checkpoint's EMG rate (fitted to the audio's hops by
            :func:`emgse.features.emg.fit_emg`, as offline), or None for audio-only models.
        missing: hop indices whose EMG is dropped (treated as absent).

    Returns:
        ``(output, timing)``: output ``(samples,)`` aligned with the input (the delay removed), and
        per-hop compute in ms (``mean_ms``, ``p95_ms``, ``max_ms``), ``rtf``, ``delay`` samples,
        ``latency_ms``, and ``unusable_channels`` (those the channel check dropped).
    """
    n = len(audio)
    hops = -(-n // streamer.hop)
    x = np.pad(np.asarray(audio, np.float32), (0, hops * streamer.hop - n))
    if streamer.uses_emg:
        if emg is None:
            raise EmgseError("this model needs EMG")
        emg = fit_emg(emg, hops * streamer.emg_hop)
    missing = missing or set()
    outs, times = [], np.empty(hops)
    streamer.reset()
    for i in range(hops):
        e = None if (emg is None or i in missing) else emg[i * streamer.emg_hop : (i + 1) * streamer.emg_hop]
        t = time.perf_counter()
        outs.append(streamer.push(x[i * streamer.hop : (i + 1) * streamer.hop], e))
        times[i] = time.perf_counter() - t
    t = time.perf_counter()
    outs.append(streamer.flush())
    tail = time.perf_counter() - t
    y = np.concatenate(outs)[streamer.delay : streamer.delay + n]
    compute = times.sum() + tail
    timing = {
        "hops": hops,
        "mean_ms": 1000 * float(times.mean()),
        "p95_ms": 1000 * float(np.percentile(times, 95)),
        "max_ms": 1000 * float(times.max()),
        "rtf": float(compute / (hops * streamer.hop / streamer.fs)),
        "delay": streamer.delay,
        "latency_ms": 1000 * streamer.latency_s,
        "unusable_channels": list(streamer.last_unusable),
    }
    return y, timing


def stream_file(checkpoint: str | Path, audio: str | Path, out: str | Path, *, emg: str | Path | None = None,
                emg_fs: float | None = None, dc_block: bool = False, threads: int | None = None,
                force: bool = False, backend: str = "torch", check_channels: bool | None = None,
                atten_lim_db: float | None = None) -> dict:
    """Enhance a recording through the :class:`Streamer`, chunk by chunk; write ``out`` (input rate and
    length, the delay removed). Returns the timing of :func:`stream_array` plus paths."""
    audio, out = Path(audio), Path(out)
    check_output(out, inputs=[audio, Path(checkpoint)] + ([Path(emg)] if emg else []), force=force)
    streamer = Streamer(Enhancer(checkpoint, check_channels=check_channels, atten_lim_db=atten_lim_db), dc_block=dc_block, threads=threads,
                        backend=backend)
    enh = streamer.enhancer
    noisy, fs = read_audio(audio)
    x = resample(noisy, fs, streamer.fs) if fs != streamer.fs else noisy
    emg_arr = None
    if streamer.uses_emg:
        if emg is None:
            raise file_error(audio, f"the {enh.name} model needs EMG (--emg)")
        emg_arr = read_npy(emg, ndim=2)
        if emg_arr.shape[1] != enh.emg_channels:
            raise file_error(emg, f"{emg_arr.shape[1]} EMG channels, but the checkpoint was trained on {enh.emg_channels}")
        rate = enh.emg_fs if emg_fs is None else float(emg_fs)
        check_emg_length(emg_arr.shape[0], len(x) / streamer.fs, rate, str(emg), rate_given=emg_fs is not None)
        if rate != enh.emg_fs:
            emg_arr = resample(emg_arr, rate, enh.emg_fs, axis=0)
    y, timing = stream_array(streamer, x, emg_arr)
    if fs != streamer.fs:
        y = resample(y.astype(np.float64), streamer.fs, fs)
        y = np.pad(y, (0, max(0, len(noisy) - len(y))))[: len(noisy)]
    write_wav(out, np.asarray(y, np.float32), fs)
    return {"input": str(audio), "output": str(out), "samples": len(noisy), "fs": fs, **timing}
