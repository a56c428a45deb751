"""The index on disk: FAISS vectors + passages + documents + BM25 + manifest.json, saved atomically.

Layout of an index folder (see docs/index-format.md):
    manifest.json    format version, model, dim, chunking, lexicon, per-document hashes, counts, file hashes
    vectors.faiss    IndexFlatIP over L2-normalized passage vectors (row i == passage id i)
    passages.jsonl   one Passage per line
    documents.json   documents with their paragraph texts (citations show whole paragraphs)
    lexical.json     BM25 postings over the same passages
    sentences.jsonl  every sentence of every paragraph: doc, paragraph, start, end (offsets in the paragraph)
    sentences.npy    their vectors (row i == sentence i), used to pick the sentences that answer
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError, IndexMissingError
from qa.indexing.chunking import YEAR
from qa.indexing.lexical import BM25
from qa.types import Passage

FORMAT_VERSION = 1
FILES = ("vectors.faiss", "passages.jsonl", "documents.json", "lexical.json", "sentences.jsonl", "sentences.npy")


@dataclass
class Index:
    """A loaded (or freshly built) index. `paragraphs[(doc, n)]` is paragraph n's text."""

    manifest: dict
    vectors: object  # faiss.Index
    passages: list[Passage]
    documents: list[dict]
    lexical: BM25
    sentences: list[tuple[str, int, int, int]]  # (doc, paragraph, start, end)
    sentence_vectors: np.ndarray

    @property
    def sentence_rows(self) -> dict[tuple[str, int], list[int]]:
        """Rows of `sentences` / `sentence_vectors` per (doc, paragraph)."""
        cached = getattr(self, "_sentence_rows", None)
        if cached is None:
            cached = {}
            for row, (doc, para, _, _) in enumerate(self.sentences):
                cached.setdefault((doc, para), []).append(row)
            self._sentence_rows = cached
        return cached

    @property
    def list_items(self) -> dict[tuple[str, int], list[tuple[str, int]]]:
        """Each list intro's item paragraphs (一是… 二是…), in document order, from the passages' `parent`."""
        cached = getattr(self, "_list_items", None)
        if cached is None:
            cached = {}
            for p in self.passages:
                if p.parent is not None:
                    items = cached.setdefault((p.doc, p.parent), [])
                    if (p.doc, p.paragraph) not in items:
                        items.append((p.doc, p.paragraph))
            self._list_items = cached
        return cached

    @property
    def paragraph_years(self) -> dict[tuple[str, int], set[str]]:
        """The years each paragraph speaks of: its own and, for a list item, its intro's (the items
        under "2023年要抓好以下重点任务" never name the year themselves)."""
        cached = getattr(self, "_paragraph_years", None)
        if cached is None:
            cached = {key: set(YEAR.findall(text)) for key, text in self.paragraphs.items()}
            for intro, items in self.list_items.items():
                for item in items:
                    cached[item] = cached[item] | cached.get(intro, set())
            self._paragraph_years = cached
        return cached

    @property
    def paragraphs(self) -> dict[tuple[str, int], str]:
        cached = getattr(self, "_paragraphs", None)
        if cached is None:
            cached = {(d["name"], i + 1): t for d in self.documents for i, t in enumerate(d["paragraphs"])}
            self._paragraphs = cached
        return cached


