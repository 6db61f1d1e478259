"""Phone timelines of recorded speech: label tables, alignment-file readers, the eSpeak+DTW aligner."""

from __future__ import annotations

import numpy as np
import pytest

from emgse.corpora import alignment as al
from emgse.corpora.simulated import articulation
from emgse.corpora.simulated.speech import synthesize
from emgse.errors import EmgseError

CMUDICT = "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split()
CMU_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
TIMIT = (
    "b d g p t k dx q jh ch s sh z zh f th v dh m n ng em en eng nx l r w y hh hv el iy ih eh ey ae aa aw ay ah ao "
    "oy ow uh uw ux er ax ix axr ax-h bcl dcl gcl pcl tcl kcl pau epi h#"
).split()


def write_textgrid(path, tiers: dict[str, list[tuple[str, float, float]]], short: bool = False) -> None:
    """A Praat TextGrid as the MFA (long format) or Praat's short text format writes it."""
    xmax = max(e for segs in tiers.values() for _, _, e in segs)
    if short:
        lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "0", str(xmax), "<exists>", str(len(tiers))]
        for name, segs in tiers.items():
            lines += ['"IntervalTier"', f'"{name}"', "0", str(xmax), str(len(segs))]
            for lab, s, e in segs:
                lines += [str(s), str(e), f'"{lab}"']
    else:
        lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ", f"xmax = {xmax} ", "tiers? <exists> ",
                 f"size = {len(tiers)} ", "item []: "]  # fmt: skip
        for k, (name, segs) in enumerate(tiers.items(), 1):
            lines += [f"    item [{k}]:", '        class = "IntervalTier" ', f'        name = "{name}" ', "        xmin = 0 ",
                      f"        xmax = {xmax} ", f"        intervals: size = {len(segs)} "]  # fmt: skip
            for j, (lab, s, e) in enumerate(segs, 1):
                lines += [f"        intervals [{j}]:", f"            xmin = {s} ", f"            xmax = {e} ", f'            text = "{lab}" ']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


PHONES = [("", 0.0, 0.3), ("HH", 0.3, 0.38), ("AH0", 0.38, 0.45), ("L", 0.45, 0.52), ("OW1", 0.52, 0.7), ("sil", 0.7, 0.9),
          ("W", 0.9, 0.97), ("ER1", 0.97, 1.1), ("L", 1.1, 1.16), ("D", 1.16, 1.25), ("", 1.25, 1.5)]  # fmt: skip
EXPECTED = [("_", 0.0, 0.3), ("h", 0.3, 0.38), ("@", 0.38, 0.45), ("l", 0.45, 0.52), ("oU", 0.52, 0.7), ("_", 0.7, 0.9),
            ("w", 0.9, 0.97), ("3:", 0.97, 1.1), ("l", 1.1, 1.16), ("d", 1.16, 1.25), ("_", 1.25, 1.5)]  # fmt: skip


def _tuples(phones):
    return [(p.symbol, round(p.start, 6), round(p.end, 6)) for p in phones]


# ----------------------------------------------------------------------------- label tables
def test_arpabet_and_timit_tables_cover_their_sets():
    labels = [p + s for p in CMUDICT for s in (["0", "1", "2"] if p in CMU_VOWELS else [""])] + TIMIT
    for label in labels:
        sym = al.to_espeak(label, "arpabet")
        assert articulation.known_phoneme(sym), (label, sym)
        assert al.to_espeak(label.upper(), "arpabet") == sym  # TIMIT is lower case, the MFA upper case
    assert al.to_espeak("AH0") == "@" and al.to_espeak("AH1") == "V" and al.to_espeak("ER0") == "3"
    for silence in ("sil", "sp", "spn", "pau", "h#", "", "<p:>"):
        assert al.to_espeak(silence) == "_"
    with pytest.raises(KeyError):
        al.to_espeak("XX", "arpabet")


