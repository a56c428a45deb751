"""The per-corpus lexicon: its file format, the general mechanisms without it, and the index's own copy."""

from __future__ import annotations

import json
import shutil

import pytest

from qa.documents.discovery import discover
from qa.errors import IndexCorruptError, IndexMissingError
from qa.indexing import store
from qa.indexing.synonyms import FILE, Lexicon
from tests.conftest import REPORT, ROOT

SYNONYMS = "# a comment\n保护\t维护\n危险废物\t=\n隐患\t危险\n\nministry of ecology and environment\t生态环境部\nparty secretary\t党组书记\n"


def test_variants_rewrite_both_ways_and_protect_phrases():
    lex = Lexicon(SYNONYMS)
    assert lex.normalize("生态环境维护") == "生态环境保护"
    assert lex.normalize("危险废物和危险") == "危险废物和隐患"  # "=" keeps the real phrase
    assert lex.variants == {"维护": "保护", "危险废物": "危险废物", "危险": "隐患"}
    assert lex.glossary == {"ministry of ecology and environment": "生态环境部", "party secretary": "党组书记"}


def test_without_a_file_only_the_general_mechanisms_apply():
    plain = Lexicon()
    # The report's rules (法律->执法, 世界->国际, 部分->部门) must not touch other corpora.
    assert plain.normalize("法律 世界 部分") == "法律 世界 部分"
    assert plain.normalize("麻省理工學院位於哪個城市") == "麻省理工学院位于哪个城市"
    report = Lexicon.read(ROOT / "data" / FILE)
    assert report.normalize("法律 世界 部分") == "执法 国际 部门"
    assert Lexicon.read(None).version == plain.version == Lexicon.read(ROOT / "no-such-file.tsv").version


def test_traditional_variants_in_the_file_match_simplified_text():
    lex = Lexicon("保護\t維護\n")
    assert lex.normalize("環境維護") == "环境保护"


def test_version_is_the_content_hash():
    assert Lexicon(SYNONYMS).version == Lexicon(SYNONYMS).version
    assert Lexicon(SYNONYMS).version != Lexicon(SYNONYMS + "建设\t制作\n").version != Lexicon().version


def test_english_terms_glossary_first_then_cedict():
    lex = Lexicon(SYNONYMS)
    terms = lex.english_terms("Who is the Party secretary of the Ministry of Ecology and Environment?").split()
    assert terms == ["党组书记", "生态环境部"]  # every content word covered by the glossary
    general = Lexicon().english_terms("Who is the Party secretary of the Ministry of Ecology and Environment?")
    assert "生态" in general and "党组书记" not in general  # CC-CEDICT alone: word by word
    assert "湾仔" in Lexicon().english_terms("How old is the Ruttonjee Hospital in Wan Chai?")
    assert "医院" in Lexicon().english_terms("How old is the Ruttonjee Hospital in Wan Chai?")


def test_a_possessive_does_not_hide_its_word():
    terms = Lexicon().english_terms("What share of New Taipei's workforce works in China's factories?").split()
    assert "新北市" in terms and "中国" in terms
    assert "西安" in Lexicon().english_terms("How far is Xi'an from here?")  # an apostrophe between syllables stays


def test_discovery_does_not_index_corpus_files(tmp_path):
    (tmp_path / "a.txt").write_text("正文。", encoding="utf-8")
    (tmp_path / "synonyms.tsv").write_text(SYNONYMS, encoding="utf-8")
    (tmp_path / "examples.txt").write_text("问题？\n", encoding="utf-8")
    files, skipped = discover([tmp_path], (".txt",))
    assert [f.name for f in files] == ["a.txt"] and skipped == []


