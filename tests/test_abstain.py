"""The abstention step on hand-made inputs: its signals on a fake index, the decision, the calibration checks."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from qa.answering import abstain
from qa.config import Settings
from qa.errors import CalibrationError
from qa.text import YEAR


class _Lexicon:
    """What abstain uses of Index.lexicon: the matching form and an English question's Chinese terms."""

    def __init__(self, glossary: dict | None = None):
        self.glossary = glossary or {}

    def normalize(self, text: str) -> str:
        return text

    def english_terms(self, text: str, chosen: bool = True) -> str:
        return " ".join(zh for en, zh in self.glossary.items() if en in text.lower())

    def english_names(self, text: str) -> list:
        return [([en], [zh]) for en, zh in self.glossary.items() if en[:1].isupper() and en in text]


def _index(paragraphs: dict, glossary: dict | None = None, titles: dict | None = None):
    """A fake index: one passage per paragraph (passage id = position), sentences split at 。 with unit vectors."""
    keys = list(paragraphs)
    sentences, vectors = [], []
    for k in keys:
        text, start = paragraphs[k], 0
        for part in text.split("。"):
            if part:
                end = start + len(part) + 1
                sentences.append((*k, start, min(end, len(text))))
                vectors.append([1.0, 0.0] if len(sentences) == 1 else [0.6, 0.8])
                start = end
    rows: dict = {}
    for row, (doc, para, _, _) in enumerate(sentences):
        rows.setdefault((doc, para), []).append(row)
    return SimpleNamespace(
        paragraphs=paragraphs,
        passages=[SimpleNamespace(doc=d, paragraph=p) for d, p in keys],
        sentences=sentences,
        sentence_vectors=np.array(vectors, np.float32),
        sentence_rows=rows,
        paragraph_years={k: set(YEAR.findall(v)) for k, v in paragraphs.items()},
        lexicon=_Lexicon(glossary),
        titles=titles or {},
    )


def _retrieval(query: str, order: list[int], index, dense=None, lexical=None):
    """Hits in `order` (passage ids); the dense and lexical rankings default to the same order."""
    hits = [SimpleNamespace(doc=index.passages[i].doc, paragraph=index.passages[i].paragraph) for i in order]
    dense = [(i, 0.9 - 0.05 * n) for n, i in enumerate(order)] if dense is None else dense
    lexical = [(i, 10.0 - n) for n, i in enumerate(order)] if lexical is None else lexical
    return SimpleNamespace(
        question=query,
        query=query,
        hits=hits,
        query_vector=np.array([1.0, 0.0], np.float32),
        dense=dense,
        lexical=lexical,
    )


REPORT = {
    ("d", 1): "会议在会场召开。会议听取工作报告。",
    ("d", 2): "会议部署尾矿库排查。排查完成1万余座尾矿库。",
    ("d", 3): "会议总结碳市场建设。碳市场运行平稳。",
}


def test_question_terms_leave_out_asking_words():
    terms = abstain.question_terms(_index(REPORT), "会议在北京哪个酒店举行？")
    assert {"酒店", "北京", "会议"} <= terms
    assert not {t for t in terms if "哪" in t or "个" == t[-1:]} - {"京哪"} - {"哪个"}
    assert "哪个" not in terms


def test_coverage_weighs_rare_bigrams_over_shared_ones():
    index = _index(REPORT)
    # 会议 is in every paragraph: the missing 酒店 / 北京 weigh more than the shared topic word.
    s = abstain.signals(_retrieval("会议在北京哪个酒店举行？", [0, 1, 2], index), index, 3)
    ok = abstain.signals(_retrieval("会议听取了什么报告？", [0, 1, 2], index), index, 3)
    assert ok["cover_top"] == 1.0 and ok["unseen"] == 0.0
    assert s["cover_top"] < 0.3 and s["unseen"] > 0.7
    assert s["local"] < ok["local"]


def test_missing_words_count_less_when_the_corpus_uses_them_elsewhere():
    index = _index(REPORT)
    hotel = abstain.signals(_retrieval("会议在北京哪个酒店举行？", [0], index), index, 1)
    elsewhere = abstain.signals(_retrieval("碳市场运行平稳吗？", [0], index), index, 1)
    there = abstain.signals(_retrieval("碳市场运行平稳吗？", [2], index), index, 1)
    assert hotel["missing"] >= 0.5  # 北京, 酒店: the corpus never uses them
    assert elsewhere["missing"] == 0.5  # every word is in paragraph 3, none in paragraph 1
    assert there["missing"] == 0.0


def test_local_looks_for_the_detail_within_one_sentence():
    index = _index(REPORT)
    # both words are in paragraph 2, but never in the same sentence
    split = abstain.signals(_retrieval("会议部署的尾矿库完成了吗？", [1], index), index, 1)
    together = abstain.signals(_retrieval("尾矿库排查完成了吗？", [1], index), index, 1)
    assert split["cover_top"] == 1.0 and together["cover_top"] == 1.0
    assert together["local"] == 1.0 > split["local"]


