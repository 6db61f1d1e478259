"""The two modes of scoring and the options each takes (``emgse evaluate``).

``mixtures``: a mixture folder's noisy inputs and outputs already enhanced
(:func:`~emgse.scoring.scores.evaluate`); ``pairs``: real clean/noisy recordings, enhanced here by
checkpoints or baselines (:func:`~emgse.scoring.pairs.evaluate_pairs`). Options are named as the
command line's destinations (``atten_lim`` for ``--atten-lim``).
"""

from __future__ import annotations

from collections.abc import Mapping

from emgse.errors import EmgseError

EVALUATE_MODES = ("mixtures", "pairs")
MIXTURES_ONLY = ("enhanced", "systems", "limit", "split")
PAIRS_ONLY = ("checkpoint", "system", "atten_lim")


def check_evaluate_options(mode: str, options: Mapping[str, object]) -> None:
    """Refuse the options that belong to the other mode (:class:`EmgseError` naming them), and
    baselines in mixtures mode without a folder for their outputs (``enhanced``).

    ``options`` maps an option's name to its value; None means not given.
    """
    if mode not in EVALUATE_MODES:
        raise EmgseError(f"evaluate mode {mode!r}: use one of {', '.join(EVALUATE_MODES)}")
    if mode == "pairs":
        for name in MIXTURES_ONLY:
            if options.get(name) is not None:
                raise EmgseError(f"--{name} belongs to --mixtures mode, not --pairs")
        return
    if any(options.get(name) is not None for name in PAIRS_ONLY):
        raise EmgseError("--checkpoint, --system and --atten-lim belong to --pairs mode (--mixtures scores outputs already enhanced)")
    if options.get("baseline") and options.get("enhanced") is None:
        raise EmgseError("--baseline with --mixtures needs --enhanced ENH: the baselines' outputs go to ENH/<NAME>/")
