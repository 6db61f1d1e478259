"""Phone timelines of recorded speech: alignment files beside the audio, or eSpeak + DTW.

A recorded utterance in the Montreal Forced Aligner's corpus layout (``speaker/X.wav|flac``) gets
its phone timeline, in order of preference, from

* an alignment file beside it: a Praat TextGrid (``X.TextGrid``, long or short text format, as
  written by the Montreal Forced Aligner (tier ``phones``) or WebMAUS (tier ``MAU``)), an HTK or
  festival label file (``X.lab``; HTK times in 100 ns units, or seconds; festival: end times
  after a ``#`` line) or a TIMIT ``X.phn`` (sample numbers at the recording's rate);
* else its transcript (``X.txt``, or an ``X.lab`` that holds words rather than times), aligned by
  :func:`align_transcript`: eSpeak NG speaks the transcript (its phoneme events are known), and
  dynamic time warping over MFCCs (librosa) maps those events onto the recording.

Labels of alignment files are ARPAbet / TIMIT, X-SAMPA (WebMAUS) or IPA (the MFA's
``english_mfa`` phone set); :func:`to_espeak` maps them to the eSpeak mnemonics that the
articulation table is keyed by (explicit tables below). Pauses, noise and unknown-word labels
(``sil``, ``sp``, ``spn``, ``pau``, ``h#``, ``<p:>``, empty) are silence, ``_``.

DTW acceptance: the mean cosine distance along the warping path of the true transcript is
compared with that of the same eSpeak reference played backwards (same phones, voice, length and
spectra, wrong order), so the figure is insensitive to the speaker, channel and level of the
recording. Measured with ``benchmarks/alignment.py``: eSpeak voice against another eSpeak voice,
right transcripts 0.39-0.51, another sentence 0.71-0.96 (median 0.85); speechocean762's
non-native readers, own transcript median 0.86 (p90 0.91), another speaker's sentence median 0.91.
Alignments above :data:`MAX_COST_RATIO` (0.9) are rejected (:class:`AlignmentError`) and the caller
skips and lists the recording: on speechocean762 that skips 15-22% of the recordings and catches
63-68% of wrong transcripts (grossly wrong ones, e.g. a long sentence for four spoken digits,
reliably; a sentence built from the same words, rarely). A rejected alignment is never used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emgse.corpora.simulated.speech import SPEECH_FS, Phone, synthesize
from emgse.errors import EmgseError, file_error
from emgse.features.resample import resample

SILENCE = "_"
AUDIO_SUFFIXES = (".wav", ".flac")
ALIGNMENT_SUFFIXES = (".TextGrid", ".textgrid", ".lab", ".phn")
HOP = 160  # 10 ms DTW frames at 16 kHz
MAX_COST_RATIO = 0.9  # reject an eSpeak+DTW alignment above this (cost / cost against the reversed reference)
ALIGN_VOICE = "en-us"  # eSpeak voice and rate of the reference the recording is warped onto
ALIGN_RATE_WPM = 150

# Labels that mean "no speech sound": pauses, breaths, noise, unknown words, utterance edges.
SILENCE_LABELS = frozenset(
    ["", "sil", "sp", "spn", "pau", "h#", "epi", "<p:>", "<p>", "<sil>", "<unk>", "<eps>", "noi", "nsn", "lau", "brth", "#", "_"]
)

# ARPAbet (CMUdict's 39 phones, stress digits stripped) and TIMIT's 61 labels -> eSpeak (en-us).
# AH0 and ER0 (unstressed) are schwas: handled in to_espeak before this table.
ARPABET: dict[str, str] = {
    # vowels
    "aa": "A:", "ae": "a", "ah": "V", "ao": "O:", "aw": "aU", "ay": "aI", "eh": "E", "er": "3:",
    "ey": "eI", "ih": "I", "iy": "i:", "ow": "oU", "oy": "OI", "uh": "U", "uw": "u:",
    # TIMIT's reduced and extra vowels
    "ax": "@", "ax-h": "@", "axr": "3", "ix": "I2", "ux": "u:",
    # consonants
    "b": "b", "ch": "tS", "d": "d", "dh": "D", "f": "f", "g": "g", "hh": "h", "jh": "dZ", "k": "k",
    "l": "l", "m": "m", "n": "n", "ng": "N", "p": "p", "r": "r", "s": "s", "sh": "S", "t": "t",
    "th": "T", "v": "v", "w": "w", "y": "j", "z": "z", "zh": "Z",
    # TIMIT's allophones: flaps, syllabics, glottal stop, voiced h, wh
    "dx": "t#", "nx": "n", "el": "@L", "em": "m", "en": "n-", "eng": "N", "hv": "h", "q": "?", "wh": "w",
    # TIMIT stop closures: the articulators already hold the stop's closure
    "bcl": "b", "dcl": "d", "gcl": "g", "pcl": "p", "tcl": "t", "kcl": "k",
}  # fmt: skip

# X-SAMPA as WebMAUS writes English (case matters: "D" is the th of "this", not d).
SAMPA: dict[str, str] = {
    "{": "a", "A:": "A:", "A": "A:", "Q": "0", "V": "V", "E": "E", "e": "E", "I": "I", "i:": "i:", "i": "i",
    "U": "U", "u:": "u:", "u": "u:", "O:": "O:", "O": "O:", "@": "@", "3:": "3:", "3`": "3", "@`": "3", "6": "@",
    "eI": "eI", "aI": "aI", "OI": "OI", "aU": "aU", "@U": "oU", "oU": "oU", "I@": "i@", "e@": "e@", "E@": "e@",
    "U@": "U@", "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "g", "f": "f", "v": "v", "T": "T",
    "D": "D", "s": "s", "z": "z", "S": "S", "Z": "Z", "h": "h", "tS": "tS", "dZ": "dZ", "m": "m", "n": "n",
    "N": "N", "l": "l", "r": "r", "r\\": "r", "w": "w", "j": "j", "?": "?", "4": "t#",
}  # fmt: skip

# IPA (the MFA's english_mfa / english_us_mfa phone sets; length marks and secondary articulations
# are stripped by to_espeak before the look-up).
IPA: dict[str, str] = {
    "ɑ": "A:", "æ": "a", "a": "a", "ʌ": "V", "ɐ": "V", "ɔ": "O:", "ɒ": "0", "ɛ": "E", "e": "E", "ɝ": "3:",
    "ɜ": "3:", "ɚ": "3", "ə": "@", "ɪ": "I", "i": "i:", "ʊ": "U", "u": "u:", "ʉ": "u:", "o": "oU",
    "aw": "aU", "aj": "aI", "aɪ": "aI", "aʊ": "aU", "ej": "eI", "eɪ": "eI", "ow": "oU", "oʊ": "oU",
    "əʊ": "oU", "ɔj": "OI", "ɔɪ": "OI", "ɪə": "i@", "ɛə": "e@", "ʊə": "U@",
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "c": "k", "ɡ": "g", "g": "g", "ɟ": "g", "f": "f",
    "v": "v", "θ": "T", "ð": "D", "s": "s", "z": "z", "ʃ": "S", "ʒ": "Z", "h": "h", "tʃ": "tS",
    "dʒ": "dZ", "m": "m", "n": "n", "ŋ": "N", "ɲ": "n", "l": "l", "ɫ": "l", "ʎ": "l", "ɹ": "r", "r": "r",
    "ɾ": "t#", "w": "w", "j": "j", "ʔ": "?", "ç": "h",
}  # fmt: skip
_IPA_MODIFIERS = re.compile("[ːˑʰʲʷˠ̩̃̚ˈˌ]")
_ARPABET_ONLY = frozenset(k for k in ARPABET if len(k) > 1) | {"h#", "pau", "epi"}


class AlignmentError(EmgseError):
    """The transcript could not be aligned to the recording (the caller skips the recording)."""

    def __init__(self, message: str, cost_ratio: float = float("nan")) -> None:
        super().__init__(message)
        self.cost_ratio = cost_ratio


@dataclass(frozen=True)
class Alignment:
    """A phone timeline of one recording and where it came from.

    ``phones`` carry eSpeak mnemonics and cover the recording contiguously from 0 to its end
    (silence ``_`` before the first and after the last sound). ``source`` is ``textgrid``, ``lab``,
    ``phn`` or ``espeak-dtw``; ``cost_ratio`` is the DTW acceptance figure (NaN for files).
    """

    phones: list[Phone]
    source: str
    cost_ratio: float = float("nan")


# ----------------------------------------------------------------------------- labels
def detect_scheme(labels: list[str]) -> str:
    """``"ipa"``, ``"arpabet"`` (ARPAbet or TIMIT, any case) or ``"sampa"`` for a file's labels."""
    speech = [x for x in labels if x.strip().lower() not in SILENCE_LABELS]
    if any(not x.isascii() for x in speech):
        return "ipa"
    if any(re.sub(r"[012]$", "", x.strip().lower()) in _ARPABET_ONLY for x in speech) and not any(
        ch in x for x in speech for ch in ":{@"
    ):
        return "arpabet"
    return "sampa"


