"""The eSpeak + DTW transcript aligner: boundary error against a known answer, speed, real-speech skip rate.

    python -m benchmarks.alignment [--sentences 40] [--real 40] [--real-dir ../shared/data/speech/speechocean762]

Known answer (eSpeak speech, so every phoneme onset is known): each sentence is spoken by voice A
(``en-us+f2``, 125 wpm, pitch 60) between 0.5 s of leading and trailing silence over a -55 dB
noise floor, and aligned with :func:`emgse.corpora.alignment.align_transcript`, whose reference is
voice B (``en-us``, 150 wpm). Printed: median and 90th percentile of |predicted - true| phone
onset (ms) over all sounding phones, utterances/s, and the DTW cost ratio (cost / cost against the
reversed reference) of correct transcripts and of wrong ones (the transcript of another sentence
of a different length). Real speech (speechocean762 when present, no known answer): the ratio
distribution of the true transcripts and of wrong ones (another speaker's sentence), and the share
skipped at the threshold in use.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from emgse.corpora import alignment as al  # noqa: E402
from emgse.corpora.simulated.sentences import make_sentence  # noqa: E402
from emgse.corpora.simulated.speech import synthesize  # noqa: E402
from emgse.files import read_audio  # noqa: E402
from emgse.resources import data_folder  # noqa: E402

REAL = data_folder("speech", "speechocean762")  # None where absent
LEAD_S = 0.5


def _ratio(audio: np.ndarray, fs: int, text: str) -> float:
    try:
        return al.align_transcript(audio, fs, text, max_cost_ratio=np.inf).cost_ratio
    except al.AlignmentError as e:
        return e.cost_ratio


def _pct(x: list[float]) -> str:
    p = np.percentile(x, [0, 10, 50, 90, 100])
    return "min {:.3f}  p10 {:.3f}  median {:.3f}  p90 {:.3f}  max {:.3f}".format(*p)


def known_answer(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    texts = [make_sentence(np.random.default_rng([seed, i])) for i in range(n)]
    errors, ratios, wrong, mismatched, took = [], [], [], 0, 0.0
    for text in texts:
        voice, truth = synthesize(text, "en-us+f2", rate_wpm=125, pitch=60)
        rec = np.concatenate([np.zeros(int(LEAD_S * 16000)), 0.5 * voice, np.zeros(int(LEAD_S * 16000))])
        rec = rec + 10 ** (-55 / 20) * rng.standard_normal(rec.size)
        start = time.perf_counter()
        result = al.align_transcript(rec, 16000, text, max_cost_ratio=np.inf)
        took += time.perf_counter() - start
        ratios.append(result.cost_ratio)
        want = [(p.symbol, p.start + LEAD_S) for p in truth if not p.symbol.startswith("_")]
        got = [(p.symbol, p.start) for p in result.phones if not p.symbol.startswith("_")]
        if [s for s, _ in want] != [s for s, _ in got]:
            mismatched += 1  # a pause carved inside a phone splits it: not scored
        else:
            errors += [abs(a[1] - b[1]) * 1000 for a, b in zip(want, got, strict=True)]
        other = min((t for t in texts if t != text), key=lambda t: -abs(len(t) - len(text)))
        wrong.append(_ratio(rec, 16000, other))
    print(f"known answer: {n} eSpeak sentences, voice A en-us+f2 125 wpm aligned to voice B {al.ALIGN_VOICE} {al.ALIGN_RATE_WPM} wpm")
    print(f"  phone-onset error   median {np.median(errors):.1f} ms   p90 {np.percentile(errors, 90):.1f} ms   "
          f"({len(errors)} onsets; {mismatched} utterance(s) not scored: a carved pause split a phone)")  # fmt: skip
    print(f"  speed               {n / took:.2f} utterances/s (eSpeak reference + features + 2 DTWs, one core)")
    print(f"  cost ratio, right   {_pct(ratios)}")
    print(f"  cost ratio, wrong   {_pct(wrong)}")
    print(f"  rejected at {al.MAX_COST_RATIO:g}      right {np.mean(np.array(ratios) > al.MAX_COST_RATIO):.0%}, "
          f"wrong {np.mean(np.array(wrong) > al.MAX_COST_RATIO):.0%}")  # fmt: skip


def real_speech(folder: Path, n: int, seed: int) -> None:
    files = sorted(folder.rglob("*.flac")) + sorted(folder.rglob("*.wav"))
    if not files:
        print(f"real speech: skipped ({folder} not found)")
        return
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(files), size=min(n, len(files)), replace=False)
    right, wrong = [], []
    start = time.perf_counter()
    for k in pick:
        audio, fs = read_audio(files[k])
        right.append(_ratio(audio, fs, al.read_transcript(files[k]) or ""))
        wrong.append(_ratio(audio, fs, al.read_transcript(files[(k + len(files) // 2) % len(files)]) or ""))
    took = time.perf_counter() - start
    right_a, wrong_a = np.array(right), np.array(wrong)
    print(f"real speech: {len(pick)} utterances of {folder.name} (no known answer), {2 * len(pick) / took:.2f} alignments/s")
    print(f"  cost ratio, own transcript      {_pct(right)}")
    print(f"  cost ratio, another transcript  {_pct(wrong)}")
    for t in (0.88, 0.9, 0.92, 0.94):
        mark = "  <- in use" if t == al.MAX_COST_RATIO else ""
        print(f"  threshold {t:.2f}: skips {np.mean(right_a > t):4.0%} of own, rejects {np.mean(wrong_a > t):4.0%} of wrong{mark}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sentences", type=int, default=40, help="eSpeak sentences for the known-answer test")
    p.add_argument("--real", type=int, default=40, help="real utterances (0 to skip)")
    p.add_argument("--real-dir", type=Path, default=REAL, help="speech folder (MFA layout with X.txt transcripts)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.real and args.real_dir is None:
        p.error("--real-dir: speechocean762 is not in the development data; give a folder (or --real 0)")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    known_answer(args.sentences, args.seed)
    if args.real:
        real_speech(args.real_dir, args.real, args.seed)


if __name__ == "__main__":
    main()
