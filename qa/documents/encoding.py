"""Bytes -> text for plain-text formats: BOMs, UTF-16 without a BOM, UTF-8, then GB18030 or Big5.

The Chinese legacy encodings overlap: Big5 bytes usually also decode as GB18030 (into rare
characters) and the other way round. charset-normalizer rules out decodes that read as noise;
among the ones left, the decode whose CJK characters are common ones wins.
"""

from __future__ import annotations

import codecs
import re

from qa.errors import BadInputError

# Characters frequent in both simplified and traditional Chinese text. A wrong guess between
# GB18030 and Big5 still decodes, but into rare characters; the right one hits these often.
_COMMON = set(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日"
    "這個們來為國說時會過發後裡經麼學現當沒動還進於與對東業問關點無種體"
)
from qa.text import CJK as _CJK  # noqa: E402

_NONCHAR = re.compile(r"[\ufdd0-\ufdef\ufeff\ufff0-\uffff\ue000-\uf8ff]")
LEGACY = ("gb18030", "big5")  # the legacy encodings Chinese text files come in (GBK and GB2312 are subsets of GB18030)
# A decode charset-normalizer rejects as noise still counts, at this penalty against the share of
# common characters (0..1): it must then be convincingly Chinese to be used.
REJECTED = 0.3


def decode(data: bytes, name: str = "input") -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM or not), UTF-16, GB18030 or Big5; return (text, encoding)."""
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", name), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", name), "utf-16"
    utf16 = _utf16_without_bom(data)
    if utf16:
        return utf16
    if b"\x00" in data:
        raise BadInputError(f"{name}: looks like a binary file (contains NUL bytes); give a text file (.txt/.md)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    chaos = _chaos(data)
    candidates = []
    for enc in LEGACY:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_plausibility(text) - chaos.get(enc, REJECTED), enc, text))
    if not candidates:
        raise BadInputError(f"{name}: cannot decode as UTF-8, UTF-16, GB18030 or Big5; re-save the file as UTF-8")
    score, enc, text = max(candidates)
    if score < 0.02 or _control_ratio(text) > 0.05:
        raise BadInputError(f"{name}: does not look like text in a known encoding; re-save the file as UTF-8")
    return text, enc


def _chaos(data: bytes) -> dict[str, float]:
    """charset-normalizer's mess ratio (0 = reads as clean text) of each legacy encoding it finds plausible."""
    from charset_normalizer import from_bytes

    return {codecs.lookup(m.encoding).name: float(m.chaos) for m in from_bytes(data, cp_isolation=list(LEGACY))}


def _strict(data: bytes, enc: str, name: str) -> str:
    try:
        return data.decode(enc)
    except UnicodeDecodeError:
        raise BadInputError(f"{name}: declares {enc} but has invalid bytes; re-save the file as UTF-8") from None


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """Recognize BOM-less UTF-16: NULs in alternating positions (ASCII-heavy text), or a strict
    decode into plausible Chinese (CJK text has few NULs). Returns (text, encoding) or None."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    guesses = []
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        guesses.append("utf-16-le")
    elif even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        guesses.append("utf-16-be")
    else:
        try:
            data.decode("utf-8")
            return None  # valid UTF-8 wins: a UTF-8 file of even length must not be misread
        except UnicodeDecodeError:
            guesses += ["utf-16-le", "utf-16-be"]
    scored = []
    for enc in guesses:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _NONCHAR.search(text[1:]):
            continue  # noncharacters and stray BOMs never occur in real text; random bytes make them
        if _control_ratio(text) < 0.01 and (_plausibility(text) >= 0.3 or len(guesses) == 1):
            scored.append((_plausibility(text), text, enc))
    if not scored:
        return None
    _, text, enc = max(scored)
    return text, enc


def _plausibility(text: str) -> float:
    """Share of common Chinese characters among the CJK characters of `text`."""
    cjk = _CJK.findall(text)
    if not cjk:
        return 0.5 if text.isascii() else 0.0
    return sum(c in _COMMON for c in cjk) / len(cjk)


def _control_ratio(text: str) -> float:
    bad = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
    return bad / max(1, len(text))
