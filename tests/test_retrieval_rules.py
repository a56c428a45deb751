"""Retrieval rules on a tiny two-list corpus with the fake embedder: year scope and list expansion."""

from __future__ import annotations

import pytest

from qa.indexing.chunking import only_question
from qa.search import retriever as retrieval
from qa.search.retriever import Retriever
from qa.types import Hit

# Two lists whose items share their words; only the intros say which year each belongs to.
CORPUS = "\n".join(
    [
        "会议认为,2022年,全国生态环境质量持续改善。",
        "一是推进碧水保卫战,整治入河排污口。",
        "二是推进净土保卫战,开展土壤污染源头防治行动。",
        "会议确认,2023年要抓好以下重点任务。",
        "一是深入推进碧水保卫战,推进黑臭水体整治,整治入河排污口。",
        "二是深入推进净土保卫战,强化土壤污染源头管控。",
        "三是严格核与辐射安全监管,加强核安全监管体系。",
        "会议在北京举行,部长作了工作报告,总结了工作并部署了任务。",
    ]
)


@pytest.fixture
def retriever(fake_build, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "r.txt").write_text(CORPUS, encoding="utf-8")
    settings, index, embedder = fake_build([data])
    return Retriever(index, embedder, settings)


def _rank(r, question, history=()):
    return [h.paragraph for h in r.search(question, history).hits]


def test_items_inherit_their_intro_year(retriever):
    years = retriever.index.paragraph_years
    assert years[("r.txt", 2)] == {"2022"} and years[("r.txt", 5)] == {"2023"}
    assert years[("r.txt", 8)] == set()


def test_a_year_in_the_question_demotes_items_of_another_year(retriever, monkeypatch):
    q = "2022年碧水保卫战整治了什么？"
    ranked = _rank(retriever, q)
    assert ranked.index(2) < ranked.index(5), ranked
    monkeypatch.setattr(retrieval, "YEAR_MISMATCH_PENALTY", 0.0)
    monkeypatch.setattr(retrieval, "SENTENCE_TIE_WEIGHT", 0.0)  # the fake embedder's sentence cosines are noise
    assert _rank(retriever, q).index(5) < _rank(retriever, q).index(2)  # the 2023 item wins on words alone


def test_year_followup_lands_in_the_other_year(retriever):
    ranked = _rank(retriever, "那去年呢？", ["2023年碧水保卫战整治了什么？"])
    assert ranked.index(2) < ranked.index(5), ranked


def test_a_question_without_a_year_is_not_scoped(retriever):
    every = list(retriever.index.paragraphs)
    assert retriever._off_year("碧水保卫战做了什么？", every) == []
    penalty = retriever._off_year("2023年碧水保卫战做了什么？", every)
    assert ("r.txt", 2) in penalty and ("r.txt", 5) not in penalty and ("r.txt", 8) not in penalty


def test_a_when_questions_year_that_names_the_document_does_not_scope_the_date(fake_build, tmp_path):
    # The 2026 bulletin is dated 2027: its date line answers when the 2026 bulletin came out.
    lines = ["全年全市地区生产总值4862亿元，比上年增长5.6%。", "（2027年3月18日）"]
    r = _over(fake_build, tmp_path, "苇宁市2026年统计公报.txt", "\n".join(lines))
    date = ("苇宁市2026年统计公报.txt", 2)
    assert r._off_year("苇宁市2026年统计公报是哪天发布的？", [date]) == []
    assert r._off_year("苇宁市2026年全年地区生产总值是多少？", [date]) == [date]  # not a when-question


def test_short_paragraphs_give_way_in_proportion_to_how_short(retriever):
    # A heading or a one-line step is embedded with its document's title in front: its vector is
    # mostly the title's, close to any question about the document.
    keys = list(retriever.index.paragraphs)
    penalty = retriever._short(keys)
    texts = retriever.index.paragraphs
    assert set(penalty) == {k for k in keys if len(texts[k]) < retrieval.SHORT_CHARS}
    shortest, longest = min(penalty, key=lambda k: len(texts[k])), max(penalty, key=lambda k: len(texts[k]))
    assert penalty[shortest] > penalty[longest] > 0
    assert penalty[shortest] == pytest.approx(
        retrieval.SHORT_PENALTY * (1 - len(texts[shortest]) / retrieval.SHORT_CHARS)
    )
    retriever.index.paragraphs[("r.txt", 99)] = "长" * retrieval.SHORT_CHARS
    assert ("r.txt", 99) not in retriever._short([("r.txt", 99)])


