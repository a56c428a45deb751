"""Floors that must hold (CI runs them): the dev set through `qa eval`, and held-out parts of other corpora.

Floors sit a little under what the pipeline measures, so noise in a refactor passes but a real
regression fails: measured on dev (254 questions, 202 answerable) R@1 0.941, R@5 0.990,
MRR 0.959, English R@5 1.000, 4/202 wrongly declined, 22/52 unanswerable declined (abstention fitted on every corpus;
17/52 and 0/202 since the fit took in gov3 on 2026-12-06), 12/15 list
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
    # The abstention model is fitted on every corpus's tune part (bench/calibrate.py, docs/abstention.md),
    # no longer on this set alone with the report's own word lists: it declines ~0.42 of these
    # (0.92 before, in-sample), and far more of the unanswerable questions on other corpora. With
    # gov3's colloquial questions in the fit (2026-12-06) its threshold fell .175 -> .129: 17/52 here,
    # and no answerable question declined (3/202 before); docs/abstention.md has the trade.
    # Since the report carries its own model (data/abstention.json, `qa calibrate` on this set:
    # in-sample here, so the held-out floor below is the one that counts) 34/52, 3/202 answerable.
    assert m["declined"] >= 0.55 * m["unanswerable"], m


def test_followups_do_as_well_as_the_full_questions(dev_report):
    f = dev_report[0]["followup_vs_full"]
    assert f["questions"] >= 20, f
    assert f["followup_recall@1"] >= f["full_recall@1"] - 0.05, f  # one question's slack
    assert f["followup_recall@5"] >= f["full_recall@5"] - 0.05, f


def test_eval_says_which_abstention_model_decided(dev_report):
    from qa.evaluate import format_report

    assert dev_report[0]["abstention"] == "own"  # data/abstention.json is in the index
    assert "decided by the abstention model: the corpus's own" in format_report(dev_report[0])


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


# ------------------------------------------------------------------------------ held-out parts of other corpora
# Floors on parts nobody tunes on (bench/corpora.py), each a `qa build` + `qa eval` of its own,
# a little under what bench/quality.py measured at the commit named beside each (docs/quality.md).


def _heldout_report(tmp_path, corpus: str, limit: int | None = None, heldout_docs_only: bool = False) -> dict:
    """`qa build` of the corpus (or, for a corpus split by document, of its held-out documents
    only: half the build time) and `qa eval` of its held-out part (a fixed sample of `limit`)."""
    from bench.corpora import CORPORA, questions, split_of_name

    c = CORPORA[corpus]
    if c.missing():
        pytest.skip(f"{c.missing()[0]} not found (QA_BENCHMARKS)")
    qs = tmp_path / f"{corpus}-heldout.jsonl"
    rows = questions(c, "heldout", limit)
    qs.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in rows), encoding="utf-8")
    index = tmp_path / "index"
    docs = c.docs
    if heldout_docs_only:
        docs = sorted(f for d in c.docs for f in d.iterdir() if split_of_name(f.name) == "heldout")
        assert {q["file"] for q in rows if q["gold"]} <= {f.name for f in docs}
    done = run_qa("build", *docs, "--index", index, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run_qa("eval", qs, "--index", index, "--json")
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)
    assert m["questions"] == len(rows) and not m["skipped"], m.get("skipped")
    return m


def test_gov_heldout_floors(tmp_path):
    # measured 2026-12-05 at 7c521ad: 49 questions (43 answerable): R@1 .744, R@5 .884, holds .326,
    # false declines .605, 6/6 unanswerable declined; at 354b49e R@5 .930, holds .279, false .651;
    # at 2aa6279 R@1 .767, R@5 .907, holds .698 (30/43), false .070 (3/43), declined 1/6
    m = _heldout_report(tmp_path, "gov")
    n = m["answerable"]
    assert n >= 40 and m["unanswerable"] >= 5, m
    assert m["recall@1"] >= 0.71, m
    assert m["recall@5"] >= 0.84, m
    assert m["holds"] >= 0.62, m
    # Abstention fitted on every corpus (docs/abstention.md): false declines .605 -> ~.09, but none of
    # the 6 near-topic unanswerable questions declined (the old model declined nearly everything here).
    assert m["wrongly_declined"] <= 0.16 * n, m


# Government documents of other cities, written after the system was tuned (eval/corpora/README.md).
# gov2: held out only, nothing tuned on it; measured 2026-12-06 at 72f8a6a (docs/quality.md), 85
# questions (75 answerable): R@1 .680, R@5 .933, holds .613, false declines .160 (12/75), declined
# .500 (5/10). gov3: its tune half may be tuned on, this held-out half never; measured 2026-12-06 at
# 3421d41 (before any tuning), 57 questions (49 answerable): R@1 .714, R@5 .939, holds .673, false
# declines .102 (5/49), declined 0/8. With gov3's tune half in the abstention fit (threshold .175 ->
# .129, docs/abstention.md): gov2 holds .693, false declines .067 (5/75), declined .300 (3/10); gov3
# holds .694, false declines .082 (4/49). gov4: held out only, written after that refit and measured
# once at 9399b1b, 84 questions (74 answerable): R@1 .770, R@5 .959, holds .757, false declines .041
# (3/74), declined .100 (1/10); with the calibration before the refit holds .662, false .135, declined .500.
# gov5: held out only, written by a helper after the wide model landed, measured once at 70f766e, 84
# questions (73 answerable): R@1 .644, R@5 .945, holds .658, false declines .123 (9/73), declined 3/11.
# Since the veto on questions sharing no word with their top paragraphs yields to a sure model
# (e7790aa, docs/quality.md): false declines gov3 2/49, gov4 2/74, gov5 8/73, every other figure the same.
# gov6: held out only, Traditional-Chinese documents of a Taiwan-style county written by a helper,
# measured once at 365aff4, 86 questions (75 answerable): R@1 .787, R@5 .947, holds .827, false
# declines .040 (3/75), declined 3/11.
# gov7: a statistical bulletin, an admissions charter and a renewal notice written by a helper; this
# held-out half never tuned on; measured 2026-12-06 at 5ca9d5d (before any change), 58 questions (50
# answerable): R@1 .660, R@5 1.000, holds .720, false declines .120 (6/50), declined 2/8; with the
# title-line rule and name_missing reading the title: R@1 .680, holds .720, false .120.
# gov8: an emergency plan, a service guide and a policy Q&A (问 and 答 each a paragraph) written by a
# helper; this held-out half never tuned on; measured 2026-12-06 at 066df6a (before any change), 57
# questions (49 answerable): R@1 .592, R@5 .918, holds .694, false declines .102 (5/49), declined
# 3/8; with the question line's answer brought up ahead of it: R@1 .673, R@5 .939, the rest the same.
# gov9: three FAQs in three Q&A layouts written by a helper after the Q&A rules landed; this held-out
# half never tuned on; measured 2026-12-07 at a059a71 (first), 60 questions (52 answerable): R@1
# .750, R@5 .904, holds .673, false declines .058 (3/52), declined 2/8; with every paragraph of an
# answer embedded with its question (99dbc24): R@1 .788, R@5 .923, holds .673, false .058, declined 1/8.
@pytest.mark.parametrize(
    ("corpus", "answerable", "unanswerable", "r1", "r5", "held", "false"),
    [
        ("gov2", 75, 10, 0.62, 0.88, 0.64, 0.10),
        ("gov3", 49, 8, 0.65, 0.88, 0.66, 0.09),
        ("gov4", 74, 10, 0.70, 0.90, 0.70, 0.10),
        ("gov5", 73, 11, 0.58, 0.89, 0.60, 0.15),
        ("gov6", 75, 11, 0.72, 0.89, 0.76, 0.09),
        ("gov7", 50, 8, 0.60, 0.92, 0.64, 0.16),
        ("gov8", 49, 8, 0.60, 0.90, 0.64, 0.16),
        ("gov9", 52, 8, 0.70, 0.86, 0.60, 0.10),
    ],
)
def test_new_government_documents_floors(tmp_path, corpus, answerable, unanswerable, r1, r5, held, false):
    m = _heldout_report(tmp_path, corpus)
    n = m["answerable"]
    assert n == answerable and m["unanswerable"] == unanswerable, m
    assert m["abstention"] == "general", m  # a few related documents: their probes do not look answerable
    assert m["recall@1"] >= r1, m
    assert m["recall@5"] >= r5, m
    assert m["holds"] >= held, m
    assert m["wrongly_declined"] <= false * n, m


def test_cmrc_heldout_sample_floors(tmp_path):
    # measured 2026-12-05 at 7c521ad on the 60-question sample (32 answerable, 28 about articles not
    # indexed) over the 64 held-out articles: R@1 1.000, holds .688, false declines .125 (4/32),
    # declined .786 (22/28); at 2aa6279 holds .906 (29/32), false 0/32, declined .714 (20/28); decided
    # by the general model's wide one (the 64 articles' probes look answerable, abstain.wide_weight: .79 of it there) since
    # 2026-12-06: holds .844 (27/32), false 2/32, declined 28/28
    m = _heldout_report(tmp_path, "cmrc", limit=60, heldout_docs_only=True)
    n = m["answerable"]
    assert n >= 30 and m["unanswerable"] >= 25, m
    assert m["abstention"] == "wide", m
    assert m["recall@1"] >= 0.93, m
    assert m["holds"] >= 0.80, m
    assert m["wrongly_declined"] <= 0.10 * n, m
    assert m["declined"] >= 0.85 * m["unanswerable"], m


# measured 2026-12-05 at 70873ee (docs/quality.md), 92 questions (75 answerable, 17 not):
# report heldout R@1 .920, holds .893, false .080, declined .824;
# report-hant (the same in Traditional characters) R@1 .907, holds .880, false .080, declined .824;
# at 2aa6279 holds .947 (report) and .933 (report-hant), false .027 (2/75) in both
@pytest.mark.parametrize(("corpus", "r1", "held"), [("report", 0.88, 0.90), ("report-hant", 0.87, 0.87)])
def test_report_heldout_floors_in_simplified_and_traditional(real_index, tmp_path, corpus, r1, held):
    from bench.corpora import questions

    rows = questions(corpus, "heldout")
    qs = tmp_path / f"{corpus}.jsonl"
    qs.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in rows), encoding="utf-8")
    done = run_qa("eval", qs, "--index", real_index, "--json")
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)
    assert m["questions"] == len(rows) == 92 and m["answerable"] == 75, m
    assert m["recall@1"] >= r1, m
    assert m["recall@5"] >= 0.97, m
    assert m["holds"] >= held, m
    assert m["wrongly_declined"] <= 0.08 * m["answerable"], m
    # 8/17 with abstention fitted on every corpus (14/17 with the report-only fit and word lists);
    # 6/17 since the fit took in gov3 (2026-12-06), which cut false declines on gov2 .187 -> .067;
    # 11/17 (false 1/75) with the report's own model (data/abstention.json, fitted on dev only)
    assert m["declined"] >= 0.55 * m["unanswerable"], m


def test_drcd_heldout_sample_floors(tmp_path):
    # Traditional-Chinese articles of several paragraphs (the right paragraph must beat its neighbours;
    # keys in Traditional, matched through OpenCC). Measured 2026-12-05 at 41ae0ee on the 60-question
    # sample (41 answerable) over the 30 held-out articles: R@1 1.000, holds .878 (36/41), false
    # declines .098 (4/41), declined .947 (18/19); at 2aa6279 holds .976 (40/41), false 0/41,
    # declined .895 (17/19); with the wide model (2026-12-06) holds .976, false 0/41, declined 19/19
    m = _heldout_report(tmp_path, "drcd", limit=60, heldout_docs_only=True)
    n = m["answerable"]
    assert n >= 35 and m["unanswerable"] >= 15, m
    assert m["abstention"] == "wide", m
    assert m["recall@1"] >= 0.92, m
    assert m["holds"] >= 0.90, m
    assert m["wrongly_declined"] <= 0.08 * n, m
    assert m["declined"] >= 0.85 * m["unanswerable"], m


def test_fresh_drcd_articles_floors(tmp_path):
    # DRCD dev articles 120-239 (eval/corpora/drcd2), which nobody here read or tuned on: the issue's
    # "more DRCD articles" of the same kind. Measured once at 36a4b72 (the code before it was made),
    # all 736 questions: R@1 .986, R@5 1.000, holds .927, false declines .023, declined .947; on this
    # 100-question sample (59 answerable, 41 about the 60 articles not indexed): R@1 .983, holds
    # .932, false declines .051 (3/59), declined .951 (39/41). With the wide model (2026-12-06): all
    # 736 holds .922, false .023, declined .980; this sample holds .932, false 2/59, declined 39/41
    m = _heldout_report(tmp_path, "drcd2", limit=100)
    n = m["answerable"]
    assert n == 59 and m["unanswerable"] == 41, m
    assert m["abstention"] == "wide", m
    assert m["recall@1"] >= 0.93, m
    assert m["holds"] >= 0.86, m
    assert m["wrongly_declined"] <= 0.10 * n, m
    assert m["declined"] >= 0.90 * m["unanswerable"], m


def test_fresh_encyclopedia_articles_floors(tmp_path):
    # eval/corpora/wiki: 30 encyclopedia-style articles and 200 questions written on 2026-12-06 by a
    # helper who had seen neither the system nor its other data (80 questions about 30 articles not
    # indexed), measured once at 201395f: R@1 .908, R@5 1.000, holds .925, false declines 0/120,
    # declined .975 (78/80), decided by the general model's wide one; without it .875 (70/80), 0 false.
    # With the wide model's share ramped (abstain.wide_weight, .19 of it here): declined .938 (75/80)
    # An article's name counting in its paragraphs that say 该村 / 它 (retriever.NAME_CHARS): R@1 .967.
    m = _heldout_report(tmp_path, "wiki")
    n = m["answerable"]
    assert n == 120 and m["unanswerable"] == 80, m
    assert m["abstention"] == "wide", m
    assert m["recall@1"] >= 0.92, m
    assert m["recall@5"] >= 0.97, m
    assert m["holds"] >= 0.85, m
    assert m["wrongly_declined"] <= 0.05 * n, m
    assert m["declined"] >= 0.90 * m["unanswerable"], m


def test_look_alike_encyclopedia_articles_floors(tmp_path):
    # eval/corpora/wiki2: 24 articles in look-alike pairs (two towns, two species ...) written on
    # 2026-12-06 by a helper who had seen neither the system nor its data, split by article; its
    # held-out half (12 articles' 60 questions, 20 about absent articles) measured at 066df6a before
    # any change: R@1 .783, R@5 1.000, holds .933, declined .650, no false declines; with an article's
    # name counting in its paragraphs (retriever.NAME_CHARS): R@1 .933, holds .967. Its probes leave
    # its threshold; since its absent-thing probes give it the wide model (abstain.absent_weight,
    # 2026-12-07) it declines .950 (19/20), none answerable.
    m = _heldout_report(tmp_path, "wiki2")
    n = m["answerable"]
    assert n == 60 and m["unanswerable"] == 20, m
    assert m["abstention"] == "wide", m
    assert m["recall@1"] >= 0.87, m
    assert m["recall@5"] >= 0.97, m
    assert m["holds"] >= 0.90, m
    assert m["wrongly_declined"] <= 0.05 * n, m
    assert m["declined"] >= 0.85 * m["unanswerable"], m


def test_news_stories_floors(tmp_path):
    # eval/corpora/news3: 20 stories of one invented city's evening paper, written on 2026-12-07 by a
    # helper who had seen neither the system nor its data, after the short-document rule was chosen on
    # the tune parts; every answerable question asks about a body paragraph, which says 该馆 / 这座桥
    # for what the headline and the lead name. Measured once without and once with that rule
    # (retriever.SHORT_DOC_PARAS): R@1 .725 / .900, R@5 1.000 both, holds .825 / .875, declined 3 / 5
    # of 10, false declines 3 of 40 both.
    m = _heldout_report(tmp_path, "news3")
    n = m["answerable"]
    assert n == 40 and m["unanswerable"] == 10, m
    assert m["recall@1"] >= 0.85, m  # .725 without the rule
    assert m["recall@5"] >= 0.97, m
    assert m["holds"] >= 0.85, m
    assert m["wrongly_declined"] <= 3, m


# Government documents of two more invented cities, written on 2026-12-07 by helpers who had seen
# neither the system nor its data, asked mostly in everyday words; each measured once, nothing
# changed for it. gov10 (a housing notice, garbage-sorting opinions, a mayor's speech): R@1 .712,
# R@5 .890, holds .603, declined 3 of 12, false declines 14 of 73, below issue 9's targets for new
# government documents (R@5 .95, false declines .07): a floor against losing more, not a sign that
# they are met; since the heading-line rule (retriever.HEADING_LINES, which its misses helped show)
# R@1 .726, R@5 .918, holds .630. gov11 (a rural plan, a hospital guide, an information-disclosure
# report, written after that session's changes): R@1 .849, R@5 .973, holds .808, declined 4 of 12,
# false declines 6 of 73, the same at the session's starting code. gov12 (a smoking-control
# regulation in 第X条 articles, an elderly-care allowance guide in Traditional characters, a
# hard-wrapped statistical bulletin; written on 2026-12-07 in the next session, measured once at
# 3c0882c and once at that session's starting code cdbc5e2, the same): R@1 .822, R@5 .959, holds
# .808, declined 3 of 12, false declines 1 of 73.
@pytest.mark.parametrize(
    ("corpus", "r1", "r5", "holds", "false"),
    [("gov10", 0.70, 0.89, 0.60, 16), ("gov11", 0.82, 0.95, 0.78, 8), ("gov12", 0.79, 0.93, 0.77, 4)],
)
def test_unseen_government_documents_floors(tmp_path, corpus, r1, r5, holds, false):
    m = _heldout_report(tmp_path, corpus)
    assert m["answerable"] == 73 and m["unanswerable"] == 12, m
    assert m["recall@1"] >= r1, m
    assert m["recall@5"] >= r5, m
    assert m["holds"] >= holds, m
    assert m["wrongly_declined"] <= false, m
