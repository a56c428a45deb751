"""QAService as the UI uses it: answers keep coming from the old index while a rebuild runs,
and a failed rebuild rolls back its upload and leaves the old index serving (FakeEmbedder)."""

import threading

import pytest
from conftest import tree_hashes

from qa.errors import BadInputError, IndexBusyError
from qa.serving.service import QAService
from tests.fakes import FakeEmbedder

NEW_DOC = "星河湾湿地公园简介\n星河湾湿地公园在2023年共记录到候鸟217种，其中黑脸琵鹭首次在园区越冬。\n"


class SlowEmbedder(FakeEmbedder):
    """Passage batches wait on an event, so a test can ask questions mid-rebuild."""

    def __init__(self):
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def embed_batch(self, texts, kind):
        if kind == "passage":
            self.started.set()
            assert self.release.wait(10), "test never released the rebuild"
        return super().embed_batch(texts, kind)


class FailingEmbedder(FakeEmbedder):
    def embed_batch(self, texts, kind):
        if kind == "passage":
            raise RuntimeError("embedding failed halfway")
        return super().embed_batch(texts, kind)


def _docs(service):
    return sorted(d["name"] for d in service.documents())


def test_answers_come_from_the_old_index_until_the_new_one_is_swapped_in(fake_build):
    settings, _, _ = fake_build()
    embedder = SlowEmbedder()
    embedder.release.set()
    service = QAService(settings, embedder=embedder)
    before = _docs(service)
    embedder.release.clear()
    service.save_upload("wetland.txt", NEW_DOC.encode("utf-8"))
    worker = threading.Thread(target=service.rebuild)
    worker.start()
    assert embedder.started.wait(10)
    embedder.started.clear()
    answer = service.ask("全国完成了多少座尾矿库环境风险排查？")  # mid-rebuild
    assert answer.citations and _docs(service) == before
    with pytest.raises(IndexBusyError, match="already running"):
        service.rebuild()
    embedder.release.set()
    worker.join(10)
    assert not worker.is_alive()
    assert _docs(service) == sorted(before + ["wetland.txt"])
    cited = service.ask("星河湾湿地公园记录到多少种候鸟？").citations
    assert cited[0].doc == "wetland.txt"


def test_failed_rebuild_rolls_back_the_upload_and_keeps_the_old_index(fake_build):
    settings, _, _ = fake_build()
    service = QAService(settings, embedder=FailingEmbedder())
    before_docs = _docs(service)
    before_files = tree_hashes(settings.index_dir)
    saved = service.save_upload("wetland.txt", NEW_DOC.encode("utf-8"))
    with pytest.raises(RuntimeError, match="halfway"):
        service.rebuild(rollback=[settings.data_dir / saved])
    assert not (settings.data_dir / saved).exists()
    assert tree_hashes(settings.index_dir) == before_files
    assert _docs(service) == before_docs
    assert service.ask("全国完成了多少座尾矿库环境风险排查？").citations


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("photo.png", b"\x89PNG\r\n", "unsupported"),
        ("empty.txt", b"  \n ", "empty"),
        ("blob.txt", b"\x00\x01\x02\x03" * 64, "binary"),
    ],
)
def test_bad_uploads_store_nothing(fake_build, name, data, message):
    settings, _, _ = fake_build()
    service = QAService(settings, embedder=FakeEmbedder())
    before = sorted(p.name for p in settings.data_dir.iterdir())
    with pytest.raises(BadInputError, match=message):
        service.save_upload(name, data)
    assert sorted(p.name for p in settings.data_dir.iterdir()) == before


def test_upload_names_cannot_escape_the_data_folder(fake_build):
    settings, _, _ = fake_build()
    service = QAService(settings, embedder=FakeEmbedder())
    stored = service.save_upload("../../etc/evil.txt", NEW_DOC.encode("utf-8"))
    assert stored == "evil.txt" and (settings.data_dir / "evil.txt").exists()
    assert not (settings.data_dir.parent.parent / "etc").exists()


def test_replace_corpus_can_be_restored(fake_build):
    settings, _, _ = fake_build()
    service = QAService(settings, embedder=FakeEmbedder())
    moved = service.clear_documents()
    assert moved and not any(settings.data_dir.glob("[!.]*"))  # documents and the corpus's synonyms/examples
    service.restore_documents(moved)
    assert sorted(p.name for p in settings.data_dir.glob("[!.]*")) == sorted(m.name for m in moved)
    assert {"synonyms.tsv", "examples.txt"} <= {m.name for m in moved}


def test_empty_question_is_refused_before_anything_loads(tmp_path):
    from qa.config import Settings

    service = QAService(Settings(index_dir=tmp_path / "none"), embedder=FakeEmbedder())
    with pytest.raises(BadInputError, match="empty"):
        service.ask("   ")
    assert service._state is None


def test_the_index_threshold_is_computed_once_per_loaded_index(fake_build, monkeypatch):
    from qa.answering import abstain

    settings, _, _ = fake_build()
    calls = []
    monkeypatch.setattr(abstain, "index_threshold", lambda index, retriever, s: calls.append(index) or 1.01)
    service = QAService(settings, embedder=FakeEmbedder())
    answers = [service.ask("全国完成了多少座尾矿库环境风险排查？") for _ in range(2)]
    assert len(calls) == 1 and not any(a.found for a in answers)  # a threshold above 1 declines everything


def test_an_answer_below_the_sure_level_is_marked_unsure_and_a_decline_never_is(fake_build):
    from qa.answering.abstain import Decision

    settings, _, _ = fake_build()
    service = QAService(settings.replace(sure_confidence=0.5), embedder=FakeEmbedder())
    r, _ = service.retrieve("全国完成了多少座尾矿库环境风险排查？")
    low, high = service.compose(r, Decision(True, 0.3, {})), service.compose(r, Decision(True, 0.8, {}))
    assert low.found and low.unsure and low.confidence == 0.3
    assert high.found and not high.unsure and high.confidence == 0.8
    assert low.answer == high.answer  # the caution goes beside the answer, not into it
    declined = service.compose(r, Decision(False, 0.1, {}))
    assert not declined.found and not declined.unsure
