"""The PDF reader on PDFs printed by chromium (as users' reports are printed), and its layout rules on their own."""

from __future__ import annotations

import os
import re

import pytest

from qa.documents import parse_document, read_document
from qa.documents.pdf import extract
from qa.documents.pdf_layout import Line, drop_furniture, paragraphs
from qa.documents.radicals import RADICAL, looks_traditional, unradical
from qa.errors import BadInputError
from tests import docgen

HEADER = "临江县2024年水利工作总结"
AUTHOR = "临江县水务局"
# Long paragraphs, so that some run across a page break; characters whose glyphs chromium maps to
# radical code points (风 长 青 门 见 马 飞 户 民 工 一 人 …) throughout.
PARAS = [
    "今年全县水利工作以防汛抗旱和农村饮水安全为重点，全年完成水利投资四亿六千万元，比上年增长百分之十二。"
    "县水务局牵头成立了防汛指挥部，汛期共发布暴雨预警十七次，转移受威胁群众三千二百户，没有发生人员伤亡。"
    "长风镇、青门乡等地的山洪灾害监测站全部更新了设备，实现了雨量和水位数据每五分钟自动上传一次。",
    "农村供水方面，新建和改造集中供水工程二十六处，新增受益人口四万八千人，农村自来水普及率达到百分之九十七。"
    "在飞马岭等偏远山区，采用单村供水站加净化设备的方式，解决了一千九百户居民长期饮用山泉水的问题。"
    "县里还组建了专业的农村供水维修队伍，承诺群众报修后二十四小时内上门处理。",
    "河湖治理方面，全县一百二十条河道全部落实了县、乡、村三级河长，全年河长巡河四万多人次。"
    "完成了马鞍河十四公里的生态治理工程，拆除河道内违章建筑三十一处，清理河道垃圾八千六百吨。"
    "经过治理，县内主要河流的断面水质优良比例达到百分之百，见到了多年未见的白鹭和野鸭。",
    "水土保持方面，新增水土流失综合治理面积六十八平方公里，种植水土保持林一万二千亩。"
    "在风沙较大的北部乡镇推广了滴灌和喷灌等高效节水灌溉技术，灌溉水有效利用系数提高到零点五九。"
    "明年，县里将继续推进灌区续建配套和现代化改造，力争新增高效节水灌溉面积三万亩。",
    "工程建设管理方面，全县在建水利工程四十三项，全部实行了项目法人责任制、招标投标制和工程监理制。"
    "县水务局每季度组织一次质量安全大检查，全年共发现并整改问题二百一十个，未发生质量安全事故。"
    "为方便群众监督，所有在建工程都在现场设立了公示牌，公布项目内容、投资规模和举报电话。",
    "人才队伍方面，全年举办基层水利人员培训班九期，培训一千一百人次，新招录水利专业大学毕业生二十二名。"
    "县里与省水利水电学院签订了合作协议，每年选派青年技术人员到学院进修，提升基层水利服务能力。",
    "以上是临江县今年水利工作的主要情况，不妥之处，请批评指正。",
]


def _need_chromium():
    if not docgen.have_chromium():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; scripts/setup.sh --browser installs it")
        pytest.skip("chromium not installed (scripts/setup.sh --browser)")


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """A report of a few pages: running header, "— n —" footers, headings, paragraphs across page breaks."""
    _need_chromium()
    blocks = [
        ("h1", HEADER),
        ("meta", AUTHOR),
        ("h2", "一、总体情况"),
        *[("p", p) for p in PARAS[:4]],
        ("h2", "二、重点工作"),
    ]
    blocks += [*[("p", p) for p in PARAS[4:6]], ("break", ""), ("p", PARAS[6])]
    out = tmp_path_factory.mktemp("pdf") / "水利总结.pdf"
    docgen.print_pdf(docgen.report_html(HEADER, blocks), out)
    return out


