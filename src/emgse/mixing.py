"""Noise bank, mixing at an exact SNR, and mixture manifests.

A mixture takes a random segment of a noise (looped if the noise is shorter than the utterance),
scales it so that ``10 log10(sum(clean^2) / sum(noise^2))`` equals the SNR over the whole
utterance, and adds it. If the sum would clip, both are scaled down together by ``gain`` (so the
SNR is unchanged) and ``gain`` is recorded: ``noisy = gain * (clean + scaled_noise)``. Scores must
then compare the enhanced signal with ``gain * clean`` or be scale-invariant.

With ``reverb_prob`` > 0, that share of mixtures first passes the speech through a mild synthetic
room (RT60 0.2-0.5 s, see :mod:`emgse.corpora.simulated.recording`): the SNR is then that of the
reverberant speech, ``noisy = gain * (reverberant + scaled_noise)``, while the clean reference
stays the dry utterance (the model learns to remove the room too). The RT60 is in the manifest's
``rt60_s`` column (0: dry).
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emgse.config import MixConfig
from emgse.corpora.prepared import AUDIO_FS, SPLITS, CorpusInfo, list_utterances
from emgse.errors import EmgseError, file_error
from emgse.features.resample import resample
from emgse.files import (
    inside,
    output_dir,
    plain_name,
    read_audio,
    read_json,
    write_json,
    write_text,
    write_wav,
)

GENERATED_SECONDS = 30.0
MANIFEST = "mixtures.csv"
MANIFEST_COLUMNS = ("utt_id", "split", "noise", "snr_db", "offset", "gain", "noise_scale", "path", "clean", "category", "rt60_s", "has_emg")
SPEECH_FOLDER = "speech"  # OUT/speech/<utt_id>.wav: the 16 kHz clean copies of audio-only speech


def _colored(exponent: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise whose power spectrum goes as ``f ** exponent``, ``(n,)``, unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / AUDIO_FS)
    f[0] = f[1]  # no DC blow-up
    spectrum *= f ** (exponent / 2.0)
    spectrum[0] = 0.0
    x = np.fft.irfft(spectrum, n)
    return x / np.sqrt(np.mean(x**2))


def _hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum: 50 Hz and harmonics with slow amplitude drift, over faint pink noise."""
    t = np.arange(n) / AUDIO_FS
    x = sum((0.7**k) * np.sin(2 * np.pi * 50 * (k + 1) * t + rng.uniform(0, 2 * np.pi)) for k in range(12))
    x = x * (1 + 0.2 * np.sin(2 * np.pi * 0.3 * t)) + 0.1 * _colored(-1.0, n, rng)
    return x / np.sqrt(np.mean(x**2))


def _clicks(n: int, rng: np.random.Generator) -> np.ndarray:
    """Impulsive noise: random decaying clicks (keyboard-, rain-like) over faint white noise."""
    x = 0.05 * rng.standard_normal(n)
    onsets = rng.integers(0, n - 400, size=int(n / AUDIO_FS * 12))
    decay = np.exp(-np.arange(400) / 40.0) * rng.standard_normal(400)
    impulses = np.zeros(n)
    impulses[onsets] = rng.uniform(0.3, 1.0, onsets.size)
    x += np.convolve(impulses, decay)[:n]
    return x / np.sqrt(np.mean(x**2))


def _talkers(n: int, rng: np.random.Generator, voices: tuple[str, ...]) -> np.ndarray:
    """Speech noise: each voice reads generated sentences back to back; the talkers are summed.

    Synthesized with eSpeak NG (bundled by ``espeakng-loader``) in :data:`TALKER_VOICES` /
    :data:`BABBLE_VOICES`, whose eSpeak variants are none of the simulator's default speakers'
    (tested), so a simulated target voice is never in its own noise.
    """
    from emgse.corpora.simulated.sentences import make_sentence
    from emgse.corpora.simulated.speech import synthesize

    mix = np.zeros(n)
    for voice in voices:
        parts, length = [], 0
        while length < n:
            audio, _ = synthesize(make_sentence(rng), voice, rate_wpm=int(rng.integers(150, 190)), pitch=int(rng.integers(30, 70)))
            audio = audio / (np.sqrt(np.mean(audio**2)) + 1e-12)
            pause = np.zeros(int(rng.uniform(0.05, 0.4) * AUDIO_FS))
            parts += [audio, pause]
            length += len(audio) + len(pause)
        talker = np.concatenate(parts)
        start = int(rng.integers(0, max(1, len(talker) - n)))
        mix += talker[start : start + n]
    return mix / np.sqrt(np.mean(mix**2))


