import numpy as np
import pytest
import torch

from emgse.config import EmgConfig
from emgse.data import FeatureStore, SegmentDataset
from emgse.errors import EmgseError
from emgse.features.audio import log_magnitude
from emgse.features.emg import ZScore
from emgse.files import read_audio
from tests.pipeline import tiny_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return tiny_pipeline(tmp_path_factory.mktemp("data"))


def test_store_layout_one_entry_per_utterance_and_mixture(pipeline):
    store = FeatureStore.open(pipeline["train"])
    idx = store.index
    assert len(idx["utterances"]) == 4 and len(idx["mixtures"]) == 4 * 2  # 2 SNRs x 1 noise each
    assert store.noisy.shape[0] == sum(m["frames"] for m in idx["mixtures"])
    assert store.clean.shape[0] == store.emg.shape[0] == sum(u["frames"] for u in idx["utterances"])
    assert store.emg.shape[1] == 35 * 5 and idx["channels"][7] == 8  # dead channel 7 skipped
    # min-max per utterance
    u = idx["utterances"][0]
    block = store.emg[u["offset"] : u["offset"] + u["frames"]]
    assert block.min() == 0.0 and block.max() == 1.0
    # noisy features equal a fresh computation from the mixture file
    m = idx["mixtures"][3]
    audio, _ = read_audio(pipeline["mix"] / m["path"])
    fresh = log_magnitude(torch.as_tensor(audio, dtype=torch.float32))[0].numpy()
    np.testing.assert_allclose(store.noisy[m["offset"] : m["offset"] + m["frames"]], fresh, atol=1e-6)


def test_segments_targets_and_context(pipeline):
    store = FeatureStore.open(pipeline["train"])
    ds = SegmentDataset(store, segment=32, context=4, random=False)
    item = ds[1]  # second segment of the first mixture: starts at frame 32
    assert item["noisy"].shape == (32, 257) and item["emg"].shape == (40, 175) and item["mask"].sum() == 32
    m = store.index["mixtures"][0]
    u = store.index["utterances"][m["utterance"]]
    expected = np.asarray(store.emg[u["offset"] + 28 : u["offset"] + 68])
    np.testing.assert_array_equal(item["emg"].numpy(), expected)  # real neighbours, not zeros
    first = ds[0]
    assert torch.all(first["emg"][:4] == 0)  # zero context before the utterance
    clean = np.asarray(store.clean[u["offset"] + 32 : u["offset"] + 64])
    np.testing.assert_allclose(item["clean"].numpy(), np.log1p(m["gain"] * np.expm1(clean)), rtol=1e-6)


def test_emg_only_target_is_the_utterance_at_one_level(pipeline):
    """target_rms: every mixture of an utterance (at any SNR and gain) gets the same clean target,
    the utterance's clean spectrum scaled so its whole recording has that RMS."""
    from emgse.config import AudioConfig
    from emgse.features.level import spectral_rms

    store = FeatureStore.open(pipeline["train"])
    for k, mix in enumerate(store.index["mixtures"]):  # in memory only: mixtures of one utterance at other gains
        mix["gain"] = (0.1, 3.0)[k % 2]
    ds = SegmentDataset(store, segment=16, context=2, random=False, target_rms=0.05)
    plain = SegmentDataset(store, segment=16, context=2, random=False)
    by_utterance: dict[int, list] = {}
    for i, (m, start) in enumerate(ds.items):
        mix = ds.mixtures[m]
        by_utterance.setdefault(mix["utterance"], []).append((mix["gain"], start, ds[i]["clean"].numpy(), plain[i]["clean"].numpy()))
    assert all(len({g for g, *_ in rows}) > 1 for rows in by_utterance.values())  # the mixtures' gains differ...
    for u, rows in by_utterance.items():
        for start in {s for _, s, *_ in rows}:
            same = [c for _, s, c, _ in rows if s == start]
            for c in same[1:]:
                np.testing.assert_array_equal(c, same[0])  # ...the target does not
        utt = store.index["utterances"][u]
        whole = np.asarray(store.clean[utt["offset"] : utt["offset"] + utt["frames"]])
        factor = 0.05 / spectral_rms(whole, AudioConfig())
        _, start, c, _ = rows[0]
        n = min(16, utt["frames"] - start)
        np.testing.assert_allclose(c[:n], np.log1p(factor * np.expm1(whole[start : start + n])), rtol=1e-5, atol=1e-7)
    assert any(not np.allclose(r[2], r[3]) for rows in by_utterance.values() for r in rows)  # not the mixture-level target


