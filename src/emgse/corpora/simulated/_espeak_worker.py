"""One-shot eSpeak NG worker: read a request (JSON) on stdin, speak it, write the result on stdout.

libespeak-ng keeps internal state across calls that ``espeak_Initialize`` does not reset (the
pitch-flutter phase and the automatic gain of its wave generator), so the same text spoken twice
in one process gives slightly different waveforms and phoneme timings. To make every utterance a
pure function of its request, each one is synthesized in a fresh process (about 60 ms). This file
is run as a script and imports nothing from emgse, so the child starts fast.

Request: ``{"text", "voice", "rate", "pitch", "range"}`` with an optional ``"variant"`` (the text of
an eSpeak voice-variant file: ``pitch``, ``formant``, ``breath``, ... lines), or ``{"voice"}`` alone
to check a voice. With a variant, the worker speaks ``<language of voice>+<that variant>`` from a
private overlay of the data folder (symbolic links to the shipped phoneme data, languages and that
language's dictionary, plus the one variant file in ``voices/!v``), made in a temporary folder and
removed when it exits: eSpeak reads variants only from its data folder, and the shipped one is
never written to.
Reply: one JSON line ``{"ok": true, "fs": 22050, "samples": N, "events": [[mnemonic, sample], ...]}``
followed by ``N`` little-endian int16 samples; or ``{"ok": false, "error": "..."}``.
"""

import ctypes
import json
import sys

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h (API revision 12)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # sample index at the native rate
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


_VARIANT = "emgse-speaker"


def _overlay(data: str, language: str, variant: str, folder: str) -> str:
    """A data folder under ``folder``: ``data``'s phoneme data, languages and the dictionary of
    ``language`` (symbolic links; not the other dictionaries, to keep it fast), plus
    ``voices/!v/emgse-speaker`` holding ``variant``."""
    import os

    root = os.path.join(folder, "espeak-ng-data")
    os.makedirs(os.path.join(root, "voices", "!v"))
    dictionary = language.split("-")[0].lower() + "_dict"
    for name in os.listdir(data):
        if name != "voices" and (not name.endswith("_dict") or name == dictionary):
            os.symlink(os.path.join(data, name), os.path.join(root, name))
    with open(os.path.join(root, "voices", "!v", _VARIANT), "w", encoding="utf-8") as f:
        f.write(variant)
    return root


def _speak(req: dict) -> tuple[dict, bytes]:
    import tempfile

    if "variant" not in req:
        return _speak_in(req, None)
    with tempfile.TemporaryDirectory(prefix="emgse-espeak-") as folder:
        return _speak_in(req, folder)


def _speak_in(req: dict, folder: str | None) -> tuple[dict, bytes]:
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_Callback]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    data = espeakng_loader.get_data_path()
    voice = req["voice"]
    if folder is not None:
        language = voice.split("+")[0]
        data = _overlay(data, language, req["variant"], folder)
        voice = language + "+" + _VARIANT
    fs = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
    if fs <= 0:
        return {"ok": False, "error": f"libespeak-ng failed to initialize (code {fs})"}, b""
    # Some voice variants add noise from libc's rand(), which espeak seeds from the clock when it
    # initializes: reseed both generators so the output is a function of the request alone.
    ctypes.CDLL(None).srand(1)
    lib.espeak_ng_SetRandSeed(1)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        return {"ok": False, "error": f"unknown eSpeak voice {req['voice']!r}"}, b""
    if "text" not in req:
        return {"ok": True, "fs": fs, "samples": 0, "events": []}, b""

    chunks: list[bytes] = []
    events: list[list] = []

    def collect(wav, n, ev) -> int:
        if wav and n > 0:
            chunks.append(ctypes.string_at(wav, 2 * n))
        i = 0
        while ev[i].type != _EVENT_LIST_TERMINATED:
            if ev[i].type == _EVENT_PHONEME:
                events.append([ev[i].id.string.decode("ascii", "replace"), int(ev[i].sample)])
            i += 1
        return 0

    callback = _Callback(collect)
    lib.espeak_SetSynthCallback(callback)
    for param, value in ((_PARAM_RATE, req["rate"]), (_PARAM_PITCH, req["pitch"]), (_PARAM_RANGE, req["range"]),
                         (_PARAM_VOLUME, 100), (_PARAM_WORDGAP, 0)):  # fmt: skip
        lib.espeak_SetParameter(param, int(value), 0)
    raw = req["text"].encode("utf-8")
    err = lib.espeak_Synth(raw, len(raw) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
    if err != 0:
        return {"ok": False, "error": f"espeak_Synth failed (error {err})"}, b""
    pcm = b"".join(chunks)
    return {"ok": True, "fs": fs, "samples": len(pcm) // 2, "events": events}, pcm


def main() -> None:
    try:
        head, pcm = _speak(json.loads(sys.stdin.buffer.read().decode("utf-8")))
    except Exception as e:  # report anything as a one-line reply rather than a traceback
        head, pcm = {"ok": False, "error": f"{type(e).__name__}: {e}"}, b""
    sys.stdout.buffer.write(json.dumps(head).encode() + b"\n" + pcm)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