# Voice variants (after "+") that no default simulated speaker (DEFAULT_VOICES) uses, and
# different between the training talker and the test babble.
TALKER_VOICES = ("en-us+linda",)
BABBLE_VOICES = ("en+m8", "en-us+edward", "en-gb-x-rp+steph", "en+Annie")

# name -> (description, generator(n, rng))
GENERATED_NOISES = {
    "white": ("flat spectrum", lambda n, rng: _colored(0.0, n, rng)),
    "pink": ("1/f power spectrum", lambda n, rng: _colored(-1.0, n, rng)),
    "brown": ("1/f^2 power spectrum", lambda n, rng: _colored(-2.0, n, rng)),
    "blue": ("f power spectrum", lambda n, rng: _colored(1.0, n, rng)),
    "violet": ("f^2 power spectrum", lambda n, rng: _colored(2.0, n, rng)),
    "hum": ("50 Hz mains hum with harmonics", _hum),
    "clicks": ("impulsive clicks", _clicks),
    # speech noises (synthesized talkers): slower to make, so only 12 s long
    "talker": ("one competing talker (speech noise)", lambda n, rng: _talkers(n, rng, TALKER_VOICES)),
    "babble": ("four-talker babble (speech noise)", lambda n, rng: _talkers(n, rng, BABBLE_VOICES)),
}
SPEECH_NOISES = ("talker", "babble")  # the generated speech noises

# A noise's category comes from this explicit list of names (or from ``mix_corpus(...,
# speech_noises=...)``, ``emgse mix --speech-noise``), never from words inside a name:
# "speech_shaped_noise" is stationary noise, not competing speech.
PAPER_SPEECH_NOISES = tuple(
    f"{talkers}_{language}"
    for talkers in ("one_female", "one_male", "two_female", "two_male", "one_female_one_male", "two_male_one_female")
    for language in ("english", "chinese")
)  # the 12 competing-talker test noises of the paper
KNOWN_SPEECH_NOISES = frozenset(SPEECH_NOISES + PAPER_SPEECH_NOISES)
CATEGORIES = ("speech", "nonspeech")


def noise_category(name: str, speech: Iterable[str] = ()) -> str:
    """``"speech"`` if ``name`` is in :data:`KNOWN_SPEECH_NOISES` or in ``speech`` (exact names), else ``"nonspeech"``."""
    return "speech" if name in KNOWN_SPEECH_NOISES or name in set(speech) else "nonspeech"


def generate_noise(name: str, seconds: float = GENERATED_SECONDS) -> np.ndarray:
    """A built-in noise at 16 kHz, ``(samples,)`` float32; the same for a given name everywhere."""
    if name not in GENERATED_NOISES:
        raise EmgseError(f"unknown generated noise {name!r} (known: {', '.join(GENERATED_NOISES)})")
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if name in SPEECH_NOISES:
        seconds = min(seconds, 12.0)
    x = GENERATED_NOISES[name][1](int(seconds * AUDIO_FS), rng)
    return (0.1 * x).astype(np.float32)


@dataclass(frozen=True)
class Noise:
    name: str
    signal: np.ndarray  # (samples,) at 16 kHz
    source: str


