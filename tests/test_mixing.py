import json

import numpy as np
import pytest
import soundfile as sf

from emgse.config import MixConfig
from emgse.corpora.simulated.config import DEFAULT_VOICES
from emgse.errors import EmgseError
from emgse.files import write_wav
from emgse.mixing import (
    BABBLE_VOICES,
    GENERATED_NOISES,
    TALKER_VOICES,
    NoiseBank,
    generate_noise,
    mix_at_snr,
    mix_corpus,
    read_manifest,
)


def _measured_snr(data, out, row):
    clean, _ = sf.read(data / row["clean"])
    noisy, _ = sf.read(out / row["path"])
    noise = noisy / row["gain"] - clean
    return 10 * np.log10(np.sum(clean**2) / np.sum(noise**2))


def test_every_noise_at_every_snr_with_exact_snr(prepared, tmp_path):
    bank = NoiseBank.from_sources(["white", "pink", "brown"])
    out = tmp_path / "mix"
    rows = mix_corpus(prepared, ["test"], bank, MixConfig(snrs_db=(-11, -6, -1, 4), seed=1), out, progress=False)
    assert len(rows) == 3 * 3 * 4
    manifest = read_manifest(out)
    assert {"utt_id", "split", "noise", "snr_db", "offset", "gain", "path"} <= set(manifest[0])
    assert {r["noise"] for r in manifest} == {"white", "pink", "brown"}
    for row in manifest:
        assert abs(_measured_snr(prepared, out, row) - row["snr_db"]) < 0.05
        data, fs = sf.read(out / row["path"], dtype="float32")
        assert fs == 16000 and sf.info(out / row["path"]).subtype == "FLOAT"
        assert (out / row["path"]).name == f"{row['utt_id']}.wav"


def test_per_utterance_draws_k_distinct_noises(prepared, tmp_path):
    bank = NoiseBank.from_sources(list(GENERATED_NOISES))
    rows = mix_corpus(prepared, ["train"], bank, MixConfig(snrs_db=(-10, 0, 10), per_utterance=5, seed=2), tmp_path / "m", progress=False)
    assert len(rows) == 2 * 3 * 5
    for utt in {r["utt_id"] for r in rows}:
        for snr in (-10, 0, 10):
            noises = [r["noise"] for r in rows if r["utt_id"] == utt and r["snr_db"] == snr]
            assert len(noises) == len(set(noises)) == 5
    with pytest.raises(EmgseError, match="between 1 and"):
        mix_corpus(prepared, ["train"], NoiseBank.from_sources(["white"]), MixConfig(per_utterance=2), tmp_path / "x", progress=False)


def test_same_seed_identical_files_other_seed_differs(prepared, tmp_path):
    bank = NoiseBank.from_sources(["pink"])
    cfg = MixConfig(snrs_db=(0,), seed=5)
    mix_corpus(prepared, ["test"], bank, cfg, tmp_path / "a", progress=False)
    mix_corpus(prepared, ["test"], bank, cfg, tmp_path / "b", progress=False)
    mix_corpus(prepared, ["test"], bank, MixConfig(snrs_db=(0,), seed=6), tmp_path / "c", progress=False)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.wav"))
    assert files
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert (tmp_path / "a" / "mixtures.csv").read_text() == (tmp_path / "b" / "mixtures.csv").read_text()
    assert any((tmp_path / "a" / rel).read_bytes() != (tmp_path / "c" / rel).read_bytes() for rel in files)


def test_clipping_is_scaled_and_recorded():
    rng = np.random.default_rng(0)
    clean = 0.9 * np.sin(np.linspace(0, 200, 8000))
    noisy, info = mix_at_snr(clean, rng.standard_normal(1000), -5.0, rng)
    assert info["gain"] < 1.0
    assert np.max(np.abs(noisy)) <= 0.99 + 1e-12
    noise = noisy / info["gain"] - clean
    assert abs(10 * np.log10(np.sum(clean**2) / np.sum(noise**2)) + 5.0) < 1e-6
    quiet, info = mix_at_snr(0.01 * clean, rng.standard_normal(1000), 10.0, rng)
    assert info["gain"] == 1.0


def test_short_noise_is_looped():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(100)
    clean = rng.standard_normal(1000) * 0.1
    noisy, info = mix_at_snr(clean, noise, 0.0, rng)
    seg = (noisy / info["gain"] - clean) / info["noise_scale"]
    np.testing.assert_allclose(seg, noise[(info["offset"] + np.arange(1000)) % 100], atol=1e-9)


def test_generated_noise_spectra():
    def slope(x):
        f = np.fft.rfftfreq(len(x), 1 / 16000)
        p = np.abs(np.fft.rfft(x)) ** 2
        band = (f > 100) & (f < 4000)
        return np.polyfit(np.log10(f[band]), np.log10(p[band]), 1)[0]

    assert abs(slope(generate_noise("white", 2.0))) < 0.2
    assert abs(slope(generate_noise("pink", 2.0)) + 1) < 0.2
    assert abs(slope(generate_noise("brown", 2.0)) + 2) < 0.2
    np.testing.assert_array_equal(generate_noise("pink", 1.0), generate_noise("pink", 1.0))


