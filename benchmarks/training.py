"""Training throughput (frames/s, data-loader wait) and enhancement real-time factor on CPU.

    python benchmarks/training.py [--steps 30] [--loss l1|compressed]

Builds a small simulated pipeline in a temporary folder (1 speaker, 24 utterances), then times
training steps of each model with the real data loader, and whole-utterance enhancement.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._util import print_table  # noqa: E402

from emgse.config import LOSSES, EmgConfig, MixConfig  # noqa: E402
from emgse.corpora.csl_emg_array import SplitRanges, prepare_csl_emg_array  # noqa: E402
from emgse.corpora.simulated.config import SimulationConfig  # noqa: E402
from emgse.corpora.simulated.writer import simulate_corpus  # noqa: E402
from emgse.data import FeatureStore, SegmentDataset  # noqa: E402
from emgse.enhance import Enhancer  # noqa: E402
from emgse.files import read_audio, read_npy  # noqa: E402
from emgse.mixing import NoiseBank, mix_corpus, read_manifest  # noqa: E402
from emgse.models import build_model, count_parameters  # noqa: E402
from emgse.train import TrainConfig, _batches, _Dist, spectral_loss, store_for, train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30, help="training steps timed per model")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads")
    ap.add_argument("--loss", choices=LOSSES, default="l1", help="the training loss of the timed steps (emgse train --loss)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        simulate_corpus(tmp / "sim", SimulationConfig(speakers=1, utterances=24, seed=0))
        prepare_csl_emg_array(tmp / "sim", "Spk1_Block1-Initial", tmp / "prep", splits=SplitRanges(test=[(1, 4)], val=[(5, 6)], train=[(7, 99)]), progress=False)
        bank = NoiseBank.from_sources(["white", "pink", "brown"])
        mix_corpus(tmp / "prep", ["train", "val"], bank, MixConfig(snrs_db=(-5.0, 5.0), per_utterance=2), tmp / "mix", progress=False)
        mix_corpus(tmp / "prep", ["test"], bank, MixConfig(snrs_db=(0.0,)), tmp / "mix-test", progress=False)
        train_store = store_for(tmp / "mix", "train", EmgConfig(), progress=False)
        val_store = store_for(tmp / "mix", "val", EmgConfig(), progress=False)
        store = FeatureStore.open(train_store)
        rows = []
        for name in ("audio", "emgse"):
            model = build_model(name, **({} if name == "audio" else {"emg_dims": store.emg_dims}))
            opt = torch.optim.Adam(model.parameters(), lr=1e-4)
            ds = SegmentDataset(store, 64, 15)
            loader = _batches(ds, TrainConfig(), 1, _Dist(), shuffle=True)
            model.train()
            wait = compute = 0.0
            frames = 0
            it = iter(loader)
            for step in range(args.steps + 2):
                t0 = time.perf_counter()
                try:
                    batch = next(it)
                except StopIteration:
                    it = iter(loader)
                    batch = next(it)
                t1 = time.perf_counter()
                loss, n = spectral_loss(model(batch["noisy"], batch["emg"]), batch["clean"], batch["mask"], args.loss)
                opt.zero_grad()
                loss.backward()
                opt.step()
                t2 = time.perf_counter()
                if step >= 2:  # skip warm-up
                    wait += t1 - t0
                    compute += t2 - t1
                    frames += int(n.item())
            rows.append((f"train step {name} ({count_parameters(model):,} params), batch 16 x 64 frames, {args.loss} loss",
                         f"{frames / (wait + compute):,.0f} frames/s", f"{(wait + compute) / args.steps * 1000:.0f} ms/step; data wait {100 * wait / (wait + compute):.1f}%"))
        run = tmp / "run"
        train(train_store, val_store, run,
              TrainConfig(model="emgse", max_epochs=1, max_steps_per_epoch=2), progress=False)
        for threads in (1, args.threads):
            torch.set_num_threads(threads)
            enh = Enhancer(run / "best.pt")
            audio_s = compute = 0.0
            for r in read_manifest(tmp / "mix-test"):
                noisy, _ = read_audio(tmp / "mix-test" / r["path"])
                emg = read_npy(tmp / "prep" / "test" / f"{r['utt_id']}.emg.npy", ndim=2)
                t0 = time.perf_counter()
                enh.enhance(noisy, emg)
                compute += time.perf_counter() - t0
                audio_s += len(noisy) / 16000
            rows.append((f"enhance emgse (TD features + model + iSTFT), {threads} thread(s)", f"RTF {compute / audio_s:.3f}",
                         f"{audio_s:.0f} s of audio in {compute:.1f} s"))
    print_table(("benchmark", "result", "detail"), rows)


if __name__ == "__main__":
    main()
