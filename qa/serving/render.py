"""Pure rendering for the chat UI: answers -> chat Markdown with [n] links, citations -> HTML.

Everything that came from a document or a user is escaped here before any markup is added:
passage text may contain `<script>` or `<img onerror=...>`, and the UI renders HTML as is.
Citations arrive as `Answer.to_json()` dicts (the same shape `qa ask --json` prints), so the
UI can keep them in session state and the API and UI share one shape.
"""

from __future__ import annotations

import html
import re

MARKER = re.compile(r"\[(\d+)\]")
# A streamed piece ends after a sentence's closing punctuation and any markers that follow it.
_PIECE = re.compile(
    r".+?(?:(?:[。！？!?；;…]+|\.(?=\s|$|\[))[”’」』）)\"']*(?:\s*\[\d+\])*|\[\d+\](?:\s*\[\d+\])*)\s*|.+$", re.S
)

# Characters Markdown would interpret; backslash-escaping any ASCII punctuation is valid CommonMark.
_MD_PUNCT = set("\\`*_{}[]()#+-.!|~:$")
_HTML_CHARS = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#x27;"}

# Characters of context kept beside a highlighted sentence before the rest of a long paragraph folds.
FOLD_CONTEXT = 60
NOT_AN_ANSWER = "不是答案 / 仅供参考 (nearest passages, not an answer)"
UNSURE = "把握不大，请核对原文 / Low confidence: check the sources"
EMPTY_PANEL = (
    '<div class="cites-empty"><p>提问后，回答所依据的原文段落会显示在这里。</p>'
    "<p>The passages each answer cites appear here.</p></div>"
)


def md_escape(text: str) -> str:
    """Escape text so a Markdown renderer that also passes HTML shows it literally."""
    out = []
    for ch in text:
        if ch in _HTML_CHARS:
            out.append(_HTML_CHARS[ch])
        elif ch in _MD_PUNCT:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


_UNESCAPE = re.compile(r"\\(.)", re.S)


def md_unescape(text: str) -> str:
    """Invert md_escape: return the text as the user typed it."""
    return html.unescape(_UNESCAPE.sub(r"\1", text))


def role_of(message) -> str:
    """Return a chat message's role (messages arrive as dicts or as Gradio message objects)."""
    return message.get("role", "") if isinstance(message, dict) else getattr(message, "role", "")


def message_text(content) -> str:
    """Return the text of a chat message's content (a string, or a list of blocks in Gradio 6)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return "".join(message_text(c) for c in content)
    return ""


def history_of(messages) -> list[str]:
    """Return the user questions of a conversation, oldest first, as the user typed them."""
    out = []
    for m in messages or ():
        content = m.get("content") if isinstance(m, dict) else getattr(m, "content", None)
        text = md_unescape(message_text(content)).strip() if role_of(m) == "user" else ""
        if text:
            out.append(text)
    return out


def cite_id(turn: int, n: int) -> str:
    """Return the element id of citation n of a conversation turn."""
    return f"cite-{turn}-{n}"


def marker_link(turn: int, n: int) -> str:
    """Return the clickable [n] marker that brings citation n of `turn` into view."""
    return f'<a class="cite-ref" href="#{cite_id(turn, n)}" title="查看出处 / show source">[{n}]</a>'


def answer_markdown(text: str, turn: int, known: set[int] | frozenset[int] = frozenset()) -> str:
    """Render answer text for the chat: escaped, with markers of known citations as links."""
    parts = []
    last = 0
    for m in MARKER.finditer(text):
        parts.append(md_escape(text[last : m.start()]))
        n = int(m.group(1))
        parts.append(marker_link(turn, n) if n in known else md_escape(m.group(0)))
        last = m.end()
    parts.append(md_escape(text[last:]))
    return "".join(parts)


def caution_markdown(note: str) -> str:
    """The caution shown above an answer given with low confidence: its own paragraph, in italics."""
    return f"*{md_escape(note)}*\n\n"


def stream_pieces(text: str) -> list[str]:
    """Split answer text into sentence-sized pieces (each with its markers) to stream one by one."""
    pieces = [m.group(0) for m in _PIECE.finditer(text) if m.group(0)]
    assert "".join(pieces) == text, "pieces must rebuild the text exactly"
    return pieces


def _merge(spans, length: int) -> list[tuple[int, int]]:
    """Clip spans to [0, length], drop empty ones, merge overlapping or touching ones."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(0, int(s)), min(length, int(e))) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


