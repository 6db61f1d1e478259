"""Enhancement with a trained checkpoint: one recording, or every mixture of a manifest.

The model estimates the clean log1p magnitude; the waveform is rebuilt with the noisy phase and
has exactly the input's length. Audio at any rate is resampled to 16 kHz for the model and back.
EMG and audio may differ in duration by up to 100 ms (the raw EMG is trimmed, or padded by
repeating its last sample, at the end: :func:`emgse.features.emg.fit_emg`, as in training and
streaming); more is an error, as is a channel count that differs from the checkpoint's, an EMG
without samples, or (when the EMG rate is not given) a length that says the EMG has another rate.

Checkpoints trained for missing channels (:func:`emgse.faults.check_applies`) get the causal
channel check (:class:`emgse.faults.ChannelCheck`, the streamer's code): from the hop a channel
reads flat or abnormally loud, its features are zero, as EMG channel dropout trains for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from emgse.checkpoint import configs, load_model
from emgse.data import absent_emg, prepared_root
from emgse.errors import EmgseError, file_error
from emgse.faults import ChannelCheck, EmgFault, apply_fault, check_applies
from emgse.features.emg import ZScore, emg_samples, fit_emg, utterance_emg, zero_channels
from emgse.features.level import levelled_log_magnitude, unlevelled_waveform
from emgse.features.resample import resample
from emgse.features.td import N_TD, frame_samples
from emgse.files import (
    check_output,
    folder_inputs,
    output_dir,
    plain_name,
    read_audio,
    read_npy,
    write_text,
    write_wav,
)
from emgse.mixing import read_manifest
from emgse.models import uses_emg

MAX_MISMATCH_S = 0.1
CHUNK_S = 60.0  # longer inputs are enhanced in chunks (Enhancer.enhance): bounded memory at any length
OVERLAP_S = 2.0  # the chunks' overlap, cross-faded
# EMG rates met in practice: with the rate not given, a length that fits one of these (and not the
# checkpoint's) says the EMG was recorded at it (2048 Hz EMG read as 2000 Hz is only 2.4% long)
COMMON_EMG_RATES = (250.0, 256.0, 500.0, 512.0, 1000.0, 1024.0, 1200.0, 1500.0, 2000.0, 2048.0, 2500.0, 4000.0, 4096.0,
                    5000.0, 8000.0, 10000.0)


def check_emg_length(emg_samples_: int, audio_s: float, emg_fs: float, where: str, *, rate_given: bool = True) -> None:
    """The EMG/audio length rule of enhancement and streaming: at most :data:`MAX_MISMATCH_S` apart,
    at least one sample, and, when ``emg_fs`` was assumed (``rate_given=False``), no length that
    is more than 1% off at ``emg_fs`` but within 0.5% of another common EMG rate (the length ratio
    says the rate is wrong, even where the 100 ms tolerance would hide it). Raises
    :class:`EmgseError` naming ``where``."""
    if emg_samples_ == 0:
        raise EmgseError(f"{where}: EMG has no samples")
    implied = emg_samples_ / audio_s if audio_s > 0 else emg_fs
    near = min(COMMON_EMG_RATES, key=lambda r: abs(implied / r - 1))
    off = abs(implied / emg_fs - 1)
    if not rate_given and near != emg_fs and off > 0.01 and abs(implied / near - 1) < 0.005:
        raise EmgseError(
            f"{where}: {emg_samples_} EMG samples for {audio_s:.3f} s of audio is {implied:.0f} Hz, not the checkpoint's "
            f"{emg_fs:g} Hz: the EMG looks recorded at {near:g} Hz (pass --emg-fs {near:g}, or --emg-fs {emg_fs:g} if that is right)"
        )
    emg_s = emg_samples_ / emg_fs
    if abs(audio_s - emg_s) > MAX_MISMATCH_S:
        raise EmgseError(
            f"{where}: EMG lasts {emg_s:.3f} s but the audio {audio_s:.3f} s ({abs(audio_s - emg_s) * 1000:.0f} ms apart; "
            f"at most {MAX_MISMATCH_S * 1000:.0f} ms is padded or trimmed)"
        )


def attenuation_floor(atten_lim_db: float | None) -> float:
    """The linear gain ``10^(-atten_lim_db / 20)`` below which no bin is attenuated; 0 for no limit.
    Raises :class:`EmgseError` for a limit that is not a positive number of dB."""
    if atten_lim_db is None:
        return 0.0
    if not (np.isfinite(atten_lim_db) and atten_lim_db > 0):
        raise EmgseError(f"attenuation limit {atten_lim_db!r} dB: must be a positive number of dB (e.g. 12)")
    return float(10.0 ** (-atten_lim_db / 20.0))


def limit_attenuation(est: torch.Tensor, log_mag: torch.Tensor, floor: float) -> torch.Tensor:
    """Keep every bin of the estimate at least ``floor`` times the noisy magnitude:
    ``max(est, log1p(floor * expm1(log_mag)))`` on log1p magnitudes ``(T, F)`` (the same level
    domain). A mask model then never removes more than ``-20 log10(floor)`` dB anywhere, trading
    noise reduction for less speech distortion (as DeepFilterNet's attenuation limit); ``floor``
    0 returns ``est`` unchanged."""
    if floor <= 0:
        return est
    return torch.maximum(est, torch.log1p(floor * torch.expm1(log_mag)))


class Enhancer:
    """A loaded checkpoint ready to enhance ``(samples,)`` audio with ``(samples, channels)`` EMG.

    ``check_channels``: the causal channel check (:class:`emgse.faults.ChannelCheck`); None (the
    default) applies it where the checkpoint was trained for missing channels
    (:func:`emgse.faults.check_applies`), True always, False never.

    ``atten_lim_db``: the most any time-frequency bin is attenuated (:func:`limit_attenuation`);
    None (the default): no limit.
    """

    def __init__(self, checkpoint: str | Path, device: str = "cpu", *, check_channels: bool | None = None,
                 atten_lim_db: float | None = None):
        self.path = Path(checkpoint)
        self.floor = attenuation_floor(atten_lim_db)
        self.chunk_s = CHUNK_S
        self.last_unusable: list[int] = []  # channels the last call treated as missing (at any time)
        self.model, self.ckpt = load_model(checkpoint)
        self.device = torch.device(device)
        self.model.to(self.device)
        self.audio_config, self.emg_config = configs(self.ckpt)
        self.uses_emg = uses_emg(self.model)
        self.emg_fs = float(self.ckpt["emg_fs"])
        self.emg_channels = int(self.ckpt["emg_channels"])
        self.channels = list(self.ckpt["channels"])
        z = self.ckpt.get("zscore")
        self.zscore = ZScore.from_dict(z).float32() if z else None
        applies = check_applies(self.model, self.emg_config.normalization)
        self.check_channels = self.uses_emg and (applies if check_channels is None else bool(check_channels))

    @property
    def name(self) -> str:
        return str(self.ckpt["model_name"])

    def channel_check(self) -> ChannelCheck:
        """A fresh :class:`ChannelCheck` over the channels the model uses, one per EMG hop."""
        return ChannelCheck(self.emg_fs, frame_samples(self.emg_fs, self.emg_config.hop_s, "hop"), len(self.channels))

    def unusable_frames(self, emg: np.ndarray, frames: int) -> np.ndarray:
        """The channel check on a whole recording at the checkpoint's rate: ``(frames, channels used)``
        bool, frame ``j`` judged on the EMG up to its end (what the streamer knows then)."""
        e = self.emg_config
        hop = frame_samples(self.emg_fs, e.hop_s, "hop")
        win = frame_samples(self.emg_fs, e.win_s, "frame")
        ends = (np.arange(frames) * hop + win - (win - hop if e.edge_padding else 0)) // hop  # hops seen by frame j
        x = fit_emg(np.asarray(emg)[:, self.channels], emg_samples(frames, self.emg_fs, e))
        x = fit_emg(x, int(ends[-1]) * hop)  # the grid's end padding: the last sample held, as the streamer's flush
        return self.channel_check().update(x)[ends - 1]

    def emg_input(self, emg: np.ndarray, emg_fs: float, frames: int, where: str = "EMG") -> torch.Tensor:
        """Per-frame features with context margins: ``(1, frames + 2K, dims)``.

        With the channel check on (see the class), a channel's features are zero (after
        normalization: what the model sees for a dropped channel in training) in the frames
        where the check finds it flat or abnormally loud; such channels are listed in ``last_unusable``.
        """
        if emg.ndim != 2 or emg.shape[1] != self.emg_channels:
            got = emg.shape[1] if emg.ndim == 2 else f"shape {emg.shape}"
            raise EmgseError(f"{where}: {got} EMG channels, but the checkpoint was trained on {self.emg_channels}")
        if emg.shape[0] == 0:
            raise EmgseError(f"{where}: EMG has no samples")
        if emg_fs != self.emg_fs:
            emg = resample(emg, emg_fs, self.emg_fs, axis=0)
        feats = utterance_emg(emg, self.emg_fs, frames, self.channels, self.emg_config)
        if self.zscore is not None:
            feats = self.zscore(feats)
        self.last_unusable = []
        if self.check_channels:
            bad = self.unusable_frames(emg, frames)  # (frames, channels used)
            if bad.any():
                feats = zero_channels(feats, bad)
                self.last_unusable = [c for c, b in zip(self.channels, bad.any(axis=0), strict=True) if b]
        k = self.emg_config.context
        return torch.from_numpy(np.pad(feats, ((k, k), (0, 0))))[None].to(self.device)

    def absent_emg_input(self, frames: int) -> torch.Tensor:
        """The input for 'EMG absent' (:func:`emgse.data.absent_emg`, as audio-only speech in training)."""
        return torch.from_numpy(absent_emg(frames, self.emg_config.context, len(self.channels) * N_TD))[None].to(self.device)

    @torch.no_grad()
    def enhance(
        self,
        noisy: np.ndarray,
        emg: np.ndarray | None = None,
        emg_fs: float | None = None,
        where: str = "input",
        *,
        allow_missing_emg: bool = False,
    ) -> np.ndarray:
        """Enhance 16 kHz audio ``(samples,)``; returns ``(samples,)`` float32.

        ``emg_fs``: the EMG's rate; None assumes the checkpoint's and refuses an EMG whose length
        fits another common rate better (:func:`check_emg_length`).

        ``allow_missing_emg``: an EMG model given no EMG runs with zero EMG features instead of
        raising (for robustness studies; models trained with EMG dropout expect it).

        Inputs longer than ``chunk_s`` seconds (:data:`CHUNK_S`) are enhanced in chunks of that
        length overlapping by :data:`OVERLAP_S` and cross-faded, so memory stays bounded at any length.
        """
        if self.uses_emg and emg is not None:
            rate_given, emg_fs = emg_fs is not None, self.emg_fs if emg_fs is None else emg_fs
            check_emg_length(np.shape(emg)[0], len(noisy) / self.audio_config.fs, emg_fs, where, rate_given=rate_given)
        fs = self.audio_config.fs
        n, chunk = len(noisy), int(self.chunk_s * fs)
        overlap = min(int(OVERLAP_S * fs), chunk // 4)
        if n <= chunk:
            return self._enhance(noisy, emg, emg_fs, where, allow_missing_emg)
        out, weight, unusable = np.zeros(n), np.zeros(n), set()
        ramp = np.linspace(0.0, 1.0, overlap + 2)[1:-1]  # a cross-fade: the two ramps of an overlap sum to 1
        for start in range(0, n - overlap, chunk - overlap):
            end = min(start + chunk, n)
            part = None if emg is None or not self.uses_emg else np.asarray(emg)[round(start * emg_fs / fs): round(end * emg_fs / fs)]
            y = self._enhance(noisy[start:end], part, emg_fs, where, allow_missing_emg).astype(np.float64)
            w = np.ones(end - start)
            if start > 0:
                w[:overlap] = ramp
            if end < n:
                w[-overlap:] = ramp[::-1]
            out[start:end] += w * y
            weight[start:end] += w
            unusable.update(self.last_unusable)
            if end == n:
                break
        self.last_unusable = sorted(unusable)
        return (out / weight).astype(np.float32)

    def _enhance(self, noisy: np.ndarray, emg: np.ndarray | None, emg_fs: float | None, where: str, allow_missing_emg: bool) -> np.ndarray:
        """:meth:`enhance` of one block at once (the EMG already checked against it)."""
        self.last_unusable = []
        x = torch.as_tensor(np.asarray(noisy, dtype=np.float32), device=self.device)
        log_mag, phase, gains = levelled_log_magnitude(x, self.audio_config)  # gains: None without the level rule
        frames = log_mag.shape[0]
        emg_in = None
        if self.uses_emg and emg is None and allow_missing_emg:
            emg_in = self.absent_emg_input(frames)
        elif self.uses_emg:
            if emg is None:
                raise EmgseError(f"{where}: the {self.name} model needs EMG (--emg)")
            emg_in = self.emg_input(np.asarray(emg), emg_fs, frames, where)
        est = limit_attenuation(self.model(log_mag[None], emg_in)[0], log_mag, self.floor)
        y = unlevelled_waveform(est, phase, gains, len(noisy), self.audio_config)
        return y.cpu().numpy().astype(np.float32)


def enhance_file(
    checkpoint: str | Path,
    audio: str | Path,
    out: str | Path,
    *,
    emg: str | Path | None = None,
    emg_fs: float | None = None,
    force: bool = False,
    enhancer: Enhancer | None = None,
    dnsmos: bool = False,
    check_channels: bool | None = None,
    atten_lim_db: float | None = None,
) -> dict:
    """Enhance one recording; output has the input's rate and exactly its length.

    With ``dnsmos`` the result also holds the no-reference DNSMOS scores of the input and the
    output (``noisy_dnsmos_*`` and ``dnsmos_*``), for recordings without a clean reference.
    """
    audio, out = Path(audio), Path(out)
    inputs = [audio] + ([Path(emg)] if emg else [])
    check_output(out, inputs=inputs + [Path(checkpoint)], force=force)
    enhancer = enhancer or Enhancer(checkpoint, check_channels=check_channels, atten_lim_db=atten_lim_db)
    noisy, fs = read_audio(audio)
    x = resample(noisy, fs, enhancer.audio_config.fs) if fs != enhancer.audio_config.fs else noisy
    emg_arr = read_npy(emg, ndim=2) if emg else None
    y = enhancer.enhance(x, emg_arr, emg_fs, where=str(emg or audio))
    if fs != enhancer.audio_config.fs:
        y = resample(y.astype(np.float64), enhancer.audio_config.fs, fs)
        y = np.pad(y, (0, max(0, len(noisy) - len(y))))[: len(noisy)]
    write_wav(out, y.astype(np.float32), fs)
    info = {"input": str(audio), "output": str(out), "samples": len(noisy), "fs": fs, "unusable_channels": list(enhancer.last_unusable)}
    if dnsmos:
        info.update(dnsmos_pair(noisy, y, fs))
    return info


def dnsmos_pair(noisy: np.ndarray, enhanced: np.ndarray, fs: int) -> dict:
    """DNSMOS of a recording before and after enhancement: ``noisy_dnsmos_*`` and ``dnsmos_*``."""
    from emgse.dnsmos import score_dnsmos

    before = score_dnsmos(np.asarray(noisy, np.float64), fs)
    after = score_dnsmos(np.asarray(enhanced, np.float64), fs)
    return {**{f"noisy_{k}": v for k, v in before.items()}, **after}


CHANNEL_CSV = "channel_check.csv"


def write_channel_csv(path: str | Path, rows: list[tuple[str, list[int]]]) -> None:
    """``file, dropped_channels`` (space-separated indices; empty: none) per enhanced file, atomically:
    the channels the channel check treated as missing."""
    lines = ["file,dropped_channels"] + [f"{name},{' '.join(map(str, dropped))}" for name, dropped in rows]
    write_text(path, "\n".join(lines) + "\n")


def write_dnsmos_csv(path: str | Path, rows: list[dict]) -> None:
    """``file, noisy_dnsmos_sig, ..., dnsmos_ovrl`` per enhanced file, atomically."""
    from emgse.dnsmos import COLUMNS

    columns = ["file", *(f"noisy_{c}" for c in COLUMNS), *COLUMNS]
    lines = [",".join(columns)] + [",".join([str(r["file"]), *(f"{r[c]:.4f}" for c in columns[1:])]) for r in rows]
    write_text(path, "\n".join(lines) + "\n")


def mixtures_to_write(mixtures_dir: Path, target: Path, splits: tuple[str, ...] | list[str], force: bool) -> list[dict]:
    """The manifest rows of ``splits`` that a mixtures mode writes into ``target`` (one folder per
    system); refuses a non-empty ``target`` without ``force`` and splits without mixtures."""
    check_output(target, inputs=[mixtures_dir], force=force, folder=True)
    rows = [r for r in read_manifest(mixtures_dir) if r["split"] in splits]
    if not rows:
        raise file_error(mixtures_dir / "mixtures.csv", f"no mixtures of split(s) {', '.join(splits)}")
    return rows


def enhance_mixtures(
    checkpoint: str | Path,
    mixtures_dir: str | Path,
    out_root: str | Path,
    *,
    system: str | None = None,
    splits: tuple[str, ...] = ("test",),
    force: bool = False,
    progress: bool = True,
    fault: EmgFault | None = None,
    check_channels: bool | None = None,
    atten_lim_db: float | None = None,
) -> Path:
    """Enhance every mixture of ``splits`` into ``out_root/<system>/<mixture path>``.

    ``fault``: simulate failing electrodes (see :mod:`emgse.faults`) on the EMG of every mixture.
    ``check_channels``: see :class:`Enhancer`; when the check runs, ``<system>/channel_check.csv``
    lists the channels it dropped per mixture (:func:`write_channel_csv`).
    """
    mixtures_dir, out_root = Path(mixtures_dir), Path(out_root)
    if system is not None:
        plain_name(system, "--system")
    enhancer = Enhancer(checkpoint, check_channels=check_channels, atten_lim_db=atten_lim_db)
    system = system or enhancer.name
    target = out_root / system
    rows = mixtures_to_write(mixtures_dir, target, splits, force)
    data = prepared_root(mixtures_dir) if enhancer.uses_emg else None
    emg_cache: dict[str, np.ndarray] = {}
    dropped: list[tuple[str, list[int]]] = []
    with output_dir(target, force=force) as work:
        for r in tqdm(rows, desc=f"enhance {system}", unit="mix", disable=not progress):
            noisy, fs = read_audio(mixtures_dir / r["path"])
            if fs != enhancer.audio_config.fs:
                raise file_error(mixtures_dir / r["path"], f"sample rate {fs} Hz, expected {enhancer.audio_config.fs}")
            emg = None
            if data is not None:
                key = f"{r['split']}/{r['utt_id']}"
                if key not in emg_cache:
                    emg_cache = {key: read_npy(data / f"{key}.emg.npy", ndim=2)}  # mixtures of one utterance are adjacent
                emg = emg_cache[key]
            if fault is not None and emg is not None:
                emg = apply_fault(emg, enhancer.channels, fault, key=r["utt_id"], fs=enhancer.emg_fs)
            y = enhancer.enhance(noisy, emg, where=str(mixtures_dir / r["path"]), allow_missing_emg=fault is not None)
            write_wav(work / r["path"], y, fs)
            dropped.append((r["path"], list(enhancer.last_unusable)))
        if enhancer.check_channels:
            write_channel_csv(work / CHANNEL_CSV, dropped)
    return target


def enhance_folder(
    checkpoint: str | Path,
    folder: str | Path,
    out: str | Path,
    *,
    emg_fs: float | None = None,
    force: bool = False,
    progress: bool = True,
    dnsmos: bool = False,
    check_channels: bool | None = None,
    atten_lim_db: float | None = None,
) -> list[Path]:
    """Enhance every ``X.wav`` of ``folder`` (with ``X.emg.npy`` beside it, as in the prepared
    layout) into ``out/X.wav``. Returns the written paths. With ``dnsmos``, also writes
    ``out/dnsmos.csv`` (no-reference scores of each input and output, :func:`write_dnsmos_csv`);
    when the channel check runs, ``out/channel_check.csv`` (:func:`write_channel_csv`)."""
    folder, out = Path(folder), Path(out)
    wavs = folder_inputs(folder, out, ".wav")
    check_output(out, inputs=[folder, checkpoint], force=force, folder=True)
    enhancer = Enhancer(checkpoint, check_channels=check_channels, atten_lim_db=atten_lim_db)
    for wav in wavs if enhancer.uses_emg else ():  # every input there before any work
        if not wav.with_name(f"{wav.stem}.emg.npy").is_file():
            raise file_error(wav.with_name(f"{wav.stem}.emg.npy"), f"EMG for {wav.name} not found (expected <name>.emg.npy beside it)")
    scores, dropped = [], []
    with output_dir(out, force=force) as work:  # all files or none
        for wav in tqdm(wavs, desc=f"enhance {folder.name}", unit="file", disable=not progress):
            emg = wav.with_name(f"{wav.stem}.emg.npy")
            info = enhance_file(checkpoint, wav, work / wav.name, emg=emg if enhancer.uses_emg else None, emg_fs=emg_fs,
                                enhancer=enhancer, dnsmos=dnsmos)
            dropped.append((wav.name, info["unusable_channels"]))
            if dnsmos:
                scores.append({"file": wav.name, **info})
        if dnsmos:
            write_dnsmos_csv(work / "dnsmos.csv", scores)
        if enhancer.check_channels:
            write_channel_csv(work / CHANNEL_CSV, dropped)
    return [out / wav.name for wav in wavs]
