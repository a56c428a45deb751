"""Incremental builds (content-keyed paragraphs) and one build at a time per index folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import IndexBusyError
from qa.indexing import builder as indexer
from qa.indexing import store, versions
from qa.serving.service import QAService
from tests.conftest import REPORT, ROOT, run_qa
from tests.fakes import FakeEmbedder

WETLAND = "星河湾湿地公园简介\n星河湾湿地公园在2023年共记录到候鸟217种，其中黑脸琵鹭首次在园区越冬。\n"
NOTE = "第一段说明文字。\n第二段说明文字，写的是另一件事。\n"


def _setup(tmp_path, name="case"):
    root = tmp_path / name
    (root / "data").mkdir(parents=True)
    shutil.copy(REPORT, root / "data" / REPORT.name)
    (root / "data" / "note.txt").write_text(NOTE, encoding="utf-8")
    return Settings(index_dir=root / "index", data_dir=root / "data", cache_dir=root / "cache")


def _build(settings, embedder=None, reuse=True):
    embedder = embedder or FakeEmbedder()
    return indexer.build([settings.data_dir], settings, embedder, reuse=reuse), embedder


def _embedded(embedder) -> int:
    return sum(n for kind, n in embedder.calls if kind == "passage")


def _same_index(a, b):
    assert a.passages == b.passages
    assert a.sentences == b.sentences
    assert np.allclose(a.passage_matrix(), b.passage_matrix())
    assert np.allclose(a.sentence_vectors, b.sentence_vectors)
    assert a.lexical == b.lexical
    assert [d["paragraphs"] for d in a.documents] == [d["paragraphs"] for d in b.documents]


def test_adding_a_document_embeds_only_its_paragraphs_and_equals_a_full_build(tmp_path):
    settings = _setup(tmp_path)
    first, full_embedder = _build(settings)
    (settings.data_dir / "wetland.txt").write_text(WETLAND, encoding="utf-8")
    second, embedder = _build(settings)
    assert _embedded(embedder) == 4  # wetland.txt: 2 paragraphs, each 1 passage + 1 sentence
    assert _embedded(full_embedder) > 50
    assert second.manifest["reused"] == {"paragraphs": first.manifest["reused"]["embedded"], "embedded": 2}
    assert second.manifest["parent"] == first.version
    fresh = _setup(tmp_path, "fresh")
    shutil.copy(settings.data_dir / "wetland.txt", fresh.data_dir)
    full, _ = _build(fresh, reuse=False)
    _same_index(store.load(settings.index_dir), store.load(fresh.index_dir))
    assert full.manifest["reused"]["paragraphs"] == 0


def test_unchanged_documents_keep_their_paragraph_numbers_and_passages(tmp_path):
    settings = _setup(tmp_path)
    first, _ = _build(settings)
    (settings.data_dir / "note.txt").write_text("插入的新第一段。\n" + NOTE, encoding="utf-8")
    second, embedder = _build(settings)
    report = lambda ix: [p for p in ix.passages if p.doc == REPORT.name]  # noqa: E731
    strip = lambda ps: [(p.paragraph, p.start, p.end, p.text, p.parent) for p in ps]  # noqa: E731
    assert strip(report(first)) == strip(report(second))
    # note.txt's old paragraphs moved to numbers 2 and 3 but their text did not change: only the new one is embedded
    assert _embedded(embedder) == 2
    note = [(p.paragraph, p.text) for p in second.passages if p.doc == "note.txt"]
    assert note[0] == (1, "插入的新第一段。") and note[1][0] == 2


def test_changing_one_paragraph_embeds_only_that_paragraph(tmp_path):
    settings = _setup(tmp_path)
    _build(settings)
    text = REPORT.read_text(encoding="utf-8").splitlines()
    text[8] = text[8].replace("尾矿库", "尾矿水库")
    (settings.data_dir / REPORT.name).write_text("\n".join(text) + "\n", encoding="utf-8")
    second, embedder = _build(settings)
    assert 0 < second.manifest["reused"]["embedded"] <= 2  # paragraph 9 (and a list item it introduces, if any)
    assert any("尾矿水库" in p.text for p in second.passages if p.paragraph == 9)


def test_removing_a_document_embeds_nothing_and_it_vanishes(tmp_path):
    settings = _setup(tmp_path)
    _build(settings)
    service = QAService(settings, embedder=FakeEmbedder())
    assert "note.txt" in {d["name"] for d in service.documents()}
    (settings.data_dir / "note.txt").unlink()
    second, embedder = _build(settings)
    assert embedder.calls == []
    assert {p.doc for p in second.passages} == {REPORT.name}
    # The running service follows the new version without a restart.
    assert {d["name"] for d in service.documents()} == {REPORT.name}
    assert all(c.doc == REPORT.name for c in service.ask("第二段说明文字写的是什么？").citations)


def test_the_same_text_under_two_names_is_indexed_once(tmp_path):
    settings = _setup(tmp_path)
    shutil.copy(REPORT, settings.data_dir / "copy-of-report.txt")
    (settings.data_dir / "note-gbk.txt").write_bytes(NOTE.encode("gb18030"))  # same text, other bytes
    built, _ = _build(settings)
    assert {p.doc for p in built.passages} == {REPORT.name, "note-gbk.txt"}  # the first in name order wins
    assert sorted((d["name"], d["same_as"]) for d in built.manifest["duplicates"]) == [
        ("copy-of-report.txt", REPORT.name),
        ("note.txt", "note-gbk.txt"),
    ]
    assert next(d for d in built.documents if d["name"] == REPORT.name)["aliases"] == ["copy-of-report.txt"]
    keys = [(p.paragraph, p.text) for p in built.passages]
    assert len(keys) == len(set(keys))


def test_a_full_build_and_another_model_reuse_nothing(tmp_path):
    settings = _setup(tmp_path)
    first, _ = _build(settings)
    _, embedder = _build(settings, reuse=False)
    assert _embedded(embedder) == sum(
        n for n in (first.manifest["counts"]["passages"], first.manifest["counts"]["sentences"])
    )
    _, other = _build(settings, FakeEmbedder(dim=32))
    assert _embedded(other) == _embedded(embedder)


def test_a_damaged_current_version_is_not_reused(tmp_path):
    settings = _setup(tmp_path)
    _build(settings)
    (store.current_dir(settings.index_dir) / "sentences.npy").write_bytes(b"garbage")
    built, embedder = _build(settings)
    assert built.manifest["reused"]["paragraphs"] == 0 and built.manifest["parent"] is None
    store.load(settings.index_dir)


# ------------------------------------------------------------------------------ one build at a time

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from qa.indexing import versions
    with versions.build_lock(Path(sys.argv[1])):
        Path(sys.argv[2]).write_text("held")
        deadline = time.time() + 60
        while not Path(sys.argv[3]).exists() and time.time() < deadline:
            time.sleep(0.05)
    """
)


