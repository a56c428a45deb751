"""The micro-batcher: concurrent queries share forward passes, each caller gets its own vectors."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from qa.serving.batcher import QueryBatcher
from tests.fakes import FakeEmbedder


class SlowModel(FakeEmbedder):
    """Each call takes 50 ms, like a forward pass; concurrent calls would be a bug (the model is not thread-safe)."""

    def __init__(self, fail_on: str | None = None):
        super().__init__()
        self.inside = 0
        self.overlaps = 0
        self.fail_on = fail_on

    def embed_batch(self, texts, kind):
        self.inside += 1
        self.overlaps += self.inside > 1
        try:
            time.sleep(0.05)
            if self.fail_on and self.fail_on in texts:
                raise RuntimeError("model failed")
            return super().embed_batch(texts, kind)
        finally:
            self.inside -= 1


def _ask_concurrently(batcher, questions):
    results, errors = {}, {}
    barrier = threading.Barrier(len(questions))

    def ask(q):
        barrier.wait()
        try:
            results[q] = batcher.embed_batch([q], "query")
        except Exception as e:  # noqa: BLE001
            errors[q] = e

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def test_concurrent_queries_are_batched_and_each_gets_its_own_vector():
    model = SlowModel()
    batcher = QueryBatcher(model)
    questions = [f"问题{i}是什么" for i in range(16)]
    t0 = time.perf_counter()
    results, errors = _ask_concurrently(batcher, questions)
    elapsed = time.perf_counter() - t0
    assert not errors and model.overlaps == 0
    reference = FakeEmbedder()
    for q in questions:
        assert np.allclose(results[q], reference.embed_batch([q], "query"))
    assert sum(batcher.batches) == 16 and len(batcher.batches) < 16 and max(batcher.batches) > 1
    assert elapsed < 16 * 0.05  # one pass per question would take 0.8 s


def test_a_lone_query_is_not_delayed_and_passages_pass_through():
    model = SlowModel()
    batcher = QueryBatcher(model)
    t0 = time.perf_counter()
    batcher.embed_batch(["一个问题"], "query")
    assert time.perf_counter() - t0 < 0.2
    batcher.embed_batch(["段落一", "段落二"], "passage")
    assert batcher.batches == [1] and model.calls == [("query", 1), ("passage", 2)]
    assert batcher.name == model.name and batcher.dim == model.dim


def test_a_failed_pass_fails_its_callers_and_the_next_batch_still_works():
    batcher = QueryBatcher(SlowModel(fail_on="坏"))
    results, errors = _ask_concurrently(batcher, ["坏", *[f"好{i}" for i in range(5)]])
    assert "坏" in errors and isinstance(errors["坏"], RuntimeError)
    assert set(results) | set(errors) == {"坏", *[f"好{i}" for i in range(5)]}
    assert batcher.embed_batch(["之后"], "query").shape == (1, 64)


def test_max_batch_is_respected():
    batcher = QueryBatcher(SlowModel(), max_batch=4)
    _ask_concurrently(batcher, [f"q{i}" for i in range(12)])
    assert max(batcher.batches) <= 4 and sum(batcher.batches) == 12
    with pytest.raises(ValueError):
        QueryBatcher(SlowModel(), max_batch=0)


def test_under_steady_load_no_caller_waits_for_the_load_to_end():
    """A leader hands over once its own query is done; it used to serve everyone until the queue emptied,
    so under steady load its own client waited for the load to end (a 60 s request in bench/load.py)."""
    feeding = threading.Event()
    stop = threading.Event()

    class Model(SlowModel):
        def embed_batch(self, texts, kind):
            feeding.set()  # from the first pass on, new questions keep arriving
            return super().embed_batch(texts, kind)

    batcher = QueryBatcher(Model())

    def feeder():
        feeding.wait(10)
        n = 0
        while not stop.is_set():
            threading.Thread(target=batcher.embed_batch, args=([f"后来的问题{n}"], "query")).start()
            n += 1
            time.sleep(0.01)

    threading.Thread(target=feeder).start()
    threading.Timer(2.0, stop.set).start()  # the load ends after 2 s
    try:
        t0 = time.perf_counter()
        batcher.embed_batch(["第一个问题"], "query")
        took = time.perf_counter() - t0
    finally:
        time.sleep(0.3)
        stop.set()
    assert took < 0.5, took  # a pass takes 0.05 s; the old leader returned only when the load ended
