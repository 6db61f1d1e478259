"""Training on mixtures drawn on the fly from recordings and noise (``emgse train --data/--speech
--noise``): a fresh draw of crops, noises and SNRs every epoch (:mod:`emgse.sampler`), the same loop."""

from __future__ import annotations

from pathlib import Path

from emgse.config import (
    AudioConfig,
    EmgConfig,
    save_config,
    to_dict,
)
from emgse.errors import EmgseError
from emgse.features.level import LEVEL_RMS
from emgse.protocol import PREPARED_EMG_FS
from emgse.training.config import TrainConfig, audio_only_share, check_normalization, model_traits
from emgse.training.distributed import resolve_device, setup_distributed
from emgse.training.loop import TrainingData, checked_config, fit


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
    device = resolve_device(config.device)
    d = setup_distributed(device.type)
    config = checked_config(config, d)
    check_normalization(config.model, emg_config.normalization)
    uses = model_traits(config.model)
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
        train_speech.emg_dims, train_speech.emg_fs or float(PREPARED_EMG_FS), train_speech.emg_channels, list(train_speech.channels),
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
    share = audio_only_share(config.model, config.audio_only_share)
    bank = NoiseBank.from_sources(list(noise), progress=progress)
    val_bank = NoiseBank.from_sources(list(val_noise), progress=progress) if val_noise else bank
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