def test_noise_folder_any_rate(tmp_path):
    folder = tmp_path / "noises"
    folder.mkdir()
    sf.write(folder / "a.wav", np.random.default_rng(0).standard_normal(20000) * 0.1, 20000)
    sf.write(folder / "b.wav", np.random.default_rng(1).standard_normal((8000, 2)) * 0.1, 8000)
    bank = NoiseBank.from_sources([folder, "white"])
    assert bank.names == ["a", "b", "white"]
    assert len(bank.noises[0].signal) == 16000 and len(bank.noises[1].signal) == 16000
    with pytest.raises(EmgseError, match="not a noise folder"):
        NoiseBank.from_sources([tmp_path / "nope"])
    with pytest.raises(EmgseError, match="given twice"):
        NoiseBank.from_sources(["white", "white"])
    sf.write(folder / "silent.wav", np.zeros(100), 16000)
    with pytest.raises(EmgseError, match="silent"):
        NoiseBank.from_sources([folder])


def test_failed_mix_leaves_no_output(prepared, tmp_path):
    (prepared / "test" / "utttest01.wav").write_bytes(b"not audio")
    out = tmp_path / "mix"
    with pytest.raises(EmgseError, match="utttest01.wav"):
        mix_corpus(prepared, ["test"], NoiseBank.from_sources(["white"]), MixConfig(snrs_db=(0,)), out, progress=False)
    assert not out.exists() and not list(tmp_path.glob("mix.partial-*"))


def test_paper_training_noises_from_shared(shared_noise, prepared, tmp_path):
    train = shared_noise / "train"
    bank = NoiseBank.from_sources([train / "n1.wav", train / "n2.wav"])
    assert all(len(n.signal) > 0 for n in bank)
    rows = mix_corpus(prepared, ["train"], bank, MixConfig(snrs_db=(-10, 10), seed=0), tmp_path / "m", progress=False)
    for row in rows:
        assert abs(_measured_snr(prepared, tmp_path / "m", row) - row["snr_db"]) < 0.05