def _hit(r, paragraph, score):
    return Hit("r.txt", paragraph, score, tuple(p for p in r.index.passages if p.paragraph == paragraph))


def test_an_expanded_list_goes_before_what_outranked_it(retriever):
    # The meeting paragraph outranks the list's intro, which triggers the expansion from rank 2.
    hits = [_hit(retriever, p, s) for p, s in ((8, 5.0), (4, 4.0), (5, 3.0), (6, 2.9), (1, 1.0))]
    out, intro = retriever._expand_list("2023年的重点任务有哪些？", hits)
    assert intro == ("r.txt", 4)
    assert [h.paragraph for h in out] == [4, 5, 6, 7, 8, 1]


def test_a_list_stays_below_a_paragraph_both_rankings_put_far_ahead(retriever):
    # "拆了阳台上的棚子，有没有什么奖励？" reads as a list question (有什么), and three items of another
    # list follow the paragraph that answers it; that paragraph is the dense ranking's first as well
    # as the fused one's, far ahead of them: the list is not brought up over it.
    hits = [_hit(retriever, p, s) for p, s in ((8, 16.0), (5, 1.5), (6, 1.0), (7, 0.8), (1, 0.2))]
    assert retriever._expand_list("2023年的重点任务有哪些？", hits, [("r.txt", 8)]) == (hits, None)
    # The list comes first when the dense ranking puts it first, or when the lead is not far.
    assert retriever._expand_list("2023年的重点任务有哪些？", hits, [("r.txt", 5)])[1] == ("r.txt", 4)
    close = [_hit(retriever, p, s) for p, s in ((8, 2.0), (5, 1.5), (6, 1.0), (7, 0.8), (1, 0.2))]
    assert retriever._expand_list("2023年的重点任务有哪些？", close, [("r.txt", 8)])[1] == ("r.txt", 4)


def test_a_question_about_one_item_does_not_expand(retriever):
    hits = [_hit(retriever, p, s) for p, s in ((8, 5.0), (5, 4.0), (6, 1.0), (7, 0.9), (4, 0.5))]
    out, intro = retriever._expand_list("碧水保卫战有哪些措施？", hits)
    assert intro is None and out == hits


def test_a_list_the_dense_ranking_puts_first_is_expanded(retriever):
    # The fused top 3 hold two items of the 2022 list without its intro (no trigger), but
    # the embedding's first paragraph is an item whose intro is in its top 3: the list is asked for.
    hits = [_hit(retriever, p, s) for p, s in ((8, 5.0), (2, 4.0), (3, 3.0), (6, 2.0), (4, 1.5), (5, 1.4), (1, 0.2))]
    dense = [("r.txt", 6), ("r.txt", 4), ("r.txt", 8)]
    out, intro = retriever._expand_list("2023年的重点任务有哪些？", hits, dense)
    assert intro == ("r.txt", 4)
    assert [h.paragraph for h in out][:5] == [6, 4, 5, 7, 8]
    # Read on the fused ranking alone nothing triggers; nor without the intro near the dense top,
    # nor when the question does not ask for a list.
    assert retriever._expand_list("2023年的重点任务有哪些？", hits) == (hits, None)
    assert retriever._expand_list("2023年的重点任务有哪些？", hits, [dense[0], dense[2], ("r.txt", 3)]) == (hits, None)
    assert retriever._expand_list("2023年核安全怎么监管？", hits, dense) == (hits, None)


def test_the_dense_ranking_triggers_from_its_first_paragraph_only(retriever):
    hits = [_hit(retriever, p, s) for p, s in ((8, 5.0), (2, 4.0), (3, 3.0), (6, 2.0), (4, 1.5), (5, 1.4), (1, 0.2))]
    dense = [("r.txt", 8), ("r.txt", 6), ("r.txt", 4)]
    assert retriever._expand_list("2023年的重点任务有哪些？", hits, dense) == (hits, None)


