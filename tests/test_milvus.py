"""The Milvus store for real, through milvus-lite: an index built with QA_STORE=milvus-lite answers like FAISS."""

from __future__ import annotations

import json
import shutil

import pytest

from qa.config import Settings
from qa.indexing import builder as indexer
from qa.indexing import store
from qa.indexing.lexical import BM25
from qa.serving.service import QAService
from tests.conftest import REPORT, ROOT
from tests.fakes import FakeEmbedder

pytest.importorskip("milvus_lite")


def _questions(n: int) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    return rows[:: max(1, len(rows) // n)][:n]


def _build_both(tmp_path, embedder):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(REPORT, data / REPORT.name)
    out = {}
    for kind in ("faiss", "milvus-lite"):
        settings = Settings(index_dir=tmp_path / kind, data_dir=data, cache_dir=tmp_path / "cache", store=kind)
        indexer.build([data], settings, embedder)
        out[kind] = settings
    return out


def _answers(settings, embedder, questions) -> list:
    service = QAService(settings.replace(batch_queries=False), embedder=embedder)
    out = []
    for q in questions:
        a = service.ask(q["question"], q.get("history") or [])
        out.append((a.found, a.answer, [(c.doc, c.paragraph, c.highlights) for c in a.citations]))
    return out


def test_milvus_lite_index_answers_like_faiss(tmp_path):
    embedder = FakeEmbedder()
    built = _build_both(tmp_path, embedder)
    index = store.load(built["milvus-lite"].index_dir)
    m = index.manifest
    assert m["store"]["kind"] == "milvus-lite" and m["store"]["lexical"] and m["store"]["index"] == "FLAT"
    vdir = store.current_dir(built["milvus-lite"].index_dir)
    assert (vdir / "milvus.db").is_dir() and not any((vdir / f).exists() for f in BM25.FILES)
    assert index.vectors.count() == len(index.passages)
    faiss_index = store.load(built["faiss"].index_dir)
    query = "全国完成了多少座尾矿库环境风险排查"
    ours, reference = index.lexical.top(query, 10), faiss_index.lexical.top(query, 10)  # BM25 in the engine
    assert [i for i, _ in ours] == [i for i, _ in reference]
    assert [s for _, s in ours] == pytest.approx([s for _, s in reference], rel=1e-5)
    qv = embedder.embed_query(query)
    assert [i for i, _ in index.vectors.search(qv, 10)] == [i for i, _ in faiss_index.vectors.search(qv, 10)]
    questions = _questions(25)
    assert _answers(built["milvus-lite"], embedder, questions) == _answers(built["faiss"], embedder, questions)


@pytest.mark.slow
def test_milvus_lite_gives_the_same_citations_as_faiss_on_the_report(tmp_path, bundled_model_dir):
    from qa.embedding import make_embedder

    embedder = make_embedder(Settings().model, bundled_model_dir.parents[1], Settings().backend)
    built = _build_both(tmp_path, embedder)
    questions = _questions(80)
    milvus, faiss = _answers(built["milvus-lite"], embedder, questions), _answers(built["faiss"], embedder, questions)
    assert [c for _, _, c in milvus] == [c for _, _, c in faiss]
    assert milvus == faiss