def test_printed_report_paragraphs_are_the_source_paragraphs(printed):
    doc = read_document(printed)
    assert (doc.kind, doc.title) == ("pdf", HEADER) and doc.pages >= 2
    body = [p.text for p in doc.paragraphs if not p.heading]
    assert body == [AUTHOR, *PARAS]  # wrapped lines joined, nothing lost, nothing added, across page breaks too
    starts = {p.text: p.page for p in doc.paragraphs}
    assert starts[PARAS[0]] == 1 and starts[PARAS[-1]] == doc.pages
    assert [p.page for p in doc.paragraphs] == sorted(p.page for p in doc.paragraphs)
    # The fixture really has paragraphs that run across a page break (joined above, cited by their first page).
    pages, _, _ = extract(printed.read_bytes(), printed)
    on = {ln.page: "".join(x.text for x in pages[ln.page - 1]) for page in pages for ln in page}
    crossing = [p for p in PARAS if p[:12] in on[starts[p]] and p[-12:] in on.get(starts[p] + 1, "")]
    assert crossing


def test_printed_report_has_no_radicals_headers_footers_or_page_numbers(printed):
    doc = read_document(printed)
    texts = [p.text for p in doc.paragraphs]
    assert not any(RADICAL.search(t) for t in texts)
    assert texts.count(HEADER) == 1  # the title on page 1; the running header of the other pages is gone
    assert not any(re.fullmatch(r"[—\s\d]+", t) for t in texts)
    assert "长风镇" in texts[3] and "飞马岭" in texts[4]  # ordinary characters where the PDF had radicals


def test_printed_report_headings_by_size(printed):
    doc = read_document(printed)
    headings = {p.text: p.heading for p in doc.paragraphs if p.heading}
    assert headings == {HEADER: 1, "一、总体情况": 2, "二、重点工作": 2}


def test_offsets_index_the_extracted_text(printed):
    doc = read_document(printed)
    text = "\n".join(p.text for p in doc.paragraphs)
    for p in doc.paragraphs:
        assert text[p.start : p.end] == p.text


def test_two_columns_are_read_column_by_column(tmp_path):
    _need_chromium()
    left = [f"左栏第{i}段：{PARAS[i][:70]}" for i in range(3)]
    right = [f"右栏第{i}段：{PARAS[i + 3][:70]}" for i in range(3)]
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>@page{size:A4;margin:20mm}'
        'body{font:11pt "Noto Sans CJK SC";column-count:2;column-gap:12mm}p{text-indent:2em;margin:0 0 2mm}'
        "</style></head><body>" + "".join(f"<p>{t}</p>" for t in left + right) + "</body></html>"
    )
    doc = read_document(docgen.print_pdf(page, tmp_path / "two.pdf"))
    assert [p.text for p in doc.paragraphs] == left + right


def test_image_only_pdf_says_it_has_no_text_layer(tmp_path):
    _need_chromium()
    from PIL import Image

    img = tmp_path / "scan.png"
    Image.new("RGB", (400, 200), (250, 250, 240)).save(img)
    page = f'<!doctype html><html><body><img src="{img.as_uri()}" width="400"></body></html>'
    pdf = docgen.print_pdf(page, tmp_path / "scan.pdf")
    with pytest.raises(BadInputError) as e:
        read_document(pdf)
    assert "scan.pdf" in str(e.value) and "no text layer" in str(e.value) and "scanned" in str(e.value)