def to_espeak(label: str, scheme: str = "arpabet") -> str:
    """The eSpeak mnemonic for one alignment label; silence labels give ``_``.

    Raises:
        KeyError: for a label the scheme does not know (the caller names the file).
    """
    raw = label.strip()
    if raw.lower() in SILENCE_LABELS:
        return SILENCE
    if scheme == "arpabet":
        low = raw.lower()
        if low in ("ah0", "ax0"):
            return "@"
        if low == "er0":
            return "3"
        return ARPABET[re.sub(r"[012]$", "", low)]
    if scheme == "sampa":
        return SAMPA[raw.strip("'\"%")]
    if scheme == "ipa":
        key = _IPA_MODIFIERS.sub("", raw)
        if key in IPA:
            return IPA[key]
        return IPA[key[:1]]
    raise ValueError(f"unknown label scheme {scheme!r}")


def _labelled(path: Path, segments: list[tuple[str, float, float]]) -> list[Phone]:
    """Map raw ``(label, start, end)`` to eSpeak phones; gaps become silence, overlaps are errors."""
    if not segments:
        raise file_error(path, "no labelled segments found")
    scheme = detect_scheme([s[0] for s in segments])
    phones: list[Phone] = []
    t = 0.0
    for label, start, end in sorted(segments, key=lambda s: s[1]):
        if end <= start:
            continue
        if start < t - 1e-4:
            raise file_error(path, f"segment {label!r} at {start:.3f} s overlaps the previous one")
        try:
            sym = to_espeak(label, scheme)
        except KeyError:
            raise file_error(path, f"unknown phone label {label!r} (read as {scheme})") from None
        if start > t + 1e-4:
            phones.append(Phone(SILENCE, t, start))
        phones.append(Phone(sym, max(start, t), end))
        t = end
    return _merge_silence(phones)


