"""The demo's protocols and the options each takes (``emgse demo``).

``speaker-dependent`` is the paper's protocol and the default: a simulated speaker's session
(:func:`~emgse.experiments.run_session_demo`), or a real EMG-UKA session with ``real_emg``
(:func:`~emgse.experiments.run_emg_uka_recipe`). ``unseen-speakers`` tests speakers unseen in
training (:func:`~emgse.experiments.run_demo`). Options are named as the command line's
destinations (``noise_train`` for ``--noise-train``).
"""

from __future__ import annotations

from collections.abc import Mapping

from emgse.errors import EmgseError

DEMO_PROTOCOLS = ("speaker-dependent", "unseen-speakers")
# options that shape only the unseen-speaker demo (given with the default protocol, they are refused)
UNSEEN_ONLY = ("noise_train", "noise_test", "speakers", "utterances", "epochs", "minutes_per_model", "cheek", "family", "speech", "loss")


def check_demo_options(protocol: str, options: Mapping[str, object]) -> None:
    """Refuse the options that do not belong to ``protocol`` (:class:`EmgseError` naming them).

    ``options`` maps an option's name to its value; None or False means not given. The
    speaker-dependent demo takes none of :data:`UNSEEN_ONLY`; the unseen-speaker demo takes
    neither ``steps`` nor ``real_emg``.
    """
    if protocol not in DEMO_PROTOCOLS:
        raise EmgseError(f"--protocol {protocol!r}: use one of {', '.join(DEMO_PROTOCOLS)}")
    if protocol == "speaker-dependent":
        given = [f"--{k.replace('_', '-')}" for k in UNSEEN_ONLY if options.get(k) not in (None, False)]
        if given:
            raise EmgseError(f"{', '.join(given)}: unseen-speaker demo option(s); add --protocol unseen-speakers")
        return
    if options.get("steps") is not None:
        raise EmgseError("--steps belongs to the speaker-dependent demo (the default protocol)")
    if options.get("real_emg") is not None:
        raise EmgseError("--real-emg runs the paper's speaker-dependent protocol; leave out --protocol unseen-speakers")


def split_speaker_session(text: str) -> tuple[str, str]:
    """``"002/101"`` -> ``("002", "101")``: the EMG-UKA speaker and session of ``--real-emg-session``."""
    speaker, sep, session = text.partition("/")
    if not sep or not speaker or not session:
        raise EmgseError(f"--real-emg-session {text!r}: use SPEAKER/SESSION, e.g. 002/101")
    return speaker, session