def test_agreement_and_the_answers_rank_in_each_ranking():
    index = _index(REPORT)
    agree = abstain.signals(_retrieval("碳市场运行如何？", [2, 0, 1], index), index, 1)
    assert agree["agree"] == 1.0 and agree["fused_rank"] == 1.0
    # dense prefers paragraph 1, BM25 paragraph 3; the answer chose paragraph 3
    split = _retrieval("碳市场运行如何？", [2, 0, 1], index, dense=[(0, 0.9), (1, 0.8), (2, 0.7)])
    s = abstain.signals(split, index, 1)
    assert s["agree"] == 0.0 and s["fused_rank"] == pytest.approx((1 / 3 + 1) / 2)
    assert s["dense_top"] == pytest.approx(0.9) and s["dense_gap"] == pytest.approx(0.1)


def test_a_name_the_top_paragraphs_lack_and_characters_a_paraphrase_keeps():
    index = _index({("d", 1): "北京市召开会议。会议部署工作。", ("d", 2): "北方地区缺乏水资源。"})
    absent = abstain.signals(_retrieval("上海市召开了什么会议？", [0, 1], index), index, 2)
    present = abstain.signals(_retrieval("北京市召开了什么会议？", [0, 1], index), index, 2)
    assert absent["name_missing"] == 1.0 and present["name_missing"] == 0.0
    # a name in the top paragraph's document title is there (a bulletin's paragraphs do not repeat its city)
    titled = _index({("d", 1): "全年居民消费价格上涨0.6%。"}, titles={"d": "上海市统计公报"})
    s = abstain.signals(_retrieval("上海市的物价涨了多少？", [0], titled), titled, 1)
    assert s["name_missing"] == 0.0
    untitled = _index({("d", 1): "全年居民消费价格上涨0.6%。"}, titles={"d": "统计公报"})
    assert abstain.signals(_retrieval("上海市的物价涨了多少？", [0], untitled), untitled, 1)["name_missing"] == 1.0
    # jieba tags everyday words as names (师傅 nr, 东西 ns, 上门 ns): CC-CEDICT's plain words are not names
    assert abstain.question_names("上门的师傅乱加价，还硬要我买别的东西，我去哪儿说理？") == []
    assert abstain.question_names("鹭鸣湾水库的大坝有多高？") == ["鹭鸣湾"]  # 大坝 is a plain word
    assert abstain.question_names("王建国在苇宁市做什么？") == ["王建国", "苇宁市"]  # words it lacks still count
    assert abstain.question_names("北京在哪里？") == ["北京"]  # a proper noun in CC-CEDICT
    # 缺水 / 缺乏水资源: not the bigram, every character
    s = abstain.signals(_retrieval("北方为什么缺水？", [1], index), index, 1)
    assert s["chars_top"] == 1.0 > s["cover_top"]


def test_a_name_an_english_question_gives_must_be_in_the_top_paragraphs():
    paragraphs = {("d", 1): "2022年东京召开会议。", ("d", 2): "十二月召开COP15大会。"}
    index = _index(paragraphs, glossary={"Tokyo": "东京", "Osaka": "大阪", "COP15": "缔约方大会"})
    missing = lambda q, order: abstain.signals(_retrieval(q, order, index), index, 1)["name_missing"]  # noqa: E731
    assert missing("What meeting was held in Tokyo?", [0]) == 0.0
    assert missing("What meeting was held in Osaka?", [0]) == 1.0
    assert missing("What meeting was held in Tokyo?", [1]) == 1.0  # in the corpus, not in the top paragraph
    assert missing("What did COP15 adopt?", [1]) == 0.0  # written as the question writes it
    assert missing("What did COP15 adopt?", [0]) == 1.0
    # how a text may write a dictionary's word: its first two characters, a count in digits
    assert abstain._written_forms(index, "十二月") == ["十二月", "十二", "12月"]
    assert abstain._written_forms(index, "厦门市") == ["厦门市", "厦门"]


def test_focus_is_the_share_of_the_first_passages_in_the_top_document():
    index = _index({("a", 1): "甲。", ("a", 2): "乙。", ("b", 1): "丙。", ("c", 1): "丁。"})
    s = abstain.signals(_retrieval("甲乙是什么？", [0, 1, 2, 3], index, lexical=[(2, 9.0), (0, 8.0)]), index, 1)
    assert s["focus_dense"] == 0.5  # a, a, b, c
    assert s["focus_lex"] == 0.5  # b, a


