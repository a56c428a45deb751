"""Where passage vectors live and are searched: one small interface, an embedded and a scale-out engine.

A store holds one vector per passage id and answers nearest-neighbour questions by inner
product (vectors are L2-normalized, so scores are cosines). The interface follows haystack 2's
document stores (write / search / count / delete): FAISS in the index folder is the embedded
default (faiss_store.py); Milvus (milvus_store.py, through pymilvus: a Milvus server or cluster
in production, milvus-lite in-process for development and tests) takes over when a corpus
outgrows one machine, and then also answers the BM25 side. QA_STORE picks one:

    faiss                       (default) FAISS files in each index version
    milvus://HOST:PORT          a Milvus server; each index version is one collection there
    milvus-lite                 milvus-lite in this process, its database inside each index version

Every version's manifest describes its store under "store"; loading opens what it describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np


class VectorStore(Protocol):
    """Passage vectors by id: write, search, count, delete; saved into (or described by) an index version."""

    kind: str
    dim: int

    def write(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add (or replace) the vectors of passages `ids`."""
        ...

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest passages to one query vector: (passage id, cosine), best first."""
        ...

    def count(self) -> int: ...

    def delete(self, ids: Sequence[int]) -> None: ...

    def vectors(self) -> np.ndarray:
        """Every stored vector as a (count, dim) array, row i = passage id i (for incremental builds)."""
        ...

    def save(self, folder: Path) -> dict:
        """Persist into the version folder `folder`; return the manifest's "store" entry (with its "files")."""
        ...


KINDS = ("faiss", "milvus", "milvus-lite")


def parse(setting: str) -> tuple[str, str]:
    """QA_STORE -> (kind, location): 'faiss' -> ('faiss', ''), 'milvus://h:19530' -> ('milvus', 'http://h:19530')."""
    value = (setting or "faiss").strip()
    if value == "faiss":
        return "faiss", ""
    if value == "milvus-lite":
        return "milvus-lite", ""
    if value.startswith(("milvus://", "http://", "https://")):
        rest = value.split("://", 1)[1]
        if not rest:
            raise ValueError(f"QA_STORE={setting!r}: name the Milvus server, e.g. milvus://localhost:19530")
        return "milvus", f"{'https' if value.startswith('https://') else 'http'}://{rest}"
    raise ValueError(f"QA_STORE={setting!r} is not a store: use faiss, milvus://HOST:PORT or milvus-lite")


def build(setting: str, ids: Sequence[int], vectors: np.ndarray, lexical=None) -> VectorStore:
    """A new store of the kind QA_STORE names, holding `vectors` for passages `ids` (and, for an
    engine that searches text too, the BM25 weights of `lexical`, a qa.indexing.lexical.BM25)."""
    kind, location = parse(setting)
    if kind == "faiss":
        from qa.stores.faiss_store import FaissStore

        return FaissStore.build(ids, vectors)
    from qa.stores.milvus_store import MilvusStore

    store = MilvusStore.create(kind, location, ids, vectors)
    if lexical is not None:
        store.attach_lexical(lexical)
    return store


def open_store(description: dict, folder: Path, ef_search: int = 0) -> VectorStore:
    """The store a version's manifest describes (its files, if any, are in the version folder).

    `ef_search` (QA_EF_SEARCH): candidates an HNSW graph examines per search; 0 keeps the built value."""
    kind = description.get("kind", "faiss")
    if kind == "faiss":
        from qa.stores.faiss_store import FaissStore

        return FaissStore.open(description, folder, ef_search)
    if kind in ("milvus", "milvus-lite"):
        from qa.stores.milvus_store import MilvusStore

        return MilvusStore.open(description, folder)
    raise ValueError(f"unknown store kind {kind!r} in the manifest")