def test_sampa_and_ipa_tables_and_scheme_detection():
    assert al.detect_scheme(["sil", "HH", "AH0", "L", "OW1"]) == "arpabet"
    assert al.detect_scheme(["h#", "hh", "ax", "l", "ow"]) == "arpabet"
    assert al.detect_scheme(["<p:>", "h", "@", "l", "@U"]) == "sampa"
    assert al.detect_scheme(["h", "ə", "l", "ow"]) == "ipa"
    # SAMPA "D" is the th of "this"; ARPAbet "D" is d
    assert al.to_espeak("D", "sampa") == "D" and al.to_espeak("D", "arpabet") == "d"
    assert al.to_espeak("tʃ", "ipa") == "tS" and al.to_espeak("tʰ", "ipa") == "t" and al.to_espeak("iː", "ipa") == "i:"
    for table in (al.SAMPA, al.IPA):
        assert all(articulation.known_phoneme(v) for v in table.values())


# ----------------------------------------------------------------------------- readers
@pytest.mark.parametrize("short", [False, True])
def test_textgrid_long_and_short_formats(tmp_path, short):
    path = tmp_path / "a.TextGrid"
    write_textgrid(path, {"words": [("", 0.0, 0.3), ("hello", 0.3, 0.7), ("", 0.7, 1.5)], "phones": PHONES}, short=short)
    assert _tuples(al.read_textgrid(path)) == EXPECTED


def test_textgrid_webmaus_tier_and_errors(tmp_path):
    path = tmp_path / "b.TextGrid"
    write_textgrid(path, {"ORT-MAU": [("hello", 0.1, 0.5)], "MAU": [("<p:>", 0.0, 0.1), ("h", 0.1, 0.2), ("@", 0.2, 0.3), ("l", 0.3, 0.4), ("@U", 0.4, 0.5)]})
    assert [p.symbol for p in al.read_textgrid(path)] == ["_", "h", "@", "l", "oU"]
    write_textgrid(path, {"words": [("hello", 0.1, 0.5)]})
    with pytest.raises(EmgseError, match="b.TextGrid: no phone tier"):
        al.read_textgrid(path)
    write_textgrid(path, {"phones": [("HH", 0.0, 0.1), ("QQ", 0.1, 0.2)]})
    with pytest.raises(EmgseError, match="unknown phone label 'QQ'"):
        al.read_textgrid(path)
    path.write_text("not a textgrid")
    with pytest.raises(EmgseError, match="not a readable TextGrid"):
        al.read_textgrid(path)


def test_lab_htk_festival_seconds_and_transcript(tmp_path):
    htk = tmp_path / "htk.lab"
    htk.write_text("".join(f"{round(s * 1e7)} {round(e * 1e7)} {lab or 'sil'}\n" for lab, s, e in PHONES))
    assert _tuples(al.read_lab(htk)) == EXPECTED
    secs = tmp_path / "secs.lab"
    secs.write_text("".join(f"{s:.3f} {e:.3f} {lab or 'sil'}\n" for lab, s, e in PHONES))
    assert _tuples(al.read_lab(secs)) == EXPECTED
    fest = tmp_path / "fest.lab"
    fest.write_text("separator ;\nnfields 1\n#\n" + "".join(f"{e:.3f} 125 {lab or 'pau'}\n" for lab, _, e in PHONES))
    assert _tuples(al.read_lab(fest)) == EXPECTED
    words = tmp_path / "words.lab"
    words.write_text("HELLO WORLD\n")
    assert al.read_lab(words) is None


def test_phn_at_the_recording_rate(tmp_path):
    phn = tmp_path / "a.phn"
    phn.write_text("".join(f"{round(s * 16000)} {round(e * 16000)} {lab.lower().rstrip('01') or 'h#'}\n" for lab, s, e in PHONES))
    got = _tuples(al.read_phn(phn, 16000))
    assert [g[0] for g in got] == ["_", "h", "V", "l", "oU", "_", "w", "3:", "l", "d", "_"]  # lower-case TIMIT: ah -> V
    assert [g[1:] for g in got] == [e[1:] for e in EXPECTED]
    phn.write_text("0 100\n")
    with pytest.raises(EmgseError, match="a.phn: bad line"):
        al.read_phn(phn, 16000)


def test_cover_tiles_the_recording():
    phones = al.cover([al.Phone("a", 0.2, 0.5), al.Phone("b", 0.5, 2.0)], 1.0)
    assert _tuples(phones) == [("_", 0.0, 0.2), ("a", 0.2, 0.5), ("b", 0.5, 1.0)]


