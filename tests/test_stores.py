"""Vector stores (qa/stores/) and the bm25s lexical index: one contract every backend passes, type by size, mmap."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from qa import stores
from qa.indexing.lexical import BM25, tokens
from qa.stores.faiss_store import FaissStore


def _unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _faiss_flat(ids, vectors, tmp_path):
    return FaissStore.build(ids, vectors)


def _faiss_hnsw(ids, vectors, tmp_path):
    return FaissStore.build(ids, vectors, exact_below=1)


def _milvus_lite(ids, vectors, tmp_path):
    from qa.stores.milvus_store import MilvusStore

    folder = tmp_path / "version"
    folder.mkdir()
    described = MilvusStore.create("milvus-lite", "", ids, vectors).save(folder)
    store = MilvusStore.open(described, folder)
    store.saved_in = folder
    return store


BACKENDS = {"faiss-flat": _faiss_flat, "faiss-hnsw": _faiss_hnsw, "milvus-lite": _milvus_lite}


@pytest.fixture(params=sorted(BACKENDS))
def make(request, tmp_path):
    return lambda ids, vectors: BACKENDS[request.param](ids, vectors, tmp_path)


# --------------------------------------------------------------------------- the contract


def test_search_returns_ids_and_cosines_best_first(make):
    vectors = _unit(200)
    s = make(range(200), vectors)
    assert (s.count(), s.dim) == (200, 16)
    hits = s.search(vectors[17], 5)
    assert hits[0][0] == 17 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    exact = np.argsort(-(vectors @ vectors[17]))[:5]
    assert [i for i, _ in hits] == exact.tolist()  # 200 points: HNSW is exact here too
    assert [sc for _, sc in hits] == pytest.approx((vectors[exact] @ vectors[17]).tolist(), abs=1e-5)
    assert s.search(vectors[0], 0) == [] and 190 <= len(s.search(vectors[0], 500)) <= 200  # k > count: all (HNSW: ~all)


def test_write_delete_count_keep_passage_ids(make):
    vectors = _unit(50)
    s = make(range(40), vectors[:40])
    s.write(range(40, 50), vectors[40:])
    assert s.count() == 50 and s.search(vectors[45], 1)[0][0] == 45
    s.delete([45, 3])
    assert s.count() == 48
    assert s.search(vectors[45], 1)[0][0] != 45
    assert s.search(vectors[46], 1)[0] == (46, pytest.approx(1.0, abs=1e-5))


def test_save_and_open_round_trip(make, tmp_path):
    vectors = _unit(120)
    s = make(range(120), vectors)
    folder = getattr(s, "saved_in", None) or tmp_path
    described = s.description if hasattr(s, "saved_in") else s.save(tmp_path)
    assert described["kind"] == s.kind and all((folder / f).is_file() for f in described["files"])
    loaded = stores.open_store(described, folder)
    assert loaded.count() == 120 and np.allclose(loaded.vectors(), vectors, atol=1e-6)
    assert loaded.search(vectors[9], 3) == s.search(vectors[9], 3)


# --------------------------------------------------------------------------- FAISS specifics


def test_faiss_type_follows_size():
    small = FaissStore.build(range(10), _unit(10), exact_below=11)
    large = FaissStore.build(range(11), _unit(11), exact_below=11)
    assert small.description["index"] == "IndexFlatIP"
    assert large.description["index"] == "IndexHNSWFlat" and large.description["ef_search"] >= 64


@pytest.mark.parametrize("exact_below", [10**9, 1])
def test_faiss_index_is_memory_mapped_on_load(tmp_path, exact_below):
    vectors = _unit(3000, dim=64)
    described = FaissStore.build(range(3000), vectors, exact_below=exact_below).save(tmp_path)
    loaded = FaissStore.open(described, tmp_path)
    maps = Path("/proc/self/maps").read_text()
    assert str(tmp_path / "vectors.faiss") in maps  # the file is mapped, not read into the heap
    assert loaded.search(vectors[5], 1)[0][0] == 5


def test_hnsw_recall_against_exact_search():
    # Clustered data like real passage vectors, not uniform noise.
    rng = np.random.default_rng(1)
    centers = _unit(50, dim=64, seed=2)
    x = centers[rng.integers(0, 50, 20000)] + 0.35 * rng.standard_normal((20000, 64)).astype(np.float32) / 8
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    hnsw = FaissStore.build(range(len(x)), x, exact_below=1)
    queries = x[rng.integers(0, len(x), 100)] + 0.05 * rng.standard_normal((100, 64)).astype(np.float32)
    found = 0
    for q in queries:
        exact = set(np.argsort(-(x @ q))[:10].tolist())
        found += len(exact & {i for i, _ in hnsw.search(q, 10)})
    assert found / 1000 >= 0.95


# --------------------------------------------------------------------------- QA_STORE


@pytest.mark.parametrize(
    "setting, parsed",
    [
        ("faiss", ("faiss", "")),
        ("", ("faiss", "")),
        ("milvus://db.example:19530", ("milvus", "http://db.example:19530")),
        ("https://db.example:443", ("milvus", "https://db.example:443")),
        ("milvus-lite", ("milvus-lite", "")),
    ],
)
def test_store_setting(setting, parsed):
    assert stores.parse(setting) == parsed


@pytest.mark.parametrize("setting", ["elastic://x", "faiss2", "milvus://"])
def test_bad_store_setting_says_what_works(setting):
    with pytest.raises(ValueError, match="QA_STORE"):
        stores.parse(setting)


def test_bad_store_setting_is_a_settings_error():
    from qa.config import from_env
    from qa.errors import BadInputError

    with pytest.raises(BadInputError, match="QA_STORE"):
        from_env({"QA_STORE": "redis://x"})


# --------------------------------------------------------------------------- the lexical engine


def _okapi(texts: list[str], query: str, k1=1.2, b=0.75) -> dict[int, float]:
    """Textbook Okapi BM25 with Lucene's idf, straight from the formula (the reference)."""
    docs = [Counter(tokens(t)) for t in texts]
    lengths = [sum(d.values()) for d in docs]
    avg = sum(lengths) / len(docs)
    out: dict[int, float] = {}
    for term in set(tokens(query)):
        df = sum(term in d for d in docs)
        if not df:
            continue
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            if term in d:
                tf = d[term]
                out[i] = out.get(i, 0.0) + idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[i] / avg))
    return out


