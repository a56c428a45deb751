"""Word (.docx): body paragraphs and tables in document order, heading styles as structure (python-docx).

Page headers and footers live outside the body and are never read. A table becomes one
paragraph per row (base.table_rows; a merged cell counts once), so a row keeps its label beside
its value ("额定功率 | 60瓦").
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from qa.documents.base import make_document, number, require, table_rows
from qa.errors import BadInputError
from qa.types import Document

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)


class DocxReader:
    """.docx: paragraphs (heading level from the Title/Heading n styles or an outline level), table rows."""

    kind = "word"

    def read(self, data: bytes, path: Path) -> Document:
        docx = require("docx", "python-docx", "Word files")
        try:
            document = docx.Document(io.BytesIO(data))
        except Exception as err:  # noqa: BLE001 - zip, XML and package errors all mean "not a .docx"
            raise BadInputError(
                f"{path}: not a readable Word .docx file ({type(err).__name__}); open it in Word or WPS and save "
                "it again as .docx"
            ) from None
        texts: list[tuple[str, int | None, int]] = []
        for block in document.iter_inner_content():
            if hasattr(block, "rows"):
                texts.extend((row, None, 0) for row in _rows(block))
            else:
                texts.append((block.text, None, _level(block)))
        paragraphs = number(texts)
        title = (document.core_properties.title or "").strip()
        if not title:
            title = next((p.text for p in paragraphs if p.heading), "")
        return make_document(data, path, self.kind, paragraphs, title)


def _level(paragraph) -> int:
    """1 for Title, n for Heading n (also localized 标题 n), else the paragraph's outline level, else 0."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 1
        m = _HEADING_STYLE.match(name)
        if m:
            return max(1, int(m.group(1)))
        outline = _outline(style.element)
        if outline is not None:
            return outline
        style = style.base_style
    outline = _outline(paragraph._p)
    return outline or 0


def _outline(element) -> int | None:
    """w:outlineLvl (0-8 = level 1-9; 9 = body text) in a paragraph's or style's properties."""
    found = element.xpath("./w:pPr/w:outlineLvl/@w:val")
    if found and found[0].isdigit() and int(found[0]) < 9:
        return int(found[0]) + 1
    return None


def _rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue  # a merged cell is repeated for every grid column it spans
            seen.add(id(cell._tc))
            cells.append(cell.text)
        rows.append(cells)
    return table_rows(rows)