def test_a_question_with_nothing_in_common_with_the_top_paragraphs_is_declined(tmp_path):
    index = _index(REPORT)
    off = abstain.signals(_retrieval("今天天气怎么样？", [0, 1, 2], index), index, 3)
    on = abstain.signals(_retrieval("尾矿库排查完成了吗？", [1, 0, 2], index), index, 3)
    english = abstain.signals(_retrieval("How is the weather today?", [0, 1, 2], index), index, 3)
    assert abstain.nothing_in_common(off) and not abstain.nothing_in_common(on)
    assert not abstain.nothing_in_common(english)  # its terms are dictionary guesses: left to the model
    # declined by a model that would answer anything above its threshold, unless it is sure
    # (abstain.SURE_WITHOUT_WORDS): a question in everyday words can share no word with its answer
    n = len(abstain.FEATURES)
    model = {"features": list(abstain.FEATURES), "weights": [0.0] * n, "mean": [0.0] * n, "std": [1.0] * n}
    for bias, answered in ((-0.5, False), (5.0, True)):  # confidence .38 and .99 for every question
        path = tmp_path / f"abstention{bias}.json"
        path.write_text(json.dumps(model | {"bias": bias, "threshold": 0.2}), encoding="utf-8")
        settings = Settings(abstention_file=path, abstain_top_k=3)
        got = abstain.decide(_retrieval("今天天气怎么样？", [0, 1, 2], index), index, settings)
        assert got.found is answered and got.confidence == (pytest.approx(0.993, abs=1e-3) if answered else 0.0)
        assert abstain.decide(_retrieval("尾矿库排查完成了吗？", [1, 0, 2], index), index, settings).found


def test_nothing_in_common_declines_below_the_sure_level_in_every_reader():
    sure = abstain.SURE_WITHOUT_WORDS
    conf = np.array([0.1, sure - 0.01, sure, 0.9])
    assert abstain.without_words(conf, np.zeros(4, bool)).tolist() == conf.tolist()
    assert abstain.without_words(conf, np.ones(4, bool)).tolist() == [0.0, 0.0, sure, 0.9]
    assert float(abstain.without_words(0.3, True)) == 0.0 and float(abstain.without_words(0.3, False)) == 0.3
    # the fits (qa/answering/fit.py) score the same way as `decide` and the probes
    from qa.answering import fit

    m = {"mean": np.zeros(1), "std": np.ones(1), "weights": np.ones(1), "bias": 0.0}
    X = np.array([[-3.0], [3.0]])  # confidences .047 and .953
    assert fit.score(m, X, np.array([True, True]))[0] == 0.0 and fit.score(m, X, np.array([True, True]))[1] > 0.95


def test_sentence_top_is_the_best_sentence_cosine_of_the_top_paragraph():
    index = _index(REPORT)
    assert abstain.signals(_retrieval("会议听取了什么报告？", [0], index), index, 1)["sentence_top"] == 1.0
    assert abstain.signals(_retrieval("碳市场运行如何？", [2], index), index, 1)["sentence_top"] == pytest.approx(0.6)


def test_english_questions_are_matched_through_the_lexicon():
    index = _index(REPORT, glossary={"tailings pond": "尾矿库", "hotel": "酒店"})
    covered = abstain.signals(_retrieval("How many tailings ponds were checked?", [1], index), index, 1)
    missing = abstain.signals(_retrieval("Which hotel hosted the meeting?", [0], index), index, 1)
    assert covered["english"] == 1.0 and covered["english_dense"] == covered["dense_top"]
    assert covered["cover_top"] == 1.0 and missing["cover_top"] == 0.0
    assert covered["value_missing"] == 0.0  # "1万余座" answers how many


def test_the_value_is_looked_for_in_the_top_paragraph_and_those_holding_the_rarest_term():
    # The answer is built from the top paragraph: it is always read, even when it words the
    # question's rarest term otherwise (补助 for 补贴); a lower paragraph is read only when it
    # holds that term (a fine in another article answers another question).
    paras = {
        ("d", 1): "每部加装电梯给予20万元补助。",
        ("d", 2): "加装电梯应当征得业主同意，并可申请补贴。",
        ("d", 3): "违规停放的处五十元罚款。",
    }
    index = _index(paras)
    corpus = abstain._corpus(index)
    terms = abstain.question_terms(index, "加装电梯政府补贴多少钱？")
    top = [("d", 1), ("d", 2), ("d", 3)]
    assert abstain._anchored(corpus, abstain._anchor(corpus, terms, top), top) == [("d", 1), ("d", 2)]
    s = abstain.signals(_retrieval("加装电梯政府补贴多少钱？", [0, 1, 2], index), index, 3)
    assert s["value_missing"] == 0.0  # 20万元, in the top paragraph
    s = abstain.signals(_retrieval("加装电梯政府补贴多少钱？", [1, 2, 0], index), index, 2)
    assert s["value_missing"] == 1.0  # the fine in the other article does not say it


