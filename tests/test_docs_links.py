"""Every relative link of README.md and docs/*.md resolves, and the README stays a short front door.

A link ``[text](target)`` outside fenced code blocks and code spans must name a file or folder that
exists (relative to the linking file), and its ``#anchor``, in the same file or in the target ``.md``,
must be the GitHub slug of one of that file's headings (or an explicit ``<a id=...>``). Web and mail
links are not checked.
"""

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 300
README_MAX_ROW = 250  # characters in one table row of the README

LINK = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+[^>]*(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
SKIPPED_SCHEMES = ("http:", "https:", "mailto:")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    out, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * 3
            continue
        if fence is not None:
            if m and m.group(1).startswith(fence):
                fence = None
            continue
        out.append((number, line))
    return out


def heading_text(raw: str) -> str:
    """A heading as GitHub renders its text: links reduced to their text, code spans to their content."""
    raw = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    return CODE_SPAN.sub(lambda m: m.group(2), raw)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase; punctuation removed except hyphens, spaces and
    underscores (unicode letters and digits kept); each space becomes a hyphen."""
    text = heading_text(heading).strip().lower()
    kept = "".join(c for c in text if c in "-_ " or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor of a Markdown file: heading slugs (a repeated slug gets -1, -2, ...) and explicit
    HTML anchors."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(text):
        found.update(HTML_ANCHOR.findall(line))
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every Markdown link outside code."""
    out = []
    for number, line in prose_lines(text):
        line = CODE_SPAN.sub("", line)
        out.extend((number, m.group(1)) for m in LINK.finditer(line))
    return out


def broken_links(path: Path, text: str | None = None) -> list[str]:
    """The links of ``path`` (or of ``text``, read as if it were ``path``) that do not resolve."""
    text = path.read_text(encoding="utf-8") if text is None else text
    problems = []
    for number, target in links(text):
        if target.lower().startswith(SKIPPED_SCHEMES):
            continue
        file_part, _, anchor = target.partition("#")
        where = f"{path.relative_to(ROOT)}:{number}: ({target})"
        if file_part:
            dest = (path.parent / unquote(file_part)).resolve()
            if not dest.exists():
                problems.append(f"{where} names a missing file")
                continue
        else:
            dest = path
        if anchor:
            if dest.suffix.lower() != ".md" or dest.is_dir():
                continue
            known = anchors(text if dest == path else dest.read_text(encoding="utf-8"))
            if unquote(anchor).lower() not in known:
                problems.append(f"{where} has no heading with anchor #{anchor}")
    return problems


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_slug_follows_github():
    assert slug("Front-end (exactly the paper's)") == "front-end-exactly-the-papers"
    assert slug("Speech from EMG alone") == "speech-from-emg-alone"
    assert slug("The Gaddy & Klein corpus and SEMamba-EMG's protocol") == "the-gaddy--klein-corpus-and-semamba-emgs-protocol"
    assert slug("Evidence (`emgse simulate --check`)") == "evidence-emgse-simulate---check"
    assert slug("Causal models (`emgse.models.causal`)") == "causal-models-emgsemodelscausal"
    assert slug("Real time: streaming, export, no-reference scores") == "real-time-streaming-export-no-reference-scores"
    assert slug("Bruit à −11 dB, snake_case") == "bruit-à-11-db-snake_case"


def test_duplicate_headings_get_numbered_anchors():
    text = "# Results\n## Quality benchmark\n## Quality benchmark\n## Quality benchmark\n```\n## not a heading\n```\n"
    assert anchors(text) == {"results", "quality-benchmark", "quality-benchmark-1", "quality-benchmark-2"}


def test_the_checker_catches_broken_links():
    readme = ROOT / "README.md"
    good = "# Top\n## Quick start\n[a](#quick-start) [b](docs/training.md) [c](https://example.org/#x) [d](mailto:a@b.c)\n"
    assert broken_links(readme, good) == []
    assert len(broken_links(readme, good + "[x](#nowhere)\n")) == 1
    assert len(broken_links(readme, good + "[x](docs/no-such-page.md)\n")) == 1
    assert len(broken_links(readme, good + "[x](docs/training.md#no-such-heading)\n")) == 1
    # links inside code are not links
    assert broken_links(readme, good + "```\n[x](#nowhere)\n```\n`[y](#nowhere)`\n") == []


def test_every_relative_link_resolves():
    problems = [p for path in markdown_files() for p in broken_links(path)]
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_readme_is_a_short_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES}); move material into docs/"
    long_rows = [f"line {i}: {len(x)} characters" for i, x in enumerate(lines, 1) if x.lstrip().startswith("|") and len(x) > README_MAX_ROW]
    assert not long_rows, "README table rows too long:\n" + "\n".join(long_rows)
