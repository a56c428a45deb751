"""Fast tests of the UI's pure rendering and its handlers (no model, no browser)."""

from __future__ import annotations

import re
import shutil

import pytest

from qa.errors import BadInputError
from qa.serving import render as ui
from qa.types import Answer, Citation

XSS = '<script>window.__xss=1</script> 正文 <img src=x onerror="window.__xss=2"> & “引号”'


def citation(n=1, text="第一句。第二句很重要。第三句。", spans=((4, 11),), doc="report.txt", paragraph=9, score=0.81):
    return Citation(
        n=n,
        doc=doc,
        paragraph=paragraph,
        text=text,
        highlights=tuple(text[s:e] for s, e in spans),
        spans=tuple(spans),
        score=score,
        title="报告",
    )


def answer(found=True, text="第二句很重要。[1]", cites=None, question="问题？", query="", unsure=False):
    return Answer(
        question=question,
        found=found,
        answer=text,
        citations=tuple(cites if cites is not None else [citation()]),
        query=query or question,
        confidence=0.3 if unsure else 0.9,
        unsure=unsure,
    )


# -- escaping --------------------------------------------------------------------------------


def test_highlight_escapes_markup_in_passage_text_and_marks_spans():
    start = XSS.index("正文")
    out = ui.highlight(XSS, [(start, start + 2)])
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in out
    assert "onerror=&quot;window.__xss=2&quot;" in out
    assert "<mark>正文</mark>" in out
    assert "&amp; “引号”" in out


def test_highlight_escapes_inside_a_highlighted_span():
    out = ui.highlight("a<b>c", [(0, 5)])
    assert out == "<mark>a&lt;b&gt;c</mark>"


def test_highlight_merges_overlaps_clips_ranges_and_ignores_empty_spans():
    text = "0123456789"
    assert (
        ui.highlight(text, [(6, 8), (1, 3), (2, 5), (9, 99), (4, 4), (-5, 0)])
        == "0<mark>1234</mark>5<mark>67</mark>8<mark>9</mark>"
    )
    assert ui.highlight(text, []) == text


def test_long_paragraph_folds_around_its_highlight_and_keeps_every_character():
    before, sentence, after = "前文很长，" * 40, "这是<答案>所在的句子。", "后文也很长，" * 30
    text = before + sentence + after
    out = ui.highlight(text, [(len(before), len(before) + len(sentence))], context=20)
    assert "<mark>这是&lt;答案&gt;所在的句子。</mark>" in out
    folded = re.findall(r'<span class="fold">(.*?)</span>', out)
    assert len(folded) == 2 and folded[0].startswith("前文") and folded[1].endswith("，")
    visible = re.sub(r'<span class="fold">.*?</span>', "", out)
    assert 15 <= len(re.sub(r"<[^>]+>|…", "", visible.split("<mark>")[0])) <= 25  # ~20 chars of context, cut at a comma
    assert re.sub(r"<[^>]+>|…", "", out) == ui.html.escape(text)  # folded, not dropped
    long_cite = ui.citation_html(
        citation(text=text, spans=((len(before), len(before) + len(sentence)),)).to_json(), 1, True
    )
    assert "cite-expand" in long_cite
    assert "cite-expand" not in ui.citation_html(citation().to_json(), 1, True)


def test_nearest_passage_without_highlights_shows_its_beginning():
    out = ui.highlight("开头" * 100, [], context=20, lead=50)
    assert out.startswith("开头" * 25) and '<span class="fold">' in out


def test_citation_html_escapes_document_name_and_title_attributes():
    c = citation(doc='x"><img src=y onerror=alert(1)>.txt').to_json()
    out = ui.citation_html(c, turn=1, found=True)
    assert "<img" not in out
    assert 'data-doc="x&quot;&gt;&lt;img' in out


def test_md_escape_leaves_no_markup_and_round_trips_through_history():
    for text in [XSS, r"a*b*_c_ [x](http://e) `code` # h \ back \\ 1. 2) $$x$$ |t| ~~s~~ &amp; &lt;", "普通的问题？"]:
        escaped = ui.md_escape(text)
        assert "<" not in escaped and ">" not in escaped
        assert not re.search(r"(?<!\\)[*_`\[\]]", escaped.replace("\\\\", ""))
        assert ui.history_of([{"role": "user", "content": escaped}]) == [text.strip()]
        assert ui.history_of([{"role": "user", "content": [{"type": "text", "text": escaped}]}]) == [text.strip()]