TEXTS = [
    "2月16日至17日，生态环境部在京举行2023年全国生态环境保护工作会议。",
    "会议总结2022年生态环境保护工作，分析当前面临的形势。",
    "深入打好污染防治攻坚战，推进美丽中国建设。",
    "全国完成了1.6万座尾矿库环境风险排查。",
    "The conference reviewed the work of 2022 and set tasks for 2023.",
    "。。。",  # no terms at all
    "生态环境部生态环境部生态环境部",  # repeated terms: tf saturates
]


@pytest.mark.parametrize("query", ["生态环境保护工作会议", "尾矿库排查了多少座", "2023 tasks", "污染防治", "无关词语"])
def test_bm25_scores_are_textbook_okapi(query):
    ours = BM25.build(TEXTS).scores(query)
    ref = _okapi(TEXTS, query)
    assert ours.keys() == ref.keys()
    for i in ref:
        assert ours[i] == pytest.approx(ref[i], rel=1e-5)


def test_bm25_top_orders_by_score_then_id_and_survives_save_load(tmp_path):
    texts = TEXTS + TEXTS[:2]  # duplicates tie exactly
    bm = BM25.build(texts)
    top = bm.top("生态环境保护工作", 4)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    tied = [i for i, s in top if s == top[0][1]]
    assert tied == sorted(tied) and len(tied) == 2  # 0 and its copy 7 (or 1 and 8)
    bm.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(BM25.FILES)
    loaded = BM25.load(tmp_path)
    assert loaded == bm and len(loaded) == len(texts)
    assert loaded.top("生态环境保护工作", 4) == top
    assert loaded.top("", 3) == [] and loaded.top("生态", 0) == []