def test_spectral_rms_is_the_waveform_rms():
    from emgse.config import AudioConfig
    from emgse.features.level import spectral_rms

    rng = np.random.default_rng(0)
    t = np.arange(32000) / 16000
    for x in (0.1 * rng.standard_normal(32000), 0.02 * np.sin(2 * np.pi * 300 * t), 0.3 * np.sign(np.sin(2 * np.pi * 5 * t)) * rng.standard_normal(32000)):
        log_mag = log_magnitude(torch.as_tensor(x, dtype=torch.float32))[0].numpy()
        assert spectral_rms(log_mag, AudioConfig()) == pytest.approx(np.sqrt(np.mean(x**2)), rel=0.02)
        assert spectral_rms(np.log1p(3 * np.expm1(log_mag)), AudioConfig()) == pytest.approx(3 * spectral_rms(log_mag, AudioConfig()), rel=1e-6)


def test_epochs_shift_segments_deterministically(pipeline):
    store = FeatureStore.open(pipeline["train"])
    a, b = SegmentDataset(store, seed=1), SegmentDataset(store, seed=1)
    a.set_epoch(3)
    b.set_epoch(3)
    assert a.items == b.items
    b.set_epoch(4)
    assert a.items != b.items


def test_zscore_store(tmp_path):
    p = tiny_pipeline(tmp_path, EmgConfig(normalization="zscore", channels="cheek"))
    store = FeatureStore.open(p["train"])
    assert store.emg.shape[1] == 28 * 5 and store.emg.max() > 1.0  # raw features, normalized later


def test_td_features_scale_with_the_channel_gain_as_the_jitter_assumes():
    """TD_DEGREES: the features of ``a * x`` are the features of ``x`` times ``a ** degree``."""
    from emgse.data import TD_DEGREES
    from emgse.features.td import td_features

    x = np.random.default_rng(2).standard_normal((4000, 3)) + 0.5  # with a DC offset
    a = np.array([0.5, 1.7, 3.0])
    f, g = td_features(x), td_features(x * a)
    expected = f.reshape(len(f), 3, 5) * (a[:, None] ** TD_DEGREES[None, :])
    np.testing.assert_allclose(g.reshape(len(g), 3, 5), expected, rtol=2e-4, atol=1e-6)


def test_emg_gain_jitter_is_per_item_deterministic_and_needs_raw_features(tmp_path):
    from emgse.data import TD_DEGREES

    p = tiny_pipeline(tmp_path, EmgConfig(normalization="zscore", channels="cheek"))
    store = FeatureStore.open(p["train"])
    plain = SegmentDataset(store, segment=16, context=2, random=False)
    a, b = (SegmentDataset(store, segment=16, context=2, random=False, gain_jitter=0.3) for _ in range(2))
    ratio = a[0]["emg"].numpy() / np.where(plain[0]["emg"].numpy() == 0, 1, plain[0]["emg"].numpy())
    gains = ratio[2].reshape(28, 5)  # one gain per channel, raised to each feature's degree
    np.testing.assert_allclose(gains, gains[:, :1] ** TD_DEGREES[None, :], rtol=1e-4)
    assert np.std(np.log(gains[:, 0])) > 0.1  # channels differ...
    np.testing.assert_allclose(ratio[2:10], np.broadcast_to(ratio[2], ratio[2:10].shape), rtol=1e-5)  # ...one draw per item
    np.testing.assert_array_equal(a[0]["emg"].numpy(), b[0]["emg"].numpy())  # deterministic by seed
    other = a[1]["emg"].numpy() / np.where(plain[1]["emg"].numpy() == 0, 1, plain[1]["emg"].numpy())
    assert not np.allclose(other[2], ratio[2], rtol=1e-3)  # another item, other gains
    a.set_epoch(1)
    assert not np.array_equal(a[0]["emg"].numpy(), b[0]["emg"].numpy())  # a new draw each epoch
    minmax = FeatureStore.open(tiny_pipeline(tmp_path / "mm")["train"])
    with pytest.raises(EmgseError, match="min-max removes the gains"):
        SegmentDataset(minmax, gain_jitter=0.3)


