"""Pure functions: paragraphs -> sentences -> sentence-aware chunks with offsets, list structure."""

from __future__ import annotations

import re

from qa.types import Document, Passage

# A Chinese sentence ends at 。！？；… (runs allowed) and keeps any closing quotes/brackets
# after it; an English one at .!? followed by whitespace or the end (so 2.1亿 and 1.6万 stay
# whole). A line break always ends a sentence.
_END = re.compile(
    r"(?:[。！？!?；;]+|…+|\.(?=\s|$))[”’」』）)》〉】\]\"']*[ \t]*"
    r"|\n+"
)
# Where an over-long sentence may be cut: after a comma-like mark.
_SOFT = re.compile(r"[，,、：:]")

# Paragraphs that are items of a list introduced by the paragraph before the list:
# 一是… 二是…, 第一… , 首先…, （一）…, 1. / 1、
_ITEM = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+是|第[一二三四五六七八九十]+[，,、是]|首先|其次|再次|最后|[（(][一二三四五六七八九十\d]+[)）]|\d{1,2}[.、．](?!\d))"
)
# A year as the report writes it (2023年, or 2023 before a non-digit); 1950-2099.


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans covering `text` sentence by sentence; trailing spaces stay with a sentence."""
    spans, start = [], 0
    for m in _END.finditer(text):
        end = m.end()
        if end > start and text[start:end].strip():
            spans.append((start, end))
            start = end
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text)))
    elif spans and start < len(text):
        spans[-1] = (spans[-1][0], len(text))
    return spans


def _cut_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split one over-long sentence at comma-like marks, or hard at max_chars as a last resort."""
    pieces, s = [], start
    while end - s > max_chars:
        window = text[s : s + max_chars]
        cuts = [m.end() for m in _SOFT.finditer(window) if m.end() > max_chars // 3]
        cut = s + (cuts[-1] if cuts else max_chars)
        pieces.append((s, cut))
        s = cut
    pieces.append((s, end))
    return pieces


def chunk_spans(text: str, max_chars: int, overlap: int = 1) -> list[tuple[int, int]]:
    """Pack whole sentences into chunks of at most max_chars; consecutive chunks share `overlap` sentences."""
    if len(text) <= max_chars:
        return [(0, len(text))]
    units: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        units.extend(_cut_long(text, s, e, max_chars) if e - s > max_chars else [(s, e)])
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j][1] - units[i][0] <= max_chars:
            j += 1
        chunks.append((units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        nxt = max(i + 1, j - overlap)
        # Overlap only if the next chunk can still take in a new sentence; else it would be a
        # fragment of this one.
        i = nxt if units[j][1] - units[nxt][0] <= max_chars else j
    return chunks


def list_parents(texts: list[str]) -> list[int | None]:
    """For each paragraph (0-based list), the 1-based number of the paragraph introducing its list."""
    parents: list[int | None] = []
    intro: int | None = None
    for i, t in enumerate(texts):
        if _ITEM.match(t):
            if intro is None:
                intro = i  # the paragraph before the first item (1-based number == i)
            parents.append(intro if intro >= 1 else None)
        else:
            intro = None
            parents.append(None)
    return parents


def passages_of(doc: Document, max_chars: int, overlap: int, first_id: int = 0) -> list[Passage]:
    """Chunk every paragraph of `doc`; passages carry document, paragraph number, offsets and list parent."""
    parents = list_parents([p.text for p in doc.paragraphs])
    out: list[Passage] = []
    for para, parent in zip(doc.paragraphs, parents):
        if para.boilerplate:
            continue
        for s, e in chunk_spans(para.text, max_chars, overlap):
            out.append(
                Passage(first_id + len(out), doc.name, doc.title, para.number, s, e, para.text[s:e], parent, para.page)
            )
    return out


def lead(text: str, max_chars: int = 60) -> str:
    """A paragraph's first sentence (capped): the heading of a list item, the gist of an intro."""
    spans = split_sentences(text)
    s, e = spans[0] if spans else (0, len(text))
    return text[s:e].strip()[:max_chars]


def context_text(p: Passage, paragraph_text: dict[int, str], title: bool = True) -> str:
    """What is embedded/indexed for a passage: title, its list's intro, its paragraph's lead, then the text.

    BM25 gets it without the title: a title shared by every passage of a document only adds
    the same terms everywhere, which drowned the one paragraph that really uses them
    ("会议是什么时候在哪里召开的" missed paragraph 2).
    """
    parts = [p.title] if title else []
    if p.parent is not None:
        parts.append(lead(paragraph_text[p.parent]))
    if p.start > 0:
        parts.append(lead(paragraph_text[p.paragraph]))
    parts.append(p.text)
    return "\n".join(parts)
