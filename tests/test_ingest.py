"""Ingestion: encodings, both paragraph layouts, titles, and every kind of bad input."""

from __future__ import annotations

import codecs
import os
import random
from pathlib import Path

import pytest

from qa.documents import decode, discover, load, parse_document, read_document, split_paragraphs, title_of
from qa.errors import BadInputError
from tests.conftest import REPORT

ZH = "生态环境部在京举行全国生态环境保护工作会议。会议总结了2022年的工作，部署了2023年的重点任务。\n核与辐射安全监管要持续加强。"
# Traditional characters only Big5 can carry (the simplified ZH is not Big5-encodable).
ZH_TW = (
    "這是一個關於環境保護的會議。我們討論了很多問題，並且決定了未來的工作重點。\n會議認為核與輻射安全監管要持續加強。"
)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


# ------------------------------------------------------------------------------ encodings


@pytest.mark.parametrize(
    "text, data, expected",
    [
        (ZH, ZH.encode("utf-8"), "utf-8"),
        (ZH, codecs.BOM_UTF8 + ZH.encode("utf-8"), "utf-8-sig"),
        (ZH, ZH.encode("gb18030"), "gb18030"),
        (ZH, ZH.encode("gbk"), "gb18030"),  # GBK is a subset of GB18030
        (ZH_TW, ZH_TW.encode("big5"), "big5"),
        (ZH, codecs.BOM_UTF16_LE + ZH.encode("utf-16-le"), "utf-16"),
        (ZH, codecs.BOM_UTF16_BE + ZH.encode("utf-16-be"), "utf-16"),
    ],
    ids=["utf8", "utf8-bom", "gb18030", "gbk", "big5", "utf16le-bom", "utf16be-bom"],
)
def test_each_encoding_round_trips_chinese_and_is_reported(tmp_path, text, data, expected):
    doc = read_document(_write(tmp_path, "doc.txt", data))
    assert doc.encoding == expected
    assert [p.text for p in doc.paragraphs] == text.split("\n")
    assert "\ufeff" not in doc.paragraphs[0].text  # the BOM is not part of the text


def test_whole_report_round_trips_in_utf8_and_gb18030():
    text = REPORT.read_text(encoding="utf-8")
    for enc, name in (("utf-8", "utf-8"), ("gb18030", "gb18030")):
        decoded, used = decode(text.encode(enc))
        assert (decoded, used) == (text, name)


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_mostly_ascii_is_detected(enc):
    text = "Ecological meeting 2023, 生态环境 report.\nSecond line here."
    decoded, used = decode(text.encode(enc))
    assert (decoded, used) == (text, enc)


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_chinese_is_detected(enc):
    decoded, used = decode(ZH.encode(enc))
    assert decoded == ZH
    assert used == enc


def test_crlf_line_endings_do_not_change_paragraphs(tmp_path):
    doc = read_document(_write(tmp_path, "crlf.txt", ZH.replace("\n", "\r\n").encode("utf-8")))
    assert [p.text for p in doc.paragraphs] == ZH.split("\n")


def test_sha256_is_of_the_raw_bytes(tmp_path):
    import hashlib

    data = ZH.encode("gb18030")
    doc = read_document(_write(tmp_path, "a.txt", data))
    assert doc.sha256 == hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------ paragraph layouts


def test_report_paragraph_n_is_line_n():
    lines = REPORT.read_text(encoding="utf-8").split("\n")
    doc = read_document(REPORT)
    assert len(doc.paragraphs) == 26
    assert [p.number for p in doc.paragraphs] == list(range(1, 27))
    for p in doc.paragraphs:
        assert p.text == lines[p.number - 1].strip()
    assert doc.paragraphs[8].text.startswith("一是坚决支撑")  # paragraph 9
    assert doc.paragraphs[14].text == "会议确认,2023年要抓好以下要点使命。"  # paragraph 15


def test_line_layout_offsets_point_into_the_text():
    text = "  第一段。\n\n第二段，有空行在前。\n\n\n第三段。\n"  # blank lines, but no multi-line block
    paras = split_paragraphs(text)
    assert [p.text for p in paras] == ["第一段。", "第二段，有空行在前。", "第三段。"]
    for p in paras:
        assert text[p.start : p.end].strip() == p.text


def test_blank_line_blocks_of_hard_wrapped_lines_are_paragraphs():
    text = (
        "生态环境部召开会议，\n总结过去一年的工作。\n\n"
        "The meeting set seven tasks\nfor the coming year.\n\n"
        "最后一段只有一行。\n"
    )
    paras = split_paragraphs(text)
    assert [p.text for p in paras] == [
        "生态环境部召开会议，总结过去一年的工作。",  # CJK seam: no space
        "The meeting set seven tasks for the coming year.",  # Latin seam: one space
        "最后一段只有一行。",
    ]
    assert [p.number for p in paras] == [1, 2, 3]
    for p in paras:
        assert text[p.start : p.end].split("\n")[0].strip() in p.text
    # a number wrapped across lines in Chinese text stays one number; in English text the space stays
    wrapped = split_paragraphs("到20\n26年，回收利用率达到3\n5.5\n%以上。\n\nin 2025\n2026 saw more.\n")
    assert [p.text for p in wrapped] == ["到2026年，回收利用率达到35.5%以上。", "in 2025 2026 saw more."]


