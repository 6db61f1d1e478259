"""The waveform losses' default weights (`emgse.training.WAVE_WEIGHTS`), measured.

    python -m benchmarks.wave_weights --demo runs/demo-unseen  # from `emgse demo --protocol unseen-speakers --keep-intermediate`

Each default makes its term, on the demo's validation mixtures at the demo's trained `audio-mask`
(compressed loss), as large as that model's compressed spectral loss there: weight = spectral loss
/ |mean waveform term|. Prints the three means and the two weights beside the defaults in use. The
defaults were set from one run of this script (an unseen-speaker demo folder); they
are a scale, not a tuned setting. Adds the phases to the demo's validation store if it lacks them.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from emgse.checkpoint import read_checkpoint
from emgse.config import WAVE_LOSSES, AudioConfig, EmgConfig, from_dict
from emgse.data import FeatureStore, SegmentDataset, add_phases
from emgse.models import build_model
from emgse.training import WAVE_WEIGHTS, Dist, TrainConfig, batches, store_for, validate


def measure(demo: Path) -> dict[str, float]:
    """``{"spectral": ..., "<kind>": mean term, "<kind>_weight": ...}`` for the demo's audio-mask."""
    ckpt = read_checkpoint(demo / "runs" / "audio-mask" / "best.pt")
    audio_config = from_dict(AudioConfig, ckpt["audio_config"])
    emg_config = from_dict(EmgConfig, ckpt["emg_config"])
    store = add_phases(store_for(demo / "mix-train", "val", emg_config, audio_config=audio_config, progress=False), progress=False)
    model = build_model(ckpt["model_name"], **ckpt["model_args"])
    model.load_state_dict(ckpt["state_dict"])
    config = TrainConfig(model=ckpt["model_name"], loss=ckpt["train_config"].get("loss", "l1"))
    d = Dist()
    loader = batches(SegmentDataset(FeatureStore.open(store), config.segment, emg_config.context, random=False, phases=True),
                      config, 0, d, shuffle=False)
    cpu = torch.device("cpu")
    out = {"spectral": validate(model, loader, cpu, d, config, audio_config=audio_config)}
    for kind in WAVE_LOSSES:
        both = validate(model, loader, cpu, d, dataclasses.replace(config, wave_loss=kind, wave_weight=1.0), audio_config=audio_config)
        out[kind] = both - out["spectral"]
        out[f"{kind}_weight"] = out["spectral"] / abs(out[kind])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, required=True,
                    help="a folder of `emgse demo --protocol unseen-speakers --keep-intermediate` (its fixed training mixtures)")
    args = ap.parse_args(argv)
    m = measure(args.demo)
    print(f"spectral loss of the demo's audio-mask on its validation mixtures: {m['spectral']:.5f}")
    print("| wave loss | mean term | weight that matches | default in use |\n|---|---:|---:|---:|")
    for kind in WAVE_LOSSES:
        print(f"| {kind} | {m[kind]:+.4f} | {m[f'{kind}_weight']:.5f} | {WAVE_WEIGHTS[kind]:.5f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