class NoiseBank:
    """Named noises at 16 kHz from folders of WAVs (any rate), single files, or built-in generators."""

    def __init__(self, noises: list[Noise]):
        if not noises:
            raise EmgseError("the noise bank is empty")
        names = [n.name for n in noises]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            raise EmgseError(f"noise name(s) given twice: {', '.join(dup)}")
        self.noises = noises

    def __len__(self) -> int:
        return len(self.noises)

    def __iter__(self):
        return iter(self.noises)

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.noises]

    @staticmethod
    def read_noise(path: Path) -> Noise:
        audio, fs = read_audio(path, channels="all")
        signal = resample(audio.mean(axis=1), fs, AUDIO_FS).astype(np.float32)
        if not np.any(signal):
            raise file_error(path, "noise file is silent (all zeros)")
        return Noise(path.stem, signal, str(path))

    @classmethod
    def from_sources(cls, sources: list[str | Path], *, progress: bool = True) -> NoiseBank:
        """Build a bank from items that are folders of ``.wav`` files, ``.wav`` files or generated names
        (a progress bar for folders of 20 files or more, unless ``progress`` is False: ``--quiet``)."""
        noises: list[Noise] = []
        for source in sources:
            text = str(source)
            path = Path(text)
            if text in GENERATED_NOISES and not path.exists():
                noises.append(Noise(text, generate_noise(text), "generated"))
            elif path.is_dir():
                files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".wav", ".flac") and not p.name.startswith("."))
                if not files:
                    raise file_error(path, "no .wav or .flac files in this noise folder")
                noises.extend(cls.read_noise(p) for p in tqdm(files, desc=f"noise {path.name}", unit="file", leave=False, disable=not progress or len(files) < 20))
            elif path.is_file():
                noises.append(cls.read_noise(path))
            else:
                raise EmgseError(
                    f"{text}: not a noise folder, a noise file or a generated noise name ({', '.join(GENERATED_NOISES)})"
                )
        return cls(noises)


def mix_at_snr(
    clean: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator, peak_limit: float = 0.99
) -> tuple[np.ndarray, dict]:
    """Add a random, looped segment of ``noise`` to ``clean`` at exactly ``snr_db``.

    Args:
        clean: ``(samples,)``; noise: ``(noise_samples,)``, both at the same rate.

    Returns:
        ``(noisy, info)`` with ``info = {"offset", "gain", "noise_scale"}`` and
        ``noisy = gain * (clean + noise_scale * segment)``.
    """
    clean = np.asarray(clean, dtype=np.float64)
    n = len(clean)
    p_clean = np.sum(clean**2)
    if p_clean <= 0:
        raise EmgseError("clean utterance is silent; the SNR is undefined")
    for _ in range(16):
        offset = int(rng.integers(len(noise)))
        segment = np.asarray(noise, dtype=np.float64)[(offset + np.arange(n)) % len(noise)]
        p_noise = np.sum(segment**2)
        if p_noise > 0:
            break
    else:
        raise EmgseError("could not find a noise segment with any energy")
    scale = np.sqrt(p_clean / (p_noise * 10.0 ** (snr_db / 10.0)))
    noisy = clean + scale * segment
    peak = np.max(np.abs(noisy))
    gain = min(1.0, peak_limit / peak) if peak > 0 else 1.0
    return noisy * gain, {"offset": offset, "gain": float(gain), "noise_scale": float(scale)}


def _seed_words(*parts: object) -> list[int]:
    """Stable integers for SeedSequence from arbitrary labels (independent of processing order)."""
    return [zlib.crc32(str(p).encode()) for p in parts]


def canonical_snr(snr: float) -> float:
    """The SNR as the one float every seed and label is derived from: ``-10``, ``-10.0``,
    ``np.float32(-10)`` all give ``-10.0`` (and ``-0.0`` gives ``0.0``)."""
    return float(snr) + 0.0


def _snr_label(snr: float) -> str:
    return f"{snr:g}dB"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)


def _room(clean: np.ndarray, prob: float, seed: list[int]) -> tuple[np.ndarray, float]:
    """``(speech to mix, RT60 in s)``: ``clean`` itself (0.0) or, with probability ``prob``, reverberated."""
    if prob <= 0:
        return clean, 0.0
    from emgse.corpora.simulated.recording import RT60_S, reverberate, room_impulse_response

    rng = np.random.default_rng(seed)
    if rng.random() >= prob:
        return clean, 0.0
    rt60 = round(float(rng.uniform(*RT60_S)), 3)
    return reverberate(clean, room_impulse_response(rt60, AUDIO_FS, rng)), rt60


