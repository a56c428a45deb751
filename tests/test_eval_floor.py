"""The dev set through `qa eval`, with floors that must hold (CI runs it; measured figures in docs/retrieval.md).

Floors sit a little under what the pipeline measures, so noise in a refactor passes but a real
regression fails: measured on dev (254 questions, 202 answerable) R@1 0.941, R@5 0.990,
MRR 0.959, English R@5 1.000, 8/202 wrongly declined, 48/52 unanswerable declined, 12/15 list
questions with every item in the top 8, fact in the first sentence 0.861, follow-ups R@1 0.962
(the same questions asked in full 0.962).
"""

import json

import pytest
from conftest import ROOT, run_qa

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dev_report(real_index, tmp_path_factory):
    details = tmp_path_factory.mktemp("eval") / "details.jsonl"
    done = run_qa("eval", ROOT / "eval" / "dev.jsonl", "--index", real_index, "--json", "--details", details)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]


def test_dev_set_is_big_and_varied_enough():
    rows = [json.loads(line) for line in (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    types = {r["type"] for r in rows}
    assert len(rows) >= 60
    assert {"paraphrase", "number", "list", "who", "english", "followup", "unanswerable"} <= types
    assert sum(1 for r in rows if not r["gold"]) >= 10


def test_retrieval_floors(dev_report):
    m, _ = dev_report
    assert m["recall@1"] >= 0.90, m
    assert m["recall@5"] >= 0.97, m
    assert m["mrr@10"] >= 0.93, m
    assert m["by_type"]["english"]["recall@5"] >= 0.90, m["by_type"]["english"]
    assert m["list_items_in_top8"] >= 0.70, m


def test_abstention_floors(dev_report):
    m, _ = dev_report
    assert m["wrongly_declined"] <= 0.06 * m["answerable"], m
    assert m["declined"] >= 0.85 * m["unanswerable"], m


def test_followups_do_as_well_as_the_full_questions(dev_report):
    f = dev_report[0]["followup_vs_full"]
    assert f["questions"] >= 20, f
    assert f["followup_recall@1"] >= f["full_recall@1"] - 0.05, f  # one question's slack
    assert f["followup_recall@5"] >= f["full_recall@5"] - 0.05, f


def test_answers_lead_with_the_fact(dev_report):
    m, _ = dev_report
    assert m["fact_in_first_sentence"] >= 0.83, m


def test_details_file_shape(dev_report):
    _, rows = dev_report
    assert len(rows) >= 60
    for r in rows:
        assert {"id", "question", "gold", "found", "answer", "ranked"} <= set(r)
        assert len(r["ranked"]) >= 10
        assert {"doc", "paragraph", "score"} <= set(r["ranked"][0])
