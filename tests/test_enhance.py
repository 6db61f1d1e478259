import numpy as np
import pytest
import soundfile as sf

from emgse.enhance import Enhancer, enhance_file, enhance_folder, enhance_mixtures
from emgse.errors import EmgseError
from emgse.mixing import read_manifest
from emgse.training import TrainConfig, train
from tests.pipeline import tiny_pipeline


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("enhance")
    p = tiny_pipeline(root)
    cfg = TrainConfig(model="emgse", max_epochs=1, max_steps_per_epoch=1, batch_size=4)
    train(p["train"], p["val"], root / "run", cfg, progress=False)
    p["ckpt"] = root / "run" / "best.pt"
    return p


def test_single_file_any_rate_exact_length(trained, tmp_path):
    rng = np.random.default_rng(0)
    n = 22050 + 137
    sf.write(tmp_path / "noisy.wav", rng.standard_normal(n) * 0.1, 22050)
    np.save(tmp_path / "emg.npy", rng.standard_normal((int(n / 22050 * 2000) + 50, 40)))  # 25 ms longer: padded/trimmed
    # (2.4% long on 1 s would also fit 2048 Hz EMG read as 2000 Hz: the rate must then be given)
    info = enhance_file(trained["ckpt"], tmp_path / "noisy.wav", tmp_path / "out.wav", emg=tmp_path / "emg.npy", emg_fs=2000.0)
    y, fs = sf.read(tmp_path / "out.wav")
    assert fs == 22050 and len(y) == n == info["samples"] and np.all(np.isfinite(y))


def test_emg_at_another_rate_is_resampled(trained, tmp_path):
    enh = Enhancer(trained["ckpt"])
    rng = np.random.default_rng(1)
    y = enh.enhance(rng.standard_normal(16000) * 0.1, rng.standard_normal((1000, 40)), emg_fs=1000.0)
    assert y.shape == (16000,)


def test_input_errors(trained, tmp_path):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "noisy.wav", rng.standard_normal(16000) * 0.1, 16000)
    np.save(tmp_path / "long.npy", rng.standard_normal((2400, 40)))  # 1.2 s vs 1.0 s
    with pytest.raises(EmgseError, match="200 ms apart"):
        enhance_file(trained["ckpt"], tmp_path / "noisy.wav", tmp_path / "o.wav", emg=tmp_path / "long.npy")
    np.save(tmp_path / "narrow.npy", rng.standard_normal((2000, 8)))
    with pytest.raises(EmgseError, match="8 EMG channels, but the checkpoint was trained on 40"):
        enhance_file(trained["ckpt"], tmp_path / "noisy.wav", tmp_path / "o.wav", emg=tmp_path / "narrow.npy")
    with pytest.raises(EmgseError, match="needs EMG"):
        enhance_file(trained["ckpt"], tmp_path / "noisy.wav", tmp_path / "o.wav")
    with pytest.raises(EmgseError, match="overwrite an input"):
        enhance_file(trained["ckpt"], tmp_path / "noisy.wav", tmp_path / "noisy.wav", emg=tmp_path / "narrow.npy")
    (tmp_path / "bad.pt").write_bytes(b"nonsense")
    with pytest.raises(EmgseError, match="bad.pt: unreadable or corrupt checkpoint"):
        Enhancer(tmp_path / "bad.pt")
    assert not (tmp_path / "o.wav").exists()


def test_batch_mode_mirrors_manifest(trained, tmp_path):
    target = enhance_mixtures(trained["ckpt"], trained["mix_test"], tmp_path / "enh", system="emgse", progress=False)
    rows = read_manifest(trained["mix_test"])
    for r in rows:
        y, fs = sf.read(target / r["path"])
        noisy, _ = sf.read(trained["mix_test"] / r["path"])
        assert len(y) == len(noisy) and fs == 16000
    with pytest.raises(EmgseError, match="not empty"):
        enhance_mixtures(trained["ckpt"], trained["mix_test"], tmp_path / "enh", system="emgse", progress=False)