def test_relative_years_resolve_against_the_documents_year():
    from qa.search.retriever import relative_years

    assert relative_years("去年的成绩", 2023) == "2022年的成绩"
    assert relative_years("VOCs今年怎么治？", 2023) == "VOCs 2023年怎么治？"  # not one token "VOCs2023"
    assert relative_years("What about last year?", 2023) == "What about in 2022?"
    assert relative_years("今年的任务", None) == "今年的任务"


def test_a_near_tie_goes_to_the_paragraph_with_the_closest_sentence():
    from types import SimpleNamespace

    import numpy as np

    qv = np.array([1.0, 0.0], dtype=np.float32)
    unit = lambda c: [c, float(np.sqrt(1 - c * c))]  # noqa: E731  a sentence vector at cosine c to qv
    index = SimpleNamespace(
        sentence_rows={("d", 0): [0, 1], ("d", 1): [2], ("d", 2): [3], ("d", 3): [4]},
        sentence_vectors=np.array([unit(0.80), unit(0.85), unit(0.90), unit(0.70), unit(0.99)], dtype=np.float32),
    )
    r = Retriever.__new__(Retriever)
    r.index = index
    ranked = [(("d", p), []) for p in range(4)]
    # d0 leads d1 by 0.5 fused units, but d1 holds a sentence 0.05 closer (1.0 units at weight 20);
    # d2 trails by far; d3, outside the first SENTENCE_TIE_TOP, keeps its place whatever its sentences.
    score = {("d", 0): 10.0, ("d", 1): 9.5, ("d", 2): 5.0, ("d", 3): 4.0}
    best = r._best_sentences([key for key, _ in ranked], qv)
    assert best[("d", 0)] == pytest.approx(0.85)  # a paragraph's closest sentence
    out = r._sentence_tiebreak(ranked, score, best)
    assert [k for k, _ in out] == [("d", 1), ("d", 0), ("d", 2), ("d", 3)]
    assert score[("d", 1)] == pytest.approx(9.5) and score[("d", 0)] == pytest.approx(10.0 - 20 * 0.05, abs=1e-4)
    assert score[("d", 2)] == pytest.approx(5.0 - retrieval.SENTENCE_TIE_MAX)  # 0.2 cosine behind: capped
    score = {("d", 0): 10.0, ("d", 1): 8.0, ("d", 2): 5.0, ("d", 3): 4.0}  # a clear lead stands
    assert [k for k, _ in r._sentence_tiebreak(ranked, score, best)][:2] == [("d", 0), ("d", 1)]


def test_traditional_questions_meet_the_same_rules(retriever):
    from qa.search.retriever import asks_for_list, ordinal_hint

    assert asks_for_list("2023年要抓好的七項重點任務分別是什麼？") and asks_for_list("2023年重點工作任務清單")
    assert ordinal_hint("第六項呢？") == ordinal_hint("第六项呢？") == "六是"
    # A Traditional follow-up leans on the Traditional question before it, as a Simplified one does.
    follow = retriever.search("那第二項呢？", ["2023年的重點任務有哪些？"])
    assert (
        "2023" in follow.query and follow.query == retriever.search("那第二项呢？", ["2023年的重点任务有哪些？"]).query
    )
    alone = "碧水保衛戰整治了什麼？"
    assert retriever.search(alone).query == alone  # leaning on nothing, it keeps the script it was asked in


def test_a_short_paragraph_stating_the_asked_kind_is_not_taken_for_a_heading(fake_build, tmp_path, monkeypatch):
    # "第三十条 本条例自2026年3月1日起施行。" is short like a heading, and it is the answer to "从哪天开始施行"
    data = tmp_path / "data"
    data.mkdir()
    text = "\n".join(
        [
            "第二十九条　本条例所称古树，是指树龄在一百年以上的树木，名木是指具有重要历史价值的树木。",
            "第三十条　本条例自2026年3月1日起施行。",
            "第三十一条　本条例由市林业局负责解释。",
        ]
    )
    (data / "t.txt").write_text(text, encoding="utf-8")
    settings, index, embedder = fake_build([data])
    r = Retriever(index, embedder, settings)
    monkeypatch.setattr(retrieval, "SENTENCE_TIE_WEIGHT", 0.0)

    def scores():
        return {h.paragraph: h.score for h in r.search("本条例从哪天开始施行？").hits}

    with_penalty = scores()
    monkeypatch.setattr(retrieval, "SHORT_PENALTY", 0.0)
    without = scores()
    assert with_penalty[2] == pytest.approx(without[2])  # states a day: spared
    assert with_penalty[3] < without[3]  # short, no day: a heading as far as the rule knows


