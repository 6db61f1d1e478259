"""The synthetic signals shared by tests and benchmarks: deterministic by seed, at what they promise."""

from __future__ import annotations

import numpy as np

from emgse.mixing import read_manifest
from emgse.synthetic import (
    add_white_noise,
    make_mixtures,
    speech_like,
    write_csl_utterance,
    write_system,
)


def test_speech_like_is_seeded_and_scaled():
    x = speech_like(1.0, seed=3)
    assert x.shape == (16000,) and np.isclose(np.abs(x).max(), 0.3)
    assert np.array_equal(x, speech_like(1.0, seed=3)) and not np.array_equal(x, speech_like(1.0, seed=4))


def test_white_noise_at_the_exact_snr():
    clean = speech_like(1.0)
    noise = add_white_noise(clean, 7.0) - clean
    assert np.isclose(10 * np.log10(np.sum(clean**2) / np.sum(noise**2)), 7.0)


def test_csl_utterance_files_and_prerolls(tmp_path):
    session = tmp_path / "Spk1_Block1-Initial"
    pre = write_csl_utterance(session, 2, np.random.default_rng(0), emg_preroll=0.1, audio_preroll=0.2)
    assert pre == {"emg_preroll": 0.1, "audio_preroll": 0.2}
    emg = np.load(session / "0002" / "Spk1_Block1-Initial_0002_emg.npy")
    assert emg.shape == (int(0.1 * 2048) + 2048, 41) and (session / "0002" / "Spk1_Block1-Initial_0002_audio.wav").is_file()


def test_mixtures_at_the_asked_snrs_and_a_system_for_them(tmp_path):
    mix = make_mixtures(tmp_path, utterances=1, seconds=1.0, snrs_db=(-11.0, 4.0))
    rows = read_manifest(mix)
    assert sorted({r["snr_db"] for r in rows}) == [-11.0, 4.0] and len(rows) == 4  # 2 noises x 2 SNRs
    write_system(mix, tmp_path / "enh", "oracle", lambda noisy, ref: ref)
    assert all((tmp_path / "enh" / "oracle" / r["path"]).is_file() for r in rows)
