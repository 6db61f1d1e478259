"""The options each mode of ``emgse evaluate`` takes (:mod:`emgse.scoring.modes`), checked before any work."""

from __future__ import annotations

import pytest

from emgse.errors import EmgseError
from emgse.scoring import EVALUATE_MODES, check_evaluate_options
from emgse.scoring.modes import MIXTURES_ONLY, PAIRS_ONLY


@pytest.mark.parametrize("name", MIXTURES_ONLY)
def test_pairs_mode_refuses_the_mixture_options(name):
    with pytest.raises(EmgseError, match=rf"^--{name} belongs to --mixtures mode, not --pairs$"):
        check_evaluate_options("pairs", {name: ["x"]})


@pytest.mark.parametrize("name", PAIRS_ONLY)
def test_mixtures_mode_refuses_the_pair_options(name):
    with pytest.raises(EmgseError, match=r"^--checkpoint, --system and --atten-lim belong to --pairs mode"):
        check_evaluate_options("mixtures", {name: 12.0})


def test_each_mode_takes_its_own_options():
    check_evaluate_options("pairs", {"checkpoint": ["a.pt"], "system": ["a"], "atten_lim": 12.0, "baseline": ["gtcrn"]})
    check_evaluate_options("mixtures", {"enhanced": "enh", "systems": ["a"], "limit": 3, "split": ["test"], "baseline": ["gtcrn"]})
    check_evaluate_options("mixtures", {**dict.fromkeys(PAIRS_ONLY), "baseline": None})
    with pytest.raises(EmgseError, match=r"^--baseline with --mixtures needs --enhanced ENH"):
        check_evaluate_options("mixtures", {"baseline": ["gtcrn"], "enhanced": None})
    with pytest.raises(EmgseError, match="evaluate mode 'live'"):
        check_evaluate_options("live", {})
    assert EVALUATE_MODES == ("mixtures", "pairs")
