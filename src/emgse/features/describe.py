"""A printable summary of the front-end on one utterance's files (``emgse features``): the frame
grid, the spectrogram and the TD features, and the model's EMG input as training and enhancement
make it."""

from __future__ import annotations

from pathlib import Path

from emgse.config import AudioConfig, EmgConfig
from emgse.enhance import check_emg_length
from emgse.features.audio import frame_count
from emgse.features.emg import resolve_channels, stack_context, utterance_emg
from emgse.features.resample import resample
from emgse.features.td import N_TD
from emgse.features.utterance import utterance_features
from emgse.files import read_audio, read_npy
from emgse.protocol import PREPARED_EMG_FS


def describe_utterance(
    audio_path: Path, emg_path: Path, *, emg_fs: float = PREPARED_EMG_FS, channels: str = "all", context: int = 15
) -> str:
    """A printable summary of the front-end on one utterance (used by ``emgse features``)."""
    audio_config = AudioConfig()
    audio, fs = read_audio(audio_path)
    if fs != audio_config.fs:
        audio = resample(audio, fs, audio_config.fs)
    emg = read_npy(emg_path, ndim=2)
    # the EMG/audio length rule of enhancement and streaming: at most 100 ms apart
    check_emg_length(emg.shape[0], len(audio) / audio_config.fs, emg_fs, str(emg_path))
    log_mag, feats = utterance_features(audio, emg, emg_fs, audio_config)
    emg_config = EmgConfig(channels=channels, context=context)
    selected = resolve_channels(channels, emg.shape[1])
    # the model input as training and enhancement make it (one function: features.emg.utterance_emg)
    x = stack_context(utterance_emg(emg, emg_fs, log_mag.shape[0], selected, emg_config), context)
    n_sel = len(selected)
    audio_s, emg_s = len(audio) / audio_config.fs, emg.shape[0] / emg_fs
    lines = [
        f"audio  {audio_path}: {len(audio)} samples at {audio_config.fs} Hz ({audio_s:.3f} s; input {fs} Hz)",
        f"emg    {emg_path}: {emg.shape[0]} samples x {emg.shape[1]} channels at {emg_fs:g} Hz ({emg_s:.3f} s)",
        f"grid   {frame_count(len(audio), audio_config)} frames of {audio_config.win_s * 1000:g} ms every "
        f"{audio_config.hop_s * 1000:g} ms (frame j spans [{audio_config.hop_s * 1000:g} j - "
        f"{audio_config.pad_length / audio_config.fs * 1000:g}, +{audio_config.win_s * 1000:g}) ms)",
        f"audio  log1p |STFT|: {tuple(log_mag.shape)}  min {log_mag.min():.3f}  mean {log_mag.mean():.3f}  max {log_mag.max():.3f}",
        f"emg    TD features: {tuple(feats.shape)} ({emg.shape[1]} channels x {N_TD})",
        f"emg    model input ({channels}: {n_sel} channels, context +-{context}, min-max): {tuple(x.shape)}",
    ]
    return "\n".join(lines)
