"""The real-speech section of a report: the shared VoiceBank-DEMAND pairs (or the user's) found,
scored with every model (:mod:`emgse.scoring.pairs`) and, given a target, judged
(:mod:`emgse.scoring.targets`). Evaluation only: never used to train or select a model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from emgse.scoring.pairs import (
    EVALUATION_PAIRS,
    evaluate_pairs,
    is_evaluation_pairs,
    pairs_table,
    reused_pair_scores,
)
from emgse.scoring.rows import NOISY
from emgse.scoring.targets import PairsTarget

# --------------------------------------------------------------------------- real speech
REAL_PAIRS = Path("real-speech") / EVALUATION_PAIRS  # under the data root (emgse.resources.data_folder)


REAL_SPEECH_TITLE = "Real speech (VoiceBank-DEMAND test pairs, real noise)"


def find_real_pairs(explicit: str | Path | None = None, data_root: str | Path | None = None) -> Path | None:
    """The real-speech pairs folder: ``explicit`` if given, else :data:`REAL_PAIRS`
    (``real-speech/voicebank-demand-test``) under the data root when it holds one (``data_root``,
    else ``EMGSE_DATA``: :func:`emgse.resources.data_folder`)."""
    from emgse.resources import data_folder

    if explicit is not None:
        return Path(explicit)
    folder = data_folder(*REAL_PAIRS.parts, root=data_root)
    return folder if folder is not None and (folder / "clean").is_dir() else None


def real_speech_section(
    checkpoints: Mapping[str, str | Path],
    out_dir: str | Path,
    pairs_dir: str | Path | None = None,
    *,
    jobs: int = 2,
    progress: bool = True,
    dnsmos: bool = True,
    target: PairsTarget | None = None,
    reuse: bool = False,
    baselines: Sequence[str] | None = None,
    data_root: str | Path | None = None,
) -> tuple[str, str] | None:
    """Score ``{system: checkpoint}`` on real recorded pairs (:func:`emgse.scoring.evaluate_pairs`,
    into ``out_dir``) and return the report section ``(heading, markdown)``; None when no pairs folder
    is given or found (:func:`find_real_pairs`, under ``data_root``). The pairs are for evaluation only.

    ``target``: also judge every system against it (:meth:`emgse.scoring.PairsTarget.table`: met, or
    which condition is missed and by how much), as a second table of the section.

    ``reuse``: take the scores ``out_dir`` already holds when they are of the same pairs, checkpoint
    files and baselines (:func:`emgse.scoring.pairs.reused_pair_scores`; a resumed demo).
    ``baselines``: audio-only baselines scored beside the checkpoints when installed, named "not
    installed" otherwise (:func:`emgse.baselines.table_baselines`); None: all of them."""
    from emgse.baselines import table_baselines

    pairs = find_real_pairs(pairs_dir, data_root)
    if pairs is None:
        return None
    heard, missing = table_baselines(baselines)
    rows = reused_pair_scores(out_dir, pairs, list(checkpoints.values()), list(checkpoints), dnsmos, heard) if reuse else None
    if rows is None:
        rows = evaluate_pairs(pairs, list(checkpoints.values()), out_dir, systems=list(checkpoints), jobs=jobs, progress=progress,
                              dnsmos=dnsmos, baselines=heard)
    default = is_evaluation_pairs(pairs)
    title = REAL_SPEECH_TITLE if default else f"Real speech ({pairs.name}, real recordings)"
    table = pairs_table(rows, title, evaluation_only=default)
    n = sum(r["system"] == NOISY for r in rows)
    source = (f"{n} VoiceBank-DEMAND test pairs (Valentini-Botinhao et al. 2016, CC BY 4.0), real recorded noise"
              if default else f"{n} real recorded pairs from {pairs}")
    text = "\n".join(table.markdown().splitlines()[2:] + [f"\n{line}" for line in missing])  # the heading is the section's
    if target is not None:
        text += "\n\n" + target.table(rows).markdown()
    return title, f"{source}; per-file scores in `{Path(out_dir) / 'pair_scores.csv'}`.\n\n{text}"
