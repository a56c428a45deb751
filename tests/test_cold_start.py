"""What a first question no longer scans: abstention's paragraph statistics stored by the build (and
counted as before for an index built without them), the retriever's per-paragraph facts found lazily."""

import json

import pytest

from qa.answering import abstain, kinds
from qa.errors import IndexCorruptError
from qa.indexing import store
from qa.search.retriever import Retriever, reference_year

QUESTIONS = (
    "2023年生态环境保护的重点任务有哪些？",
    "全国完成了多少座尾矿库环境风险排查？",
    "会议什么时候召开？",
    "谁出席了会议并讲话？",
    "去年地级及以上城市细颗粒物平均浓度是多少？",
    "今天天气怎么样？",
    "What are the key tasks for 2023?",
)


def _signals(index, embedder, settings) -> list[dict]:
    abstain._LAST[:] = [None, None]  # no corpus left over from another index
    retriever = Retriever(index, embedder, settings)
    return [abstain.signals(retriever.search(q), index, settings.abstain_top_k) for q in QUESTIONS]


def _drop_stats(settings):
    """Make the current version look built before the statistics were stored: no file, no manifest entry."""
    vdir = store.current_dir(settings.index_dir)
    (vdir / store.STATS).unlink()
    manifest = json.loads((vdir / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"][store.STATS]
    (vdir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def test_the_build_stores_the_statistics_abstention_would_count(fake_build):
    settings, built, _ = fake_build()
    vdir = store.current_dir(settings.index_dir)
    manifest = json.loads((vdir / "manifest.json").read_text(encoding="utf-8"))
    assert store.STATS in manifest["files"]  # listed and hashed like every file of the version
    index = store.load(settings.index_dir)
    assert index.stats is None and index.stats_file == vdir / store.STATS  # not read to open the index
    counted = abstain.corpus_statistics(index.paragraphs.values(), index.lexicon.normalize)
    stored = index.corpus_stats()
    assert stored == counted == built.stats
    # what _corpus counted before they were stored, written out here as it was
    texts = {k: index.lexicon.normalize(v).lower() for k, v in index.paragraphs.items()}
    df: dict = {}
    for t in texts.values():
        for g in abstain.bigrams(t):
            df[g] = df.get(g, 0) + 1
    assert stored["bigrams"] == df and stored["paragraphs"] == len(texts) == 26
    assert stored["chars"]["会"] == sum("会" in t for t in texts.values()) > 0


def test_signals_are_the_same_from_stored_and_counted_statistics(fake_build, monkeypatch):
    settings, _, embedder = fake_build()
    index = store.load(settings.index_dir)
    counting = abstain.corpus_statistics
    monkeypatch.setattr(abstain, "corpus_statistics", lambda *a: pytest.fail("counted although stored"))
    stored = _signals(index, embedder, settings)
    corpus = abstain._corpus(index)
    assert 0 < len(corpus.texts) < len(index.paragraphs)  # only the paragraphs questions reached
    monkeypatch.setattr(abstain, "corpus_statistics", counting)

    _drop_stats(settings)
    old = store.load(settings.index_dir)
    assert old.stats_file is None and old.corpus_stats() is None
    counted = _signals(old, embedder, settings)
    assert abstain._corpus(old).n == len(old.paragraphs)
    assert counted == stored
    assert any(s["cover_top"] > 0 for s in stored) and any(s["chars_topk"] > 0 for s in stored)


def test_an_index_without_statistics_still_answers_and_the_next_build_adds_them(fake_build):
    from qa.serving.service import QAService

    settings, _, embedder = fake_build()
    with_stats = QAService(settings, embedder=embedder).ask(QUESTIONS[1])
    _drop_stats(settings)
    abstain._LAST[:] = [None, None]
    without = QAService(settings, embedder=embedder).ask(QUESTIONS[1])
    assert without == with_stats and with_stats.citations  # the fake embedder declines; its closest paragraphs
    settings, _, _ = fake_build(embedder=embedder)
    assert store.load(settings.index_dir).corpus_stats()["method"] == abstain.STATS_METHOD


def test_statistics_of_another_method_are_counted_again(fake_build):
    settings, _, embedder = fake_build()
    index = store.load(settings.index_dir)
    index.stats = dict(index.corpus_stats(), method="another way", paragraphs=1)
    abstain._LAST[:] = [None, None]
    assert abstain._corpus(index).n == len(index.paragraphs) == 26


def test_a_damaged_or_missing_statistics_file_is_reported(fake_build):
    settings, _, _ = fake_build()
    path = store.current_dir(settings.index_dir) / store.STATS
    path.write_text(path.read_text(encoding="utf-8").replace('"paragraphs": 26', '"paragraphs": 27'), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match=f"{store.STATS} does not match manifest.json.*qa build"):
        store.load(settings.index_dir)
    path.unlink()
    with pytest.raises(IndexCorruptError, match=f"{store.STATS} is missing.*qa build"):
        store.load(settings.index_dir)


def test_a_statistics_file_removed_after_loading_is_counted_instead(fake_build):
    settings, _, _ = fake_build()
    index = store.load(settings.index_dir)
    index.stats_file.unlink()  # the version collected after two newer builds
    assert index.corpus_stats() is None
    abstain._LAST[:] = [None, None]
    assert abstain._corpus(index).n == 26


def test_the_retriever_reads_no_paragraph_to_start_and_its_bonus_is_the_scan_s(fake_build, monkeypatch):
    settings, _, embedder = fake_build()
    everything = store.load(settings.index_dir).paragraphs
    index = store.load(settings.index_dir)
    for name in ("documents", "paragraphs"):
        monkeypatch.setattr(store.Index, name, property(lambda self: pytest.fail("scanned at start")), raising=False)
    retriever = Retriever(index, embedder, settings)  # cheap: no paragraph read
    monkeypatch.undo()
    for question in ("会议什么时候召开？", "谁出席了会议并讲话？"):
        keys = list(everything)
        bonus = retriever._answer_type_bonus(question, keys)
        scan = {  # the whole-corpus scan the constructor used to make, restricted to the candidates
            k: 1.0
            * sum(1 for kind in kinds.asked(question) if kind.name in kinds.BONUS_KINDS and kind.stated.search(t))
            for k, t in everything.items()
        }
        assert bonus == {k: v for k, v in scan.items() if v}
        assert bonus  # the report states dates and names office-holders
    assert retriever.reference_year == reference_year(index) == 2023
    assert retriever.search("去年完成了什么？").query == "2022年完成了什么？"


def _years_by_scan(paragraphs, list_items) -> dict:
    """Index.paragraph_years as it was computed before: every paragraph, then list by list."""
    from qa.text import YEAR

    out = {key: set(YEAR.findall(text)) for key, text in paragraphs.items()}
    for intro, items in list_items.items():
        for item in items:
            out[item] = out[item] | out.get(intro, set())
    return out


def test_paragraph_years_found_lazily_equal_the_scan_of_every_paragraph(fake_build):
    from qa.indexing.store import ParagraphYears

    settings, _, _ = fake_build()
    index = store.load(settings.index_dir)
    assert index.list_items  # the report's lists (一是… 二是…)
    lazy = index.paragraph_years
    assert isinstance(lazy, ParagraphYears) and not lazy._cache  # nothing found before it is read
    assert dict(lazy) == _years_by_scan(index.paragraphs, index.list_items)
    assert any(lazy[item] - set(lazy._before(item, 0)) for items in index.list_items.values() for item in items)
    # nested lists, in an order where an intro is an item of a list before and of one after its own
    paragraphs = {("d", n): text for n, text in enumerate(["2020年", "2021年", "x", "y", "2022年", "z"], 1)}
    lists = {("d", 1): [("d", 2), ("d", 3)], ("d", 3): [("d", 4)], ("d", 5): [("d", 3), ("d", 6)], ("d", 9): [("d", 6)]}
    nested = ParagraphYears(paragraphs, lists)
    assert dict(nested) == _years_by_scan(paragraphs, lists)
    assert nested[("d", 4)] == {"2020"} and nested[("d", 3)] == {"2020", "2022"} and nested.get(("d", 7)) is None
