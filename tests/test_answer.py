"""Answer composition on a FakeEmbedder index of the report: extractive sentences, [n] markers, citations, JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import numpy as np
import pytest

from qa.answering import kinds
from qa.answering.compose import NOT_FOUND, NOT_FOUND_EN, _Asked, compose
from qa.search.retriever import Retrieval, Retriever
from qa.serving.service import QAService
from qa.types import Hit
from tests.conftest import REPORT

QUESTIONS = [
    "全国完成了多少座尾矿库环境风险排查？",
    "核与辐射安全监管要做哪些工作？",
    "谁主持了开幕会？",
    "2023年要抓好以下要点使命有哪些？",
    "蓝天保卫战新增多少个城市纳入北方地区清洁取暖？",
]
MARK = re.compile(r"(.+?)\[(\d+)\]\s*")


@pytest.fixture
def pipeline(fake_build):
    settings, index, emb = fake_build()
    return index, Retriever(index, emb, settings)


def _pieces(answer: str) -> list[tuple[str, int]]:
    pieces = [(m.group(1).strip(), int(m.group(2))) for m in MARK.finditer(answer)]
    assert "".join(m.group(0) for m in MARK.finditer(answer)) == answer  # nothing outside sentence[n] pairs
    return pieces


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_answer_sentence_is_exact_text_of_its_cited_paragraph(pipeline, question):
    index, retriever = pipeline
    a = compose(retriever.search(question), index, True, max_sentences=4)
    assert a.found and a.citations
    pieces = _pieces(a.answer)
    assert pieces
    by_n = {c.n: c for c in a.citations}
    lines = REPORT.read_text(encoding="utf-8").split("\n")
    for sentence, n in pieces:
        c = by_n[n]  # every marker points at an existing citation
        assert sentence in c.text
        assert sentence in c.highlights
        assert c.text == lines[c.paragraph - 1]  # the citation's text is the whole paragraph, line n
        assert c.doc == REPORT.name


@pytest.mark.parametrize("question", QUESTIONS)
def test_markers_are_numbered_by_first_use_and_all_used(pipeline, question):
    index, retriever = pipeline
    a = compose(retriever.search(question), index, True)
    used = [n for _, n in _pieces(a.answer)]
    first_use = list(dict.fromkeys(used))
    assert first_use == list(range(1, len(first_use) + 1))
    assert [c.n for c in a.citations] == first_use  # no citation without a marker, none missing
    assert len({(c.doc, c.paragraph) for c in a.citations}) == len(a.citations)  # one citation per paragraph


@pytest.mark.parametrize("question", QUESTIONS)
def test_highlights_match_spans(pipeline, question):
    index, retriever = pipeline
    a = compose(retriever.search(question), index, True)
    for c in a.citations:
        assert len(c.highlights) == len(c.spans) >= 1
        assert list(c.spans) == sorted(c.spans)
        for h, (s, e) in zip(c.highlights, c.spans):
            assert 0 <= s < e <= len(c.text)
            assert c.text[s:e].strip() == h
            assert c.text[s:].startswith(h)


def test_answer_respects_max_sentences(pipeline):
    index, retriever = pipeline
    r = retriever.search("蓝天保卫战新增多少个城市纳入北方地区清洁取暖？")
    assert r.list_intro is None
    assert len(_pieces(compose(r, index, True, max_sentences=1).answer)) == 1
    assert 1 <= len(_pieces(compose(r, index, True, max_sentences=2).answer)) <= 2


def test_fact_question_answer_cites_the_right_paragraph(pipeline):
    index, retriever = pipeline
    a = compose(retriever.search("全国完成了多少座尾矿库环境风险排查？"), index, True)
    assert any(c.paragraph == 9 and any("尾矿库" in h for h in c.highlights) for c in a.citations)


def test_list_answer_leads_with_the_items_when_the_intro_only_announces_them(pipeline):
    index, retriever = pipeline
    r = retriever.search("2023年要抓好以下要点使命有哪些？")
    assert r.list_intro == (REPORT.name, 15)  # paragraph 15 is just "会议确认,2023年要抓好以下要点使命。"
    a = compose(r, index, True)
    assert [c.paragraph for c in a.citations] == [16, 17, 18, 19, 20, 21, 22]
    assert a.answer.startswith("一是活跃推进美丽中国制作实践。[1]二是厚实推进绿色低碳高质量展开。[2]")
    assert "以下要点使命" not in a.answer


def _retrieval(index, question: str, paragraphs: list[int], query: str | None = None, list_intro=None) -> Retrieval:
    """Hits on `paragraphs` in that order, with a zero query vector: only the lexical cues choose sentences."""
    hits = [Hit(REPORT.name, p, 10.0 - i) for i, p in enumerate(paragraphs)]
    dim = index.sentence_vectors.shape[1]
    return Retrieval(question, query or question, hits, np.zeros(dim, dtype=np.float32), list_intro=list_intro)


def test_list_answer_keeps_an_intro_that_says_something(pipeline):
    index, _ = pipeline
    a = compose(_retrieval(index, "2022年的工作包括哪几个方面？", [8], list_intro=(REPORT.name, 8)), index, True)
    assert [c.paragraph for c in a.citations] == [8, 9, 10, 11]
    assert a.answer.startswith("会议认为,2022年,")
    assert "[1]一是坚决支撑" in a.answer


def test_followup_leads_with_its_own_words_not_the_earlier_question(pipeline):
    index, _ = pipeline
    # Paragraph 23: sentence 1 is the 交流发言 the earlier question asked about, sentence 2 the 书面交流.
    r = _retrieval(index, "那书面交流的呢？", [23], query="书面交流的 哪些省份在会上作了交流发言？")
    assert compose(r, index, True).answer.startswith("河北省、江苏省")
    alone = _retrieval(index, "哪些省份在会上作了交流发言？", [23])
    assert compose(alone, index, True).answer.startswith("会上,山西省")


def test_question_naming_a_list_item_by_ordinal_leads_with_that_item(pipeline):
    index, _ = pipeline
    r = _retrieval(index, "第六项呢？", [15, 21, 17], query="第六项 2023年的重点任务有哪些？")
    a = compose(r, index, True)
    assert a.answer.startswith("六是依法推进生态环境维护督察法律。[1]")
    assert "以下要点使命" not in a.answer  # a bare announcement is no answer on its own


@pytest.mark.parametrize(
    ("question", "items"),
    [
        ("第二项呢？", ("二是",)),
        ("What about the sixth task?", ("六是",)),
        ("第三方环保服务机构弄虚作假怎么整治？", ()),
        ("第三轮督察什么时候启动？", ()),
        ("What was achieved at the second phase of COP15?", ()),
    ],
)
def test_only_an_ordinal_with_an_item_word_names_a_list_item(pipeline, question, items):
    index, _ = pipeline
    assert _Asked.of(_retrieval(index, question, [21]), index.lexicon).items == items


def test_how_many_question_leads_with_a_sentence_stating_a_quantity(pipeline):
    index, _ = pipeline
    # Both paragraphs mention 新污染物; only paragraph 10's sentence counts them (将14种新污染物…),
    # and paragraph 18 ranks first.
    r = _retrieval(index, "新污染物有多少？", [18, 10])
    assert compose(r, index, True).answer.startswith("全面发动“无废城市”制作,将14种新污染物归入要点管控清单。[1]")


def test_english_question_matches_sentences_through_the_glossary(pipeline):
    index, _ = pipeline
    # Paragraph 24: 翟青掌管开幕会 (presided over the opening session), then who attended.
    r = _retrieval(index, "Who presided over the opening session?", [24])
    assert compose(r, index, True).answer.startswith("生态环境部党组成员、副部长翟青掌管开幕会。[1]")


def test_not_found_says_so_and_lists_nearest_passages(pipeline):
    index, retriever = pipeline
    r = retriever.search("全国完成了多少座尾矿库环境风险排查？")
    a = compose(r, index, False)
    assert not a.found
    assert a.answer == NOT_FOUND
    assert not re.search(r"\[\d+\]", a.answer)
    assert 1 <= len(a.citations) <= 3
    assert [c.paragraph for c in a.citations] == [h.paragraph for h in r.hits[: len(a.citations)]]
    assert [c.n for c in a.citations] == list(range(1, len(a.citations) + 1))
    for c in a.citations:
        assert len(c.highlights) == 1 and c.highlights[0] in c.text


def test_not_found_in_english_for_english_questions(pipeline):
    index, retriever = pipeline
    a = compose(retriever.search("What is the capital of France?"), index, False)
    assert a.answer == NOT_FOUND_EN and a.citations


def test_no_hits_means_not_found_without_citations(pipeline):
    index, _ = pipeline
    r = Retrieval("问题", "问题", [], np.zeros(64, dtype=np.float32))
    a = compose(r, index, True)
    assert (a.found, a.answer, a.citations) == (False, NOT_FOUND, ())


def test_to_json_has_the_documented_ask_shape(pipeline):
    index, retriever = pipeline
    a = compose(retriever.search("谁主持了开幕会？"), index, True)
    data = json.loads(json.dumps(a.to_json(), ensure_ascii=False))
    assert {"question", "found", "answer", "citations"} <= set(data)
    assert data["question"] == "谁主持了开幕会？"
    assert isinstance(data["found"], bool) and isinstance(data["answer"], str)
    assert data["citations"]
    for c, obj in zip(data["citations"], a.citations):
        assert {"n", "doc", "paragraph", "text", "highlights", "score"} <= set(c)
        assert isinstance(c["n"], int) and isinstance(c["paragraph"], int) and not isinstance(c["paragraph"], bool)
        assert isinstance(c["doc"], str) and isinstance(c["text"], str) and isinstance(c["score"], float)
        assert isinstance(c["highlights"], list) and all(isinstance(h, str) for h in c["highlights"])
        assert (c["n"], c["doc"], c["paragraph"], c["text"]) == (obj.n, obj.doc, obj.paragraph, obj.text)
        assert c["doc"] == REPORT.name  # the file name, not a path


def test_service_ask_with_fake_embedder(fake_build):
    settings, _, emb = fake_build()
    service = QAService(settings, embedder=emb)
    a = service.ask("全国完成了多少座尾矿库环境风险排查？")
    assert a.question == "全国完成了多少座尾矿库环境风险排查？"
    assert a.citations and all(c.doc == REPORT.name for c in a.citations)
    follow = service.ask("那核安全方面呢？", ["2023年生态环境保护的重点任务有哪些？"])
    assert "核安全" in follow.query and "2023年" in follow.query  # the new topic replaces the old one


# ------------------------------------------------------------------ sentence choice on other kinds of text


@pytest.fixture
def small_corpus(fake_build, tmp_path):
    """Index the given {file name: text} with the fake embedder; returns (index, retriever)."""

    def build(files: dict[str, str]):
        folder = tmp_path / "docs"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        settings, index, emb = fake_build([folder])
        return index, Retriever(index, emb, settings)

    return build


def _ask(index, question: str, doc: str, paragraphs: list[int], max_sentences: int = 1) -> str:
    hits = [Hit(doc, p, 10.0 - i) for i, p in enumerate(paragraphs)]
    vector = np.zeros(index.sentence_vectors.shape[1], dtype=np.float32)  # only the words and kinds choose
    return compose(Retrieval(question, question, hits, vector), index, True, max_sentences=max_sentences).answer


def test_a_question_in_the_text_is_not_the_answer_its_answer_is(small_corpus):
    index, _ = small_corpus(
        {"faq.txt": "问：滤网多久需要更换一次？答：正常使用约八个月更换一次。\n问：机器多重？答：七点六千克。\n"}
    )
    assert _ask(index, "滤网多久需要更换一次？", "faq.txt", [1]).startswith("答：正常使用约八个月")


def test_the_article_name_in_every_sentence_does_not_pick_the_first_one(small_corpus):
    # Later sentences say 本鱼 for the fish the title and first sentence name; the rare words decide.
    text = "斯氏腔吻鳕为鼠尾鳕科的其中一种。本鱼分布于南海等海域。本鱼生殖季在2至4月。本鱼以多毛类为食。\n"
    index, _ = small_corpus({"斯氏腔吻鳕.txt": text})
    assert _ask(index, "斯氏腔吻鳕以什么为食？", "斯氏腔吻鳕.txt", [1]) == "本鱼以多毛类为食。[1]"


def test_a_short_line_stating_the_asked_value_is_a_row_not_a_heading(small_corpus):
    # A contact table's row ends no sentence, like a heading, but it holds the number asked for.
    text = "各区招生咨询电话\n澄东区招生办 0748-8231547\n住建局物业科也接受咨询，咨询电话0748-6239045。\n"
    index, _ = small_corpus({"招生.txt": text})
    assert _ask(index, "澄东区招生办的咨询电话是多少？", "招生.txt", [2, 3]) == "澄东区招生办 0748-8231547[1]"
    # a heading still gives way to the text under it
    assert _ask(index, "各区招生咨询电话是多少？", "招生.txt", [1, 3]).startswith("住建局物业科")


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        # a bare yes brings the sentence that says on what terms
        (
            "问：自己开公司创业的，可以申请吗？答：可以。企业正常经营满六个月即可。",
            "自己开公司的可以申请吗？",
            "答：可以。[1]企业正常经营满六个月即可。[1]",
        ),
        # a clause ending in a semicolon brings the clause that completes it
        (
            "夫妻双方均符合条件的，租房补贴可以分别申领；购房补贴只能享受一份。另有其他规定。",
            "夫妻双方都符合条件，租房补贴能分别申领吗？",
            "夫妻双方均符合条件的，租房补贴可以分别申领；[1]购房补贴只能享受一份。[1]",
        ),
        # ... but not the next item of a list
        ("一是加强供水保障；二是完善防洪体系。", "怎样加强供水保障？", "一是加强供水保障；[1]"),
    ],
)
def test_a_sentence_that_cannot_stand_alone_brings_the_one_after_it(small_corpus, text, question, answer):
    index, _ = small_corpus({"faq.txt": text + "\n"})
    assert _ask(index, question, "faq.txt", [1]) == answer


def test_a_sentence_stating_the_asked_kind_wins_a_tie_of_words(small_corpus):
    text = "蓝鲸湾水库是当地重要水源。蓝鲸湾水库总库容为三点七亿立方米。\n"
    index, _ = small_corpus({"水库.txt": text})
    assert _ask(index, "蓝鲸湾水库总库容是多少？", "水库.txt", [1]).startswith("蓝鲸湾水库总库容为三点七亿立方米")


def test_a_question_asking_another_name_gets_the_sentence_that_gives_one(small_corpus):
    text = "猴面包树的叶子可以吃。猴面包树又名猢狲树。\n"
    index, _ = small_corpus({"树.txt": text})
    assert _ask(index, "猴面包树的别名是什么？", "树.txt", [1]) == "猴面包树又名猢狲树。[1]"


def test_neighbour_completes_a_clause_that_lacks_the_asked_kind(small_corpus):
    # The question's words sit in the second clause; the year asked sits in the first.
    text = "1998年，新码头建成启用；其定位为本市的辅助港口。本港另有客运码头。\n"
    index, _ = small_corpus({"港口.txt": text})
    question = "辅助港口是哪一年开始运营的？"
    assert _ask(index, question, "港口.txt", [1], 2) == "1998年，新码头建成启用；[1]其定位为本市的辅助港口。[1]"
    # a pair only where two sentences may be given
    assert _ask(index, question, "港口.txt", [1], 1) == "其定位为本市的辅助港口。[1]"


def test_an_echo_that_points_back_brings_the_sentence_naming_its_subject(small_corpus):
    # "其喜剧…" restates the question; who wrote them is in the sentence before.
    text = "泰伦提乌斯是共和时代著名的剧作家。其喜剧结构严谨、语言文雅。另有多位诗人活跃于当时。\n"
    index, _ = small_corpus({"文学.txt": text})
    answer = _ask(index, "谁的喜剧结构严谨、语言文雅？", "文学.txt", [1], 2)
    assert answer == "泰伦提乌斯是共和时代著名的剧作家。[1]其喜剧结构严谨、语言文雅。[1]"


def test_an_echo_opening_with_a_consequence_brings_the_sentence_it_follows_from(small_corpus):
    # "因此…" restates the question; the reason asked is the sentence before it.
    text = "这种果实的维生素C含量是橙子的三倍。因此它有时被称为超级水果。另有多种果树分布于当地。\n"
    index, _ = small_corpus({"果树.txt": text})
    answer = _ask(index, "为什么它被称为超级水果？", "果树.txt", [1], 2)
    assert answer == "这种果实的维生素C含量是橙子的三倍。[1]因此它有时被称为超级水果。[1]"


def test_list_question_gets_every_item_of_a_paragraph_that_lists_them(small_corpus):
    text = (
        "“十四五”以来成效显著。一是供水保障能力明显增强；二是防洪体系逐步完善；三是水环境质量持续改善。\n其他工作。\n"
    )
    index, _ = small_corpus({"规划.txt": text})
    answer = _ask(index, "“十四五”期间取得了哪些成效？", "规划.txt", [1, 2])
    for item in ("一是供水保障能力明显增强", "二是防洪体系逐步完善", "三是水环境质量持续改善"):
        assert item in answer
    assert "其他工作" not in answer


@pytest.fixture(scope="module")
def blue_whale_service(tmp_path_factory):
    """Issue 9's example: a one-sentence document beside the report, its amounts in Chinese numerals (real model)."""
    import shutil

    from qa.config import from_env
    from tests.conftest import ROOT, run_qa

    root = tmp_path_factory.mktemp("bluewhale")
    data = root / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "蓝鲸湾水库.txt").write_text("蓝鲸湾水库于二〇一九年建成，总库容为三点七亿立方米。\n", encoding="utf-8")
    done = run_qa("build", data, "--index", root / "index", cwd=root)
    assert done.returncode == 0, done.stderr
    env = {k: v for k, v in os.environ.items() if k == "QA_CACHE_DIR"}
    return QAService(from_env(env, index_dir=root / "index"))


