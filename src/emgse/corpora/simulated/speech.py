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
    text: str, voice: str = "en-us", *, rate_wpm: int = 165, pitch: int = 50, pitch_range: int = 50
) -> tuple[np.ndarray, list[Phone]]:
    """Speak ``text`` with eSpeak NG.

    Args:
        voice: eSpeak voice name, ``language[+variant]`` (e.g. ``en-us+f2``).
        rate_wpm: speaking rate in words per minute (eSpeak accepts 80..450).
        pitch, pitch_range: eSpeak's 0..99 base pitch and intonation range.

    Returns:
        ``(audio, phones)``: float64 ``(samples,)`` at 16 kHz in [-1, 1], and the phoneme segments,
        contiguous from the first phoneme's onset to the end of ``audio``, in seconds.
    """
    reply, pcm = _call_worker(
        {"text": text, "voice": voice, "rate": int(rate_wpm), "pitch": int(pitch), "range": int(pitch_range)}
    )
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
