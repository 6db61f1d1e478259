"""Training on fixed mixtures (the paper's protocol, ``emgse train --mixtures``): the feature
store of each split, computed once and cached beside the mixtures (:func:`store_for`), and
:func:`train` on them."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import torch.distributed as dist

from emgse.config import (
    AudioConfig,
    EmgConfig,
    from_dict,
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
from emgse.errors import EmgseError
from emgse.features.emg import ZScore
from emgse.features.level import LEVEL_RMS
from emgse.training.config import TrainConfig, audio_only_share, check_normalization, model_traits
from emgse.training.distributed import resolve_device, setup_distributed
from emgse.training.loop import TrainingData, batches, checked_config, fit


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
    device = resolve_device(config.device)
    d = setup_distributed(device.type)
    config = checked_config(config, d)
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
        if not model_traits(config.model)[2]:
            raise EmgseError(f"model {config.model!r} does not take audio: audio-only speech cannot train it (leave out the audio-only mixtures)")
    # emg.npy holds the paired utterances' frames only: audio-only speech never moves the statistics
    zscore = ZScore.fit([tr.emg]) if emg_config.normalization == "zscore" else None
    z = zscore.float32() if zscore else None
    # a model that never hears the microphone learns clean speech at one level (SegmentDataset)
    target_rms = None if model_traits(config.model)[2] else LEVEL_RMS
    train_set = SegmentDataset(tr, config.segment, emg_config.context, zscore=z, random=True, seed=config.seed,
                               audio_only=ao, audio_only_share=share, target_rms=target_rms, gain_jitter=config.emg_gain_jitter,
                               phases=config.wave_loss is not None)
    val_set = SegmentDataset(va, config.segment, emg_config.context, zscore=z, random=False, target_rms=target_rms,
                             phases=config.wave_loss is not None)

    def epoch_batches(epoch: int):
        train_set.set_epoch(epoch)
        return batches(train_set, config, epoch, d, shuffle=True)

    audio_only_note = f" ({train_set.absent_segments} of them audio-only, EMG absent)" if ao is not None else ""
    data = TrainingData(
        epoch_batches, lambda: batches(val_set, config, 0, d, shuffle=False), audio_config, emg_config, tr.emg_dims,
        float(tr.index["emg_fs"]), int(tr.index["emg_channels"]), list(tr.index["channels"]), zscore, target_rms,
        f"{len(train_set)} training{audio_only_note} / {len(val_set)} validation segments",
        {"audio_only_mixtures": len(ao) if ao is not None else 0, "audio_only_share": share if ao is not None else None},
    )
    return fit(data, run_dir, config, resume=resume, progress=progress, model_args=model_args, device=device, d=d)