def test_every_frame_is_seen_every_epoch():
    # an utterance's last frames were covered only when the random offset was 0 (1 epoch in 64)
    frames = [128, 200, 64, 30, 65]
    offsets = [int(o) for o in np.cumsum([0, *frames])]
    utterances = [{"offset": offsets[i], "frames": f} for i, f in enumerate(frames)]
    index = {"mixtures": [{"utterance": i, "gain": 1.0, **u} for i, u in enumerate(utterances)], "utterances": utterances, "emg_dims": 5}
    zeros = np.zeros((offsets[-1], 257), np.float32)
    store = FeatureStore(None, index, zeros, zeros, np.zeros((offsets[-1], 5), np.float32))
    for random in (True, False):
        ds = SegmentDataset(store, segment=64, context=2, random=random, seed=3)
        for epoch in range(40):
            ds.set_epoch(epoch)
            seen = [np.zeros(f, bool) for f in frames]
            for m, start in ds.items:
                seen[m][start : start + 64] = True
            assert all(s.all() for s in seen), (random, epoch)
            # no more segments than the tiling plus the one ending at the last frame
            assert len(ds.items) <= sum(-(-f // 64) + 1 for f in frames)


@pytest.fixture(scope="module")
def with_speech(tmp_path_factory):
    """Paired data and audio-only speech, z-score EMG (zero features then differ from z-scored zeros)."""
    from tests.pipeline import tiny_speech_only

    root = tmp_path_factory.mktemp("speech")
    emg = EmgConfig(normalization="zscore")
    return tiny_pipeline(root, emg), tiny_speech_only(root, emg)


def test_audio_only_store_needs_no_emg_or_prepared_corpus(with_speech):
    _, speech = with_speech
    store = FeatureStore.open(speech["train"])
    assert store.audio_only and store.emg_dims == 0 and store.emg.shape[0] == 0
    assert all(u["has_emg"] is False and u["emg_offset"] is None for u in store.index["utterances"])
    u = store.index["utterances"][0]
    audio, _ = read_audio(speech["mix"] / "speech" / f"{u['utt_id']}.wav")
    fresh = log_magnitude(torch.as_tensor(audio, dtype=torch.float32))[0].numpy()
    np.testing.assert_allclose(store.clean[u["offset"] : u["offset"] + u["frames"]], fresh, atol=1e-6)


def test_audio_only_segments_get_the_absent_input(with_speech):
    from emgse.data import absent_emg

    paired, speech = with_speech
    store, extra = FeatureStore.open(paired["train"]), FeatureStore.open(speech["train"])
    zscore = ZScore(np.full(175, 0.5, np.float32), np.full(175, 2.0, np.float32))
    ds = SegmentDataset(store, segment=32, context=4, zscore=zscore, random=False, audio_only=extra)
    flags = np.array([float(ds[i]["has_emg"]) for i in range(len(ds))])
    assert flags.sum() == len(ds) - ds.absent_segments > 0 and ds.absent_segments > 0
    for i in np.flatnonzero(flags == 0):
        np.testing.assert_array_equal(ds[i]["emg"].numpy(), absent_emg(32, 4, 175))
    first = ds[0]["emg"].numpy()  # paired: z-scored features, zero context before the start
    u = store.index["utterances"][store.index["mixtures"][0]["utterance"]]
    np.testing.assert_allclose(first[4:], (store.emg[u["emg_offset"] : u["emg_offset"] + 36] - 0.5) / 2.0, rtol=1e-6)
    assert np.all(first[:4] == 0) and flags[0] == 1
    # the audio-only clean target is the speech copy's magnitude at the mixture's gain and level
    item = ds[int(np.flatnonzero(flags == 0)[0])]
    assert item["mask"].sum() > 0 and torch.all(item["clean"][item["mask"] > 0].sum(-1) > 0)


def test_audio_only_share_sets_the_mix_per_epoch_deterministically(with_speech):
    paired, speech = with_speech
    store, extra = FeatureStore.open(paired["train"]), FeatureStore.open(speech["train"])
    alone = SegmentDataset(store, segment=16, seed=4)
    every = SegmentDataset(store, segment=16, seed=4, audio_only=extra)
    n_paired, n_absent = len(alone), every.absent_segments
    assert len(every) == n_paired + n_absent and every.items[:n_paired] == alone.items  # paired offsets unchanged
    for share in (0.0, 0.1, 0.25):
        ds = SegmentDataset(store, segment=16, seed=4, audio_only=extra, audio_only_share=share)
        want = min(n_absent, round(n_paired * share / (1 - share)))
        assert ds.absent_segments == want and len(ds) == n_paired + want
    half = SegmentDataset(store, segment=16, seed=4, audio_only=extra, audio_only_share=0.5)
    assert half.absent_segments == min(n_absent, n_paired)
    a = SegmentDataset(store, segment=16, seed=4, audio_only=extra, audio_only_share=0.1)
    b = SegmentDataset(store, segment=16, seed=4, audio_only=extra, audio_only_share=0.1)
    picks = []
    for epoch in (1, 2):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        assert a.items == b.items
        picks.append([it for it in a.items if a.absent[it[0]]])
    assert picks[0] != picks[1]  # another draw of audio-only segments each epoch
    with pytest.raises(EmgseError, match="below 1"):
        SegmentDataset(store, audio_only=extra, audio_only_share=1.0)


def test_add_phases_writes_each_recordings_phase_once_and_segments_carry_them(pipeline, tmp_path):
    import shutil

    from emgse.data import PHASE_FILES, add_phases

    root = tmp_path / "store"
    shutil.copytree(pipeline["train"], root)
    store = FeatureStore.open(root)
    assert store.noisy_phase is None
    with pytest.raises(EmgseError, match=r"store: feature store has no phases"):
        SegmentDataset(store, segment=32, context=4, phases=True)
    add_phases(root, progress=False)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []  # no partial file left
    stamps = [(root / n).stat().st_mtime_ns for n in PHASE_FILES]
    add_phases(root, progress=False)  # already there: nothing rewritten
    assert [(root / n).stat().st_mtime_ns for n in PHASE_FILES] == stamps
    store = FeatureStore.open(root)
    idx = store.index
    m, u = idx["mixtures"][3], idx["utterances"][idx["mixtures"][3]["utterance"]]
    audio, _ = read_audio(pipeline["mix"] / m["path"])
    from emgse.config import AudioConfig, from_dict
    from emgse.features.audio import stft

    config = from_dict(AudioConfig, idx["audio_config"])
    fresh = stft(torch.as_tensor(audio, dtype=torch.float32), config)
    stored = torch.as_tensor(np.asarray(store.noisy_phase[m["offset"] : m["offset"] + m["frames"]], np.float32))
    # same phase up to float16 rounding, compared on the unit circle (angles wrap at +-pi)
    assert (torch.polar(torch.ones_like(stored), stored) - fresh / fresh.abs().clamp_min(1e-12))[fresh.abs() > 1e-6].abs().max() < 5e-3
    clean, _ = read_audio(idx["data"] + f"/train/{u['utt_id']}.wav")
    clean_spec = stft(torch.as_tensor(clean, dtype=torch.float32), config)
    stored = torch.as_tensor(np.asarray(store.clean_phase[u["offset"] : u["offset"] + u["frames"]], np.float32))
    assert (torch.polar(torch.ones_like(stored), stored) - clean_spec / clean_spec.abs().clamp_min(1e-12))[clean_spec.abs() > 1e-6].abs().max() < 5e-3
    ds = SegmentDataset(store, segment=32, context=4, random=False, phases=True)
    item = ds[1]  # frames 32..63 of the first mixture
    first = idx["mixtures"][0]
    np.testing.assert_array_equal(item["noisy_phase"].numpy(), np.asarray(store.noisy_phase[first["offset"] + 32 : first["offset"] + 64], np.float32))
    assert item["clean_phase"].shape == (32, 257) and "noisy_phase" not in SegmentDataset(store, segment=32, context=4)[0]


def test_add_phases_names_a_recording_that_no_longer_matches_the_store(pipeline, tmp_path):
    import shutil

    import soundfile as sf

    from emgse.data import add_phases

    mix = tmp_path / "mix"
    shutil.copytree(pipeline["mix"], mix)
    root = tmp_path / "store"
    shutil.copytree(pipeline["train"], root)
    index = (root / "index.json").read_text().replace(str(pipeline["mix"].resolve()), str(mix.resolve()))
    (root / "index.json").write_text(index)
    m = FeatureStore.open(root).index["mixtures"][0]
    audio, fs = read_audio(mix / m["path"])
    sf.write(mix / m["path"], audio[: len(audio) // 2], fs, subtype="FLOAT")
    with pytest.raises(EmgseError, match=rf"{m['path'].split('/')[-1]}: \d+ frames but the feature store .* holds \d+; rebuild the store"):
        add_phases(root, progress=False)
    assert not (root / "noisy_phase.npy").exists() and not list(root.glob(".*partial*"))
