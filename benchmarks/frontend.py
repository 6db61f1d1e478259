"""Front-end, prepare and mix speed, printed as a table.

    python -m benchmarks.frontend [--repeats 5]

TD features: the vectorized ``td_features`` against the plain per-frame loop
(``td_features_reference``) on 10 s of 35-channel EMG at 2 kHz, with the equality check.
Prepare/mix: utterances per second on a synthetic CSL-EMG_Array session written in tmp.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._util import best_of, print_table
from emgse.config import MixConfig
from emgse.corpora.csl_emg_array import SplitRanges, prepare_csl_emg_array
from emgse.features.audio import from_log_magnitude, log_magnitude
from emgse.features.td import td_features, td_features_reference
from emgse.mixing import NoiseBank, mix_corpus
from emgse.protocol import TEST_SNRS_DB
from emgse.synthetic import write_csl_utterance


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--utterances", type=int, default=20, help="utterances (3 s each) for prepare/mix")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []

    emg = np.random.default_rng(0).standard_normal((20000, 35)) * 30
    t_loop = best_of(lambda: td_features_reference(emg), 1)
    ref = td_features_reference(emg)
    for threads in (1, 2):
        t_vec = best_of(lambda threads=threads: td_features(emg, threads=threads), args.repeats * 4)
        err = np.max(np.abs(td_features(emg, threads=threads) - ref) / np.maximum(np.abs(ref), 1e-12))
        rows.append((f"TD features, 10 s x 35 ch, {threads} thread(s)", f"{t_vec * 1e3:.1f} ms", f"{t_loop / t_vec:.0f}x the loop ({t_loop:.2f} s); max rel err {err:.1e}"))

    audio = torch.randn(1, 16000 * 10) * 0.1
    t_stft = best_of(lambda: log_magnitude(audio), args.repeats)
    lm, ph = log_magnitude(audio)
    t_istft = best_of(lambda: from_log_magnitude(lm, ph, audio.shape[-1]), args.repeats)
    rows.append(("STFT log1p magnitude, 10 s", f"{t_stft * 1e3:.1f} ms", f"{10 / t_stft:.0f}x real time (1 thread)"))
    rows.append(("inverse STFT, noisy phase, 10 s", f"{t_istft * 1e3:.1f} ms", f"{10 / t_istft:.0f}x real time (1 thread)"))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        session = "Spk1_Block1-Initial"
        for n in range(1, args.utterances + 1):
            write_csl_utterance(tmp / "corpus" / session, n, rng, seconds=3.0, event_s=1.0)
        t0 = time.perf_counter()
        prepare_csl_emg_array(tmp / "corpus", session, tmp / "prep", splits=SplitRanges(test=[(1, 10**6)], val=[], train=[]), progress=False)
        t_prep = time.perf_counter() - t0
        rows.append((f"prepare csl-emg-array, {args.utterances} x 3 s", f"{t_prep:.2f} s", f"{args.utterances / t_prep:.1f} utt/s"))
        bank = NoiseBank.from_sources(["white", "pink", "brown", "hum"])
        t0 = time.perf_counter()
        out = mix_corpus(tmp / "prep", ["test"], bank, MixConfig(snrs_db=TEST_SNRS_DB), tmp / "mix", progress=False)
        t_mix = time.perf_counter() - t0
        rows.append((f"mix, {len(out)} mixtures (4 noises x 4 SNRs)", f"{t_mix:.2f} s", f"{len(out) / t_mix:.1f} mixtures/s, {args.utterances / t_mix:.2f} utt/s"))

    print_table(("benchmark", "time", "result"), rows)


if __name__ == "__main__":
    main()
