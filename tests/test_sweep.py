"""bench/sweep.py: settings lines parsed, ranks summarized against the first line (no model); bench/wide_share.py's arguments."""

from __future__ import annotations

import pytest

from bench import sweep


def test_config_splits_settings_from_retriever_constants():
    assert sweep.parse_config("base") == ({}, {})
    assert sweep.parse_config("lexical_weight=1.5,SENTENCE_WEIGHT=0.75") == (
        {"lexical_weight": 1.5},
        {"SENTENCE_WEIGHT": 0.75},
    )
    with pytest.raises(ValueError, match="NAME=VALUE"):
        sweep.parse_config("lexical_weight")
    with pytest.raises(ValueError):
        sweep.parse_config("lexical_weight=high")


def test_bad_config_fails_before_any_model_loads(capsys):
    with pytest.raises(SystemExit):
        sweep.main(["base", "=2"])
    assert "NAME=VALUE" in capsys.readouterr().err


RESULTS = {
    "base": {"gov": {"g-1": 1, "g-2": 3, "g-3": None}, "news": {"n-1": 6}},
    "lexical_weight=1": {"gov": {"g-1": 2, "g-2": 1, "g-3": 4}, "news": {"n-1": 5}},
}


def test_summary_counts_each_corpus_and_the_change_against_the_first_line():
    base, other = sweep.summary(RESULTS)
    assert base == "base: gov 1/2/3  news 0/0/1"
    # gov: first place moved from g-1 to g-2 (R@1 +0), g-3 entered the top 5; news n-1 6 -> 5
    assert other == "lexical_weight=1: gov 1/3/3 (+0,+1)  news 0/1/1 (+0,+1)  TOTAL R@1 +0 R@5 +2"


def test_moves_list_only_questions_that_crossed_rank_1_or_5():
    assert sweep.moves(RESULTS) == [
        "lexical_weight=1: gov g-1 1 -> 2",
        "lexical_weight=1: gov g-2 3 -> 1",
        "lexical_weight=1: gov g-3 None -> 4",
        "lexical_weight=1: news n-1 6 -> 5",
    ]


def test_wide_share_names_an_unknown_corpus_before_any_model_loads(capsys):
    # bench/wide_share.py --also adds corpora to its index; a typo must not build a smaller one
    from bench import wide_share

    with pytest.raises(SystemExit):
        wide_share.main(["--index", "/nonexistent/qa-mix", "--also", "cmrc,nope"])
    err = capsys.readouterr().err
    assert "unknown corpus nope" in err and "cmrc" in err
