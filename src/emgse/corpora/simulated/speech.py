"""Synthesized speech with phoneme timings from eSpeak NG (the pip package ``espeakng-loader``).

``espeakng-loader`` ships ``libespeak-ng`` and its data folder, so there is no system package and
no download. The library is driven through ctypes in ``_espeak_worker.py``, one fresh process per
utterance: libespeak-ng carries wave-generator state from call to call that cannot be reset, and a
fresh process is the only way to make each utterance a pure function of its text, voice and
parameters (same seed -> byte-identical corpus, whatever else ran before in the process).

eSpeak renders at its native 22050 Hz; with phoneme events enabled the synth callback gets one
``espeakEVENT_PHONEME`` per phoneme, whose ``sample`` field is the sample where its sound starts
and whose ``id.string`` is its mnemonic (``'aU``, ``dZ``, ``_:``, ...). :func:`synthesize` returns
the waveform resampled to 16 kHz with a polyphase filter and the phoneme segments in seconds.

A :class:`VoiceShape` turns one of eSpeak's voice variants (``en-us+m3``, ``en+f2``, ...) into a
speaker of its own: :func:`variant_text` rewrites the variant file (pitch range in Hz, every
formant frequency scaled -- a shorter or longer vocal tract -- and aspiration noise for a breathy
voice) and the worker speaks it from a private overlay of the data folder. These are eSpeak's
own voice-file settings, so the phoneme timings stay exact; no post-synthesis warp is applied.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from emgse.errors import EmgseError

SPEECH_FS = 16000
ESPEAK_FS = 22050
_WORKER = Path(__file__).with_name("_espeak_worker.py")


@dataclass(frozen=True)
class Phone:
    """One phoneme segment: eSpeak mnemonic (stress marks kept) and its span in seconds."""

    symbol: str
    start: float
    end: float


def _call_worker(request: dict) -> tuple[dict, bytes]:
    try:
        proc = subprocess.run(
            [sys.executable, "-I", str(_WORKER)],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EmgseError(f"cannot run the eSpeak worker ({e})") from None
    head, sep, pcm = proc.stdout.partition(b"\n")
    try:
        reply = json.loads(head)
    except json.JSONDecodeError:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise EmgseError(f"the eSpeak worker failed ({err[-1] if err else f'exit code {proc.returncode}'})") from None
    if not reply.get("ok"):
        raise EmgseError(str(reply.get("error", "eSpeak failed")))
    return reply, pcm


@dataclass(frozen=True)
class VoiceShape:
    """How one speaker changes its eSpeak voice variant.

    ``f0_hz``..``f0_top_hz`` is the intonation range (eSpeak's ``pitch`` line, in Hz);
    ``formant_scale`` multiplies every formant frequency of the variant (about 1 / vocal-tract
    length: 0.9 is a tract ~11 % longer); ``breath`` in 0..1 adds aspiration noise to the voiced
    formants (eSpeak's ``breath`` line; 0 keeps the variant's own).
    """

    f0_hz: float
    f0_top_hz: float
    formant_scale: float = 1.0
    breath: float = 0.0


# aspiration level per formant 1..8 at breath = 1 (eSpeak's f5 variant, the breathiest shipped, is ~this)
_BREATH_LEVELS = (0, 4, 6, 6, 6, 6, 4, 3)
_N_FORMANTS = 9  # eSpeak's formant lines 0..8


def _data_path() -> Path:
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


@functools.lru_cache(maxsize=256)
def _variant_lines(voice: str) -> tuple[str, ...]:
    """Lines of the variant file of ``voice`` (``lang+variant``); empty when it names none."""
    _, plus, variant = voice.partition("+")
    if not plus:
        return ()
    name = f"m{variant}" if variant[:1].isdigit() else variant
    path = _data_path() / "voices" / "!v" / name
    if not path.is_file():
        raise EmgseError(f"unknown eSpeak voice {voice!r}: no variant file {name!r} in eSpeak's data")
    return tuple(path.read_text(encoding="utf-8", errors="replace").splitlines())


def voice_gender(voice: str) -> str:
    """``"female"`` or ``"male"`` as the voice's variant file says (eSpeak's plain voices are male)."""
    for line in _variant_lines(voice):
        words = line.split()
        if len(words) >= 2 and words[0] == "gender":
            return "female" if words[1].lower().startswith("f") else "male"
    return "male"


def variant_text(voice: str, shape: VoiceShape) -> str:
    """The variant file of ``voice`` rewritten for ``shape`` (see :class:`VoiceShape`)."""
    kept: list[str] = []
    formants: dict[int, list[str]] = {}
    for line in _variant_lines(voice):
        words = line.split()
        key = words[0] if words else ""
        if key == "formant" and len(words) >= 5 and words[1].isdigit():
            formants[int(words[1])] = words[2:]
        elif key not in ("pitch", "breath", "breathw", "name", "language"):
            kept.append(line.rstrip())
    lines = ["language variant", "name emgse-speaker", *[x for x in kept if x.strip()]]
    lines.append(f"pitch {int(round(shape.f0_hz))} {int(round(shape.f0_top_hz))}")
    for k in range(_N_FORMANTS):
        freq, *rest = formants.get(k, ["100", "100", "100"])
        lines.append(" ".join(["formant", str(k), str(int(round(float(freq) * shape.formant_scale))), *rest]))
    if shape.breath > 0:
        lines.append("breath " + " ".join(str(int(round(shape.breath * b))) for b in _BREATH_LEVELS))
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=64)
def check_voice(name: str) -> None:
    """Raise :class:`EmgseError` unless eSpeak knows the voice ``name`` (``lang[+variant]``)."""
    try:
        _call_worker({"voice": name})
    except EmgseError as e:
        if "unknown eSpeak voice" in str(e):
            raise EmgseError(f"unknown eSpeak voice {name!r} (use e.g. en-us, en-us+m3, en+f2, en-gb-x-rp+m1)") from None
        raise


def synthesize(
    text: str,
    voice: str = "en-us",
    *,
    rate_wpm: int = 165,
    pitch: int = 50,
    pitch_range: int = 50,
    shape: VoiceShape | None = None,
) -> tuple[np.ndarray, list[Phone]]:
    """Speak ``text`` with eSpeak NG.

    Args:
        voice: eSpeak voice name, ``language[+variant]`` (e.g. ``en-us+f2``).
        rate_wpm: speaking rate in words per minute (eSpeak accepts 80..450).
        pitch, pitch_range: eSpeak's 0..99 base pitch and intonation range (50: the variant's own).
        shape: the speaker's own pitch range, formant scaling and breathiness applied to the
            variant of ``voice`` (see :func:`variant_text`).

    Returns:
        ``(audio, phones)``: float64 ``(samples,)`` at 16 kHz in [-1, 1], and the phoneme segments,
        contiguous from the first phoneme's onset to the end of ``audio``, in seconds.
    """
    request = {"text": text, "voice": voice, "rate": int(rate_wpm), "pitch": int(pitch), "range": int(pitch_range)}
    if shape is not None:
        request["variant"] = variant_text(voice, shape)
    reply, pcm = _call_worker(request)
    samples = np.frombuffer(pcm, dtype="<i2", count=int(reply["samples"]))
    events = reply["events"]
    if samples.size == 0 or not events:
        raise EmgseError(f"eSpeak produced no speech for {text!r}")
    fs = int(reply["fs"])
    audio = resample_poly(samples.astype(np.float64) / 32768.0, SPEECH_FS, fs)
    starts = [s / fs for _, s in events] + [samples.size / fs]
    phones = [
        Phone(sym, starts[i], starts[i + 1])
        for i, (sym, _) in enumerate(events)
        if starts[i + 1] > starts[i]  # zero-length events (the final marker) carry no sound
    ]
    return audio, phones


def voice_figures(audio: np.ndarray, fs: int = SPEECH_FS) -> dict[str, float]:
    """What tells voices apart, measured on speech ``(samples,)``: median F0 (YIN over voiced
    frames, 50-400 Hz) and the median spectral centroid of voiced frames (a formant proxy: it
    moves with formant scaling at a fixed text)."""
    import librosa

    y = np.asarray(audio, dtype=np.float64)
    hop = 256
    f0 = librosa.yin(y, fmin=50, fmax=400, sr=fs, frame_length=1024, hop_length=hop)
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=hop)[0]
    centroid = librosa.feature.spectral_centroid(y=y, sr=fs, n_fft=1024, hop_length=hop)[0]
    n = min(f0.size, rms.size, centroid.size)
    voiced = rms[:n] > 0.1 * rms.max()  # loud frames: vowels and voiced consonants
    return {"f0_hz": float(np.median(f0[:n][voiced])), "centroid_hz": float(np.median(centroid[:n][voiced]))}
