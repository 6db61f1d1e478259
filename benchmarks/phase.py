"""Phase reconstruction for `emgse voice`: Griffin-Lim variants on TRUE magnitudes, by STOI/ESTOI.

    python -m benchmarks.phase                      # 12 speechocean762 training utterances (real speech)
    python -m benchmarks.phase --speech DIR --files 20

The ceiling for speech from EMG alone: how intelligible a waveform rebuilt from the exact clean
magnitude (the STFT of emgse's front-end) and a reconstructed phase is. Compared: emgse's fast
Griffin-Lim on its own STFT grid (`emgse.voice.griffin_lim`) and `librosa.griffinlim` with the same
window and hop, momentum 0.99 (fast) and 0 (classic), 32 / 100 / 200 iterations, plus a random
phase (no iterations). Selection data: speechocean762 *train* (never the VoiceBank-DEMAND
evaluation pairs). Prints a Markdown table with the seconds per second of audio on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from emgse.config import AudioConfig
from emgse.features.audio import stft
from emgse.features.resample import resample
from emgse.files import read_audio
from emgse.metrics import stoi as stoi_score
from emgse.resources import data_folder
from emgse.voice import griffin_lim, griffin_lim_librosa

SPEECH = data_folder("speech", "speechocean762", "train")  # None where absent
VARIANTS = (
    ("random phase (0 iterations)", "emgse", 0, 0.99),
    ("emgse grid, classic GL, 100 it", "emgse", 100, 0.0),
    ("emgse grid, fast GL 0.99, 32 it", "emgse", 32, 0.99),
    ("emgse grid, fast GL 0.99, 100 it", "emgse", 100, 0.99),
    ("emgse grid, fast GL 0.99, 200 it", "emgse", 200, 0.99),
    ("librosa, classic GL, 100 it", "librosa", 100, 0.0),
    ("librosa, fast GL 0.99, 32 it", "librosa", 32, 0.99),
    ("librosa, fast GL 0.99, 100 it", "librosa", 100, 0.99),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speech", type=Path, default=SPEECH, help="folder searched for *.flac / *.wav speech")
    ap.add_argument("--files", type=int, default=12)
    args = ap.parse_args()
    if args.speech is None:
        ap.error("--speech: speechocean762's train half is not in the development data; give a speech folder")
    files = sorted([*args.speech.rglob("*.flac"), *args.speech.rglob("*.wav")])[:: 7][: args.files]
    if not files:
        sys.exit(f"{args.speech}: no speech files (speechocean762 is read from ../shared/data when present)")
    torch.set_num_threads(1)
    config = AudioConfig()
    clips = []
    for f in files:
        x, fs = read_audio(f)
        clips.append((resample(x, fs, config.fs) if fs != config.fs else x).astype(np.float32))
    seconds = sum(len(x) for x in clips) / config.fs
    rows = []
    for name, method, n_iter, momentum in VARIANTS:
        stoi, estoi, took = [], [], 0.0
        for x in clips:
            mag = stft(torch.from_numpy(x), config).abs()
            t = time.perf_counter()
            if method == "librosa":
                y = griffin_lim_librosa(mag.numpy(), len(x), config, n_iter=max(n_iter, 1), momentum=momentum)
            else:
                y = griffin_lim(mag, len(x), config, n_iter=n_iter, momentum=momentum).numpy()
            took += time.perf_counter() - t
            stoi.append(stoi_score(x, y, config.fs))
            estoi.append(stoi_score(x, y, config.fs, extended=True))
        rows.append((name, np.mean(stoi), np.mean(estoi), took / seconds))
        print(f"{name}: STOI {rows[-1][1]:.3f} ESTOI {rows[-1][2]:.3f}", flush=True)
    print(f"\nGriffin-Lim on true magnitudes: {len(clips)} speechocean762 train utterances ({seconds:.0f} s, real speech), one CPU thread\n")
    print("| phase reconstruction | STOI | ESTOI | s per s of audio |\n|---|---:|---:|---:|")
    for name, s, e, rtf in rows:
        print(f"| {name} | {s:.3f} | {e:.3f} | {rtf:.3f} |")


if __name__ == "__main__":
    main()
