"""Glyphs -> lines -> paragraphs, from positions alone (pure functions, except the pdfminer device).

The rules are general, not tuned to one file:
- a line ends where the baseline jumps or the pen moves back;
- running headers and footers are top or bottom lines whose text (digits aside) recurs on many
  pages; a top or bottom line that is only a page number ("3", "— 3 —", "第3页 共10页") goes too;
- a paragraph ends at a change of font size, a gap wider than the usual leading, a short line,
  or before an indented line; a page break alone does not end one.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

from qa.documents.base import table_rows
from qa.documents.text import join_lines


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page: int


@dataclass(frozen=True)
class Block:
    text: str
    page: int
    heading: int


def glyph_device(rsrc):
    """A pdfminer device that records each page's glyphs in content order as (text, x0, x1, top, bottom, size),
    with marked-content /ActualText standing in for the glyphs it covers."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    class Glyphs(PDFPageAggregator):
        def __init__(self, rsrcmgr):
            super().__init__(rsrcmgr, laparams=None)
            self.glyphs: list[tuple[str, float, float, float, float, float]] = []
            self.height = 0.0
            self.images = 0
            self._spans: list[tuple[int, str | None]] = []
            self._next_span = 0
            self._emitted: int | None = None

        def begin_page(self, page, ctm):
            super().begin_page(page, ctm)
            self.glyphs, self.images, self._spans, self._emitted = [], 0, [], None
            self.height = self.cur_item.height

        def begin_tag(self, tag, props=None):
            actual = None
            if isinstance(props, dict) and "ActualText" in props:
                raw = resolve1(props["ActualText"])
                actual = decode_text(raw) if isinstance(raw, bytes) else str(raw)
            self._next_span += 1
            self._spans.append((self._next_span, actual))

        def end_tag(self):
            if self._spans:
                self._spans.pop()

        def render_image(self, name, stream):
            self.images += 1
            super().render_image(name, stream)

        def render_char(self, *args, **kwargs):
            adv = super().render_char(*args, **kwargs)
            item = self.cur_item._objs[-1]
            span = next(((i, t) for i, t in reversed(self._spans) if t is not None), None)
            text = item.get_text()
            if span is not None:
                if span[0] == self._emitted and self.glyphs:  # later glyphs of one ActualText span widen it
                    t, x0, _, top, bottom, size = self.glyphs[-1]
                    self.glyphs[-1] = (t, x0, item.x1, top, bottom, size)
                    return adv
                self._emitted, text = span[0], span[1]
            top = self.height - item.y1
            self.glyphs.append((text, item.x0, item.x1, top, top + item.height, item.size))
            return adv

    return Glyphs(rsrc)


_UNDEFINED = re.compile(r"\(cid:\d+\)")


def lines(glyphs, height: float, page: int) -> list[Line]:
    """Group glyphs (content order) into lines; a wide gap inside a line becomes one space."""
    out: list[Line] = []
    cur: Line | None = None
    for text, x0, x1, top, bottom, size in glyphs:
        text = _UNDEFINED.sub("", text)
        if not text:
            continue
        mid = (top + bottom) / 2
        if cur is not None:
            same_row = abs(mid - (cur.top + cur.bottom) / 2) < 0.5 * max(size, cur.size, 1)
            if same_row and x0 > cur.x1 - 0.5 * max(size, 1):
                gap = x0 - cur.x1
                if gap > CELL_GAP * size:
                    cur.text += "\t"  # a gap wider than any word space: a table cell boundary
                elif gap > 0.5 * size and not cur.text.endswith(" ") and not text.startswith(" "):
                    cur.text += " "
                cur.text += text
                cur.x1, cur.top, cur.bottom = max(cur.x1, x1), min(cur.top, top), max(cur.bottom, bottom)
                cur.size = max(cur.size, size) if text.strip() else cur.size
                continue
            out.append(cur)
        cur = Line(text, x0, x1, top, bottom, size if text.strip() else 0.0, page)
    if cur is not None:
        out.append(cur)
    for ln in out:
        ln.text = re.sub(r" *\t[\t ]*", "\t", re.sub(r"[^\S\t]+", " ", ln.text)).strip()
    return [ln for ln in out if ln.text]


_PAGE_NUMBER = re.compile(
    r"^[-—–_·•\s]*(?:第\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*页)?"
    r"(?:\s*(?:/|of|共)\s*\d{1,4}\s*页?)?[-—–_·•\s]*$|^(?:page|p\.)\s*\d{1,4}(?:\s*of\s*\d{1,4})?$",
    re.I,
)
EDGE_LINES = 2  # lines at each end of a page that may be furniture
# A line set 5% larger than the body text is a heading (Chinese reports often set headings in
# the body size and a bolder face, which positions alone cannot see: those stay body text).
HEADING = 1.05
# A line ending this many characters (ems) before the column's right edge ends its paragraph.
# Unjustified Chinese lines end up to two characters early where a closing mark may not start
# the next line (避头尾), so less would split paragraphs; an ending closer than this is caught
# by the next paragraph's first-line indent.
SHORT = 2.5