@pytest.mark.slow
def test_amount_in_chinese_numerals_is_the_answer_real_model(blue_whale_service):
    r, decision = blue_whale_service.retrieve("蓝鲸湾水库的总库容是多少？")
    assert (r.hits[0].doc, r.hits[0].paragraph) == ("蓝鲸湾水库.txt", 1)
    a = blue_whale_service.compose(r, dataclasses.replace(decision, found=True))  # whatever abstention decides
    assert a.answer == "蓝鲸湾水库于二〇一九年建成，总库容为三点七亿立方米。[1]"
    assert "count" in [k.name for k in kinds.asked(r.question)]
    assert next(k for k in kinds.KINDS if k.name == "count").states(a.citations[0].text)


@pytest.mark.slow
def test_amount_in_chinese_numerals_is_not_declined_real_model(blue_whale_service):
    a = blue_whale_service.ask("蓝鲸湾水库的总库容是多少？")
    assert a.found, a.answer
    assert a.answer.startswith("蓝鲸湾水库于二〇一九年建成，总库容为三点七亿立方米。[1]")


def test_list_question_over_dash_items_cites_every_item(small_corpus):
    text = (
        "汀源市水安全保障规划\n（一）指导思想\n坚持以人民为中心的发展思想，统筹发展和安全。\n（二）工作原则\n"
        "——坚持节水为先、量水而行。把水资源作为最大的刚性约束。\n——坚持安全为本、防治结合。补齐防洪排涝短板。\n"
        "——坚持生态优先、系统治理。统筹上下游、左右岸。\n（三）主要目标\n到2030年，全市水安全保障能力显著提升。\n"
    )
    index, retriever = small_corpus({"规划.txt": text})
    r = retriever.search("规划的工作原则有哪些？")
    assert r.list_intro == ("规划.txt", 4)
    a = compose(r, index, True)
    assert [c.paragraph for c in a.citations] == [4, 5, 6, 7]  # the heading, then every item
    for item in ("坚持节水为先、量水而行", "坚持安全为本、防治结合", "坚持生态优先、系统治理"):
        assert item in a.answer


def test_a_headline_is_not_the_answer_the_text_under_it_is(small_corpus):
    text = "启岸电子车载显示业务成最大增长点\n车载显示收入42.1亿元，同比增长38.5%。\n"
    index, _ = small_corpus({"新闻.txt": text})
    assert _ask(index, "启岸电子车载显示业务增长了多少？", "新闻.txt", [1, 2]).startswith("车载显示收入42.1亿元")
