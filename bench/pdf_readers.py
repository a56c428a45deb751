"""Compare PDF text extraction on Chinese PDFs printed by chromium: pypdf, pdfplumber, and qa's PDF reader.

    .venv/bin/pip install pypdf pdfplumber      # only for this comparison; qa itself needs neither
    .venv/bin/python bench/pdf_readers.py [--repeat 3]

Three PDFs are printed from text written for this project: the 10-page report of eval/mixed/
(simplified, serif, running header, page-number footers, a table), a two-column bulletin (sans)
and a Traditional-Chinese notice (Noto Serif CJK TC). For each reader and PDF it prints:

- order: difflib ratio between the source text and the extracted text, whitespace removed,
  running headers/footers deleted and radicals mapped (qa.documents.radicals) in the output first
  (1.000 = every character right and in order);
- radicals: code points from the CJK Radicals Supplement / Kangxi Radicals blocks in the output;
- ms/page: median wall time over --repeat runs;
- paras: for qa only, the share of source paragraphs that come out as exactly one paragraph.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.documents.radicals import RADICAL, unradical  # noqa: E402
from scripts.make_mixed import REPORT, REPORT_TITLE  # noqa: E402
from tests import docgen  # noqa: E402

BULLETIN = [
    "澄湖市今年新增公交线路十二条，覆盖了城市东部的六个新建小区，市民出行更加方便。公交公司同时更新了三百辆新能源公交车，全部配备了无障碍踏板和空调。",
    "地铁三号线于九月底开通运营，全长二十六公里，设站十九座，高峰时段发车间隔为四分钟。开通首日客流超过二十万人次，成为市民热议的话题。",
    "为缓解停车难，市交通局在老城区建成立体停车库五座，新增停车泊位两千四百个，并在手机应用上实时公布空余车位数量。",
    "共享单车的投放总量控制在十二万辆以内，企业须按照划定的停放区域管理车辆，对违规停放的车辆及时清理。全市共施划非机动车停放区一千六百处。",
    "慢行系统建设方面，沿飞云河新建滨水步道十四公里，步道与城市公园、地铁站点相互连通，周末吸引了大量跑步和骑行爱好者。",
    "下一步，交通部门将推进智慧信号灯改造，在八十个路口安装自适应信号控制系统，预计主干道通行效率可提高一成左右。",
]
NOTICE_TC = [
    "為維護本社區環境整潔，管理委員會決定自下個月起實施垃圾分類新制度，請各位住戶配合辦理。",
    "一般垃圾請於每週一、三、五晚上七時至九時送至地下一樓垃圾室，資源回收物請依紙類、塑膠類、金屬類分開放置。",
    "廚餘請瀝乾水分後裝入專用桶，每日晚上十時前由清潔人員統一清運。大型家具需事先向管理中心登記，並支付清運費用新臺幣五百元。",
    "違反規定者，第一次予以書面勸導，第二次起每次處以新臺幣一千元之違規金，所得款項全數撥入社區公共基金。",
    "如有疑問，請於上班時間洽詢管理中心，電話為二七六五四三二一，或於社區公告欄留言。",
] * 2


def _html(kind: str) -> tuple[str, list[str], list[str]]:
    """(page html, source paragraphs, furniture strings the page adds) for one test PDF."""
    if kind == "report":
        paras = [t for k, t in REPORT if k not in ("break", "table")]
        paras += [" ".join(r.split("|")) for k, t in REPORT if k == "table" for r in t.split("\n")]
        return docgen.report_html(REPORT_TITLE, REPORT), paras, [REPORT_TITLE]
    if kind == "two-column":
        body = "".join(f"<p>{t}</p>" for t in BULLETIN)
        css = (
            "@page{size:A4;margin:20mm}body{font:11pt 'Noto Sans CJK SC';column-count:2;column-gap:12mm}"
            "p{text-indent:2em;margin:0 0 2mm}"
        )
        return (
            f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>{css}</style></head><body>{body}</body></html>',
            BULLETIN,
            [],
        )
    blocks = [("h1", "社區垃圾分類實施公告"), *[("p", t) for t in NOTICE_TC]]
    page = docgen.report_html("社區垃圾分類實施公告", blocks).replace("Noto Serif CJK SC", "Noto Serif CJK TC")
    return page.replace('lang="zh-CN"', 'lang="zh-TW"'), ["社區垃圾分類實施公告", *NOTICE_TC], ["社區垃圾分類實施公告"]


def _pypdf(path: Path) -> list[str]:
    import pypdf

    return [p.extract_text() or "" for p in pypdf.PdfReader(str(path)).pages]


def _pdfplumber(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


def _qa(path: Path) -> list[str]:
    from qa.documents import read_document

    return [p.text for p in read_document(path).paragraphs]


READERS = {"pypdf": _pypdf, "pdfplumber": _pdfplumber, "qa (pdfminer.six)": _qa}


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _order(source: list[str], out: list[str], furniture: list[str]) -> float:
    got = unradical(_squeeze("".join(out)))
    got = re.sub(r"—\d+—", "", got)  # the page-number footers
    for f in furniture:  # running headers (the title itself appears once in the source)
        got = got.replace(_squeeze(f), "")
    want = "".join(_squeeze(s) for s in source)
    for f in furniture:
        want = want.replace(_squeeze(f), "")
    return difflib.SequenceMatcher(None, want, got, autojunk=False).ratio()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    print(f"{'pdf':12} {'pages':>5} {'reader':20} {'order':>6} {'radicals':>8} {'ms/page':>8} {'paras':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("report", "two-column", "traditional"):
            page, source, furniture = _html(kind)
            pdf = docgen.print_pdf(page, Path(tmp) / f"{kind}.pdf")
            for name, read in READERS.items():
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    out = read(pdf)
                    times.append(time.perf_counter() - t0)
                pages = _pages(pdf)
                radicals = sum(len(RADICAL.findall(t)) for t in out)
                paras = f"{sum(s in out for s in source) / len(source):.3f}" if name.startswith("qa") else ""
                ms = 1000 * statistics.median(times) / pages
                line = f"{kind:12} {pages:5} {name:20} {_order(source, out, furniture):6.3f} {radicals:8} {ms:8.0f}"
                print(f"{line} {paras:>6}")
    return 0


def _pages(pdf: Path) -> int:
    from qa.documents import read_document

    return read_document(pdf).pages or 1


if __name__ == "__main__":
    raise SystemExit(main())