def test_build_keeps_the_corpus_files_and_the_index_uses_its_copy(fake_build, tmp_path):
    settings, index, _ = fake_build()
    report = Lexicon.read(REPORT.parent / FILE)
    assert index.manifest["lexicon"] == report.version
    assert index.manifest["corpus_files"] == ["examples.txt", "synonyms.tsv"]
    (tmp_path / "data" / FILE).unlink()  # the source changes; the built index does not
    loaded = store.load(settings.index_dir)
    assert loaded.lexicon.version == report.version
    assert loaded.lexicon.normalize("法律") == "执法"
    assert loaded.examples[0] == "2023年生态环境保护的重点任务有哪些？"
    assert REPORT.name in {d["name"] for d in loaded.documents} and len(loaded.documents) == 1


def test_an_index_without_the_file_has_the_general_lexicon(fake_build, tmp_path):
    docs = tmp_path / "plain"
    docs.mkdir()
    shutil.copy(REPORT, docs / REPORT.name)
    settings, index, _ = fake_build([docs])
    loaded = store.load(settings.index_dir)
    assert loaded.manifest["lexicon"] == Lexicon().version and loaded.corpus_files == {}
    assert loaded.lexicon.normalize("法律") == "法律" and loaded.examples == []


def test_a_changed_copy_in_the_index_is_reported(fake_build):
    settings, index, _ = fake_build()
    vdir = store.current_dir(settings.index_dir)
    (vdir / FILE).write_text(SYNONYMS, encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="synonyms.tsv does not match"):
        store.load(settings.index_dir)
    manifest = json.loads((vdir / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][FILE] = store._sha(vdir / FILE)  # a consistent-looking edit still disagrees with "lexicon"
    (vdir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="another version of the matching normalization"):
        store.load(settings.index_dir)


class _Examples:
    """A service stub for the UI's "Try" buttons."""

    def __init__(self, examples=None):
        self._examples = examples

    def examples(self):
        if self._examples is None:
            raise IndexMissingError("no index")
        return self._examples


def test_try_buttons_show_the_corpus_examples_and_hide_the_rest():
    from qa.serving.app import MAX_EXAMPLES, example_updates, examples_of

    label, *buttons = example_updates(_Examples(["问一？", "问二？"]))
    assert label["visible"] is True and len(buttons) == MAX_EXAMPLES
    assert [(b["value"], b["visible"]) for b in buttons[:3]] == [("问一？", True), ("问二？", True), ("", False)]
    label, *buttons = example_updates(_Examples([]))  # a corpus without examples.txt: no buttons, no label
    assert label["visible"] is False and not any(b["visible"] for b in buttons)
    assert examples_of(_Examples(None)) == []  # no index yet
    assert examples_of(_Examples([f"q{i}" for i in range(9)])) == [f"q{i}" for i in range(MAX_EXAMPLES)]


def test_the_page_offers_the_served_corpus_examples_not_the_report_s():
    from fastapi.testclient import TestClient

    from qa.serving.app import create_app
    from tests.test_api import StubService

    class Other(StubService):
        def examples(self):
            return ["这台净化器的滤网多久更换一次？"]

    with TestClient(create_app(Other())) as client:
        config = client.get("/config").text
    assert "这台净化器的滤网多久更换一次？" in config and "尾矿库" not in config


def test_english_questions_fuse_with_their_own_lexical_weight(fake_build, monkeypatch):
    from qa.search import retriever

    settings, index, emb = fake_build(english_lexical_weight=0.25)
    seen = []
    zscore = retriever.FUSIONS["zscore"]
    monkeypatch.setitem(retriever.FUSIONS, "zscore", lambda d, lx, s: seen.append(s.lexical_weight) or zscore(d, lx, s))
    r = retriever.Retriever(index, emb, settings)
    r.search("What are the key tasks for 2023?")
    r.search("2023年的重点任务有哪些？")
    assert seen == [0.25, settings.lexical_weight]


def test_traditional_questions_meet_simplified_passages_and_citations_stay_original(fake_build, tmp_path):
    from qa.search.retriever import Retriever

    docs = tmp_path / "zh"
    docs.mkdir()
    lines = [
        "蓝鲸湾水库于二〇一九年建成，总库容为三点七亿立方米。",
        "城市图书馆周末开放到晚上九点。",
        "高铁站位于城市东部。",
    ]
    (docs / "a.txt").write_text("\n".join(lines), encoding="utf-8")
    settings, index, emb = fake_build([docs])
    assert index.lexical.top(index.lexicon.normalize("圖書館週末開放嗎"), 1)[0][0] == 1  # passage 1: the library
    hits = Retriever(index, emb, settings).search("圖書館週末開放到幾點？").hits
    assert (hits[0].doc, hits[0].paragraph) == ("a.txt", 2)
    assert index.paragraphs[("a.txt", 2)] == lines[1]  # shown as written


def test_cedict_definitions_that_name_no_meaning_are_dropped():
    from qa.indexing.cedict import phrases_of

    assert phrases_of("to protect; to defend") == ["protect", "defend"]
    assert phrases_of("(bound form) to bless") == ["bless"]
    assert phrases_of("surname Wang") == [] and phrases_of("variant of 保護|保护[bao3 hu4]") == []
    assert phrases_of("CL:個|个[ge4]") == [] and phrases_of("abbr. for 中華人民共和國") == []
    assert phrases_of("Wan Chai district of Hong Kong") == ["wan chai"]  # the name; the whole is too long
    assert phrases_of("New Taipei City, administrative district") == [
        "new taipei city",
        "administrative district",
        "new taipei",
    ]


def test_cedict_prefers_common_words_and_reads_plurals():
    from qa.indexing import cedict

    assert cedict.index()["protect"][0] == "保护"  # not 庇 or 祐
    assert cedict.terms("key tasks") == ["要务", "重点", "任务"]  # the phrase, then its words
    assert "城市" in cedict.terms("cities")


def test_cedict_gives_the_senses_a_corpus_uses_first():
    from qa.indexing import cedict
    from qa.indexing.pinyin import Names

    question = "How big is the fine for felling a protected tree?"
    assert "优良" in cedict.terms(question) and "罚款" not in cedict.terms(question)  # the common sense
    used = {"罚款", "保护", "树木"}.__contains__
    chosen = cedict.terms(question, used)
    assert "罚款" in chosen and "优良" in chosen  # the sense the corpus writes, beside the common ones
    assert [w for w in chosen if w != "罚款"] == cedict.terms(question)  # nothing else changes
    assert cedict.terms("How big is it?", used) == cedict.terms("How big is it?")  # none used: as without
    # the lexicon chooses for retrieval, and gives abstention the dictionary's words unchosen
    lexicon = Lexicon(names=Names(lambda: ["罚款", "罚", "款", "保护", "树木"]))
    assert "罚款" in lexicon.english_terms(question).split()
    assert "罚款" not in lexicon.english_terms(question, chosen=False).split()


def test_cedict_plain_words_are_never_proper_nouns():
    from qa.indexing import cedict

    assert all(cedict.plain(w) for w in ("师傅", "东西", "大坝", "城市"))
    # a proper noun (capitalized pinyin) in any entry: 大都 is also Khanbaliq; words CC-CEDICT lacks
    assert not any(cedict.plain(w) for w in ("北京", "黄河", "大都", "苇宁", "河里"))


def test_cedict_proper_nouns_only_for_capitalized_words():
    from qa.indexing import cedict

    # "jobs" is Steve Jobs (乔布斯) in CC-CEDICT; lowercase in a cased question it is work
    assert "乔布斯" not in cedict.terms("How many new urban jobs were created in 2026?")
    assert "工作" in cedict.terms("How many new urban jobs were created in 2026?")
    assert "乔布斯" in cedict.terms("What did Steve Jobs found?")
    assert "乔布斯" in cedict.terms("what did steve jobs found")  # all lowercase: capitals say nothing
    assert "湾仔" in cedict.terms("Which movie has a scene set in Wan Chai?")
    assert cedict.terms("the Jesuits")[:1] == ["耶稣会"]  # a name's function words are not lowercase words