# -- answer text and markers -----------------------------------------------------------------


def test_answer_markdown_turns_known_markers_into_links_to_their_passages():
    out = ui.answer_markdown("甲。[1] 乙*重要*。[2][3]", turn=4, known={1, 2})
    assert '<a class="cite-ref" href="#cite-4-1"' in out and ">[1]</a>" in out
    assert 'href="#cite-4-2"' in out
    assert "cite-4-3" not in out and r"\[3\]" in out  # no passage to point at: plain text
    assert r"乙\*重要\*" in out


def test_answer_markdown_escapes_document_text_in_the_answer():
    out = ui.answer_markdown(XSS + "[1]", turn=1, known={1})
    assert "<script" not in out and "<img" not in out
    assert out.count("<a ") == 1


@pytest.mark.parametrize(
    "text",
    [
        "全国完成1万余座尾矿库环境风险排查。[1] 二是加强“监管”。[2][3]最后一句没有句号",
        "The key tasks are clear. Second one.[2] Done",
        "",
        "没有标记的一句话。",
    ],
)
def test_stream_pieces_rebuild_the_answer_sentence_by_sentence(text):
    pieces = ui.stream_pieces(text)
    assert "".join(pieces) == text
    for piece in pieces[:-1]:  # each piece ends a sentence or a marker run, never mid-marker
        assert re.search(r"([。！？.;；…”]|\])\s*$", piece), piece


def test_stream_pieces_keep_markers_with_their_sentence():
    assert ui.stream_pieces("甲句。[1] 乙句。[2][3]丙") == ["甲句。[1] ", "乙句。[2][3]", "丙"]


# -- the sources panel -----------------------------------------------------------------------


def test_panel_shows_paragraph_score_and_highlight_with_ids_the_markers_point_to():
    html = ui.panel_html([answer().to_json()])
    assert 'id="cite-1-1"' in html and 'data-paragraph="9"' in html
    assert "第 9 段" in html and "0.81" in html
    assert "<mark>第二句很重要。</mark>" in html
    assert ui.NOT_AN_ANSWER not in html


def test_panel_marks_nearest_passages_as_not_an_answer_without_highlights():
    html = ui.panel_html([answer(found=False, text="文档中没有找到。").to_json()])
    assert ui.NOT_AN_ANSWER in html
    assert "<mark>" not in html
    assert 'data-found="false"' in html and "参考 1" in html


def test_panel_and_json_mark_an_answer_given_with_low_confidence():
    data = answer(unsure=True).to_json()
    assert data["unsure"] is True and data["confidence"] == 0.3
    html = ui.panel_html([data])
    assert ui.UNSURE in html and "cites-unsure" in html and ui.NOT_AN_ANSWER not in html
    assert "<mark>第二句很重要。</mark>" in html  # still an answer: its sentences are highlighted
    assert ui.UNSURE not in ui.panel_html([answer().to_json()])
    assert ui.caution_markdown("<b>注意</b>") == "*&lt;b&gt;注意&lt;/b&gt;*\n\n"


def test_panel_keeps_earlier_turns_collapsed_below_the_latest():
    turns = [answer(question="第一问？").to_json(), answer(question="那第二问呢？", query="第二问 第一问").to_json()]
    html = ui.panel_html(turns)
    assert html.index('id="turn-2"') < html.index('id="turn-1"')
    assert re.search(r'id="turn-2"[^>]*\bopen>', html)
    assert not re.search(r'id="turn-1"[^>]*\bopen>', html)
    assert 'id="cite-1-1"' in html and 'id="cite-2-1"' in html
    assert "Searched as: 第二问 第一问" in html


def test_panel_falls_back_to_highlight_strings_when_spans_are_missing():
    c = citation().to_json()
    c.pop("spans")
    html = ui.citation_html(c, turn=1, found=True)
    assert "<mark>第二句很重要。</mark>" in html


def test_empty_panel_invites_a_question():
    assert "提问后" in ui.panel_html([])


# -- the chat handler, with a stand-in service ----------------------------------------------


class StubService:
    """Answers every question with two cited sentences; records the history it was given."""

    def __init__(self, found=True, error=None, unsure=False):
        self.found, self.error, self.calls, self.unsure = found, error, [], unsure

    def ask(self, question, history=()):
        self.calls.append((question, list(history)))
        if self.error:
            raise self.error
        cites = [citation(1), citation(2, paragraph=20)]
        text = getattr(self, "text", "第二句很重要。[1] 另一句<b>也重要</b>。[2]") if self.found else "文档中没有找到。"
        return answer(found=self.found, text=text, cites=cites, question=question, unsure=self.unsure)


