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


def number(texts: list[tuple[str, int | None, int]]) -> list[Paragraph]:
    """Paragraphs from (text, page, heading) in reading order; offsets index the texts joined by newlines."""
    out, pos = [], 0
    for text, page, heading in texts:
        text = text.strip()
        if text:
            out.append(Paragraph(len(out) + 1, text, pos, pos + len(text), page=page, heading=heading))
            pos += len(text) + 1
    return out