def _mix_utterance(
    work: Path,
    split: str,
    utt_id: str,
    clean: np.ndarray,
    where: Path,
    clean_rel: str,
    noises: list[Noise],
    snrs: list[float],
    config: MixConfig,
    speech_noises: list[str],
    *,
    has_emg: bool,
) -> list[dict]:
    """Mix one clean utterance ``(samples,)`` at every SNR (every noise, or ``K`` drawn ones); write
    the WAVs under ``work`` and return their manifest rows. Seeds depend only on ``(seed, utt_id,
    snr, noise)``, never on the processing order."""
    k = config.per_utterance
    rows = []
    for snr in snrs:  # canonical floats: the same seeds whether the caller wrote -10 or -10.0
        if k is None:
            chosen = noises
        else:
            pick = np.random.default_rng(_seed_words(config.seed, utt_id, snr, "choice"))
            chosen = [noises[i] for i in sorted(pick.choice(len(noises), size=k, replace=False))]
        for noise in chosen:
            rng = np.random.default_rng(_seed_words(config.seed, utt_id, snr, noise.name))
            speech, rt60 = _room(clean, config.reverb_prob, _seed_words(config.seed, utt_id, snr, noise.name, "room"))
            try:
                noisy, mix_info = mix_at_snr(speech, noise.signal, snr, rng, config.peak_limit)
            except EmgseError as e:
                raise EmgseError(f"{where} with noise {noise.name}: {e}") from None
            rel = f"{split}/{_safe(noise.name)}/{_snr_label(snr)}/{utt_id}.wav"
            write_wav(work / rel, noisy.astype(np.float32), AUDIO_FS)
            rows.append(
                {
                    "utt_id": utt_id,
                    "split": split,
                    "noise": noise.name,
                    "snr_db": snr,
                    "offset": mix_info["offset"],
                    "gain": mix_info["gain"],
                    "noise_scale": mix_info["noise_scale"],
                    "path": rel,
                    "clean": clean_rel,
                    "category": noise_category(noise.name, speech_noises),
                    "rt60_s": rt60,
                    "has_emg": int(has_emg),
                }
            )
    return rows


def _check_mix_settings(bank: NoiseBank, config: MixConfig, speech_noises: Iterable[str]) -> tuple[list[float], list[str]]:
    """The canonical SNRs and sorted speech-noise names, after checking the settings."""
    if not config.snrs_db:
        raise EmgseError("no SNRs given")
    snrs = [canonical_snr(s) for s in config.snrs_db]
    if len(set(snrs)) < len(snrs):
        raise EmgseError(f"SNR(s) given twice: {', '.join(sorted({f'{s:g}' for s in snrs if snrs.count(s) > 1}))}")
    k = config.per_utterance
    if not 0.0 <= config.reverb_prob <= 1.0:
        raise EmgseError(f"--reverb-prob must be between 0 and 1 (got {config.reverb_prob:g})")
    if k is not None and not 1 <= k <= len(bank):
        raise EmgseError(f"--per-utterance {k}: must be between 1 and the number of noises ({len(bank)})")
    speech_noises = sorted(set(speech_noises))
    unknown = [n for n in speech_noises if n not in bank.names]
    if unknown:
        raise EmgseError(f"speech noise(s) {', '.join(unknown)} not in the noise bank ({', '.join(bank.names)})")
    return snrs, speech_noises


def mix_corpus(
    data: str | Path,
    splits: list[str] | tuple[str, ...],
    bank: NoiseBank,
    config: MixConfig,
    out: str | Path,
    *,
    force: bool = False,
    progress: bool = True,
    speech_noises: Iterable[str] = (),
) -> list[dict]:
    """Mix every utterance of ``splits`` of a prepared corpus and write ``OUT/mixtures.csv``.

    Without ``config.per_utterance`` every noise is used at every SNR; with ``K`` it draws ``K``
    distinct noises per utterance and SNR. Mixture ``OUT/<split>/<noise>/<snr>dB/<utt_id>.wav``.
    ``speech_noises``: names of bank noises that are competing speech, besides
    :data:`KNOWN_SPEECH_NOISES`; each row records its noise's ``category``.

    Returns:
        The manifest rows.
    """
    data, out = Path(data), Path(out)
    info = CorpusInfo.read(data)
    if info.audio_fs != AUDIO_FS:
        raise file_error(data / "corpus.json", f"audio_fs {info.audio_fs}, expected {AUDIO_FS}")
    snrs, speech_noises = _check_mix_settings(bank, config, speech_noises)
    utterances = [(split, u) for split in splits for u in list_utterances(data, split)]
    if not utterances:
        raise file_error(data, f"no utterances in split(s) {', '.join(splits)}")
    rows: list[dict] = []
    noises = list(bank)
    with output_dir(out, force=force, inputs=[data]) as work:
        for split, utt_id in tqdm(utterances, desc="mix", unit="utt", disable=not progress):
            clean_rel = f"{split}/{utt_id}.wav"
            clean, fs = read_audio(data / clean_rel)
            if fs != AUDIO_FS:
                raise file_error(data / clean_rel, f"sample rate {fs} Hz, expected {AUDIO_FS}")
            rows += _mix_utterance(work, split, utt_id, clean, data / clean_rel, clean_rel, noises, snrs, config, speech_noises, has_emg=True)
        write_manifest(work / MANIFEST, rows)
        write_json(work / "mix.json", {"data": str(data.resolve()), "splits": list(splits), **_mix_meta(noises, snrs, config, speech_noises, rows)})
    return rows