CELL_GAP = 1.2  # ems of empty space between glyphs that separate table cells


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def drop_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Remove running headers/footers (recurring top/bottom lines) and bare page numbers."""
    edges = []
    for page in pages:
        by_top = sorted(page, key=lambda ln: ln.top)
        edge = by_top[:EDGE_LINES] + by_top[-EDGE_LINES:] if len(by_top) > EDGE_LINES else by_top
        edges.append({id(ln) for ln in edge})
    seen: dict[str, set[int]] = {}
    sizes: dict[str, list[float]] = {}
    for page, edge in zip(pages, edges):
        for ln in page:
            if id(ln) in edge:
                seen.setdefault(_key(ln.text), set()).add(ln.page)
                sizes.setdefault(_key(ln.text), []).append(ln.size)
    need = max(2, round(0.4 * len(pages)))
    running = {k: statistics.median(sizes[k]) for k, on in seen.items() if len(on) >= need}

    def furniture(ln: Line) -> bool:
        key = _key(ln.text)
        if key in running:  # the cover's title may repeat the running header, in a bigger font
            return abs(ln.size - running[key]) <= 0.15 * max(running[key], 1.0)
        return bool(_PAGE_NUMBER.match(ln.text))

    return [[ln for ln in page if id(ln) not in edge or not furniture(ln)] for page, edge in zip(pages, edges)]


def paragraphs(pages: list[list[Line]]) -> list[Block]:
    """Join lines into paragraphs with the page each starts on and a heading level from font size."""
    body = [ln for page in pages for ln in page]
    if not body:
        return []
    weights = Counter()
    for ln in body:
        weights[round(ln.size * 2) / 2] += len(ln.text)
    body_size = weights.most_common(1)[0][0] or 1.0
    heading_sizes = sorted({round(ln.size * 2) / 2 for ln in body if ln.size >= body_size * HEADING}, reverse=True)
    level = {s: min(i + 1, 6) for i, s in enumerate(heading_sizes)}
    width = max(ln.x1 for ln in body) - min(ln.x0 for ln in body) or 1.0
    columns = {ln_id: col for page in pages for ln_id, col in _columns(page, width).items()}
    leading = _leading(pages, body_size)

    rows = _tables(body)
    blocks: list[list[Line]] = []
    prev: Line | None = None
    for ln in body:
        if prev is None or id(ln) in rows or id(prev) in rows or _breaks(prev, ln, columns, leading):
            blocks.append([ln])
        else:
            blocks[-1].append(ln)
        prev = ln
    out = []
    for block in blocks:
        size = round(block[0].size * 2) / 2
        text = rows.get(id(block[0])) or _join(block)
        out.append(Block(text, block[0].page, 0 if id(block[0]) in rows else level.get(size, 0)))
    return out


def _tables(body: list[Line]) -> dict[int, str]:
    """Row text for each line of a table: two or more consecutive lines of one page with the same
    number (three or more) of cells, the first of them its header (base.table_rows)."""
    out: dict[int, str] = {}
    run: list[Line] = []
    for ln in [*body, None]:
        width = len(ln.text.split("\t")) if ln is not None else 0
        if run and (ln is None or ln.page != run[0].page or width != len(run[0].text.split("\t"))):
            if len(run) >= 2:
                for line, text in zip(run, table_rows([r.text.split("\t") for r in run])):
                    out[id(line)] = text
            run = []
        if ln is not None and width >= 3:
            run.append(ln)
    return out


def _join(block: list[Line]) -> str:
    parts = [ln.text for ln in block]
    for i in range(len(parts) - 1):  # an English word hyphenated at a line end
        if re.search(r"[A-Za-z]-$", parts[i]) and re.match(r"[a-z]", parts[i + 1]):
            parts[i] = parts[i][:-1] + "\0"
    return join_lines([p.replace("\t", " ") for p in parts]).replace("\0 ", "").replace("\0", "")


def _columns(page: list[Line], width: float) -> dict[int, tuple[float, float]]:
    """(left, right) edge of the column each line sits in; line starts more than a quarter of the text width
    apart from the next start to their left begin a new column."""
    if not page:
        return {}
    starts: list[float] = []
    xs = sorted(ln.x0 for ln in page)
    for prev, x in zip([None, *xs], xs):
        if prev is None or x - prev > 0.25 * width:  # an empty band a quarter wide separates columns
            starts.append(x)
    members: dict[float, list[Line]] = {s: [] for s in starts}
    for ln in page:
        members[max(s for s in starts if s <= ln.x0 + 1e-6)].append(ln)
    out = {}
    for group in members.values():
        rights = sorted(ln.x1 for ln in group)
        right = statistics.median(rights[len(rights) // 2 :])  # most lines of a column are full
        left = min(ln.x0 for ln in group)
        for ln in group:
            out[id(ln)] = (left, right)
    return out


def _leading(pages: list[list[Line]], body_size: float) -> float:
    """The usual distance between the tops of consecutive body lines."""
    steps = [
        b.top - a.top
        for page in pages
        for a, b in zip(page, page[1:])
        if abs(a.size - body_size) < 0.5 and abs(b.size - body_size) < 0.5 and 0 < b.top - a.top < 4 * body_size
    ]
    return statistics.median(steps) if steps else 1.5 * body_size


def _breaks(prev: Line, ln: Line, columns: dict, leading: float) -> bool:
    """Whether `ln` starts a new paragraph after `prev`."""
    size = max(ln.size, 1.0)
    if abs(prev.size - ln.size) > (HEADING - 1) * max(prev.size, ln.size):
        return True  # a heading begins or ends
    left, right = columns.get(id(ln), (ln.x0, ln.x1))
    p_left, p_right = columns.get(id(prev), (prev.x0, prev.x1))
    if prev.x1 < p_right - SHORT * size:
        return True  # the previous line stops short: its paragraph ended
    if ln.x0 > left + 0.8 * size:
        return True  # first-line indent
    if ln.page == prev.page and (left, right) == (p_left, p_right) and ln.top - prev.top > 1.4 * leading:
        return True  # a gap wider than the leading
    return False
