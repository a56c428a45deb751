"""The index on disk: round trip, manifest checks with actionable messages, versions, publication, leftovers."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from qa.errors import BadInputError, IndexCorruptError, IndexMissingError
from qa.indexing import builder as indexer
from qa.indexing import store, versions
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
    assert loaded.vectors.count() == built.vectors.count() == len(built.passages)
    assert np.array_equal(loaded.vectors.vectors(), built.vectors.vectors())
    assert np.array_equal(loaded.sentence_vectors, built.sentence_vectors)
    assert loaded.lexical == built.lexical
    assert loaded.lexical.top("生态环境", 5) == built.lexical.top("生态环境", 5) != []
    assert loaded.paragraphs[(REPORT.name, 15)] == "会议确认,2023年要抓好以下要点使命。"


def test_manifest_records_what_the_issue_asks(fake_build):
    settings, built, emb = fake_build(chunk_chars=120, chunk_overlap=0)
    m = json.loads((store.current_dir(settings.index_dir) / "manifest.json").read_text(encoding="utf-8"))
    assert m["format_version"] == store.FORMAT_VERSION
    assert (m["model"], m["dim"]) == (emb.name, emb.dim)
    assert (m["chunking"]["chunk_chars"], m["chunking"]["chunk_overlap"]) == (120, 0)
    import hashlib

    doc = m["documents"][0]
    assert doc["name"] == REPORT.name and doc["sha256"] == hashlib.sha256(REPORT.read_bytes()).hexdigest()
    assert m["counts"]["documents"] == 1 and m["counts"]["paragraphs"] == 26
    assert m["counts"]["passages"] == len(built.passages)
    assert m["built_at"]
    assert m["store"]["kind"] == "faiss" and m["store"]["index"] == "IndexFlatIP"  # small corpus: exact search
    assert set(m["files"]) == {*store.FILES, *BM25.FILES, *m["store"]["files"], *m["corpus_files"], store.STATS}
    assert "vectors.faiss" in m["files"] and m["corpus_files"] == ["examples.txt", "synonyms.tsv"]  # those beside it


def test_vectors_are_normalized_and_search_is_inner_product(fake_build):
    settings, built, emb = fake_build()
    vecs = built.vectors.vectors()
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    hits = built.vectors.search(vecs[7], 3)
    assert hits[0] == (7, pytest.approx(1.0, abs=1e-5))  # a vector's cosine with itself
    assert np.allclose([s for _, s in hits], vecs[[i for i, _ in hits]] @ vecs[7], atol=1e-5)


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
    (store.current_dir(settings.index_dir) / name).unlink()
    with pytest.raises(IndexCorruptError) as e:
        store.load(settings.index_dir)
    assert name in str(e.value) and "missing" in str(e.value) and "qa build" in str(e.value)


@pytest.mark.parametrize("name", ["passages.jsonl", "vectors.faiss", "sentences.npy"])
def test_tampered_file_fails_the_hash_check(fake_build, name):
    settings, _, _ = fake_build()
    p = store.current_dir(settings.index_dir) / name
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError) as e:
        store.load(settings.index_dir)
    assert name in str(e.value) and "does not match manifest.json" in str(e.value)


def test_wrong_format_version(fake_build):
    settings, _, _ = fake_build()
    mp = store.current_dir(settings.index_dir) / "manifest.json"
    m = json.loads(mp.read_text(encoding="utf-8"))
    m["format_version"] = store.FORMAT_VERSION + 1
    mp.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as e:
        store.load(settings.index_dir)
    assert f"format {store.FORMAT_VERSION + 1}" in str(e.value) and "qa build --index" in str(e.value)


def test_garbage_manifest(fake_build):
    settings, _, _ = fake_build()
    (store.current_dir(settings.index_dir) / "manifest.json").write_bytes(b"\x00not json{")
    with pytest.raises(IndexCorruptError, match="manifest.json is unreadable"):
        store.load(settings.index_dir)


@pytest.mark.parametrize("content", ["[]", "null", "42"])
def test_manifest_that_is_not_an_object(fake_build, content):
    settings, _, _ = fake_build()
    (store.current_dir(settings.index_dir) / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        store.load(settings.index_dir)


def test_counts_disagreeing_with_files(fake_build):
    settings, _, _ = fake_build()
    mp = store.current_dir(settings.index_dir) / "manifest.json"
    m = json.loads(mp.read_text(encoding="utf-8"))
    m["counts"]["passages"] += 1
    mp.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="inconsistent"):
        store.load(settings.index_dir)


# ------------------------------------------------------------------------------ versions and publication


def _leftovers(folder):
    """Anything in the index folder besides the pointer and the versions it keeps."""
    root = folder / versions.VERSIONS
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".")) + sorted(
        p.name for p in folder.iterdir() if p.name.startswith(f"{versions.POINTER}.tmp")
    )


def test_rebuild_replaces_the_index_and_keeps_only_current_and_previous(fake_build, tmp_path):
    settings, first, _ = fake_build()
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.txt").write_text("另一份文件的第一段。\n第二段。", encoding="utf-8")
    _, second, _ = fake_build([other])
    loaded = store.load(settings.index_dir)
    assert [d["name"] for d in loaded.documents] == ["b.txt"]
    assert loaded.version == second.version != first.version
    assert loaded.manifest["parent"] == first.version
    _, third, _ = fake_build()
    kept = sorted(p.name for p in (settings.index_dir / versions.VERSIONS).iterdir())
    assert kept == sorted([second.version, third.version])  # the one before the current stays for readers
    assert versions.current_version(settings.index_dir) == third.version
    assert _leftovers(settings.index_dir) == []


def test_build_failing_midway_leaves_previous_index_byte_identical(fake_build, monkeypatch):
    settings, _, emb = fake_build()
    before = tree_hashes(settings.index_dir)
    monkeypatch.setattr(indexer, "STEP", 32)  # the report's 149 texts in several calls
    failing = FailingEmbedder(ok_batches=1)
    with pytest.raises(RuntimeError, match="batch 2"):
        indexer.build([REPORT], settings, failing, reuse=False)
    assert len(failing.calls) == 1
    assert tree_hashes(settings.index_dir) == before
    assert store.load(settings.index_dir, model=emb.name).passages
    assert _leftovers(settings.index_dir) == []


def test_build_with_no_readable_file_leaves_previous_index_byte_identical(fake_build, tmp_path):
    settings, _, emb = fake_build()
    before = tree_hashes(settings.index_dir)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "blob.txt").write_bytes(b"\x00\x01" * 64)
    embedder = FakeEmbedder()
    with pytest.raises(BadInputError, match="no document could be read.*empty.txt"):
        indexer.build([bad], settings, embedder)
    assert embedder.calls == []  # refused before any embedding
    assert tree_hashes(settings.index_dir) == before
    store.load(settings.index_dir, model=emb.name)


def test_build_skips_a_bad_file_and_lists_it_in_the_manifest(fake_build, tmp_path):
    bad = tmp_path / "mixed"
    bad.mkdir()
    shutil.copy(REPORT, bad / "good.txt")
    (bad / "empty.txt").write_bytes(b"")
    settings, index, _ = fake_build([bad])
    assert [d["name"] for d in index.manifest["documents"]] == ["good.txt"]
    assert index.manifest["skipped"] == [
        {"path": str(bad / "empty.txt"), "reason": "file is empty or only whitespace; give it some text"}
    ]
    assert index.manifest["counts"]["skipped"] == 1
    assert store.load(settings.index_dir).manifest["skipped"] == index.manifest["skipped"]


def test_failure_while_writing_leaves_previous_index_and_no_temp(fake_build, monkeypatch):
    settings, _, emb = fake_build()
    before = tree_hashes(settings.index_dir)

    def boom(self, folder):
        (folder / BM25.FILES[0]).write_text("half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(BM25, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        indexer.build([REPORT], settings, FakeEmbedder())
    assert tree_hashes(settings.index_dir) == before
    assert _leftovers(settings.index_dir) == []
    store.load(settings.index_dir, model=emb.name)


def test_refuses_to_replace_a_folder_that_is_not_an_index(fake_build, tmp_path):
    target = tmp_path / "index"
    target.mkdir()
    (target / "precious.txt").write_text("不要删除", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="not an index"):
        fake_build()
    assert sorted(p.name for p in target.iterdir()) == ["precious.txt"]


def test_leftovers_of_interrupted_builds_are_removed_by_the_next_build(fake_build):
    settings, first, _ = fake_build()
    root = settings.index_dir / versions.VERSIONS
    stale_stage = root / ".tmp-20000101T000000000000Z-dead00"
    stale_version = root / "20000101T000000000000Z-0ld000"  # published by nobody: never current
    for d in (stale_stage, stale_version):
        d.mkdir()
        (d / "vectors.faiss").write_bytes(b"partial")
    (settings.index_dir / f"{versions.POINTER}.tmp-99999").write_text("x", encoding="utf-8")
    _, second, _ = fake_build()
    assert sorted(p.name for p in root.iterdir()) == sorted([first.version, second.version])
    assert _leftovers(settings.index_dir) == []


def test_a_format_1_index_is_named_and_replaced_by_the_next_build(fake_build):
    settings, _, emb = fake_build()
    folder = settings.index_dir
    vdir = store.current_dir(folder)
    for p in vdir.iterdir():  # the old flat layout: the files directly in the index folder
        if p.name in versions.LEGACY_FILES:
            shutil.copy(p, folder / p.name)
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    (folder / "manifest.json").write_text(json.dumps(dict(m, format_version=1)), encoding="utf-8")
    shutil.rmtree(folder / versions.VERSIONS)
    (folder / versions.POINTER).unlink()
    with pytest.raises(IndexCorruptError, match="format 1.*qa build --index"):
        store.load(folder)
    fake_build()
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("build.lock")) == [
        versions.POINTER,
        versions.VERSIONS,
    ]
    store.load(folder, model=emb.name)


def test_a_pointer_to_a_missing_version_is_named(fake_build):
    settings, built, _ = fake_build()
    shutil.rmtree(store.current_dir(settings.index_dir))
    with pytest.raises(IndexCorruptError, match=f"{built.version}.*missing.*qa build"):
        store.load(settings.index_dir)


@pytest.mark.parametrize("content", [b"", b"../../etc\n", b"\xff\xfe"])
def test_a_garbled_pointer_is_named(fake_build, content):
    settings, _, _ = fake_build()
    (settings.index_dir / versions.POINTER).write_bytes(content)
    with pytest.raises(IndexCorruptError, match="CURRENT.*qa build"):
        store.load(settings.index_dir)
    _, rebuilt, emb = fake_build()  # what the message says to run repairs it
    assert store.load(settings.index_dir, model=emb.name).version == rebuilt.version
