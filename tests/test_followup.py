"""Follow-up questions: which lean on the conversation, and how they are rewritten."""

from __future__ import annotations

import pytest

from qa.search.followup import is_followup, resolve

TASKS = "2023年生态环境保护的重点任务有哪些？"


@pytest.mark.parametrize(
    "q",
    [
        "那核安全方面呢？",
        "那2023年呢？",
        "第六项呢？",
        "What about nuclear safety?",
        "固体废物呢？",
        "还有大气污染防治方面呢？",
        "他们是谁？",
        "And the second one?",
    ],
)
def test_followups_are_recognized(q):
    assert is_followup(q)


@pytest.mark.parametrize(
    "q",
    [
        TASKS,
        "全国完成了多少座尾矿库环境风险排查？",
        "2023年的重点任务有哪些？",
        "谁主持了开幕会？",
        "Who chaired the opening session of the meeting?",
        "How many tailings ponds were screened for environmental risks?",
    ],
)
def test_standalone_questions_are_not_followups(q):
    assert not is_followup(q)


@pytest.mark.parametrize(
    "q", [TASKS, "全国完成了多少座尾矿库环境风险排查？", "Who chaired the opening session of the meeting?"]
)
def test_standalone_questions_stay_unchanged_with_history(q):
    assert resolve(q, ["会议在哪里举行？"]) == q
    assert resolve(f"  {q} ", []) == q


def test_topic_followup_takes_the_previous_question_without_its_topic():
    out = resolve("那核安全方面呢？", [TASKS])
    assert out.startswith("核安全 ") and "2023年" in out and "有哪些" in out
    assert "生态环境" not in out and "重点任务" not in out


def test_new_topic_replaces_the_old_one():
    out = resolve("那监测方面呢？", ["2022年在应对气候变化方面做了哪些工作？"])
    assert out.startswith("监测") and "2022年" in out and "做了哪些" in out
    assert "气候" not in out and "应对" not in out


@pytest.mark.parametrize("q", ["那进展呢？", "那2022年呢？", "还有呢？", "第三项呢？", "那它的目标呢？"])
def test_followups_without_a_topic_of_their_own_keep_the_previous_topic(q):
    assert "大气污染防治" in resolve(q, ["2023年大气污染防治有什么安排？"])


@pytest.mark.parametrize("q", ["What is his position?", "What were their roles?", "Where are its offices?"])
def test_english_possessive_pronouns_point_back(q):
    assert is_followup(q)
    assert resolve(q, ["Who chaired the opening session?"]).endswith("Who chaired the opening session?")


def test_year_followup_replaces_the_year():
    out = resolve("那2023年呢？", ["2022年取得了哪些成绩？"])
    assert "2023年" in out and "2022" not in out and "取得了哪些成绩" in out


def test_ordinal_followup_keeps_the_list_question():
    out = resolve("第六项呢？", [TASKS])
    assert out.startswith("第六项") and "重点任务" in out


def test_english_followup():
    out = resolve("What about nuclear safety?", [TASKS])
    assert out.startswith("nuclear safety") and TASKS in out


def test_followup_without_history_is_the_question_itself():
    assert resolve("那核安全方面呢？", []) == "那核安全方面呢？"
    assert resolve("那核安全方面呢？", ["", "   "]) == "那核安全方面呢？"


def test_chained_followups_resolve_through_the_history():
    out = resolve("第六项呢？", [TASKS, "那核安全方面呢？"])
    assert out.startswith("第六项") and "核安全" in out and "2023年" in out


def test_year_followup_of_a_topic_followup_keeps_the_newer_topic():
    out = resolve("那去年呢？", ["2023年大气污染防治有什么安排？", "那水污染呢？"])
    assert out.startswith("去年") and "水污染" in out and "大气" not in out and "2023" not in out


def test_only_the_latest_question_is_used():
    out = resolve("那核安全方面呢？", ["谁主持了开幕会？", TASKS])
    assert "主持" not in out and "2023年" in out


def test_warm_up_reads_jiebas_cache_and_segments_as_jieba_does(tmp_path):
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    code = textwrap.dedent("""
        import jieba
        from qa.search import followup
        followup._read_cache(jieba)
        read = jieba.dt.initialized  # False without a cache: warm_up leaves it to jieba
        followup.warm_up()
        ref = jieba.Tokenizer()
        ref.initialize()  # jieba's own way, from the same cache
        text = "全国完成了1万余座尾矿库环境风险排查，那核安全方面呢？"
        assert ref.FREQ == jieba.dt.FREQ and ref.total == jieba.dt.total
        assert ref.lcut(text, HMM=False) == jieba.lcut(text, HMM=False)
        print(read, len(jieba.dt.FREQ) > 100000)
    """)
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # a cache of its own: the first run builds it, the second reads it
    root = Path(__file__).resolve().parents[1]
    for read in ("False", "True"):
        run = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.split() == [read, "True"]
    assert (tmp_path / "jieba.cache").is_file()