def _merge_silence(phones: list[Phone]) -> list[Phone]:
    out: list[Phone] = []
    for p in phones:
        if out and p.symbol == SILENCE and out[-1].symbol == SILENCE:
            out[-1] = Phone(SILENCE, out[-1].start, p.end)
        else:
            out.append(p)
    return out


# ----------------------------------------------------------------------------- readers
def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise file_error(path, f"cannot read ({e.strerror})") from None
    for bom, codec in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig")):
        if raw.startswith(bom):
            return raw.decode(codec)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


_TG_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(\S+)')
PHONE_TIERS = ("phones", "phone", "mau", "phonemes", "phoneme", "segments")


def read_textgrid(path: str | Path) -> list[Phone]:
    """Phones of a Praat TextGrid (long or short text format; tier ``phones``, ``MAU``, ...).

    Returns:
        eSpeak phones, contiguous from 0 to the last labelled segment's end.
    """
    path = Path(path)
    # Both text formats hold the same sequence of numbers and quoted strings; only the labels
    # ("xmin =", "intervals [3]:") differ, and they are neither numbers nor quoted.
    tokens: list[str | float] = []
    for quoted, bare in _TG_TOKEN.findall(_read_text(path)):
        if bare == "":
            tokens.append(quoted.replace('""', '"'))
        elif bare == "<exists>":
            continue
        else:
            try:
                tokens.append(float(bare))
            except ValueError:
                pass
    try:
        if tokens[:2] != ["ooTextFile", "TextGrid"]:
            raise ValueError("not a Praat TextGrid text file")
        n_tiers, pos = int(tokens[4]), 5
        tiers: dict[str, list[tuple[str, float, float]]] = {}
        for _ in range(n_tiers):
            kind, name, n = tokens[pos], str(tokens[pos + 1]), int(tokens[pos + 4])
            pos += 5
            if kind == "IntervalTier":
                tiers[name.lower()] = [(str(tokens[pos + 3 * k + 2]), float(tokens[pos + 3 * k]), float(tokens[pos + 3 * k + 1])) for k in range(n)]
                pos += 3 * n
            else:  # point tier: time, mark
                pos += 2 * n
    except (IndexError, TypeError, ValueError) as e:
        raise file_error(path, f"not a readable TextGrid ({e})") from None
    for name in PHONE_TIERS:
        if name in tiers:
            return _labelled(path, tiers[name])
    raise file_error(path, f"no phone tier (looked for {', '.join(PHONE_TIERS)}; found {', '.join(tiers) or 'none'})")


