"""Small helpers shared by the benchmark scripts: timing and a printed table. The benchmarks read the paper's data under
``EMGSE_DATA`` (:func:`emgse.resources.data_folder`)."""

from __future__ import annotations

import time
from collections.abc import Callable


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
