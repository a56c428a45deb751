"""Reading documents: one reader per format (see base.Reader), chosen by file suffix.

A new format is one module with a reader class and one line in READERS.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from qa.documents import discovery
from qa.documents.base import Reader
from qa.documents.discovery import Skipped
from qa.documents.docx import DocxReader
from qa.documents.encoding import decode
from qa.documents.html import HtmlReader
from qa.documents.pdf import PdfReader
from qa.documents.text import MarkdownReader, TextReader, is_boilerplate, split_paragraphs, title_of
from qa.errors import BadInputError
from qa.types import Document

READERS: dict[str, Reader] = {
    ".txt": TextReader(),
    ".md": MarkdownReader(),
    ".pdf": PdfReader(),
    ".docx": DocxReader(),
    ".html": HtmlReader(),
    ".htm": HtmlReader(),
}
SUFFIXES = tuple(READERS)
MAX_FILE_BYTES = 20_000_000

__all__ = [
    "READERS",
    "SUFFIXES",
    "Reader",
    "Skipped",
    "decode",
    "discover",
    "is_boilerplate",
    "load",
    "parse_document",
    "read_document",
    "split_paragraphs",
    "title_of",
]


def reader_for(path: Path) -> Reader:
    reader = READERS.get(Path(path).suffix.lower())
    if reader is None:
        raise BadInputError(
            f"{path}: unsupported file type {Path(path).suffix or '(none)'!r}; qa reads {', '.join(SUFFIXES)}"
        )
    return reader


def parse_document(data: bytes, path: Path) -> Document:
    """Read bytes that came from `path` (which need not exist, e.g. an upload) with the reader for its suffix."""
    return reader_for(path).read(data, Path(path))


def read_document(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read one file into a Document, or raise BadInputError saying why it can't be used."""
    path = Path(path)
    reader = reader_for(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise BadInputError(
            f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit (QA_MAX_FILE_BYTES); split the file"
        )
    return reader.read(path.read_bytes(), path)


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """The files under `paths` a reader exists for, and the files skipped with the reason."""
    return discovery.discover(paths, SUFFIXES)


def load(paths: Iterable[str | Path], max_bytes: int = MAX_FILE_BYTES) -> tuple[list[Document], list[Skipped]]:
    """Read every document under `paths`; unreadable files are skipped with the reason (none readable: an error)."""
    return discovery.read_all(paths, lambda f: read_document(f, max_bytes), SUFFIXES)