def _mix_meta(noises: list[Noise], snrs: list[float], config: MixConfig, speech_noises: list[str], rows: list[dict]) -> dict:
    return {
        "snrs_db": snrs,
        "per_utterance": config.per_utterance,
        "seed": config.seed,
        "peak_limit": config.peak_limit,
        "reverb_prob": config.reverb_prob,
        "noises": [{"name": n.name, "source": n.source, "seconds": len(n.signal) / AUDIO_FS,
                    "category": noise_category(n.name, speech_noises)} for n in noises],
        "mixtures": len(rows),
    }


def find_speech_files(dirs: list[str | Path]) -> list[tuple[str, Path]]:
    """Every ``.wav``/``.flac`` under ``dirs``, in any folder layout (flat, speaker folders, the MFA
    corpus layout with transcripts and alignments beside the audio, which are ignored).

    Returns:
        ``[(utt_id, path)]`` sorted by id; the id is the path below its folder with ``/`` written
        ``-`` (``spk1/a.flac`` -> ``spk1-a``), so ids are unique within a folder.

    Raises:
        EmgseError: a folder is missing or holds no audio, or two files give the same id.
    """
    from emgse.corpora.alignment import AUDIO_SUFFIXES

    found: dict[str, Path] = {}
    for d in map(Path, dirs):
        if not d.is_dir():
            raise file_error(d, "speech folder not found")
        paths = sorted(p for p in d.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
                       and not any(x.startswith(".") for x in p.relative_to(d).parts))
        if not paths:
            raise file_error(d, "no .wav or .flac files in this speech folder (searched every subfolder)")
        for p in paths:
            utt_id = _safe("-".join(p.relative_to(d).with_suffix("").parts))
            if utt_id in found:
                raise file_error(p, f"gives the utterance id {utt_id!r} that {found[utt_id]} already has; rename one")
            found[utt_id] = p
    return sorted(found.items())


def read_speech(path: Path) -> np.ndarray:
    """One audio-only utterance as 16 kHz mono ``(samples,)`` float64 (channels averaged).

    Rates below 16 kHz are refused: upsampled speech has no energy above half its rate, and a
    model trained to output it would learn to remove the upper band of real 16 kHz speech.
    """
    audio, fs = read_audio(path, channels="all")
    if fs < AUDIO_FS:
        raise file_error(path, f"sample rate {fs} Hz is below {AUDIO_FS} Hz (it lacks the band up to 8 kHz the model must keep); leave it out")
    signal = resample(audio.mean(axis=1), fs, AUDIO_FS)
    if not np.any(signal):
        raise file_error(path, "speech file is silent (all zeros)")
    return signal


