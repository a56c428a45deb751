"""Files and folders -> the files to read, and every file that will not be indexed with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import BadInputError, QAError
from qa.types import Document

# Files at the top of an indexed folder that describe the corpus rather than being documents:
# its synonyms and its example questions (docs/synonyms.md), and its own abstention model
# (`qa calibrate`, docs/abstention.md). `qa build` keeps them in the index.
CORPUS_FILES = ("synonyms.tsv", "examples.txt", "abstention.json")


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why (shown by the CLI, the UI and kept in the manifest)."""

    path: str
    reason: str

    def to_json(self) -> dict:
        return {"path": self.path, "reason": self.reason}


def discover(paths: Iterable[str | Path], suffixes: Iterable[str]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders into the sorted files a reader exists for, and the files skipped.

    A path that does not exist is an error (a typo should not build a smaller index); inside
    folders, hidden files and folders, unsupported types and a second file with a name already
    taken are skipped with their reason.
    """
    suffixes = tuple(suffixes)
    found: list[Path] = []
    skipped: list[Skipped] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise BadInputError(f"{p}: no such file or folder; check the path")
        candidates = (
            [f for f in _walk(p, skipped) if f.parent != p or f.name not in CORPUS_FILES] if p.is_dir() else [p]
        )
        for f in candidates:
            if f.suffix.lower() in suffixes:
                found.append(f)
            else:
                skipped.append(
                    Skipped(
                        str(f),
                        f"unsupported file type {f.suffix or '(none)'!r}; {supported(suffixes, f.suffix.lower())}",
                    )
                )
    files, seen = [], {}
    for f in found:
        if f.name in seen:
            skipped.append(
                Skipped(
                    str(f),
                    f"another file is also named {f.name!r} ({seen[f.name]}); documents are cited by "
                    "file name, so rename one",
                )
            )
        else:
            seen[f.name] = str(f)
            files.append(f)
    return files, skipped


# Formats people have that qa does not read, and what to do about them.
CONVERT = {
    ".doc": "save it as .docx in Word or WPS",
    ".wps": "save it as .docx in WPS",
    ".rtf": "save it as .docx",
    ".odt": "save it as .docx",
    ".mhtml": "save the page as 'Webpage, HTML only' (.html)",
    ".mht": "save the page as 'Webpage, HTML only' (.html)",
}


def supported(suffixes: Iterable[str], suffix: str = "") -> str:
    hint = f"{CONVERT[suffix]}; " if suffix in CONVERT else ""
    return hint + "qa reads " + ", ".join(sorted(set(suffixes)))


def _walk(folder: Path, skipped: list[Skipped]) -> list[Path]:
    """Files under `folder` in sorted order. Hidden folders (.git, the app's own .backups) are tools' places,
    not documents, and are not entered; a hidden file is listed as skipped."""
    out = []
    for f in sorted(folder.iterdir()):
        if f.name.startswith(".") and f.is_dir():
            continue
        if f.name.startswith("."):
            skipped.append(Skipped(str(f), "hidden file (its name starts with a dot); rename it to index it"))
        elif f.is_dir():
            out.extend(_walk(f, skipped))
        elif f.is_file():
            out.append(f)
    return out


def read_all(
    paths: Iterable[str | Path],
    read: Callable[[Path], Document],
    suffixes: Iterable[str],
) -> tuple[list[Document], list[Skipped]]:
    """Read every file `discover` finds; a file that cannot be read is skipped with its reason.

    Raises BadInputError when not one document could be read, so a build never replaces an
    index with an empty one.
    """
    paths = list(paths)
    files, skipped = discover(paths, suffixes)
    docs = []
    for f in files:
        try:
            docs.append(read(f))
        except QAError as err:
            skipped.append(Skipped(str(f), _reason(err, f)))
    if not docs:
        raise BadInputError(_nothing_readable(paths, skipped, suffixes))
    return docs, sorted(skipped, key=lambda s: s.path)


def _reason(err: QAError, f: Path) -> str:
    """The error without the path it starts with (the listing shows the path beside it)."""
    msg = str(err)
    for prefix in (f"{f}: ", f"{f.name}: "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _nothing_readable(paths: list, skipped: list[Skipped], suffixes: Iterable[str]) -> str:
    where = ", ".join(str(p) for p in paths)
    if not skipped:
        return f"{where}: no documents found; add files ({supported(suffixes)}) or pass files directly"
    if len(skipped) == 1 and skipped[0].path in {str(p) for p in paths}:
        return f"{skipped[0].path}: {skipped[0].reason}"  # the one file asked for: its own message
    shown = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:3])
    more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return (
        f"{where}: no document could be read ({len(skipped)} skipped: {shown}{more}); "
        f"fix them, add files ({supported(suffixes)}) or pass files directly"
    )
