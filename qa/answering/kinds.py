"""What kind of value a question asks for, and whether a passage states one.

One table serves two readers: retrieval gives a small tie-break bonus to paragraphs that state
the kind a question asks for (``BONUS_KINDS``), and abstention counts a question whose top
paragraphs state no value of the asked kind as unanswered (a percentage asked, none given).
Each kind: the Chinese cue, the English cue, and how a passage states such a value. The cues are
question phrasing in general, not read off a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    asked_zh: re.Pattern
    asked_en: re.Pattern
    stated: re.Pattern


from qa.text import CJK as _CJK  # noqa: E402

# How reports write a count: measure words (25个城市, 三颗卫星, 80项标准) and numbers in digits
# or Chinese numerals with 余/多 and 万/亿 in either order (1万余座, 344余万个, 2.1亿吨).
MEASURE_WORDS = "个项台颗座次种家名位批条处所"
_MAGNITUDE = r"\s*(?:余|多)?\s*(?:万|亿)?(?:余|多)?"
DIGITS = r"\d[\d.,]*" + _MAGNITUDE
NUMBER = r"(?:\d[\d.,]*|[一二两三四五六七八九十百千]+)" + _MAGNITUDE

KINDS = (
    Kind(
        "share",
        re.compile(r"比例|比重|占比|百分之|百分比|[达覆]盖?率是?多少"),
        re.compile(r"percentage|proportion|percent|share of|\bratio\b", re.I),
        re.compile(r"\d\s*[%％]|百分之|\d成"),
    ),
    Kind(
        "money",
        re.compile(r"多少钱|[多几]少?(?:亿|万)?元|花了多少|资金[是有]?多少|多少资金"),
        re.compile(r"how much money|\bbudget\b|\bcost\b|\bprice\b|\bfunding\b|\byuan\b|\bspent\b", re.I),
        re.compile(DIGITS + r"\s*元"),
    ),
    Kind("age", re.compile(r"年龄|多大岁数|几岁|多少岁"), re.compile(r"how old|\bage\b", re.I), re.compile(r"\d\s*岁")),
    Kind(
        "head count",
        re.compile(r"多少人|几个人|人数|几人|多少名"),
        re.compile(r"how many people|attendees|participants", re.I),
        re.compile(DIGITS + r"\s*(?:人|名)"),
    ),
    Kind(
        "day",
        re.compile(r"什么时候|何时|哪天|哪一天|几月|哪个月|日期|几号"),
        re.compile(r"\bwhen\b|what date|which day|which month", re.I),
        re.compile(
            r"\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}年\d{1,2}月|\d+\s*[月日号]|[上下]半年|年[底初中]|月[底初中]|\d年(?:以|之)?前"
        ),
    ),
    # A place named: a province, city or county (not 城市 itself, not 市场), or a municipality
    # written bare (北京, 在京), the closed set of names that drop 市.
    Kind(
        "place",
        re.compile(r"哪个城市|哪些城市|哪座城市|哪个省|哪些省|哪个地方|哪些地方|在哪里|在哪儿|在哪[举召开]|哪个国家"),
        re.compile(r"\bwhere\b|which (?:city|cities|province|provinces|country|place)", re.I),
        re.compile(
            r"[\u4e00-\u9fff]{2,6}(?:省|自治区|(?<!城)市|县)(?=[、，,。；（(生人政党和与及]|$)|北京|天津|上海|重庆|在京|在沪"
        ),
    ),
    # An office-holder named: a title then a 2-3 character name (部长黄润秋, 负责同志…).
    Kind(
        "person",
        re.compile(r"谁|哪位"),
        re.compile(r"\bwho\b|\bwhom\b", re.I),
        re.compile(
            r"(?:部长|书记|主任|组长|总工程师|省长|市长|局长|主席|负责同志)[\u4e00-\u9fff]{2,3}(?:[,，、出主作同]|$)"
        ),
    ),
)
# Kinds whose paragraphs retrieval favours on a near-tie (the others are rare enough in reports
# that a bonus would only reorder noise).
BONUS_KINDS = ("day", "person")


def asked(query: str) -> list[Kind]:
    """The kinds of value `query` asks for (Chinese or English cues by the question's script)."""
    chinese = bool(_CJK.search(query))
    return [k for k in KINDS if (k.asked_zh if chinese else k.asked_en).search(query)]
