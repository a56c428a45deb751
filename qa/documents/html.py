"""Web pages (.html/.htm): the main content only, through trafilatura; the page title is the document's title.

Navigation, sidebars, ads, share bars, comment boxes, footers and scripts are left out by
trafilatura in precision mode (bench/html_extractors.py: all article text kept and no furniture
leaked on our test pages, where its default mode and readability-lxml let some through).
Headings keep their h1-h6 level; a list item and a table row (cells joined by " | ") are
paragraphs of their own.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from qa.documents.base import make_document, number, require, table_rows
from qa.documents.encoding import decode
from qa.documents.text import is_boilerplate
from qa.errors import BadInputError
from qa.types import Document

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


class HtmlReader:
    """.html/.htm saved from a browser: the article's headings, paragraphs, list items and table rows."""

    kind = "html"

    def read(self, data: bytes, path: Path) -> Document:
        trafilatura = require("trafilatura", "trafilatura", "web pages")
        text, encoding = decode_html(data, path)
        try:
            doc = trafilatura.bare_extraction(
                text,
                with_metadata=True,
                include_tables=True,
                include_comments=False,
                include_images=False,
                include_links=False,
                favor_precision=True,
            )
        except Exception as err:  # noqa: BLE001 - parser errors on broken markup
            raise BadInputError(
                f"{path}: the web page cannot be parsed ({type(err).__name__}); save it again"
            ) from None
        blocks = _blocks(doc.body) if doc is not None and doc.body is not None else []
        paragraphs = number([(t, None, level) for t, level in blocks if not (level == 0 and is_boilerplate(t))])
        if not paragraphs:
            raise BadInputError(
                f"{path}: no main text found in the web page (only navigation or scripts?); "
                "save the article itself, or copy its text into a .txt file"
            )
        title = (doc.title or "").strip() or _page_title(text) or next((p.text for p in paragraphs if p.heading), "")
        return make_document(data, path, self.kind, paragraphs, title, encoding)


def decode_html(data: bytes, path: Path) -> tuple[str, str]:
    """Bytes -> str: a BOM, else the page's <meta charset>, else the rules for text files."""
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        m = _META_CHARSET.search(data[:4096])
        if m:
            try:
                enc = codecs.lookup(m.group(1).decode("ascii")).name
            except LookupError:
                enc = None
            if enc in ("gb2312", "gbk"):
                enc = "gb18030"  # what pages labelled GB2312/GBK really use
            if enc:
                try:
                    return data.decode(enc), enc
                except UnicodeDecodeError:
                    pass  # a wrong label: detect instead
    return decode(data, str(path))


def _blocks(body) -> list[tuple[str, int]]:
    """(text, heading level) for each block of trafilatura's XML, in order."""
    out = []
    for el in body.iter("head", "p", "item", "table", "quote", "code"):
        if el.tag != "table" and any(a.tag in ("item", "table", "quote") for a in el.iterancestors()):
            continue  # text inside a list item or table is part of that block
        if el.tag == "table":
            rows = [["".join(c.itertext()) for c in row.iterchildren("cell")] for row in el.iter("row")]
            out.extend((text, 0) for text in table_rows(rows))
            continue
        text = " ".join("".join(el.itertext()).split())
        level = 0
        if el.tag == "head":
            m = re.match(r"h([1-6])$", el.get("rend") or "")
            level = int(m.group(1)) if m else 2
        if text:
            out.append((text, level))
    return out


def _page_title(text: str) -> str:
    import html

    m = _TITLE.search(text[:20000])
    return html.unescape(" ".join(m.group(1).split())) if m else ""
