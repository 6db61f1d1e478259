"""Speech from EMG alone: the clean magnitude estimated from EMG, the phase reconstructed.

With no usable microphone signal (enhancement at −∞ dB, or silent speech) a model that uses EMG
estimates the clean log1p magnitude from the EMG alone, and the waveform is rebuilt by fast
Griffin-Lim (Perraudin et al. 2013, momentum 0.99) on emgse's own STFT grid
(:func:`emgse.features.audio.stft` / :func:`~emgse.features.audio.istft`: the window, hop and edge
padding of the checkpoint's :class:`~emgse.config.AudioConfig`). The output lasts as long as the
EMG (or a given length, e.g. a mixture's) at the checkpoint's audio rate.

Which checkpoints give meaningful output: ``emg-only`` always (it has no audio input). A fusion
model gets its audio input "marked absent": an all-zero log1p magnitude, the front-end's value for
digital silence; its output means something only if it saw audio-absent examples in training
(otherwise it was never asked to speak from EMG alone). Mask models (``emgse-mask``) multiply the
microphone's magnitude and so give silence: refused, as are models that use no EMG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from emgse.config import AudioConfig
from emgse.data import prepared_root
from emgse.enhance import Enhancer, mixtures_to_write
from emgse.errors import EmgseError, file_error
from emgse.features.audio import _window, frame_count, istft, stft
from emgse.files import (
    check_output,
    folder_inputs,
    output_dir,
    plain_name,
    read_audio,
    read_npy,
    write_wav,
)
from emgse.models import uses_audio

# Chosen by STOI/ESTOI of Griffin-Lim on true magnitudes (benchmarks/phase.py, README "Speech from EMG alone").
N_ITER = 100
MOMENTUM = 0.99
PHASE_METHODS = ("emgse", "librosa")


def griffin_lim(
    magnitude: torch.Tensor,
    length: int,
    config: AudioConfig = AudioConfig(),
    *,
    n_iter: int = N_ITER,
    momentum: float = MOMENTUM,
    seed: int = 0,
) -> torch.Tensor:
    """Fast Griffin-Lim on emgse's STFT grid: a waveform whose STFT magnitude approaches ``magnitude``.

    Each iteration projects onto consistent spectrograms of signals of exactly ``length`` samples
    (the edge padding stays zero), then restores the target magnitude; ``momentum`` 0 is the
    classic algorithm. Deterministic for a given ``seed`` (the initial random phase).

    Args:
        magnitude: ``(frames, bins)`` or ``(batch, frames, bins)``, linear magnitude, with
            ``frames == frame_count(length, config)``.
        length: output samples.

    Returns:
        ``(length,)`` or ``(batch, length)``.
    """
    if magnitude.shape[-2] != frame_count(length, config):
        raise ValueError(f"{magnitude.shape[-2]} frames given, {frame_count(length, config)} fit {length} samples")
    gen = torch.Generator().manual_seed(seed)
    phase = 2 * np.pi * torch.rand(magnitude.shape, generator=gen, dtype=magnitude.dtype)
    angles = torch.polar(torch.ones_like(magnitude), phase.to(magnitude.device))
    rebuilt = torch.zeros_like(angles)
    for _ in range(n_iter):
        previous = rebuilt
        rebuilt = stft(istft(magnitude * angles, length, config), config)
        angles = rebuilt - (momentum / (1 + momentum)) * previous
        angles = angles / (angles.abs() + 1e-16)
    return istft(magnitude * angles, length, config)


def griffin_lim_librosa(
    magnitude: np.ndarray, length: int, config: AudioConfig = AudioConfig(), *, n_iter: int = N_ITER, momentum: float = MOMENTUM, seed: int = 0
) -> np.ndarray:
    """``librosa.griffinlim`` with the checkpoint's STFT (window from ``config``, no centring, the
    edge padding cut off afterwards): ``(frames, bins)`` -> ``(length,)``. Unlike
    :func:`griffin_lim` the padded edges are free to fill, so frames there are less constrained."""
    import librosa

    window = _window(config, torch.device("cpu"), torch.float64).numpy()
    y = librosa.griffinlim(np.asarray(magnitude, np.float64).T, n_iter=n_iter, hop_length=config.hop_length, win_length=config.win_length,
                           n_fft=config.n_fft, window=window, center=False, momentum=momentum, random_state=seed)
    y = y[config.pad_length : config.pad_length + length]
    return np.pad(y, (0, length - len(y)))


class Voicer:
    """A checkpoint that speaks from EMG alone: ``(samples, channels)`` EMG -> ``(samples,)`` speech.

    EMG goes through the enhancer's input path (:meth:`emgse.enhance.Enhancer.emg_input`: resampling
    to the checkpoint's rate, features, normalization, the channel check).
    """

    def __init__(self, checkpoint: str | Path, device: str = "cpu", *, check_channels: bool = True, phase: str = "emgse",
                 n_iter: int = N_ITER, momentum: float = MOMENTUM, seed: int = 0):
        if phase not in PHASE_METHODS:
            raise EmgseError(f"unknown phase reconstruction {phase!r} (known: {', '.join(PHASE_METHODS)})")
        self.enhancer = Enhancer(checkpoint, device, check_channels=check_channels)
        self.phase, self.n_iter, self.momentum, self.seed = phase, n_iter, momentum, seed
        if not self.enhancer.uses_emg:
            raise file_error(checkpoint, f"the {self.name} model uses no EMG, so it cannot speak from EMG alone "
                                         "(train one with emgse train --model emg-only)")
        if getattr(self.enhancer.model, "output", None) == "mask":
            raise file_error(checkpoint, f"the {self.name} model masks the microphone's magnitude, so with audio absent it "
                                         "gives silence (use an emg-only checkpoint)")
        self.uses_audio = uses_audio(self.enhancer.model)
        # trained with the microphone silenced in some examples (emgse-prior's audio dropout)
        self.trained_audio_absent = getattr(self.enhancer.model, "audio_dropout", 0.0) > 0

    @property
    def name(self) -> str:
        return self.enhancer.name

    @property
    def audio_config(self) -> AudioConfig:
        return self.enhancer.audio_config

    @property
    def last_unusable(self) -> list[int]:
        return self.enhancer.last_unusable

    def samples_for(self, emg_samples: int, emg_fs: float) -> int:
        """Audio samples lasting as long as ``emg_samples`` EMG samples at ``emg_fs``."""
        return int(round(emg_samples / emg_fs * self.audio_config.fs))

    @torch.no_grad()
    def log_magnitude(self, emg: np.ndarray, emg_fs: float | None = None, length: int | None = None, where: str = "EMG") -> torch.Tensor:
        """The model's clean log1p magnitude from EMG alone: ``(frames, 257)`` for ``length`` samples
        (default: the EMG's duration); the audio input, where the model has one, is silence."""
        emg_fs = self.enhancer.emg_fs if emg_fs is None else float(emg_fs)
        length = self.samples_for(emg.shape[0], emg_fs) if length is None else length
        frames = frame_count(length, self.audio_config)
        emg_in = self.enhancer.emg_input(np.asarray(emg), emg_fs, frames, where)
        silence = torch.zeros(1, frames, self.audio_config.n_bins, device=self.enhancer.device)  # log1p(0): audio absent
        return self.enhancer.model(silence, emg_in)[0]

    def voice(self, emg: np.ndarray, emg_fs: float | None = None, *, length: int | None = None, where: str = "EMG") -> np.ndarray:
        """Speech from EMG ``(samples, channels)``: ``(length,)`` float32 at the checkpoint's audio rate."""
        emg_fs = self.enhancer.emg_fs if emg_fs is None else float(emg_fs)
        length = self.samples_for(emg.shape[0], emg_fs) if length is None else length
        shortest = self.audio_config.win_s  # one analysis window of speech
        if length < 1 or emg.shape[0] / emg_fs < shortest:
            raise EmgseError(f"{where}: EMG of {emg.shape[0]} samples ({emg.shape[0] / emg_fs * 1000:.1f} ms at {emg_fs:g} Hz) "
                             f"is too short to voice (at least {shortest * 1000:g} ms)")
        magnitude = torch.expm1(self.log_magnitude(emg, emg_fs, length, where)).clamp_min(0.0).cpu()
        if self.phase == "librosa":
            y = griffin_lim_librosa(magnitude.numpy(), length, self.audio_config, n_iter=self.n_iter, momentum=self.momentum, seed=self.seed)
        else:
            y = griffin_lim(magnitude, length, self.audio_config, n_iter=self.n_iter, momentum=self.momentum, seed=self.seed).numpy()
        return y.astype(np.float32)


def voice_file(checkpoint: str | Path, emg: str | Path, out: str | Path, *, emg_fs: float | None = None, force: bool = False,
               voicer: Voicer | None = None, **options) -> dict:
    """Voice one EMG recording ``(samples, channels)`` .npy into a WAV at the checkpoint's rate."""
    emg, out = Path(emg), Path(out)
    check_output(out, inputs=[emg, Path(checkpoint)], force=force)
    voicer = voicer or Voicer(checkpoint, **options)
    y = voicer.voice(read_npy(emg, ndim=2), emg_fs, where=str(emg))
    write_wav(out, y, voicer.audio_config.fs)
    return {"input": str(emg), "output": str(out), "samples": len(y), "fs": voicer.audio_config.fs,
            "unusable_channels": list(voicer.last_unusable), "model": voicer.name, "uses_audio": voicer.uses_audio,
            "trained_audio_absent": voicer.trained_audio_absent}


def voice_folder(checkpoint: str | Path, folder: str | Path, out: str | Path, *, emg_fs: float | None = None, force: bool = False,
                 progress: bool = True, **options) -> list[Path]:
    """Voice every ``X.emg.npy`` of ``folder`` (e.g. a prepared split) into ``out/X.wav``."""
    folder, out = Path(folder), Path(out)
    files = folder_inputs(folder, out, ".emg.npy")
    check_output(out, inputs=[folder, checkpoint], force=force, folder=True)
    voicer = Voicer(checkpoint, **options)
    names = [f"{path.name[: -len('.emg.npy')]}.wav" for path in files]
    with output_dir(out, force=force) as work:  # all files or none
        for path, name in tqdm(list(zip(files, names, strict=True)), desc=f"voice {folder.name}", unit="file", disable=not progress):
            voice_file(checkpoint, path, work / name, emg_fs=emg_fs, voicer=voicer)
    return [out / name for name in names]


def voice_mixtures(checkpoint: str | Path, mixtures_dir: str | Path, out_root: str | Path, *, system: str = "emg-alone",
                   splits: tuple[str, ...] = ("test",), force: bool = False, progress: bool = True, **options) -> Path:
    """Voice the EMG of every mixture of ``splits`` into ``out_root/<system>/<mixture path>``, as
    :func:`emgse.enhance.enhance_mixtures` lays enhanced outputs out, so that ``emgse evaluate``
    scores ``system`` against the clean references. The microphone signal is never read: each
    output has its mixture's length and depends only on the utterance's EMG (voiced once per
    utterance and length, written for each of its mixtures)."""
    mixtures_dir, out_root = Path(mixtures_dir), Path(out_root)
    target = out_root / plain_name(system, "--system")
    rows = mixtures_to_write(mixtures_dir, target, splits, force)
    voicer = Voicer(checkpoint, **options)
    data = prepared_root(mixtures_dir)
    fs = voicer.audio_config.fs
    cache: dict[tuple[str, int], np.ndarray] = {}
    with output_dir(target, force=force) as work:  # all outputs or none
        for r in tqdm(rows, desc=f"voice {system}", unit="mix", disable=not progress):
            noisy, mix_fs = read_audio(mixtures_dir / r["path"])
            if mix_fs != fs:
                raise file_error(mixtures_dir / r["path"], f"sample rate {mix_fs} Hz, expected {fs}")
            length = len(noisy)
            key = (f"{r['split']}/{r['utt_id']}", length)
            if key not in cache:
                emg_path = data / f"{key[0]}.emg.npy"
                cache = {key: voicer.voice(read_npy(emg_path, ndim=2), length=length, where=str(emg_path))}  # one utterance's mixtures are adjacent
            write_wav(work / r["path"], cache[key], fs)
    return target
