"""Small helpers shared by the benchmark scripts: timing, a printed table, and where the data is."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from emgse.resources import shared_folder


def data_folder(*parts: str) -> Path | None:
    """The development data folder ``parts`` (``"noise", "train"``; ``"speech", "speechocean762"``)
    when it exists, else None: the one place where the benchmarks look for their data."""
    return shared_folder(*parts)


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``fn``, in seconds."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def print_table(header: tuple[str, str, str], rows: list[tuple[str, str, str]]) -> None:
    """Print three-column rows aligned under ``header``."""
    width = max(len(r[0]) for r in [header, *rows])
    mid = max(len(r[1]) for r in [header, *rows])
    print(f"{header[0]:<{width}}  {header[1]:>{mid}}  {header[2]}")
    print(f"{'-' * width}  {'-' * mid}  {'-' * 40}")
    for name, value, detail in rows:
        print(f"{name:<{width}}  {value:>{mid}}  {detail}")
