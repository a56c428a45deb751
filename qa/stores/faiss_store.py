"""The embedded store: a FAISS index file in each index version, memory-mapped on load.

The index type follows the corpus size. Below EXACT_BELOW passages an exact IndexFlatIP is
both fast and free of approximation; above it exact search costs ~10 ms per 100k passages here
and grows linearly, so an HNSW graph (IndexHNSWFlat) takes over, which keeps the full vectors
(recall@10 against exact search: bench/ann.py and bench/perf.py) and answers in about a
millisecond at 500k passages. Both are read with IO_FLAG_MMAP_IFC: the vectors stay in the
file's pages (shared between processes, loaded as searches touch them) instead of being
copied into memory when the index opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

FILE = "vectors.faiss"
# Measured (bench/perf.py --faiss-sweep, 2 cores): exact search over 100k passages took ~8 ms,
# within the ask budget; over 500k ~40 ms, which is not. HNSW from 100k on.
EXACT_BELOW = 100_000
HNSW_M = 32  # neighbours per node: recall and memory (M * 8 bytes per vector) grow with it
HNSW_EF_CONSTRUCTION = 80
# Candidates examined per search (QA_EF_SEARCH overrides it when serving). bench/ann.py on 103,028
# passages (M 32, 400 questions): recall@10 against exact search .939 at 128, .979 at 256, .997 at
# 512, .998 at 1024 (2.2 ms a search). Recall at a fixed efSearch falls as the graph grows: a
# 513k-passage run of the same corpus recipe (bench/perf.py 10,000x, not kept) measured .931 at 512
# and .970 at 1024. 1024 keeps >= .95 to that size for ~2 ms of a ~35 ms ask.
HNSW_EF_SEARCH = 1024


class FaissStore:
    """Passage vectors in a FAISS index; row i of the index is passage ids[i]."""

    kind = "faiss"

    def __init__(self, index, ids: np.ndarray, description: dict):
        self.index = index
        self.ids = np.asarray(ids, dtype=np.int64)
        self.description = description
        self._identity = bool(len(self.ids) == 0 or np.array_equal(self.ids, np.arange(len(self.ids))))

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @classmethod
    def build(cls, ids: Sequence[int], vectors: np.ndarray, exact_below: int = EXACT_BELOW) -> FaissStore:
        """An exact index for small corpora, HNSW for large ones (see EXACT_BELOW)."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if n < exact_below:
            index = faiss.IndexFlatIP(dim)
            description = {"index": "IndexFlatIP"}
        else:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
            description = {
                "index": "IndexHNSWFlat",
                "M": HNSW_M,
                "ef_construction": HNSW_EF_CONSTRUCTION,
                "ef_search": HNSW_EF_SEARCH,
            }
        index.add(vectors)
        description = {
            "kind": cls.kind,
            **description,
            "metric": "inner product over L2-normalized vectors",
            "exact_below": exact_below,
        }
        return cls(index, np.asarray(ids, dtype=np.int64), description)

    def write(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add or replace passages (rebuilds the index: versions are immutable, this is for building them)."""
        ids = np.asarray(ids, dtype=np.int64)
        keep = ~np.isin(self.ids, ids)
        all_ids = np.concatenate([self.ids[keep], ids])
        all_vectors = np.vstack([self.vectors()[keep], np.asarray(vectors, np.float32)])
        self._replace(all_ids, all_vectors)

    def delete(self, ids: Sequence[int]) -> None:
        keep = ~np.isin(self.ids, np.asarray(ids, dtype=np.int64))
        self._replace(self.ids[keep], self.vectors()[keep])

    def _replace(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        fresh = FaissStore.build(ids, vectors.reshape(-1, self.dim), self.description.get("exact_below", EXACT_BELOW))
        self.index, self.ids, self.description, self._identity = (
            fresh.index,
            fresh.ids,
            fresh.description,
            fresh._identity,
        )

    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(int(k), self.count())
        if k <= 0:
            return []
        scores, rows = self.index.search(np.asarray(query, np.float32).reshape(1, -1), k)
        return [
            (int(r) if self._identity else int(self.ids[r]), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0
        ]

    def vectors(self) -> np.ndarray:
        """All vectors in row order (reconstructed from the flat storage both index types keep)."""
        n = self.count()
        return self.index.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)

    def save(self, folder: Path) -> dict:
        import faiss

        faiss.write_index(self.index, str(Path(folder) / FILE))
        if not self._identity:
            np.save(Path(folder) / "vector_ids.npy", self.ids)
        return {**self.description, "files": [FILE] if self._identity else [FILE, "vector_ids.npy"]}

    @classmethod
    def open(cls, description: dict, folder: Path, ef_search: int = 0) -> FaissStore:
        """Memory-map the index file (IO_FLAG_MMAP_IFC): no copy of the vectors at load.

        An HNSW index searches with `ef_search` candidates (0: the value it was built with)."""
        import faiss

        index = faiss.read_index(str(Path(folder) / FILE), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        if hasattr(index, "hnsw") and (ef_search or "ef_search" in description):
            index.hnsw.efSearch = int(ef_search or description["ef_search"])
            description = {**description, "ef_search": index.hnsw.efSearch}
        ids_file = Path(folder) / "vector_ids.npy"
        from qa.indexing.records import load_array

        ids = load_array(ids_file, mmap=False) if ids_file.exists() else np.arange(index.ntotal, dtype=np.int64)
        return cls(index, ids, description)
