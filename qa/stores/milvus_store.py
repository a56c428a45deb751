"""The scale-out store: passage vectors and their BM25 terms in a Milvus collection (pymilvus).

One index version is one collection: `id` (the passage id), `vector` (dense, inner product:
FLAT below faiss_store.EXACT_BELOW passages, HNSW above) and `terms` (a sparse vector of the
passage's BM25 weights, exactly the bm25s scores qa computes, searched by inner product with the
question's terms at weight 1: the same BM25 scores as the embedded index, answered by the engine).
The term -> column vocabulary stays in the version folder (lexical.vocab.json), so questions are
tokenized exactly as passages were.

QA_STORE=milvus://HOST:PORT talks to a Milvus server or cluster; QA_STORE=milvus-lite runs
milvus-lite in this process with its database inside the version folder (development and tests:
the same client API, no server). Vectors are written when the version is saved; until then a
store built in memory answers by exact numpy search.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.errors import ModelUnavailableError
from qa.stores.faiss_store import EXACT_BELOW, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M

LITE_DB = "milvus.db"  # milvus-lite's database (a folder) inside the version folder
VOCAB = "terms.vocab.json"
_BATCH = 2000  # rows per insert / query page


def _client(uri: str):
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:  # pragma: no cover - pymilvus is a dependency
        raise ModelUnavailableError(f"QA_STORE needs pymilvus ({exc}); run `pip install -e .`") from exc
    try:
        return MilvusClient(uri=uri)
    except Exception as exc:  # noqa: BLE001 - connection errors come in many types
        raise ModelUnavailableError(
            f"cannot reach Milvus at {uri}: {str(exc).splitlines()[0]}. Start it, or set QA_STORE=faiss"
        ) from exc


def _release_lite(path: Path) -> None:
    """Let go of an in-process milvus-lite database (its lock), so the folder can be renamed or reopened."""
    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError:
        return
    server_manager_instance.release_server(os.path.abspath(path))


class MilvusStore:
    """Passage vectors (and BM25 terms) in one Milvus collection."""

    def __init__(self, kind: str, uri: str, dim: int, description: dict | None = None):
        self.kind, self.uri, self.dim = kind, uri, int(dim)
        self.description = description or {}
        self.collection = self.description.get("collection") or f"qa_{secrets.token_hex(8)}"
        self._client = None
        self._pending_ids: np.ndarray | None = None  # built, not saved yet
        self._pending: np.ndarray | None = None
        self._terms = None  # scipy CSR (passages x vocabulary) of BM25 weights, until saved
        self.vocab: dict[str, int] = {}
        self.scale = 1.0

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def create(cls, kind: str, location: str, ids: Sequence[int], vectors: np.ndarray) -> MilvusStore:
        store = cls(kind, location, vectors.shape[1])
        store._pending_ids = np.asarray(ids, dtype=np.int64)
        store._pending = np.ascontiguousarray(vectors, dtype=np.float32)
        return store

    def attach_lexical(self, bm25) -> None:
        """Take the passages' BM25 weights from a built qa.indexing.lexical.BM25 (bm25s) index."""
        import scipy.sparse as sp

        s = bm25.engine.scores
        n = int(s["num_docs"])
        csc = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(n, len(s["indptr"]) - 1))
        self._terms = csc.tocsr()
        self.vocab = dict(bm25.engine.vocab_dict)
        self.scale = bm25._scale

    def save(self, folder: Path) -> dict:
        """Create the collection and write everything; return the manifest entry."""
        folder = Path(folder)
        lite = self.kind == "milvus-lite"
        uri = str(folder / LITE_DB) if lite and not self.uri else self.uri
        client = _client(uri)
        try:
            self._create_collection(client)
            self._insert(client)
            client.flush(self.collection)
        finally:
            client.close()
            if lite:
                _release_lite(Path(uri))
        files = []
        if self.vocab:
            (folder / VOCAB).write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
            files.append(VOCAB)
        self.description = {
            "kind": self.kind,
            "collection": self.collection,
            # milvus-lite inside the version folder is found relative to it; a server by its address
            **({"uri": self.uri} if self.uri else {"path": LITE_DB}),
            "index": self._index_type(),
            "metric": "inner product over L2-normalized vectors",
            "count": int(len(self._pending_ids)),
            "lexical": bool(self.vocab),
            "bm25_scale": self.scale,
            "files": files,  # the milvus-lite folder is Milvus's own business: not hashed
        }
        self._pending = self._pending_ids = self._terms = None
        return self.description

    def _index_type(self) -> str:
        n = len(self._pending_ids) if self._pending_ids is not None else self.description.get("count", 0)
        return "FLAT" if n < EXACT_BELOW else "HNSW"

    def _create_collection(self, client) -> None:
        from pymilvus import DataType

        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        if self._terms is not None:
            schema.add_field("terms", DataType.SPARSE_FLOAT_VECTOR)
        params = client.prepare_index_params()
        if self._index_type() == "FLAT":
            params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        else:
            params.add_index(
                field_name="vector",
                index_type="HNSW",
                metric_type="IP",
                params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
            )
        if self._terms is not None:
            params.add_index(field_name="terms", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        client.create_collection(self.collection, schema=schema, index_params=params)

    def _rows(self, start: int, end: int) -> list[dict]:
        rows = []
        for r in range(start, end):
            row = {"id": int(self._pending_ids[r]), "vector": self._pending[r].tolist()}
            if self._terms is not None:
                lo, hi = self._terms.indptr[r], self._terms.indptr[r + 1]
                terms = dict(zip(self._terms.indices[lo:hi].tolist(), self._terms.data[lo:hi].tolist()))
                row["terms"] = terms or {0: 0.0}  # Milvus refuses an empty sparse vector
            rows.append(row)
        return rows

    def _insert(self, client) -> None:
        for start in range(0, len(self._pending_ids), _BATCH):
            client.insert(self.collection, self._rows(start, min(start + _BATCH, len(self._pending_ids))))

    # -- opening and searching ----------------------------------------------------------------
    @classmethod
    def open(cls, description: dict, folder: Path) -> MilvusStore:
        kind = description["kind"]
        uri = description.get("uri") or str(Path(folder) / description.get("path", LITE_DB))
        store = cls(kind, description.get("uri", ""), description.get("dim", 0), description)
        store._lite_path = None if description.get("uri") else uri
        store._client = _client(uri)
        store._client.load_collection(store.collection)
        if not store.dim:
            fields = store._client.describe_collection(store.collection)["fields"]
            store.dim = next(int(f["params"]["dim"]) for f in fields if f["name"] == "vector")
        if description.get("lexical"):
            store.vocab = json.loads((Path(folder) / VOCAB).read_text(encoding="utf-8"))
            store.scale = float(description.get("bm25_scale", 1.0))
        return store

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            if getattr(self, "_lite_path", None):
                _release_lite(Path(self._lite_path))
            self._client = None

    def count(self) -> int:
        if self._pending_ids is not None:
            return int(len(self._pending_ids))
        # count(*) sees deletions; the collection statistics do not until a compaction.
        rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(int(k), self.count())
        if k <= 0:
            return []
        q = np.asarray(query, np.float32).reshape(-1)
        if self._pending is not None:
            scores = self._pending @ q
            top = np.argsort(-scores, kind="stable")[:k]
            return [(int(self._pending_ids[i]), float(scores[i])) for i in top]
        params = {"metric_type": "IP", **({"params": {"ef": HNSW_EF_SEARCH}} if self._index_type() == "HNSW" else {})}
        hits = self._client.search(
            self.collection, [q.tolist()], limit=k, anns_field="vector", search_params=params, output_fields=["id"]
        )[0]
        return [(int(h["id"]), float(h["distance"])) for h in hits]

    def search_terms(self, term_ids: Sequence[int], k: int) -> list[tuple[int, float]]:
        """BM25 in the engine: passages by the sum of their weights for these vocabulary ids, best first."""
        if not len(term_ids) or k <= 0:
            return []
        query = {int(t): 1.0 for t in term_ids}
        # A little more than k, so ties at the cut are settled by passage id, as bm25s's are.
        hits = self._client.search(
            self.collection,
            [query],
            limit=min(2 * k + 10, 16384),
            anns_field="terms",
            search_params={"metric_type": "IP"},
            output_fields=["id"],
        )[0]
        found = sorted(
            ((int(h["id"]), abs(float(h["distance"])) * self.scale) for h in hits if h["distance"]),
            key=lambda x: (-round(x[1], 5), x[0]),
        )
        return found[:k]

    def write(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        rows = [{"id": int(i), "vector": np.asarray(v, np.float32).tolist()} for i, v in zip(ids, vectors)]
        if self.description.get("lexical"):
            for row in rows:
                row["terms"] = {0: 0.0}
        self._client.upsert(self.collection, rows)
        self._client.flush(self.collection)

    def delete(self, ids: Sequence[int]) -> None:
        self._client.delete(self.collection, ids=[int(i) for i in ids])
        self._client.flush(self.collection)

    def vectors(self) -> np.ndarray:
        if self._pending is not None:
            order = np.argsort(self._pending_ids)
            return self._pending[order]
        n = self.count()
        out = np.zeros((n, self.dim), np.float32)
        for start in range(0, n, _BATCH):
            rows = self._client.query(
                self.collection,
                filter=f"id >= {start} and id < {start + _BATCH}",
                output_fields=["id", "vector"],
                limit=_BATCH,
            )
            for row in rows:
                if row["id"] < n:
                    out[row["id"]] = row["vector"]
        return out

    def drop(self) -> None:
        """Remove the collection (a server-side version that is no longer kept)."""
        if self._client is not None:
            self._client.drop_collection(self.collection)


class MilvusLexical:
    """The BM25 side answered by the Milvus collection's sparse `terms` (same API as qa.indexing.lexical.BM25)."""

    FILES = ()  # the vocabulary is the store's file

    def __init__(self, store: MilvusStore, n: int):
        from qa.indexing.lexical import tokens

        self.store, self.n, self.tokenize = store, n, tokens

    def __len__(self) -> int:
        return self.n

    # The server's BM25 cannot credit terms a passage holds without writing them
    # (qa.indexing.lexical.BM25.top's `implied`): the retriever does not ask it a second time for them.
    IMPLIED = False

    def top(self, query: str, k: int, implied=None) -> list[tuple[int, float]]:
        """The k best passages by the server's BM25 (`implied` is ignored: IMPLIED)."""
        vocab = self.store.vocab
        ids = list(dict.fromkeys(vocab[t] for t in self.tokenize(query) if t in vocab))
        return self.store.search_terms(ids, k)

    def save(self, folder: Path) -> None:
        """Nothing to write: the terms go into Milvus with the vectors."""