@pytest.mark.parametrize(
    "question, passage, missing",
    [
        ("2022年全国地表水优良断面比例是多少？", "优良断面比例达到87.9%。", 0.0),
        ("2022年全国地表水优良断面比例是多少？", "水环境质量持续改善。", 1.0),
        ("部门预算是多少钱？", "部门预算为52亿元。", 0.0),
        ("黄润秋今年多大年龄？", "部长黄润秋作工作报告。", 1.0),
        ("这次会议一共有多少人参加？", "会议以视频形式召开，约3000人参加。", 0.0),
        ("这次会议一共有多少人参加？", "各省生态环境厅负责同志参加会议。", 1.0),
        ("会议是什么时候召开的？", "2月16日至17日，会议在京召开。", 0.0),
        ("第三轮督察什么时候启动？", "深入推进中央生态环境保护督察。", 1.0),
        ("全国完成了多少座尾矿库的排查？", "完成1万余座尾矿库环境风险排查。", 0.0),
        ("成功发射了几颗卫星？", "成功发射三颗生态环境卫星。", 0.0),
        ("蓝鲸湾水库的总库容是多少？", "蓝鲸湾水库于二〇一九年建成，总库容为三点七亿立方米。", 0.0),  # Chinese numerals
        ("排放量具体下降了多少？", "主要污染物排放总量持续下降。", 1.0),
        ("会议对工作的回顾包括哪几个方面？", "一是……二是……", 0.0),  # 哪几: which ones, not how many
        ("What was the carbon price at the end of 2022?", "全国碳市场运行平稳。", 1.0),
        ("When was the conference held?", "2月16日至17日，会议在京召开。", 0.0),
        ("会议主要讲了什么？", "会议总结2022年工作。", 0.0),  # asks for no value
        ("麻省理工学院位于哪个城市？", "截至2014年，麻省理工学院共有1,021位教职员。", 1.0),  # a place asked, none given
        ("每个县最多推荐多少件作品？", "每个县（区）推荐的作品总数不超过40项。", 0.0),  # its own measure word
        ("每个县最多推荐多少件作品？", "各县要认真做好作品初审和报送工作。", 1.0),
        ("领导小组由谁担任组长？", "成立由市长任组长的领导小组。", 0.0),  # an office answers who
        # ... but not who holds an office the question names: only a name does
        ("苇宁市现任市长是谁？", "苇宁市统计局　国家统计局苇宁调查队", 1.0),
        ("苇宁市现任市长是谁？", "学校设立领导小组，由校长任组长。", 1.0),
        ("苇宁市现任市长是谁？", "市长张建国主持会议。", 0.0),
        ("浙江省是哪位负责同志作的交流发言？", "浙江省生态环境厅主要负责同志作交流讲话。", 1.0),  # no name
        ("浙江省是哪位负责同志作的交流发言？", "浙江省生态环境厅厅长王浩作交流讲话。", 0.0),
        # where, in a manual or a rule: a location or a kind of venue, unless a kind of place is named
        ("滤网检测开关在机器的什么地方？", "机身背面设有滤网检测开关。", 0.0),
        ("哪些地方不能带狗进去？", "禁止携犬进入下列场所：", 0.0),
        ("哪些地方不能带狗进去？", "携犬出户应当束犬链。", 1.0),
        ("麻省理工学院位于哪个城市？", "学院的主楼位于校园东侧的草坪附近。", 1.0),
        # the asked noun worded otherwise, its head character beside the number
        ("医院新增了多少张病床？", "市第二人民医院河东新院区投入使用，新增床位800张。", 0.0),
        ("政府准备新增多少车位？", "新增公共停车泊位1.2万个。", 0.0),
        ("去年一共接待了多少观光客？", "全年接待游客3260万人次。", 0.0),
        ("医院新增了多少张病床？", "医院新增设备一批，床头呼叫系统全面更新。", 1.0),  # no number beside it
        ("几乎所有食物都加入什么油？", "食物多以橄榄油调味。", 0.0),  # 几乎 is "almost", not "how many"
        # what "X了多少" counts is jieba's word before it: a change (贵) takes any number, a noun its own
        ("老百姓买东西比前一年贵了多少？", "全年居民消费价格比上年上涨0.6%。", 0.0),
        ("全国碳市场的累计成交额是多少？", "全国碳市场累计成交量2.3亿吨。", 1.0),  # 成交额, not 交额
        ("全国碳市场的累计成交额是多少？", "累计成交额104.75亿元。", 0.0),
        # a compound noun counts by its head: 环境风险隐患 by 隐患, not by its first characters 环境
        ("排查共发现了多少个环境风险隐患？", "完成1万余座尾矿库环境风险排查。", 1.0),
        ("排查共发现了多少个环境风险隐患？", "共排查出环境风险隐患1200余个。", 0.0),
        ("框架一共设定了多少个行动目标？", "框架设定了23个行动目标。", 0.0),
        # the members of a set named by its count: a passage naming the set without them does not say
        ("发射的三颗生态环境卫星分别叫什么名字？", "成功发射三颗生态环境卫星，稳步推进碳监测评价试点。", 1.0),
        ("发射的三颗生态环境卫星分别叫什么名字？", "成功发射三颗生态环境卫星：句芒号、大气一号。", 0.0),
        ("纳入管控清单的14种新污染物具体是哪些？", "将14种新污染物纳入重点管控清单。", 1.0),
        ("纳入管控清单的14种新污染物具体是哪些？", "将十四种新污染物纳入清单。", 1.0),  # 14 written 十四
        ("纳入管控清单的14种新污染物具体是哪些？", "将4种新污染物纳入清单。", 0.0),  # another set
        ("今年要办的十件民生实事都有哪些？", "今年办好十件民生实事。一是新建学校。", 0.0),  # items follow
        ("“六个必须坚持”指的是哪些？", "践行“六个必须坚持”（必须坚持人民至上、必须坚持自信自立）", 0.0),
        ("两个医疗集团由哪几家医院牵头？", "组建两个城市医疗集团。", 0.0),  # asks for hospitals, not the groups
        ("七项重点任务分别是什么？", "会议部署了下一步工作。", 0.0),  # the set not named: other signals decide
        # a bound after 多少 is not what it counts; a measure word of its own counts the thing
        ("人均月收入多少以下才能申请？", "家庭人均月收入低于4200元。", 0.0),
        ("人均月收入多少以下才能申请？", "申请人应当具有本市户籍。", 1.0),
        ("小区里多少户人家设一个投放点？", "按照每300户至500户设置一个集中投放点。", 0.0),
        ("小区里多少户人家设一个投放点？", "投放点应当配备四类分类收集容器。", 1.0),
        ("多少个城市纳入试点？", "新增3个试点县。", 1.0),  # 个 counts anything: the noun must be there
        # 几点 asks for a time of day, not how many 点
        ("厨余垃圾早上几点可以投放？", "投放时间为每日早上7:00至9:00。", 0.0),
        ("厨余垃圾早上几点可以投放？", "闭馆时间为下午五点。", 0.0),
        ("图书馆周末几点关门？", "图书馆周末照常开放。", 1.0),
        ("图书馆几点关门？", "总库容为三点七亿立方米。", 1.0),  # 三点七 is a number, not three o'clock
    ],
)
def test_value_missing(question, passage, missing):
    assert abstain.value_missing(question, [passage]) == missing


