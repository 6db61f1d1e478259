"""ONNX export of the per-hop step: onnxruntime == torch, and the streamer on onnxruntime == offline."""

from __future__ import annotations

import numpy as np
import pytest

from emgse.cli import main
from emgse.enhance import Enhancer
from emgse.errors import EmgseError
from emgse.export import OUTPUT_NAMES, export_onnx
from emgse.stream import Streamer, stream_array
from tests.test_stream import make_checkpoint, signals

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("name", ["causal-emgse", "causal-audio", "causal-audio-mask"])
def test_export_matches_torch(tmp_path, name):
    info = export_onnx(make_checkpoint(tmp_path / "c.pt", name), tmp_path / "step.onnx", hops=6)
    assert info["max_abs_diff"] <= 1e-4
    session = ort.InferenceSession(str(tmp_path / "step.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == (["log_mag", "emg", "h_in", "c_in"] if name == "causal-emgse" else ["log_mag", "h_in", "c_in"])
    assert [o.name for o in session.get_outputs()] == OUTPUT_NAMES
    with pytest.raises(EmgseError, match="already exists"):
        export_onnx(tmp_path / "c.pt", tmp_path / "step.onnx")


def test_streamer_on_onnxruntime_equals_offline(tmp_path):
    enh = Enhancer(make_checkpoint(tmp_path / "c.pt"))
    audio, emg = signals()
    y, _ = stream_array(Streamer(enh, backend="onnx"), audio, emg)
    assert np.abs(y - enh.enhance(audio, emg)).max() <= 1e-5


def test_export_cli_and_errors(tmp_path, capsys):
    ckpt = make_checkpoint(tmp_path / "c.pt")
    assert main(["export", "--checkpoint", str(ckpt), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    assert "max abs diff" in capsys.readouterr().out and (tmp_path / "m.onnx").is_file()
    off = make_checkpoint(tmp_path / "off.pt", "emgse")
    assert main(["export", "--checkpoint", str(off), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "off.pt: model 'emgse' is not causal" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()