def test_folder_mode_on_prepared_layout(trained, tmp_path):
    written = enhance_folder(trained["ckpt"], trained["prep"] / "test", tmp_path / "out", progress=False)
    assert [p.name for p in written] == ["utttest00.wav", "utttest01.wav"]
    for p in written:
        y, _ = sf.read(p)
        x, _ = sf.read(trained["prep"] / "test" / p.name)
        assert len(y) == len(x)
    with pytest.raises(EmgseError, match="input folder"):
        enhance_folder(trained["ckpt"], trained["prep"] / "test", trained["prep"] / "test", progress=False)
    (tmp_path / "lonely").mkdir()
    sf.write(tmp_path / "lonely" / "a.wav", np.zeros(8000), 16000)
    with pytest.raises(EmgseError, match=r"a\.emg\.npy: EMG for a\.wav not found"):
        enhance_folder(trained["ckpt"], tmp_path / "lonely", tmp_path / "o2", progress=False)


def test_missing_emg_and_faults(trained, tmp_path):
    from emgse.faults import EmgFault

    enh = Enhancer(trained["ckpt"])
    noisy = np.random.default_rng(2).standard_normal(16000) * 0.1
    y = enh.enhance(noisy, None, allow_missing_emg=True)
    assert y.shape == (16000,) and np.all(np.isfinite(y))
    for fault in (EmgFault("absent"), EmgFault("flat", 0.3), EmgFault("noisy", 0.3)):
        target = enhance_mixtures(trained["ckpt"], trained["mix_test"], tmp_path, system=f"emgse@{fault.label}", fault=fault, progress=False)
        assert len(list(target.rglob("*.wav"))) == len(read_manifest(trained["mix_test"]))


def test_flat_and_loud_channels_are_treated_as_missing(trained, tmp_path, capsys):
    rng = np.random.default_rng(3)
    noisy, emg = rng.standard_normal(16000) * 0.1, rng.standard_normal((2000, 40))
    enh = Enhancer(trained["ckpt"], check_channels=True)  # the paper's min-max model: the check must be asked for
    intact = enh.enhance(noisy, emg)
    assert enh.last_unusable == []
    flat, loud = emg.copy(), emg.copy()
    flat[:, [2, 5]] = 0.7 + 1e-3 * rng.standard_normal((2000, 2))  # fallen off: an offset and amplifier noise
    loud[:, [2, 5]] *= 40.0  # lost contact: far louder than the others
    y_flat, y_loud = enh.enhance(noisy, flat), enh.enhance(noisy, loud)
    assert enh.last_unusable == [2, 5]
    assert not np.allclose(y_flat, intact, atol=1e-6)
    unchecked = Enhancer(trained["ckpt"], check_channels=False)
    assert not np.allclose(unchecked.enhance(noisy, loud), y_loud, atol=1e-6) and unchecked.last_unusable == []
    sf.write(tmp_path / "noisy.wav", noisy, 16000)
    np.save(tmp_path / "emg.npy", loud)
    assert enhance_file(trained["ckpt"], tmp_path / "noisy.wav", tmp_path / "o.wav", emg=tmp_path / "emg.npy",
                        check_channels=True)["unusable_channels"] == [2, 5]
    from emgse.cli import main

    args = ["enhance", "--checkpoint", str(trained["ckpt"]), "--audio", str(tmp_path / "noisy.wav"), "--emg", str(tmp_path / "emg.npy")]
    assert main([*args, "--out", str(tmp_path / "c.wav"), "--channel-check"]) == 0
    assert "EMG channels 2, 5 read flat or abnormally loud" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "d.wav"), "--no-channel-check"]) == 0
    np.testing.assert_allclose(sf.read(tmp_path / "d.wav")[0], unchecked.enhance(noisy, loud), atol=1e-4)


def test_paper_checkpoints_are_not_checked_by_default(trained, tmp_path, capsys):
    """Min-max removes a channel's gain: the paper's EMGSE gets the loud channel as is, exactly the paper's recipe."""
    rng = np.random.default_rng(4)
    noisy, emg = rng.standard_normal(16000) * 0.1, rng.standard_normal((2000, 40))
    emg[:, 3] *= 20.0
    enh = Enhancer(trained["ckpt"])
    assert not enh.check_channels
    np.testing.assert_array_equal(enh.enhance(noisy, emg), Enhancer(trained["ckpt"], check_channels=False).enhance(noisy, emg))
    assert enh.last_unusable == []


