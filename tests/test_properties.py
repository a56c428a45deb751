"""Property-based: arbitrary bytes and Unicode through ingestion, chunking, building and the question path.

Nothing may crash (only BadInputError, with a message, is allowed), and every citation must map
back to the exact source text: its paragraph is the one parsed from the file, and each highlight
is exactly the span of the paragraph its offsets name.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.config import Settings
from qa.documents import parse_document
from qa.errors import BadInputError
from qa.indexing import builder as indexer
from qa.indexing.chunking import chunk_spans, passages_of, split_sentences
from qa.inputs import normalize
from qa.serving.service import QAService
from tests.conftest import REPORT
from tests.fakes import FakeEmbedder

# Every code point, surrogates included (hypothesis leaves them out unless told).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
TEXTY = st.characters(
    categories=("L", "N", "P", "Z", "S", "Cc", "Cf"), include_characters="\n\n\n。，？！；…\u200b\ufeff\r\t"
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_document(doc, max_chars=60):
    assert [p.number for p in doc.paragraphs] == list(range(1, len(doc.paragraphs) + 1))
    for para in doc.paragraphs:
        assert para.text and para.text == para.text.strip()
        for s, e in split_sentences(para.text):
            assert 0 <= s < e <= len(para.text)
        for s, e in chunk_spans(para.text, max_chars, 1):
            assert 0 <= s < e <= len(para.text)
    for p in passages_of(doc, max_chars, 1):
        assert doc.paragraphs[p.paragraph - 1].text[p.start : p.end] == p.text


@SETTINGS
@given(st.binary(max_size=600))
def test_any_bytes_are_a_document_or_a_clear_refusal(data):
    from pathlib import Path

    try:
        doc = parse_document(data, Path("x.txt"))
    except BadInputError as err:
        assert str(err).startswith("x.txt: ")
        return
    _check_document(doc)


@SETTINGS
@given(st.text(alphabet=TEXTY, max_size=600))
def test_any_text_in_any_supported_encoding_chunks_back_to_itself(text):
    from pathlib import Path

    for encoding in ("utf-8", "utf-16"):
        try:
            doc = parse_document(text.encode(encoding, "surrogatepass"), Path("t.md"))
        except BadInputError:
            continue
        _check_document(doc)


@SETTINGS
@given(st.text(alphabet=ANY_CHAR, max_size=200))
def test_normalized_questions_hold_no_invisible_characters(text):
    try:
        q = normalize(text)
    except BadInputError as err:
        assert "invalid character" in str(err) and re.search(r"[\ud800-\udfff]", text)
        return
    assert q == q.strip() and "  " not in q
    assert not re.search(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]", q)


@pytest.fixture(scope="module")
def corpus_service(tmp_path_factory):
    """A service over the report plus a document of awkward text (FakeEmbedder)."""
    root = tmp_path_factory.mktemp("prop")
    data = root / "data"
    data.mkdir()
    shutil.copy(REPORT, data / REPORT.name)
    awkward = "混合\u200b文本：emoji 🙂 与\u202e反向\u202c标记。\r\n第二段\t有制表符…还有省略号！！\n\n  \n第三段 ending without mark"
    (data / "awkward.txt").write_text(awkward, encoding="utf-8")
    s = Settings(index_dir=root / "index", data_dir=data, cache_dir=root / "cache")
    indexer.build([data], s, FakeEmbedder())
    return QAService(s, embedder=FakeEmbedder())


def _check_answer(service, answer):
    index, _ = service._current()
    sources = {
        d["name"]: parse_document((service.settings.data_dir / d["name"]).read_bytes(), Path(d["path"]))
        for d in index.documents
    }
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)} if answer.found else set()
    assert markers <= {c.n for c in answer.citations}
    for c in answer.citations:
        source = sources[c.doc].paragraphs[c.paragraph - 1].text  # the paragraph as parsed from the file
        assert c.text == source
        assert len(c.spans) == len(c.highlights)
        for (s, e), h in zip(c.spans, c.highlights):
            assert 0 <= s < e <= len(c.text) and c.text[s:e] == h


@SETTINGS
@given(
    question=st.text(alphabet=ANY_CHAR, max_size=80),
    history=st.lists(st.text(alphabet=ANY_CHAR, max_size=30), max_size=3),
)
def test_any_question_is_answered_with_exact_citations_or_refused(corpus_service, question, history):
    try:
        answer = corpus_service.ask(question, history)
    except BadInputError as err:
        assert str(err)
        return
    _check_answer(corpus_service, answer)


@SETTINGS
@given(
    st.lists(st.text(alphabet=TEXTY, min_size=1, max_size=300), min_size=1, max_size=3),
    st.text(alphabet=TEXTY, max_size=40),
)
def test_any_corpus_builds_and_answers_with_exact_citations(tmp_path_factory, texts, question):
    root = tmp_path_factory.mktemp("anycorpus")
    data = root / "data"
    data.mkdir()
    for i, text in enumerate(texts):
        (data / f"d{i}.txt").write_bytes(text.encode("utf-8", "surrogatepass"))
    s = Settings(index_dir=root / "index", data_dir=data, cache_dir=root / "cache", chunk_chars=40)
    try:
        indexer.build([data], s, FakeEmbedder())
    except BadInputError as err:
        assert str(err)
        return
    service = QAService(s, embedder=FakeEmbedder())
    try:
        answer = service.ask(question or "问题")
    except BadInputError:
        return
    _check_answer(service, answer)
