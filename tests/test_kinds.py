"""Asked kinds and stated values (qa/answering/kinds.py): Chinese numerals, Traditional text, places and people."""

from __future__ import annotations

import re

import pytest

from qa.answering import kinds


def _names(query: str) -> list[str]:
    return [k.name for k in kinds.asked(query)]


def _kind(name: str) -> kinds.Kind:
    return next(k for k in kinds.KINDS if k.name == name)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("蓝鲸湾水库的总库容是多少？", "count"),
        ("How many students does it have?", "count"),
        ("麻省理工學院位於哪個城市？", "place"),  # Traditional characters
        ("东盟校区位于什么地方？", "place"),
        ("Where was he born?", "place"),
        ("新北市第一任市長在何時成功連任？", "day"),
        ("这座桥是哪一年建成的？", "day"),
        ("誰認為希臘語與梵語出自同一門語言？", "person"),
        ("Who presided over the opening session?", "person"),
        ("黄部长的报告讲了多长时间？", "duration"),
        ("初效滤网建议多久清洁一次？", "duration"),
        ("会议一共开了几天？", "duration"),
        ("How long does the warranty last?", "duration"),
    ],
)
def test_asked_kind(query, name):
    assert name in _names(query)


@pytest.mark.parametrize("query", ["2023年的重点任务有哪几个方面？", "第几项是核安全？", "会议的主要议程是什么？"])
def test_no_value_asked(query):
    assert not {"count", "place", "day", "person"} & set(_names(query))


# a time these point at, not a span: "今后几年" / "那几天" / "哪几天" / 西元几年 (which year)
@pytest.mark.parametrize(
    "query", ["为什么说今后几年压力会更大？", "小学网上报名是哪几天？", "抗日战争是在西元几年结束的？"]
)
def test_no_duration_asked(query):
    assert "duration" not in _names(query)


def test_reason_is_preferred_but_not_a_required_kind():
    assert "reason" not in _names("为什么称猴面包树为笨蛋水果？")
    assert "reason" in [k.name for k in kinds.preferred("为什么称猴面包树为笨蛋水果？")]
    assert "reason" in [k.name for k in kinds.preferred("Why was it renamed?")]


@pytest.mark.parametrize(
    "query",
    [
        "猴面包树的别名是什么？",
        "馬來穿山甲的別稱是什麼？",
        "这种病又称什么？",
        "它的简称叫什么",
        "What is the baobab also known as?",
    ],
)
def test_another_name_asked_is_preferred_but_not_a_required_kind(query):
    assert "alias" not in _names(query)
    assert "alias" in [k.name for k in kinds.preferred(query)]


@pytest.mark.parametrize("query", ["黃帝紀元，又稱軒轅紀年，此種概念最早由誰提出?", "为什么称猴面包树为笨蛋水果？"])
def test_a_question_naming_another_name_does_not_ask_for_one(query):
    assert "alias" not in [k.name for k in kinds.preferred(query)]


def test_another_name_is_stated_by_the_words_that_give_one():
    assert kinds.ALIAS.states("猴面包树，又名猢狲树、酸瓠树，是一种落叶乔木。")
    assert kinds.ALIAS.states("馬來穿山甲，別稱爪哇穿山甲。")
    assert not kinds.ALIAS.states("猴面包树原产于热带非洲。")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("总库容为三点七亿立方米", "count"),
        ("多年平均本地水资源总量为九点六亿立方米", "count"),
        ("蓝鲸湾水库于二〇一九年建成", "day"),
        ("展望至二〇三五年", "day"),
        ("水质优良比例达到百分之三十", "share"),
        ("投资三点七亿元", "money"),
        ("于1986年被改编", "day"),
        ("麻省理工學院位於美國麻薩諸塞州劍橋市", "place"),  # Traditional: jieba tags 剑桥市 a place
        ("學校位於南寧市武鳴區", "place"),
        ("現任校長為阮愛馨女士", "person"),
        ("威廉·瓊斯認為希臘語出自同一語言", "person"),
        ("成立由市长任组长的规划实施领导小组", "person"),  # who: an office answers too
        ("往返交通及食宿费用由派出单位按规定承担", "person"),  # ... or a body
        ("由市林业主管部门负责", "person"),
        ("自受理之日起15个工作日内办结", "duration"),
        ("整机保修三年", "duration"),
        ("建议每两周清洁一次", "duration"),
        ("2月16日至17日，会议在京召开", "duration"),  # a span of days
    ],
)
def test_value_stated(text, name):
    assert _kind(name).states(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("截至2014年，麻省理工學院共有1,021位教職員", "place"),  # the wrong answer to 位於哪個城市
        ("植被為闊葉常綠植被。", "place"),
        ("推进城市绿色发展，统一市场准入。", "place"),  # 城市 and 市场 name no place
        ("统一思想，坚持一是一、二是二。", "count"),  # lone 一 in words is no number
        ("会议强调要统一思想。", "day"),
        ("会议强调要统一思想，布局合理。", "person"),
        ("2023年3月18日发布", "duration"),  # a date is no span: not 2023年, not 3月
    ],
)
def test_value_not_stated(text, name):
    assert not _kind(name).states(text)


def test_number_patterns_read_chinese_numerals():
    assert re.search(kinds.DIGITS + "立方米", "总库容为三点七亿立方米")
    assert re.search(kinds.DIGITS + r"\s*元", "共计一百二十万元")
    assert re.fullmatch(kinds.NUMBER, "二〇一九")
    assert not re.search(kinds.DIGITS, "统一思想")


def test_an_office_answers_who_but_is_no_name_for_retrievals_tie_break():
    person = _kind("person")
    assert person.states("由市林业主管部门负责") and person.states("成立由市长任组长的领导小组")
    assert not person.stated.search("由市林业主管部门负责")  # retrieval favours paragraphs naming a person
    assert person.stated.search("部长黄润秋作工作报告")
    # a byline sets the name apart from the office with a space (full-width in official documents)
    assert person.stated.search("桦溪市人民政府市长\u3000周慕远") and person.stated.search("梓溪市市长 韩立川")
