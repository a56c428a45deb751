"""Make real documents for tests and fixtures: PDFs printed by chromium, .docx by python-docx, web pages.

Used by the format tests (files made in tmp_path) and by scripts/make_mixed.py (the committed
eval/mixed/ corpus), so both exercise the same kinds of file a user brings.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = os.environ.get("QA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# A Chinese government-report page: 16pt serif body with first-line indents, a running header
# and a "— n —" footer that every page repeats (what the PDF reader must drop).
PAGE_CSS = """
@page { size: A4; margin: 26mm 24mm 24mm;
  @top-center { content: "%(header)s"; font: 10pt "Noto Serif CJK SC"; color: #444; }
  @bottom-center { content: "— " counter(page) " —"; font: 11pt "Noto Serif CJK SC"; } }
@page :first { @top-center { content: none; } }
body { font-family: "Noto Serif CJK SC", serif; font-size: 16pt; line-height: 1.9; margin: 0; }
h1 { font-size: 22pt; text-align: center; margin: 30mm 0 8mm; }
h2 { font-size: 17pt; margin: 5mm 0 2mm; }
p { text-indent: 2em; margin: 0; text-align: justify; orphans: 1; widows: 1; }
p.meta { text-indent: 0; text-align: center; }
.break { break-before: page; }
table { border-collapse: collapse; margin: 4mm auto; font-size: 13pt; }
td, th { border: 1px solid #333; padding: 1mm 3mm; }
"""


def have_chromium() -> bool:
    return Path(CHROMIUM).exists()


def print_pdf(page_html: str, out: Path, timeout: float = 120) -> Path:
    """Print an HTML page to PDF with headless chromium (its own header/footer off: the page's CSS has them)."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="qa-pdf-") as tmp:
        src = Path(tmp) / "page.html"
        src.write_text(page_html, encoding="utf-8")
        done = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--user-data-dir={tmp}/profile",
                "--no-pdf-header-footer",
                f"--print-to-pdf={out}",
                src.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"chromium could not print {out.name}: {done.stderr[-2000:]}")
    return out


def report_html(title: str, blocks: list[tuple[str, str]], header: str | None = None) -> str:
    """A printable report: blocks are (kind, text) with kind h1/h2/p/meta/break/table ("a|b\\nc|d")."""
    body = []
    for kind, text in blocks:
        if kind == "break":
            body.append('<div class="break"></div>')
        elif kind == "table":
            rows = [r.split("|") for r in text.strip().split("\n")]
            cells = "".join(
                "<tr>"
                + "".join(
                    f"<{'th' if i == 0 else 'td'}>{html.escape(c.strip())}</{'th' if i == 0 else 'td'}>" for c in row
                )
                + "</tr>"
                for i, row in enumerate(rows)
            )
            body.append(f"<table>{cells}</table>")
        elif kind == "meta":
            body.append(f'<p class="meta">{html.escape(text)}</p>')
        else:
            body.append(f"<{kind}>{html.escape(text)}</{kind}>")
    css = PAGE_CSS % {"header": (header or title).replace('"', "")}
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{css}</style></head><body>{''.join(body)}</body></html>"
    )


def write_docx(out: Path, title: str, blocks: list[tuple[str, object]]) -> Path:
    """A Word file: blocks are (kind, value): ("h1"|"h2"|"h3", text), ("p", text), ("table", [[cell, ...], ...])."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3"):
            document.add_heading(str(value), level=int(kind[1]))
        elif kind == "title":
            document.add_heading(str(value), level=0)
        elif kind == "table":
            rows = list(value)
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = str(cell)
        else:
            document.add_paragraph(str(value))
    document.save(str(out))
    return Path(out)


def web_page(title: str, article: list[tuple[str, str]], site: str = "澄湖日报网") -> str:
    """A saved news page: navigation, breadcrumb, the article, a sidebar, an ad, a footer and scripts."""
    body = "".join(f"<{k}>{html.escape(t)}</{k}>" for k, t in article)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{html.escape(title)}_{site}</title>
<meta name="keywords" content="澄湖,新闻,植树">
<script>window.__stats = {{"site": "{site}", "msg": "统计代码：页面访问量加一"}};
document.write("<div>脚本写入的广告文字：扫码领取购物红包</div>");</script>
<style>.ad {{ color: red }} nav a {{ margin: 0 8px }}</style>
</head><body>
<header class="site-header"><div class="logo">{site}</div>
<nav class="main-nav"><a href="/">首页</a><a href="/news">本地新闻</a><a href="/gov">政务公开</a>
<a href="/life">民生服务</a><a href="/travel">文旅澄湖</a><a href="/video">视频</a><a href="/en">English</a></nav>
<form class="search"><input placeholder="请输入搜索关键词"><button>搜索</button></form></header>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/news">本地新闻</a> &gt; 正文</div>
<div class="container">
<article class="article">
<h1>{html.escape(title)}</h1>
<div class="info">来源：{site}　发布时间：2025-03-13 09:30　编辑：林晓</div>
{body}
<div class="share">分享到：微信 微博 QQ空间</div>
</article>
<aside class="sidebar"><h3>热门排行</h3><ul>
<li><a href="/n/1">澄湖地铁三号线开通首日客流突破二十万人次</a></li>
<li><a href="/n/2">本周末全市气温回升，最高可达二十六摄氏度</a></li>
<li><a href="/n/3">澄湖美食节将于五月在南门码头举办</a></li></ul>
<div class="ad">【广告】临湖壹号江景豪宅，首付低至十五万元，咨询热线400-860-1234，限时特惠九折！</div>
</aside></div>
<footer class="site-footer"><p>关于我们 | 联系我们 | 广告服务 | 网站地图</p>
<p>版权所有 © 2025 澄湖日报社　未经授权禁止转载</p>
<p>违法和不良信息举报电话：0571-86120000　备案号：浙ICP备2025012345号</p></footer>
<script src="/static/analytics.js"></script>
<script>console.log("页脚脚本：在线客服已连接");</script>
</body></html>
"""
