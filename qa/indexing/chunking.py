"""Pure functions: paragraphs -> sentences -> sentence-aware chunks with offsets, list structure."""

from __future__ import annotations

import re

from qa.types import Document, Passage

# A Chinese sentence ends at 。！？；… (runs allowed) and keeps any closing quotes/brackets
# after it; an English one at .!? followed by whitespace or the end (so 2.1亿 and 1.6万 stay
# whole, and so do initials and item numbers: "Andrew W. Mellon", "1. 关机"). A line break
# always ends a sentence.
_END = re.compile(
    r"(?:[。！？!?；;]+|…+|(?<!\b[A-Z])(?<!\b\d)(?<!\b\d\d)\.(?=\s|$))[”’」』）)》〉】\]\"']*[ \t]*"
    r"|\n+"
)
# Where an over-long sentence may be cut: after a comma-like mark.
_SOFT = re.compile(r"[，,、：:]")

# List structure in the forms Chinese documents use. Numbered markers have a level by the
# convention of official documents (第一章 > 第一条 > 一、 > （一） > 1. / 1、 > （1） > ①), Markdown
# headings by their #s; an item of a run is a child of what encloses it: the nearest marker of an
# outer level, or the paragraph that introduces the run ("大赛共设四个赛项：" before （一）…).
# Items without a level of their own (一是…, 第一，…, 首先…, ——…, Markdown "- " bullets) belong to
# the paragraph before their run. Chapters, articles and headings are sections, not items: they
# get no parent, except 一、 right after a paragraph announcing it ("主要任务如下：").
_CN_ORD = "一二三四五六七八九十"
_LEVELS = (
    (r"#{1,6}\s", None),  # Markdown heading: level by its #s (0-5)
    (rf"第[{_CN_ORD}百零〇]+章", 10),
    (rf"第[{_CN_ORD}百零〇]+节", 11),
    (rf"第[{_CN_ORD}百零〇]+条", 12),
    (rf"[{_CN_ORD}]+[、．.]", 13),
    (rf"[（(][{_CN_ORD}]+[)）]", 14),
    (r"\d{1,2}(?:[、．]|\.(?!\d))", 15),
    (r"[（(]\d{1,2}[)）]", 16),
    (r"[①②③④⑤⑥⑦⑧⑨⑩]", 17),
)
_LEVEL = [(re.compile(r"^\s*" + pattern), level) for pattern, level in _LEVELS]
_SECTION_LEVEL = 13  # this level and outer ones are sections; 一、 (13) is an item only after an announcement
_LOOSE = re.compile(rf"^\s*(?:[{_CN_ORD}]+是|第[{_CN_ORD}]+[，,、是]|首先|其次|再次|最后|——|[-*•]\s)")
_ANNOUNCING = re.compile(r"[：:]\s*$")
# An end mark inside brackets or quotes does not end the sentence (《卡拉OK.LIVE！‧台北‧我》,
# 又名-{zh-hans:猢狲树;zh-tw:猴面包树}-, a quoted exclamation), unless the mark left open is a
# stray one: not closed within INSIDE_MAX characters.
_PAIRS = {"《": "》", "（": "）", "(": ")", "“": "”", "「": "」", "『": "』", "【": "】", "{": "}"}
INSIDE_MAX = 80
# A quotation closed at its end mark is followed by who said it: “……家门口。”吴承志说。 That tail
# is no sentence of its own (an answer led by "吴承志说。" says nothing), so a short one, of no
# more than ATTRIBUTION_MAX characters with no comma, quote or bracket of its own, ending in a
# verb of saying (Simplified or Traditional), stays with the quotation before it: the speaker
# then sits in the sentence that holds the words.
ATTRIBUTION_MAX = 20
_SAYING = re.compile(
    r"(?:[说說]|道|表示|指出|介[绍紹]|[称稱]|[强強][调調]|坦言|感[慨叹嘆]|回[忆憶]|告[诉訴](?:[记記]者|我[们們])?)"
    r"[。.!！]?\s*$"
)
_QUOTE_CLOSED = re.compile(r"[。！？!?…][”’」』\"'][ \t]*$")
_NOT_ATTRIBUTION = re.compile(r"[，,、：:；;“”「」『』《》（）()\"']")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans covering `text` sentence by sentence; trailing spaces stay with a sentence."""
    spans, start = [], 0
    for m in _END.finditer(text):
        end = m.end()
        if m.group()[0] != "\n" and _inside(text, start, m.start(), end):
            continue
        if end > start and text[start:end].strip():
            spans.append((start, end))
            start = end
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text)))
    elif spans and start < len(text):
        spans[-1] = (spans[-1][0], len(text))
    return _attributions_kept(text, spans)


def _attributions_kept(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` with each short attribution after a closed quotation joined to it (ATTRIBUTION_MAX)."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        tail = text[s:e].strip()
        if (
            out
            and len(tail) <= ATTRIBUTION_MAX
            and "\n" not in text[s:e]  # a line break always ends a sentence
            and _QUOTE_CLOSED.search(text, out[-1][0], out[-1][1])
            and not _NOT_ATTRIBUTION.search(tail)
            and _SAYING.search(tail)
        ):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _inside(text: str, start: int, pos: int, end: int) -> bool:
    """Whether `pos` sits inside a bracket or quote opened since `start` and closed at or after `end`, nearby."""
    open_: list[tuple[str, int]] = []
    for i in range(start, pos):
        c = text[i]
        if c in _PAIRS:
            open_.append((c, i))
        elif open_ and c == _PAIRS[open_[-1][0]]:
            open_.pop()
    for c, i in open_:
        close = text.find(_PAIRS[c], pos)
        if close >= end and close - i <= INSIDE_MAX:
            return True
    return False


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


def _marker(text: str) -> tuple[re.Match, int] | None:
    """The numbered marker or heading `text` starts with and its level (lower = outer), or None."""
    for pattern, level in _LEVEL:
        m = pattern.match(text)
        if m:
            return m, level if level is not None else m.group().count("#") - 1
    return None


def list_level(text: str) -> int | None:
    """The level of the numbered marker or heading `text` starts with (lower = outer), None for none."""
    found = _marker(text)
    return found[1] if found else None


def without_marker(text: str) -> str:
    """`text` without the numbered marker or heading #s it starts with ("四、申请材料" -> "申请材料")."""
    found = _marker(text)
    return text[found[0].end() :] if found else text


