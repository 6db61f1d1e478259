"""On-the-fly training mixtures: speech and noise held in memory, batches mixed on the training device.

Instead of writing every mixture's spectra to a feature store, :class:`MixtureSampler` draws each
training batch anew from a :class:`SpeechPool` (utterances, with their EMG features when the corpus
has EMG) and a :class:`NoisePool` (a :class:`emgse.mixing.NoiseBank`), all tensors on one device:

1. an utterance (chance proportional to its length, so every second of speech is equally likely),
   a crop of ``crop_frames`` STFT frames starting at a random frame ``k`` (hop-aligned), cut with
   the ``win - hop`` samples of left context its first frame spans, so the crop's frames are
   *exactly* frames ``k .. k + T - 1`` of the whole recording's front-end (zeros beyond its ends,
   as the offline edge padding);
2. a noise and a random offset in it (looped), scaled so that ``10 log10(sum(speech^2) /
   sum(noise^2))`` over the crop equals an SNR drawn uniformly from ``snr_range_db`` (the rule of
   :func:`emgse.mixing.mix_at_snr`, on the crop the model sees); a crop whose speech is silent gets
   the noise at its utterance's mean speech power instead;
3. optionally (``reverb_prob``) the speech through one of a fixed set of synthetic rooms before
   mixing (the target stays dry, as in :func:`emgse.mixing.mix_corpus`);
4. both signals scaled together to a mixture RMS drawn from ``level_dbfs`` (less where the peak
   would pass ``peak_limit``): the level the front-end's level rule then removes;
5. the STFT (:func:`emgse.features.audio.stft_frames`), the level rule on the crop
   (:func:`emgse.features.level.segment_gains`), the targets and the EMG features cropped on the
   same frame grid with their ``context`` margins (z-scored with the pool's statistics).

Every random choice of step ``s`` comes from a generator seeded by ``(seed, stream, rank, s)``, so
the same seed gives the same batches, a resumed run continues exactly, and each ``torchrun`` rank
draws its own stream. A fixed, seeded validation set is :meth:`MixtureSampler.fixed_batches`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emgse.config import AudioConfig, EmgConfig
from emgse.corpora.prepared import AUDIO_FS, CorpusInfo, list_utterances, read_utterance
from emgse.errors import EmgseError
from emgse.features.audio import frame_count, stft_frames
from emgse.features.emg import ZScore, resolve_channels
from emgse.features.level import FLOOR, segment_gains
from emgse.features.td import N_TD
from emgse.mixing import NoiseBank, find_speech_files, read_speech
from emgse.options import setting


@dataclass(frozen=True)
class SamplerConfig:
    """How training mixtures are drawn (see the module docstring).

    ``crop_s``: crop length in seconds (rounded to whole hops); ``snr_range_db``, ``level_dbfs``:
    uniform ranges ``(low, high)``; ``reverb_prob``: share of crops whose speech passes a synthetic
    room; ``steps_per_epoch``: batches per training epoch (an epoch is a unit of logging,
    checkpoints and the learning-rate schedule); ``val_crops``: size of the fixed validation set.
    Each ``setting`` is also an ``emgse train`` option.
    """

    crop_s: float = setting(2.0, "crop length in seconds", flag="--crop", metavar="S")
    snr_range_db: tuple[float, float] = setting((-5.0, 20.0), "SNR range in dB", flag="--snr", metavar=("LOW", "HIGH"),
                                                old_names=("snr_db",))
    level_dbfs: tuple[float, float] = setting((-35.0, -15.0), "mixture RMS range in dBFS", flag="--level",
                                              metavar=("LOW", "HIGH"))
    reverb_prob: float = setting(0.0, "share of crops whose speech passes a synthetic room", metavar="P")
    peak_limit: float = 0.99
    steps_per_epoch: int = setting(200, "batches per epoch", metavar="N")
    val_crops: int = setting(256, "crops in the fixed validation set", metavar="N")

    def __post_init__(self) -> None:
        for label, (low, high) in (("snr db", self.snr_range_db), ("level dbfs", self.level_dbfs)):
            if not (np.isfinite(low) and np.isfinite(high) and low <= high):
                raise ValueError(f"{label} range {low!r}..{high!r}: needs finite numbers, low <= high")
        if not (np.isfinite(self.crop_s) and self.crop_s > 0):
            raise ValueError(f"crop {self.crop_s!r} s: must be a positive number of seconds")
        if not 0.0 <= self.reverb_prob <= 1.0:
            raise ValueError(f"reverb share {self.reverb_prob!r}: must be between 0 and 1")
        if not 0.0 < self.peak_limit <= 1.0:
            raise ValueError(f"peak limit {self.peak_limit!r}: must be in (0, 1]")
        if self.steps_per_epoch < 1 or self.val_crops < 1:
            raise ValueError("steps per epoch and validation crops must be at least 1")

    def crop_frames(self, audio_config: AudioConfig) -> int:
        """Frames per crop."""
        return max(1, round(self.crop_s / audio_config.hop_s))


def seed_of(*parts: object) -> int:
    """A generator seed from labels (stable across runs and machines)."""
    return zlib.crc32(" ".join(map(str, parts)).encode()) & 0x7FFFFFFF


@dataclass
class SpeechPool:
    """Utterances in one tensor: ``audio`` ``(samples,)`` float32 at 16 kHz, utterance ``u`` at
    ``starts[u] : starts[u] + lengths[u]``; ``power[u]`` its mean square. With EMG: ``emg``
    ``(frames, dims)`` float32 per-frame features (z-scored where ``zscore``), utterance ``u``'s
    ``frames[u]`` rows from ``emg_starts[u]``; ``has_emg[u]`` false for audio-only speech (its EMG
    input is all zeros, "EMG absent"). ``names``: the utterance ids (for messages and tests)."""

    audio: torch.Tensor
    starts: torch.Tensor
    lengths: torch.Tensor
    power: torch.Tensor
    names: list[str]
    emg: torch.Tensor | None = None
    emg_starts: torch.Tensor | None = None
    has_emg: torch.Tensor | None = None
    emg_dims: int = 0
    emg_fs: float = 0.0
    emg_channels: int = 0
    channels: tuple[int, ...] = ()
    zscore: ZScore | None = None

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def build(cls, audio: list[np.ndarray], names: list[str], *, emg: list[np.ndarray | None] | None = None,
              zscore: ZScore | None | str = None, emg_meta: dict | None = None) -> SpeechPool:
        """A pool from waveforms ``(samples,)`` at 16 kHz and, optionally, per-frame EMG features
        ``(frame_count(samples), dims)`` per utterance (None: audio-only). ``zscore="fit"`` fits the
        statistics on the utterances with EMG."""
        if not audio:
            raise EmgseError("no speech to train on")
        lengths = np.array([len(a) for a in audio], np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        power = np.array([float(np.mean(np.square(a, dtype=np.float64))) for a in audio])
        pool = cls(torch.from_numpy(np.concatenate(audio).astype(np.float32)), torch.from_numpy(starts),
                   torch.from_numpy(lengths), torch.from_numpy(power), list(names))
        if emg is not None:
            dims = next((e.shape[1] for e in emg if e is not None), 0)
            if zscore == "fit":
                zscore = ZScore.fit([e for e in emg if e is not None])
            blocks = [np.zeros((frame_count(n), dims), np.float32) if e is None else (e if zscore is None else zscore(e))
                      for e, n in zip(emg, lengths, strict=True)]
            frames = np.array([len(b) for b in blocks], np.int64)
            pool.emg = torch.from_numpy(np.concatenate(blocks).astype(np.float32))
            pool.emg_starts = torch.from_numpy(np.concatenate([[0], np.cumsum(frames)[:-1]]))
            pool.has_emg = torch.tensor([e is not None for e in emg])
            pool.emg_dims, pool.zscore = dims, zscore
            for key, value in (emg_meta or {}).items():
                setattr(pool, key, value)
        return pool

    def to(self, device: torch.device) -> SpeechPool:
        for name in ("audio", "starts", "lengths", "power", "emg", "emg_starts", "has_emg"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device))
        return self


def speech_folders(dirs: list[str | Path], *, val_share: float = 0.0, seed: int = 0
                   ) -> tuple[tuple[list[np.ndarray], list[str]], tuple[list[np.ndarray], list[str]]]:
    """Every recording under ``dirs`` (:func:`emgse.mixing.find_speech_files`) as 16 kHz float32
    waveforms and ids, split ``(train, val)``: ``val_share`` of the speakers (the recordings'
    folders) held out for validation, drawn by ``seed``, or of the recordings when there are fewer
    than 20 folders."""
    files = find_speech_files(dirs)
    groups = sorted({str(path.parent) for _, path in files})
    rng = np.random.default_rng(seed_of(seed, "val speakers"))
    if len(groups) >= 20:
        held = set(rng.choice(groups, size=max(1, round(val_share * len(groups))), replace=False).tolist()) if val_share else set()
        is_val = [str(path.parent) in held for _, path in files]
    else:
        n_val = max(1, round(val_share * len(files))) if val_share else 0
        picked = set(rng.choice(len(files), size=min(n_val, len(files) - 1), replace=False).tolist()) if n_val else set()
        is_val = [i in picked for i in range(len(files))]
    train, val = ([], []), ([], [])
    for (utt_id, path), v in zip(files, is_val, strict=True):
        part = val if v else train
        part[0].append(read_speech(path).astype(np.float32))
        part[1].append(utt_id)
    return train, val


def corpus_split(root: str | Path, split: str, emg_config: EmgConfig) -> tuple[list[np.ndarray], list[str], list[np.ndarray], dict]:
    """A prepared corpus's split (``prepared/<split>/X.wav`` + ``X.emg.npy``): waveforms, ids, EMG
    features per utterance (the one path of the store and the enhancer,
    :func:`emgse.features.emg.utterance_emg`, per-utterance min-max included) and the EMG layout."""
    from emgse.features.emg import utterance_emg

    root = Path(root)
    info = CorpusInfo.read(root)
    ids = list_utterances(root, split)
    if not ids:
        raise EmgseError(f"{root / split}: no utterances in this split of the prepared corpus")
    channels = resolve_channels(emg_config.channels, info.emg_channels)
    audio, feats = [], []
    for utt_id in ids:
        x, emg = read_utterance(root, split, utt_id, info)
        audio.append(x.astype(np.float32))
        feats.append(utterance_emg(emg, info.emg_fs, frame_count(len(x)), channels, emg_config))
    meta = {"emg_fs": info.emg_fs, "emg_channels": info.emg_channels, "channels": tuple(channels)}
    return audio, ids, feats, meta


@dataclass
class NoisePool:
    """Noises in one tensor ``audio`` ``(samples,)`` float32 at 16 kHz, noise ``n`` at
    ``starts[n] : starts[n] + lengths[n]``."""

    audio: torch.Tensor
    starts: torch.Tensor
    lengths: torch.Tensor
    names: list[str]

    @classmethod
    def from_bank(cls, bank: NoiseBank) -> NoisePool:
        signals = [np.asarray(n.signal, np.float32) for n in bank]
        lengths = np.array([len(s) for s in signals], np.int64)
        return cls(torch.from_numpy(np.concatenate(signals)), torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)[:-1]])),
                   torch.from_numpy(lengths), bank.names)

    def to(self, device: torch.device) -> NoisePool:
        self.audio, self.starts, self.lengths = (t.to(device) for t in (self.audio, self.starts, self.lengths))
        return self


ROOMS = 32  # synthetic rooms drawn once per sampler (reverb_prob > 0)


class MixtureSampler:
    """Training batches mixed on ``speech.audio.device`` (see the module docstring).

    Args:
        speech, noise: the pools (on one device).
        config: :class:`SamplerConfig`; audio_config: the front-end (with or without the level rule).
        context: EMG context frames each side (``EmgConfig.context``).
        target_rms: None: the clean target at the mixture's level (over the level gain, what a model
            that hears the microphone can know); a number: each utterance's clean speech at that RMS
            over its whole recording, whatever the mixture (``emg-only``).
        emg_gain_jitter: random per-channel EMG gains ``exp(N(0, sigma))`` on the raw TD features
            (needs raw features: the pool must not be min-max normalized), as
            :class:`emgse.data.SegmentDataset`.
        phases: batches also carry ``noisy_phase`` and ``clean_phase`` (waveform losses).
        seed, rank: the stream (``torchrun`` ranks draw their own).
        absent_share: with speech both with and without EMG in the pool, the share of crops drawn
            from the speech without EMG (None: every second of speech equally likely), so hours of
            audio-only speech do not drown minutes of paired data (``TrainConfig.audio_only_share``).
    """

    def __init__(self, speech: SpeechPool, noise: NoisePool, config: SamplerConfig = SamplerConfig(),
                 audio_config: AudioConfig = AudioConfig(), *, context: int = 15, target_rms: float | None = None,
                 emg_gain_jitter: float = 0.0, phases: bool = False, seed: int = 0, rank: int = 0,
                 absent_share: float | None = None):
        if not audio_config.edge_padding or audio_config.win_length % audio_config.hop_length:
            raise EmgseError("on-the-fly mixing needs the edge-padded frame grid (AudioConfig.edge_padding) with whole hops per window")
        self.speech, self.noise, self.config, self.audio_config = speech, noise, config, audio_config
        self.context, self.target_rms, self.phases = context, target_rms, phases
        self.emg_gain_jitter, self.seed, self.rank = float(emg_gain_jitter), seed, rank
        self.device = speech.audio.device
        self.frames = config.crop_frames(audio_config)
        if not bool((speech.lengths >= self.frames * audio_config.hop_length).any()):
            longest = int(speech.lengths.max()) / audio_config.fs
            raise EmgseError(f"every utterance is shorter than the {self.frames * audio_config.hop_s:.2f} s crop "
                             f"(the longest lasts {longest:.2f} s): use a crop of at most {longest:.2f} s")
        self.utt_frames = torch.tensor([frame_count(int(n), audio_config) for n in speech.lengths.tolist()], device=self.device)
        if target_rms is not None:  # each utterance's clean speech at target_rms over its whole recording
            self.utt_factor = (target_rms / speech.power.sqrt().clamp_min(FLOOR)).to(torch.float32)
        self.rooms = self._rooms() if config.reverb_prob > 0 else None
        weights = speech.lengths.double().cpu()
        if absent_share is not None and speech.has_emg is not None:
            paired = speech.has_emg.cpu()
            if bool(paired.any()) and bool((~paired).any()):
                weights = torch.where(paired, weights * (1 - absent_share) / weights[paired].sum(),
                                      weights * absent_share / weights[~paired].sum())
        self.weights = weights

    def _rooms(self) -> torch.Tensor:
        """``(ROOMS, taps)`` impulse responses (RT60 0.2-0.5 s), seeded by the sampler's seed."""
        from emgse.corpora.simulated.recording import RT60_S, room_impulse_response

        rng = np.random.default_rng(seed_of(self.seed, "rooms"))
        rirs = [room_impulse_response(float(rng.uniform(*RT60_S)), AUDIO_FS, rng) for _ in range(ROOMS)]
        taps = max(len(r) for r in rirs)
        return torch.tensor(np.stack([np.pad(r, (0, taps - len(r))) for r in rirs]), dtype=torch.float32, device=self.device)

    def draw(self, size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The random choices of ``size`` crops (on the CPU generator, then moved): ``utt``, ``frame``
        (first frame ``k``), ``noise``, ``offset``, ``snr_db``, ``level_dbfs``, ``room`` (-1: dry)."""
        cfg, g = self.config, generator
        utt = torch.multinomial(self.weights, size, replacement=True, generator=g)
        room_frames = (self.utt_frames.cpu()[utt] - self.frames).clamp_min(0)
        frame = (torch.rand(size, generator=g, dtype=torch.float64) * (room_frames + 1)).long()
        noise = torch.randint(len(self.noise.names), (size,), generator=g)
        offset = (torch.rand(size, generator=g, dtype=torch.float64) * self.noise.lengths.cpu()[noise]).long()
        snr = cfg.snr_range_db[0] + (cfg.snr_range_db[1] - cfg.snr_range_db[0]) * torch.rand(size, generator=g, dtype=torch.float64)
        level = cfg.level_dbfs[0] + (cfg.level_dbfs[1] - cfg.level_dbfs[0]) * torch.rand(size, generator=g, dtype=torch.float64)
        room = torch.full((size,), -1, dtype=torch.long)
        if self.rooms is not None:
            wet = torch.rand(size, generator=g) < cfg.reverb_prob
            room = torch.where(wet, torch.randint(ROOMS, (size,), generator=g), room)
        jitter = torch.randn(size, max(self.speech.emg_dims // N_TD, 1), generator=g) if self.emg_gain_jitter else None
        out = {"utt": utt, "frame": frame, "noise": noise, "offset": offset, "snr_db": snr, "level_dbfs": level, "room": room}
        if jitter is not None:
            out["jitter"] = jitter
        return {k: v.to(self.device) for k, v in out.items()}

    def batch(self, step: int, size: int, stream: str = "train") -> dict[str, torch.Tensor]:
        """Batch ``step`` of ``stream`` (``size`` crops), deterministic by ``(seed, stream, rank, step)``."""
        g = torch.Generator().manual_seed(seed_of(self.seed, stream, self.rank, step))
        return self.mix(self.draw(size, g))

    def fixed_batches(self, crops: int, size: int, stream: str = "val") -> list[dict[str, torch.Tensor]]:
        """A fixed, seeded set of ``crops`` crops in batches of ``size`` (validation)."""
        return [self.batch(i, min(size, crops - i * size), stream) for i in range(-(-crops // size))]

    def mix(self, choice: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Mix the crops ``choice`` (:meth:`draw`) and compute the model's inputs and targets.

        Returns ``noisy``, ``clean`` ``(B, T, 257)`` log1p magnitudes (over the level gain with the
        level rule), ``emg`` ``(B, T + 2 * context, dims)``, ``mask`` ``(B, T)`` (0 past the end of a
        short utterance), ``has_emg`` ``(B,)``, the waveforms ``noisy_wave``, ``clean_wave``
        ``(B, T * hop + pad)`` (after the level step; for tests and diagnostics) and, with
        ``phases``, ``noisy_phase`` and ``clean_phase`` ``(B, T, 257)``.
        """
        a, sp, nz = self.audio_config, self.speech, self.noise
        hop, pad, T = a.hop_length, a.pad_length, self.frames
        n = T * hop + pad  # samples of the crop with its left context
        utt, frame = choice["utt"], choice["frame"]
        t = torch.arange(n, device=self.device)
        pos = (frame * hop - pad)[:, None] + t[None, :]  # (B, n) sample index within the utterance
        inside = (pos >= 0) & (pos < sp.lengths[utt][:, None])
        clean = sp.audio[(sp.starts[utt][:, None] + pos.clamp_min(0)).clamp_max(sp.audio.numel() - 1)] * inside  # (B, n)
        speech = clean if self.rooms is None else self._reverberate(clean, choice["room"])
        lengths = nz.lengths[choice["noise"]][:, None]
        noise = nz.audio[nz.starts[choice["noise"]][:, None] + (choice["offset"][:, None] + t[None, :]) % lengths]  # (B, n)
        p_speech = speech.double().square().sum(-1)
        silent = p_speech <= 0
        p_speech = torch.where(silent, sp.power[utt] * n, p_speech)  # a silent crop: the utterance's mean power
        p_noise = noise.double().square().sum(-1).clamp_min(1e-30)
        scale = torch.sqrt(p_speech / (p_noise * 10.0 ** (choice["snr_db"] / 10.0)))
        noisy = speech.double() + scale[:, None] * noise.double()
        rms = noisy.square().mean(-1).sqrt().clamp_min(1e-12)
        peak = noisy.abs().amax(-1).clamp_min(1e-12)
        gain = torch.minimum(10.0 ** (choice["level_dbfs"] / 20.0) / rms, self.config.peak_limit / peak)  # (B,)
        noisy = (noisy * gain[:, None]).float()
        clean_at = (clean.double() * gain[:, None]).float()
        spec_noisy, spec_clean = stft_frames(noisy, a), stft_frames(clean_at, a)  # (B, T, F)
        if a.level_rms is not None:
            g = segment_gains(noisy, a, lead=a.win_length // hop - 1)[..., None]  # (B, T, 1)
        else:
            g = torch.ones_like(spec_noisy.real[..., :1])
        mask = (frame[:, None] + torch.arange(T, device=self.device)[None, :] < self.utt_frames[utt][:, None]).float()
        if self.target_rms is None:
            target = torch.log1p(spec_clean.abs() / g)
        else:  # the utterance's dry clean speech at target_rms, whatever the mixture's level
            target = torch.log1p(stft_frames(clean, a).abs() * self.utt_factor[utt][:, None, None])
        out = {
            "noisy": torch.log1p(spec_noisy.abs() / g) * mask[..., None],
            "clean": target * mask[..., None],
            "mask": mask,
            "emg": self._emg(utt, frame, choice.get("jitter")),
            "has_emg": sp.has_emg[utt].float() if sp.has_emg is not None else torch.zeros(len(utt), device=self.device),
            "noisy_wave": noisy,
            "clean_wave": clean_at,
        }
        if self.phases:
            out["noisy_phase"] = torch.angle(spec_noisy) * mask[..., None]
            out["clean_phase"] = torch.angle(spec_clean) * mask[..., None]
        return out

    def _reverberate(self, clean: torch.Tensor, room: torch.Tensor) -> torch.Tensor:
        """``clean`` ``(B, n)`` through room ``room[b]`` (-1: dry), cut to ``n`` samples (FFT convolution)."""
        wet = room >= 0
        if not bool(wet.any()):
            return clean
        n, taps = clean.shape[1], self.rooms.shape[1]
        size = 1 << (n + taps - 1).bit_length()
        rir = self.rooms[room[wet]]
        y = torch.fft.irfft(torch.fft.rfft(clean[wet], size) * torch.fft.rfft(rir, size), size)[:, :n]
        out = clean.clone()
        out[wet] = y
        return out

    def _emg(self, utt: torch.Tensor, frame: torch.Tensor, jitter: torch.Tensor | None) -> torch.Tensor:
        """``(B, T + 2 * context, dims)``: the crop's EMG frames with ``context`` real neighbours each
        side, zeros beyond the utterance and for audio-only speech."""
        sp, k, T = self.speech, self.context, self.frames
        if sp.emg is None or sp.emg_dims == 0:
            return torch.zeros(len(utt), T + 2 * k, max(sp.emg_dims, 1), device=self.device)
        rows = (frame - k)[:, None] + torch.arange(T + 2 * k, device=self.device)[None, :]  # (B, T + 2k)
        inside = (rows >= 0) & (rows < self.utt_frames[utt][:, None]) & sp.has_emg[utt][:, None]
        block = sp.emg[(sp.emg_starts[utt][:, None] + rows.clamp_min(0)).clamp_max(sp.emg.shape[0] - 1)]  # (B, T + 2k, D)
        if jitter is not None:
            from emgse.data import TD_DEGREES

            degrees = torch.as_tensor(TD_DEGREES, device=self.device, dtype=torch.float32)
            gains = torch.exp(self.emg_gain_jitter * jitter)[:, :, None] ** degrees[None, None, :]  # (B, channels, N_TD)
            if sp.zscore is not None:  # jitter acts on raw features: undo, scale, redo the z-score
                mean = torch.as_tensor(sp.zscore.mean, device=self.device, dtype=torch.float32)
                std = torch.as_tensor(sp.zscore.std, device=self.device, dtype=torch.float32)
                block = ((block * std + mean) * gains.reshape(len(utt), 1, -1) - mean) / std
            else:
                block = block * gains.reshape(len(utt), 1, -1)
        return block * inside[..., None]