def test_speech_noises_are_deterministic_speech():
    # eSpeak female variants draw noise from libc's rand(); the worker reseeds it, so the babble
    # is the same on every call (it once differed between calls a second apart).
    a, b = generate_noise("talker"), generate_noise("talker")
    np.testing.assert_array_equal(a, b)
    # speech has a strongly fluctuating envelope, unlike stationary noise
    frames = a[: len(a) // 320 * 320].reshape(-1, 320)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    assert np.percentile(level, 90) - np.percentile(level, 10) > 15


def test_snr_spelling_gives_the_same_mixture(prepared, tmp_path):
    # the CLI passes floats, the benchmarks ints: both must seed the same mixture
    bank = NoiseBank.from_sources(["pink"])
    for name, snrs in (("int", (-10, 0)), ("float", (-10.0, 0.0)), ("numpy", (np.float32(-10), np.float64(-0.0)))):
        mix_corpus(prepared, ["test"], bank, MixConfig(snrs_db=snrs, seed=5), tmp_path / name, progress=False)
    files = sorted(p.relative_to(tmp_path / "int") for p in (tmp_path / "int").rglob("*.wav"))
    assert len(files) == 3 * 2
    for other in ("float", "numpy"):
        for rel in files:
            assert (tmp_path / "int" / rel).read_bytes() == (tmp_path / other / rel).read_bytes()
        assert (tmp_path / "int" / "mixtures.csv").read_text() == (tmp_path / other / "mixtures.csv").read_text()
    with pytest.raises(EmgseError, match="SNR.*twice: -10"):
        mix_corpus(prepared, ["test"], bank, MixConfig(snrs_db=(-10, -10.0)), tmp_path / "dup", progress=False)


def test_noise_category_is_recorded_from_an_explicit_list(prepared, tmp_path):
    noise_dir = tmp_path / "n"
    for name in ("speech_shaped_noise", "cafe_talkers"):
        write_wav(noise_dir / f"{name}.wav", generate_noise("pink", 2.0), 16000)
    bank = NoiseBank.from_sources(["white", "talker", noise_dir])
    rows = mix_corpus(prepared, ["test"], bank, MixConfig(snrs_db=(0.0,)), tmp_path / "m", progress=False, speech_noises=["cafe_talkers"])
    expected = {"white": "nonspeech", "talker": "speech", "speech_shaped_noise": "nonspeech", "cafe_talkers": "speech"}
    assert {r["noise"]: r["category"] for r in rows} == expected
    assert {r["noise"]: r["category"] for r in read_manifest(tmp_path / "m")} == expected
    with pytest.raises(EmgseError, match="speech noise.*babble.*not in the noise bank"):
        mix_corpus(prepared, ["test"], bank, MixConfig(snrs_db=(0.0,)), tmp_path / "x", progress=False, speech_noises=["babble"])


def test_speech_noise_voices_are_never_a_simulated_speakers_voice():
    def variant(voice):
        return voice.split("+", 1)[1].lower()

    speakers = {variant(v) for v in DEFAULT_VOICES}
    talker, babble = {variant(v) for v in TALKER_VOICES}, {variant(v) for v in BABBLE_VOICES}
    assert len(babble) == len(BABBLE_VOICES) == 4
    assert not speakers & (talker | babble)  # the target voice is never in its own noise
    assert not talker & babble  # the test babble holds no voice of the training talker


def test_two_cli_runs_write_byte_identical_files(prepared, tmp_path):
    # separate processes, seconds apart: nothing time-dependent (libsndfile's PEAK stamp) may remain
    import subprocess
    import sys

    for name in ("a", "b"):
        cmd = [sys.executable, "-m", "emgse", "mix", "--data", str(prepared), "--split", "test", "--noise", "white", "pink",
               "--snr", "-10", "5", "--seed", "3", "--speech-noise", "pink", "--out", str(tmp_path / name)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len([f for f in files if f.suffix == ".wav"]) == 3 * 2 * 2
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert {(r["noise"], r["category"]) for r in read_manifest(tmp_path / "a")} == {("white", "nonspeech"), ("pink", "speech")}


def test_speech_only_rows_any_rate_and_layout(tmp_path):
    from emgse.mixing import mix_speech_only
    from tests.pipeline import write_speech_folder

    speech = write_speech_folder(tmp_path / "speech")
    out = tmp_path / "mix"
    rows = mix_speech_only([speech], NoiseBank.from_sources(["white", "pink"]), MixConfig(snrs_db=(-5, 5), seed=2), out, progress=False)
    durations = {"spk1-a": 0.9, "spk2-session-b": 1.2, "c": 0.7}
    assert len(rows) == 3 * 2 * 2
    manifest = read_manifest(out)
    assert {r["utt_id"] for r in manifest} == set(durations)
    for row in manifest:
        assert row["split"] == "train" and row["has_emg"] == 0 and row["clean"] == f"speech/{row['utt_id']}.wav"
        clean, fs = sf.read(out / row["clean"])
        assert fs == 16000 and clean.ndim == 1 and abs(len(clean) - durations[row["utt_id"]] * 16000) <= 1
        assert abs(_measured_snr(out, out, row) - row["snr_db"]) < 0.05  # exact SNR against the stored copy
    meta = json.loads((out / "mix.json").read_text())
    assert meta["emg"] is False and "data" not in meta and meta["utterances"] == 3
    # the 48 kHz stereo file: its 16 kHz copy is the channel mean, resampled
    from emgse.features.resample import resample

    original, fs = sf.read(speech / "spk1" / "a.wav")
    copy, _ = sf.read(out / "speech" / "spk1-a.wav")
    np.testing.assert_allclose(copy, resample(original.mean(axis=1), fs, 16000), atol=1e-6)


def test_paired_rows_have_emg(prepared, tmp_path):
    mix_corpus(prepared, ["test"], NoiseBank.from_sources(["white"]), MixConfig(snrs_db=(0,)), tmp_path / "mix", progress=False)
    assert {r["has_emg"] for r in read_manifest(tmp_path / "mix")} == {1}


def test_speech_only_errors_name_the_file(tmp_path):
    from emgse.mixing import mix_speech_only

    bank, config = NoiseBank.from_sources(["white"]), MixConfig(snrs_db=(0,))
    empty = tmp_path / "empty" / "spk"
    empty.mkdir(parents=True)
    (empty / "a.txt").write_text("only a transcript")
    with pytest.raises(EmgseError, match=r"empty: no \.wav or \.flac files"):
        mix_speech_only([tmp_path / "empty"], bank, config, tmp_path / "out", progress=False)
    low = tmp_path / "low"
    low.mkdir()
    sf.write(low / "phone.wav", 0.1 * np.random.default_rng(0).standard_normal(8000), 8000)
    with pytest.raises(EmgseError, match=r"phone\.wav: sample rate 8000 Hz is below 16000 Hz"):
        mix_speech_only([low], bank, config, tmp_path / "out", progress=False)
    (low / "phone.wav").write_bytes(b"RIFF not audio")
    with pytest.raises(EmgseError, match=r"phone\.wav: unreadable or corrupt audio"):
        mix_speech_only([low], bank, config, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_speech_only_cli(tmp_path, capsys):
    from emgse.cli import main
    from tests.pipeline import write_speech_folder

    speech = write_speech_folder(tmp_path / "speech")
    args = ["mix", "--speech-only", str(speech), "--noise", "white", "--snr", "0", "--out", str(tmp_path / "mix")]
    assert main([*args, "--split", "test"]) == 2
    assert "always training data" in capsys.readouterr().err
    assert main(args) == 0
    assert "3 utterances" in capsys.readouterr().out
    assert {r["has_emg"] for r in read_manifest(tmp_path / "mix")} == {0}
