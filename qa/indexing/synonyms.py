"""Near-synonym normalization so standard-Chinese questions meet "spun" documents.

The table (qa/data/zh_variants.tsv) maps variants to a canonical word; both passages and
questions are rewritten with the same longest-match pass before BM25 tokenization and before
passages are embedded. Displayed and cited text is never rewritten.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).parents[1] / "data" / "zh_variants.tsv"


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[dict[str, str], re.Pattern | None, str]:
    raw = Path(path).read_bytes()
    mapping: dict[str, str] = {}
    for line in raw.decode("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        canonical, _, variants = line.partition("\t")
        canonical = canonical.strip()
        for v in variants.split():
            # "=" protects a phrase: it maps to itself, and being longer it wins over shorter rules.
            mapping[canonical if v == "=" else v] = canonical
    words = sorted(mapping, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, words))) if words else None
    return mapping, pattern, hashlib.sha256(raw).hexdigest()[:16]


def normalize(text: str, table: Path = TABLE) -> str:
    """Rewrite every known variant in `text` to its canonical word (longest match first)."""
    mapping, pattern, _ = _load(str(table))
    if pattern is None:
        return text
    return pattern.sub(lambda m: mapping[m.group()], text)


def version(table: Path = TABLE) -> str:
    """Content hash of the table; recorded in the manifest so an index built with another table is noticed."""
    return _load(str(table))[2]


GLOSSARY = Path(__file__).parents[1] / "data" / "en_zh.tsv"


@lru_cache(maxsize=2)
def _glossary(path: str) -> tuple[dict[str, str], re.Pattern]:
    entries: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and "\t" in line:
            en, zh = line.split("\t", 1)
            if zh.strip():
                entries[en.strip().lower()] = zh.strip()
    words = sorted(entries, key=len, reverse=True)
    # Whole words only, an optional plural s/es.
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")(?:e?s)?\b", re.I)
    return entries, pattern


def translate_terms(text: str, table: Path = GLOSSARY) -> str:
    """Chinese terms for the English phrases in `text` (longest match), space-separated."""
    entries, pattern = _glossary(str(table))
    return " ".join(entries[m.group(1).lower()] for m in pattern.finditer(text))
