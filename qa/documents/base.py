"""The reader interface every format implements, and what readers share.

A reader is a small object with a `kind` (shown in the build summary, the manifest and the UI)
and `read(data, path) -> Document`: the file's bytes in (`path` names it; it need not exist, as
for an upload), paragraphs numbered from 1 with their page and declared heading level out. A
reader raises BadInputError saying what is wrong with the file and what to do. Heavy libraries
are imported inside `read` through `require`, so listing formats costs nothing.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Protocol

from qa.errors import BadInputError, DependencyMissingError
from qa.types import Document, Paragraph


class Reader(Protocol):
    kind: str

    def read(self, data: bytes, path: Path) -> Document: ...


def require(module: str, package: str, what: str):
    """Import `module` for reading `what`, or say which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DependencyMissingError(
            f"reading {what} needs the Python package {package!r}, which is not installed; "
            f"install it with: pip install '{package}' (scripts/setup.sh installs everything)"
        ) from None


def make_document(
    data: bytes,
    path: Path,
    kind: str,
    paragraphs: list[Paragraph],
    title: str,
    encoding: str = "",
    pages: int | None = None,
    notes: tuple[str, ...] = (),
) -> Document:
    """The Document a reader returns; refuses one without text."""
    if not paragraphs:
        raise BadInputError(f"{path}: file is empty or only whitespace; give it some text")
    return Document(
        name=Path(path).name,
        path=str(path),
        title=title.strip() or Path(path).stem,
        encoding=encoding,
        sha256=hashlib.sha256(data).hexdigest(),
        paragraphs=tuple(paragraphs),
        kind=kind,
        pages=pages,
        notes=notes,
    )


CELL_SEPARATOR = " | "


def table_rows(rows: list[list[str]]) -> list[str]:
    """A table as one paragraph per row, cells joined by " | ".

    In a table of three or more columns each cell after the first is prefixed by its column's
    header ("西湖区 | 完成投资（亿元）：21.3"), so a row found on its own still says what its
    numbers are; two-column tables are label | value already.
    """
    rows = [[" ".join(c.split()) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    header = rows[0]
    labelled = len(header) >= 3 and all(header) and len(rows) > 1
    out = [CELL_SEPARATOR.join(c for c in header if c)]
    for row in rows[1:]:
        if labelled and len(row) == len(header):
            cells = [row[0], *(f"{h}：{c}" for h, c in zip(header[1:], row[1:]) if c)]
        else:
            cells = row
        out.append(CELL_SEPARATOR.join(c for c in cells if c))
    return out


def number(texts: list[tuple[str, int | None, int]]) -> list[Paragraph]:
    """Paragraphs from (text, page, heading) in reading order; offsets index the texts joined by newlines."""
    out, pos = [], 0
    for text, page, heading in texts:
        text = text.strip()
        if text:
            out.append(Paragraph(len(out) + 1, text, pos, pos + len(text), page=page, heading=heading))
            pos += len(text) + 1
    return out
