"""Feature extraction of the abstention signals, on hand-made inputs (no model, no index on disk)."""

from types import SimpleNamespace

import numpy as np
import pytest

from qa import abstain


def _index(paragraphs: dict):
    return SimpleNamespace(paragraphs=paragraphs, sentences=[], sentence_vectors=np.zeros((0, 2), np.float32),
                           sentence_rows={})


def test_content_words_drop_asking_and_frame_words():
    words = abstain.content_words("会议在北京哪个酒店举行？")
    assert "酒店" in words and "北京" in words
    assert "哪个" not in words and "在" not in words


def test_focus_word_after_and_before_the_question_word():
    assert abstain.focus_word("会议在北京哪个酒店举行？") == "酒店"
    assert abstain.focus_word("全国碳市场的累计成交额是多少？") == "成交额"
    assert abstain.focus_word("重金属污染防治") is None


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
    assert abstain.english_missing("What is the capital of Australia?") == 1.0
    assert abstain.english_missing("Who is the Party secretary of the Ministry of Ecology and Environment?") == 0.0


def test_signals_on_a_hand_made_index():
    index = _index({("d", 1): "会议在会场召开，听取工作报告。", ("d", 2): "尾矿库排查完成。"})
    hit = SimpleNamespace(doc="d", paragraph=1)
    s = abstain.signals(index, "会议在北京哪个酒店举行？", np.ones(2, np.float32), [(0, 0.8)], [], [hit])
    assert s["english"] == 0.0 and s["focus_missing"] == 1.0 and s["missing"] >= 0.5
    assert s["dense_top"] == pytest.approx(0.8)
    ok = abstain.signals(index, "会议听取了什么报告？", np.ones(2, np.float32), [(0, 0.8)], [], [hit])
    assert ok["missing"] == 0.0 and ok["focus_missing"] == 0.0 and ok["number_missing"] == 0.0


def test_features_split_by_language():
    zh = {"english": 0.0, "missing": 0.5, "focus_missing": 1.0, "number_missing": 0.0, "sentence_top": 0.9, "dense_top": 0.8}
    en = dict(zh, english=1.0)
    n_zh, n_en = len(abstain.ZH_FEATURES), len(abstain.EN_FEATURES)
    assert len(abstain.features(zh)) == len(abstain.feature_names()) == n_zh + n_en + 1
    assert abstain.features(zh)[n_zh:n_zh + n_en] == [0.0] * n_en
    assert abstain.features(en)[:n_zh] == [0.0] * n_zh