def read_lab(path: str | Path) -> list[Phone] | None:
    """Phones of an HTK or festival label file, or None if it holds a transcript (no times).

    HTK: ``start end label`` per line, integer times in 100 ns units (or decimal seconds).
    Festival: header lines, a ``#`` line, then ``end_time colour label`` per segment.
    """
    path = Path(path)
    lines = [ln.split() for ln in _read_text(path).splitlines() if ln.strip()]
    if "#" in [ln[0] for ln in lines if len(ln) == 1]:
        body = lines[[i for i, ln in enumerate(lines) if ln == ["#"]][0] + 1 :]
        try:
            ends = [(ln[-1] if len(ln) >= 3 else "", float(ln[0])) for ln in body]
        except ValueError:
            raise file_error(path, "festival label file with a non-numeric time") from None
        starts = [0.0] + [e for _, e in ends[:-1]]
        return _labelled(path, [(lab, s, e) for (lab, e), s in zip(ends, starts, strict=True)])

    def number(s: str) -> float | None:
        try:
            return float(s)
        except ValueError:
            return None

    timed = [ln for ln in lines if len(ln) >= 3 and number(ln[0]) is not None and number(ln[1]) is not None]
    if not timed:
        return None  # a transcript (the MFA also reads .lab files as transcripts)
    if len(timed) != len(lines):
        raise file_error(path, "mixes timed label lines with other text")
    seconds = any("." in ln[0] or "." in ln[1] for ln in timed)
    unit = 1.0 if seconds else 1e-7
    return _labelled(path, [(ln[2], float(ln[0]) * unit, float(ln[1]) * unit) for ln in timed])


def read_phn(path: str | Path, fs: int) -> list[Phone]:
    """Phones of a TIMIT ``.phn`` file: ``start_sample end_sample label`` at the recording's ``fs``."""
    path = Path(path)
    segments = []
    for ln in _read_text(path).splitlines():
        parts = ln.split()
        if not parts:
            continue
        try:
            segments.append((parts[2], int(parts[0]) / fs, int(parts[1]) / fs))
        except (IndexError, ValueError):
            raise file_error(path, f"bad line {ln.strip()!r} (expected: start_sample end_sample label)") from None
    return _labelled(path, segments)


def read_transcript(audio_path: str | Path) -> str | None:
    """The transcript beside a recording (``X.txt``, or a ``X.lab`` without times), or None."""
    audio_path = Path(audio_path)
    txt = audio_path.with_suffix(".txt")
    if txt.is_file():
        text = " ".join(_read_text(txt).split())
        return text or None
    lab = audio_path.with_suffix(".lab")
    if lab.is_file() and read_lab(lab) is None:
        return " ".join(_read_text(lab).split()) or None
    return None


def alignment_file(audio_path: str | Path) -> Path | None:
    """The alignment file beside a recording (TextGrid, then timed .lab, then .phn), or None."""
    audio_path = Path(audio_path)
    for suffix in ALIGNMENT_SUFFIXES:
        p = audio_path.with_suffix(suffix)
        if p.is_file() and (suffix != ".lab" or read_lab(p) is not None):
            return p
    return None


def read_alignment_file(path: Path, fs: int) -> list[Phone]:
    """Phones of an alignment file of any supported kind (``fs``: the recording's rate, for .phn)."""
    if path.suffix.lower() == ".textgrid":
        return read_textgrid(path)
    if path.suffix == ".phn":
        return read_phn(path, fs)
    phones = read_lab(path)
    if phones is None:
        raise file_error(path, "holds no times (a transcript, not an alignment)")
    return phones


def cover(phones: list[Phone], duration: float) -> list[Phone]:
    """Clip ``phones`` to ``[0, duration]`` and pad with silence so they tile it exactly."""
    out = [Phone(p.symbol, max(p.start, 0.0), min(p.end, duration)) for p in phones if p.start < duration and p.end > 0]
    if not out or out[0].start > 0:
        out.insert(0, Phone(SILENCE, 0.0, out[0].start if out else duration))
    if out[-1].end < duration:
        out.append(Phone(SILENCE, out[-1].end, duration))
    return _merge_silence(out)


