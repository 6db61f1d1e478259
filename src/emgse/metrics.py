"""Per-utterance speech quality and intelligibility scores: PESQ (wide-band), STOI, ESTOI, SI-SDR.

Every score compares an *estimate* with a *reference* of the same length at 16 kHz. For a mixture
``noisy = gain * (clean + scaled_noise)`` (see :mod:`emgse.mixing`) the reference of every system
scored on that mixture (the noisy input itself included) is ``gain * clean``: the enhanced output
is expected at the level of the mixture it was computed from. STOI, ESTOI and SI-SDR are
scale-invariant, so only PESQ would notice a wrong level, and PESQ aligns levels internally too;
the convention keeps the scores exact all the same.

A score that cannot be computed for one utterance (PESQ finds no utterance in a silent
reference, STOI has fewer than 30 non-silent frames, a zero signal for SI-SDR) is NaN, never an
exception, so that one bad file does not stop an evaluation; summaries count the NaNs.
"""

from __future__ import annotations

import warnings

import numpy as np

from emgse.errors import EmgseError

FS = 16000
METRICS = ("pesq", "stoi", "estoi", "si_sdr")
# SI-SDR of an exact copy is infinite; scores are clipped to this many dB either way.
SI_SDR_LIMIT_DB = 150.0


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, fs: int = FS) -> float:
    """Wide-band PESQ (ITU-T P.862.2, MOS-LQO from about 1.04 to 4.64) of ``(samples,)`` signals.

    Returns NaN where PESQ fails (no utterance found, shorter than 1/4 s, silent input, ...).
    """
    import pesq

    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    # pesq divides both by their joint peak; an all-zero pair would be 0/0.
    if not np.any(reference) or not np.any(estimate):
        return float("nan")
    try:
        score = pesq.pesq(fs, reference, estimate, "wb", on_error=pesq.PesqError.RETURN_VALUES)
    except Exception:  # any failure of the C code is a missing score, not a crash
        return float("nan")
    # With RETURN_VALUES, failures come back as negative error codes.
    return float(score) if np.isfinite(score) and score > 0 else float("nan")


def stoi(reference: np.ndarray, estimate: np.ndarray, fs: int = FS, extended: bool = False) -> float:
    """STOI, or ESTOI with ``extended=True`` (pystoi), of ``(samples,)`` signals; NaN if undefined.

    pystoi returns a placeholder 1e-5 (with a warning) when fewer than 30 frames are left after
    removing silent frames; that is reported as NaN here, as is an all-zero reference.
    """
    from pystoi import stoi as _stoi

    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if not np.any(reference):  # pystoi would keep every frame of silence and return 0
        return float("nan")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            score = float(_stoi(reference, estimate, fs, extended=extended))
        except Exception:  # a failed score is NaN, not a crash
            return float("nan")
    if any("Not enough STFT frames" in str(w.message) for w in caught) or not np.isfinite(score):
        return float("nan")
    return score


def si_sdr_tensor(reference, estimate, eps: float = 1e-8):
    """:func:`si_sdr` on torch tensors ``(B, samples)`` -> ``(B,)``, differentiable: the SI-SDR
    waveform loss of training (``emgse train --wave-loss sisdr``). The same definition and argument
    order; ``eps`` in each energy keeps it finite (and its gradient defined) where :func:`si_sdr`
    clips and returns NaN."""
    reference = reference - reference.mean(-1, keepdim=True)
    estimate = estimate - estimate.mean(-1, keepdim=True)
    scale = (estimate * reference).sum(-1, keepdim=True) / ((reference**2).sum(-1, keepdim=True) + eps)
    target = scale * reference
    return 10 * (((target**2).sum(-1) + eps) / (((estimate - target) ** 2).sum(-1) + eps)).log10()


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray | float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), over the last axis.

    Both signals are made zero-mean; the estimate is projected onto the reference,
    ``target = <e, r> / <r, r> * r``, and ``SI-SDR = 10 log10(|target|^2 / |e - target|^2)``,
    clipped to +-:data:`SI_SDR_LIMIT_DB`. A zero reference or zero estimate gives NaN.

    Args:
        reference, estimate: ``(..., samples)``, broadcastable.

    Returns:
        ``(...)`` array, or a float for 1-D inputs.
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    reference = reference - reference.mean(axis=-1, keepdims=True)
    estimate = estimate - estimate.mean(axis=-1, keepdims=True)
    ref_energy = np.sum(reference**2, axis=-1, keepdims=True)
    est_energy = np.sum(estimate**2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.sum(estimate * reference, axis=-1, keepdims=True) / ref_energy
        target = alpha * reference
        t = np.sum(target**2, axis=-1)
        e = np.sum((estimate - target) ** 2, axis=-1)
        ratio = 10.0 * np.log10(t / e)
    out = np.clip(ratio, -SI_SDR_LIMIT_DB, SI_SDR_LIMIT_DB)
    undefined = (ref_energy[..., 0] <= 0) | (est_energy <= 0)
    out = np.where(undefined, np.nan, out)
    return float(out) if out.ndim == 0 else out


def check_pair(reference: np.ndarray, estimate: np.ndarray, fs: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a reference/estimate pair; return them as float64 ``(samples,)`` arrays."""
    if fs != FS:
        raise EmgseError(f"scores need {FS} Hz audio, got {fs} Hz (resample first)")
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.ndim != 1 or estimate.ndim != 1:
        raise EmgseError(f"scores need mono (samples,) signals, got shapes {reference.shape} and {estimate.shape}")
    if reference.shape != estimate.shape:
        raise EmgseError(f"reference has {reference.size} samples but the estimate has {estimate.size}; they must match")
    for name, x in (("reference", reference), ("estimate", estimate)):
        if not np.all(np.isfinite(x)):
            raise EmgseError(f"{name} contains NaN/Inf values")
    return reference, estimate


def score_pair(reference: np.ndarray, estimate: np.ndarray, fs: int = FS) -> dict[str, float]:
    """All scores of one estimate against its reference.

    Args:
        reference: ``(samples,)`` at 16 kHz, e.g. ``gain * clean`` of a mixture.
        estimate: ``(samples,)`` at 16 kHz, the same length (noisy input or enhanced output).
        fs: must be 16000 (resample before scoring).

    Returns:
        ``{"pesq", "stoi", "estoi", "si_sdr"}``; a score that cannot be computed is NaN.

    Raises:
        EmgseError: on another rate, different lengths, non-mono or non-finite input.
    """
    reference, estimate = check_pair(reference, estimate, fs)
    return {
        "pesq": pesq_wb(reference, estimate, fs),
        "stoi": stoi(reference, estimate, fs, extended=False),
        "estoi": stoi(reference, estimate, fs, extended=True),
        "si_sdr": float(si_sdr(reference, estimate)),
    }