_BREAK = re.compile(r"[。！？；，、;,!?]")


def _folds(text: str, marks: list[tuple[int, int]], context: int, lead: int, min_fold: int) -> list[tuple[int, int]]:
    """Stretches of unhighlighted text to hide: all but about `context` characters beside each
    highlight (or the first `lead` when nothing is highlighted), cut at punctuation where it can
    be, and only where at least `min_fold` characters would go."""
    length = len(text)
    if not marks:
        return [(lead, length)] if length - lead >= min_fold else []
    folds, pos = [], 0
    for start, end in [*marks, (length, length)]:
        left = pos + (context if pos > 0 else 0)
        right = start - (context if start < length else 0)
        if right - left >= min_fold:
            shown_after = list(_BREAK.finditer(text, pos, left))  # context after a highlight ends at a break
            left = shown_after[-1].end() if shown_after and pos > 0 else left
            shown_before = _BREAK.search(text, right, start)  # context before one starts after a break
            right = shown_before.end() if shown_before and start < length else right
            folds.append((left, right))
        pos = end
    return folds


def highlight(text: str, spans, context: int | None = None, lead: int = 120, min_fold: int = 30) -> str:
    """Escape text and wrap the given (start, end) spans in <mark>; overlapping spans merge.

    With `context`, long unhighlighted stretches are wrapped in <span class="fold"> (after a
    "…"), so a long paragraph shows its highlighted sentences first and expands on request.
    """
    marks = _merge(spans, len(text))
    folds = _folds(text, marks, context, lead, min_fold) if context is not None else []
    cuts = sorted({0, len(text), *(p for r in marks + folds for p in r)})
    out = []
    for start, end in zip(cuts, cuts[1:]):
        piece = html.escape(text[start:end])
        if any(s <= start and end <= e for s, e in marks):
            out.append(f"<mark>{piece}</mark>")
        elif any(s <= start and end <= e for s, e in folds):
            out.append(f'<span class="fold-dots" aria-hidden="true">…</span><span class="fold">{piece}</span>')
        else:
            out.append(piece)
    return "".join(out)


def _spans_of(citation: dict) -> list:
    """Return the citation's spans, or find its highlight sentences in the text when spans are missing."""
    spans = citation.get("spans")
    if spans:
        return spans
    text, found = citation.get("text", ""), []
    for h in citation.get("highlights") or ():
        i = text.find(h) if h else -1
        if i >= 0:
            found.append((i, i + len(h)))
    return found


def citation_html(citation: dict, turn: int, found: bool) -> str:
    """Render one cited passage: [n], document, paragraph number, score, highlighted text."""
    n = int(citation["n"])
    doc = html.escape(str(citation.get("doc", "")))
    title = html.escape(str(citation.get("title") or ""))
    para = int(citation.get("paragraph", 0))
    page = citation.get("page")
    where = f"第 {int(page)} 页 · 第 {para} 段" if page else f"第 {para} 段"
    page_attr = f' data-page="{int(page)}"' if page else ""
    score = float(citation.get("score", 0.0))
    label = f"[{n}]" if found else f"参考 {n}"
    source = f"{title} · {doc}" if title and title != doc else doc
    body = highlight(citation.get("text", ""), _spans_of(citation) if found else (), context=FOLD_CONTEXT)
    expand = (
        '<button type="button" class="cite-expand" aria-expanded="false">展开全文 / Full text</button>'
        if 'class="fold"' in body
        else ""
    )
    return (
        f'<article class="cite{"" if found else " cite-nearest"}" id="{cite_id(turn, n)}" '
        f'data-n="{n}" data-doc="{doc}" data-paragraph="{para}"{page_attr}>'
        f'<header><span class="cite-n">{label}</span><span class="cite-para">{where}</span>{expand}'
        f'<span class="cite-score" title="相关度 / relevance score">相关度 {score:.2f}</span></header>'
        f'<div class="cite-source">{source}</div>'
        f'<p class="cite-text">{body}</p></article>'
    )