def test_a_blank_line_at_the_end_does_not_make_the_file_one_block():
    lines = ["第一条　为了规范管理，制定本办法。", "第二条　本办法适用于本市。", "第三条　本办法自公布之日起施行。"]
    paras = split_paragraphs("\n".join(lines) + "\n\n")
    assert [p.text for p in paras] == lines


def test_a_title_then_a_blank_line_then_one_paragraph_per_line():
    body = [f"第{n}条　这一条规定第{n}件事，写成一整句。" for n in "一二三四五六"]
    body.insert(3, "二、坚持精准治污科学治污依法治污，深入打好污染防治攻坚战")  # a long heading ends no sentence
    text = "某某市停车管理办法\n\n" + "\n".join(body) + "\n"
    paras = split_paragraphs(text)
    assert [p.text for p in paras] == ["某某市停车管理办法", *body]
    for p in paras:
        assert text[p.start : p.end].strip() == p.text
    assert len(split_paragraphs(text, markdown=True)) == 2  # in Markdown a blank line ends a paragraph
    # hard-wrapped lines, a Markdown list and a Q&A pair stay one block each
    rows = [
        "这一段按固定宽度被硬换行了，所以每一行都停在某个句子的中",
        "间，下一行接着上一行继续往下写，一直到这一段的最后才",
        "写完它的最后一句话，中间没有任何一行恰好停在句号后",
        "面，这正是从网页或者排版软件里复制出来的文字常见的",
        "样子。",
    ]
    wrapped = "标题\n\n" + "\n".join(rows)
    assert [p.text for p in split_paragraphs(wrapped)][1:] == ["".join(rows)]
    bullets = "标题\n\n" + "\n".join(f"- 第{n}项要求。" for n in "一二三四五六")
    assert len(split_paragraphs(bullets)) == 2


def test_markdown_document_blocks_and_heading_title(tmp_path):
    md = (
        "# 生态环境保护工作会议纪要\n\n"
        "会议在北京举行，\n参会人员讨论了年度任务。\n\n"
        "## 重点任务\n\n"
        "一是推进美丽中国建设。\n二是推进绿色低碳发展。\n"
    )
    doc = read_document(_write(tmp_path, "notes.md", md.encode("utf-8")))
    assert doc.title == "生态环境保护工作会议纪要"
    assert [p.text for p in doc.paragraphs] == [
        "# 生态环境保护工作会议纪要",
        "会议在北京举行，参会人员讨论了年度任务。",
        "## 重点任务",
        "一是推进美丽中国建设。二是推进绿色低碳发展。",
    ]


def test_markdown_heading_without_blank_line_is_its_own_paragraph(tmp_path):
    md = "# 会议纪要\n会议在北京举行，\n讨论了年度任务。\n\n第二段。\n"
    doc = read_document(_write(tmp_path, "notes.md", md.encode("utf-8")))
    assert doc.title == "会议纪要"
    assert [p.text for p in doc.paragraphs] == ["# 会议纪要", "会议在北京举行，讨论了年度任务。", "第二段。"]


# ------------------------------------------------------------------------------ titles


def test_title_from_bracketed_first_line():
    doc = read_document(REPORT)
    assert doc.title == "全国生态环境维护工作会议在京举行"
    assert doc.name == REPORT.name


def test_title_falls_back_to_file_name(tmp_path):
    doc = read_document(_write(tmp_path, "会议记录.txt", "没有标题的第一段。\n第二段。".encode()))
    assert doc.title == "会议记录"


def test_bracket_title_only_counts_in_the_first_paragraph():
    paras = split_paragraphs("普通的第一段。\n第二段提到【某个标题】。")
    assert title_of(paras, Path("x.txt")) == "x"


# ------------------------------------------------------------------------------ discovery