def test_dropped_channels_are_recorded_per_file(trained, tmp_path, capsys):
    from emgse.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for name, broken in (("a", None), ("b", 6)):
        emg = rng.standard_normal((2000, 40))
        if broken is not None:
            emg[:, broken] *= 30.0
        sf.write(folder / f"{name}.wav", rng.standard_normal(16000) * 0.1, 16000)
        np.save(folder / f"{name}.emg.npy", emg)
    assert main(["enhance", "--checkpoint", str(trained["ckpt"]), "--folder", str(folder), "--out", str(tmp_path / "out"),
                 "--channel-check", "--quiet"]) == 0
    assert "channel_check.csv" in capsys.readouterr().out
    assert (tmp_path / "out" / "channel_check.csv").read_text().splitlines() == ["file,dropped_channels", "a.wav,", "b.wav,6"]
    target = enhance_mixtures(trained["ckpt"], trained["mix_test"], tmp_path / "enh", check_channels=True, progress=False)
    lines = (target / "channel_check.csv").read_text().splitlines()
    assert lines[0] == "file,dropped_channels" and len(lines) == 1 + len(read_manifest(trained["mix_test"]))
    written = enhance_mixtures(trained["ckpt"], trained["mix_test"], tmp_path / "enh2", progress=False)  # auto: off for min-max
    assert not (written / "channel_check.csv").exists()


def test_empty_emg_and_a_wrong_emg_rate_give_one_line(trained, tmp_path, capsys):
    from emgse.cli import main

    rng = np.random.default_rng(6)
    sf.write(tmp_path / "short.wav", rng.standard_normal(800) * 0.1, 16000)  # 50 ms
    np.save(tmp_path / "empty.npy", np.zeros((0, 40)))
    base = ["enhance", "--checkpoint", str(trained["ckpt"])]
    assert main([*base, "--audio", str(tmp_path / "short.wav"), "--emg", str(tmp_path / "empty.npy"), "--out", str(tmp_path / "o.wav")]) == 2
    err = capsys.readouterr().err
    assert "empty.npy: array of shape (0, 40) has no samples" in err and "Traceback" not in err
    # 2 s recorded at 2048 Hz, given to a 2000 Hz checkpoint without --emg-fs: 2.4% (48 ms) long
    sf.write(tmp_path / "two.wav", rng.standard_normal(32000) * 0.1, 16000)
    np.save(tmp_path / "fast.npy", rng.standard_normal((4096, 40)))
    args = [*base, "--audio", str(tmp_path / "two.wav"), "--emg", str(tmp_path / "fast.npy")]
    assert main([*args, "--out", str(tmp_path / "f.wav")]) == 2
    err = capsys.readouterr().err
    assert "fast.npy" in err and "2048 Hz" in err and "--emg-fs" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f.wav").exists()
    assert main([*args, "--out", str(tmp_path / "g.wav"), "--emg-fs", "2048"]) == 0


