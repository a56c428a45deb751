"""CJK radical code points -> the ordinary characters they were extracted for (⻛ ⻓ ⼯ -> 风 长 工).

A PDF font draws a radical and an ideograph with one glyph; producers that map each glyph to
its lowest code point (chromium among them) put the radical in the text layer. The table is
Unicode's EquivalentUnifiedIdeograph data (qa/data/radicals.tsv, scripts/radicals.py).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "data" / "radicals.tsv"
RADICAL = re.compile(r"[\u2e80-\u2eff\u2f00-\u2fdf]")
# Unicode equates KANGXI RADICAL DOOR with 戶 (U+6236); simplified-Chinese fonts (Noto Sans/Serif
# CJK SC, checked with fontTools) draw it with the glyph of 户 (U+6237). The only radical of the
# two blocks whose glyph-sharing ideograph differs between SC and TC fonts in running text.
_SIMPLIFIED = {"\u2f3e": "\u6237"}


@functools.cache
def _table() -> dict[int, str]:
    out = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            radical, ideograph = line.split("\t")
            out[ord(radical)] = ideograph
    return out


def unradical(text: str, traditional: bool = False) -> str:
    """Replace radicals by their ideographs; `traditional` text keeps Unicode's choice where SC fonts differ."""
    if not RADICAL.search(text):
        return text
    table = _table() if traditional else {**_table(), **{ord(k): v for k, v in _SIMPLIFIED.items()}}
    return text.translate(table)


def looks_traditional(text: str) -> bool:
    """True when the CJK text fits Big5 (Traditional); simplified text has many characters Big5 lacks."""
    cjk = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not cjk:
        return False
    missing = sum(1 for c in cjk if not _big5(c))
    return missing / len(cjk) < 0.02


@functools.lru_cache(maxsize=8192)
def _big5(c: str) -> bool:
    try:
        c.encode("big5")
        return True
    except UnicodeEncodeError:
        return False
