"""Concurrent questions share one forward pass: a micro-batcher in front of the embedder.

The embedder serializes its calls (one model, one tokenizer). Without this, 16 clients asking
at once queue behind one lock and each waits for 15 single-query passes. Here the first caller
becomes the leader and embeds every query that is waiting, in one batch; callers that arrive
while a batch runs wait for the next one, which the leader runs as soon as the current one ends.
No timer: an idle server answers a lone question with no added delay, and batches form exactly
when questions arrive faster than the model can take them one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class _Request:
    __slots__ = ("texts", "result", "error", "done")

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class QueryBatcher:
    """An Embedder whose "query" calls from many threads are merged into batches of at most `max_batch` texts."""

    def __init__(self, embedder, max_batch: int = 64):
        if max_batch <= 0:
            raise ValueError(f"max_batch must be > 0, got {max_batch}")
        self.embedder = embedder
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._waiting: list[_Request] = []
        self._leading = False
        self.batches: list[int] = []  # texts per forward pass (for the load bench); bounded below

    @property
    def name(self) -> str:
        return self.embedder.name

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def __getattr__(self, attr):  # embed_query, embed_passages, cache_dir ... of the wrapped embedder
        return getattr(self.embedder, attr)

    def embed_batch(self, texts: Sequence[str], kind: str) -> np.ndarray:
        """Embed `texts`; queries from concurrent callers go through the model together."""
        if kind != "query" or not texts:
            return self.embedder.embed_batch(texts, kind)
        mine = _Request(list(texts))
        with self._cond:
            self._waiting.append(mine)
            while self._leading and not mine.done:
                self._cond.wait()
            if mine.done:
                return self._result(mine)
            self._leading = True
        try:
            self._lead(mine)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()
        return self._result(mine)

    def _lead(self, mine: _Request) -> None:
        """Run batches until this caller's own request is done, then hand over.

        A leader that kept going while others were waiting would never return under steady load
        (its own answer ready, its client starved); the next waiting caller leads instead."""
        while not mine.done:
            with self._cond:
                if not self._waiting:
                    return
                batch, size = [], 0
                while self._waiting and (not batch or size + len(self._waiting[0].texts) <= self.max_batch):
                    r = self._waiting.pop(0)
                    batch.append(r)
                    size += len(r.texts)
            texts = [t for r in batch for t in r.texts]
            try:
                vectors = self.embedder.embed_batch(texts, "query")
                error = None
            except BaseException as e:  # noqa: BLE001 - every caller in the batch gets the failure
                vectors, error = None, e
            row = 0
            with self._cond:
                for r in batch:
                    if error is None:
                        r.result = vectors[row : row + len(r.texts)]
                        row += len(r.texts)
                    r.error, r.done = error, True
                self.batches = [*self.batches[-999:], len(texts)]
                self._cond.notify_all()

    @staticmethod
    def _result(r: _Request) -> np.ndarray:
        if r.error is not None:
            raise r.error
        return r.result