def test_attenuation_limit_caps_how_much_any_bin_is_removed(trained, tmp_path, capsys):
    import torch

    from emgse.cli import main
    from emgse.enhance import attenuation_floor, limit_attenuation

    assert attenuation_floor(None) == 0.0 and attenuation_floor(20.0) == pytest.approx(0.1)
    for bad in (0.0, -6.0, float("nan")):
        with pytest.raises(EmgseError, match="must be a positive number of dB"):
            attenuation_floor(bad)
    log_mag = torch.log1p(torch.tensor([[1.0, 0.02, 0.0]]))
    est = torch.log1p(torch.tensor([[0.5, 0.0, 0.0]]))
    torch.testing.assert_close(torch.expm1(limit_attenuation(est, log_mag, 0.1)), torch.tensor([[0.5, 0.002, 0.0]]))
    assert limit_attenuation(est, log_mag, 0.0) is est
    # a model that removes everything: with a 20 dB limit every bin keeps a tenth of the noisy one (noisy phase),
    # so the waveform is the input at -20 dB, whatever its level
    rng = np.random.default_rng(3)
    noisy = (rng.standard_normal(16000) * 0.3).astype(np.float32)
    for lim, expected in ((None, 0.0), (20.0, 0.1)):
        enh = Enhancer(trained["ckpt"], atten_lim_db=lim)
        enh.model = lambda x, e: torch.zeros_like(x)
        y = enh.enhance(noisy, allow_missing_emg=True)
        inner = slice(512, -512)  # away from the edges of the frame grid
        np.testing.assert_allclose(y[inner], expected * noisy[inner], atol=1e-4)
    # the CLI: any mode takes --atten-lim; a bad value is one line; mixtures scoring has no enhancer to limit
    sf.write(tmp_path / "noisy.wav", noisy, 16000)
    np.save(tmp_path / "emg.npy", rng.standard_normal((2000, 40)))
    args = ["enhance", "--checkpoint", str(trained["ckpt"]), "--audio", str(tmp_path / "noisy.wav"), "--emg", str(tmp_path / "emg.npy")]
    assert main([*args, "--out", str(tmp_path / "a.wav"), "--atten-lim", "6"]) == 0
    assert main([*args, "--out", str(tmp_path / "b.wav")]) == 0
    limited, free = sf.read(tmp_path / "a.wav")[0], sf.read(tmp_path / "b.wav")[0]
    assert np.sqrt(np.mean(limited**2)) > np.sqrt(np.mean(free**2))  # less removed
    assert main([*args, "--out", str(tmp_path / "c.wav"), "--atten-lim", "-3"]) == 2
    assert "argument --atten-lim: '-3': must be a finite number > 0" in capsys.readouterr().err
    assert not (tmp_path / "c.wav").exists()
    assert main(["evaluate", "--mixtures", str(trained["mix"]), "--out", str(tmp_path / "s"), "--atten-lim", "6"]) == 2
    assert "--atten-lim belong to --pairs mode" in capsys.readouterr().err


def test_enhance_without_checkpoint_uses_the_shipped_pretrained_model(tmp_path):
    """The pretrained weights ship in the package, load with weights_only, and enhance any rate."""
    import numpy as np
    import soundfile as sf
    import torch

    from emgse.cli import main
    from emgse.resources import PRETRAINED, PRETRAINED_MODELS

    ckpt = torch.load(PRETRAINED / PRETRAINED_MODELS["pretrained"], weights_only=True)
    assert ckpt["model_name"] == "audio-mask" and "optimizer" not in ckpt and ckpt["card"]["steps"] > 0
    x = 0.05 * np.random.default_rng(0).standard_normal(22050)
    sf.write(tmp_path / "noisy.wav", x, 22050)
    assert main(["enhance", "--audio", str(tmp_path / "noisy.wav"), "--out", str(tmp_path / "out.wav")]) == 0
    y, fs = sf.read(tmp_path / "out.wav")
    assert fs == 22050 and len(y) == len(x) and np.all(np.isfinite(y)) and np.std(y) < np.std(x)


def test_long_inputs_are_enhanced_in_cross_faded_chunks(trained):
    """Past ``chunk_s`` the enhancer works chunk by chunk: same length, EMG sliced on the same times,
    and (on speech, with the shipped model) the output within a few percent of the one-pass output: a
    BLSTM sees a little less context near the seams."""
    from emgse.resources import SPEECH_SUBSET

    rng = np.random.default_rng(3)
    x = (0.1 * rng.standard_normal(3 * 16000 + 333)).astype(np.float32)
    e = rng.standard_normal((round(len(x) / 16000 * 2000), 40))
    enh = Enhancer(trained["ckpt"])
    whole = enh.enhance(x, e)
    enh.chunk_s = 1.0  # four chunks, the last one short
    chunked = enh.enhance(x, e)
    assert chunked.shape == whole.shape and np.isfinite(chunked).all() and not np.array_equal(chunked, whole)
    enh.chunk_s = 1e9
    np.testing.assert_array_equal(enh.enhance(x, e), whole)  # below the chunk length: one pass, unchanged

    files = sorted(SPEECH_SUBSET.glob("train/*/*.flac"))[:3]
    speech = np.concatenate([sf.read(f, dtype="float32")[0] for f in files])
    speech += 0.02 * rng.standard_normal(len(speech)).astype(np.float32)
    enh = Enhancer("pretrained")
    whole = enh.enhance(speech)
    enh.chunk_s = 2.0
    chunked = enh.enhance(speech)
    assert chunked.shape == whole.shape
    assert np.sqrt(np.mean((chunked - whole) ** 2)) < 0.05 * np.sqrt(np.mean(whole ** 2))
