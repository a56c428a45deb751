"""The Word and web-page readers on files made here: python-docx documents and saved pages with furniture."""

from __future__ import annotations

import pytest

from qa.documents import parse_document, read_document
from qa.errors import BadInputError
from tests import docgen

# ------------------------------------------------------------------------------------ Word


def _manual(tmp_path, **kw):
    return docgen.write_docx(
        tmp_path / "说明书.docx",
        "电热水壶说明书",
        [
            ("title", "电热水壶说明书"),
            ("h1", "一、使用方法"),
            ("p", "加水时水位不得超过最高水位线，也不得低于最低水位线。"),
            ("h2", "1.1 首次使用"),
            ("p", "首次使用前，请将水烧开后倒掉，重复两次。"),
            ("table", [["项目", "参数"], ["额定功率", "1800瓦"], ["容量", "1.7升"]]),
            ("p", "本产品保修一年。"),
        ],
        **kw,
    )


def test_docx_paragraphs_headings_and_table_rows_in_order(tmp_path):
    doc = read_document(_manual(tmp_path))
    assert (doc.kind, doc.title, doc.pages) == ("word", "电热水壶说明书", None)
    assert [(p.text, p.heading) for p in doc.paragraphs] == [
        ("电热水壶说明书", 1),
        ("一、使用方法", 1),
        ("加水时水位不得超过最高水位线，也不得低于最低水位线。", 0),
        ("1.1 首次使用", 2),
        ("首次使用前，请将水烧开后倒掉，重复两次。", 0),
        ("项目 | 参数", 0),
        ("额定功率 | 1800瓦", 0),
        ("容量 | 1.7升", 0),
        ("本产品保修一年。", 0),
    ]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert all(text[p.start : p.end] == p.text for p in doc.paragraphs)


def test_docx_page_header_footer_never_read_and_merged_cells_once(tmp_path):
    import docx

    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "内部资料 注意保存"
    d.sections[0].footer.paragraphs[0].text = "第 1 页"
    d.add_paragraph("正文只有这一段。")
    table = d.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "合并的标题行"
    for i, v in enumerate(["甲", "乙", "丙"]):
        table.cell(1, i).text = v
    d.save(tmp_path / "h.docx")
    texts = [p.text for p in read_document(tmp_path / "h.docx").paragraphs]
    assert texts == ["正文只有这一段。", "合并的标题行", "甲 | 乙 | 丙"]
    assert read_document(tmp_path / "h.docx").title == "h"  # no title property, no heading: the file name


@pytest.mark.parametrize("data", [b"PK\x03\x04not really a zip", b"plain text, not a docx", b""])
def test_damaged_docx_is_one_clear_error(tmp_path, data):
    with pytest.raises(BadInputError) as e:
        parse_document(data, tmp_path / "坏文件.docx")
    assert "坏文件.docx" in str(e.value) and "not a readable Word .docx file" in str(e.value)


# ------------------------------------------------------------------------------------ web pages

ARTICLE = [
    ("p", "本报讯 澄湖图书馆新馆将于下月一日开馆，新馆藏书八十万册，设有少儿阅览区和古籍修复中心。"),
    ("h2", "开放安排"),
    ("p", "开馆首月每天开放至晚上九点，市民持身份证即可办理借阅证。"),
]
# What only the page's furniture says: navigation, breadcrumb, sidebar, ad, share bar, footer, scripts.
FURNITURE = [
    "政务公开",
    "当前位置",
    "热门排行",
    "江景豪宅",
    "400-860-1234",
    "分享到",
    "版权所有",
    "浙ICP备",
    "统计代码",
]
FURNITURE += ["扫码领取", "在线客服", "请输入搜索关键词"]


def test_web_page_keeps_the_article_and_drops_the_furniture(tmp_path):
    page = tmp_path / "新馆.html"
    page.write_text(docgen.web_page("澄湖图书馆新馆下月开馆", ARTICLE), encoding="utf-8")
    doc = read_document(page)
    assert (doc.kind, doc.title, doc.encoding) == ("html", "澄湖图书馆新馆下月开馆", "utf-8")
    texts = [p.text for p in doc.paragraphs]
    assert ARTICLE[0][1] in texts and ARTICLE[2][1] in texts
    assert ("开放安排", 2) in [(p.text, p.heading) for p in doc.paragraphs]
    leaked = [f for f in FURNITURE if any(f in t for t in texts)]
    assert leaked == []


def test_web_page_in_gbk_with_a_meta_charset_and_a_table(tmp_path):
    html = docgen.web_page(
        "关于公布汛限水位的通告",
        [("p", "为做好今年汛期防汛工作，现将全市主要水库的汛限水位公告如下，请有关单位做好巡查值守。")],
    ).replace('<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">')
    html = html.replace(
        "</article>",
        "<table><tr><td>水库名称</td><td>汛限水位</td></tr><tr><td>青龙水库</td><td>86.5米</td></tr></table></article>",
    )
    page = tmp_path / "通告.htm"
    page.write_bytes(html.replace("©", "(c)").encode("gbk"))
    doc = read_document(page)
    assert doc.encoding == "gb18030" and doc.title == "关于公布汛限水位的通告"
    assert "青龙水库 | 86.5米" in [p.text for p in doc.paragraphs]


def test_web_page_without_main_text_is_refused(tmp_path):
    page = tmp_path / "nav.html"
    page.write_text("<html><body><nav><a href='/'>首页</a> <a href='/n'>新闻</a></nav></body></html>", "utf-8")
    with pytest.raises(BadInputError) as e:
        read_document(page)
    assert "nav.html" in str(e.value) and "no main text" in str(e.value)


def test_table_rows_label_cells_with_their_column_header_from_three_columns_on():
    from qa.documents.base import table_rows

    assert table_rows([["区", "小区（个）", "投资（亿元）"], ["西湖区", "31", "21.3"], ["合计", "", "86.4"]]) == [
        "区 | 小区（个） | 投资（亿元）",
        "西湖区 | 小区（个）：31 | 投资（亿元）：21.3",
        "合计 | 投资（亿元）：86.4",
    ]
    assert table_rows([["项目", "参数"], ["额定功率", "60瓦"]]) == ["项目 | 参数", "额定功率 | 60瓦"]
