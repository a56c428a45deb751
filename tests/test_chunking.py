"""Chunking: sentence splitting, chunks whose offsets map back to the exact paragraph text, list structure."""

from __future__ import annotations

import random

import pytest

from qa.documents import read_document
from qa.indexing.chunking import chunk_spans, context_text, lead, list_parents, passages_of, split_sentences
from tests.conftest import REPORT

REPORT_DOC = read_document(REPORT)


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


# ------------------------------------------------------------------------------ sentences


def test_chinese_sentence_ends_with_closing_quotes_and_brackets_kept():
    text = "他说：“好。”然后走了！真的吗？是的；好……完了（见附件。）最后"
    assert _sentences(text) == ["他说：“好。”", "然后走了！", "真的吗？", "是的；", "好……", "完了（见附件。）", "最后"]


def test_who_said_a_quotation_stays_with_it():
    text = "县里很远。“书车去了，就等于把图书馆开到了家门口。”吴承志说。他每次出发前都挑书。"
    assert _sentences(text) == [
        "县里很远。",
        "“书车去了，就等于把图书馆开到了家门口。”吴承志说。",
        "他每次出发前都挑书。",
    ]
    assert _sentences("「這很好。」他笑著說。下一句。") == ["「這很好。」他笑著說。", "下一句。"]
    # not an attribution: a sentence of its own, one with a comma, or one after a line break
    assert _sentences("“好。”然后走了。") == ["“好。”", "然后走了。"]
    assert _sentences("“好。”他说，走吧。") == ["“好。”", "他说，走吧。"]
    assert _sentences("他说：“行。”\n王五说。") == ["他说：“行。”", "\n王五说。"]


def test_runs_of_end_marks_stay_together():
    assert _sentences("真的吗？！当然。。。好") == ["真的吗？！", "当然。。。", "好"]


def test_english_sentences_split_but_decimals_do_not():
    text = "GDP grew 2.1 percent. Then it fell! Why? Because 4.6 is less."
    assert _sentences(text) == ["GDP grew 2.1 percent. ", "Then it fell! ", "Why? ", "Because 4.6 is less."]


def test_decimals_inside_chinese_are_not_sentence_ends():
    text = "累计完结2.1亿吨粗钢产能和4.6万余台锅炉改造。下一句。"
    assert _sentences(text) == ["累计完结2.1亿吨粗钢产能和4.6万余台锅炉改造。", "下一句。"]


def test_sentences_cover_the_text_exactly():
    for p in REPORT_DOC.paragraphs:
        spans = split_sentences(p.text)
        assert spans[0][0] == 0 and spans[-1][1] == len(p.text)
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        assert all(p.text[s:e].strip() for s, e in spans)


def test_report_paragraph_15_is_one_sentence_and_9_has_many():
    assert len(split_sentences(REPORT_DOC.paragraphs[14].text)) == 1
    assert len(split_sentences(REPORT_DOC.paragraphs[8].text)) >= 8


# ------------------------------------------------------------------------------ chunks

SYNTHETIC = [
    "短句。",
    "没有任何句末标点的一段很长的文字" * 30,  # unsplittable: hard cuts
    "逗号，" * 120 + "结束。",  # one long sentence, soft cuts at commas
    "First sentence here. Second one follows! A third? " * 12,
    "混合 English 与中文。数字 2.1 亿吨不拆开。" * 15,
    "他说：“好。”" * 40,
]


def _random_texts(n: int = 30) -> list[str]:
    rng = random.Random(1234)
    alphabet = list("生态环境保护工作会议指出要加强") + ["。", "，", "！", "？", "；", "”", "）", " ", ".", "2", "a"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 700))) for _ in range(n)]


@pytest.mark.parametrize("max_chars", [20, 50, 120, 200, 400])
@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_chunks_map_back_exactly_and_respect_max_chars(max_chars, overlap):
    texts = [p.text for p in REPORT_DOC.paragraphs] + SYNTHETIC + _random_texts()
    for text in texts:
        spans = chunk_spans(text, max_chars, overlap)
        assert spans, text
        assert spans[0][0] == 0 and spans[-1][1] == len(text)  # nothing lost at either end
        covered = set()
        for s, e in spans:
            assert 0 <= s < e <= len(text)
            assert e - s <= max_chars, (max_chars, text[s:e])
            covered.update(range(s, e))
        assert covered == set(range(len(text)))  # every character is in some chunk
        starts = [s for s, _ in spans]
        assert starts == sorted(set(starts))  # strictly advancing


