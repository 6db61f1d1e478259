"""User-facing errors.

An :class:`EmgseError` is a problem with the user's input (a file, a rate, an option), not a bug.
The CLI prints its message on one line, without a traceback, and exits non-zero. Messages name the
file and say what is wrong with it.
"""

from __future__ import annotations

from pathlib import Path


class EmgseError(Exception):
    """A problem with the user's input; its message is shown as is, on one line."""


def file_error(path: str | Path, problem: str) -> EmgseError:
    """Build the standard ``<path>: <problem>`` error."""
    return EmgseError(f"{path}: {problem}")