@pytest.mark.parametrize(
    "data", [b"%PDF-1.7\n", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer<<>>\n%%EOF", b"\x00" * 64]
)
def test_damaged_pdf_is_one_clear_error(tmp_path, data):
    with pytest.raises(BadInputError) as e:
        parse_document(data, tmp_path / "broken.pdf")
    msg = str(e.value)
    assert "broken.pdf" in msg and "\n" not in msg
    assert "not a readable PDF" in msg or "no pages" in msg


# ---------------------------------------------------------------------------------- layout rules


def _page(n: int, body: list[str], header: str | None = None, footer: str | None = None) -> list[Line]:
    lines, top = [], 60.0
    if header:
        lines.append(Line(header, 200, 400, 30, 40, 10, n))
    for text in body:
        lines.append(Line(text, 72, 72 + 16 * len(text), top, top + 16, 16, n))
        top += 28
    if footer:
        lines.append(Line(footer, 280, 320, 800, 811, 11, n))
    return lines


@pytest.mark.parametrize("fmt", ["{n}", "— {n} —", "- {n} -", "第 {n} 页", "第{n}页 共9页", "{n}/9", "Page {n} of 9"])
def test_page_number_footers_go_in_any_usual_form(fmt):
    body = [[f"{w}页正文第一行。", f"{w}页正文第二行。", f"{w}页正文第三行。"] for w in "甲乙丙"]
    pages = [_page(n, body[n - 1], footer=fmt.format(n=n)) for n in range(1, 4)]
    kept = drop_furniture(pages)
    assert [[ln.text for ln in p] for p in kept] == body


def test_running_header_goes_even_with_a_changing_number_but_a_lone_line_stays():
    pages = [
        _page(n, [f"{w}页的正文。", f"{w}页更多正文。", f"{w}页结尾。"], header=f"2024年第{n}期 简报")
        for n, w in enumerate("甲乙丙丁", 1)
    ]
    pages[2].insert(0, Line("只在一页出现的页眉", 200, 400, 30, 40, 10, 3))
    kept = drop_furniture(pages)
    texts = [ln.text for p in kept for ln in p]
    assert not any("简报" in t for t in texts)
    assert "只在一页出现的页眉" in texts


def test_a_number_inside_the_page_is_not_a_page_number():
    pages = [_page(1, ["表1 主要指标", "项目 数量", "127", "合计 127", "说明：以上为初步统计。"])]
    texts = [ln.text for ln in drop_furniture(pages)[0]]
    assert "127" in texts


def test_short_lines_and_indents_end_paragraphs_full_lines_continue():
    full = "这一行写满了整个版心的宽度因此下一行仍是同一段落。"  # 25 characters = the column width
    lines = [
        Line(full, 72, 72 + 16 * 25, 60, 76, 16, 1),
        Line("短行结束。", 72, 72 + 16 * 5, 88, 104, 16, 1),
        Line("缩进开始新的一段，" + full[:14], 104, 72 + 16 * 25, 116, 132, 16, 1),
        Line("续行。", 72, 120, 144, 160, 16, 1),
    ]
    blocks = paragraphs([lines])
    assert [b.text for b in blocks] == [full + "短行结束。", "缩进开始新的一段，" + full[:14] + "续行。"]


# ---------------------------------------------------------------------------------- radicals


def test_radicals_map_to_ordinary_characters():
    assert unradical("⻛⻓⻘⻔⻅⻢⻜⼾⺠⼯⼀⼈") == "风长青门见马飞户民工一人"
    assert unradical("⼾", traditional=True) == "戶"
    assert unradical("没有部首的文字") == "没有部首的文字"


def test_the_kangxi_table_agrees_with_unicode_normalization():
    import unicodedata

    for cp in range(0x2F00, 0x2FD6):
        if cp != 0x2F3E:  # 户/戶: see qa.documents.radicals
            assert unradical(chr(cp)) == unicodedata.normalize("NFKC", chr(cp)), hex(cp)
    assigned = [chr(cp) for cp in range(0x2E81, 0x2FE0) if unicodedata.name(chr(cp), None)]  # 2E80 is REPEAT
    assert len(assigned) == 328 and not any(RADICAL.search(unradical(c)) for c in assigned)


def test_traditional_text_is_recognized():
    assert looks_traditional("這是一個關於環境保護的會議，我們討論了很多問題。")
    assert not looks_traditional("这是一个关于环境保护的会议，我们讨论了很多问题。")