def is_item(text: str) -> bool:
    """Whether `text` (a paragraph or a sentence) starts like a list item or a numbered section."""
    return list_level(text) is not None or bool(_LOOSE.match(text))


def list_parents(texts: list[str]) -> list[int | None]:
    """For each paragraph (0-based list), the 1-based number of the paragraph introducing its list."""
    parents: list[int | None] = []
    open_: list[tuple[int, int]] = []  # (level, index) of the markers enclosing the current paragraph
    run_parent: dict[int, int | None] = {}  # level -> parent of the current run of items at that level
    loose: list[int | None] = []  # [parent] of the current run of level-less items, [] outside one
    for i, t in enumerate(texts):
        level = list_level(t)
        if level is None:
            if _LOOSE.match(t):
                loose = loose or [i - 1 if i else None]  # the paragraph before the run (0-based)
                parents.append(None if loose[0] is None else loose[0] + 1)
            else:
                loose = []
                parents.append(None)
            continue
        loose = []
        sibling = False
        while open_ and open_[-1][0] >= level:
            sibling = open_.pop()[0] == level
        if not sibling:
            container = open_[-1][1] if open_ else -1
            before = i - 1
            # the paragraph just before the run introduces it, unless it is the enclosing marker itself
            plain = before > container and list_level(texts[before]) is None
            parent = before if plain else (container if container >= 0 else None)
            if level <= _SECTION_LEVEL and not (plain and _ANNOUNCING.search(texts[before])):
                parent = None
            run_parent = {k: v for k, v in run_parent.items() if k < level}
            run_parent[level] = parent
        open_.append((level, i))
        parent = run_parent.get(level)
        parents.append(None if parent is None else parent + 1)
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
    """What is embedded/indexed for a passage: title, the question it answers, its list's intro, its
    paragraph's lead, then the text.

    BM25 gets it without the title: a title shared by every passage of a document only adds
    the same terms everywhere, which drowned the one paragraph that really uses them
    ("会议是什么时候在哪里召开的" missed paragraph 2).

    A paragraph after a question line (`only_question`), up to ANSWER_PARAGRAPHS of them, answers
    it in words of its own ("问：我家能申请吗？" / "答：同时满足以下条件的居民家庭可以申请…"): the question
    goes in front, as a list's intro does for its items (`question_above`). bench/quality.py against
    213bebd (re-embedded: the Q&A documents of gov4, gov5, gov8, gov9): held out R@1 gov8 .714 ->
    .755 (gov5 .740, one question up and one down), false declines gov8 .102 -> .082, gov5 .096 ->
    .082, gov5 R@5 .945 -> .932 (one question 4 -> 6); tune (gov8) three answers up a rank or two,
    one more false decline. On gov9, written after the first form of this rule (the one paragraph right after the
    question): that form R@1 tune .731 -> .673, held out .769 -> .750 (an answer's second paragraph
    lost to its first), R@5 +1 each; every answer paragraph: R@1 tune .788, held out .788, R@5 tune
    1.0, held out .923, holds tune .769 -> .846.
    """
    parts = [p.title] if title else []
    asked = question_above(p.paragraph, paragraph_text)
    if asked:
        parts.append(asked)
    if p.parent is not None:
        parts.append(lead(paragraph_text[p.parent]))
    if p.start > 0:
        parts.append(lead(paragraph_text[p.paragraph]))
    parts.append(p.text)
    return "\n".join(parts)


# A paragraph that is only a question ("问：怎样申请补贴？", a policy Q&A's "一、为什么要出台这项政策？"):
# at most QUESTION_LINE_CHARS, ending in a question mark.
QUESTION_LINE_CHARS = 80
_QUESTION_END = re.compile(r"[？?]\s*$")


def only_question(text: str) -> bool:
    """Whether a paragraph is only a question (a Q&A's "问：…？", a question heading)."""
    text = text.strip()
    return len(text) <= QUESTION_LINE_CHARS and bool(_QUESTION_END.search(text))


# How many paragraphs after a question line can answer it (a FAQ's answer runs over one to three).
ANSWER_PARAGRAPHS = 3


def question_above(number: int, paragraph_text: dict[int, str]) -> str | None:
    """The question line paragraph `number` answers: one of the ANSWER_PARAGRAPHS paragraphs before it,
    with no other question line between (None: it is one itself, or answers none)."""
    if only_question(paragraph_text.get(number, "")):
        return None
    for n in range(number - 1, max(0, number - 1 - ANSWER_PARAGRAPHS), -1):
        text = paragraph_text.get(n)
        if text is not None and only_question(text):
            return text.strip()
    return None
