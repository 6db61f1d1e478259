"""Export the per-hop step of a causal model to ONNX, and check onnxruntime against torch.

The exported graph is one frame of :meth:`emgse.models.causal._CausalBase.step` with its recurrent
state as explicit tensors, so any ONNX runtime can drive it hop by hop (the STFT, the EMG filters
and the overlap-add stay with the caller, as in :class:`emgse.stream.Streamer`):

====================  ===============================  =========================================
name                  shape                            meaning
====================  ===============================  =========================================
``log_mag``           ``(1, 257)``                     log1p |STFT| of the frame being enhanced
``emg``               ``(1, past + 1 + lookahead, D)`` normalized TD features, oldest first
                                                       (EMG models only)
``h_in``, ``c_in``    ``(2, 1, 300)``                  LSTM state before the frame (zeros at start)
``estimate``          ``(1, 257)``                     estimated clean log1p magnitude
``h_out``, ``c_out``  ``(2, 1, 300)``                  LSTM state after the frame
====================  ===============================  =========================================
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch

from emgse.checkpoint import load_model
from emgse.errors import EmgseError, file_error
from emgse.files import check_output, write_bytes
from emgse.models import uses_emg

OPSET = 17
TOLERANCE = 1e-4


class StepModule(torch.nn.Module):
    """A causal model's one-frame step as a module: ``(log_mag, [emg,] h, c) -> (estimate, h, c)``."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.uses_emg = uses_emg(model)

    def forward(self, log_mag: torch.Tensor, *rest: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.uses_emg:
            emg, h, c = rest
        else:
            emg, (h, c) = None, rest
        return self.model.step(log_mag, emg, h, c)


def input_names(model: torch.nn.Module) -> list[str]:
    return ["log_mag", *(["emg"] if uses_emg(model) else []), "h_in", "c_in"]


OUTPUT_NAMES = ["estimate", "h_out", "c_out"]


def example_inputs(model: torch.nn.Module, dims: int | None, rng: np.random.Generator) -> list[np.ndarray]:
    """Random inputs of the step's shapes (float32), for tracing and checks."""
    h, c = model.initial_state(1)
    arrays = [rng.random((1, 257), dtype=np.float32) * 3.0]
    if uses_emg(model):
        arrays.append(rng.standard_normal((1, model.emg_span, dims)).astype(np.float32))
    return [*arrays, h.numpy(), c.numpy()]


def _ort_session(model_bytes: bytes, threads: int = 1):
    try:
        import onnxruntime as ort
    except ImportError:  # pragma: no cover - a declared dependency
        raise EmgseError("onnxruntime is not installed (pip install onnxruntime)") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def export_step(model: torch.nn.Module, dims: int | None) -> bytes:
    """The ONNX bytes of ``model``'s per-hop step (TorchScript-based exporter, opset 17)."""
    if not getattr(model, "causal", False):
        raise EmgseError(f"model {type(model).__name__} is not causal: only causal-* models have a per-hop step")
    step = StepModule(model).eval()
    args = tuple(torch.from_numpy(a) for a in example_inputs(model, dims, np.random.default_rng(0)))
    buf = io.BytesIO()
    # The TorchScript-based exporter handles this small graph without onnxscript; torch marks it
    # deprecated, which is noise here.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(step, args, buf, input_names=input_names(model), output_names=OUTPUT_NAMES,
                          opset_version=OPSET, dynamo=False)
    return buf.getvalue()


def check_parity(model: torch.nn.Module, onnx_bytes: bytes, dims: int | None, hops: int = 8, seed: int = 0) -> float:
    """Run ``hops`` chained steps in torch and onnxruntime from the same random inputs (state carried
    through each); return the largest absolute difference of any output."""
    session = _ort_session(onnx_bytes)
    rng = np.random.default_rng(seed)
    names = input_names(model)
    h_t, c_t = model.initial_state(1)
    h_o, c_o = h_t.numpy(), c_t.numpy()
    worst = 0.0
    with torch.no_grad():
        for _ in range(hops):
            frame = example_inputs(model, dims, rng)[:-2]
            est_t, h_t, c_t = StepModule(model)(*(torch.from_numpy(a) for a in frame), h_t, c_t)
            est_o, h_o, c_o = session.run(OUTPUT_NAMES, dict(zip(names, [*frame, h_o, c_o], strict=True)))
            for a, b in ((est_t, est_o), (h_t, h_o), (c_t, c_o)):
                worst = max(worst, float(np.abs(a.numpy() - b).max()))
    return worst


def export_onnx(checkpoint: str | Path, out: str | Path, *, hops: int = 8, force: bool = False) -> dict:
    """Export ``checkpoint``'s per-hop step to ``out`` (ONNX) after checking onnxruntime against torch
    over ``hops`` chained steps (max abs difference <= :data:`TOLERANCE`, else an error and no file)."""
    checkpoint, out = Path(checkpoint), Path(out)
    check_output(out, inputs=[checkpoint], force=force)
    model, ckpt = load_model(checkpoint)
    if not getattr(model, "causal", False):
        raise file_error(checkpoint, f"model {ckpt['model_name']!r} is not causal; export a causal-* model")
    dims = len(ckpt["channels"]) * 5 if uses_emg(model) else None
    onnx_bytes = export_step(model, dims)
    worst = check_parity(model, onnx_bytes, dims, hops=hops)
    if not worst <= TOLERANCE:
        raise file_error(checkpoint, f"onnxruntime differs from torch by {worst:.2e} (> {TOLERANCE:g}); not written")
    write_bytes(out, onnx_bytes)
    return {
        "checkpoint": str(checkpoint),
        "output": str(out),
        "model": ckpt["model_name"],
        "inputs": input_names(model),
        "outputs": OUTPUT_NAMES,
        "opset": OPSET,
        "bytes": len(onnx_bytes),
        "hops_checked": hops,
        "max_abs_diff": worst,
    }
