"""``emgse demo``, the paper's speaker-dependent protocol (:mod:`emgse.experiments.speaker_dependent`), at tiny scale."""

import shutil

from emgse.checkpoint import read_checkpoint
from emgse.files import read_json
from tests.experiments import BASELINES, read_scores
from tests.scoring.test_scoring import write_pairs


def test_session_demo_is_speaker_dependent(tmp_path, capsys, monkeypatch):
    """``emgse demo`` (the paper's protocol) on tiny settings: each session split as CSL-EMG_Array's
    (test, validation and training utterances of the same speaker), EMG z-scored with the training
    statistics, both models from the pretrained audio path, the EMG gain printed per SNR, the
    intermediate data removed at the end and a rerun that retrains nothing."""
    from emgse.experiments import SESSION_INTERMEDIATE, SessionConfig, run_session_demo

    cfg = SessionConfig(utterances=7, test=2, val=1, steps=2, epochs=1, batch_size=4, crop_s=0.5, test_snrs_db=(-11.0, 4.0),
                        noises_per_test=1, jobs=1)
    out = tmp_path / "demo"
    pairs = write_pairs(tmp_path / "pairs", rates=(16000,))
    monkeypatch.delenv("EMGSE_DATA", raising=False)  # no data root: generated noises, said and recorded
    run_session_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    assert read_json(out / "demo.json")["data_root"] is None
    ids = {s: sorted(p.name.split(".")[0] for p in (out / folder / s).glob("*.wav"))
           for folder, s in (("prepared", "test"), ("prepared-train", "val"), ("prepared-train", "train"))}
    assert ids == {"test": ["Spk1_Block1-Initial_0001", "Spk1_Block1-Initial_0002"], "val": ["Spk1_Block1-Initial_0003"],
                   "train": [f"Spk1_Block1-Initial_000{k}" for k in range(4, 8)]}
    assert not (out / "prepared" / "train").exists() and not (out / "prepared-train" / "test").exists()  # test data never in training
    for name in ("audio-mask", "emgse-mask"):
        ckpt = read_checkpoint(out / "runs" / name / "best.pt")
        assert ckpt["train_config"]["init_from"] == "pretrained" and ckpt["sampler_config"]["snr_range_db"] == [-10.0, 10.0]
        assert ckpt["sampler_config"]["steps_per_epoch"] == 2 and ckpt["train_config"]["batch_size"] == 4  # the budget in steps
    ckpt = read_checkpoint(out / "runs" / "emgse-mask" / "best.pt")
    assert ckpt["emg_config"]["normalization"] == "zscore" and ckpt["zscore"] is not None
    rows = read_scores(out / "scores" / "scores.csv")
    assert {r["system"] for r in rows} == {"noisy", "audio-mask", "emgse-mask", *BASELINES} and {float(r["snr_db"]) for r in rows} == {-11.0, 4.0}
    assert {r["utt_id"] for r in rows} == set(ids["test"])
    printed = capsys.readouterr().out
    assert "[emgse] data: none -- generated noises; set --data-root or EMGSE_DATA" in printed
    assert "Fusion gain over the same-budget audio-only model" in printed and "| emgse-mask - audio-mask | ESTOI |" in printed
    assert [r["system"] for r in read_scores(out / "real-speech" / "pair_scores.csv")] == ["noisy", "pretrained", "audio-mask", "emgse-mask", *BASELINES]
    assert "speaker-dependent" in (out / "report.html").read_text()
    # a rerun without --keep-intermediate finds every stage done and removes the training-only data
    log = (out / "runs" / "emgse-mask" / "log.csv").read_text()
    run_session_demo(out, cfg, progress=False, real_pairs=pairs)
    assert (out / "runs" / "emgse-mask" / "log.csv").read_text() == log  # not retrained
    assert sorted(read_json(out / "removed.json")["removed"]) == sorted(SESSION_INTERMEDIATE)
    assert not any((out / n).exists() for n in SESSION_INTERMEDIATE) and not list(out.glob("runs/*/last.pt"))
    run_session_demo(out, cfg, progress=False, real_pairs=pairs)  # nothing regenerated that nothing needs
    assert not (out / "corpus").exists()
    shutil.rmtree(out / "runs" / "audio-mask")  # a model to train again brings back what training needs
    run_session_demo(out, cfg, progress=False, real_pairs=pairs, keep_intermediate=True)
    assert (out / "runs" / "audio-mask" / "best.pt").is_file() and (out / "prepared-train" / "train").is_dir()