@pytest.mark.parametrize("max_chars", [60, 200])
def test_passages_keep_paragraph_numbers_and_exact_offsets(max_chars):
    passages = passages_of(REPORT_DOC, max_chars, 1, first_id=5)
    by_number = {p.number: p.text for p in REPORT_DOC.paragraphs}
    assert [p.id for p in passages] == list(range(5, 5 + len(passages)))
    content = {p.number for p in REPORT_DOC.paragraphs if not getattr(p, "boilerplate", False)}
    assert set(range(2, 26)) <= content  # only the greeting/comment lines may be boilerplate
    assert {p.paragraph for p in passages} == content
    for p in passages:
        assert p.text == by_number[p.paragraph][p.start : p.end]
        assert p.doc == REPORT.name and p.title == REPORT_DOC.title
    assert len(passages) > 26  # long paragraphs were split


def test_chunks_end_on_sentence_boundaries_when_sentences_fit():
    text = REPORT_DOC.paragraphs[9].text  # paragraph 10: many sentences, each < 200 chars
    bounds = {e for _, e in split_sentences(text)} | {0}
    for s, e in chunk_spans(text, 200, 1):
        assert s in bounds  # starts where a sentence starts
        assert e in bounds


def test_short_paragraph_is_one_chunk():
    assert chunk_spans("会议确认,2023年要抓好以下要点使命。", 200) == [(0, 20)]


def test_overlap_shares_a_sentence_between_neighbours():
    text = "".join(f"第{i}句话写在这里。" for i in range(1, 13))  # 12 sentences of 8 chars
    no = chunk_spans(text, 32, 0)
    one = chunk_spans(text, 32, 1)
    assert all(a[1] == b[0] for a, b in zip(no, no[1:]))  # overlap 0: chunks touch
    assert all(b[0] < a[1] for a, b in zip(one, one[1:]))  # overlap 1: chunks overlap
    for a, b in zip(one, one[1:]):
        shared = text[b[0] : a[1]]
        assert len(split_sentences(shared)) == 1 and shared.endswith("。")
    assert len(one) > len(no)


def test_unsplittable_piece_is_cut_hard_at_max_chars():
    text = "无标点" * 50
    spans = chunk_spans(text, 40, 1)
    assert all(e - s <= 40 for s, e in spans)
    assert "".join(text[s:e] for s, e in chunk_spans(text, 40, 0)) == text


# ------------------------------------------------------------------------------ list structure


def test_list_parents_on_the_report():
    parents = list_parents([p.text for p in REPORT_DOC.paragraphs])
    expected = {n: None for n in range(1, 27)}
    expected.update({9: 8, 10: 8, 11: 8})
    expected.update({n: 15 for n in range(16, 23)})
    assert {n: parents[n - 1] for n in range(1, 27)} == expected


def test_list_parents_synthetic_markers():
    texts = [
        "引言如下：",
        "（一）第一项。",
        "（二）第二项。",
        "正文。",
        "1. 甲",
        "2、乙",
        "结尾。",
        "首先做这个。",
        "其次做那个。",
    ]
    assert list_parents(texts) == [None, 1, 1, None, 4, 4, None, 7, 7]


def test_list_starting_at_the_first_paragraph_has_no_parent():
    assert list_parents(["一是这个。", "二是那个。"]) == [None, None]


def test_decimal_number_is_not_a_list_item():
    assert list_parents(["引言。", "2.1亿吨粗钢产能完成改造。"]) == [None, None]


def test_context_text_has_title_list_intro_and_paragraph_lead():
    passages = passages_of(REPORT_DOC, 200, 1)
    by_number = {p.number: p.text for p in REPORT_DOC.paragraphs}
    later = next(p for p in passages if p.paragraph == 10 and p.start > 0)
    ctx = context_text(later, by_number)
    lines = ctx.split("\n")
    assert lines[0] == REPORT_DOC.title
    assert lines[1] == lead(by_number[8])  # the intro of the list 9-11
    assert lines[2] == lead(by_number[10])  # the item's own first sentence
    assert lines[-1] == later.text
    first = next(p for p in passages if p.paragraph == 2)
    assert context_text(first, by_number) == f"{REPORT_DOC.title}\n{first.text}"