def test_a_place_or_person_must_be_named_near_what_the_question_is_about():
    asked = "六五环境日国家主场活动是在哪个城市举办的？"
    far = "深化生态文明建设。成功举办六五环境日国家主场活动。推进环保设施向公众开放。生物多样性大会在昆明市召开。"
    close = "生物多样性大会在昆明市召开。成功举办六五环境日国家主场活动。推进环保设施向公众开放。"
    for text, missing in ((far, 1.0), (close, 0.0)):  # 昆明市 two sentences on (another meeting's) / just before
        index = _index({("d", 1): text, ("d", 2): "其他工作。"})
        assert abstain.signals(_retrieval(asked, [0, 1], index), index, 2)["value_missing"] == missing
        assert abstain.value_missing(asked, [text]) == 0.0  # the paragraph as a whole names a city
    # other kinds are read in the whole paragraph
    assert abstain.value_missing("有多少人参加？", ["会议召开。"], near=["会议召开。"]) == 1.0
    assert abstain.value_missing("有多少人参加？", ["300人参加。会议召开。"], near=["会议召开。"]) == 0.0


def test_a_count_must_come_from_a_passage_about_the_asked_year():
    passage = "新增25个城市纳入清洁取暖支持范围。"
    assert abstain.value_missing("2022年新增多少个城市纳入清洁取暖范围？", [passage], [{"2022"}]) == 0.0
    assert abstain.value_missing("2023年要新增多少个城市纳入清洁取暖范围？", [passage], [{"2022"}]) == 1.0
    assert abstain.value_missing("2023年要新增多少个城市纳入清洁取暖范围？", [passage], [set()]) == 0.0
    # a year is not a count
    assert abstain.value_missing("新增了多少个城市？", ["2022年新增城市。"]) == 1.0


def test_a_date_must_come_from_a_passage_about_the_asked_year():
    passage = "2月16日至17日，生态环境部在京召开2023年全国生态环境保护工作会议。"
    asked = "2021年全国生态环境保护工作会议是什么时候召开的？"
    assert abstain.value_missing(asked, [passage], [{"2023"}]) == 1.0  # the day of the 2023 meeting
    assert abstain.value_missing(asked, [passage], [{"2021", "2023"}]) == 0.0
    assert abstain.value_missing(asked, ["会议于2月16日召开。"], [set()]) == 0.0  # names no year: any
    assert abstain.value_missing("会议是什么时候召开的？", [passage], [{"2023"}]) == 0.0  # no year asked


