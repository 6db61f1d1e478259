"""The one gate for numeric command-line options.

Every ``type=int`` / ``type=float`` option of every command is checked where it is parsed, by
:func:`gate_numeric_options` (called once on the whole parser): finite, in its range, an integer
where it must be. The ranges live in :data:`RULES`, keyed by the option's ``dest``; a numeric
option without a rule is a programming error caught when the parser is built (and by the tests).
A value out of range is an ``argparse`` error: one line naming the option, exit status 2.

Options that set a configuration field are generated from the field (:func:`setting`,
:func:`add_config_flags`, :func:`config_flags`): its default and help live once, in the dataclass,
and ``--help`` prints that default.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    """A numeric option's range: ``lo`` .. ``hi`` (None: unbounded), ``lo`` excluded unless ``lo_closed``."""

    lo: float | None = None
    hi: float | None = None
    lo_closed: bool = True
    hi_closed: bool = True

    def describe(self) -> str:
        def num(x: float) -> str:
            return f"{int(x)}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"

        if self.lo is not None and self.hi is not None and self.lo_closed and self.hi_closed:
            return f"from {num(self.lo)} to {num(self.hi)}"
        lo = None if self.lo is None else f"{'>=' if self.lo_closed else '>'} {num(self.lo)}"
        hi = None if self.hi is None else f"{'<=' if self.hi_closed else '<'} {num(self.hi)}"
        return " and ".join(x for x in (lo, hi) if x)

    def admits(self, value: float) -> bool:
        if self.lo is not None and not (value >= self.lo if self.lo_closed else value > self.lo):
            return False
        return self.hi is None or (value <= self.hi if self.hi_closed else value < self.hi)


ANY = Rule()
POSITIVE = Rule(0, lo_closed=False)
AT_LEAST_0 = Rule(0)
AT_LEAST_1 = Rule(1)
RATE = Rule(0, 1e6, lo_closed=False)  # Hz
SHARE = Rule(0, 1)
SMALL_COUNT = Rule(1, 1024)  # threads
# scoring processes: CPU-bound, so more than 4 per core only add memory (about 200 MB each)
JOBS = Rule(1, 4 * (os.cpu_count() or 1))

# dest -> range, for every numeric option of every command (the same name means the same thing).
RULES: dict[str, Rule] = {
    "val_share": Rule(0, 1, hi_closed=False),
    # mixture RMS in dBFS: 20 dB above the level rule's floor (-140 dBFS, emgse.features.level.FLOOR),
    # so the running RMS measures the signal, not the floor
    "level": Rule(-120, 0),
    # crop seconds: at least the EMG context window of the default model (2 x 15 + 1 frames of 8 ms)
    "crop": Rule(0.25, 600),
    "steps_per_epoch": Rule(1, None),
    "steps": Rule(1, 10**9),
    "val_crops": Rule(1, None),
    "emg_fs": RATE,
    "snr": Rule(-100, 100),
    "per_utterance": Rule(1, 10_000),
    "seed": Rule(0, 2**32 - 1),
    "reverb_prob": SHARE,
    "val_fraction": Rule(0, 1, hi_closed=False),
    "test_fraction": Rule(0, 1, hi_closed=False),
    "context": Rule(0, 1000),
    "channels": Rule(1, 1000),
    "epochs": Rule(1, 10**9),
    "patience": Rule(1, 10**9),
    "batch_size": Rule(1, 10**6),
    "lr": Rule(0, 10, lo_closed=False),
    "workers": Rule(0, 1024),
    "max_minutes": Rule(0, 10**7, lo_closed=False),
    "minutes_per_model": Rule(0, 10**7, lo_closed=False),
    "emg_gain_jitter": Rule(0, 10),
    "wave_weight": Rule(0, 1e6, lo_closed=False),
    "atten_lim": Rule(0, 1000, lo_closed=False),
    "iterations": Rule(0, 100_000),
    "momentum": SHARE,
    "jobs": JOBS,
    "threads": SMALL_COUNT,
    "limit": Rule(1, None),
    "examples": Rule(0, 1000),
    "speakers": Rule(1, 100_000),
    "utterances": Rule(1, 10**7),
    "speaker": Rule(0, 10**6),
    "hops": Rule(1, 100_000),
    "emg_snr_db": Rule(-100, 100),
    "mains_db": Rule(-200, 100),
    "wander": Rule(0, 1000),
    "motion_rate": Rule(0, 1000),
    "lead_ms": Rule(-1000, 1000),
    # settings that only config files set
    "segment": Rule(1, 100_000),
    "max_steps_per_epoch": Rule(1, None),
}


