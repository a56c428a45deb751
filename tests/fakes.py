"""Test doubles for the logic around the real components (never the only test of retrieval)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


class FakeEmbedder:
    """Deterministic bag of character bigrams hashed into `dim` buckets, L2-normalized.

    Texts sharing bigrams get similar vectors, so ranking logic can be tested without a
    model; queries and passages embed the same way. `calls` records (kind, batch size).
    """

    def __init__(self, dim: int = 64):
        if dim <= 0:
            raise ValueError(f"dim must be > 0, got {dim}")
        self.name = f"fake-bigrams-{dim}"
        self.dim = dim
        self.calls: list[tuple[str, int]] = []

    def embed_batch(self, texts: Sequence[str], kind: str) -> np.ndarray:
        """Embed texts as `kind` ("query" or "passage"); returns (len(texts), dim) float32."""
        if kind not in ("query", "passage", "span"):
            raise ValueError(f"kind must be 'query' or 'passage', got {kind!r}")
        self.calls.append((kind, len(texts)))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in zip(out, texts):
            padded = f"\x02{text.lower()}\x03"  # boundary marks make 1-char texts hashable too
            for a, b in zip(padded, padded[1:]):
                row[zlib.crc32((a + b).encode("utf-8")) % self.dim] += 1.0
            row /= np.linalg.norm(row)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text], "query")[0]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_batch(texts, "passage")


class PoolingFakeEmbedder(FakeEmbedder):
    """A FakeEmbedder that, like the ONNX runner, also gives a vector for each character range of a
    passage from the same call (here: the range's text embedded the fake way). `spans` records the
    ranges asked for."""

    def __init__(self, dim: int = 64):
        super().__init__(dim)
        self.name = f"fake-bigrams-{dim}"  # the same vectors as FakeEmbedder's, so the same model
        self.spans: list[tuple[str, int, int]] = []

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]):
        vectors = self.embed_batch(texts, "passage")
        pooled = []
        for text, ranges in zip(texts, spans):
            self.spans.extend((text, a, b) for a, b in ranges)
            pooled.append([FakeEmbedder.embed_batch(self, [text[a:b]], "span")[0] if b <= len(text) else None
                           for a, b in ranges])  # fmt: skip
        return vectors, pooled
