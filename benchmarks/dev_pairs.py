"""A development set of real clean/noisy pairs for choosing settings -- never the evaluation pairs.

    python -m benchmarks.dev_pairs --out runs/dev-pairs           # the 40 pairs the unseen-speaker demo's choices (docs/results-real-speech.md) were made on
    emgse evaluate --pairs runs/dev-pairs --checkpoint RUN/best.pt --out runs/dev-scores

The VoiceBank-DEMAND pairs in ../shared/data/real-speech are for evaluation only: nothing may be
trained, tuned or selected on them. Settings are chosen on this set instead: one recording from
each of `--pairs` speakers of a recorded corpus's **test half** (default: the shared
speechocean762; the demo ships and trains on train-half speakers only), drawn by seed, each mixed
with one real noise (default: the shared test noises, cycled in name order) at an SNR cycled over
`--snrs` (default 2.5, 7.5, 12.5, 17.5 dB: VoiceBank-DEMAND's test SNRs; power over the whole
file), and the pair scaled by one random gain (noisy peak 0.06 ... 0.3) so level handling is
exercised. Writes OUT/clean/pNN.wav and OUT/noisy/pNN.wav (16 kHz, 32-bit float: the layout of
`emgse evaluate --pairs`) and OUT/pairs.json with each pair's speech file, noise, SNR and gain.
Deterministic by seed; an existing OUT is refused unless --force.

Needs recorded speech and real noise (not in a fresh clone: ../shared or your own folders).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from emgse.errors import EmgseError, file_error
from emgse.features.resample import resample
from emgse.files import output_dir, read_audio, write_json, write_wav
from emgse.resources import data_folder

FS = 16000
DEFAULT_SPEECH = data_folder("speech", "speechocean762")  # None where absent
DEFAULT_NOISES = data_folder("noise", "test")
VOICEBANK_TEST_SNRS = (2.5, 7.5, 12.5, 17.5)
PEAK = 0.3  # the loudest noisy peak; each pair is scaled by PEAK / peak * U(0.2, 1)


def _read_16k(path: Path) -> np.ndarray:
    """``(samples,)`` at 16 kHz: the first channel of a multichannel file."""
    x, fs = read_audio(path, channels="all")
    return x[:, 0] if fs == FS else resample(x[:, 0], fs, FS)


def build_pairs(speech: Path, noises: Path, out: Path, *, pairs: int = 40, snrs=VOICEBANK_TEST_SNRS, seed: int = 123,
                force: bool = False) -> list[dict]:
    """Write the development pairs (see the module docstring); returns one record per pair."""
    half = speech / "test"
    if not half.is_dir():
        raise file_error(speech, "no test/ half (a recorded corpus in the MFA layout with train/ and test/ halves)")
    speakers = sorted(p for p in half.iterdir() if p.is_dir())
    noise_files = sorted(noises.glob("*.wav")) + sorted(noises.glob("*.flac"))
    if not noise_files:
        raise file_error(noises, "no .wav or .flac noise files")
    if len(speakers) < pairs:
        raise file_error(half, f"{len(speakers)} speaker folders, fewer than the {pairs} pairs asked for (one per speaker)")
    rng = np.random.default_rng(seed)
    rng.shuffle(speakers)
    files = []
    for spk in speakers[:pairs]:
        recordings = sorted(spk.glob("*.flac")) + sorted(spk.glob("*.wav"))
        if not recordings:
            raise file_error(spk, "no .flac or .wav recordings")
        files.append(recordings[rng.integers(len(recordings))])
    records = []
    with output_dir(out, force=force) as work:
        for i, path in enumerate(files):
            x = _read_16k(path)
            noise_path = noise_files[i % len(noise_files)]
            n = _read_16k(noise_path)
            n = np.tile(n, 1 + len(x) // len(n) + 1)  # loops the noise when the speech is longer
            start = int(rng.integers(0, len(n) - len(x)))
            n = n[start : start + len(x)]
            snr = float(snrs[i % len(snrs)])
            if not np.any(x) or not np.any(n):
                raise file_error(path if not np.any(x) else noise_path, "digital silence: no SNR can be set")
            n = n * np.sqrt(np.mean(x**2) / np.mean(n**2) / 10 ** (snr / 10))
            y = x + n
            gain = float(PEAK / max(np.abs(y).max(), 1e-9) * rng.uniform(0.2, 1.0))
            name = f"p{i:02d}.wav"
            write_wav(work / "clean" / name, x * gain, FS)
            write_wav(work / "noisy" / name, y * gain, FS)
            records.append({"pair": name, "speech": str(path.relative_to(speech)), "noise": noise_path.name, "snr_db": snr,
                            "noise_start": start, "gain": gain})
        write_json(work / "pairs.json", {"speech": str(speech), "noises": str(noises), "seed": seed, "snrs_db": list(map(float, snrs)),
                                         "note": "development pairs (test-half speakers): for choosing settings, not a result",
                                         "pairs": records})
    return records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--speech", type=Path, default=DEFAULT_SPEECH, help="recorded corpus with a test/ half (default: the shared speechocean762)")
    ap.add_argument("--noises", type=Path, default=DEFAULT_NOISES, help="folder of real noise files (default: the shared test noises)")
    ap.add_argument("--pairs", type=int, default=40, help="pairs, one speaker each (default 40)")
    ap.add_argument("--snrs", type=float, nargs="+", default=list(VOICEBANK_TEST_SNRS), help="SNRs in dB, cycled over the pairs")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--force", action="store_true", help="replace an existing --out")
    args = ap.parse_args(argv)
    for option, given in (("--speech", args.speech), ("--noises", args.noises)):
        if given is None:
            ap.error(f"{option}: its default folder is not in the development data; give it")
    try:
        records = build_pairs(args.speech, args.noises, args.out, pairs=args.pairs, snrs=args.snrs, seed=args.seed, force=args.force)
    except EmgseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(records)} development pairs to {args.out} (score them with: emgse evaluate --pairs {args.out} --checkpoint ...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