def mix_speech_only(
    speech_dirs: list[str | Path],
    bank: NoiseBank,
    config: MixConfig,
    out: str | Path,
    *,
    force: bool = False,
    progress: bool = True,
    speech_noises: Iterable[str] = (),
) -> list[dict]:
    """Mix audio-only speech (no EMG) for training: ``emgse mix --speech-only DIR``.

    Every file of :func:`find_speech_files` becomes a training utterance: its 16 kHz copy is
    ``OUT/speech/<utt_id>.wav`` (the manifest's ``clean``, relative to OUT), its mixtures
    ``OUT/train/<noise>/<snr>dB/<utt_id>.wav`` as :func:`mix_corpus` makes them. Every row has
    ``split = "train"`` and ``has_emg = 0``, and ``mix.json`` has ``"emg": false`` and no
    ``data``: the folder is only ever training data (``emgse train --audio-only-mix``), never
    validation or test, so it is never scored as EMG test data.

    Returns:
        The manifest rows.
    """
    out = Path(out)
    snrs, speech_noises = _check_mix_settings(bank, config, speech_noises)
    files = find_speech_files(speech_dirs)
    rows: list[dict] = []
    noises = list(bank)
    with output_dir(out, force=force, inputs=speech_dirs) as work:
        for utt_id, path in tqdm(files, desc="mix speech-only", unit="utt", disable=not progress):
            clean = read_speech(path)
            clean_rel = f"{SPEECH_FOLDER}/{utt_id}.wav"
            clean32 = clean.astype(np.float32)
            write_wav(work / clean_rel, clean32, AUDIO_FS)  # the stored copy is the target: mix what was stored
            rows += _mix_utterance(work, "train", utt_id, clean32.astype(np.float64), path, clean_rel, noises, snrs, config, speech_noises, has_emg=False)
        write_manifest(work / MANIFEST, rows)
        write_json(
            work / "mix.json",
            {"speech_only": [str(Path(d).resolve()) for d in speech_dirs], "emg": False, "splits": ["train"],
             "utterances": len(files), **_mix_meta(noises, snrs, config, speech_noises, rows)},
        )
    return rows


def write_manifest(path: Path, rows: list[dict]) -> None:
    """Write mixture rows as CSV (atomically)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.9g}" if isinstance(v, float) else v) for k, v in row.items()})
    write_text(path, buf.getvalue())


def read_manifest(path: str | Path) -> list[dict]:
    """Read ``mixtures.csv`` (numbers parsed); raises on a missing column.

    Every row's paths are checked before any is read (:func:`emgse.files.inside`): ``path`` stays
    inside the manifest's folder, ``clean`` inside the prepared corpus (``mix.json``'s ``data``) or,
    for audio-only speech, the manifest's folder; ``utt_id`` is one plain name and ``split`` one of
    train, val, test (both name files of the corpus).

    Manifests written before the ``category`` column get it from :func:`noise_category`; before
    the ``has_emg`` column, every row has EMG (``has_emg`` is 1, or 0 for audio-only speech).
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    if not path.is_file():
        raise file_error(path, "mixture manifest not found")
    meta = path.parent / "mix.json"
    data = read_json(meta).get("data") if meta.is_file() else None
    corpus = Path(str(data)) if data else None
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("utt_id", "split", "noise", "snr_db", "gain", "path") if c not in (reader.fieldnames or [])]
        if missing:
            raise file_error(path, f"missing column(s) {', '.join(missing)}")
        rows = list(reader)
    for line, row in enumerate(rows, start=2):
        if None in row or None in row.values():  # a row cut short (or too long): a truncated or hand-broken file
            raise file_error(path, f"line {line} does not have the header's {len(reader.fieldnames)} fields (a truncated file?)")
        try:
            for key in ("snr_db", "gain", "noise_scale", "rt60_s"):
                if row.get(key) not in (None, ""):
                    row[key] = float(row[key])
            if row.get("offset") not in (None, ""):
                row["offset"] = int(row["offset"])
        except ValueError as e:
            raise file_error(path, f"line {line}: {e}") from None
        if not all(np.isfinite(row[k]) for k in ("snr_db", "gain") if isinstance(row.get(k), float)):
            raise file_error(path, f"line {line}: snr_db or gain is not finite")
        if not row.get("category"):
            row["category"] = noise_category(row["noise"])
        flag = row.get("has_emg") or "1"
        if flag not in ("0", "1"):
            raise file_error(path, f"has_emg {flag!r} of {row['path']}: expected 0 or 1")
        row["has_emg"] = int(flag)
        where = f"{path}: line {line}"
        if row["split"] not in SPLITS:
            raise file_error(where, f"split {row['split']!r} is not one of {', '.join(SPLITS)}")
        plain_name(row["utt_id"], f"{where}: utt_id")
        inside(path.parent, row["path"], where)
        if row.get("clean"):
            inside(corpus if row["has_emg"] and corpus else path.parent, row["clean"], where)
    return rows