def make_faiss(vectors: np.ndarray):
    """Exact inner-product search; vectors are normalized, so scores are cosines."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save(index: Index, target: Path) -> None:
    """Write into a temporary sibling folder, then swap it in with renames; the old index survives any failure."""
    import faiss

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir()
    try:
        faiss.write_index(index.vectors, str(tmp / "vectors.faiss"))
        with open(tmp / "passages.jsonl", "w", encoding="utf-8") as f:
            for p in index.passages:
                f.write(json.dumps(dataclasses.asdict(p), ensure_ascii=False) + "\n")
        (tmp / "documents.json").write_text(json.dumps(index.documents, ensure_ascii=False), encoding="utf-8")
        index.lexical.save(tmp / "lexical.json")
        with open(tmp / "sentences.jsonl", "w", encoding="utf-8") as f:
            for sent in index.sentences:
                f.write(json.dumps(list(sent), ensure_ascii=False) + "\n")
        np.save(tmp / "sentences.npy", index.sentence_vectors.astype(np.float32))
        manifest = dict(index.manifest, files={name: _sha(tmp / name) for name in FILES})
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        index.manifest = manifest
        _swap(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _sweep(target)


def _swap(new: Path, target: Path) -> None:
    """Replace `target` by `new`. Between the two renames a reader retries (see load)."""
    old = target.parent / f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}"
    if target.exists():
        if not (target / "manifest.json").exists() and any(target.iterdir()):
            raise IndexCorruptError(
                f"{target} exists but is not an index (no manifest.json); move it away or pass another --index folder"
            )
        os.rename(target, old)
    try:
        os.rename(new, target)
    except OSError:
        if old.exists():
            os.rename(old, target)  # put the previous index back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _sweep(target: Path) -> None:
    """Remove leftovers of interrupted builds (their process is gone)."""
    for leftover in target.parent.glob(f".{target.name}.*-*"):
        m = re.search(r"\.(?:tmp|old)-(\d+)-\d+$", leftover.name)
        if m and not _alive(int(m.group(1))):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()  # our own leftovers are finished: builds in a process are serialized


def read_manifest(folder: Path) -> dict:
    """The manifest of the index in `folder`, or an error saying what to run."""
    folder = Path(folder)
    path = folder / "manifest.json"
    for _ in range(3):  # a concurrent swap leaves the folder missing for a moment
        if path.exists():
            break
        time.sleep(0.05)
    else:
        raise IndexMissingError(f"no index in {folder}/; build one with: qa build --index {folder}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"{path} is unreadable ({e}); rebuild with: qa build --index {folder}") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(
            f"{path} is not an index manifest (expected a JSON object); rebuild with: qa build --index {folder}"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"{folder}/ has index format {manifest.get('format_version')!r}, this qa reads {FORMAT_VERSION}; "
            f"rebuild with: qa build --index {folder}"
        )
    return manifest


def load(folder: Path, model: str | None = None, dim: int | None = None, verify: bool = True) -> Index:
    """Load and check an index: files present and unchanged, counts agree, built with `model`."""
    import faiss

    folder = Path(folder)
    manifest = read_manifest(folder)
    fix = f"rebuild with: qa build --index {folder}"
    if model is not None and manifest.get("model") != model:
        raise IndexCorruptError(
            f"{folder}/ was built with model {manifest.get('model')!r} but the configured model is {model!r}; "
            f"{fix}, or set QA_MODEL={manifest.get('model')}"
        )
    for name in FILES:
        p = folder / name
        if not p.exists():
            raise IndexCorruptError(f"{folder}/{name} is missing; {fix}")
        if verify and manifest.get("files", {}).get(name) != _sha(p):
            raise IndexCorruptError(f"{folder}/{name} does not match manifest.json (changed or damaged); {fix}")
    try:
        vectors = faiss.read_index(str(folder / "vectors.faiss"))
        with open(folder / "passages.jsonl", encoding="utf-8") as f:
            passages = [Passage(**json.loads(line)) for line in f if line.strip()]
        documents = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        lexical = BM25.load(folder / "lexical.json")
        with open(folder / "sentences.jsonl", encoding="utf-8") as f:
            sentences = [tuple(json.loads(line)) for line in f if line.strip()]
        sentence_vectors = np.load(folder / "sentences.npy")
    except Exception as e:  # noqa: BLE001 - any parse failure means the same thing to the user
        raise IndexCorruptError(f"{folder}/ cannot be read ({type(e).__name__}: {e}); {fix}") from None
    counts = manifest.get("counts", {})
    if (
        vectors.ntotal != len(passages)
        or counts.get("passages") != len(passages)
        or len(lexical.doc_len) != len(passages)
    ):
        raise IndexCorruptError(
            f"{folder}/ is inconsistent: {vectors.ntotal} vectors, {len(passages)} passages, "
            f"manifest says {counts.get('passages')}; {fix}"
        )
    if len(sentences) != sentence_vectors.shape[0]:
        raise IndexCorruptError(
            f"{folder}/ is inconsistent: {len(sentences)} sentences, {sentence_vectors.shape[0]} vectors; {fix}"
        )
    if dim is not None and vectors.d != dim:
        raise IndexCorruptError(f"{folder}/ holds {vectors.d}-dim vectors but the model gives {dim}; {fix}")
    return Index(manifest, vectors, passages, documents, lexical, sentences, sentence_vectors)
