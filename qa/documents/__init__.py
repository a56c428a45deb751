"""Reading source files: discovery, encoding detection, paragraphs with stable numbers, titles."""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from qa.errors import BadInputError
from qa.types import Document, Paragraph

SUFFIXES = (".txt", ".md")

# Characters frequent in both simplified and traditional Chinese text. A wrong guess between
# GB18030 and Big5 still decodes, but into rare characters; the right one hits these often.
_COMMON = set(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日"
    "這個們來為國說時會過發後裡經麼學現當沒動還進於與對東業問關點無種體"
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_NONCHAR = re.compile(r"[\ufdd0-\ufdef\ufeff\ufff0-\uffff\ue000-\uf8ff]")
# Scraped web pages carry furniture around the article: a share lead-in and a comment box.
# Such a paragraph keeps its number (citations stay line-exact) but is not indexed.
_BOILERPLATE = re.compile(
    r"^(?:您好[,，]?\s*小编|小编今天|还没有评论|暂无评论|来说两句|发表评论|点击(?:关注|阅读原文)|"
    r"责任编辑[:：]|版权(?:所有|声明)|(?:上一篇|下一篇)[:：]|扫一扫|分享到)"
)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of .txt/.md files, refusing what can't be read."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise BadInputError(f"{p}: no such file or folder; check the path")
        if p.is_dir():
            files = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES and not _hidden(f, p)
            )
            if not files:
                raise BadInputError(f"{p}: folder has no .txt or .md files; add some or pass files directly")
            found.extend(files)
        elif p.suffix.lower() in SUFFIXES:
            found.append(p)
        else:
            raise BadInputError(f"{p}: unsupported file type {p.suffix or '(none)'!r}; only .txt and .md are read")
    names = [f.name for f in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BadInputError(f"two files share the name {dupes[0]!r}; documents are cited by file name, so rename one")
    return found


def _hidden(f: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in f.relative_to(root).parts)


def decode(data: bytes, name: str = "input") -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM or not), UTF-16, GB18030 or Big5; return (text, encoding)."""
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", name), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", name), "utf-16"
    utf16 = _utf16_without_bom(data)
    if utf16:
        return utf16
    if b"\x00" in data:
        raise BadInputError(f"{name}: looks like a binary file (contains NUL bytes); give a text file (.txt/.md)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = []
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_plausibility(text), enc, text))
    if not candidates:
        raise BadInputError(f"{name}: cannot decode as UTF-8, UTF-16, GB18030 or Big5; re-save the file as UTF-8")
    score, enc, text = max(candidates)
    if score < 0.02 or _control_ratio(text) > 0.05:
        raise BadInputError(f"{name}: does not look like text in a known encoding; re-save the file as UTF-8")
    return text, enc


def _strict(data: bytes, enc: str, name: str) -> str:
    try:
        return data.decode(enc)
    except UnicodeDecodeError:
        raise BadInputError(f"{name}: declares {enc} but has invalid bytes; re-save the file as UTF-8") from None


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """Recognize BOM-less UTF-16: NULs in alternating positions (ASCII-heavy text), or a strict
    decode into plausible Chinese (CJK text has few NULs). Returns (text, encoding) or None."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    guesses = []
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        guesses.append("utf-16-le")
    elif even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        guesses.append("utf-16-be")
    else:
        try:
            data.decode("utf-8")
            return None  # valid UTF-8 wins: a UTF-8 file of even length must not be misread
        except UnicodeDecodeError:
            guesses += ["utf-16-le", "utf-16-be"]
    scored = []
    for enc in guesses:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _NONCHAR.search(text[1:]):
            continue  # noncharacters and stray BOMs never occur in real text; random bytes make them
        if _control_ratio(text) < 0.01 and (_plausibility(text) >= 0.3 or len(guesses) == 1):
            scored.append((_plausibility(text), text, enc))
    if not scored:
        return None
    _, text, enc = max(scored)
    return text, enc