def test_bm25_implied_terms_count_once_where_the_passage_lacks_them(tmp_path):
    # An article's later paragraphs call its subject 该物种: their document's name counts as said once.
    texts = [
        "紫鳞兰是兰科的一种附生草本植物，紫鳞兰分布于云南南部。",
        "该物种于1962年首次采得，发现地点在勐海县南糯山。",
        "紫鳞兰的花期为每年三月至四月。",
        "雪峰银叶杉是松科的一种常绿乔木。",
    ]
    bm = BM25.build(texts)
    bm.save(tmp_path)
    query = "紫鳞兰最早在哪里发现"
    plain = bm.scores(query)
    name = set(tokens("紫鳞兰"))
    implied = {0: name, 1: name, 2: name}
    got = dict(bm.top(query, 4, implied))
    assert got[0] == pytest.approx(plain[0]) and got[2] == pytest.approx(plain[2])  # they write it
    # paragraph 1 gains each name term's idf: one occurrence at the average length
    dfs = [sum(t in tokens(x) for x in texts) for t in name]
    gain = sum(math.log(1 + (len(texts) - df + 0.5) / (df + 0.5)) for df in dfs if df)
    assert got[1] - plain.get(1, 0.0) == pytest.approx(gain, rel=1e-5)
    assert [i for i, _ in bm.top(query, 1, implied)] == [1]  # the paragraph that answers, now first
    assert [i for i, _ in bm.top(query, 1)] != [1]
    assert BM25.load(tmp_path).top(query, 4, implied) == bm.top(query, 4, implied)


def test_bm25_opens_without_bm25s_and_writes_back_what_it_read(tmp_path):
    import subprocess
    import sys
    import textwrap

    bm = BM25.build(TEXTS)
    bm.save(tmp_path / "a")
    code = textwrap.dedent(f"""
        import sys
        from qa.indexing.lexical import BM25
        bm = BM25.load({str(tmp_path / "a")!r})
        print(len(bm), bm.top("生态环境保护工作", 2)[0][0], "bm25s" in sys.modules, "scipy" in sys.modules)
    """)
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(len(TEXTS)), str(bm.top("生态环境保护工作", 2)[0][0]), "False", "False"]
    loaded = BM25.load(tmp_path / "a")
    loaded.save(tmp_path / "b")
    for name in BM25.FILES:
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "a" / name).read_bytes(), name
    assert BM25.load(tmp_path / "b") == bm


def test_bm25_of_a_corpus_without_terms():
    bm = BM25.build(["。", "！"])
    assert len(bm) == 2 and bm.top("生态", 5) == []


def test_hnsw_search_breadth_is_the_built_one_unless_set(tmp_path):
    vectors = _unit(300)
    described = FaissStore.build(range(300), vectors, exact_below=1).save(tmp_path)
    assert FaissStore.open(described, tmp_path).index.hnsw.efSearch == described["ef_search"]
    tuned = stores.open_store(described, tmp_path, ef_search=37)
    assert tuned.index.hnsw.efSearch == 37 and tuned.description["ef_search"] == 37
    assert tuned.search(vectors[4], 1)[0][0] == 4


def test_bm25_build_gives_bm25s_own_scores_bit_for_bit():
    import bm25s

    texts = TEXTS * 3 + [t[::-1] for t in TEXTS] + ["尾矿库" * 9, "A b c 12.5 a"]
    engine = bm25s.BM25(k1=1.2, b=0.75, method="lucene", idf_method="lucene")
    engine.index([tokens(t) for t in texts], show_progress=False)

    def by_pair(bm):
        s, terms = bm.engine.scores, {i: t for t, i in bm.engine.vocab_dict.items()}
        out = {}
        for col in range(len(s["indptr"]) - 1):
            lo, hi = s["indptr"][col], s["indptr"][col + 1]
            assert list(s["indices"][lo:hi]) == sorted(s["indices"][lo:hi])  # CSC: rows ascending
            out.update({(terms[col], int(r)): float(v) for r, v in zip(s["indices"][lo:hi], s["data"][lo:hi])})
        return out

    assert by_pair(BM25.build(texts)) == by_pair(BM25(engine))  # exact float32 equality
