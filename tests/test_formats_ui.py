"""What the UI shows of formats: a citation's page, each document's type and page count, files not indexed."""

from __future__ import annotations

from qa.serving import render as ui
from qa.serving.app import DocsHandlers


def test_a_pdf_citation_shows_its_page_and_a_text_citation_does_not():
    pdf = {"n": 1, "doc": "报告.pdf", "paragraph": 12, "page": 4, "text": "正文。", "spans": [[0, 3]], "score": 1.0}
    html = ui.citation_html(pdf, 1, True)
    assert "第 4 页 · 第 12 段" in html and 'data-page="4"' in html
    txt = dict(pdf, doc="a.txt", page=None)
    html = ui.citation_html(txt, 1, True)
    assert "第 12 段" in html and "页" not in html and "data-page" not in html


class _Service:
    def documents(self):
        return [
            {"name": "报告.pdf", "title": "报告", "kind": "pdf", "pages": 10, "paragraphs": 49, "passages": 49},
            {"name": "a.txt", "title": "A", "kind": "text", "pages": None, "paragraphs": 3, "passages": 3},
        ]

    def skipped(self):
        return [{"path": "/data/scan.pdf", "reason": "no text layer on any of its 2 page(s)"}]


def test_documents_table_has_type_pages_and_the_files_not_indexed():
    rows = DocsHandlers(_Service()).table()
    assert [r[:4] for r in rows] == [
        ["报告.pdf", "报告", "PDF", 10],
        ["a.txt", "A", "文本 text", "—"],
        ["scan.pdf", "未索引 / not indexed: no text layer on any of its 2 page(s)", "—", "—"],
    ]
    assert all(len(r) == len(DocsHandlers.HEADERS) for r in rows)
