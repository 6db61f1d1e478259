"""The scores file: one row per system x mixture (:data:`SCORE_COLUMNS`, DNSMOS columns when
scored), its labels, and how it is written and read back (``scores.csv``, atomically)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from emgse.errors import file_error
from emgse.files import write_text
from emgse.metrics import METRICS
from emgse.mixing import noise_category

NOISY = "noisy"


SCORE_COLUMNS = ("system", "utt_id", "noise", "snr_db", *METRICS, "split", "category", "path")


DNSMOS_COLUMNS = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")


METRIC_LABELS = {"pesq": "PESQ", "stoi": "STOI", "estoi": "ESTOI", "si_sdr": "SI-SDR (dB)",
                 "dnsmos_sig": "DNSMOS SIG", "dnsmos_bak": "DNSMOS BAK", "dnsmos_ovrl": "DNSMOS OVRL"}


# --------------------------------------------------------------------------- scores.csv
def fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def csv_text(rows: Iterable[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: fmt(row.get(k, "")) for k in columns})
    return buf.getvalue()


def metrics_of(scores: list[dict]) -> tuple[str, ...]:
    """The metrics present in score rows: :data:`METRICS`, plus the DNSMOS columns if scored."""
    return (*METRICS, *DNSMOS_COLUMNS) if scores and all(c in scores[0] for c in DNSMOS_COLUMNS) else METRICS


def score_columns(scores: list[dict]) -> tuple[str, ...]:
    """``scores.csv`` columns: :data:`SCORE_COLUMNS`, with the DNSMOS columns after the metrics if scored."""
    extra = metrics_of(scores)[len(METRICS):]
    n = 4 + len(METRICS)
    return (*SCORE_COLUMNS[:n], *extra, *SCORE_COLUMNS[n:])


def write_scores(path: str | Path, scores: list[dict]) -> None:
    """Write score rows as CSV (columns :func:`score_columns`, NaN as an empty cell), atomically."""
    write_text(path, csv_text(scores, score_columns(scores)))


def read_scores(path: str | Path) -> list[dict]:
    """Read ``scores.csv`` (numbers parsed, empty cells NaN); a folder means its ``scores.csv``."""
    path = Path(path)
    if path.is_dir():
        path = path / "scores.csv"
    if not path.is_file():
        raise file_error(path, "scores file not found")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in SCORE_COLUMNS[: 4 + len(METRICS)] if c not in (reader.fieldnames or [])]
        if missing:
            raise file_error(path, f"missing column(s) {', '.join(missing)}")
        rows = list(reader)
    if not rows:
        raise file_error(path, "no scores in this file")
    for i, row in enumerate(rows, start=2):
        try:
            row["snr_db"] = float(row["snr_db"])
            for m in (*METRICS, *(c for c in DNSMOS_COLUMNS if c in row)):
                row[m] = float(row[m]) if row[m] not in ("", None) else float("nan")
        except ValueError as e:
            raise file_error(path, f"line {i}: not a number ({e})") from None
        if not row.get("category"):
            row["category"] = noise_category(row["noise"])
    return rows
