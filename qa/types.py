"""Frozen value types that flow through the pipeline. Offsets are Python str indices."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a document, numbered from 1 in document order."""

    number: int
    text: str
    start: int  # offset of text in the decoded document
    end: int
    boilerplate: bool = False  # web-page furniture (comment box, share lead-in): kept for numbering, not indexed
    page: int | None = None  # 1-based page it starts on, for formats with pages (PDF)
    heading: int = 0  # heading level the format declares (Word heading style, HTML h1-h6, Markdown #); 0 = body


@dataclass(frozen=True)
class Document:
    """A decoded source file and its paragraphs."""

    name: str  # file name, the document's id in citations
    path: str
    title: str
    encoding: str
    sha256: str  # of the raw bytes
    paragraphs: tuple[Paragraph, ...]
    kind: str = "text"  # the reader that made it: text, markdown, pdf, word, html
    pages: int | None = None  # page count, for formats with pages
    notes: tuple[str, ...] = ()  # what the reader could not use (e.g. pages without a text layer)


@dataclass(frozen=True)
class Passage:
    """The unit that is embedded and retrieved: a whole paragraph or a sentence-aware chunk of one."""

    id: int  # row in the FAISS index
    doc: str
    title: str
    paragraph: int
    start: int  # offsets of text within the paragraph's text
    end: int
    text: str
    parent: int | None = None  # paragraph that introduces this one (list items: 一是…二是…)
    page: int | None = None  # page of its paragraph (PDF)


@dataclass(frozen=True)
class Hit:
    """A paragraph found for a question; its score is its best passage's fused score."""

    doc: str
    paragraph: int
    score: float
    passages: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class Citation:
    """What an [n] marker points at: a paragraph and the sentences in it that support the answer."""

    n: int
    doc: str
    paragraph: int
    text: str
    highlights: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # offsets of highlights within text
    score: float
    title: str = ""
    page: int | None = None  # page the paragraph starts on, for documents with pages

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "doc": self.doc,
            "paragraph": self.paragraph,
            "text": self.text,
            "highlights": list(self.highlights),
            "spans": [list(s) for s in self.spans],
            "score": round(float(self.score), 4),
            "title": self.title,
            "page": self.page,  # null for documents without pages
        }


@dataclass(frozen=True)
class Answer:
    """The reply to one question. When `found` is False, citations are the nearest passages, not support."""

    question: str
    found: bool
    answer: str
    citations: tuple[Citation, ...]
    query: str = ""  # the question as retrieval saw it (follow-ups expanded)
    generated: bool = False  # True when an LLM rewrote the extractive answer
    # The abstention model's confidence that the documents answer the question (None: an answer
    # composed without a decision, outside QAService), and whether an answer was given below Settings.sure_confidence: the
    # documents may not say it, and the reader is told so beside the answer (compose.caution).
    confidence: float | None = None
    unsure: bool = False

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "found": self.found,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "query": self.query,
            "generated": self.generated,
            "confidence": self.confidence,
            "unsure": self.unsure,
        }