@pytest.fixture
def held_lock(tmp_path):
    """Another process holding an index folder's build lock until the test says go."""
    procs = []

    def hold(folder):
        flag, go = tmp_path / f"held-{len(procs)}", tmp_path / f"go-{len(procs)}"
        proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT)), str(folder), str(flag), str(go)])
        procs.append(proc)
        deadline = time.monotonic() + 30
        while not flag.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "lock holder did not start"
            time.sleep(0.05)
        return lambda: go.write_text("go")

    yield hold
    for p in procs:
        p.kill()
        p.wait()


def test_a_second_build_refuses_clearly_when_told_not_to_wait(tmp_path, held_lock):
    settings = _setup(tmp_path)
    first, _ = _build(settings)
    held_lock(settings.index_dir)
    with pytest.raises(IndexBusyError, match=r"another build of .* is running \(pid \d+"):
        _build(settings.replace(build_wait=0))
    assert versions.current_version(settings.index_dir) == first.version
    done = run_qa("build", settings.data_dir, "--index", settings.index_dir, "--wait", "0")
    assert done.returncode == 6 and "another build" in done.stderr and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_second_build_waits_then_builds_on_top_of_the_first(tmp_path, held_lock):
    settings = _setup(tmp_path)
    first, _ = _build(settings)
    release = held_lock(settings.index_dir)
    messages = []
    t0 = time.monotonic()
    (settings.data_dir / "wetland.txt").write_text(WETLAND, encoding="utf-8")
    import threading

    threading.Timer(1.0, release).start()
    second = indexer.build(
        [settings.data_dir], settings.replace(build_wait=30), FakeEmbedder(), progress=lambda f, m: messages.append(m)
    )
    assert time.monotonic() - t0 >= 0.9
    assert any("another build" in m and "waiting" in m for m in messages)
    assert second.manifest["parent"] == first.version
    assert versions.current_version(settings.index_dir) == second.version


