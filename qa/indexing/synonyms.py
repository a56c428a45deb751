"""A corpus's matching knowledge: the `Lexicon` every index carries (`Index.lexicon`).

Matching form = Traditional characters folded to Simplified (OpenCC t2s) + the corpus's own
variants rewritten to the words people ask with. Passages and questions both go through
`Lexicon.normalize` before BM25 tokenization and before embedding; displayed and cited text is
never rewritten. English questions get Chinese terms for BM25 from `Lexicon.english_terms`:
the corpus's glossary first, then CC-CEDICT (qa/indexing/cedict.py).

The knowledge about one corpus is data beside its documents, never code: a `synonyms.tsv` at the
top of an indexed folder (docs/synonyms.md). `qa build` copies it into the index version and
records `Lexicon.version` in the manifest, so an index always matches with what it was built
with. Without the file only the general mechanisms (t2s, CC-CEDICT) apply.

File format (UTF-8; blank lines and lines starting with # are ignored), two kinds of lines
told apart by their first field:

    canonical<TAB>variant variant ...   first field Chinese: the documents write a variant where
                                        people say canonical; both sides are rewritten to it,
                                        longest match first. "=" as a variant protects a phrase
                                        from the shorter rules inside it (危险废物 vs 危险).
    english phrase<TAB>中文术语          first field without Chinese: a glossary entry; an English
                                        question containing the phrase (whole words, any case,
                                        an optional plural s) gets the Chinese term.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.indexing.pinyin import Names

FILE = "synonyms.tsv"
# Part of every version: change it when normalize() changes, so indexes built before are rebuilt.
METHOD = "opencc t2s, then variants (longest match); v1"
_CJK = re.compile(r"[\u3400-\u9fff]")
# "China's", "New Taipei's": an English possessive hides its word from the dictionaries (中国, 新北市).
# bench/quality.py, English questions: drcd-en tune 1152-15-1-en rank 2 -> 1 and no longer declined;
# held out no decision or top-5 membership moved.
_POSSESSIVE = re.compile(r"(?<=[A-Za-z])['’]s\b")
# A word of an English question, or a mark that ends a run of capitalized words (a name).
_NAME_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9'’-]*|[,;:!?()\"“”]|\.(?=\s|$)")
# Capitalized words that are not names: a people's adjective (Japanese, Korean, American: 日文 is not
# how a text says 日本), a Roman numeral (World War II), a compass point (West Kowloon: 西方 is "the West").
_NOT_A_NAME = re.compile(r"(?:ese|[ie]an|ican|ish)$|^[IVX]+$|^(?:North|South|East|West)(?:east|west|ern)?$")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` with Traditional characters folded to Simplified (OpenCC t2s; same length in practice)."""
    return _t2s().convert(text) if text else text


