"""bench/quality_diff.py: what moved between two bench/quality.py --json runs (no model)."""

from __future__ import annotations

import json

import pytest

from bench import quality_diff


def _run(path, commit, r1, rank, declined, extra_corpus=False):
    table = [{"corpus": "gov", "part": "tune", "recall@1": r1, "recall@5": 0.9, "mrr@10": 0.8, "holds": 0.7,
              "declined": 0.5, "false": 0.1}]  # fmt: skip
    questions = [
        {
            "id": "g-1",
            "corpus": "gov",
            "part": "tune",
            "type": "list",
            "question": "哪些条件？",
            "rank": rank,
            "declined": declined,
            "holds": not declined,
        },
        {
            "id": "g-2",
            "corpus": "gov",
            "part": "tune",
            "type": "who",
            "question": "谁负责？",
            "rank": 1,
            "declined": False,
            "holds": True,
        },
    ]
    if extra_corpus:
        table.append(dict(table[0], corpus="gov4", part="heldout"))
    path.write_text(json.dumps({"commit": commit, "table": table, "questions": questions}), encoding="utf-8")
    return path


def test_moved_cells_and_questions_are_listed_and_the_rest_is_not(tmp_path, capsys):
    a = _run(tmp_path / "a.json", "aaa", 0.8, 6, True)
    b = _run(tmp_path / "b.json", "bbb", 0.85, 1, False, extra_corpus=True)
    assert quality_diff.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "aaa -> bbb" in out
    assert "| gov | tune | 0.800 -> 0.850 | 0.900 |" in out  # moved, then unchanged
    assert "| gov4 | heldout | 0.850 |" in out  # new in the later run: its figures alone
    assert "1 question(s) changed" in out
    assert "g-1 (list): rank 6 -> 1, declined True -> False, holds False -> True" in out
    assert "g-2" not in out


def test_a_part_filter_and_identical_runs(tmp_path, capsys):
    a = _run(tmp_path / "a.json", "aaa", 0.8, 6, True)
    assert quality_diff.main([str(a), str(a), "--part", "heldout"]) == 0
    out = capsys.readouterr().out
    assert "| gov |" not in out and "0 question(s) changed" in out


def test_a_file_that_is_not_a_quality_run_says_how_to_make_one(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit, match="write one with --json"):
        quality_diff.main([str(bad), str(bad)])
    with pytest.raises(SystemExit, match="not a bench/quality.py --json file"):
        quality_diff.main([str(tmp_path / "missing.json"), str(bad)])