def test_alignment_file_preferred_over_transcript(tmp_path):
    wav = tmp_path / "x.wav"
    (tmp_path / "x.txt").write_text("hello world\n")
    assert al.alignment_file(wav) is None and al.read_transcript(wav) == "hello world"
    (tmp_path / "x.lab").write_text("HELLO WORLD\n")  # a transcript .lab is not an alignment
    assert al.alignment_file(wav) is None
    write_textgrid(tmp_path / "x.TextGrid", {"phones": PHONES})
    assert al.alignment_file(wav) == tmp_path / "x.TextGrid"
    result = al.align_recording(wav, np.zeros(24000), 16000)
    assert result.source == "textgrid" and _tuples(result.phones) == EXPECTED
    with pytest.raises(EmgseError, match="y.wav: no transcript"):
        al.align_recording(tmp_path / "y.wav", np.zeros(16000), 16000)


# ----------------------------------------------------------------------------- eSpeak + DTW
def _recording(text: str, lead: float = 0.6, fs: int = 16000) -> tuple[np.ndarray, list]:
    """``text`` spoken by another voice, slower, between silences, over a noise floor; its true phones."""
    voice, phones = synthesize(text, "en-us+f2", rate_wpm=125, pitch=60)
    rec = np.concatenate([np.zeros(int(lead * 16000)), 0.4 * voice, np.zeros(8000)])
    rec = rec + 1e-3 * np.random.default_rng(0).standard_normal(rec.size)
    truth = [(p.symbol, p.start + lead) for p in phones if not p.symbol.startswith("_")]
    if fs != 16000:
        from emgse.features.resample import resample

        rec = resample(rec, 16000, fs)
    return rec, truth


@pytest.mark.parametrize("fs", [16000, 44100])
def test_align_transcript_finds_known_phone_onsets(fs):
    text = "Maria bought a cheap umbrella at the market."
    rec, truth = _recording(text, fs=fs)
    result = al.align_transcript(rec, fs, text)
    assert result.source == "espeak-dtw" and result.cost_ratio < 0.7
    assert result.phones[0].start == 0 and abs(result.phones[-1].end - len(rec) / fs) < 1e-9
    assert all(abs(p.end - q.start) < 1e-9 for p, q in zip(result.phones, result.phones[1:], strict=False))
    got = [(p.symbol, p.start) for p in result.phones if not p.symbol.startswith("_")]
    assert [s for s, _ in got] == [s for s, _ in truth]
    err_ms = np.abs(np.array([g[1] for g in got]) - np.array([t[1] for t in truth])) * 1000
    assert np.median(err_ms) < 15 and np.percentile(err_ms, 90) < 40, err_ms
    # the leading silence of the recording stays silence
    assert result.phones[0].symbol == "_" and abs(result.phones[0].end - truth[0][1]) < 0.04


def test_wrong_transcript_is_rejected():
    rec, _ = _recording("Peter moved the yellow bottle behind the garden.")
    with pytest.raises(al.AlignmentError, match="cost ratio") as info:
        al.align_transcript(rec, 16000, "No.")
    assert info.value.cost_ratio > al.MAX_COST_RATIO
    rec, _ = _recording("Two eight nine one.")
    with pytest.raises(al.AlignmentError):
        al.align_transcript(rec, 16000, "Maria bought a cheap umbrella at the market near the old bridge.")
    assert al.align_transcript(rec, 16000, "Two eight nine one.").cost_ratio < 0.7


def test_pause_inside_speech_becomes_silence():
    a, _ = _recording("Peter moved the bottle.", lead=0.3)
    b, _ = _recording("Then he left.", lead=0.0)
    rec = np.concatenate([a, np.zeros(8000) + 1e-3 * np.random.default_rng(1).standard_normal(8000), b])
    result = al.align_transcript(rec, 16000, "Peter moved the bottle. Then he left.")
    pauses = [p for p in result.phones[1:-1] if p.symbol == "_" and p.end - p.start >= 0.3]
    gap = (len(a) + 4000) / 16000  # the middle of the inserted 0.5 s pause
    assert any(p.start < gap < p.end for p in pauses), _tuples(result.phones)
