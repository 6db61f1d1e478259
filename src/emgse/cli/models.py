"""``emgse models``: list the registered models with their parameter counts."""

from __future__ import annotations

import argparse

from emgse.cli.common import Formatter


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models with their parameter counts", formatter_class=Formatter)
    p.add_argument("--channels", type=int, default=35, help="EMG channels used (35 all, 28 cheek, 7 chin)")
    p.add_argument("--context", type=int, default=15, help="EMG context frames each side")


def run(args: argparse.Namespace) -> int:
    import inspect

    from emgse.models import MODELS, build_model, count_parameters, describe

    print(f"{'model':<16} {'parameters':>12}  description (EMG: {args.channels} channels x 5 TD features, context +-{args.context})")
    for name, ctor in MODELS.items():
        params = inspect.signature(ctor).parameters
        kwargs = {k: v for k, v in (("emg_dims", args.channels * 5), ("context", args.context)) if k in params}
        print(f"{name:<16} {count_parameters(build_model(name, **kwargs)):>12,}  {describe(name)}")
    return 0