def run(respond, question, messages=(), turns=()):
    return list(respond(question, list(messages), list(turns)))


def test_respond_streams_sentences_and_draws_the_panel_once():
    from qa.serving.app import SEARCHING, make_respond

    service = StubService()
    service.text = "第一句。[1] 第二句<b>也重要</b>。[2] 第三句。[1]"
    updates = run(make_respond(service, delay=0), "问题一？")
    assert updates[0][1][-1]["content"] == SEARCHING
    contents = [u[1][-1]["content"] for u in updates[1:]]
    assert len(contents) == 3 and contents[2].startswith(contents[1]) and contents[1].startswith(contents[0])
    assert updates[2][2] == {"__type__": "update"}  # not redrawn mid-stream  # grows sentence by sentence
    assert 'href="#cite-1-1"' in contents[0] and 'href="#cite-1-2"' in contents[1]
    assert "<b>" not in contents[2] and "&lt;b&gt;" in contents[2]
    panels = [u[2] for u in updates[1:]]
    assert isinstance(panels[0], str) and 'id="cite-1-2"' in panels[0]
    assert panels[-1] == panels[0]  # the final update carries it too, for API clients
    assert updates[-1][0] == "" and len(updates[-1][3]) == 1


def test_respond_puts_the_caution_above_a_low_confidence_answer_in_its_language():
    from qa.answering.compose import CAUTION, CAUTION_EN
    from qa.serving.app import make_respond

    updates = run(make_respond(StubService(unsure=True), delay=0), "问题一？")
    contents = [u[1][-1]["content"] for u in updates[1:]]
    assert all(c.startswith(ui.caution_markdown(CAUTION)) for c in contents)  # from the first piece on
    assert 'href="#cite-1-1"' in contents[-1]
    english = run(make_respond(StubService(unsure=True), delay=0), "What is it?")[-1][1][-1]["content"]
    assert english.startswith(ui.caution_markdown(CAUTION_EN))
    sure = run(make_respond(StubService(), delay=0), "问题一？")[-1][1][-1]["content"]
    assert CAUTION not in ui.md_unescape(sure)


def test_respond_passes_earlier_questions_as_history():
    from qa.serving.app import make_respond

    service = StubService()
    respond = make_respond(service, delay=0)
    first = run(respond, "2023年的重点任务<有哪些>？")[-1]
    second = run(respond, "那核安全方面呢？", first[1], first[3])[-1]
    assert service.calls[1] == ("那核安全方面呢？", ["2023年的重点任务<有哪些>？"])
    assert 'href="#cite-2-1"' in second[1][-1]["content"] and len(second[3]) == 2


def test_respond_forgets_turns_of_a_cleared_conversation():
    from qa.serving.app import make_respond

    respond = make_respond(StubService(), delay=0)
    first = run(respond, "第一问？")[-1]
    again = run(respond, "新的问题？", [], first[3])[-1]  # chat cleared, stale state still around
    assert len(again[3]) == 1 and 'href="#cite-1-1"' in again[1][-1]["content"]


def test_respond_shows_a_service_error_as_the_reply():
    from qa.serving.app import make_respond

    updates = run(make_respond(StubService(error=BadInputError("the question is empty")), delay=0), "x")
    assert "the question is empty" in updates[-1][1][-1]["content"]
    assert all(u[3] == {"__type__": "update"} for u in updates)  # no turn recorded


def test_respond_ignores_an_empty_question():
    from qa.serving.app import make_respond

    service = StubService()
    updates = run(make_respond(service, delay=0), "   ")
    assert service.calls == [] and len(updates) == 1


# -- the documents tab, with the real service (no model needed before a rebuild) ------------


def _service(tmp_path):
    from qa.config import Settings
    from qa.serving.service import QAService

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(ui_report(), data / "report.txt")
    return QAService(Settings(data_dir=data, index_dir=tmp_path / "index", cache_dir=tmp_path / "cache"))


def ui_report():
    from tests.conftest import REPORT

    return REPORT