def test_an_answer_is_embedded_with_the_question_line_before_it(tmp_path):
    # A policy Q&A: the answer repeats none of the question's words; the question goes in front.
    f = tmp_path / "解读.txt"
    lines = [
        "问：我家能申请吗？",
        "答：可以。",
        "补贴标准为每户300元。",
        "问：谁来施工？",
        "问：要多久？",
        "一",
        "二",
        "三",
        "四",
    ]
    f.write_text("\n\n".join(lines), encoding="utf-8")
    doc = read_document(f)
    by_number = {p.number: p.text for p in doc.paragraphs}
    ctx = {p.paragraph: context_text(p, by_number, title=False) for p in passages_of(doc, 200, 1)}
    assert ctx[2] == "问：我家能申请吗？\n答：可以。"
    assert ctx[3] == "问：我家能申请吗？\n补贴标准为每户300元。"  # an answer's second paragraph too
    assert ctx[1] == "问：我家能申请吗？"  # nothing before the first question
    assert ctx[5] == "问：要多久？"  # a question after a question answers nothing
    assert ctx[8] == "问：要多久？\n三" and ctx[9] == "四"  # up to ANSWER_PARAGRAPHS after it


def test_list_parents_follow_the_levels_of_an_official_document():
    texts = [
        "三、重点任务",  # 1: a section, no parent
        "（一）优化水资源配置格局",  # 2 -> 1
        "1.推进重大引调水工程建设。",  # 3 -> 2
        "2.新建和扩建一批水源工程。",  # 4 -> 2
        "（二）完善防洪排涝减灾体系",  # 5 -> 1 (a sibling of 2, past the 1. items)
        "重点抓好两个方面工作。",  # 6: body text
        "（三）全面推进节水型社会建设",  # 7 -> 1 (body text between siblings does not end their run)
        "1.农业节水增效。",  # 8 -> 7
        "四、保障措施",  # 9: a new section
    ]
    assert list_parents(texts) == [None, 1, 2, 2, 1, None, 1, 7, None]


def test_items_led_by_dashes_belong_to_the_heading_before_them():
    texts = [
        "（一）指导思想",
        "坚持以人民为中心。",
        "（二）工作原则",
        "——坚持节水为先。",
        "——坚持安全为本。",
        "（三）主要目标",
    ]
    assert list_parents(texts) == [None, None, None, 3, 3, None]


def test_intro_paragraph_before_numbered_items_is_their_parent():
    texts = [
        "四、赛项设置",
        "大赛共设两个赛项：",
        "（一）成果竞赛。",
        "（二）科幻画比赛。",
        "五、时间安排",
        "（一）报名阶段。",
    ]
    assert list_parents(texts) == [None, None, 2, 2, None, 5]


def test_articles_and_chapters_are_sections_but_their_items_are_lists():
    texts = [
        "第一章　总则",
        "第一条　为了保护古树，制定本条例。",
        "第四条　古树实行分级保护：",
        "（一）一级古树；",
        "（二）二级古树。",
    ]
    assert list_parents(texts) == [None, None, None, 3, 3]


def test_first_level_numbers_are_items_only_after_an_announcement():
    assert list_parents(["会议研究了以下事项：", "一、防汛工作", "二、供水管网"]) == [None, 1, 1]
    assert list_parents(["前言。", "一、防汛工作", "二、供水管网"]) == [None, None, None]


def test_markdown_headings_and_lists():
    texts = [
        "# 说明书",
        "## 五、滤网更换",
        "滤网寿命到期后请按以下步骤更换：",
        "1. 关机。",
        "2. 取出旧滤网。",
        "## 六、保养",
        "- 每周清洁一次。",
        "- 每年检查一次。",
    ]
    assert list_parents(texts) == [None, None, None, 3, 3, None, 6, 6]


@pytest.mark.parametrize(
    "text",
    [
        "这个计划由William and Flora Hewlett Foundation、Andrew W. Mellon Foundation共同主持。",
        "猴面包树又名-{zh-hant:猴面包树;zh-hans:猢狲树}-、酸瓠树。",
        "《卡拉OK.LIVE！‧台北‧我》是张雨生发行的第六张国语专辑。",
        "萱侬律(又名：「东芭乐园」；Nong Nooch)是一座植物园。",
    ],
)
def test_end_marks_inside_brackets_quotes_and_initials_do_not_end_a_sentence(text):
    assert split_sentences(text + "下一句。") == [(0, len(text)), (len(text), len(text) + 4)]


def test_a_stray_open_bracket_does_not_swallow_the_paragraph():
    text = "括号（没有闭合。第二句。第三句。"
    assert [text[s:e] for s, e in split_sentences(text)] == ["括号（没有闭合。", "第二句。", "第三句。"]


def test_item_numbers_do_not_end_a_sentence_but_years_do():
    text = "1. 关机并拔下电源插头。2. 取出旧滤网。"
    assert [text[s:e] for s, e in split_sentences(text)] == ["1. 关机并拔下电源插头。", "2. 取出旧滤网。"]
    english = "It opened in 2023. Then it grew."
    assert [english[s:e] for s, e in split_sentences(english)] == ["It opened in 2023. ", "Then it grew."]
