"""``emgse mix --reverb-prob``: reverberant mixtures, dry clean references, recorded in the manifest."""

import json

import numpy as np
import pytest
import soundfile as sf

from emgse.cli import main
from emgse.config import MixConfig
from emgse.errors import EmgseError
from emgse.mixing import NoiseBank, mix_corpus, read_manifest


def test_reverb_share_rt60_and_dry_target(prepared, tmp_path):
    bank = NoiseBank.from_sources(["white", "pink", "brown", "blue"])
    out = tmp_path / "mix"
    rows = mix_corpus(prepared, ["test", "train"], bank, MixConfig(snrs_db=(0.0, 10.0), seed=3, reverb_prob=0.5), out, progress=False)
    manifest = read_manifest(out)
    assert [r["rt60_s"] for r in manifest] == [r["rt60_s"] for r in rows]
    wet = [r for r in manifest if r["rt60_s"] > 0]
    assert 0.25 < len(wet) / len(manifest) < 0.75
    assert all(0.2 <= r["rt60_s"] <= 0.5 for r in wet)
    assert json.loads((out / "mix.json").read_text())["reverb_prob"] == 0.5
    for r in manifest:
        clean, _ = sf.read(prepared / r["clean"])
        noisy, _ = sf.read(out / r["path"])
        assert noisy.shape == clean.shape  # the reference stays the dry utterance, same length
        residual = noisy / r["gain"] - clean  # noise plus, when wet, the room's reflections
        snr = 10 * np.log10(np.sum(clean**2) / np.sum(residual**2))
        if r["rt60_s"] == 0:
            assert abs(snr - r["snr_db"]) < 0.05
        elif r["snr_db"] == 10.0:
            assert snr < r["snr_db"] - 1.0  # the reverberation is not in the dry target
    # deterministic
    again = mix_corpus(prepared, ["test", "train"], bank, MixConfig(snrs_db=(0.0, 10.0), seed=3, reverb_prob=0.5), tmp_path / "again", progress=False)
    assert [r["rt60_s"] for r in again] == [r["rt60_s"] for r in rows]
    assert (tmp_path / "again" / rows[0]["path"]).read_bytes() == (out / rows[0]["path"]).read_bytes()


def test_no_reverb_by_default_and_bad_probability(prepared, tmp_path):
    bank = NoiseBank.from_sources(["white"])
    rows = mix_corpus(prepared, ["test"], bank, MixConfig(snrs_db=(0.0,)), tmp_path / "dry", progress=False)
    assert all(r["rt60_s"] == 0.0 for r in rows)
    with pytest.raises(EmgseError, match="--reverb-prob must be between 0 and 1"):
        mix_corpus(prepared, ["test"], bank, MixConfig(snrs_db=(0.0,), reverb_prob=1.5), tmp_path / "bad", progress=False)


def test_cli_reverb_prob(prepared, tmp_path):
    out = tmp_path / "cli"
    assert main(["mix", "--data", str(prepared), "--noise", "white", "--snr", "0", "--reverb-prob", "1", "--out", str(out)]) == 0
    assert all(r["rt60_s"] > 0 for r in read_manifest(out))