def _calibration(path, weights, threshold=0.5, features=None):
    names = list(abstain.FEATURES) if features is None else features
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
    index = _index(REPORT)
    # a model of one signal, centred: declined unless the top paragraph covers over half the question
    settings = _calibration(tmp_path / "a.json", [10.0], features=["cover_top"], threshold=0.5)
    (tmp_path / "a.json").write_text(
        (tmp_path / "a.json").read_text().replace('"bias": 0.0', '"bias": -5.0'), encoding="utf-8"
    )
    abstain.load_calibration.cache_clear()
    no = abstain.decide(_retrieval("会议在北京哪个酒店举行？", [0, 1, 2], index), index, settings)
    yes = abstain.decide(_retrieval("会议听取了什么报告？", [0, 1, 2], index), index, settings)
    assert (no.found, yes.found) == (False, True)
    assert no.confidence < 0.5 <= yes.confidence
    assert set(no.signals) == set(abstain.FEATURES)
    with pytest.raises(TypeError):
        no.signals["cover_top"] = 1.0  # the decision is a frozen value
    # nothing retrieved: declined, whatever the model says
    empty = abstain.decide(_retrieval("会议听取了什么报告？", [], index), index, settings)
    assert not empty.found and empty.confidence == 0.0


def test_abstain_top_k_comes_from_settings(tmp_path):
    index = _index(REPORT)
    r = _retrieval("尾矿库排查完成了吗？", [0, 1], index)
    settings = _calibration(tmp_path / "a.json", [0.0] * len(abstain.FEATURES))
    one = abstain.decide(r, index, settings.replace(abstain_top_k=1))
    two = abstain.decide(r, index, settings.replace(abstain_top_k=2))
    assert one.signals["cover_topk"] < two.signals["cover_topk"] == 1.0


def test_a_calibration_for_other_signals_says_how_to_refit(tmp_path):
    settings = _calibration(tmp_path / "old.json", [1.0], features=["missing:zh"])
    index = _index(REPORT)
    with pytest.raises(CalibrationError, match="python bench/calibrate.py") as err:
        abstain.decide(_retrieval("会议召开了吗？", [0], index), index, settings)
    assert "missing:zh" in str(err.value)
    abstain.load_calibration.cache_clear()
    with pytest.raises(CalibrationError, match="no abstention calibration"):
        abstain.load_calibration(tmp_path / "absent.json")
    (tmp_path / "short.json").write_text(json.dumps({"features": ["cover_top", "local"], "weights": [1.0]}))
    with pytest.raises(CalibrationError, match="refit it with"):
        abstain.load_calibration(tmp_path / "short.json")


def test_the_shipped_calibration_fits_the_code():
    model = abstain.load_calibration(Settings().abstention_file)
    assert set(model.features) <= set(abstain.FEATURES)
    assert 0.0 < model.threshold < 1.0


def test_an_index_s_own_threshold_is_the_probes_quantile_when_higher(tmp_path):
    from qa.answering import probes

    qs = probes.questions()
    assert len(qs) >= 100 and all(q and not q.startswith("#") for q in qs)
    assert probes.threshold(0.2, np.array([0.0, 0.1, 0.9]), None) == 0.2  # no quantile fitted
    assert probes.threshold(0.2, np.array([0.0, 0.05, 0.1]), 0.8) == 0.2  # a narrow index: the fitted one
    assert probes.threshold(0.2, np.linspace(0, 1, 101), 0.8) == pytest.approx(0.8)  # probes score high
    settings = _calibration(tmp_path / "a.json", [1.0, -1.0], features=["cover_top", "local"], threshold=0.3)
    model = abstain.load_calibration(settings.abstention_file)
    assert model.probe_quantile is None
    X = np.zeros((3, len(abstain.FEATURES)))
    X[:, abstain.FEATURES.index("cover_top")] = [0.0, 1.0, -2.0]
    X[:, abstain.FEATURES.index("local")] = [0.5, 0.0, 0.0]
    rows = [dict(zip(abstain.FEATURES, x)) for x in X]
    got = model.confidences(X, np.array([False, False, True]))
    assert got[:2] == pytest.approx([model.confidence(rows[0]), model.confidence(rows[1])]) and got[2] == 0.0
    # a vetoed row the model is sure of (.73) keeps its confidence (abstain.without_words)
    assert model.confidences(X, np.array([False, True, False])) == pytest.approx([model.confidence(r) for r in rows])
    m = json.loads((tmp_path / "a.json").read_text()) | {"probe_quantile": 1.5}
    (tmp_path / "a.json").write_text(json.dumps(m))
    abstain.load_calibration.cache_clear()
    with pytest.raises(CalibrationError, match="probe_quantile"):
        abstain.load_calibration(settings.abstention_file)
    (tmp_path / "a.json").write_text(json.dumps(m | {"probe_quantile": 0.8}))
    abstain.load_calibration.cache_clear()
    assert abstain.load_calibration(settings.abstention_file).probe_quantile == 0.8


