"""Targets a model is judged against on real recordings (:class:`PairsTarget`): mean PESQ and
ESTOI gains and the number of files it may make worse; each judged met, or missed by how much."""

from __future__ import annotations

import math
from dataclasses import dataclass

from emgse.mixing import CATEGORIES, MANIFEST, noise_category, read_manifest  # noqa: F401 (noise_category re-exported)
from emgse.scoring.pairs import WORSE_ESTOI, summarize_pairs
from emgse.scoring.rows import METRIC_LABELS, NOISY
from emgse.scoring.summaries import Table


@dataclass(frozen=True)
class PairsTarget:
    """What a model must do on real pairs, judged on :func:`summarize_pairs`: a mean PESQ and a mean
    ESTOI gain over ``noisy`` of at least ``pesq_gain`` / ``estoi_gain``, and at most ``max_worse``
    files whose ESTOI falls more than :data:`WORSE_ESTOI` below the noisy input's; with
    ``dnsmos_gain``, a mean DNSMOS OVRL gain of at least that much too."""

    label: str
    pesq_gain: float = 0.0
    estoi_gain: float = 0.0
    max_worse: int = 0
    dnsmos_gain: float | None = None

    def shortfalls(self, summary_row: dict) -> list[str]:
        """The conditions ``summary_row`` misses, each with by how much (``[]``: the target is met).
        Gains are judged at the precision they are printed with (3 decimals)."""
        out = []
        wants = [("pesq", self.pesq_gain), ("estoi", self.estoi_gain)]
        if self.dnsmos_gain is not None:
            wants.append(("dnsmos_ovrl", self.dnsmos_gain))
        for metric, wanted in wants:
            short = wanted - round(summary_row.get(f"{metric}_gain", math.nan), 3)
            if not short <= 0:  # NaN (not scored) counts as missed
                out.append(f"{METRIC_LABELS[metric]} gain short by {short:.3f}" if math.isfinite(short) else f"{METRIC_LABELS[metric]} not scored")
        worse = summary_row["worse_estoi"]
        if worse > self.max_worse:
            out.append(f"{worse} file{'' if worse == 1 else 's'} worse (at most {self.max_worse})")
        return out

    def table(self, rows: list[dict], title: str | None = None) -> Table:
        """One row per system (``noisy`` left out): its gains, its worse count and the verdict."""
        summary = [s for s in summarize_pairs(rows) if s["system"] != NOISY]
        n = summary[0]["n"] if summary else 0
        dnsmos = self.dnsmos_gain is not None
        header = ["System", f"PESQ gain (>= {self.pesq_gain:+.2f})", f"ESTOI gain (>= {self.estoi_gain:+.2f})",
                  *([f"DNSMOS OVRL gain (>= {self.dnsmos_gain:+.2f})"] if dnsmos else []),
                  f"files ESTOI worse by > {WORSE_ESTOI:g} (<= {self.max_worse})", "verdict"]
        body = []
        for s in summary:
            missed = self.shortfalls(s)
            gains = [f"{round(s.get(f'{m}_gain', math.nan), 3) + 0.0:+.3f}" for m in ("pesq", "estoi", *(["dnsmos_ovrl"] if dnsmos else []))]
            body.append([s["system"], *gains, f"{s['worse_estoi']} of {n}", "met" if not missed else "missed: " + "; ".join(missed)])
        return Table(title or f"Target: {self.label}", header, body,
                     [f"Mean paired gains over `{NOISY}` on {n} real recordings; every model runs audio-only (EMG absent)."])


# The demo's check (docs/enhancement.md): a fresh-machine model must not make real recordings worse on average,
# and at most 2 files (of VoiceBank-DEMAND's 25) may lose more than WORSE_ESTOI.
NO_HARM = PairsTarget("does no harm to real recordings", pesq_gain=0.0, estoi_gain=0.0, max_worse=2)


# ... and a model trained on recorded speech must clearly help them, harming no file.
HELPS_REAL_SPEECH = PairsTarget("helps real recordings", pesq_gain=0.25, estoi_gain=0.01, max_worse=0)


# The shipped pretrained model (benchmarks/pretrain.py; its card: docs/pretrained.md): what the same network reached when
# trained on the fly for 6 GPU-minutes, held as the bar for the weights that ship.
PRETRAINED_TARGET = PairsTarget("the pretrained model helps real recordings", pesq_gain=0.40, estoi_gain=0.02, max_worse=0,
                                dnsmos_gain=0.0)
