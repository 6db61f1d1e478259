"""The simulator held against real EMG: the same statistics of both, side by side.

    python -m benchmarks.emg_realism --real runs/emg-uka-002-101/prepared
    python -m benchmarks.emg_realism --real REAL_PREPARED --simulated SIM_PREPARED [--split test]

``--real``: a prepared layout of real EMG (``emgse prepare emg-uka`` or a recipe's ``OUT/prepared``).
``--simulated``: a prepared layout of simulated EMG; by default the demo's simulated session (one
speaker, seed 11) is simulated and prepared into a temporary folder, its 20 test utterances. Prints
spectrum, envelope-speech correlation and lead, channel correlation, amplitude distribution and
level contrast (:mod:`emgse.corpora.emg_statistics`), measured alike on the 20-290 Hz band that
EMG-UKA's 600 Hz recording keeps.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from emgse.corpora.emg_statistics import emg_statistics, statistics_table


def simulated_session(folder: Path, seed: int = 11) -> Path:
    """The demo's simulated session (:class:`emgse.experiments.SessionConfig`), its test utterances prepared."""
    from emgse.corpora.csl_emg_array import SplitRanges, prepare_csl_emg_array
    from emgse.corpora.simulated.config import SimulationConfig
    from emgse.corpora.simulated.writer import simulate_corpus
    from emgse.experiments import SessionConfig

    config = SessionConfig(seed=seed)
    simulate_corpus(folder / "corpus", SimulationConfig(speakers=config.speakers, utterances=config.utterances, seed=seed))
    prepare_csl_emg_array(folder / "corpus", "all", folder / "prepared", splits=SplitRanges(test=[(1, config.test)], val=[], train=[]))
    return folder / "prepared"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", type=Path, required=True, help="prepared layout of real EMG")
    ap.add_argument("--simulated", type=Path, default=None, help="prepared layout of simulated EMG (default: the demo's session)")
    ap.add_argument("--split", default="test", help="split to measure")
    ap.add_argument("--max-utterances", type=int, default=40, help="utterances per corpus")
    args = ap.parse_args(argv)
    measured = {"real": emg_statistics(args.real, args.split, max_utterances=args.max_utterances)}
    with tempfile.TemporaryDirectory() as tmp:
        simulated = args.simulated or simulated_session(Path(tmp))
        measured["simulated"] = emg_statistics(simulated, args.split, max_utterances=args.max_utterances)
    print(statistics_table(measured, f"EMG statistics: REAL ({args.real}) against SIMULATED ({args.simulated or 'the demo session'})")
          .markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
