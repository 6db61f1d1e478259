"""Feature store and the torch Dataset of training segments.

Features are computed once per split into a store (one ``.npy`` memmap per stream, not one file
per segment)::

    STORE/noisy.npy    (mixture frames, 257)  float32  log1p |STFT| of each noisy mixture
    STORE/clean.npy    (utterance frames, 257) float32 log1p |STFT| of each clean utterance
    STORE/emg.npy      (paired utterance frames, dims) float32 TD features of the selected
                       channels, per-utterance min-max normalized if so configured; utterances
                       without EMG (audio-only speech, ``has_emg`` 0 in the manifest) have none
    STORE/level.npy    (mixture frames,) float32 the level gain g of each noisy frame, only with
                       ``AudioConfig.level_rms`` (then noisy.npy holds log1p(|STFT| / g))
    STORE/index.json   utterances (offset, frames, has_emg, emg_offset: row in emg.npy or null),
                       mixtures (utterance, offset, frames, gain, ...)
    STORE/noisy_phase.npy, STORE/clean_phase.npy  (frames, 257) float16 STFT phases (radians) of
                       the mixtures and of the clean utterances, added on demand by
                       :func:`add_phases` (the waveform losses rebuild both signals from them)

Clean and EMG features are stored once per utterance, however many mixtures share them. An
utterance without EMG gets the model input "EMG absent" in every segment: all-zero features
(:func:`absent_emg`, the enhancer's input for a recording without EMG). The
training target of a mixture is the clean magnitude at the mixture's gain:
``log1p(gain * expm1(clean))`` (``noisy = gain * (clean + noise)``), divided by the noisy frame's
level gain when the store has one (:mod:`emgse.features.level`: the same rule as enhancement).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from emgse.config import AudioConfig, EmgConfig, from_dict, to_dict
from emgse.corpora.prepared import CorpusInfo
from emgse.errors import EmgseError, file_error
from emgse.features.audio import log_magnitude, stft
from emgse.features.emg import ZScore, resolve_channels, utterance_emg
from emgse.features.level import FLOOR, levelled_log_magnitude, rescale_log_magnitude, spectral_rms
from emgse.features.td import N_TD, TD_NAMES
from emgse.files import output_dir, read_audio, read_json, read_npy, write_json, write_npy
from emgse.mixing import read_manifest

# how each TD feature (emgse.features.emg.TD_NAMES) scales with the channel's amplitude
TD_DEGREES = np.array([{"low_mean": 1, "low_power": 2, "high_abs_mean": 1, "high_power": 2, "high_zcr": 0}[n] for n in TD_NAMES])


def prepared_root(mixtures_dir: Path) -> Path:
    """The prepared corpus a mixture folder was made from (``mix.json``'s ``data``)."""
    meta = read_json(mixtures_dir / "mix.json")
    if "data" not in meta:
        raise file_error(mixtures_dir / "mix.json", "missing 'data' (the prepared corpus)")
    return Path(meta["data"])


def store_settings(audio_config: AudioConfig, emg_config: EmgConfig) -> dict:
    """Every setting that changes a store's content: the whole audio front-end and the EMG one
    except ``context`` (a store holds per-frame features; segments add the context, so one store
    serves every context width). Numbers as floats, so ``cutoff_hz: 134`` equals ``134.0``."""

    def canonical(v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return float(v)
        if isinstance(v, dict):
            return {k: canonical(x) for k, x in v.items()}
        return [canonical(x) for x in v]

    emg = to_dict(emg_config)
    emg.pop("context")
    return canonical({"audio": to_dict(audio_config), "emg": emg})


def store_key(audio_config: AudioConfig, emg_config: EmgConfig) -> str:
    """Folder name of the store for these settings: ``<channels>-<normalization>-<hash>``, the hash
    over :func:`store_settings`, so a store is reused only for the settings it was built with."""
    channels = emg_config.channels if isinstance(emg_config.channels, str) else "-".join(map(str, emg_config.channels))
    digest = hashlib.sha1(json.dumps(store_settings(audio_config, emg_config), sort_keys=True).encode()).hexdigest()[:10]
    return f"{channels}-{emg_config.normalization}-{digest}"


def check_front_ends(audio_config: AudioConfig, emg_config: EmgConfig) -> None:
    """Refuse settings that put the two streams on different frame grids."""
    if audio_config.edge_padding != emg_config.edge_padding:
        shift = round(audio_config.win_s / audio_config.hop_s) - 1
        raise EmgseError(
            f"audio edge_padding is {audio_config.edge_padding} but EMG edge_padding is {emg_config.edge_padding}: "
            f"the EMG frames would be {shift} frames off the audio's; set both the same (YAML sections 'audio' and 'emg')"
        )


def _clean_log_mag(audio: np.ndarray, audio_config: AudioConfig) -> np.ndarray:
    return log_magnitude(torch.as_tensor(audio, dtype=torch.float32), audio_config)[0].numpy()


def absent_emg(frames: int, context: int, dims: int) -> np.ndarray:
    """The model's EMG input for "EMG absent": all-zero features ``(frames + 2 * context, dims)``
    float32, after any normalization (what EMG dropout trains for). Training segments of
    audio-only speech and the enhancer given no EMG both use it."""
    return np.zeros((frames + 2 * context, dims), np.float32)


def _read_at_rate(path: Path, fs: int) -> np.ndarray:
    """A recording ``(samples,)`` that must be at the front-end's rate ``fs`` (one-line error naming it)."""
    audio, rate = read_audio(path)
    if rate != fs:
        raise file_error(path, f"sample rate {rate} Hz, expected {fs}")
    return audio


def _clean_paths(rows: list[dict], mixtures_dir: Path, data: Path | None, split: str) -> dict[str, Path]:
    """Each utterance's clean recording: the prepared corpus's for paired speech, the mixture
    folder's ``clean`` copy for audio-only speech."""
    return {r["utt_id"]: (data / split / f"{r['utt_id']}.wav" if r["has_emg"] else mixtures_dir / r["clean"]) for r in rows}


def build_store(
    mixtures_dir: str | Path,
    split: str,
    out: str | Path,
    *,
    audio_config: AudioConfig = AudioConfig(),
    emg_config: EmgConfig = EmgConfig(),
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Compute the features of every mixture of ``split`` in ``mixtures_dir`` into a store at ``out``.

    Rows with ``has_emg`` 0 (audio-only speech, :func:`emgse.mixing.mix_speech_only`) read their
    clean audio from ``mixtures_dir / clean`` and get no EMG features; a folder of only such rows
    needs no prepared corpus and gives a store with ``emg_dims`` 0.
    """
    mixtures_dir, out = Path(mixtures_dir), Path(out)
    check_front_ends(audio_config, emg_config)
    rows = [r for r in read_manifest(mixtures_dir) if r["split"] == split]
    if not rows:
        raise file_error(mixtures_dir / "mixtures.csv", f"no mixtures of split {split!r}")
    has_emg: dict[str, bool] = {}
    for r in rows:
        if has_emg.setdefault(r["utt_id"], bool(r["has_emg"])) != bool(r["has_emg"]):
            raise file_error(mixtures_dir / "mixtures.csv", f"utterance {r['utt_id']} has mixtures with and without EMG")
    paired = any(has_emg.values())
    data = prepared_root(mixtures_dir) if paired else None
    info = CorpusInfo.read(data) if paired else None
    channels = resolve_channels(emg_config.channels, info.emg_channels) if paired else []
    clean_path = _clean_paths(rows, mixtures_dir, data, split)
    utt_ids = sorted(has_emg)
    utt_frames: dict[str, int] = {}
    with output_dir(out, force=force) as work:
        # Pass 1: clean + EMG per utterance (frame counts are known only after reading).
        clean_parts, emg_parts, emg_offsets, emg_offset = [], [], [], 0
        for utt_id in tqdm(utt_ids, desc=f"features {split}: utterances", unit="utt", disable=not progress):
            clean = _read_at_rate(clean_path[utt_id], audio_config.fs)
            c = _clean_log_mag(clean, audio_config)
            utt_frames[utt_id] = c.shape[0]
            clean_parts.append(c)
            emg_offsets.append(emg_offset if has_emg[utt_id] else None)
            if has_emg[utt_id]:
                emg = read_npy(data / split / f"{utt_id}.emg.npy", ndim=2)
                emg_parts.append(utterance_emg(emg, info.emg_fs, c.shape[0], channels, emg_config))
                emg_offset += c.shape[0]
        offsets = np.concatenate([[0], np.cumsum([c.shape[0] for c in clean_parts])])
        write_npy(work / "clean.npy", np.concatenate(clean_parts))
        write_npy(work / "emg.npy", np.concatenate(emg_parts) if emg_parts else np.zeros((0, len(channels) * N_TD), np.float32))
        del clean_parts, emg_parts
        utterances = [{"utt_id": u, "offset": int(offsets[i]), "frames": utt_frames[u], "has_emg": has_emg[u], "emg_offset": emg_offsets[i]}
                      for i, u in enumerate(utt_ids)]
        position = {u: i for i, u in enumerate(utt_ids)}
        # Pass 2: noisy mixtures straight into a memmap.
        total = sum(utt_frames[r["utt_id"]] for r in rows)
        noisy = np.lib.format.open_memmap(work / "noisy.npy", mode="w+", dtype=np.float32, shape=(total, audio_config.n_bins))
        level = np.lib.format.open_memmap(work / "level.npy", mode="w+", dtype=np.float32, shape=(total,)) if audio_config.level_rms is not None else None
        mixtures, offset = [], 0
        for r in tqdm(rows, desc=f"features {split}: mixtures", unit="mix", disable=not progress):
            audio = _read_at_rate(mixtures_dir / r["path"], audio_config.fs)
            m, _, gains = levelled_log_magnitude(torch.as_tensor(audio, dtype=torch.float32), audio_config)
            m = m.numpy()
            frames = utt_frames[r["utt_id"]]
            if m.shape[0] != frames:
                raise file_error(mixtures_dir / r["path"], f"{m.shape[0]} frames but its clean utterance has {frames}")
            noisy[offset : offset + frames] = m
            if level is not None:
                level[offset : offset + frames] = gains[:, 0].numpy()
            mixtures.append(
                {
                    "utterance": position[r["utt_id"]],
                    "offset": offset,
                    "frames": frames,
                    "gain": float(r["gain"]),
                    "noise": r["noise"],
                    "snr_db": float(r["snr_db"]),
                    "path": r["path"],
                }
            )
            offset += frames
        noisy.flush()
        del noisy
        if level is not None:
            level.flush()
            del level
        write_json(
            work / "index.json",
            {
                "split": split,
                "mixtures_dir": str(mixtures_dir.resolve()),
                "data": str(data) if paired else None,
                "emg_fs": info.emg_fs if paired else None,
                "emg_channels": info.emg_channels if paired else None,
                "channels": channels,
                "emg_dims": len(channels) * N_TD,
                "audio_config": to_dict(audio_config),
                "emg_config": to_dict(emg_config),
                "utterances": utterances,
                "mixtures": mixtures,
            },
        )
    return out


PHASE_FILES = ("noisy_phase.npy", "clean_phase.npy")


def add_phases(root: str | Path, *, progress: bool = True) -> Path:
    """Write the STFT phases of a built store's mixtures and clean utterances beside its
    magnitudes (``noisy_phase.npy`` / ``clean_phase.npy``, float16 radians, rows as ``noisy.npy`` /
    ``clean.npy``), read again from the recordings its index names; nothing when both exist.

    Each file is written to a temporary name and renamed, so an interrupted run leaves none half
    written. A recording whose frame count no longer matches the store is an error naming it.
    """
    root = Path(root)
    if all((root / name).is_file() for name in PHASE_FILES):
        return root
    store = FeatureStore.open(root)
    index = store.index
    audio_config = from_dict(AudioConfig, index["audio_config"])
    mixtures_dir = Path(index["mixtures_dir"])
    rows = [r for r in read_manifest(mixtures_dir) if r["split"] == index["split"]]
    data = Path(index["data"]) if index.get("data") else None
    clean_path = _clean_paths(rows, mixtures_dir, data, index["split"])

    def phase_of(path: Path, frames: int) -> np.ndarray:
        audio = _read_at_rate(path, audio_config.fs)
        phase = torch.angle(stft(torch.as_tensor(audio, dtype=torch.float32), audio_config)).numpy()
        if phase.shape[0] != frames:
            raise file_error(path, f"{phase.shape[0]} frames but the feature store {root} holds {frames}; rebuild the store")
        return phase.astype(np.float16)

    jobs = (
        ("clean_phase.npy", store.clean.shape[0],
         [(clean_path[u["utt_id"]], u["offset"], u["frames"]) for u in index["utterances"]]),
        ("noisy_phase.npy", store.noisy.shape[0],
         [(mixtures_dir / m["path"], m["offset"], m["frames"]) for m in index["mixtures"]]),
    )
    for name, rows_total, items in jobs:
        if (root / name).is_file():
            continue
        tmp = root / f".{name}.partial.npy"
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(rows_total, audio_config.n_bins))
        try:
            for path, offset, frames in tqdm(items, desc=f"phases {index['split']}: {name[:-10]}", unit="file", disable=not progress):
                out[offset : offset + frames] = phase_of(path, frames)
            out.flush()
            del out
            tmp.replace(root / name)
        finally:
            tmp.unlink(missing_ok=True)
    return root


def has_emg(utterance: dict) -> bool:
    """Whether a store utterance has EMG features (stores written before audio-only speech: all do)."""
    return bool(utterance.get("has_emg", True))


def emg_offset(utterance: dict) -> int:
    """First row of a store utterance's EMG features in ``emg.npy`` (older stores: its clean offset)."""
    return int(utterance.get("emg_offset", utterance["offset"]))


@dataclass
class FeatureStore:
    """A built store, memory-mapped."""

    root: Path
    index: dict
    noisy: np.ndarray
    clean: np.ndarray
    emg: np.ndarray
    level: np.ndarray | None = None  # (mixture frames,) level gains, with AudioConfig.level_rms
    noisy_phase: np.ndarray | None = None  # (mixture frames, 257) float16, once add_phases ran
    clean_phase: np.ndarray | None = None  # (utterance frames, 257) float16

    @classmethod
    def open(cls, root: str | Path) -> FeatureStore:
        root = Path(root)
        index = read_json(root / "index.json")
        arrays = {}
        for name in ("noisy", "clean", "emg"):
            path = root / f"{name}.npy"
            try:
                arrays[name] = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as e:
                raise file_error(path, f"unreadable feature store file ({e})") from None
        level = np.load(root / "level.npy", mmap_mode="r") if (root / "level.npy").is_file() else None
        phases = {name[:-4]: np.load(root / name, mmap_mode="r") for name in PHASE_FILES if (root / name).is_file()}
        return cls(root, index, **arrays, level=level, **phases)

    @property
    def emg_dims(self) -> int:
        return int(self.index["emg_dims"])

    @property
    def audio_only(self) -> bool:
        """True for a store of audio-only speech alone (no utterance has EMG)."""
        return not any(has_emg(u) for u in self.index["utterances"])

    def __len__(self) -> int:
        return len(self.index["mixtures"])

    @property
    def settings(self) -> dict:
        """:func:`store_settings` of the configs this store was built with."""
        return store_settings(from_dict(AudioConfig, self.index["audio_config"]), from_dict(EmgConfig, self.index["emg_config"]))


class SegmentDataset(torch.utils.data.Dataset):
    """Fixed-length training segments drawn from a :class:`FeatureStore` (and audio-only speech).

    Each epoch covers every frame of every mixture: a tiling of ``segment``-frame windows shifted
    by a random offset per epoch (``set_epoch``, deterministic by ``seed``), clipped to the
    utterance, plus the segment that ends at the last frame (so the end of an utterance is seen
    every epoch, not only when the offset happens to be 0). With ``random=False`` (validation)
    segments are the plain tiling, its last one ending at the last frame.

    ``audio_only``: a store of audio-only speech whose mixtures join the training segments (the
    store's mixtures come first, so their offsets are the same with or without it). Segments of
    utterances without EMG get the "EMG absent" input :func:`absent_emg` (zeros, also where
    z-score would shift them). ``audio_only_share``: None uses every segment of every mixture;
    ``s`` in [0, 1) keeps every segment with EMG and draws (per epoch, by ``seed``) enough
    segments without EMG to make ``s`` of the epoch's segments, or all of them if there are fewer.

    ``target_rms``: None gives the clean target at its mixture's level (and, with level
    normalization, over the noisy frames' gain: what a model that hears the microphone can know).
    A number gives each utterance's clean spectrum scaled so its whole recording has that RMS
    (:func:`emgse.features.level.spectral_rms`), whatever the mixture: the target of a model that
    never hears the microphone (``emg-only``), which cannot know how loud the speech was recorded
    or how loud the noise around it was.

    ``gain_jitter``: training augmentation for EMG from sessions never seen (electrodes sit and
    contact differently every time): each item's channels get random gains ``exp(N(0, gain_jitter))``,
    applied exactly to the raw TD features (:data:`TD_DEGREES`) before z-scoring. 0 leaves them.

    ``phases``: items also carry the STFT phases (the stores need :func:`add_phases`), for losses
    on the rebuilt waveform.

    Items: ``noisy`` ``(segment, 257)``, ``clean`` ``(segment, 257)``, ``emg``
    ``(segment + 2*context, dims)`` (real neighbouring frames as context, zeros beyond the
    utterance), ``mask`` ``(segment,)`` (0 where a short utterance was padded), ``has_emg`` ``()``
    (1.0, or 0.0 for audio-only speech); with ``phases`` also ``noisy_phase`` and ``clean_phase``
    ``(segment, 257)`` float32 radians (0 where padded).
    """

    def __init__(
        self,
        store: FeatureStore,
        segment: int = 64,
        context: int = 15,
        *,
        zscore: ZScore | None = None,
        random: bool = True,
        seed: int = 0,
        audio_only: FeatureStore | None = None,
        audio_only_share: float | None = None,
        target_rms: float | None = None,
        gain_jitter: float = 0.0,
        phases: bool = False,
    ):
        if audio_only_share is not None and not 0.0 <= audio_only_share < 1.0:
            raise EmgseError(f"audio-only share {audio_only_share}: must be at least 0 and below 1")
        self.store, self.segment, self.context = store, segment, context
        self.zscore = zscore
        self.random, self.seed = random, seed
        self.audio_only_share = audio_only_share
        self.target_rms = target_rms
        if gain_jitter < 0:
            raise EmgseError(f"EMG gain jitter {gain_jitter:g}: must be >= 0")
        if gain_jitter and store.index["emg_config"].get("normalization") == "minmax":
            raise EmgseError("EMG gain jitter needs raw features (z-score or none): per-utterance min-max removes the gains")
        self.gain_jitter = float(gain_jitter)
        self._target_factor: dict[tuple[int, int], float] = {}  # (store, utterance) -> target_rms / its clean RMS
        self.stores = [store] if audio_only is None else [store, audio_only]
        self.phases = phases
        for st in self.stores if phases else []:
            if st.noisy_phase is None or st.clean_phase is None:
                raise EmgseError(f"{st.root}: feature store has no phases (emgse.data.add_phases writes them)")
        # every mixture as (store number, mixture entry); items index this list
        self.sources = [(s, mix) for s, st in enumerate(self.stores) for mix in st.index["mixtures"]]
        self.mixtures = [mix for _, mix in self.sources]
        self.absent = np.array([not has_emg(self.stores[s].index["utterances"][mix["utterance"]]) for s, mix in self.sources], bool)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        rng = np.random.default_rng([self.seed, epoch])
        items = []
        for m, mix in enumerate(self.mixtures):
            frames = mix["frames"]
            n = max(1, -(-frames // self.segment))
            shift = int(rng.integers(self.segment)) if self.random else 0
            starts = np.append(np.arange(n) * self.segment - shift, frames - self.segment)
            starts = np.clip(starts, 0, max(0, frames - self.segment))
            items.extend((m, int(s)) for s in np.unique(starts))
        if self.audio_only_share is not None:
            share = self.audio_only_share
            paired = [it for it in items if not self.absent[it[0]]]
            absent = [it for it in items if self.absent[it[0]]]
            take = min(len(absent), round(len(paired) * share / (1.0 - share)))
            pick = np.random.default_rng([self.seed, epoch, 1]).choice(len(absent), size=take, replace=False)
            items = paired + [absent[i] for i in np.sort(pick)]
        self.items = items

    def _channel_gains(self, i: int) -> np.ndarray:
        """``(dims,)`` factors on the raw TD features of item ``i`` for channel gains ``a_c = exp(N(0, gain_jitter))``:
        the features of a channel whose signal is ``a`` times larger (``a`` for the means, ``a^2`` for the
        powers, 1 for the zero-crossing rate); a new draw per item and epoch, deterministic by seed."""
        channels = self.store.emg_dims // N_TD
        a = np.exp(self.gain_jitter * np.random.default_rng([self.seed, self.epoch, i, 7]).standard_normal(channels))
        return (a[:, None] ** TD_DEGREES[None, :]).reshape(-1).astype(np.float32)

    def _utterance_factor(self, s: int, u: int) -> float:
        """``target_rms`` over the RMS of utterance ``u``'s whole clean recording (from its spectrum)."""
        if (s, u) not in self._target_factor:
            store = self.stores[s]
            utt = store.index["utterances"][u]
            config = from_dict(AudioConfig, store.index["audio_config"])
            rms = spectral_rms(np.asarray(store.clean[utt["offset"] : utt["offset"] + utt["frames"]]), config)
            self._target_factor[(s, u)] = float(self.target_rms / max(rms, FLOOR))
        return self._target_factor[(s, u)]

    @property
    def absent_segments(self) -> int:
        """Segments of this epoch without EMG."""
        return int(sum(self.absent[m] for m, _ in self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        m, start = self.items[i]
        s, mix = self.sources[m]
        store = self.stores[s]
        utt = store.index["utterances"][mix["utterance"]]
        frames, seg, k = mix["frames"], self.segment, self.context
        stop = min(frames, start + seg)
        n = stop - start
        noisy = np.zeros((seg, store.noisy.shape[1]), np.float32)
        clean = np.zeros_like(noisy)
        mask = np.zeros(seg, np.float32)
        noisy[:n] = store.noisy[mix["offset"] + start : mix["offset"] + stop]
        c = np.asarray(store.clean[utt["offset"] + start : utt["offset"] + stop])
        if self.target_rms is not None:  # the utterance's clean speech at one fixed level, whatever the mixture
            clean[:n] = rescale_log_magnitude(c, self._utterance_factor(s, mix["utterance"]))
        elif store.level is not None:  # the clean target at the noisy frames' level
            clean[:n] = rescale_log_magnitude(c, mix["gain"] / store.level[mix["offset"] + start : mix["offset"] + stop, None])
        else:
            clean[:n] = c if mix["gain"] == 1.0 else np.log1p(mix["gain"] * np.expm1(c))
        mask[:n] = 1.0
        item = {}
        if self.phases:
            for name, source, first in (("noisy_phase", store.noisy_phase, mix["offset"]), ("clean_phase", store.clean_phase, utt["offset"])):
                phase = np.zeros_like(noisy)
                phase[:n] = source[first + start : first + stop]
                item[name] = torch.from_numpy(phase)
        emg = absent_emg(seg, k, self.store.emg_dims)
        if has_emg(utt):
            lo, hi = max(0, start - k), min(frames, start + seg + k)
            block = np.asarray(store.emg[emg_offset(utt) + lo : emg_offset(utt) + hi])
            if self.gain_jitter:
                block = block * self._channel_gains(i)
            if self.zscore is not None:
                block = self.zscore(block)
            emg[lo - (start - k) : hi - (start - k)] = block
        return {
            "noisy": torch.from_numpy(noisy),
            "clean": torch.from_numpy(clean),
            "emg": torch.from_numpy(emg),
            "mask": torch.from_numpy(mask),
            "has_emg": torch.tensor(float(has_emg(utt))),
            **item,
        }


def check_store_matches(store: FeatureStore, other: FeatureStore) -> None:
    """Train and validation stores must share the EMG layout and every content setting."""
    for key in ("channels", "emg_dims", "emg_fs"):
        if store.index.get(key) != other.index.get(key):
            raise EmgseError(f"{other.root}: feature store differs from {store.root} in {key!r}; rebuild it")
    if store.settings != other.settings:
        raise EmgseError(f"{other.root}: feature store was built with other front-end settings than {store.root}; rebuild it")


def check_audio_only_store(store: FeatureStore, audio_only: FeatureStore) -> None:
    """An audio-only store must hold no EMG and share every front-end setting with the training store."""
    if not audio_only.audio_only:
        raise EmgseError(f"{audio_only.root}: holds mixtures with EMG, not audio-only speech (make it with emgse mix --speech-only)")
    if store.settings != audio_only.settings:
        raise EmgseError(f"{audio_only.root}: feature store was built with other front-end settings than {store.root}; rebuild it")
