"""TD features against the plain per-frame loop: the speed ratio, and the same output.

    python -m benchmarks.td_speed [--seconds 10] [--channels 35] [--rounds 3]

On ``seconds`` of ``channels``-channel EMG at 2 kHz (noise, then a held tail as the EMG length
rule makes), times the vectorized ``td_features`` first alone, call after call as a feature store
calls it (with its page faults a call), then interleaved round by round with the per-frame,
per-channel loop ``td_features_reference`` in the same process, so that load from other processes
weighs on both. The ratio divides the loop's best time by the slower of the two best times of
``td_features``, for 1 and 2 threads; it prints the largest relative error and whether the
zero-crossing rates are identical. The goal is >= 100x the loop on 10 s of 35 channels.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from emgse.features.td import td_features, td_features_reference

GOAL = 100.0


def _seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _faults() -> int:
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def td_speed(emg: np.ndarray, rounds: int = 3, calls: int = 20, threads: tuple[int, ...] = (1, 2)) -> dict:
    """Best times (s) of ``td_features`` alone and beside the loop per thread count, the loop's
    best time, the page faults a call alone, and the output check: ``{"alone": {threads: s},
    "beside": {threads: s}, "faults": {threads: n}, "loop": s, "rel_err": float, "zcr_equal": bool}``."""
    alone, faults = {}, {}
    for k in threads:
        td_features(emg, threads=k)
        f0 = _faults()
        alone[k] = min(_seconds(lambda k=k: td_features(emg, threads=k)) for _ in range(calls))
        faults[k] = (_faults() - f0) / calls
    ref = td_features_reference(emg)
    fast = {k: np.inf for k in threads}
    loop = np.inf
    for _ in range(rounds):
        loop = min(loop, _seconds(lambda: td_features_reference(emg)))
        for k in threads:
            for _ in range(calls):
                fast[k] = min(fast[k], _seconds(lambda k=k: td_features(emg, threads=k)))
    out = td_features(emg).astype(np.float64)
    rel_err = float(np.max(np.abs(out - ref) / np.maximum(np.abs(ref), 1e-12)))
    return {"alone": alone, "beside": fast, "faults": faults, "loop": loop, "rel_err": rel_err,
            "zcr_equal": bool(np.array_equal(out[:, 4::5], ref[:, 4::5]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--channels", type=int, default=35)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (one loop run and 20 fast calls each)")
    args = ap.parse_args()
    fs = 2000.0
    n = int(args.seconds * fs)
    emg = np.random.default_rng(0).standard_normal((n, args.channels)) * 30 + 5
    emg[-n // 10 :] = emg[-n // 10 - 1]  # a held tail: the settled-band rule at work
    r = td_speed(emg, args.rounds)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"TD features, {args.seconds:g} s x {args.channels} ch at 2 kHz; {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
          f"load average {load:.2f}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"plain per-frame loop: {r['loop']:.2f} s; max rel err {r['rel_err']:.1e}; zero-crossing rates identical: {r['zcr_equal']}")
    for k, beside in r["beside"].items():
        alone = r["alone"][k]
        ratio = r["loop"] / max(alone, beside)
        print(f"  {k} thread(s): {alone * 1e3:5.1f} ms alone ({r['faults'][k]:.0f} page faults a call), {beside * 1e3:5.1f} ms beside the loop: "
              f"{ratio:4.0f}x the loop ({'meets' if ratio >= GOAL else 'below'} the {GOAL:.0f}x goal)")


if __name__ == "__main__":
    main()