@pytest.mark.parametrize("mode", ["add", "replace"])
@pytest.mark.parametrize(
    "name,content",
    [
        ("binary.txt", bytes(range(256)) * 8),
        ("empty.txt", b"   \n\n"),
        ("slides.pdf", b"%PDF-1.4 fake"),
    ],
)
def test_bad_upload_stores_nothing_and_keeps_the_corpus(tmp_path, mode, name, content):
    from qa.serving.app import DocsHandlers

    service = _service(tmp_path)
    before = sorted(p.name for p in service.settings.data_dir.iterdir())
    good = tmp_path / "good.txt"
    good.write_text("一个好文件。", encoding="utf-8")
    bad = tmp_path / name
    bad.write_bytes(content)
    rebuilt = []
    service.rebuild = lambda *a, **k: rebuilt.append(1)  # must never be reached
    out = DocsHandlers(service, upload_root=tmp_path).add(
        [str(good), str(bad)], "", "", mode, progress=lambda *a, **k: None
    )
    assert "Nothing was added" in out[0] and "status-error" in out[0] and name in out[0]
    assert out[1] == {"__type__": "update"}  # the upload list stays as it was
    assert sorted(p.name for p in service.settings.data_dir.iterdir()) == before
    assert rebuilt == []


def _docs_in(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_empty_paste_says_so_and_stores_nothing(tmp_path):
    from qa.serving.app import DocsHandlers

    service = _service(tmp_path)
    out = DocsHandlers(service, upload_root=tmp_path).add([], "标题", "  ", "add", progress=lambda *a, **k: None)
    assert "empty" in out[0] and "status-error" in out[0]
    assert _docs_in(service.settings.data_dir) == ["report.txt"]


def test_replace_corpus_keeps_only_the_new_files(tmp_path):
    from qa.serving.app import DocsHandlers

    service = _service(tmp_path)
    calls = []
    service.rebuild = lambda progress=None: calls.append(_docs_in(service.settings.data_dir))
    service.health = lambda: {"ok": True, "documents": 1, "passages": 3}
    service.documents = lambda: []
    own_model = service.settings.data_dir / "abstention.json"  # fitted for the old corpus (qa calibrate)
    own_model.write_text("{}", encoding="utf-8")
    new = tmp_path / "new.md"
    new.write_text("# 新文档\n\n内容。\n", encoding="utf-8")
    out = DocsHandlers(service, upload_root=tmp_path).add([str(new)], "", "", "replace", progress=lambda *a, **k: None)
    assert not own_model.exists()  # it goes with the documents it was fitted for
    assert list((service.settings.data_dir / ".backups").glob("*-replaced/abstention.json"))
    assert "status-ok" in out[0] and "new.md" in out[0]
    assert _docs_in(service.settings.data_dir) == ["new.md"]
    assert calls == [["new.md"]]  # the rebuild saw only the new corpus
    kept = list((service.settings.data_dir / ".backups").glob("*-replaced/report.txt"))
    assert len(kept) == 1 and "kept in" in out[0]  # the old corpus is set aside, not deleted


def test_failed_rebuild_after_replace_puts_the_old_corpus_back(tmp_path):
    from qa.errors import QAError
    from qa.serving.app import DocsHandlers

    service = _service(tmp_path)

    def failing_rebuild(progress=None):
        raise QAError("disk full")

    service.rebuild = failing_rebuild
    service.health = lambda: {"ok": True}
    service.documents = lambda: []
    new = tmp_path / "new.txt"
    new.write_text("新内容。", encoding="utf-8")
    out = DocsHandlers(service, upload_root=tmp_path).add([str(new)], "", "", "replace", progress=lambda *a, **k: None)
    assert "Rebuild failed" in out[0] and "disk full" in out[0]
    assert _docs_in(service.settings.data_dir) == ["report.txt"]


def test_header_shows_the_index_or_what_is_wrong_with_it():
    ok = ui.header_html(
        {"ok": True, "documents": 2, "passages": 55, "model": "m<x>", "built_at": "2026-01-02T03:04:05+00:00"}
    )
    assert "已索引 2 个文档" in ok and "55 个片段" in ok and "m&lt;x&gt;" in ok and "2026-01-0" in ok
    bad = ui.header_html({"ok": False, "error": "no index at <index/>; run: qa build"})
    assert "health-bad" in bad and "&lt;index/&gt;" in bad and "qa build" in bad


def test_import_is_cheap():
    import subprocess
    import sys

    code = "import sys, qa.serving.app, qa.serving.api; print(sorted(m for m in ('gradio', 'fastapi', 'torch', 'uvicorn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