def test_discover_folder_sorted_readable_files_and_lists_what_it_skips(tmp_path):
    for name in ("b.txt", "a.md", "c.png", ".hidden.txt"):
        _write(tmp_path, name, b"x")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "d.TXT", b"x")
    (tmp_path / ".git").mkdir()
    _write(tmp_path / ".git", "config.txt", b"x")
    found, skipped = discover([tmp_path])
    assert [p.name for p in found] == ["a.md", "b.txt", "d.TXT"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert set(reasons) == {"c.png", ".hidden.txt"}  # hidden folders (.git, .backups) are tools' places
    assert "unsupported file type '.png'" in reasons["c.png"] and ".pdf" in reasons["c.png"]
    assert "hidden file" in reasons[".hidden.txt"]


def test_discover_skips_a_second_file_with_the_same_name(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    _write(tmp_path / "x", "same.txt", b"a")
    _write(tmp_path / "y", "same.txt", b"b")
    found, skipped = discover([tmp_path])
    assert found == [tmp_path / "x" / "same.txt"]
    assert [s.path for s in skipped] == [str(tmp_path / "y" / "same.txt")]
    assert "rename one" in skipped[0].reason and "same.txt" in skipped[0].reason


# ------------------------------------------------------------------------------ bad input


def _assert_names_and_fixes(err: BadInputError, name: str, fix_words: tuple[str, ...]):
    msg = str(err)
    assert name in msg
    assert "\n" not in msg
    assert any(w in msg for w in fix_words), msg


def test_nonexistent_path(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(BadInputError) as e:
        load([missing])
    _assert_names_and_fixes(e.value, str(missing), ("check the path",))


def test_folder_without_readable_documents(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError) as e:
        load([tmp_path / "empty"])
    _assert_names_and_fixes(e.value, "empty", ("add files", "pass files"))
    _write(tmp_path / "empty", "image.png", b"\x89PNG")
    with pytest.raises(BadInputError) as e:
        load([tmp_path / "empty"])
    _assert_names_and_fixes(e.value, "image.png", ("add files", "pass files"))


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n\n\t \r\n  ", "\u3000\n".encode("utf-8"), codecs.BOM_UTF8],
    ids=["empty", "whitespace", "ideographic-space", "bom-only"],
)
def test_empty_or_whitespace_file(tmp_path, data):
    p = _write(tmp_path, "blank.txt", data)
    with pytest.raises(BadInputError) as e:
        read_document(p)
    _assert_names_and_fixes(e.value, "blank.txt", ("give it some text",))


def test_binary_png_header(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"
    p = _write(tmp_path, "picture.txt", png * 20)
    with pytest.raises(BadInputError) as e:
        read_document(p)
    _assert_names_and_fixes(e.value, "picture.txt", ("give a text file", "UTF-8"))


def test_binary_random_bytes_with_nuls(tmp_path):
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(4096)) + b"\x00" * 8
    p = _write(tmp_path, "random.md", data)
    with pytest.raises(BadInputError) as e:
        read_document(p)
    _assert_names_and_fixes(e.value, "random.md", ("text file", "UTF-8"))


@pytest.mark.parametrize(
    "data",
    [b"\x80\x81\xff\xfe\xfd" * 50, "Grüße aus München, café".encode("latin-1") * 5],
    ids=["invalid-bytes", "latin1"],
)
def test_undecodable_bytes(tmp_path, data):
    p = _write(tmp_path, "odd.txt", data)
    with pytest.raises(BadInputError) as e:
        read_document(p)
    _assert_names_and_fixes(e.value, "odd.txt", ("re-save the file as UTF-8",))


def test_utf8_bom_with_invalid_bytes_is_refused(tmp_path):
    p = _write(tmp_path, "bad.txt", codecs.BOM_UTF8 + "中文".encode() + b"\xff\xfe\xfa")
    with pytest.raises(BadInputError) as e:
        read_document(p)
    _assert_names_and_fixes(e.value, "bad.txt", ("re-save",))


@pytest.mark.parametrize("name", ["photo.png", "sheet.xlsx", "README"])
def test_unsupported_extension(tmp_path, name):
    p = _write(tmp_path, name, "中文内容".encode())
    with pytest.raises(BadInputError) as e:
        load([p])
    _assert_names_and_fixes(e.value, name, ("unsupported file type", "qa reads"))
    with pytest.raises(BadInputError) as e:
        read_document(p)
    _assert_names_and_fixes(e.value, name, ("unsupported file type", "qa reads"))


def test_one_bad_file_is_skipped_with_its_reason_and_the_others_are_read(tmp_path):
    _write(tmp_path, "good.txt", ZH.encode("gb18030"))
    _write(tmp_path, "empty.txt", b"")
    _write(tmp_path, "blob.md", b"\x00\x01\x02" * 50)
    docs, skipped = load([tmp_path])
    assert [d.name for d in docs] == ["good.txt"]
    assert {Path(s.path).name: s.reason for s in skipped} == {
        "blob.md": "looks like a binary file (contains NUL bytes); give a text file (.txt/.md)",
        "empty.txt": "file is empty or only whitespace; give it some text",
    }


def test_oversized_file(tmp_path):
    p = _write(tmp_path, "big.txt", ("生态环境" * 100).encode("utf-8"))
    assert read_document(p, max_bytes=os.path.getsize(p)).paragraphs  # at the limit: fine
    with pytest.raises(BadInputError) as e:
        read_document(p, max_bytes=100)
    _assert_names_and_fixes(e.value, "big.txt", ("split the file", "QA_MAX_FILE_BYTES"))


def test_parse_document_needs_no_file_on_disk(tmp_path):
    doc = parse_document("第一段。\n第二段。".encode(), tmp_path / "upload.txt")
    assert (doc.name, len(doc.paragraphs), doc.encoding) == ("upload.txt", 2, "utf-8")