# ----------------------------------------------------------------------------- eSpeak + DTW
MIN_PAUSE_S = 0.15  # a quiet stretch this long inside the speech is a pause (silence), not a phone


def dtw_features(audio: np.ndarray, fs: int = SPEECH_FS) -> np.ndarray:
    """Per-utterance mean/variance-normalized MFCCs 1-12 and their deltas: ``(24, frames)``, 10 ms hop.

    ``audio`` ``(samples,)`` at ``fs`` (16 kHz). c0 (level) is dropped and each coefficient is
    normalized over the utterance, so level and microphone do not enter the distance; higher
    coefficients are left out because they follow the voice's pitch harmonics, not the phone.
    """
    import librosa

    mfcc = librosa.feature.mfcc(y=audio.astype(np.float32), sr=fs, n_mfcc=13, n_fft=512, hop_length=HOP, win_length=400, n_mels=40)[1:]
    feats = np.concatenate([mfcc, librosa.feature.delta(mfcc, width=5)], axis=0)
    return (feats - feats.mean(axis=1, keepdims=True)) / (feats.std(axis=1, keepdims=True) + 1e-8)


def frame_levels(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """RMS level (dB) of 10 ms frames of 16 kHz ``audio`` ``(samples,)``: ``(frames,)``, and the speech threshold.

    The threshold sits 6 dB or a quarter of the dynamic range (10th to 99th percentile), whichever
    is more, above the quiet floor.
    """
    import librosa

    db = 20 * np.log10(librosa.feature.rms(y=audio.astype(np.float32), frame_length=400, hop_length=HOP)[0] + 1e-10)
    lo, hi = np.percentile(db, [10, 99])
    return db, float(lo + max(6.0, 0.25 * (hi - lo)))


def _warp(ref: np.ndarray, rec: np.ndarray) -> tuple[np.ndarray, float]:
    """DTW of ``ref`` ``(d, N)`` onto ``rec`` ``(d, M)`` (both ends pinned): path ``(L, 2)`` ascending, mean cost."""
    import librosa

    acc, path = librosa.sequence.dtw(X=ref, Y=rec, metric="cosine")
    return path[::-1], float(acc[-1, -1] / len(path))


def _map_times(times: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Reference times (s) -> recording times (s) through a warping path ``(L, 2)`` of 10 ms frames."""
    ref_idx, rec_idx = path[:, 0], path[:, 1]  # both non-decreasing
    frames, i_first = np.unique(ref_idx, return_index=True)
    i_last = np.r_[i_first[1:] - 1, len(ref_idx) - 1]
    first, last = rec_idx[i_first], rec_idx[i_last]
    # A time inside reference frame f lands inside the recording span that frame f covers.
    pos = times * SPEECH_FS / HOP
    f0 = np.clip(np.floor(pos).astype(int), frames[0], frames[-1])
    frac = np.clip(pos - f0, 0.0, 1.0)
    k = np.searchsorted(frames, f0)
    lo, hi = first[k], last[k] + 1
    return (lo + frac * (hi - lo)) * HOP / SPEECH_FS


def _carve_pauses(phones: list[Phone], quiet: np.ndarray) -> list[Phone]:
    """Turn quiet runs of at least :data:`MIN_PAUSE_S` (``quiet``: ``(frames,)`` bool, 10 ms) into silence.

    A pause falls between phones, never inside one: a phone that spans a whole pause keeps its
    longer side, and its neighbour on the other side stretches to the pause.
    """
    edges = np.flatnonzero(np.diff(np.r_[0, quiet.astype(np.int8), 0])).reshape(-1, 2) * HOP / SPEECH_FS
    out = list(phones)
    for a, b in edges[edges[:, 1] - edges[:, 0] >= MIN_PAUSE_S].tolist():
        inside = [i for i, p in enumerate(out) if p.start < b and p.end > a]
        if not inside:
            continue
        i0, i1 = inside[0], inside[-1]
        head = out[:i0] + ([Phone(out[i0].symbol, out[i0].start, a)] if out[i0].start < a else [])
        tail = ([Phone(out[i1].symbol, b, out[i1].end)] if out[i1].end > b else []) + out[i1 + 1 :]
        if i0 == i1 and head and tail and head[-1].symbol == tail[0].symbol:  # one phone spans the pause
            if a - out[i0].start >= out[i0].end - b:
                tail = tail[1:]
                if tail:
                    tail[0] = Phone(tail[0].symbol, b, tail[0].end)
            else:
                head = head[:-1]
                if head:
                    head[-1] = Phone(head[-1].symbol, head[-1].start, a)
        start = head[-1].end if head else a
        end = tail[0].start if tail else b
        out = _merge_silence(head + [Phone(SILENCE, start, end)] + tail)
    return out


def align_transcript(
    audio: np.ndarray,
    fs: int,
    text: str,
    *,
    voice: str = ALIGN_VOICE,
    rate_wpm: int = ALIGN_RATE_WPM,
    max_cost_ratio: float = MAX_COST_RATIO,
) -> Alignment:
    """Time the phones of ``text`` in the recording ``audio`` ``(samples,)`` at ``fs``.

    eSpeak speaks ``text`` (voice ``voice`` at ``rate_wpm``). The recording's speech span (from the
    first to the last frame above :func:`frame_levels`' threshold, widened by 50 ms) is warped
    onto the reference's (first to last sounding phoneme) by DTW over :func:`dtw_features`, and
    the reference's phoneme boundaries are carried through the warping path. Quiet stretches of
    at least 150 ms inside the speech become pauses.

    Returns:
        :class:`Alignment` whose phones tile ``[0, len(audio) / fs]``.

    Raises:
        AlignmentError: when the cost ratio (see the module docstring) exceeds ``max_cost_ratio``.
    """
    rec = resample(np.asarray(audio, dtype=np.float64), fs, SPEECH_FS)
    duration = len(audio) / fs
    ref, phones = synthesize(text, voice, rate_wpm=rate_wpm)
    # eSpeak's silences are digital zeros: a faint fixed dither keeps their MFCCs finite and tame.
    ref = ref + 1e-4 * np.random.default_rng(0).standard_normal(ref.size)
    f_ref, f_rec = dtw_features(ref), dtw_features(rec)
    db, threshold = frame_levels(rec)
    loud = np.flatnonzero(db[: f_rec.shape[1]] > threshold)
    a, b = max(int(loud[0]) - 5, 0), min(int(loud[-1]) + 6, f_rec.shape[1])
    sounding = [p for p in phones if not p.symbol.startswith("_")]
    r0, r1 = int(sounding[0].start * SPEECH_FS / HOP), int(np.ceil(sounding[-1].end * SPEECH_FS / HOP))
    if b - a < (r1 - r0) // 4:
        raise AlignmentError(f"speech in the recording ({(b - a) / 100:.2f} s) is far shorter than the spoken transcript ({(r1 - r0) / 100:.2f} s)")
    path, cost = _warp(f_ref[:, r0:r1], f_rec[:, a:b])
    _, cost_rev = _warp(f_ref[:, r0:r1][:, ::-1], f_rec[:, a:b])
    ratio = cost / max(cost_rev, 1e-9)
    if not ratio <= max_cost_ratio:
        raise AlignmentError(f"DTW cost ratio {ratio:.3f} above {max_cost_ratio:g}: the transcript does not match the audio", ratio)
    path = path + np.array([r0, a])
    starts = _map_times(np.array([p.start for p in sounding] + [sounding[-1].end]), path)
    mapped = [Phone(p.symbol, float(s), float(e)) for p, s, e in zip(sounding, starts[:-1], starts[1:], strict=True) if e > s]
    return Alignment(cover(_carve_pauses(mapped, db <= threshold), duration), "espeak-dtw", float(ratio))


def align_recording(audio_path: str | Path, audio: np.ndarray, fs: int) -> Alignment:
    """The phone timeline of one recording, from its alignment file or else its transcript.

    Raises:
        EmgseError: no alignment file and no transcript beside ``audio_path`` (or a bad file).
        AlignmentError: the transcript's DTW alignment was rejected.
    """
    audio_path = Path(audio_path)
    duration = len(audio) / fs
    found = alignment_file(audio_path)
    if found is not None:
        kind = "textgrid" if found.suffix.lower() == ".textgrid" else found.suffix[1:]
        return Alignment(cover(read_alignment_file(found, fs), duration), kind)
    text = read_transcript(audio_path)
    if text is None:
        raise file_error(
            audio_path, "no transcript (X.txt) and no alignment (X.TextGrid, X.lab or X.phn) beside it"
        )
    return align_transcript(audio, fs, text)