def test_decide_uses_the_index_threshold_it_is_given(tmp_path):
    index = _index(REPORT)
    settings = _calibration(tmp_path / "a.json", [0.0] * len(abstain.FEATURES), threshold=0.4)  # confidence 0.5
    r = _retrieval("会议听取了什么报告？", [0, 1, 2], index)
    assert abstain.decide(r, index, settings).found
    assert not abstain.decide(r, index, settings, threshold=0.6).found


def test_an_index_threshold_is_kept_per_version_calibration_and_code(tmp_path, monkeypatch):
    from qa.answering import probes

    calls = []

    def compute():
        calls.append(1)
        return 0.25

    cal, cache = tmp_path / "a.json", tmp_path / "cache"
    cal.write_text("{}")

    def asked(version, folder=cache) -> int:
        """How many times the probes ran for one more lookup."""
        before = len(calls)
        assert probes.remembered(version, cal, folder, compute) == 0.25
        return len(calls) - before

    assert (asked("v1"), asked("v1")) == (1, 0)  # kept on disk
    cal.write_text('{"refit": 1}')
    assert asked("v1") == 1  # another calibration: asked again
    monkeypatch.setattr(probes, "_code", lambda: b"another version of the code")
    assert asked("v1") == 1  # other code: its probes may score otherwise
    assert (asked(""), asked("")) == (1, 1)  # an index never saved: never kept
    assert (asked("../../x"), asked("../../x")) == (1, 1)  # not a plain folder name: never kept
    assert not list(tmp_path.rglob("x-*.json"))
    (tmp_path / "file").write_text("")
    assert asked("v2", tmp_path / "file" / "cache") == 1  # a cache folder that cannot be made: no error
    for v in range(probes.KEEP + 5):  # every build is a new version: only the latest KEEP stay
        asked(f"w{v}")
    assert len(list((cache / "thresholds").glob("*.json"))) == probes.KEEP


def _with_wide(path, wide_bias: float, wide_threshold: float, quantile=0.8, full_at=0.5, absent_full=None):
    """A general model of confidence 0.5 (threshold 0.4) whose wide model's confidence is
    sigmoid(`wide_bias`) at `wide_threshold`, deciding alone from index threshold `full_at` (or
    where the absent-thing probes score `absent_full`)."""
    n = len(abstain.FEATURES)
    model = {"features": list(abstain.FEATURES), "weights": [0.0] * n, "bias": 0.0, "mean": [0.0] * n}
    model |= {"std": [1.0] * n, "threshold": 0.4, "probe_quantile": quantile}
    wide = model | {"bias": wide_bias, "threshold": wide_threshold, "probe_quantile": None, "full_at": full_at}
    if absent_full is not None:
        wide["absent_full"] = absent_full
    path.write_text(json.dumps(model | {"wide": wide}), encoding="utf-8")
    abstain.load_calibration.cache_clear()
    abstain.parse_calibration.cache_clear()
    return Settings(abstention_file=path)


def test_the_wide_model_s_share_rises_with_how_far_the_probes_raise_the_threshold(tmp_path):
    settings = _with_wide(tmp_path / "a.json", wide_bias=-2.0, wide_threshold=0.3, full_at=0.6)
    general = abstain.load_calibration(settings.abstention_file)
    assert general.wide is not None and not general.wide.english and general.wide.full_at == 0.6
    share = [abstain.wide_weight(general, t) for t in (None, 0.3, 0.4, 0.5, 0.6, 0.9)]
    assert share == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0, 1.0])
    assert abstain.mixed(general, 0.0, (0.5, None), 0.45) == (0.5, 0.45)
    assert abstain.mixed(general, 0.5, (0.5, 0.1), 0.5) == pytest.approx((0.3, 0.4))  # cut: halfway to the wide 0.3
    conf, cut = abstain.mixed(general, np.array([0.0, 1.0]), (np.array([0.5, 0.5]), np.array([0.1, 0.1])), 0.45)
    assert conf == pytest.approx([0.5, 0.1]) and cut == pytest.approx([0.45, 0.3])


def test_a_wide_index_s_chinese_questions_go_to_the_wide_model(tmp_path):
    index = _index(REPORT)
    settings = _with_wide(tmp_path / "a.json", wide_bias=-2.0, wide_threshold=0.3, full_at=0.5)  # wide conf 0.12
    zh = _retrieval("会议听取了什么报告？", [0, 1, 2], index)
    # narrow: the probes left the fitted threshold (or none was given): the general model decides
    for threshold in (None, 0.4):
        got = abstain.decide(zh, index, settings, threshold)
        assert got.found and got.confidence == pytest.approx(0.5)
        assert abstain.which(index, settings, threshold) == "general"
    # wide: the probes raised the threshold to full_at; the wide model decides alone, at its own threshold
    got = abstain.decide(zh, index, settings, 0.5)
    assert not got.found and got.confidence == pytest.approx(1 / (1 + np.exp(2.0)))
    assert abstain.which(index, settings, 0.5) == "wide"
    # halfway there: half of each, confidence (0.5 + 0.12) / 2 = 0.31 against a cut of (0.45 + 0.3) / 2
    half = abstain.decide(zh, index, settings, 0.45)
    assert half.confidence == pytest.approx((0.5 + 1 / (1 + np.exp(2.0))) / 2) and not half.found
    # an English question stays with the general model at the index's threshold
    en = _retrieval("What report did the meeting hear?", [0, 1, 2], index)
    assert abstain.decide(en, index, settings, 0.45).found
    assert not abstain.decide(en, index, settings, 0.55).found