def _wanted(kind: type, rule: Rule) -> str:
    return f"{'an integer' if kind is int else 'a finite number'} {rule.describe()}".rstrip()


def admissible(value: object, kind: type, rule: Rule) -> bool:
    """Whether ``value`` (already a number, e.g. from a config file) is a ``kind`` within ``rule``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        return False
    return math.isfinite(value) and rule.admits(value)


def check_settings(obj: object, fields: dict[str, tuple[str, type]], where: str) -> None:
    """The gate for numeric settings read from a file: ``fields`` maps an attribute of ``obj`` to
    ``(rule name in RULES, int or float)``; None means unset. Raises :class:`EmgseError` naming ``where``."""
    from emgse.errors import EmgseError

    for field, (name, kind) in fields.items():
        value = getattr(obj, field)
        if value is not None and not admissible(value, kind, RULES[name]):
            raise EmgseError(f"{where}: {field} {value!r}: must be {_wanted(kind, RULES[name])}")


def checked(kind: type, rule: Rule):
    """An argparse ``type=`` converting to ``kind`` (int or float) and checking ``rule``."""

    def convert(text: str):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            value = None
        if not admissible(value, kind, rule):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {_wanted(kind, rule)}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)
        else:
            yield parser, action


def gate_numeric_options(parser: argparse.ArgumentParser) -> None:
    """Give every ``type=int`` / ``type=float`` option of ``parser`` and its subcommands the
    checked type of :data:`RULES`; raises ``KeyError`` for a numeric option without a rule."""
    for owner, action in _actions(parser):
        if action.type in (int, float):
            if action.dest not in RULES:
                raise KeyError(f"{owner.prog} {action.option_strings}: numeric option without a rule in emgse.options.RULES")
            action.type = checked(action.type, RULES[action.dest])


def numeric_options(parser: argparse.ArgumentParser) -> list[tuple[str, str, type, Rule]]:
    """``(prog, option, kind, rule)`` for every gated numeric option (for the tests' catalogue)."""
    out = []
    for owner, action in _actions(parser):
        kind = getattr(action.type, "__name__", None)
        if action.option_strings and kind in ("int", "float") and action.dest in RULES:
            out.append((owner.prog, action.option_strings[0], int if kind == "int" else float, RULES[action.dest]))
    return out


# --------------------------------------------------------------------------- options from configs
def setting(default: object, help: str, *, flag: str | None = None, metavar: str | tuple[str, ...] | None = None,
            type: typing.Callable[[str], object] | None = None, choices: typing.Iterable[str] | None = None,
            old_names: tuple[str, ...] = ()) -> typing.Any:
    """A dataclass field with its command-line option: ``help`` (without the default, which
    :func:`add_config_flags` appends from ``default``), ``flag`` (default ``--<field-name>``),
    ``metavar``, ``type`` (default: from the annotation), ``choices``; ``old_names``: keys a saved
    config may still use for it (:func:`emgse.config.from_dict` reads them)."""
    meta = {"help": help, "flag": flag, "metavar": metavar, "type": type,
            "choices": None if choices is None else tuple(choices), "old_names": tuple(old_names)}
    return dataclasses.field(default=default, metadata=meta)


def option_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of dataclass ``cls`` that have a command-line option (declared with :func:`setting`)."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def flag_of(f: dataclasses.Field) -> str:
    """A field's option: its ``flag``, else ``--<name>`` (``max_epochs`` -> ``--max-epochs``)."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def dest_of(f: dataclasses.Field) -> str:
    """A field's option's ``dest`` (argparse's rule: ``--steps-per-epoch`` -> ``steps_per_epoch``), the key of :data:`RULES`."""
    return flag_of(f)[2:].replace("-", "_")


def default_text(value: object) -> str:
    """A default as ``--help`` prints it: ``(-5.0, 20.0)`` -> ``-5 20``, None -> ``none``, True -> ``on``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple | list):
        return " ".join(default_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def path_text(text: str) -> str:
    """A path option kept as text (a config field), spelt as :class:`pathlib.Path` spells it (``./a.pt`` -> ``a.pt``)."""
    return str(Path(text))


def _kind(cls: type, f: dataclasses.Field) -> tuple[typing.Callable[[str], object], int | str | None]:
    """``(type, nargs)`` of a field's option from its annotation (``float | None`` -> float,
    ``tuple[float, float]`` -> float twice, ``tuple[int, ...]`` -> int one or more times)."""
    hint = typing.get_type_hints(cls)[f.name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = [k for k in typing.get_args(hint) if k is not type(None)]
        hint = kinds[0] if len(kinds) == 1 else hint
    if typing.get_origin(hint) is tuple:
        items = typing.get_args(hint)
        return (items[0], "+") if len(items) == 2 and items[1] is Ellipsis else (items[0], len(items))
    if hint in (bool, int, float, str):
        return hint, None
    if f.metadata.get("type") is not None:  # e.g. str | tuple[int, ...] read from one word
        return f.metadata["type"], None
    raise TypeError(f"{cls.__name__}.{f.name}: annotation {hint} has no option type; give setting(type=...)")


def add_config_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type,
                     fields: typing.Iterable[str] | None = None, *, prefix: str = "") -> None:
    """Add one option per field of dataclass ``cls`` (``fields``: their names, in order; None:
    every field declared with :func:`setting`). Each option's help is ``prefix`` + the field's help
    + ``(default: <the field's default>)``; an option not given is absent from the parsed
    arguments (``argparse.SUPPRESS``), so it does not override a config file (:func:`config_flags`)."""
    by_name = {f.name: f for f in option_fields(cls)}
    for name in fields if fields is not None else by_name:
        if name not in by_name:
            raise KeyError(f"{cls.__name__}.{name}: not a field declared with emgse.options.setting")
        f = by_name[name]
        meta = f.metadata
        kind, nargs = _kind(cls, f)
        text = f"{prefix}{meta['help']} (default: {default_text(f.default)})".replace("%", "%%")
        extra: dict = {"action": argparse.BooleanOptionalAction} if kind is bool and meta["type"] is None else {
            "type": meta["type"] or kind, "nargs": nargs, "choices": meta["choices"], "metavar": meta["metavar"]}
        parser.add_argument(flag_of(f), dest=dest_of(f), default=argparse.SUPPRESS, help=text, **extra)


def config_flags(args: argparse.Namespace, cls: type) -> dict:
    """The fields of ``cls`` that options added by :func:`add_config_flags` set in ``args``
    (given on the command line), as ``{field: value}`` (tuples for several values)."""
    given = vars(args)
    return {f.name: tuple(given[dest_of(f)]) if isinstance(given[dest_of(f)], list) else given[dest_of(f)]
            for f in option_fields(cls) if dest_of(f) in given}


def setting_rules(cls: type) -> dict[str, tuple[str, type]]:
    """``{field: (rule name in RULES, int or float)}`` for every int or float field of ``cls``
    with a rule, under its option's ``dest`` or, without an option, its own name: the gate for
    settings read from a file (:func:`check_settings`)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        kinds = [k for k in typing.get_args(hint) if k is not type(None)] if typing.get_origin(hint) in (
            typing.Union, types.UnionType) else [hint]
        name = dest_of(f) if "help" in f.metadata else f.name
        if len(kinds) == 1 and kinds[0] in (int, float) and name in RULES:
            out[f.name] = (name, kinds[0])
    return out
