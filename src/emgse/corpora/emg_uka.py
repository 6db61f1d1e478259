"""The EMG-UKA Trial Corpus (Wand, Janke, Schultz 2014) -> prepared layout. Real facial EMG.

On disk, per utterance ``<spk>_<ses>_<utt>`` (speaker 3 digits, session 3 digits, utterance 4)::

    ROOT/audio/<spk>/<ses>/a_<spk>_<ses>_<utt>.wav|.flac    16 kHz; stereo WAV (microphone, marker)
                                                           as distributed, or mono FLAC (microphone)
    ROOT/emg/<spk>/<ses>/e07_<spk>_<ses>_<utt>.adc          int16 little-endian, 7 interleaved channels
                                                           at 600 Hz: EMG 1-6, then the marker
    ROOT/offset/<spk>/<ses>/offset_<spk>_<ses>_<utt>.txt    line 1: audio start end (16 kHz samples)
                                                           line 2: EMG start end (600 Hz samples)
    ROOT/Transcripts/<spk>/<ses>/transcript_<spk>_<ses>_<utt>.txt   one line
    ROOT/Subsets/{train,test}.{audible,whispered,silent}    "emg_<spk>-<ses>: emg_<spk>-<ses>-<utt> ..."

The offsets are the corpus's synchronization: the audio cropped to ``[start, end)`` of line 1 and
the EMG to ``[start, end)`` of line 2 start and end at the same instants. The marker channels are
dropped. The corpus's ``Subsets`` lists are the split: ``test.<mode>`` is test, and a seeded share of
each session's ``train.<mode>`` list becomes validation (the rest train).

The EMG rate: the paper's front-end frames EMG on the audio grid (32 ms windows, 8 ms hops), and at
600 Hz neither is a whole number of samples (19.2 and 4.8). The EMG is therefore resampled with an
anti-aliased polyphase filter to ``emg_fs`` (2000 Hz by default, the paper's rate: ratio 10/3, exact;
1000 Hz also frames whole). Resampling adds no information: the signal stays band-limited to 300 Hz,
which holds the 134 Hz band split of the TD features. After resampling, the EMG is fitted to the
cropped audio's duration by the one length rule (:func:`emgse.features.emg.fit_emg`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emgse.corpora.csl_emg_array import fit_emg_to_audio
from emgse.corpora.prepared import AUDIO_FS, SPLITS, write_corpus_info, write_utterance
from emgse.errors import EmgseError, file_error
from emgse.features.resample import resample
from emgse.features.td import frame_samples
from emgse.files import output_dir, read_audio, write_text
from emgse.protocol import PREPARED_EMG_FS

EMG_UKA_FS = 600  # the corpus's recording rate (Hz); prepared at emg_fs
ADC_CHANNELS = 7  # EMG 1-6 and the marker, interleaved
EMG_CHANNELS = 6
MODES = ("audible", "whispered", "silent")
ALL_SESSIONS = "all"
# The corpus's description of the six channels (its authors drop channel 5 as unstable and
# artifact-prone); index i here is the corpus's EMG i + 1.
CHANNEL_NAMES = (
    "EMG1 anterior belly of the digastric, tongue (unipolar, reference on the nose)",
    "EMG2 levator anguli oris, zygomaticus major (bipolar)",
    "EMG3 levator anguli oris, zygomaticus major (unipolar, reference behind the ears)",
    "EMG4 platysma (unipolar, reference behind the ears)",
    "EMG5 platysma, depressor anguli oris (unipolar; unstable, dropped by the corpus's authors)",
    "EMG6 tongue (bipolar)",
)
UNSTABLE_CHANNEL = 4  # EMG5, 0-based
_UTT = re.compile(r"^emg_(\d{3})-(\d{3})-(\d{4})$")
_SESSION_KEY = re.compile(r"^emg_(\d{3})-(\d{3})$")
MAX_SYNC_MISMATCH_S = 0.1


@dataclass(frozen=True)
class Utterance:
    """One utterance of the corpus: speaker, session and utterance numbers as strings."""

    speaker: str
    session: str
    number: str

    @property
    def utt_id(self) -> str:
        """The prepared id, ``<spk>_<ses>_<utt>`` (e.g. ``002_101_0100``)."""
        return f"{self.speaker}_{self.session}_{self.number}"

    def path(self, root: Path, folder: str, prefix: str, suffix: str) -> Path:
        return root / folder / self.speaker / self.session / f"{prefix}_{self.utt_id}{suffix}"


def read_subset(path: Path) -> list[Utterance]:
    """The utterances listed in one ``Subsets`` file, in file order."""
    if not path.is_file():
        raise file_error(path, "subset list not found (expected the corpus's Subsets/<train|test>.<mode> files)")
    found = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        key, sep, rest = line.partition(":")
        if not sep or not _SESSION_KEY.match(key.strip()):
            raise file_error(path, f"line {number}: expected 'emg_<spk>-<ses>: emg_<spk>-<ses>-<utt> ...', found {line.strip()[:60]!r}")
        for token in rest.split():
            m = _UTT.match(token)
            if not m:
                raise file_error(path, f"line {number}: bad utterance name {token!r} (expected emg_<spk>-<ses>-<utt>)")
            found.append(Utterance(*m.groups()))
    return found


def read_offsets(path: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((audio_start, audio_end), (emg_start, emg_end))`` from an offset file."""
    if not path.is_file():
        raise file_error(path, "offset file not found")
    lines = [ln.split() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    try:
        if len(lines) != 2 or any(len(ln) != 2 for ln in lines):
            raise ValueError
        (a0, a1), (e0, e1) = ((int(x), int(y)) for x, y in lines)
    except ValueError:
        raise file_error(path, "expected two lines of two whole numbers (audio start end, EMG start end)") from None
    return (a0, a1), (e0, e1)


def _check_span(path: Path, span: tuple[int, int], length: int, what: str) -> None:
    start, end = span
    if not 0 <= start < end <= length:
        raise file_error(path, f"{what} offset {start} {end} out of range (the {what} file has {length} samples)")


def read_adc(path: Path, channels: int = ADC_CHANNELS) -> np.ndarray:
    """Raw EMG ``(samples, channels)`` int16 from an ``.adc`` file."""
    if not path.is_file():
        raise file_error(path, "EMG file not found")
    data = np.fromfile(path, dtype="<i2")
    if data.size == 0:
        raise file_error(path, "EMG file holds no samples")
    if data.size % channels:
        raise file_error(path, f"truncated or not {channels}-channel int16 EMG ({data.size * 2} bytes is not a whole number of "
                               f"{channels}-channel samples)")
    return data.reshape(-1, channels)


def audio_path(root: Path, utt: Utterance) -> Path:
    """The utterance's audio file: ``.flac`` or ``.wav``."""
    for suffix in (".flac", ".wav"):
        path = utt.path(root, "audio", "a", suffix)
        if path.is_file():
            return path
    raise file_error(utt.path(root, "audio", "a", ".wav"), "audio file not found (neither .wav nor .flac)")


def read_utterance(root: Path, utt: Utterance, emg_fs: int = PREPARED_EMG_FS) -> tuple[np.ndarray, np.ndarray, str]:
    """Read one utterance, crop both streams to the corpus's offsets and resample the EMG.

    Returns:
        ``(audio, emg, transcript)``: the microphone ``(samples,)`` at 16 kHz, EMG ``(round(samples *
        emg_fs / 16000), 6)`` float32 at ``emg_fs`` (raw ADC counts, marker dropped), the transcript
        (empty if the corpus has none).
    """
    wav = audio_path(root, utt)
    audio, fs = read_audio(wav, channels="all")
    if fs != AUDIO_FS:
        raise file_error(wav, f"sample rate {fs} Hz (the corpus's audio is {AUDIO_FS} Hz)")
    if audio.shape[1] > 2:
        raise file_error(wav, f"{audio.shape[1]} channels (expected the microphone, or microphone + marker)")
    adc = utt.path(root, "emg", "e07", ".adc")
    raw = read_adc(adc)
    offsets = utt.path(root, "offset", "offset", ".txt")
    audio_span, emg_span = read_offsets(offsets)
    _check_span(offsets, audio_span, audio.shape[0], "audio")
    _check_span(offsets, emg_span, raw.shape[0], "EMG")
    speech = audio[audio_span[0] : audio_span[1], 0]
    emg = raw[emg_span[0] : emg_span[1], :EMG_CHANNELS].astype(np.float64)
    audio_s, emg_s = len(speech) / AUDIO_FS, emg.shape[0] / EMG_UKA_FS
    if abs(audio_s - emg_s) > MAX_SYNC_MISMATCH_S:
        raise file_error(offsets, f"the offsets give {audio_s:.3f} s of audio but {emg_s:.3f} s of EMG (more than "
                                  f"{MAX_SYNC_MISMATCH_S * 1000:.0f} ms apart)")
    emg = fit_emg_to_audio(speech, resample(emg, EMG_UKA_FS, emg_fs, axis=0), emg_fs, offsets)
    transcript_file = utt.path(root, "Transcripts", "transcript", ".txt")
    transcript = " ".join(transcript_file.read_text(errors="replace").split()) if transcript_file.is_file() else ""
    return speech, emg.astype(np.float32), transcript


def _speakers(root: Path) -> list[str]:
    folder = root / "emg"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def select_utterances(root: Path, speaker: str, session: str, mode: str = "audible", *, val_fraction: float = 0.05,
                      seed: int = 0) -> dict[str, list[Utterance]]:
    """The split of one speaker's session (or every session: ``"all"``) in one speaking mode.

    ``test`` is the corpus's ``Subsets/test.<mode>`` list; of each session's ``train.<mode>`` list, a
    seeded ``val_fraction`` (at least one utterance) is validation and the rest train.
    """
    if mode not in MODES:
        raise EmgseError(f"unknown mode {mode!r} (use one of {', '.join(MODES)})")
    if not (root / "Subsets").is_dir():
        raise file_error(root, "not an EMG-UKA corpus root (no Subsets folder)")
    if not 0 <= val_fraction < 1:
        raise EmgseError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    speakers = _speakers(root)
    if speaker not in speakers:
        raise file_error(root, f"unknown speaker {speaker!r} (speakers here: {', '.join(speakers) or 'none'})")
    listed = {part: [u for u in read_subset(root / "Subsets" / f"{part}.{mode}") if u.speaker == speaker] for part in ("train", "test")}
    sessions = sorted({u.session for part in listed.values() for u in part})
    if session != ALL_SESSIONS:
        if session not in sessions:
            raise file_error(root / "Subsets", f"speaker {speaker} has no session {session!r} in {mode} mode "
                                               f"(sessions: {', '.join(sessions) or 'none'})")
        sessions = [session]
    if not sessions:
        raise file_error(root / "Subsets", f"speaker {speaker} has no {mode} utterances")
    chosen: dict[str, list[Utterance]] = {s: [] for s in SPLITS}
    rng = np.random.default_rng(seed)
    for ses in sessions:
        train = sorted((u for u in listed["train"] if u.session == ses), key=lambda u: u.number)
        test = sorted((u for u in listed["test"] if u.session == ses), key=lambda u: u.number)
        if not train and not test:
            raise file_error(root / "Subsets", f"session {speaker}/{ses} is empty in {mode} mode")
        n_val = max(1, int(round(val_fraction * len(train)))) if val_fraction > 0 and len(train) > 1 else 0
        val_idx = set(rng.choice(len(train), size=n_val, replace=False).tolist()) if n_val else set()
        chosen["test"] += test
        chosen["val"] += [u for i, u in enumerate(train) if i in val_idx]
        chosen["train"] += [u for i, u in enumerate(train) if i not in val_idx]
    return chosen


def prepare_emg_uka(corpus: str | Path, speaker: str, session: str, out: str | Path, *, mode: str = "audible", emg_fs: int = PREPARED_EMG_FS,
                    val_fraction: float = 0.05, seed: int = 0, splits: tuple[str, ...] = SPLITS, force: bool = False,
                    progress: bool = True) -> dict:
    """Write one speaker's session (or all of them: ``session="all"``) of EMG-UKA in the prepared
    layout: ``OUT/<split>/<spk>_<ses>_<utt>.{wav,emg.npy,txt}`` and ``corpus.json``. ``splits``
    limits which splits are written (the recipe keeps test utterances apart from training ones).

    Returns:
        The ``corpus.json`` contents, with ``utterances`` counted per split.
    """
    corpus, out = Path(corpus), Path(out)
    if not corpus.is_dir():
        raise file_error(corpus, "corpus folder not found")
    for seconds, what in ((0.032, "frame"), (0.008, "hop")):  # the front-end's own rule, before any work
        frame_samples(emg_fs, seconds, what)
    chosen = select_utterances(corpus, speaker, session, mode, val_fraction=val_fraction, seed=seed)
    todo = [(split, u) for split in SPLITS if split in splits for u in chosen[split]]
    if not todo:
        raise EmgseError(f"{corpus}: speaker {speaker}, session {session}: no {mode} utterances in {', '.join(splits)}")
    counts = {s: len(chosen[s]) if s in splits else 0 for s in SPLITS}
    seconds = 0.0
    with output_dir(out, force=force) as work:
        for split, utt in tqdm(todo, desc=f"prepare EMG-UKA {speaker}/{session}", unit="utt", disable=not progress):
            audio, emg, transcript = read_utterance(corpus, utt, emg_fs)
            write_utterance(work, split, utt.utt_id, audio, emg)
            if transcript:
                write_text(work / split / f"{utt.utt_id}.txt", transcript + "\n")
            seconds += len(audio) / AUDIO_FS
        meta = write_corpus_info(
            work,
            emg_fs=emg_fs,
            emg_channels=EMG_CHANNELS,
            source="emg-uka",
            real_emg=True,
            corpus=str(corpus.resolve()),
            speaker=speaker,
            session=session,
            mode=mode,
            sessions=sorted({u.session for _, u in todo}),
            emg_fs_original=EMG_UKA_FS,
            emg_resampling="scipy.signal.resample_poly (polyphase, anti-aliased)",
            sync="both streams cropped to the corpus's offset files; EMG fitted to the audio's duration",
            channel_names=list(CHANNEL_NAMES),
            split_rule=f"Subsets/test.{mode} = test; a seeded {val_fraction:g} of each session's Subsets/train.{mode} = val "
                       f"(seed {seed}), the rest train",
            utterances=counts,
            hours=round(seconds / 3600, 4),
        )
    return meta
