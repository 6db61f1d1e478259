"""Real time: streaming latency, per-hop compute, real-time factor, parity; ONNX; DNSMOS throughput.

    python -m benchmarks.streaming [--seconds 10] [--threads 1]

Paper-size causal models (35 EMG channels, 15 frames of past context) with fixed random weights
(timing and parity do not depend on training), 10 s of synthetic audio and EMG, streamed hop by
hop through ``emgse.stream.Streamer`` with torch on one thread (``--threads``), the model step in
torch or onnxruntime. Parity is against ``Enhancer.enhance`` on the whole input.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._util import print_table
from emgse.checkpoint import save_checkpoint
from emgse.config import AudioConfig, EmgConfig, to_dict
from emgse.dnsmos import score_dnsmos
from emgse.enhance import Enhancer
from emgse.export import check_parity, export_step
from emgse.features.emg import CHANNEL_SETS
from emgse.models import build_model
from emgse.stream import Streamer, stream_array

CHANNELS = list(CHANNEL_SETS["all"])


def checkpoint(path: Path, name: str) -> Path:
    torch.manual_seed(0)
    dims = len(CHANNELS) * 5
    args = {"emg_dims": dims, "context": 15}
    rng = np.random.default_rng(0)
    save_checkpoint(path, {
        "model_name": name, "model_args": args, "state_dict": build_model(name, **args).state_dict(),
        "audio_config": to_dict(AudioConfig()), "emg_config": to_dict(EmgConfig(normalization="zscore")),
        "emg_fs": 2000.0, "emg_channels": 40, "channels": CHANNELS,
        "zscore": {"mean": (rng.random(dims) * 0.1).tolist(), "std": (rng.random(dims) + 0.5).tolist()},
        "train_config": {}, "epoch": 0, "val_loss": 0.0,
    })
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of input streamed")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n = int(args.seconds * 16000) // 128 * 128
    t = np.arange(n) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2 + 0.05 * rng.standard_normal(n)).astype(np.float32)
    emg = rng.standard_normal((n // 8, 40)) * 20.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("causal-emgse-l0", "causal-emgse", "causal-emgse-l2", "causal-audio"):
            enh = Enhancer(checkpoint(Path(tmp) / f"{name}.pt", name))
            offline = enh.enhance(audio, emg)
            for backend in ("torch", "onnx"):
                streamer = Streamer(enh, backend=backend)
                stream_array(streamer, audio[: 16000], emg[:2000])  # warm-up
                y, timing = stream_array(streamer, audio, emg)
                err = float(np.abs(y - offline).max())
                rows.append((
                    f"{name}, {backend}",
                    f"{timing['latency_ms']:.0f} ms",
                    f"per hop {timing['mean_ms']:.2f} ms mean / {timing['p95_ms']:.2f} p95; RTF {timing['rtf']:.3f}; "
                    f"|stream - offline| max {err:.1e}",
                ))
            if name == "causal-emgse":
                model = enh.model
                onnx_bytes = export_step(model, len(CHANNELS) * 5)
                worst = check_parity(model, onnx_bytes, len(CHANNELS) * 5, hops=100)
                rows.append(("ONNX step vs torch, 100 chained hops", f"{worst:.1e}", f"max abs diff; {len(onnx_bytes) / 1e6:.1f} MB"))
        score_dnsmos(audio[:16000])  # load the model
        start = time.perf_counter()
        scores = score_dnsmos(audio)
        seconds = time.perf_counter() - start
        rows.append(("DNSMOS (P.835) of the input", f"{seconds:.2f} s", f"{args.seconds / seconds:.1f} x real time; OVRL {scores['dnsmos_ovrl']:.2f}"))
    print(f"{args.seconds:g} s streamed in 8 ms hops, torch threads: {args.threads}")
    print_table(("benchmark", "latency", "result"), rows)


if __name__ == "__main__":
    main()
