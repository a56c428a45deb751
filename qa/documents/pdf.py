"""PDF: the text layer, page by page, as paragraphs a reader would see.

Glyphs come from pdfminer.six (the engine of pdfplumber) in content-stream order, which keeps
columns apart (bench/pdf_readers.py has the measurements behind the choice). Marked-content
/ActualText replaces the glyphs it covers (chromium writes it for glyphs whose code point is a
radical); remaining radicals are mapped by qa.documents.radicals. Lines are rebuilt from glyph
positions (pdf_layout.py), then running headers, footers and page numbers are dropped and lines
wrapped mid-paragraph are joined.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from qa.documents import pdf_layout as layout
from qa.documents.base import make_document, number, require
from qa.documents.radicals import looks_traditional, unradical
from qa.errors import BadInputError
from qa.types import Document

OCR_HINT = (
    "it looks scanned: qa reads a PDF's text layer and does no OCR; convert it with an OCR tool first (see README)"
)


class PdfReader:
    """.pdf with a text layer: paragraphs with the page they start on; heading levels from font sizes."""

    kind = "pdf"

    def read(self, data: bytes, path: Path) -> Document:
        pages, images, title = extract(data, path)
        lines = [ln for page in pages for ln in page]
        if not any(ln.text.strip() for ln in lines):
            why = OCR_HINT if any(images) else "it has no text to index"
            raise BadInputError(f"{path}: no text layer on any of its {len(pages)} page(s); {why}")
        traditional = looks_traditional("".join(ln.text for ln in lines[:400]))
        for ln in lines:
            ln.text = unradical(ln.text, traditional)
        body = layout.drop_furniture(pages)
        paragraphs = number([(p.text, p.page, p.heading) for p in layout.paragraphs(body)])
        empty = [i + 1 for i, page in enumerate(body) if not page and images[i]]
        notes = (f"page(s) {_ranges(empty)} have no text layer (scanned?) and were not indexed",) if empty else ()
        first_heading = next((p.text for p in paragraphs if p.heading), "")
        return make_document(
            data,
            path,
            self.kind,
            paragraphs,
            title if _real_title(title) else first_heading or Path(path).stem,
            pages=len(pages),
            notes=notes,
        )


def extract(data: bytes, path: Path) -> tuple[list[list[layout.Line]], list[bool], str]:
    """Per page: its lines in content order, whether it shows images; and the document's /Title."""
    require("pdfminer", "pdfminer.six", "PDF files")
    from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # font-metric warnings on every Type3 glyph
    try:
        doc = PDFDocument(PDFParser(io.BytesIO(data)), password="")
        info = resolve1(doc.info[0]) if doc.info else {}
        raw_title = resolve1(info.get("Title")) if isinstance(info, dict) else None
        title = decode_text(raw_title) if isinstance(raw_title, bytes) else str(raw_title or "")
        rsrc = PDFResourceManager(caching=True)
        device = layout.glyph_device(rsrc)
        interpreter = PDFPageInterpreter(rsrc, device)
        pages, images = [], []
        for page in PDFPage.create_pages(doc):
            interpreter.process_page(page)
            pages.append(layout.lines(device.glyphs, device.height, len(pages) + 1))
            images.append(device.images > 0)
    except PDFPasswordIncorrect:
        raise BadInputError(f"{path}: the PDF is password-protected; save an unprotected copy and add that") from None
    except BadInputError:
        raise
    except Exception as err:  # noqa: BLE001 - pdfminer raises many kinds for damaged files; all mean the same
        raise BadInputError(
            f"{path}: not a readable PDF ({type(err).__name__}: {str(err)[:120]}); re-export or repair it"
        ) from None
    if not pages:
        raise BadInputError(f"{path}: the PDF has no pages")
    return pages, images, title.strip()


def _real_title(title: str) -> bool:
    """A /Title worth showing: not empty, not a file name or an editor's placeholder."""
    t = title.strip().lower()
    junk = ("microsoft word", "untitled", "无标题", "wps", ".doc", ".pdf", ".wps", ".tmp")
    return len(t) >= 2 and not any(j in t for j in junk)


def _ranges(numbers: list[int]) -> str:
    out, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            out.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(out)