class Lexicon:
    """One corpus's matching knowledge, from the text of its synonyms file ("" for none). Cheap to construct."""

    def __init__(self, text: str = "", source: str | None = None, names: Names | None = None):
        self.text = text
        self.source = source  # where the text came from, for messages
        self.names = names  # the corpus's words by their pinyin (qa/indexing/pinyin.py), for English names
        self.version = hashlib.sha256(f"{METHOD}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()[:16]

    @classmethod
    def read(cls, path: str | Path | None) -> Lexicon:
        """The lexicon in a synonyms file; the general one when `path` is None or missing."""
        if path is None or not Path(path).is_file():
            return cls()
        return cls(Path(path).read_text(encoding="utf-8-sig"), str(path))

    def __repr__(self) -> str:
        return f"Lexicon(version={self.version!r}, variants={len(self.variants)}, glossary={len(self.glossary)})"

    # -- the file ------------------------------------------------------------------------
    @cached_property
    def _tables(self) -> tuple[dict[str, str], dict[str, str]]:
        variants: dict[str, str] = {}
        glossary: dict[str, str] = {}
        for line in self.text.splitlines():
            if not line.strip() or line.lstrip().startswith("#") or "\t" not in line:
                continue
            key, _, value = line.partition("\t")
            key, value = key.strip(), value.strip()
            if not key or not value:
                continue
            if _CJK.search(key):
                canonical = simplified(key)
                for v in simplified(value).split():
                    # "=" protects a phrase: it maps to itself, and being longer it wins over shorter rules.
                    variants[canonical if v == "=" else v] = canonical
            else:
                glossary[" ".join(key.lower().split())] = value
        return variants, glossary

    @property
    def variants(self) -> dict[str, str]:
        """variant -> canonical word (both Simplified)."""
        return self._tables[0]

    @property
    def glossary(self) -> dict[str, str]:
        """English phrase (lowercase) -> Chinese term."""
        return self._tables[1]

    @cached_property
    def _variant_pattern(self) -> re.Pattern | None:
        words = sorted(self.variants, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, words))) if words else None

    @cached_property
    def glossary_pattern(self) -> re.Pattern | None:
        """Whole glossary phrases in English text (longest first, any case, an optional plural s/es)."""
        words = sorted(self.glossary, key=len, reverse=True)
        if not words:
            return None
        return re.compile(r"\b(" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words) + r")(?:e?s)?\b", re.I)

    # -- the interface ---------------------------------------------------------------------
    def normalize(self, text: str) -> str:
        """The matching form of `text`: Simplified characters, the corpus's variants rewritten. Never for display."""
        text = simplified(text)
        pattern = self._variant_pattern
        if pattern is None:
            return text
        variants = self.variants
        return pattern.sub(lambda m: variants[m.group()], text)

    def glossary_terms(self, text: str) -> tuple[list[str], str]:
        """(Chinese terms of the glossary phrases in `text`, `text` with those phrases cut out)."""
        pattern = self.glossary_pattern
        if pattern is None:
            return [], text
        terms = [self.glossary[" ".join(m.group(1).lower().split())] for m in pattern.finditer(text)]
        return terms, pattern.sub(" , ", text)

    def english_terms(self, text: str, chosen: bool = True) -> str:
        """Chinese terms for an English question, space-separated: the corpus glossary first, then
        CC-CEDICT, then the corpus's own words its capitalized non-English words spell in pinyin.
        `chosen`: CC-CEDICT's words the corpus uses first (cedict.terms' `used`: "bark" is 树皮 in a
        text about trees), for finding passages; abstention reads them unchosen, since a choice made
        by the corpus would make any question look covered by it."""
        from qa.indexing import cedict

        terms, rest = self.glossary_terms(_POSSESSIVE.sub("", text))
        names = self.names.terms(rest, cedict.known) if self.names else []
        used = (lambda w: self.names.uses(self.normalize(w))) if self.names and chosen else None  # noqa: E731
        return " ".join([*terms, *cedict.terms(rest, used), *names])

    def english_names(self, text: str) -> list[tuple[list[str], list[str]]]:
        """The names an English question gives: each run of capitalized words (not the first word
        of the question when CC-CEDICT knows it: "Together", "Roughly") as (its words, the Chinese
        words that may write it). A word counts when CC-CEDICT writes it as a proper noun of two or
        more characters (Tokyo 东京), or when CC-CEDICT lacks it and the corpus has a word its pinyin
        spells (Zhongshan 中山); the run is also looked up whole, in CC-CEDICT (New Taipei 新北市) and as
        one pinyin spelling (Qu Cheng). A run in pinyin that spells no word of the corpus (Cai Min
        where no 蔡敏 is) is a name with no Chinese word: a Chinese name the corpus does not have
        (`_pinyin_name`). Not names: a word CC-CEDICT gives only common words for (Stock), an
        acronym (TV is 电视, MIT 麻省理工), _NOT_A_NAME's, a foreign name no dictionary writes
        (Washburn: the text's 沃什本 cannot be told), glossary phrases (the corpus's own data)."""
        from qa.indexing import cedict

        _, rest = self.glossary_terms(_POSSESSIVE.sub("", text))
        runs: list[list[str]] = []
        after_capital, first = False, True
        for m in _NAME_TOKEN.finditer(rest):
            w = m.group()
            capital = w[:1].isupper() and w.lower() not in cedict.STOP and not (first and cedict.known(w.lower()))
            if capital and after_capital:
                runs[-1].append(w)
            elif capital:
                runs.append([w])
            after_capital, first = capital, first and not w[:1].isalpha()
        out: list[tuple[list[str], list[str]]] = []
        for run in runs:
            named, chinese = [], []
            for w in run:
                if _NOT_A_NAME.search(w):
                    continue
                proper = [c for c in cedict.proper_nouns(w) if len(c) > 1]
                spelled = self.names.spell(w, limit=None) if self.names else []  # every word it may be
                if proper or (spelled and not cedict.known(w.lower())):
                    named.append(w)
                    chinese += proper + spelled
            whole = []  # the run as one name: New Taipei 新北市, Lu Mingwan 鹭鸣湾
            if len(run) > 1:
                whole = cedict.proper_nouns(" ".join(run))
                whole += self.names.spell("".join(run), limit=None) if self.names else []
            if named or whole:
                out.append((named or run, list(dict.fromkeys(chinese + whole))))
            elif self.names and self._pinyin_name(run):
                out.append((run, []))  # a Chinese name that spells no word of the corpus
        return out

    @staticmethod
    def _pinyin_name(run: list[str]) -> bool:
        """Whether the capitalized words `run` spell a Chinese name in pinyin: four or more letters,
        all pinyin syllables, no word (nor the whole) an English word CC-CEDICT knows (Hong Kong)."""
        from qa.indexing import cedict
        from qa.indexing.pinyin import is_pinyin

        letters = "".join(run)
        words = [w.lower() for w in run]
        return (
            len(re.sub(r"[^A-Za-z]", "", letters)) >= 4
            and not any(cedict.known(w) for w in words)
            and " ".join(words) not in cedict.index()
            and is_pinyin(letters)
        )


def find(paths: Iterable[str | Path], name: str = FILE) -> list[Path]:
    """The corpus data files called `name` at the top of the folders among `paths`, in order."""
    return [Path(p) / name for p in paths if Path(p).is_dir() and (Path(p) / name).is_file()]


def read_corpus_file(paths: Iterable[str | Path], name: str) -> tuple[str, list[str]]:
    """The text of every `name` file at the top of the folders among `paths`, joined; and where each came from."""
    found = find(paths, name)
    return "\n".join(f.read_text(encoding="utf-8-sig") for f in found), [str(f) for f in found]
