"""Chinese names an English question spells in pinyin: "Luming Bay", "Tangzhou", "Qi'an Electronics".

A dictionary translates 'reservoir' and 'bay'; it cannot know the corpus's own places, people and
companies, which English writes in toneless pinyin. `Names` reads them off the corpus itself: every
two-character word of the index's vocabulary (BM25's bigrams, in matching form) under each of its
toneless readings (pypinyin, every reading of each character: 重 is zhong or chong), and a
three-character name as two bigrams that share their middle character (鹭鸣 + 鸣湾 = lumingwan).
A name is a capitalized word of the question that is not English (not in CC-CEDICT, not a
function word). Nothing here is about one corpus: the table is built from whatever is indexed,
on the first English question that needs it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Iterable
from functools import cached_property, lru_cache

_HAN2 = re.compile(r"^[\u3400-\u9fff]{2}$")
# A capitalized word (Luming, Qi'an, Tangzhou): letters and an apostrophe or hyphen between syllables.
_CAPITALIZED = re.compile(r"\b[A-Z][a-z]+(?:['’-][a-z]+)*\b")
MAX_READINGS = 4  # readings tried per bigram (every combination of its characters' readings)
MAX_TERMS = 3  # Chinese names kept per English word (a short spelling can match several)


@lru_cache(maxsize=65536)
def readings(char: str) -> tuple[str, ...]:
    """Toneless pinyin readings of one character, ü written u (English spells 绿 lu)."""
    from pypinyin import Style, pinyin

    out = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(dict.fromkeys(r.replace("v", "u") for r in (out[0] if out else ()) if r.isalpha()))


# Readings that are a nasal alone (呣 m, 嗯 n, ng): they would let any English word read as pinyin (Dammam).
_NASALS = {"m", "n", "ng", "hm", "hng"}


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless syllable of Mandarin, as pypinyin reads the CJK Unified Ideographs."""
    return frozenset(r for cp in range(0x4E00, 0x9FA6) for r in readings(chr(cp)) if r.isascii()) - _NASALS


def is_pinyin(word: str) -> bool:
    """Whether the letters of `word` (any case, apostrophes and hyphens ignored) are pinyin syllables
    one after another: Shicheng, Qi'an; not Washburn, Dammam, Chao-hsiang (Wade-Giles)."""
    key = re.sub(r"[^a-z]", "", word.lower())
    known = syllables()
    ends = [True] + [False] * len(key)
    for i in range(len(key)):
        if ends[i]:
            for j in range(i + 1, min(len(key), i + 6) + 1):
                ends[j] = ends[j] or key[i:j] in known
    return bool(key) and ends[-1]


class Names:
    """The corpus's two- and three-character words by their pinyin. Cheap to construct: the table is
    built from `vocabulary()` on first use."""

    def __init__(self, vocabulary: Callable[[], Iterable[str]]):
        self._vocabulary = vocabulary
        self._table: tuple[dict, dict] | None = None
        self._lock = threading.Lock()

    def _tables(self) -> tuple[dict[str, list[tuple[str, str]]], dict[tuple[str, str], list[str]]]:
        """(pinyin of a bigram -> [(bigram, its second character's reading)], (first character,
        second's reading) -> [bigram])."""
        with self._lock:
            if self._table is None:
                whole: dict[str, list[tuple[str, str]]] = {}
                by_first: dict[tuple[str, str], list[str]] = {}
                for word in self._used:
                    if not _HAN2.match(word):
                        continue
                    pairs = [(a, b) for a in readings(word[0]) for b in readings(word[1])][:MAX_READINGS]
                    for a, b in pairs:
                        whole.setdefault(a + b, []).append((word, b))
                        by_first.setdefault((word[0], b), []).append(word)
                self._table = (whole, by_first)
            return self._table

    @cached_property
    def _used(self) -> Collection[str]:
        """The vocabulary, read once for the table and `uses` (a Milvus index reads it off every
        paragraph); BM25's own dict as it is, no copy of a large corpus's terms."""
        vocabulary = self._vocabulary()
        return vocabulary if isinstance(vocabulary, (dict, set, frozenset)) else dict.fromkeys(vocabulary)

    def uses(self, word: str) -> bool:
        """Whether the corpus writes the (matching-form) Chinese `word`: its characters one by one, or
        every bigram of it, are terms of the corpus."""
        if len(word) == 1:
            return word in self._used
        return all(word[i : i + 2] in self._used for i in range(len(word) - 1))

    def spell(self, name: str, limit: int | None = MAX_TERMS) -> list[str]:
        """Corpus words whose toneless pinyin is `name` (letters only, any case): bigrams, then
        three-character words made of two bigrams sharing the middle character; the first `limit`."""
        key = re.sub(r"[^a-z]", "", name.lower())
        if len(key) < 4:
            return []
        whole, by_first = self._tables()
        out = [w for w, _ in whole.get(key, ())]
        for cut in range(2, len(key) - 1):
            for left, _ in whole.get(key[:cut], ()):
                # the middle character's reading ends the left bigram's key; the right bigram starts with it
                out.extend(left + right[1] for right in by_first.get((left[1], key[cut:]), ()))
        return list(dict.fromkeys(out))[:limit]

    def terms(self, text: str, english: Callable[[str], bool]) -> list[str]:
        """Corpus words for the capitalized words of `text` that `english` does not know."""
        out: list[str] = []
        for word in dict.fromkeys(_CAPITALIZED.findall(text)):
            if not english(word.lower()):
                out.extend(self.spell(word))
        return list(dict.fromkeys(out))