def test_the_absent_thing_probes_give_an_index_the_wide_model_where_its_threshold_does_not(tmp_path):
    from qa.answering import probes

    qs, absent = probes.questions(), probes.questions()[probes.absent_rows()]
    # the made-up people, places and works, and only they (the file's everyday questions come first)
    assert len(absent) == 50 and absent[0] == "王建国是哪一年出生的？" and "今天星期几？" in qs[: -len(absent)]
    # 0 up to half of absent_full, then linearly to 1 at it
    assert [abstain.absent_weight(0.08, v) for v in (0.0, 0.04, 0.06, 0.08, 0.2)] == pytest.approx([0, 0, 0.5, 1, 1])
    settings = _with_wide(tmp_path / "a.json", wide_bias=-2.0, wide_threshold=0.3, full_at=0.6, absent_full=0.08)
    model = abstain.load_calibration(settings.abstention_file)
    assert model.wide.absent_full == 0.08
    low = np.zeros(len(qs))  # every probe sure it is not answered: the fitted threshold, no share
    assert probes.raised(model, low) == 0.4 and abstain.wide_weight(model, probes.raised(model, low)) == 0.0
    # the absent-thing probes at .06 on average (the everyday ones at 0): halfway up the ramp
    half = low.copy()
    half[probes.absent_rows()] = 0.06
    assert probes.raised(model, half) == pytest.approx(0.5)
    assert abstain.wide_weight(model, probes.raised(model, half)) == pytest.approx(0.5)
    # a threshold the probes' quantile raises further stands (the higher of the two)
    everyday = np.where(np.arange(len(qs)) < len(qs) - len(absent), 0.9, 0.06)
    assert probes.raised(model, everyday) == pytest.approx(np.quantile(everyday, 0.8))
    # a model without absent_full reads the quantile alone
    plain = abstain.load_calibration(_with_wide(tmp_path / "b.json", -2.0, 0.3, full_at=0.6).abstention_file)
    assert plain.wide.absent_full is None and probes.raised(plain, half) == 0.4


def test_a_wide_model_is_checked_like_the_general_one(tmp_path):
    path = tmp_path / "a.json"
    _with_wide(path, 0.0, 0.3)
    m = json.loads(path.read_text())
    for broken, says in (
        ({"wide": m["wide"] | {"weights": [1.0]}}, "its wide model"),
        ({"wide": {k: v for k, v in m["wide"].items() if k != "full_at"}}, "full_at"),
        ({"wide": m["wide"] | {"full_at": 0.4}}, "not above the threshold"),
        ({"wide": m["wide"] | {"absent_full": 0.0}}, "absent_full"),
        ({"wide": m["wide"] | {"absent_full": "high"}}, "absent_full"),
        ({"probe_quantile": None}, "probe_quantile"),  # nothing would ever choose it
    ):
        path.write_text(json.dumps(m | broken))
        abstain.load_calibration.cache_clear()
        with pytest.raises(CalibrationError, match=says):
            abstain.load_calibration(path)


def test_the_shipped_calibration_has_a_wide_model_for_chinese_questions():
    model = abstain.load_calibration(Settings().abstention_file)
    assert model.wide is not None and model.probe_quantile is not None
    assert not model.wide.english and 0.0 < model.wide.threshold < 1.0
    assert model.threshold < model.wide.full_at < 1.0
    assert 0.0 < model.wide.absent_full < 1.0  # bench/calibrate.py --set-absent


def test_a_paragraph_naming_a_year_is_also_about_its_document_titles_year():
    # a bulletin's date line names the year it came out (2027), its title the year it covers (2026)
    paras = {("d", 1): "苇宁市统计局（2027年3月18日）。"}
    asked = "苇宁市2026年统计公报是哪天发布的？"
    titled = _index(paras, titles={"d": "苇宁市2026年国民经济和社会发展统计公报"})
    assert abstain.signals(_retrieval(asked, [0], titled), titled, 1)["value_missing"] == 0.0
    untitled = _index(paras, titles={"d": "统计公报"})
    assert abstain.signals(_retrieval(asked, [0], untitled), untitled, 1)["value_missing"] == 1.0