def turn_html(answer: dict, turn: int, latest: bool) -> str:
    """Render the citations of one answer; older turns are collapsed under their question."""
    found = bool(answer.get("found"))
    cites = "".join(citation_html(c, turn, found) for c in answer.get("citations") or ())
    if not answer.get("citations"):
        cites = '<p class="cites-none">没有找到相关段落 / No related passages.</p>'
    banner = (
        f'<p class="cites-banner">{NOT_AN_ANSWER}</p>'
        if not found
        else f'<p class="cites-banner cites-unsure">{UNSURE}</p>'
        if answer.get("unsure")
        else ""
    )
    question = str(answer.get("question", ""))
    query = str(answer.get("query") or question)
    # A follow-up is searched together with the conversation; show how it was understood.
    understood = (
        ""
        if query.strip() == question.strip()
        else f'<p class="turn-query">按上下文理解为 / Searched as: {html.escape(query)}</p>'
    )
    return (
        f'<details class="turn" id="turn-{turn}" data-turn="{turn}" data-found="{str(found).lower()}" '
        f'data-query="{html.escape(query)}"{" open" if latest else ""}>'
        f'<summary><span class="turn-label">{"本次回答的出处" if latest else "之前的问题"}</span>'
        f'<span class="turn-q">{html.escape(question)}</span></summary>{understood}{banner}{cites}</details>'
    )


def panel_html(turns: list[dict]) -> str:
    """Render the sources panel: the latest answer's passages open, earlier answers collapsed below."""
    if not turns:
        return f'<div class="cites-panel">{EMPTY_PANEL}</div>'
    blocks = [turn_html(a, i + 1, latest=(i == len(turns) - 1)) for i, a in reversed(list(enumerate(turns)))]
    return f'<div class="cites-panel" data-turns="{len(turns)}">{"".join(blocks)}</div>'


KINDS = {"text": "文本 text", "markdown": "Markdown", "pdf": "PDF", "word": "Word", "html": "网页 web"}


def kind_label(kind) -> str:
    """How the Documents table names a reader's kind."""
    return KINDS.get(str(kind or "text"), str(kind))


def status_html(message: str, ok: bool | None) -> str:
    """Render a one-line result (ok), error (not ok) or hint (None) for the Documents tab."""
    kind = {True: "ok", False: "error", None: "idle"}[ok]
    return (
        f'<div class="status status-{kind}" role="{"alert" if ok is False else "status"}">{html.escape(message)}</div>'
    )


def local_time(stamp) -> str:
    """Show an ISO timestamp as local 'YYYY-MM-DD HH:MM'; anything unparsable is shown as is."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(stamp)).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return "" if stamp is None else str(stamp)


def header_html(health: dict | None) -> str:
    """Render the title bar with the index summary (documents, passages, model, build time)."""
    if health is None:
        summary = ""
    elif not health.get("ok"):
        err = health.get("error") or "索引不可用 / index unavailable"
        summary = f'<p class="health health-bad">⚠ {html.escape(str(err))}</p>'
    else:
        summary = (
            f'<p class="health">已索引 {int(health.get("documents", 0))} 个文档 · '
            f"{int(health.get('passages', 0))} 个片段 · 模型 {html.escape(str(health.get('model', '')))}"
            f" · 建于 {html.escape(local_time(health.get('built_at')))}</p>"
        )
    return (
        '<header class="app-head"><div class="app-title"><h1>文档问答 <span>Document Q&amp;A</span></h1>'
        '<p class="tagline">离线运行，每句回答都标出原文出处 · Runs offline; every sentence cites its source</p></div>'
        f"{summary}</header>"
    )
