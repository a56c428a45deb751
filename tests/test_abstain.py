"""Feature extraction of the abstention signals, on hand-made inputs (no model, no index on disk)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from qa.answering import abstain
from qa.config import Settings
from qa.errors import CalibrationError
from qa.indexing.synonyms import Lexicon
from qa.text import YEAR
from tests.conftest import ROOT


def _index(paragraphs: dict):
    return SimpleNamespace(
        paragraphs=paragraphs,
        sentences=[],
        sentence_vectors=np.zeros((0, 2), np.float32),
        sentence_rows={},
        paragraph_years={k: set(YEAR.findall(v)) for k, v in paragraphs.items()},
        lexicon=Lexicon(),
    )


def _retrieval(query: str, hits: list, dense=((0, 0.8),)):
    return SimpleNamespace(
        question=query, query=query, hits=hits, query_vector=np.ones(2, np.float32), dense=dense, lexical=()
    )


def test_content_words_drop_asking_and_frame_words():
    words = abstain.content_words("会议在北京哪个酒店举行？")
    assert "酒店" in words and "北京" in words
    assert "哪个" not in words and "在" not in words


def test_focus_word_after_and_before_the_question_word():
    assert abstain.focus_word("会议在北京哪个酒店举行？") == "酒店"
    assert abstain.focus_word("全国碳市场的累计成交额是多少？") == "成交额"
    assert abstain.focus_word("重金属污染防治") is None
    assert abstain.focus_word("尾矿库排查共发现了多少个环境风险隐患？") == "环境"  # over the measure word 个
    assert abstain.focus_word("2022年新增的25个城市具体是哪些？") == "城市"  # back over 具体 是


def test_answer_kind_words_are_not_content_and_not_a_focus():
    # 什么态度 / 哪些措施 / 什么职务 name the kind of answer; a passage answers without the word
    assert abstain.content_words("对这类项目的环评审批是什么态度？") == ["项目", "环评", "审批"]
    assert abstain.focus_word("在资金保障方面采取了哪些措施？") is None
    assert abstain.focus_word("孙金龙担任什么职务？") is None


@pytest.mark.parametrize(
    "question, passage, missing",
    [
        ("2022年全国地表水优良断面比例是多少？", "优良断面比例达到87.9%。", 0.0),
        ("2022年全国地表水优良断面比例是多少？", "水环境质量持续改善。", 1.0),
        ("生态环境部的部门预算是多少？", "部门预算为52亿元。", 0.0),
        ("生态环境部的部门预算是多少？", "强化资金支撑保证。", 1.0),
        ("黄润秋今年多大年龄？", "部长黄润秋作工作报告。", 1.0),
        ("这次会议一共有多少人参加？", "会议以视频形式召开，约3000人参加。", 0.0),
        ("这次会议一共有多少人参加？", "各省生态环境厅负责同志参加会议。", 1.0),
        ("会议是什么时候召开的？", "2月16日至17日，会议在京召开。", 0.0),
        ("第三轮督察什么时候启动？", "深入推进中央生态环境保护督察。", 1.0),
        ("全国完成了多少座尾矿库的排查？", "完成1万余座尾矿库环境风险排查。", 0.0),
        ("一共督察了多少个省？", "累计将344余万个固定污染源纳入管理。", 1.0),  # a count of something else
        ("有多少种新污染物被纳入清单？", "将14种新污染物纳入重点管控清单。", 0.0),
        ("湿地公园2023年记录到多少种候鸟？", "湿地公园在2023年共记录到候鸟217种。", 0.0),  # the count after the noun
        ("累计有多少粗钢产能完成改造？", "累计完成2.1亿吨粗钢产能超低排放改造。", 0.0),
        ("累计有多少水泥产能完成改造？", "累计完成2.1亿吨粗钢产能超低排放改造。", 1.0),
        ("成功发射了几颗卫星？", "成功发射三颗生态环境卫星。", 0.0),
        ("排放量具体下降了多少？", "主要污染物排放总量持续下降。", 1.0),
        ("排放量具体下降了多少？", "主要污染物排放量下降3.2%。", 0.0),
        ("会议对工作的回顾包括哪几个方面？", "一是……二是……", 0.0),  # 哪几: which ones, not how many
        ("What was the carbon price at the end of 2022?", "全国碳市场运行平稳。", 1.0),
        ("When was the conference held?", "2月16日至17日，会议在京召开。", 0.0),
        ("会议主要讲了什么？", "会议总结2022年工作。", 0.0),  # asks for no value
        ("谁作了工作报告？", "生态环境部部长黄润秋作工作报告。", 0.0),
        (
            "气候投融资试点包括哪些城市？",
            "深入气候适应型城市、低碳城市建设，推进县城及县域发展。",
            1.0,
        ),  # kinds of city, no city
        ("哪些省份在会上作了交流发言？", "会上，山西省、上海市生态环境厅负责同志作交流发言。", 0.0),
        ("会议在哪里召开？", "生态环境部在京召开全国生态环境保护工作会议。", 0.0),
        ("Where was the conference held?", "深入推进省以下生态环境机构改革。", 1.0),
        ("浙江省是哪位负责同志作的发言？", "浙江省生态环境厅首要负责同志作交流发言。", 1.0),  # no name given
        (
            "Who chaired the closing session?",
            "生态环境部副部长翟青主持开幕会。",
            0.0,
        ),  # a name is stated (which session: not this signal)
    ],
)
def test_value_missing(question, passage, missing):
    assert abstain.value_missing(question, [passage]) == missing


def test_a_count_must_come_from_a_passage_about_the_asked_year():
    passage = "新增25个城市纳入清洁取暖支持范围。"
    assert abstain.value_missing("2022年新增多少个城市纳入清洁取暖范围？", [passage], [{"2022"}]) == 0.0
    assert abstain.value_missing("2023年要新增多少个城市纳入清洁取暖范围？", [passage], [{"2022"}]) == 1.0
    assert abstain.value_missing("2023年要新增多少个城市纳入清洁取暖范围？", [passage], [set()]) == 0.0


def test_counted_only_the_passage_counts_but_never_names():
    assert abstain.counted_only("新纳入清洁取暖范围的25个城市具体是哪些？", ["新增25个城市纳入北方地区清洁取暖范围。"])
    assert not abstain.counted_only(
        "哪些城市纳入了清洁取暖范围？", ["太原、石家庄等城市纳入清洁取暖范围，共25个城市。"]
    )
    assert not abstain.counted_only("新增了多少个城市？", ["新增25个城市。"])  # not a which-question
    # the question quotes the count: other, uncounted mentions of 城市 don't matter
    assert abstain.counted_only("这25个城市具体是哪些？", ["新增25个城市纳入清洁取暖范围，启动“无废城市”建设。"])
    assert not abstain.counted_only("这25个城市具体是哪些？", ["太原、石家庄等25个城市纳入清洁取暖范围。"])
    assert not abstain.counted_only("这14种新污染物是哪些？", ["14种新污染物（全氟辛酸、十溴二苯醚等）纳入清单。"])


def test_missing_words_numbers_count_only_when_the_corpus_lacks_them():
    texts = {("d", 1): "2023年 尾矿库 排查", ("d", 2): "2022年 成绩"}
    toks = {k: set() for k in texts}
    corpus = "\n".join(texts.values())
    miss = abstain.missing_words(["2022", "2024", "尾矿库", "酒店"], [("d", 1)], texts, toks, corpus)
    assert miss == ["2024", "酒店"]


def test_three_character_word_found_through_its_bigrams():
    assert abstain._found("尾矿库", "尾矿 矿库", {"尾矿", "矿库"})
    assert not abstain._found("酒店", "宾馆", {"宾馆"})


def test_english_missing_is_share_not_covered_by_glossary():
    report = Lexicon.read(ROOT / "data" / "synonyms.tsv")
    assert abstain.english_missing("What is the capital of Australia?", report) == 1.0
    question = "Who is the Party secretary of the Ministry of Ecology and Environment?"
    assert abstain.english_missing(question, report) == 0.0
    assert abstain.english_missing(question, Lexicon()) == 1.0  # another corpus: no glossary


def test_signals_on_a_hand_made_index():
    index = _index({("d", 1): "会议在会场召开，听取工作报告。", ("d", 2): "尾矿库排查完成。"})
    hit = SimpleNamespace(doc="d", paragraph=1)
    s = abstain.signals(_retrieval("会议在北京哪个酒店举行？", [hit]), index, 3)
    assert s["english"] == 0.0 and s["focus_missing"] == 1.0 and s["missing"] >= 0.5
    assert s["dense_top"] == pytest.approx(0.8)
    ok = abstain.signals(_retrieval("会议听取了什么报告？", [hit]), index, 3)
    assert ok["missing"] == 0.0 and ok["focus_missing"] == 0.0 and ok["number_missing"] == 0.0


def test_features_split_by_language():
    zh = {
        "english": 0.0,
        "missing": 0.5,
        "focus_missing": 1.0,
        "number_missing": 0.0,
        "value_missing": 1.0,
        "sentence_top": 0.9,
        "dense_top": 0.8,
    }
    en = dict(zh, english=1.0)
    n_zh, n_en = len(abstain.ZH_FEATURES), len(abstain.EN_FEATURES)
    assert len(abstain.features(zh)) == len(abstain.feature_names()) == n_zh + n_en + 1
    assert abstain.features(zh)[n_zh : n_zh + n_en] == [0.0] * n_en
    assert abstain.features(en)[:n_zh] == [0.0] * n_zh


def test_a_value_of_the_asked_kind_must_sit_in_the_paragraph_about_the_question():
    # paragraph 1 names an office-holder, paragraph 2 is about 浙江省 but names nobody
    index = _index(
        {("d", 1): "生态环境部部长黄润秋作工作报告。", ("d", 2): "会上，浙江省生态环境厅首要负责同志作交流发言。"}
    )
    hits = [SimpleNamespace(doc="d", paragraph=2), SimpleNamespace(doc="d", paragraph=1)]
    s = abstain.signals(_retrieval("浙江省是哪位负责同志作的交流发言？", hits), index, 3)
    assert s["value_missing"] == 1.0
    ok = abstain.signals(_retrieval("谁作了工作报告？", hits), index, 3)
    assert ok["value_missing"] == 0.0


def _calibration(path, weights, threshold=0.5, features=None):
    names = abstain.feature_names() if features is None else features
    n = len(names)
    path.write_text(
        json.dumps(
            {"features": names, "weights": weights, "bias": 0.0, "mean": [0.0] * n, "std": [1.0] * n}
            | {"threshold": threshold, "command": abstain.COMMAND}
        ),
        encoding="utf-8",
    )
    abstain.load_calibration.cache_clear()
    return Settings(abstention_file=path)


def test_decide_declines_below_the_fitted_threshold(tmp_path):
    index = _index({("d", 1): "会议在会场召开，听取工作报告。"})
    hit = SimpleNamespace(doc="d", paragraph=1)
    names = abstain.feature_names()
    # a model that only looks at the Chinese `missing` signal: any missing content word declines
    weights = [-10.0 if n == "missing:zh" else 0.0 for n in names]
    settings = _calibration(tmp_path / "a.json", weights)
    no = abstain.decide(_retrieval("会议在北京哪个酒店举行？", [hit]), index, settings)
    yes = abstain.decide(_retrieval("会议听取了什么报告？", [hit]), index, settings)
    assert (no.found, yes.found) == (False, True)
    assert no.confidence < 0.5 <= yes.confidence
    assert no.signals["missing"] > 0 and yes.signals["missing"] == 0
    with pytest.raises(TypeError):
        no.signals["missing"] = 0.0  # the decision is a frozen value
    # nothing retrieved: declined, whatever the model says
    empty = abstain.decide(_retrieval("会议听取了什么报告？", [], dense=()), index, settings)
    assert not empty.found and empty.confidence == 0.0


def test_a_calibration_for_other_features_says_how_to_refit(tmp_path):
    settings = _calibration(tmp_path / "old.json", [1.0], features=["missing:zh"])
    index = _index({("d", 1): "会议召开。"})
    with pytest.raises(CalibrationError, match="python bench/calibrate.py") as err:
        abstain.decide(_retrieval("会议召开了吗？", [SimpleNamespace(doc="d", paragraph=1)]), index, settings)
    assert "missing:zh" in str(err.value)
    abstain.load_calibration.cache_clear()
    with pytest.raises(CalibrationError, match="no abstention calibration"):
        abstain.load_calibration(tmp_path / "absent.json")


def test_the_shipped_calibration_fits_the_code():
    model = abstain.load_calibration(Settings().abstention_file)
    assert model.features == tuple(abstain.feature_names())
    assert 0.0 < model.threshold < 1.0
