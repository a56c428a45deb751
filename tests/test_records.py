"""Reading a version's records: passages parsed on demand from a memory map, sentence rows in one parse."""

from __future__ import annotations

import dataclasses
import json

import pytest

from qa.indexing.records import PassageRecords, read_rows
from qa.types import Passage


def _passages(n: int) -> list[Passage]:
    return [Passage(i, f"d{i % 3}.txt", "标题", i // 2 + 1, 0, 5, f"第{i}段 “引号” \\ 文本\n", None) for i in range(n)]


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_passage_records_read_back_what_was_written(tmp_path, trailing_newline):
    passages = _passages(7)
    text = "\n".join(json.dumps(dataclasses.asdict(p), ensure_ascii=False) for p in passages)
    path = tmp_path / "passages.jsonl"
    path.write_text(text + ("\n" if trailing_newline else ""), encoding="utf-8")
    records = PassageRecords(path)
    assert len(records) == 7 and records == passages and passages == records
    assert records[3] == passages[3] and records[-1] == passages[6] and records[2:5] == passages[2:5]
    assert records[3] is records[3]  # parsed once
    with pytest.raises(IndexError):
        records[7]
    assert records != passages[:6]


def test_empty_passage_file(tmp_path):
    (tmp_path / "p.jsonl").write_bytes(b"")
    assert len(PassageRecords(tmp_path / "p.jsonl")) == 0 and list(PassageRecords(tmp_path / "p.jsonl")) == []


def test_read_rows_parses_every_line(tmp_path):
    rows = [["a.txt", 1, 0, 4], ['b "q".txt', 2, 3, 9]]
    (tmp_path / "s.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8"
    )
    assert read_rows(tmp_path / "s.jsonl") == rows
    (tmp_path / "e.jsonl").write_text("", encoding="utf-8")
    assert read_rows(tmp_path / "e.jsonl") == []


def test_passage_fields_match_the_passages(tmp_path):
    from qa.indexing.records import passage_fields

    passages = _passages(5)
    path = tmp_path / "passages.jsonl"
    path.write_text(
        "".join(json.dumps(dataclasses.asdict(p), ensure_ascii=False) + "\n" for p in passages), encoding="utf-8"
    )
    expected = [(p.doc, p.paragraph, p.parent) for p in passages]
    assert passage_fields(PassageRecords(path), "doc", "paragraph", "parent") == expected
    assert passage_fields(passages, "doc", "paragraph", "parent") == expected


@pytest.mark.parametrize("separators", [None, (",", ":")])
@pytest.mark.parametrize("trailing_newline", [True, False])
def test_with_parent_finds_the_list_items_a_full_parse_finds(tmp_path, separators, trailing_newline, monkeypatch):
    # texts that quote the keys themselves, a page, a backslash before the closing quote
    texts = ['"parent": 3, "page": null}', '文本 \\"parent\\": 1}', "结尾\\", "一是", "二是"]
    passages = [
        Passage(i, f"d{i % 2}.txt", "标题", i + 1, 0, 5, texts[i % len(texts)], i - 1 if i % 3 else None, i % 4 or None)
        for i in range(12)
    ]
    lines = [json.dumps(dataclasses.asdict(p), ensure_ascii=False, separators=separators) for p in passages]
    path = tmp_path / "passages.jsonl"
    path.write_text("\n".join(lines) + ("\n" if trailing_newline else ""), encoding="utf-8")
    expected = [(p.doc, p.paragraph, p.parent) for p in passages if p.parent is not None]
    if separators is None:  # lines as store.py writes them: found by the scan, no full parse
        monkeypatch.setattr(PassageRecords, "fields", lambda *a: pytest.fail("parsed every line"))
    assert PassageRecords(path).with_parent() == expected and len(expected) == 8
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert PassageRecords(tmp_path / "empty.jsonl").with_parent() == []
