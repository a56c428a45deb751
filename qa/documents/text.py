"""Plain text and Markdown: paragraphs by line or by blank-line block, Markdown headings, titles."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from qa.documents.base import make_document
from qa.documents.encoding import decode
from qa.text import CJK as _CJK
from qa.types import Document, Paragraph

# Scraped web pages carry furniture around the article: a share lead-in and a comment box.
# Such a paragraph keeps its number (citations stay line-exact) but is not indexed.
_BOILERPLATE = re.compile(
    r"^(?:您好[,，]?\s*小编|小编今天|还没有评论|暂无评论|来说两句|发表评论|点击(?:关注|阅读原文)|"
    r"责任编辑[:：]|版权(?:所有|声明)|(?:上一篇|下一篇)[:：]|扫一扫|分享到)"
)


def split_paragraphs(text: str, markdown: bool = False) -> list[Paragraph]:
    """Number paragraphs from 1: one per non-empty line, or one per blank-line-separated block.

    Block mode is used when some block spans several lines (hard-wrapped text, Markdown) and a
    blank line separates two blocks (not one at the end of the file); otherwise every non-empty
    line is a paragraph, so paragraph n of the report is line n. Lines inside a block are joined
    (no space between CJK characters, one space otherwise), unless nearly every line stands alone
    (`_stands_alone`): a title, a blank line, then one paragraph per line is not one block. In
    `markdown`, whose paragraphs a blank line ends by definition, a block is always one paragraph.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A block: a line and the non-blank lines after it; a Markdown heading always stands alone.
    blocks = [
        (m.start(), m.group())
        for m in re.finditer(r"[ \t]*#{1,6}\s[^\n]*|[^\n]+(?:\n(?![ \t]*#{1,6}\s)[ \t]*[^\s][^\n]*)*", text)
    ]
    blocks = [(s, b) for s, b in blocks if b.strip()]
    multiline = any("\n" in b.strip() for _, b in blocks) and re.search(r"\n[ \t]*\n", text.strip())
    out: list[Paragraph] = []
    if multiline:
        for start, block in blocks:
            lines = block.split("\n")
            if not markdown and _one_per_line(lines):
                out += _lines(block, start, len(out))
                continue
            joined = join_lines(lines)
            if joined:
                out.append(Paragraph(len(out) + 1, joined, start, start + len(block)))
    else:
        out = _lines(text, 0, 0)
    return out


def _lines(text: str, offset: int, before: int) -> list[Paragraph]:
    """One paragraph per non-empty line of `text` (at `offset`), numbered on from `before`."""
    out: list[Paragraph] = []
    for m in re.finditer(r"[^\n]+", text):
        line = m.group().strip()
        if line:
            out.append(Paragraph(before + len(out) + 1, line, offset + m.start(), offset + m.end()))
    return out


# A block of at least ALONE_LINES lines, ALONE_SHARE of whose lines (the last aside) stand alone,
# is that many paragraphs: a title, a blank line, then the body one paragraph per line, a long
# heading among them ("二、坚持精准治污，深入打好污染防治攻坚战" ends no sentence). A line stands
# alone when it ends a sentence or a clause that introduces what follows (。！？；：), is a short
# line (a heading, a date) or opens with a section marker (第一章, 第三条, 二、, （一）, 壹、), and is
# no list item ("- ", "1. "). A hard-wrapped line ends mid-sentence, at the wrap width: by chance
# one in five or fewer of them ends at a full stop. The lines of a Markdown list, a Q&A pair
# (问：… / 答：…) or a signature stay one block, as before. Over every .txt/.md document of eval/ and
# the shared benchmarks (460), no paragraph moved.
ALONE_LINES = 5
ALONE_SHARE = 0.8
SHORT_LINE = 20
_ENDS_ALONE = re.compile(r"[。！？!?；;：:][”’」』）)\"']*\s*$")
_SECTION = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百千零〇\d]+[章节節条條]|[一二三四五六七八九十]+、"
    r"|[（(][一二三四五六七八九十]+[)）]|[壹贰貳叁參肆伍陆陸柒捌玖拾]+、)"
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]\s|\d{1,2}[.、．]\s*\S)")


def _one_per_line(lines: list[str]) -> bool:
    """A block's lines are paragraphs of their own (ALONE_LINES, ALONE_SHARE), not one wrapped paragraph."""
    if len(lines) < ALONE_LINES:
        return False
    inner = [ln for ln in lines[:-1] if ln.strip()]
    return sum(map(_stands_alone, inner)) >= ALONE_SHARE * len(inner)


def _stands_alone(line: str) -> bool:
    line = line.strip()
    if _LIST_ITEM.match(line):
        return False
    return bool(_ENDS_ALONE.search(line) or _SECTION.match(line)) or 0 < len(line) <= SHORT_LINE


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines: no space at a CJK seam, one space between Latin words. In Chinese text a
    number wrapped across lines ("20" / "26年", "3." / "5%") is joined whole: a space there would make
    two numbers of it ("20 26年"), which no Chinese writer puts in a sentence."""
    parts = [ln.strip() for ln in lines if ln.strip()]
    if not parts:
        return ""
    chinese = any(_CJK.search(p) for p in parts)
    joined = parts[0]
    for nxt in parts[1:]:
        cjk_seam = _CJK.match(joined[-1]) or _CJK.match(nxt[0]) or joined[-1] in "，。；：！？、）」』”"
        in_number = chinese and _NUMBER_SEAM.match(joined[-1] + nxt[0])
        joined += nxt if cjk_seam or in_number else " " + nxt
    return joined


_NUMBER_SEAM = re.compile(r"\d[\d.,%％]|[.,]\d")


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


_MD_HEADING = re.compile(r"(#{1,6})\s")


class TextReader:
    """.txt: decoded by `decode`; paragraph n is line n, or block n in a blank-line-separated file."""

    kind = "text"

    def read(self, data: bytes, path: Path) -> Document:
        text, encoding = decode(data, str(path))
        paragraphs = self.paragraphs(text)
        if paragraphs:  # web-page furniture is kept for numbering but not indexed, unless it is all there is
            marked = [dataclasses.replace(p, boilerplate=is_boilerplate(p.text)) for p in paragraphs]
            paragraphs = marked if not all(p.boilerplate for p in marked) else paragraphs
        return make_document(data, path, self.kind, paragraphs, title_of(paragraphs, path), encoding)

    def paragraphs(self, text: str) -> list[Paragraph]:
        return split_paragraphs(text)


class MarkdownReader(TextReader):
    """.md: as text, and a `#` line is a heading of its level (its text keeps the #s, as written)."""

    kind = "markdown"

    def paragraphs(self, text: str) -> list[Paragraph]:
        out = []
        for p in split_paragraphs(text, markdown=True):
            m = _MD_HEADING.match(p.text)
            out.append(dataclasses.replace(p, heading=len(m.group(1))) if m else p)
        return out
