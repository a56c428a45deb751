"""The index folder's lifecycle: immutable version folders, one atomically replaced pointer, a build lock.

    index/
      CURRENT                  the current version's id (one line); replacing it is the one atomic step
      versions/<id>/           immutable: manifest.json + the files it lists (see store.py)
      versions/.tmp-<id>/      a version being written (removed by the next build if a build died)
      build.lock               held by the one build that may publish (filelock, across processes)

A reader reads CURRENT, then opens that version; since versions never change and the previous
one is kept when a new one is published, a reader always sees one whole version. Publication:
write everything into a staging folder, fsync the files and the folder, rename the folder to
versions/<id>, fsync versions/, write CURRENT.tmp, fsync it, rename it over CURRENT, fsync the
index folder. A crash at any point leaves CURRENT naming a complete version (or no version yet);
what it leaves behind is removed by the next build, which holds the lock, so nothing in flight
can be mistaken for a leftover.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from qa.errors import IndexBusyError, IndexCorruptError

POINTER = "CURRENT"
VERSIONS = "versions"
LOCK = "build.lock"
STAGING_PREFIX = ".tmp-"
_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,99}$")
# Top-level files of the format-1 layout (one flat folder), removed once a versioned build is published.
LEGACY_FILES = (
    "manifest.json",
    "vectors.faiss",
    "passages.jsonl",
    "documents.json",
    "lexical.json",
    "sentences.jsonl",
    "sentences.npy",
)


def checkpoint(step: str) -> None:
    """Called between the steps of a publication; the crash-injection test replaces it."""


def new_version_id() -> str:
    """Sortable by time, unique across processes."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def current_version(folder: Path) -> str | None:
    """The id CURRENT names, or None if there is no pointer (cheap: one small read)."""
    try:
        raw = (Path(folder) / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise IndexCorruptError(
            f"{folder}/{POINTER} is unreadable ({e}); rebuild with: qa build --index {folder}"
        ) from None
    if not _ID.match(raw):
        raise IndexCorruptError(
            f"{folder}/{POINTER} does not name a version ({raw[:40]!r}); rebuild with: qa build --index {folder}"
        )
    return raw


def version_dir(folder: Path, version: str) -> Path:
    return Path(folder) / VERSIONS / version


def is_legacy(folder: Path) -> bool:
    """A format-1 index: files directly in the folder, no pointer."""
    return (Path(folder) / "manifest.json").exists() and not (Path(folder) / POINTER).exists()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable (POSIX: fsync the directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # platforms without directory handles
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def staging(folder: Path, version: str) -> Path:
    """A fresh staging folder for `version` inside folder/versions/."""
    root = Path(folder) / VERSIONS
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{STAGING_PREFIX}{version}"
    path.mkdir()
    checkpoint("staging folder created")
    return path


def seal(stage: Path, names: list[str]) -> None:
    """fsync every written file and the staging folder itself."""
    for name in names:
        _fsync_file(stage / name)
        checkpoint(f"fsynced {name}")
    fsync_dir(stage)
    checkpoint("staging folder fsynced")


def publish(folder: Path, stage: Path, version: str) -> str | None:
    """Make the sealed `stage` the current version; return the version it replaced (or None)."""
    folder = Path(folder)
    try:
        previous = current_version(folder)
    except IndexCorruptError:
        previous = None  # a garbled pointer is what this build repairs
    final = version_dir(folder, version)
    os.rename(stage, final)
    checkpoint("version folder renamed into place")
    fsync_dir(final.parent)
    checkpoint("versions folder fsynced")
    tmp = folder / f"{POINTER}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(version + "\n")
        f.flush()
        checkpoint("pointer temp written")
        os.fsync(f.fileno())
    checkpoint("pointer temp fsynced")
    os.replace(tmp, folder / POINTER)
    checkpoint("pointer replaced")
    fsync_dir(folder)
    checkpoint("index folder fsynced")
    return previous


def collect(folder: Path, keep: set[str]) -> list[str]:
    """Remove versions not in `keep`, staging folders and pointer temps of dead builds, format-1 files.

    Only call while holding the build lock: then nothing else is writing here. Readers may still
    be opening a version that was current a moment ago, so callers keep the previous one too."""
    folder = Path(folder)
    removed = []
    root = folder / VERSIONS
    for path in sorted(root.iterdir()) if root.is_dir() else ():
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
            checkpoint(f"removed {path.name}")
    for tmp in folder.glob(f"{POINTER}.tmp-*"):
        tmp.unlink(missing_ok=True)
        removed.append(tmp.name)
    if (folder / POINTER).exists():
        for name in LEGACY_FILES:
            if (folder / name).exists():
                (folder / name).unlink()
                removed.append(name)
                checkpoint(f"removed legacy {name}")
    return removed


# -------------------------------------------------------------------------------- the build lock

_owner = threading.local()  # .keys: the index folders whose lock this thread holds


def check_target(folder: Path) -> None:
    """Refuse to build into an existing folder that holds something other than an index."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    entries = {p.name for p in folder.iterdir()}
    if entries and not entries & {POINTER, VERSIONS, "manifest.json", LOCK}:
        raise IndexCorruptError(
            f"{folder} exists but is not an index (no {POINTER} or manifest.json); "
            "move it away or pass another --index folder"
        )


@contextlib.contextmanager
def build_lock(folder: Path, wait: float = 0.0, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index folder's build lock; re-entrant within a thread.

    If another build holds it: wait up to `wait` seconds (calling `on_wait` once with a message),
    then raise IndexBusyError. `wait` < 0 waits for ever."""
    from filelock import FileLock, Timeout

    folder = Path(folder)
    key = str(folder.resolve())
    mine = getattr(_owner, "keys", set())
    if key in mine:
        yield
        return
    check_target(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if wait == 0:
            raise IndexBusyError(_busy(folder)) from None
        if on_wait:
            on_wait(f"{_busy(folder)}; waiting for it to finish")
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise IndexBusyError(f"{_busy(folder)} and did not finish within {wait:.0f} s") from None
    try:
        _write_owner(folder)
        _owner.keys = mine | {key}
        yield
    finally:
        _owner.keys = mine
        (folder / f"{LOCK}.owner").unlink(missing_ok=True)
        lock.release()


def _write_owner(folder: Path) -> None:
    stamp = time.strftime("%H:%M:%S")
    (folder / f"{LOCK}.owner").write_text(f"pid {os.getpid()}, since {stamp}", encoding="utf-8")


def _busy(folder: Path) -> str:
    try:
        who = (folder / f"{LOCK}.owner").read_text(encoding="utf-8").strip()
    except OSError:
        who = "another process"
    return f"another build of {folder}/ is running ({who})"