def _plausibility(text: str) -> float:
    """Share of common Chinese characters among the CJK characters of `text`."""
    cjk = _CJK.findall(text)
    if not cjk:
        return 0.5 if text.isascii() else 0.0
    return sum(c in _COMMON for c in cjk) / len(cjk)


def _control_ratio(text: str) -> float:
    bad = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
    return bad / max(1, len(text))


def split_paragraphs(text: str) -> list[Paragraph]:
    """Number paragraphs from 1: one per non-empty line, or one per blank-line-separated block.

    Block mode is used when some block spans several lines (hard-wrapped text, Markdown);
    otherwise every non-empty line is a paragraph, so paragraph n of the report is line n.
    Lines inside a block are joined (no space between CJK characters, one space otherwise).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A block: a line and the non-blank lines after it; a Markdown heading always stands alone.
    blocks = [
        (m.start(), m.group())
        for m in re.finditer(r"[ \t]*#{1,6}\s[^\n]*|[^\n]+(?:\n(?![ \t]*#{1,6}\s)[ \t]*[^\s][^\n]*)*", text)
    ]
    blocks = [(s, b) for s, b in blocks if b.strip()]
    multiline = any("\n" in b.strip() for _, b in blocks) and re.search(r"\n[ \t]*\n", text)
    out: list[Paragraph] = []
    if multiline:
        for start, block in blocks:
            joined = _join_lines(block.split("\n"))
            if joined:
                out.append(Paragraph(len(out) + 1, joined, start, start + len(block)))
    else:
        for m in re.finditer(r"[^\n]+", text):
            line = m.group().strip()
            if line:
                out.append(Paragraph(len(out) + 1, line, m.start(), m.end()))
    return out


def _join_lines(lines: list[str]) -> str:
    parts = [ln.strip() for ln in lines if ln.strip()]
    if not parts:
        return ""
    joined = parts[0]
    for nxt in parts[1:]:
        cjk_seam = _CJK.match(joined[-1]) or _CJK.match(nxt[0]) or joined[-1] in "，。；：！？、）」』”"
        joined += nxt if cjk_seam else " " + nxt
    return joined


def is_boilerplate(text: str) -> bool:
    """Web-page furniture rather than content (short, and opening like a share lead-in or comment box)."""
    return len(text) < 300 and bool(_BOILERPLATE.match(text.strip()))


def title_of(paragraphs: list[Paragraph], path: Path) -> str:
    """A Markdown heading, a 【...】 title in the first paragraph, or the file name."""
    for p in paragraphs[:5]:
        m = re.match(r"#{1,6}\s+(.+)", p.text)
        if m:
            return m.group(1).strip().strip("#").strip()
    if paragraphs:
        m = re.search(r"【([^】]{2,80})】", paragraphs[0].text)
        if m:
            return m.group(1).strip()
    return path.stem


def read_document(path: Path, max_bytes: int = 20_000_000) -> Document:
    """Read one file into a Document, or raise BadInputError saying why it can't be used."""
    size = path.stat().st_size
    if size > max_bytes:
        raise BadInputError(
            f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit (QA_MAX_FILE_BYTES); split the file"
        )
    data = path.read_bytes()
    return parse_document(data, path)


def parse_document(data: bytes, path: Path) -> Document:
    """Decode and split bytes that came from `path` (which need not exist, e.g. an upload)."""
    text, encoding = decode(data, str(path))
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        raise BadInputError(f"{path}: file is empty or only whitespace; give it some text")
    paragraphs = [dataclasses.replace(p, boilerplate=is_boilerplate(p.text)) for p in paragraphs]
    if all(p.boilerplate for p in paragraphs):
        paragraphs = [dataclasses.replace(p, boilerplate=False) for p in paragraphs]
    return Document(
        name=path.name,
        path=str(path),
        title=title_of(paragraphs, path),
        encoding=encoding,
        sha256=hashlib.sha256(data).hexdigest(),
        paragraphs=tuple(paragraphs),
    )
