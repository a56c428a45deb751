"""A folder as people have it: PDF, Word, a saved web page, Big5 / GB18030 / UTF-16 text and files that cannot be read.

The fast tests build it with the fake embedder (what the build keeps, skips and cites); the slow
test builds the kept corpus eval/mixed/ with the real model through `qa build` and asks
eval/mixed.jsonl (issue 10's "Done when").
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from qa.documents import read_document
from qa.documents.radicals import RADICAL
from scripts import make_mixed as corpus
from tests import docgen
from tests.conftest import ROOT, run_qa
from tests.fakes import FakeEmbedder

# Strings only the web page's furniture says (navigation, sidebar, ad, share bar, footer, scripts).
FURNITURE = ["政务公开", "当前位置", "热门排行", "江景豪宅", "400-860-1234", "分享到", "版权所有", "浙ICP备"]
FURNITURE += ["统计代码", "扫码领取", "在线客服", "请输入搜索关键词", "86120000"]
GB_TEXT = "关于城东片区临时停水的通知\n因供水管道改造，城东片区将于6月8日8时至20时停止供水。\n请居民提前做好储水准备。"
UTF16_TEXT = "社区议事会纪要\n本次议事会共有居民代表37人参加。\n会议决定在小区东门增设一处快递柜。"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Real files of every kind, made here, plus two that cannot be read."""
    if not docgen.have_chromium():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; scripts/setup.sh --browser installs it")
        pytest.skip("chromium not installed (scripts/setup.sh --browser)")
    d = tmp_path_factory.mktemp("mixed")
    first = corpus.REPORT[: corpus.REPORT.index(("h2", "四、城市基础设施更新"))]  # cover + three sections
    docgen.print_pdf(docgen.report_html(corpus.REPORT_TITLE, first), d / "report.pdf")
    docgen.write_docx(d / "manual.docx", corpus.MANUAL_TITLE, corpus.MANUAL)
    (d / "news.html").write_text(docgen.web_page(corpus.WEB_TITLE, corpus.WEB_ARTICLE), encoding="utf-8")
    (d / "notice-big5.txt").write_bytes(corpus.NOTICE.encode("big5"))
    (d / "water-gb18030.txt").write_bytes(GB_TEXT.encode("gb18030"))
    (d / "minutes-utf16.txt").write_bytes(codecs.BOM_UTF16_LE + UTF16_TEXT.encode("utf-16-le"))
    (d / "broken.pdf").write_bytes(b"%PDF-1.7\n")
    (d / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return d


@pytest.fixture(scope="module")
def built(folder, tmp_path_factory):
    from qa.config import Settings
    from qa.indexing import builder

    root = tmp_path_factory.mktemp("mixed-index")
    settings = Settings(index_dir=root / "index", data_dir=folder, cache_dir=root / "cache")
    return settings, builder.build([folder], settings, FakeEmbedder())


def test_every_readable_file_is_in_the_manifest_and_the_others_are_listed_with_a_reason(folder, built):
    _, index = built
    docs = {d["name"]: d for d in index.manifest["documents"]}
    assert {n: (d["kind"], d["pages"], d["encoding"]) for n, d in docs.items()} == {
        "report.pdf": ("pdf", docs["report.pdf"]["pages"], ""),
        "manual.docx": ("word", None, ""),
        "news.html": ("html", None, "utf-8"),
        "notice-big5.txt": ("text", None, "big5"),
        "water-gb18030.txt": ("text", None, "gb18030"),
        "minutes-utf16.txt": ("text", None, "utf-16"),
    }
    assert docs["report.pdf"]["pages"] >= 3
    skipped = {Path(s["path"]).name: s["reason"] for s in index.manifest["skipped"]}
    assert set(skipped) == {"broken.pdf", "photo.png"}
    assert "not a readable PDF" in skipped["broken.pdf"] and "unsupported file type '.png'" in skipped["photo.png"]
    titles = {d["name"]: d["title"] for d in index.documents}
    assert titles["news.html"] == corpus.WEB_TITLE and titles["report.pdf"] == corpus.REPORT_TITLE


def test_nothing_indexed_holds_radicals_or_web_page_furniture(built):
    _, index = built
    indexed = [p.text for p in index.passages] + list(index.paragraphs.values())
    assert not [t for t in indexed if RADICAL.search(t)]
    assert not [f for f in FURNITURE if any(f in t for t in indexed)]
    assert any("1800名志愿者" in t for t in indexed)  # the article itself is there


def test_pdf_passages_carry_the_page_of_their_paragraph_and_the_text_as_read(folder, built):
    _, index = built
    doc = read_document(folder / "report.pdf")
    by_number = {p.number: p for p in doc.paragraphs}
    pdf_passages = [p for p in index.passages if p.doc == "report.pdf"]
    assert len({p.page for p in pdf_passages}) == doc.pages >= 3  # every page has indexed text
    for p in pdf_passages:
        para = by_number[p.paragraph]
        assert p.page == para.page == index.paragraph_pages[("report.pdf", p.paragraph)]
        assert para.text[p.start : p.end] == p.text


def test_citations_point_back_into_the_extracted_text(folder, built):
    from qa.serving.service import QAService

    settings, _ = built
    service = QAService(settings, embedder=FakeEmbedder())
    docs = {name: read_document(folder / name) for name in ("report.pdf", "manual.docx", "news.html")}
    cited = 0
    for question in (
        "青石巷片区引入了多少家非物质文化遗产工坊？",
        "RO膜滤芯多长时间更换一次？",
        "认养一棵树每年多少钱？",
    ):
        for c in service.ask(question).citations:
            if c.doc not in docs:
                continue
            para = docs[c.doc].paragraphs[c.paragraph - 1]
            assert c.text == para.text and c.page == para.page
            assert [c.text[s:e].strip() for s, e in c.spans] == list(c.highlights)
            assert c.to_json()["page"] == para.page
            cited += 1
    assert cited >= 3


# ---------------------------------------------------------------------------- the kept corpus, real model

MIXED = ROOT / "eval" / "mixed"
QUESTIONS = [json.loads(line) for line in (ROOT / "eval" / "mixed.jsonl").read_text(encoding="utf-8").splitlines()]
# Floors at the closing commit of issue 10 (figures in README "Documents"): every answerable
# question's best paragraph is the right one, in the right file and page; the boilerplate
# questions are declined. Abstention fitted on every corpus (bench/calibrate.py) declines one of
# the answerable questions here since its budget became 4% (23/24 hold the fact; 24 at 3.5%, 19
# with the report-only fit before).
HOLDS_FLOOR = 22
# Known misses, each with its cause outside the readers; the test fails when one is fixed, so the
# list stays true. (mixed-01 was one until retrieval's sentence tie-break: the report's cover title,
# which repeats the question's words, outranked the paragraph that answers.)
# mixed-27 (the mayor's name) and mixed-28 (a price) are near-topic questions for a detail the files
# never give: the general abstention model answers them (docs/abstention.md: what is left).
KNOWN_MISSES = {"mixed-27", "mixed-28"}


@pytest.mark.slow
def test_kept_mixed_corpus_builds_with_qa_build_and_answers_from_the_right_file_and_page(tmp_path, bundled_model_dir):
    from qa.config import from_env
    from qa.serving.service import QAService

    data = tmp_path / "mixed"
    shutil.copytree(MIXED, data)
    (data / "scan.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")  # one bad file does not stop the others
    done = run_qa("build", data, "--index", tmp_path / "index", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name, kind in [
        ("城市更新工作报告.pdf", "pdf, 10 pages"),
        ("净水器说明书.docx", "word"),
        ("植树活动.html", "html"),
        ("借閱規則.txt", "text"),
    ]:
        assert re.search(rf"^  {re.escape(name)}: {kind}, ", done.stderr, re.M), done.stderr
    assert "not indexed (1):" in done.stderr and "scan.pdf" in done.stderr
    assert done.stdout.startswith("indexed 4 document(s)") and "1 file(s) not indexed" in done.stdout

    env = {k: v for k, v in os.environ.items() if k == "QA_CACHE_DIR"}
    service = QAService(from_env(env, index_dir=tmp_path / "index"))
    holds, misses = 0, []
    for q in QUESTIONS:
        r, decision = service.retrieve(q["question"])
        answer, found = service.compose(r, decision), decision.found
        if not q["gold"]:
            if found:
                misses.append(f"{q['id']} answered: {answer.answer[:60]}")
            continue
        top = r.hits[0]
        page = service._current()[0].paragraph_pages.get((top.doc, top.paragraph))
        if (top.doc, top.paragraph) != (q["file"], q["gold"][0]) or page != q.get("page"):
            misses.append(f"{q['id']} top hit {top.doc} p{page} ¶{top.paragraph}")
        holds += found and any(k in answer.answer for k in q["key"])
        for c in answer.citations:  # offsets map back to the text the reader extracted
            assert [c.text[s:e].strip() for s, e in c.spans] == list(c.highlights)
    answerable = sum(1 for q in QUESTIONS if q["gold"])
    print(f"\nmixed corpus: {holds}/{answerable} answers hold the fact; misses: {misses}")
    assert {m.split()[0] for m in misses} == KNOWN_MISSES, misses
    assert holds >= HOLDS_FLOOR
