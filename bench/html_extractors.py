"""Compare main-content extractors on saved Chinese web pages: what of the article they keep, what furniture leaks.

    .venv/bin/pip install readability-lxml     # only for this comparison (trafilatura is qa's own dependency)
    .venv/bin/python bench/html_extractors.py

Three pages written for this project (tests/docgen.web_page frames each article with navigation,
a breadcrumb, a sidebar with an ad, a share bar, a footer and scripts): the news story of
eval/mixed/, a notice whose article holds a table, and a two-paragraph brief under a comment box.
Per extractor and page: article paragraphs kept (exact text), furniture strings leaked, title.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.make_mixed import WEB_ARTICLE, WEB_TITLE  # noqa: E402
from tests.docgen import web_page  # noqa: E402

# Strings only the page furniture contains (nav, breadcrumb, sidebar, ad, share bar, footer, scripts).
FURNITURE = [
    "政务公开", "当前位置", "热门排行", "地铁三号线", "江景豪宅", "400-860-1234", "分享到", "版权所有",
    "举报电话", "浙ICP备", "统计代码", "扫码领取", "在线客服", "请输入搜索关键词", "网站地图",
]  # fmt: skip
NOTICE = [
    ("p", "为做好今年汛期防汛工作，现将全市主要水库的汛限水位公告如下，请沿线乡镇和有关单位做好巡查值守。"),
    ("table", "水库名称|汛限水位（米）|责任单位\n青龙水库|86.5|青龙镇人民政府\n白沙水库|42.0|市水务局"),
    (
        "p",
        "汛期为每年5月1日至9月30日。超过汛限水位时，水库管理单位应立即按照调度方案泄洪，并提前两小时向下游发布预警。",
    ),
]
BRIEF = [
    ("p", "澄湖图书馆新馆将于下月一日开馆，新馆藏书八十万册，设有少儿阅览区和古籍修复中心。"),
    ("p", "开馆首月每天开放至晚上九点，市民持身份证即可办理借阅证。"),
]
COMMENTS = '<div class="comments"><h3>网友评论</h3><p>网友甲：太好了，终于等到了！</p><p>网友乙：停车方便吗？</p></div>'


def _page(title: str, article: list[tuple[str, str]], extra: str = "") -> tuple[str, list[str]]:
    body, kept = [], []
    for kind, text in article:
        if kind == "table":
            rows = [r.split("|") for r in text.split("\n")]
            body.append(
                "<table>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>"
            )
            kept += [c for r in rows for c in r]
        else:
            body.append(f"<{kind}>{text}</{kind}>")
            kept.append(text)
    page = web_page(title, [("p", "\x00")]).replace("<p>\x00</p>", "".join(body) + extra)
    return page, kept


def _trafilatura(html: str, **kw) -> tuple[str, str]:
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, include_tables=True, include_comments=False, **kw)
    return (doc.text or "", doc.title or "") if doc else ("", "")


def _readability(html: str) -> tuple[str, str]:
    import lxml.html
    from readability import Document

    d = Document(html)
    return lxml.html.fromstring(d.summary()).text_content(), d.short_title()


EXTRACTORS = {
    "trafilatura": _trafilatura,
    "trafilatura precision": lambda h: _trafilatura(h, favor_precision=True),
    "trafilatura recall": lambda h: _trafilatura(h, favor_recall=True),
    "readability-lxml": _readability,
}


def main() -> int:
    pages = {
        "news": _page(WEB_TITLE, WEB_ARTICLE),
        "notice+table": _page("关于公布2025年主要水库汛限水位的通告", NOTICE),
        "brief+comments": _page("澄湖图书馆新馆下月开馆", BRIEF, COMMENTS),
    }
    print(f"{'page':15} {'extractor':22} {'kept':>7} {'leaked':>6}  title")
    for name, (html, kept) in pages.items():
        for ex, run in EXTRACTORS.items():
            try:
                text, title = run(html)
            except ImportError as e:
                print(f"{name:15} {ex:22} (not installed: {e.name})")
                continue
            flat = re.sub(r"\s+", "", text)
            got = sum(re.sub(r"\s+", "", k) in flat for k in kept)
            leaked = [f for f in FURNITURE + ["网友甲"] if f in text]
            print(f"{name:15} {ex:22} {got:3}/{len(kept):<3} {len(leaked):6}  {title}  {' '.join(leaked)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