def test_a_question_for_an_amount_a_share_or_an_age_favours_paragraphs_that_state_one(fake_build, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    text = "\n".join(
        [
            "本县对新生儿家庭发给育儿津贴，每名儿童每月新台币五千元。",
            "育儿津贴发放至孩子上小学之前一个月为止。",
            "全县资源回收率达到百分之五十八点六，较上年提高2.1个百分点。",
            "年满三十五周岁的女性可以免费接受两癌筛查。",
        ]
    )
    (data / "t.txt").write_text(text, encoding="utf-8")
    settings, index, embedder = fake_build([data])
    r = Retriever(index, embedder, settings)
    keys = list(index.paragraphs)

    def favoured(question):
        return sorted(k[1] for k in r._answer_type_bonus(question, keys))

    assert favoured("育儿津贴一个月多少钱？") == [1]
    assert favoured("资源回收率是百分之多少？") == [3]
    assert favoured("多大年龄可以做两癌筛查？") == [4]  # 三十五周岁: an age
    assert favoured("一共要申请多少次？") == []  # a bare count: any number would do, no bonus


def _over(fake_build, tmp_path, name: str, text: str) -> Retriever:
    """A retriever over one document `name` holding `text`, with the fake embedder."""
    data = tmp_path / "data"
    data.mkdir()
    (data / name).write_text(text, encoding="utf-8")
    settings, index, embedder = fake_build([data])
    return Retriever(index, embedder, settings)


def test_a_documents_title_line_gives_way_to_its_content(fake_build, tmp_path, monkeypatch):
    # A file named by its title whose first line is that title: the line shares the subject words of
    # every question about the document and never holds the asked fact.
    lines = [
        "苇宁市统计公报",
        "全年全市地区生产总值4862亿元，比上年增长5.6%，其中第一产业增加值298亿元，第二产业增加值1953亿元，第三产业增加值2610亿元。",
        "年末全市常住人口612万人，城镇化率68.2%。",
    ]
    r = _over(fake_build, tmp_path, "苇宁市统计公报.txt", "\n".join(lines))
    index = r.index
    title = ("苇宁市统计公报.txt", 1)
    assert r._title_lines(list(index.paragraphs)) == {title}
    q = "苇宁市的统计公报：全年地区生产总值是多少？"
    assert [h.paragraph for h in r.search(q).hits][0] == 2
    monkeypatch.setattr(retrieval, "TITLE_PENALTY", 0.0)
    monkeypatch.setattr(retrieval, "NAME_CHARS", 0)  # the title is a name: its terms count everywhere
    monkeypatch.setattr(retrieval, "SHORT_DOC_PARAS", 0)  # and the document is short
    del r._names
    assert [h.paragraph for h in r.search(q).hits][0] == 1  # without them the title line wins


def test_a_question_line_brings_its_answer_up_ahead_of_it(fake_build, tmp_path, monkeypatch):
    # A policy Q&A with 问 and 答 in paragraphs of their own: the 问 line shares the asked words, the
    # answer repeats none of them.
    lines = [
        "燃气改造补贴政策解读",
        "问：怎样申请燃气改造补贴？",
        "答：居民可以登录榆川通APP在线办理，也可以到社区居委会提交纸质表格。",
        "问：由谁来施工？",
        "答：由供气企业统一组织有资质的队伍上门。",
    ]
    r = _over(fake_build, tmp_path, "解读.txt", "\n\n".join(lines))
    q = "怎样申请燃气改造补贴？"
    ranked = [h.paragraph for h in r.search(q).hits]
    assert ranked.index(3) == ranked.index(2) - 1, ranked  # the answer right ahead of its question
    assert ranked[0] == 3, ranked
    monkeypatch.setattr(Retriever, "_answers_first", lambda self, hits: hits)
    assert [h.paragraph for h in r.search(q).hits][0] == 2  # without it the question line wins
    assert only_question("问：由谁来施工？") and not only_question(lines[4])
    assert not only_question("这样做行吗？" + "很长" * 50)


def test_a_question_as_the_last_paragraph_brings_up_nothing(fake_build, tmp_path):
    # Found by tests/test_properties.py: a document of one "?" had no paragraph after it to bring up.
    r = _over(fake_build, tmp_path, "d0.txt", "问：这样行吗？")
    assert [(h.doc, h.paragraph) for h in r.search("这样行吗？").hits] == [("d0.txt", 1)]


# An article named by its subject whose answering paragraph says 该物种 for it.
ARTICLE = "紫鳞兰是兰科的一种附生草本植物，紫鳞兰分布于云南南部。\n\n该物种于1962年首次采得，发现地点在勐海县南糯山。\n\n紫鳞兰的花期为每年三月至四月，紫鳞兰喜阴湿。"


def _lexical_first(r: Retriever, question: str) -> int:
    """The paragraph of BM25's first passage for `question`."""
    return r.index.passages[r.search(question).lexical[0][0]].paragraph


def test_an_articles_name_counts_in_its_paragraphs_that_say_it_otherwise(fake_build, tmp_path, monkeypatch):
    # BM25 must not favour the paragraphs that repeat the name.
    r = _over(fake_build, tmp_path, "紫鳞兰.txt", ARTICLE)
    q = "紫鳞兰最早在哪里发现？"
    assert r._names == {"紫鳞兰.txt": set(retrieval.lexical_tokens("紫鳞兰"))}
    assert _lexical_first(r, q) == 2
    monkeypatch.setattr(retrieval, "NAME_CHARS", 0)
    monkeypatch.setattr(retrieval, "SHORT_DOC_PARAS", 0)  # a short document too
    del r._names  # cached per retriever
    assert _lexical_first(r, q) != 2  # without it a paragraph that repeats the name wins


STORY = "枫林市自然博物馆新馆今日开放\n\n本报讯 5月1日，枫林市自然博物馆新馆正式开放，枫林市自然博物馆新馆首日接待观众八千人次。\n\n该馆每周一闭馆，节假日照常开放。\n\n馆内设恐龙、海洋、昆虫三个展厅。"


def test_a_short_documents_headline_counts_in_its_paragraphs(fake_build, tmp_path, monkeypatch):
    # A news story's body says 该馆 for what its headline and lead name in full: BM25 must not
    # favour the lead for a question about a detail of the body.
    r = _over(fake_build, tmp_path, "枫林市自然博物馆新馆今日开放.txt", STORY)
    q = "枫林市自然博物馆新馆星期几闭馆？"
    assert len(r.index.titles["枫林市自然博物馆新馆今日开放.txt"]) > retrieval.NAME_CHARS  # not a name
    assert "枫林市自然博物馆新馆今日开放.txt" in r._names
    assert _lexical_first(r, q) == 3
    monkeypatch.setattr(retrieval, "SHORT_DOC_PARAS", 3)  # the story has 4 paragraphs: no longer short
    del r._names
    assert r._names == {} and _lexical_first(r, q) in (1, 2)  # the headline or the lead, which repeat the name


def test_a_question_naming_a_list_by_its_heading_asks_for_the_list(fake_build, tmp_path):
    # A service guide's materials under "四、申请材料": one of them (the application form) shares the
    # question's words far ahead of the rest, yet "需要准备哪些申请材料" asks for all of them.
    guide = "\n".join(
        ["四、申请材料", "1. 父母双方的居民身份证原件；", "2. 《出生一件事联办申请表》；", "五、办理流程"]
    )
    r = _over(fake_build, tmp_path, "指南.txt", guide)
    intro = ("指南.txt", 1)
    assert r.index.list_items[intro] == [("指南.txt", 2), ("指南.txt", 3)]
    assert r._names_list(intro, "办理出生一件事需要准备哪些申请材料？")
    assert not r._names_list(intro, "申请表在哪里领？")  # about one item


def test_without_marker():
    from qa.indexing.chunking import without_marker

    assert without_marker("四、申请材料") == "申请材料"
    assert without_marker("（一）工作原则") == "工作原则"
    assert without_marker("第十五条 禁止携犬进入下列场所：") == " 禁止携犬进入下列场所："
    assert without_marker("## 连接手机 App") == "连接手机 App"
    assert without_marker("没有编号的段落") == "没有编号的段落"


def test_the_words_that_ask_do_not_match_for_bm25(fake_build, tmp_path):
    # A Q&A's question lines hold 什么 / 怎么 and little else: matched on them, a short question line
    # of another topic outranked (for BM25) the paragraph holding the asked thing.
    lines = [
        "问：为什么要出台这项政策？",
        "答：为了消除燃气安全隐患。",
        "新生儿父母需要提供结婚证原件和户口簿。",
    ]
    r = _over(fake_build, tmp_path, "指南.txt", "\n\n".join(lines))
    lexical = retrieval.paragraph_ranking(r.index, r.search("结婚证要准备什么？").lexical)
    assert lexical == [("指南.txt", 3)], lexical  # the 问 line shares only 什么


def test_every_candidate_gains_by_its_closest_sentence(retriever, monkeypatch):
    # The closest-sentence cosines, z-scored over the candidates, are a third ranking in the fusion:
    # with the fake embedder a question that is one paragraph's sentence word for word ranks it first.
    q = "三是严格核与辐射安全监管,加强核安全监管体系。"
    z = retrieval._zscores({"a": 0.9, "b": 0.7, "c": 0.5}, ["a", "b", "c", "d"])
    assert z["a"] == pytest.approx(1.2247, abs=1e-4) and z["b"] == pytest.approx(0.0) and z["d"] == z["c"]
    assert retrieval._zscores({"a": 0.9}, ["a"]) == {"a": 0.0} and retrieval._zscores({}, ["a"]) == {}
    seen = {}
    real = retrieval._zscores

    def spy(values, keys):
        seen.update({k: v for k, v in values.items() if isinstance(k, tuple)})  # paragraphs, not passages
        return real(values, keys)

    monkeypatch.setattr(retrieval, "_zscores", spy)
    retriever.search(q)
    assert max(seen, key=seen.get) == ("r.txt", 7)  # the paragraph holding that sentence
    monkeypatch.setattr(retrieval, "_zscores", real)
    with_it = {(h.doc, h.paragraph): h.score for h in retriever.search(q).hits}
    monkeypatch.setattr(retrieval, "SENTENCE_WEIGHT", 0.0)
    without = {(h.doc, h.paragraph): h.score for h in retriever.search(q).hits}
    gain = {key: with_it[key] - without[key] for key in with_it}
    assert max(gain, key=gain.get) == ("r.txt", 7), gain


SPEECH = "\n\n".join(
    [
        "在全市优化营商环境工作会议上的讲话",
        "桦溪市人民政府市长\u3000周慕远",
        "（2025年3月18日）",
        "同志们：",
        "今天，我们在这里开会，部署今年的重点任务。",
        *[f"第{n}项工作要抓紧落实，各部门要按照分工推进，确保取得实效。" for n in "一二三四五六七八九十"],
    ]
)


def test_a_documents_byline_and_dateline_hold_its_title(fake_build, tmp_path, monkeypatch):
    # A speech's byline and dateline answer who gave it and when, and share no word with the
    # question, which names the title: BM25 credits them with the title's terms.
    name = "在全市优化营商环境工作会议上的讲话.txt"
    r = _over(fake_build, tmp_path, name, SPEECH)
    assert len(r.index.documents[0]["paragraphs"]) > retrieval.SHORT_DOC_PARAS  # not a short document
    assert set(r._heading_lines) == {(name, 2), (name, 3)}  # not the salutation 同志们：
    q = "全市优化营商环境工作会议是哪天召开的？"
    first = lambda: r.search(q).hits[0].paragraph  # noqa: E731
    assert first() == 3
    monkeypatch.setattr(retrieval, "HEADING_LINES", 0)
    del r._heading_lines  # cached per retriever
    assert r._heading_lines == {} and first() != 3
