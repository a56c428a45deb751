"""Reading a version's line-per-record files fast: passages on demand from a memory map, sentences in one parse.

A large index holds hundreds of thousands of passages and over a million sentences; parsing
passages.jsonl and sentences.jsonl line by line was most of the time `qa serve` and `qa ask`
took to open one (bench/perf.py). A question reads a few dozen passages, so `PassageRecords`
maps the file and parses a line when it is first asked for; sentences are all needed at once (the
answer step looks them up by paragraph), so `read_rows` parses the whole file in one call.
"""

from __future__ import annotations

import json
import mmap
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from qa.types import Passage

# numpy reads a .npy header with ast.literal_eval, and CPython 3.11 builds AST objects with a
# recursion counter shared by all threads: two threads parsing at once can fail with "SystemError:
# AST constructor recursion depth mismatch" (seen when readers load an index while a build
# publishes: tests/test_incremental.py). One lock around the index's array loads avoids it.
_NPY_LOCK = threading.Lock()


def load_array(path: Path, mmap: bool = True) -> np.ndarray:
    """np.load of one of the index's .npy files (memory-mapped read-only unless `mmap` is False)."""
    with _NPY_LOCK:
        return np.load(path, mmap_mode="r" if mmap else None)


# The end of every line store.py writes (json.dumps of a Passage: `parent`, then `page`, last). Inside
# a string a quote is escaped, so this matches the keys themselves, once a line.
_PARENT_AT_END = re.compile(rb'"parent": (null|\d+), "page": (?:null|\d+)\}$', re.M)
_CHUNK = 1 << 26  # bytes scanned for line ends at a time (bounded temporary memory)


def _line_spans(buffer) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the non-empty lines of `buffer` (ends exclude the newline)."""
    data = np.frombuffer(buffer, np.uint8)
    ends = np.concatenate(
        [np.flatnonzero(data[at : at + _CHUNK] == 10) + at for at in range(0, len(data), _CHUNK)] or [np.zeros(0, int)]
    )
    if len(data) and data[-1] != 10:
        ends = np.append(ends, len(data))
    starts = np.concatenate([[0], ends[:-1] + 1]) if len(ends) else ends
    keep = ends > starts
    return starts[keep], ends[keep]


class PassageRecords(Sequence):
    """The passages of passages.jsonl (one JSON object a line), parsed one by one as they are read."""

    def __init__(self, path: Path):
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._starts, self._ends = _line_spans(self._map)
        self._cache: dict[int, Passage] = {}

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"passage {i} out of range (0..{len(self) - 1})")
        p = self._cache.get(i)
        if p is None:
            p = self._cache[i] = Passage(**json.loads(self._map[self._starts[i] : self._ends[i]]))
        return p

    def __iter__(self) -> Iterator[Passage]:
        return (self[i] for i in range(len(self)))

    def fields(self, *names: str) -> list[tuple]:
        """`names` of every passage, from one parse of the whole file (for the few questions about all passages)."""
        rows = read_rows(bytes(self._map).decode("utf-8")) if len(self) else []
        return [tuple(row.get(n) for n in names) for row in rows]

    def with_parent(self) -> list[tuple[str, int, int]]:
        """(doc, paragraph, parent) of the passages that have a parent (list items), in order. Their
        lines are found by a scan of the bytes (0.4 s at 513,373 passages, against 5.7 s to parse every
        line) and parsed alone; if a line does not end as store.py writes it, every line is parsed."""
        ends = list(_PARENT_AT_END.finditer(self._map)) if len(self) else []
        if len(ends) != len(self):
            return [row for row in self.fields("doc", "paragraph", "parent") if row[2] is not None]
        out = []
        for m in ends:
            if m.group(1) != b"null":
                row = json.loads(self._map[self._map.rfind(b"\n", 0, m.start()) + 1 : m.end()])
                out.append((row["doc"], row["paragraph"], row["parent"]))
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, tuple, PassageRecords)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # compared by content, like a list


def read_rows(source: Path | str) -> list:
    """Every line of a JSON-lines file (a Path) or text (a str), parsed in one call, not one per line."""
    text = Path(source).read_text(encoding="utf-8") if isinstance(source, Path) else source
    return json.loads("[" + ",".join(line for line in text.split("\n") if line.strip()) + "]")


def passage_fields(passages: Sequence[Passage], *names: str) -> list[tuple]:
    """`names` of every passage: one parse for PassageRecords, attribute reads for a list."""
    if isinstance(passages, PassageRecords):
        return passages.fields(*names)
    return [tuple(getattr(p, n) for n in names) for p in passages]