def test_a_waiting_build_times_out_with_a_message(tmp_path, held_lock):
    settings = _setup(tmp_path)
    _build(settings)
    held_lock(settings.index_dir)
    with pytest.raises(IndexBusyError, match="did not finish within 1 s"):
        _build(settings.replace(build_wait=1))


CONCURRENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from qa.config import Settings
    from qa.indexing import builder
    from tests.fakes import FakeEmbedder

    class Slow(FakeEmbedder):
        def embed_batch(self, texts, kind):
            time.sleep(0.3)
            return super().embed_batch(texts, kind)

    s = Settings(index_dir=Path(sys.argv[1]), data_dir=Path(sys.argv[2]))
    built = builder.build([s.data_dir], s, Slow(), reuse=False)
    print(built.version, built.manifest["parent"])
    """
)


def test_two_concurrent_builds_both_publish_one_after_the_other(tmp_path):
    settings = _setup(tmp_path)
    first, _ = _build(settings)
    script = CONCURRENT.format(root=str(ROOT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(settings.index_dir), str(settings.data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-1500:] for _, err in results]
    published = dict(out.split() for out, _ in results)  # version -> parent
    # A chain, not a fork: one built on the first index, the other on that one; the later one is current.
    later = versions.current_version(settings.index_dir)
    earlier = published[later]
    assert earlier in published and published[earlier] == first.version


def test_readers_racing_publications_always_get_a_whole_version(tmp_path):
    """Loads in a loop while builds publish (and collect old versions): never an error, never a mix."""
    import threading

    settings = _setup(tmp_path)
    _build(settings)
    stop, errors, seen = threading.Event(), [], set()

    def reader():
        while not stop.is_set():
            try:
                ix = store.load(settings.index_dir)
                names = {d["name"] for d in ix.documents}
                assert {p.doc for p in ix.passages} <= names
                seen.add(ix.version)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(5):
            (settings.data_dir / f"extra{i}.txt").write_text(f"第{i}份附加文件的内容。\n", encoding="utf-8")
            _build(settings)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors == [] and len(seen) >= 3


def test_a_pooling_embedder_runs_each_passage_once_and_pools_its_sentences(tmp_path):
    from tests.fakes import PoolingFakeEmbedder

    settings = _setup(tmp_path)
    pooling = PoolingFakeEmbedder()
    index, _ = _build(settings, pooling)
    # a sentence goes through the model alone only when no passage holds it (a title line has none)
    assert len(pooling.spans) >= 0.95 * len(index.sentences)
    assert _embedded(pooling) == len(index.passages) + len(index.sentences) - len(pooling.spans)
    # every sentence's vector is its own text's, taken from inside a passage that holds it
    for (doc, para, s, e), vector in zip(index.sentences, index.sentence_vectors):
        text = index.lexicon.normalize(index.paragraphs[(doc, para)][s:e])
        assert np.allclose(vector, FakeEmbedder().embed_batch([text], "passage")[0], atol=1e-6)
    again, _ = _build(settings, PoolingFakeEmbedder())
    assert again.manifest["reused"]["embedded"] == 0
    # a build that embeds sentences alone does not reuse pooled vectors (nor the other way round)
    separate = FakeEmbedder()
    _build(settings, separate)
    assert _embedded(separate) == len(index.passages) + len(index.sentences)
