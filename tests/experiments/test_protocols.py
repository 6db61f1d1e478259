"""The options each demo protocol takes (:mod:`emgse.experiments.protocols`), checked before any work."""

from __future__ import annotations

import argparse

import pytest

from emgse.cli import build_parser
from emgse.errors import EmgseError
from emgse.experiments import DEMO_PROTOCOLS, UNSEEN_ONLY, check_demo_options, split_speaker_session


def test_the_default_protocol_refuses_the_unseen_speaker_options_by_name():
    with pytest.raises(EmgseError, match=r"^--noise-train, --minutes-per-model, --cheek: unseen-speaker demo option\(s\); "
                                         r"add --protocol unseen-speakers$"):
        check_demo_options("speaker-dependent", {"noise_train": ["white"], "minutes_per_model": 1.0, "cheek": True})
    # None or False: not given; the speaker-dependent options pass
    check_demo_options("speaker-dependent", {**dict.fromkeys(UNSEEN_ONLY), "cheek": False, "steps": 5, "real_emg": "corpus"})


def test_the_unseen_speaker_protocol_refuses_steps_and_real_emg():
    check_demo_options("unseen-speakers", {k: 1 for k in UNSEEN_ONLY})
    with pytest.raises(EmgseError, match=r"^--steps belongs to the speaker-dependent demo \(the default protocol\)$"):
        check_demo_options("unseen-speakers", {"steps": 5})
    with pytest.raises(EmgseError, match=r"^--real-emg runs the paper's speaker-dependent protocol; leave out --protocol unseen-speakers$"):
        check_demo_options("unseen-speakers", {"real_emg": "corpus"})
    with pytest.raises(EmgseError, match="--protocol 'cross-session': use one of speaker-dependent, unseen-speakers"):
        check_demo_options("cross-session", {})


def test_real_emg_session_is_speaker_slash_session():
    assert split_speaker_session("002/101") == ("002", "101")
    assert split_speaker_session("002/all") == ("002", "all")
    for bad in ("002", "/101", "002/", ""):
        with pytest.raises(EmgseError, match=r"--real-emg-session .*: use SPEAKER/SESSION, e.g. 002/101"):
            split_speaker_session(bad)


def test_the_demo_command_offers_the_protocols_and_marks_the_unseen_only_options():
    demo = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["demo"]
    protocol = next(a for a in demo._actions if a.dest == "protocol")
    assert tuple(protocol.choices) == DEMO_PROTOCOLS and protocol.default == DEMO_PROTOCOLS[0]
    group = next(g for g in demo._action_groups if g.title == "unseen-speakers protocol only")
    assert {a.dest for a in group._group_actions} == set(UNSEEN_ONLY)
