"""The index on disk: round trip, manifest checks with actionable messages, atomic swap, sweeping leftovers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from qa.errors import BadInputError, IndexCorruptError, IndexMissingError
from qa.indexing import builder as indexer
from qa.indexing import store
from qa.indexing.lexical import BM25
from tests.conftest import REPORT, tree_hashes
from tests.fakes import FakeEmbedder


class FailingEmbedder(FakeEmbedder):
    """Works for `ok_batches` batches, then raises (a crash in the middle of embedding)."""

    def __init__(self, ok_batches: int = 1):
        super().__init__()
        self.ok_batches = ok_batches

    def embed_batch(self, texts, kind):
        if len(self.calls) >= self.ok_batches:
            raise RuntimeError(f"embedder died on batch {len(self.calls) + 1}")
        return super().embed_batch(texts, kind)


# ------------------------------------------------------------------------------ round trip


def test_round_trip_same_passages_vectors_manifest(fake_build):
    settings, built, emb = fake_build()
    loaded = store.load(settings.index_dir, model=emb.name, dim=emb.dim)
    assert loaded.manifest == built.manifest
    assert loaded.passages == built.passages
    assert loaded.documents == built.documents
    assert loaded.sentences == [tuple(s) for s in built.sentences]
    assert loaded.vectors.ntotal == built.vectors.ntotal == len(built.passages)
    n = loaded.vectors.ntotal
    assert np.array_equal(loaded.vectors.reconstruct_n(0, n), built.vectors.reconstruct_n(0, n))
    assert np.array_equal(loaded.sentence_vectors, built.sentence_vectors)
    assert loaded.lexical.postings == built.lexical.postings
    assert loaded.paragraphs[(REPORT.name, 15)] == "会议确认,2023年要抓好以下要点使命。"


def test_manifest_records_what_the_issue_asks(fake_build):
    settings, built, emb = fake_build(chunk_chars=120, chunk_overlap=0)
    m = json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["format_version"] == store.FORMAT_VERSION
    assert (m["model"], m["dim"]) == (emb.name, emb.dim)
    assert (m["chunking"]["chunk_chars"], m["chunking"]["chunk_overlap"]) == (120, 0)
    import hashlib

    doc = m["documents"][0]
    assert doc["name"] == REPORT.name and doc["sha256"] == hashlib.sha256(REPORT.read_bytes()).hexdigest()
    assert m["counts"]["documents"] == 1 and m["counts"]["paragraphs"] == 26
    assert m["counts"]["passages"] == len(built.passages)
    assert m["built_at"]
    assert set(m["files"]) == set(store.FILES)


def test_vectors_are_normalized_and_search_is_inner_product(fake_build):
    settings, built, emb = fake_build()
    vecs = built.vectors.reconstruct_n(0, built.vectors.ntotal)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    scores, ids = built.vectors.search(vecs[7][None, :], 3)
    assert np.isclose(scores[0][0], 1.0, atol=1e-5)  # a vector's cosine with itself
    assert np.allclose(scores[0], vecs[ids[0]] @ vecs[7], atol=1e-5)


# ------------------------------------------------------------------------------ load checks


def test_missing_index_says_what_to_run(tmp_path):
    with pytest.raises(IndexMissingError) as e:
        store.load(tmp_path / "nowhere")
    assert "qa build --index" in str(e.value) and "nowhere" in str(e.value)


def test_wrong_model_names_both_and_the_fix(fake_build):
    settings, _, emb = fake_build()
    with pytest.raises(IndexCorruptError) as e:
        store.load(settings.index_dir, model="intfloat/multilingual-e5-base")
    msg = str(e.value)
    assert emb.name in msg and "intfloat/multilingual-e5-base" in msg
    assert "qa build --index" in msg and f"QA_MODEL={emb.name}" in msg


def test_wrong_dim_is_refused(fake_build):
    settings, _, emb = fake_build()
    with pytest.raises(IndexCorruptError, match="64-dim"):
        store.load(settings.index_dir, model=emb.name, dim=384)


@pytest.mark.parametrize("name", store.FILES)
def test_missing_file_is_named(fake_build, name):
    settings, _, _ = fake_build()
    (settings.index_dir / name).unlink()
    with pytest.raises(IndexCorruptError) as e:
        store.load(settings.index_dir)
    assert name in str(e.value) and "missing" in str(e.value) and "qa build" in str(e.value)


@pytest.mark.parametrize("name", ["passages.jsonl", "vectors.faiss", "sentences.npy"])
def test_tampered_file_fails_the_hash_check(fake_build, name):
    settings, _, _ = fake_build()
    p = settings.index_dir / name
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError) as e:
        store.load(settings.index_dir)
    assert name in str(e.value) and "does not match manifest.json" in str(e.value)


def test_wrong_format_version(fake_build):
    settings, _, _ = fake_build()
    mp = settings.index_dir / "manifest.json"
    m = json.loads(mp.read_text(encoding="utf-8"))
    m["format_version"] = store.FORMAT_VERSION + 1
    mp.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as e:
        store.load(settings.index_dir)
    assert f"format {store.FORMAT_VERSION + 1}" in str(e.value) and "qa build --index" in str(e.value)


def test_garbage_manifest(fake_build):
    settings, _, _ = fake_build()
    (settings.index_dir / "manifest.json").write_bytes(b"\x00not json{")
    with pytest.raises(IndexCorruptError, match="manifest.json is unreadable"):
        store.load(settings.index_dir)


@pytest.mark.parametrize("content", ["[]", "null", "42"])
def test_manifest_that_is_not_an_object(fake_build, content):
    settings, _, _ = fake_build()
    (settings.index_dir / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        store.load(settings.index_dir)


def test_counts_disagreeing_with_files(fake_build):
    settings, _, _ = fake_build()
    mp = settings.index_dir / "manifest.json"
    m = json.loads(mp.read_text(encoding="utf-8"))
    m["counts"]["passages"] += 1
    mp.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="inconsistent"):
        store.load(settings.index_dir)


# ------------------------------------------------------------------------------ atomic swap


def test_rebuild_replaces_the_index(fake_build, tmp_path):
    settings, first, _ = fake_build()
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.txt").write_text("另一份文件的第一段。\n第二段。", encoding="utf-8")
    settings2, second, _ = fake_build([other])
    assert settings2.index_dir == settings.index_dir
    loaded = store.load(settings.index_dir)
    assert [d["name"] for d in loaded.documents] == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".index.")] == []  # no temp/old folders left


def test_build_failing_midway_leaves_previous_index_byte_identical(fake_build):
    settings, _, emb = fake_build()
    before = tree_hashes(settings.index_dir)
    failing = FailingEmbedder(ok_batches=1)
    with pytest.raises(RuntimeError, match="batch 2"):
        indexer.build([REPORT], settings, failing)
    assert len(failing.calls) == 1
    assert tree_hashes(settings.index_dir) == before
    assert store.load(settings.index_dir, model=emb.name).passages
    assert [p for p in settings.index_dir.parent.iterdir() if p.name.startswith(".index.")] == []


def test_build_with_a_bad_file_leaves_previous_index_byte_identical(fake_build, tmp_path):
    settings, _, emb = fake_build()
    before = tree_hashes(settings.index_dir)
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(REPORT, bad / "good.txt")
    (bad / "empty.txt").write_bytes(b"")
    embedder = FakeEmbedder()
    with pytest.raises(BadInputError, match="empty.txt"):
        indexer.build([bad], settings, embedder)
    assert embedder.calls == []  # refused before any embedding
    assert tree_hashes(settings.index_dir) == before
    store.load(settings.index_dir, model=emb.name)


def test_failure_while_writing_leaves_previous_index_and_no_temp(fake_build, monkeypatch):
    settings, _, emb = fake_build()
    before = tree_hashes(settings.index_dir)

    def boom(self, path):
        path.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(BM25, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        indexer.build([REPORT], settings, FakeEmbedder())
    assert tree_hashes(settings.index_dir) == before
    assert [p.name for p in settings.index_dir.parent.iterdir() if p.name.startswith(".index.")] == []
    store.load(settings.index_dir, model=emb.name)


def test_refuses_to_replace_a_folder_that_is_not_an_index(fake_build, tmp_path):
    target = tmp_path / "index"
    target.mkdir()
    (target / "precious.txt").write_text("不要删除", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="not an index"):
        fake_build()
    assert (target / "precious.txt").read_text(encoding="utf-8") == "不要删除"


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_leftovers_of_a_dead_process_are_swept(fake_build, tmp_path):
    dead = _dead_pid()
    stale_tmp = tmp_path / f".index.tmp-{dead}-123"
    stale_old = tmp_path / f".index.old-{dead}-456"
    live = tmp_path / f".index.tmp-{os.getppid()}-789"  # our parent is alive: its build may be running
    unrelated = tmp_path / ".other.tmp-1-1"
    for d in (stale_tmp, stale_old, live, unrelated):
        d.mkdir()
        (d / "vectors.faiss").write_bytes(b"partial")
    fake_build()
    assert not stale_tmp.exists() and not stale_old.exists()
    assert live.exists() and unrelated.exists()
