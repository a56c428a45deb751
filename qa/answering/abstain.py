"""Whether the retrieved paragraphs answer the question: a step of its own, on retrieval's result.

`decide(retrieval, index, settings) -> Decision` weighs signals that mean the same on any
corpus (none is a word list drawn from one document or one question set):

- how close the embedding puts the question to the best passage and sentence: the absolute
  cosines, the top passage's lead over the next paragraph and over the candidate pool (a
  question about an article that is not indexed matches many passages a little, none well);
- how much of the question the top paragraphs cover: character bigrams of the question found in
  them, each weighted by its rarity in the corpus (IDF over paragraphs), so a topic word every
  paragraph shares counts little and the name of the asked detail counts a lot; ``local`` is the
  same within the best single sentence, weighted by rarity among the candidate sentences (the
  near-topic question that asks for a detail the text never gives shares the topic, not the detail);
- the same coverage counted in single characters (a paraphrase keeps the key characters of a word:
  缺水 / 缺乏水资源), and whether a name the question gives (a person, a place, a body: jieba's
  tags; in an English question, a capitalized word CC-CEDICT writes as a proper noun or the corpus
  spells in pinyin: Lexicon.english_names) is in none of the top paragraphs (a question about an
  article that is not indexed names what the corpus lacks);
- whether the dense and lexical rankings agree on the top paragraph, and how much the first
  passages of each ranking gather in one document (they scatter over unrelated documents when the
  asked one is not indexed);
- whether a value of the asked kind is there (a percentage, an amount, a date, a person, a
  place, a count: qa/answering/kinds.py) in the top paragraphs;
- the language (an English question's lexical side goes through the index's lexicon).

The weights, the standardization and the threshold are fitted by `python bench/calibrate.py` on
the tuning parts of several corpora and written to Settings.abstention_file
(qa/data/abstention.json), with the per-corpus rates it measured, leave-one-corpus-out included.

The same file holds a second model for *wide* indexes, many unrelated articles (an
encyclopedia): where the unanswerable question is about an article that is not indexed, and the
paragraphs retrieved for it match a little. bench/calibrate.py fits it on the tune parts of the
corpora that are wide by the same test as at run time: their probe questions look answerable
(qa/answering/probes.py: they raise the index's threshold above the fitted one). `decide` mixes
it in for the Chinese questions it was fitted on, by how far an index's probes raise its threshold
(`wide_weight`: none at the fitted threshold, all of it where the encyclopedia corpora sit), or
further where the probes about absent people, places and works look answerable on it
(`absent_weight`, read by probes.raised).

A corpus may carry its own model instead: `qa calibrate` fits one to questions written for its
documents (answerable and not, qa/answering/fit.py) and writes an `abstention.json` that goes at
the top of the documents' folder, where `qa build` keeps it in the index like synonyms.tsv
(`model_for`). Knowledge of one corpus's questions stays in that corpus's data.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import numpy as np

from qa.answering import kinds
from qa.config import Settings
from qa.errors import CalibrationError
from qa.search.retriever import paragraph_ranking
from qa.text import ASKING, CJK, YEAR, is_english

# The command that fits Settings.abstention_file.
COMMAND = "python bench/calibrate.py"
FEATURES = (
    "dense_top",  # cosine of the question and the top passage
    "dense_gap",  # ... minus the best cosine of a passage of another paragraph
    "dense_z",  # ... in standard deviations above the candidate pool's mean
    "sentence_top",  # best cosine of the question and a sentence of the top paragraph
    "cover_top",  # IDF-weighted share of the question's bigrams found in the top paragraph
    "cover_topk",  # ... in any of the top-k paragraphs
    "missing",  # share of the question's words found in none of the top-k paragraphs (unused by the corpus: 1, else 0.5)
    "unseen",  # IDF-weighted share of the question's bigrams the corpus never uses
    "local",  # best share of the question's bigrams in one candidate sentence, weighted by rarity among them
    "lex_z",  # the top BM25 score in standard deviations above the candidate pool's mean
    "terms",  # log(1 + how many terms the question has to be covered): coverage of few terms is noisier
    "agree",  # dense top paragraph among lexical top-k, and lexical top among dense top-k (0, 0.5, 1)
    "fused_rank",  # 1/rank of the answer's paragraph in the dense and lexical rankings, averaged
    "value_missing",  # the question asks for a value of a recognizable kind, no top paragraph states one
    "english",  # asked in English
    "english_dense",  # english x dense_top: cross-lingual cosines sit lower
    "focus_dense",  # share of the dense top FOCUS_K passages in the top passage's document
    "focus_lex",  # ... of the lexical top FOCUS_K
    "chars_top",  # IDF-weighted share of the question's content characters found in the top paragraph
    "chars_topk",  # ... in any of the top-k paragraphs
    "name_missing",  # a name the question gives (jieba's tags; English: Lexicon.english_names) is in none of the top-k paragraphs
)
# How many of a ranking's first passages `focus_*` reads: a question about a document that is not
# indexed scatters them over unrelated documents; one about an indexed document gathers them in it
# (in a corpus of one document it is always 1, and says nothing).
FOCUS_K = 10

_LATIN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
# English function and question words: not content to look for (general English, not one set's).
_EN_STOP = set(
    "what which who whom whose when where why how is are was were be been being the a an of in on at to for by"
    " with and or did do does has have had that this these those its it their there many much from as about"
    " into over under will would can could should may also than then not any some all each other such out"
    " up one first name named called".split()
)
# "How many / how much": a question for a count, answered by a number (digits or Chinese numerals).
_HOW_MANY = re.compile(
    r"(?<![第哪这那])(?:多少|几(?!乎))(?![年月天日号时点])|\bhow (?:many|much)\b|\bnumber of\b", re.I
)
_ZH_NUM = "[零〇一二两三四五六七八九十百千万亿]"
_NUMBER = re.compile(
    rf"\d|{_ZH_NUM}(?:点?{_ZH_NUM})+|[一二两三四五六七八九十]\s*[{kinds.MEASURE_WORDS}人元米吨岁倍成天年月日周届期]"
)


@dataclass(frozen=True)
class Decision:
    """Whether the retrieved paragraphs answer the question, how sure the model is, and why."""

    found: bool
    confidence: float  # the calibrated model's probability-like score in [0, 1]
    signals: Mapping[str, float]


# -- text of the index, prepared once per index ---------------------------------------------------
def _normalize(index, text: str) -> str:
    """The index's matching form of `text` (Simplified characters, the corpus's variants), lowercase."""
    return index.lexicon.normalize(text).lower()


def bigrams(text: str) -> set[str]:
    """Character bigrams of each run of Chinese characters, plus Latin words and numbers (`text` normalized)."""
    out = {run[i : i + 2] for run in re.findall(r"[\u3400-\u9fff]+", text) for i in range(len(run) - 1)}
    return out | set(_LATIN.findall(text))


# The paragraph statistics abstention weighs terms by, over the whole corpus. A build counts them
# (corpus_statistics) and stores them in the index version (qa/indexing/store.py STATS), because
# counting them when a process asks its first question meant normalizing every paragraph and
# collecting its bigrams: 56% of a cold `qa ask` at 513,373 passages (46 s, py-spy). A question
# reads only its top paragraphs' texts and bigrams, computed on first use (_Lazy). A version built
# before the statistics were stored, or by another STATS_METHOD, is counted here as before.
STATS_METHOD = "abstain paragraph df v1: lexicon.normalize + lower; bigrams(); set of characters"


def corpus_statistics(paragraphs, normalize) -> dict:
    """`paragraphs` (texts) counted as `_corpus` weighs them: how many paragraphs hold each bigram
    and each character (in matching form: `normalize`, then lowercase), and how many there are."""
    df: Counter = Counter()
    char_df: Counter = Counter()
    n = 0
    for text in paragraphs:
        t = normalize(text).lower()
        df.update(bigrams(t))
        char_df.update(set(t))
        n += 1
    return {"method": STATS_METHOD, "paragraphs": n, "bigrams": dict(df), "chars": dict(char_df)}


class _Lazy(dict):
    """key -> make(key), computed when first read and kept. Filling is idempotent (the same value
    whichever thread stores it), so concurrent questions need no lock."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        value = self[key] = self.make(key)
        return value


@dataclass(frozen=True)
class _Corpus:
    texts: dict  # (doc, paragraph) -> normalized text (filled as questions read them)
    grams: dict  # (doc, paragraph) -> its bigrams (likewise)
    df: Mapping  # bigram -> paragraphs holding it
    char_df: Mapping  # character -> paragraphs holding it
    n: int
    sentences: dict = field(default_factory=dict)  # sentence row -> its bigrams, filled as questions read them

    def idf(self, gram: str) -> float:
        return math.log((self.n + 1) / (self.df.get(gram, 0) + 0.5))

    def sentence_grams(self, index, row: int) -> set[str]:
        """Bigrams of sentence `row` in matching form, computed once per index (the same top
        paragraphs come back question after question)."""
        if row not in self.sentences:
            self.sentences[row] = bigrams(_sentence_text(index, row))
        return self.sentences[row]


def _sentence_text(index, row: int) -> str:
    """Sentence `row` of the index in matching form."""
    doc, para, s, e = index.sentences[row]
    return _normalize(index, index.paragraphs[(doc, para)][s:e])


_LAST: list = [None, None]  # [index, _Corpus]: the last index seen (an Index is not hashable)


def _stored(index) -> dict | None:
    """The statistics the build stored in `index` (None: an index built before they were, or a fake)."""
    read = getattr(index, "corpus_stats", None)
    stats = read() if callable(read) else None
    return stats if isinstance(stats, dict) and stats.get("method") == STATS_METHOD else None


def _corpus(index) -> _Corpus:
    if _LAST[0] is not index:
        texts = _Lazy(lambda k: _normalize(index, index.paragraphs[k]))
        grams = _Lazy(lambda k: bigrams(texts[k]))
        stats = _stored(index)
        if stats is None:  # counted here, every paragraph at once, as before the build stored them
            stats = corpus_statistics(index.paragraphs.values(), index.lexicon.normalize)
        _LAST[:] = [index, _Corpus(texts, grams, stats["bigrams"], stats["chars"], stats["paragraphs"])]
    return _LAST[1]


# -- signals ---------------------------------------------------------------------------------------
def question_terms(index, query: str) -> set[str]:
    """What the top passages should contain: the bigrams inside the question's words (jieba; the
    words that ask left out, and no bigram across two words, which the text need not hold), and
    its Latin words. An English question: the Chinese terms its lexicon gives, and its own words
    the corpus uses."""
    if is_english(query):
        corpus = _corpus(index)
        own = {w for w in _LATIN.findall(query.lower()) if w not in _EN_STOP and corpus.df.get(w)}
        return own | bigrams(_normalize(index, index.lexicon.english_terms(query, chosen=False)))
    text = _normalize(index, query)
    words = question_words(text)
    return {w[i : i + 2] for w in words for i in range(len(w) - 1)} | set(_LATIN.findall(text))


def question_words(text: str) -> list[str]:
    """The Chinese words of a (normalized) question that name something: jieba's words of two or more
    characters, without the ones that ask."""
    import jieba

    jieba.setLogLevel(60)  # its dictionary loading is logged at INFO
    return [w for w in jieba.lcut(text) if len(w) > 1 and CJK.search(w) and not ASKING.search(w)]


def _missing(corpus: _Corpus, words: list[str], top: list) -> float:
    """Share of `words` in none of the `top` paragraphs (a word of 3+ characters counts as there when
    all its bigrams are); a word the corpus never uses counts 1, one it uses elsewhere 0.5 (the
    answer may rank lower)."""
    if not words:
        return 0.0

    def there(w: str, keys) -> bool:
        grams = {w[i : i + 2] for i in range(len(w) - 1)}
        return any(w in corpus.texts[k] or (len(w) > 2 and grams <= corpus.grams[k]) for k in keys)

    miss = [w for w in words if not there(w, top)]
    return sum(1.0 if not all(corpus.df.get(w[i : i + 2]) for i in range(len(w) - 1)) else 0.5 for w in miss) / len(
        words
    )


def _share(terms: set[str], weight, found) -> float:
    total = sum(weight(t) for t in terms)
    return sum(weight(t) for t in terms if found(t)) / total if total else 0.0


def _local(index, corpus: _Corpus, terms: set[str], top: list) -> float:
    """Best share of `terms` in one sentence of the `top` paragraphs, each term weighted by how few of
    those sentences hold it (the topic they share counts little, the asked detail a lot)."""
    sents = [corpus.sentence_grams(index, row) for key in top for row in index.sentence_rows.get(key, [])]
    if not sents or not terms:
        return 0.0
    sf = Counter(t for g in sents for t in terms & g)
    w = {t: math.log((len(sents) + 1) / (sf.get(t, 0) + 0.5)) for t in terms}
    total = sum(w.values())
    return max(sum(w[t] for t in terms & g) for g in sents) / total if total else 0.0


# "How many X": 多少/几, an optional measure word, then what is counted (not 第几, an ordinal, not
# 哪几, which ones, not 几年/几月/几点, a time (几点: kinds.py "clock"), and not 几乎, "almost"). The
# answer is a number before that measure word or noun ("25个城市", "12公里") or a count written
# after the noun ("城市达到25个").
_COUNTED = re.compile(
    rf"(?<![第哪这那])(?:多少|几(?!乎))(?![年月天日号时点])([{kinds.MEASURE_WORDS}人轮吨万亿件])?([\u4e00-\u9fff]{{0,2}})"
)
# "X 是多少" / "X 下降了多少": the counted thing comes before the question word.
_COUNTED_BEFORE = re.compile(r"([\u4e00-\u9fff]{2})(?:了|是|有|为|共|一共|具体|大约|总共)*(?:多少|几)(?:[？?。!！]|$)")
# How far apart a number and the thing it counts may be (2.1亿吨粗钢: 亿吨 between), a measure word
# and its noun (三颗[生态环境]卫星), a noun and its count written after it (城市[达到]25个).
NUMBER_SPAN, UNIT_SPAN, NOUN_TO_COUNT = 4, 6, 8
# A document may word the counted thing otherwise (多少张病床 / 新增床位800张, 多少车位 / 停车泊位1.2万个,
# 多少观光客 / 接待游客3260万人次). A Chinese compound's last character is its head (床, 位, 客), so the
# head of the question's noun (its run of up to four characters, cut at 的/了/和/与/及) right beside
# a number also counts, a character of the document's own compound allowed between. bench/quality.py
# against 7c18732, every corpus (with the measure words added in kinds.py and 几乎 no longer read as
# 几): gov3 tune false declines .102 -> .041 (3 answered, each holding its fact), wiki held out
# declines .963 -> .975; no other question changed.
# What may follow 多少 and is not the counted thing: a bound on the number (多少以下, 多少左右).
_BOUNDS = ("以下", "以上", "左右", "上下", "之间")
_NOUN_RUN = re.compile(r"[\u4e00-\u9fff](?:(?![的了和与及])[\u4e00-\u9fff]){0,3}")


def _counted_word(query: str, end: int) -> str | None:
    """The word (jieba's) that ends at `end`, the thing "X 是多少" counts: "成交额" for 累计成交额是多少, where
    the two characters before would be 交额. "" when it is one character, a change rather than a
    thing (比前一年贵了多少: 年贵 is no word; any number answers). None when no word ends there.
    bench/quality.py (2026-12-06): 3 answerable questions no longer declined (gov7 tune, gov2 and
    gov5 held out), each holding its fact; no other decision moved."""
    import jieba

    jieba.setLogLevel(60)
    start = 0
    for w in jieba.lcut(query, HMM=False):
        start += len(w)
        if start == end:
            return w if len(w) > 1 else ""
        if start > end:
            return None
    return None


def _head_word(query: str, start: int) -> str | None:
    """The last noun of the compound noun at `start` (jieba's words, tagged as nouns, one after
    another: 环境/风险/隐患 -> 隐患, 行动/目标 -> 目标), when it has two or more; else None. A Chinese
    compound's last word names what it is; the first ones say of what kind."""
    import jieba.posseg

    words = []
    for word, flag in jieba.posseg.lcut(query[start : start + 8], HMM=False):
        if not (flag.startswith("n") or flag == "vn"):
            break
        words.append(word)
    return words[-1] if len(words) >= 2 and len(words[-1]) >= 2 else None


def quantity_pattern(query: str) -> re.Pattern | None:
    """What a passage must contain to say how many (None: the question doesn't ask how many)."""
    number = kinds.NUMBER
    before = _COUNTED_BEFORE.search(query)
    word = _counted_word(query, before.end(1)) if before else None
    if before and not _COUNTED.search(query[: before.start(0) + 2]) and word != "":
        word = re.escape(word or before.group(1))
        return re.compile(rf"{word}[^。；]{{0,8}}?(?:\d|{_ZH_NUM})|{number}[^。；]{{0,{NUMBER_SPAN}}}{word}")
    m = _COUNTED.search(query)
    if not m:
        return _NUMBER if _HOW_MANY.search(query) else None
    # what is counted: its first two characters (多少个[行动]目标 is not 1.6万个[行政]村), or the head
    # of a compound noun (`_head_word`: 多少个环境风险[隐患] is not 1万余座尾矿库[环境]风险排查)
    counted = m.group(2).lstrip("的了被是在有和与")
    if counted.startswith(_BOUNDS):  # 挣多少以下: a bound on the number, not what it counts
        counted = ""
    unit, noun = m.group(1) or "", counted[:2]
    if noun.startswith("钱"):
        return None  # 多少钱: money, a kind of its own (kinds.py)
    if not noun:  # a bare unit (有多少个?) -> any "N个"
        return re.compile(rf"{number}{re.escape(unit)}") if unit else _NUMBER
    run = _NOUN_RUN.match(query, m.start(2)).group()
    head_word = _head_word(query, m.end(2) - len(counted))
    if head_word:
        noun = run = head_word
    # documents count in their own measure word (多少件作品 / 作品不超过40项): any one will do
    noun, any_unit = re.escape(noun), f"[{kinds.MEASURE_WORDS}{re.escape(unit)}]?"
    ahead = rf"{number}{any_unit}[^。；，,\d]{{0,{UNIT_SPAN}}}{noun}"
    behind = rf"{noun}[^。；]{{0,{NOUN_TO_COUNT}}}?{kinds.DIGITS}"
    ways = [ahead, behind]
    if unit and unit != "个":  # a measure word of its own counts the thing (多少户人家 / 每300户)
        ways.append(rf"{number}{re.escape(unit)}")
    if len(run) >= 2:  # the noun's head beside the number (床位800张 for 多少张病床)
        head = re.escape(run[-1])
        ways += [rf"{number}{any_unit}[\u4e00-\u9fff]?{head}", rf"{head}[\u4e00-\u9fff]?{kinds.DIGITS}"]
    return re.compile("|".join(ways))


# "The 14 kinds of X: which are they?": a question that names a set by its count (14种新污染物,
# 三颗卫星, 25个城市) and asks for its members (哪些, 哪几, 分别, 叫什么). A passage that names the same
# set (the same count and measure word, the noun's last character within a few characters) and
# goes on in that clause to something else (将14种新污染物纳入重点管控清单, 成功发射三颗生态环境卫星,
# 稳步推进……) says that the set exists, not what is in it. A passage that lists them says so in
# that clause or right after it: 、 or a colon or brackets, 分别 / 包括 / 即, or items that follow
# (一是, （一）, 1.). A passage that does not name the set leaves the question to the other signals.
_SET_ASKED = re.compile(
    rf"(\d+|{_ZH_NUM}+)([{kinds.MEASURE_WORDS}件])((?:(?![由在对被把从向给将与和及])[\u4e00-\u9fff“”\"]){{1,12}}?)"
    r"[”\"]?(?:具体|分别|都|主要|一共|共)?(?:是|有|包括|包含|指的是|指|叫)?(?:哪些|哪几|什么名字|叫什么|分别|具体是)"
)
_LISTED_IN_CLAUSE = re.compile(r"[、：:（(]|分别|包括|包含|即|如下|以下|等")
_LISTED_AFTER = re.compile(r"\s*(?:[：:]|分别|包括|即|其中|一是|其一|第一|[（(]?[一1][）)、.．])")
_CN_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


def _count(text: str) -> int | None:
    """A count under a hundred in digits or Chinese numerals (14, 十四, 三, 两), else None."""
    if text.isdigit():
        return int(text)
    if text in _CN_DIGIT:
        return _CN_DIGIT[text]
    m = re.fullmatch(r"([一二三四五六七八九])?十([一二三四五六七八九])?", text)
    if m:
        return _CN_DIGIT.get(m.group(1) or "一") * 10 + _CN_DIGIT.get(m.group(2) or "零")
    return None


def members_missing(query: str, top_texts: list[str]) -> bool:
    """The question asks for the members of a set it names by its count (_SET_ASKED), and the
    passages that name that set list none of it."""
    m = _SET_ASKED.search(query)
    n = m and _count(m.group(1))
    noun = m and m.group(3).strip('“”"的')
    if not n or not noun:
        return False
    head = re.escape(noun[-1])
    named = re.compile(rf"(\d+|{_ZH_NUM}+)\s*{re.escape(m.group(2))}[^，,；;。！？!?]{{0,8}}?{head}")
    seen = False
    for text in top_texts:
        for hit in named.finditer(text):
            if _count(hit.group(1)) != n:
                continue
            seen = True
            clause = re.match(r"[^，,；;。！？!?]*", text[hit.end() :]).group()
            rest = text[hit.end() + len(clause) + 1 :]
            if _LISTED_IN_CLAUSE.search(clause) or _LISTED_AFTER.match(rest):
                return False
    return seen


def value_missing(
    query: str, top_texts: list[str], top_years: list[set] | None = None, near: list[str] | None = None
) -> float:
    """1.0 when the question asks for a value of a recognizable kind (kinds.py: a share, money, an
    age, a head count, a day, a place, a person ...; or how many of what) and none
    of `top_texts` states one. A count or a date must come from a passage about the question's year
    (`top_years`: the 2022 figure does not answer "how many in 2023", the day of the 2023 meeting
    not "when was the 2021 one held"); a passage that names no year may be about any. A place or a
    person must be in `near` where given (each passage's sentences around the question's rarest
    term, NEAR_KINDS)."""
    if members_missing(query, top_texts):
        return 1.0
    asked = set(YEAR.findall(query))
    years = top_years or [set()] * len(top_texts)
    about = [t for t, y in zip(top_texts, years) if not asked or not y or asked & y]
    # "市长是谁" names the office, "位于哪个城市" the kind of place: only a person's name, a city answers
    for kind in kinds.asked(query):
        also = not kind.names_itself(query)
        read = about if kind.name == "day" else near if near is not None and kind.name in NEAR_KINDS else top_texts
        if not any(kind.states(t, also) for t in read):
            return 1.0
    stated = quantity_pattern(query)
    if stated and not any(stated.search(YEAR.sub(" ", t)) for t in about):
        return 1.0
    return 0.0


def _anchored(corpus: _Corpus, anchor: str | None, top: list) -> list:
    """The top paragraph, and the other top paragraphs holding the question's rarest term found
    among them (a value elsewhere answers another question: a name in the next paragraph does not
    say who spoke for this one). The top paragraph is always read: the answer is built from it, and
    it may word that term otherwise (补助 for 补贴, 电动自行车 for 电动车). bench/quality.py, the
    calibration unchanged (2026-12-06): held out, false declines manual .056 -> .028, gov2 .067 ->
    .053, wiki declines .938 -> .963, nothing worse; tune, false declines gov .070 -> .047, gov3
    .122 -> .102, the report 3 -> 2, and one more report unanswerable answered (declines .654 -> .635)."""
    if anchor is None:
        return top
    return [k for n, k in enumerate(top) if not n or anchor in corpus.grams[k]]


def _anchor(corpus: _Corpus, terms: set[str], top: list) -> str | None:
    """The question's rarest term found among the `top` paragraphs."""
    found = [t for t in terms if any(t in corpus.grams[k] for k in top)]
    return max(found, key=lambda t: (corpus.idf(t), t)) if found else None


def _near(index, corpus: _Corpus, anchor: str | None, key) -> str:
    """The sentences of paragraph `key` around those holding `anchor` (NEAR_SENTENCES either side),
    in matching form; the whole paragraph when no sentence holds it."""
    rows = index.sentence_rows.get(key, [])
    hold = [i for i, row in enumerate(rows) if anchor and anchor in corpus.sentence_grams(index, row)]
    if not hold:
        return corpus.texts[key]
    keep = sorted({j for i in hold for j in range(i - NEAR_SENTENCES, i + NEAR_SENTENCES + 1) if 0 <= j < len(rows)})
    return "".join(_sentence_text(index, rows[j]) for j in keep)


# A place or a person asked must be named near where the paragraph speaks of what the question is
# about (the sentences around the one holding its rarest term): a paragraph of government text names
# places and offices throughout, so one named anywhere in it says little ("气候投融资试点包括哪些城市"
# of a paragraph whose only cities are those of another programme). Other kinds
# are read in the whole paragraph: a date or a count at sentence level declined answerable questions
# whose value is two sentences on or written otherwise (保修期…以出厂日期后 3 个月起算 for 从什么时候
# 开始算; gov9, manual, the report's follow-ups). bench/quality.py against 988c155, every corpus, with
# the calibrations unchanged: the report declines one more unanswerable question in tune (气候投融资试点
# 包括哪些城市) and one held out (第二十七次缔约方会议是在哪个国家举行的, .765 -> .824), nothing else
# moved, with and without its synonyms file and own model. Every kind at sentence level: the report
# +3 / -1, but cmrc, gov9 and manual -1 each.
NEAR_SENTENCES = 1
NEAR_KINDS = ("place", "person")


def signals(r, index, top_k: int) -> dict[str, float]:
    """The evidence `decide` weighs, read off a retrieval result (names: FEATURES)."""
    corpus = _corpus(index)
    top = [(h.doc, h.paragraph) for h in r.hits[:top_k]]
    english = is_english(r.query)
    terms = question_terms(index, r.query)
    out = dict.fromkeys(FEATURES, 0.0)
    out["english"] = float(english)
    if not top:
        return out
    cos = np.array([c for _, c in r.dense], dtype=np.float64)
    dense_paras = paragraph_ranking(index, r.dense)
    lexical_paras = paragraph_ranking(index, r.lexical)
    if len(cos):
        out["dense_top"] = float(cos[0])
        first_other = next((c for pid, c in r.dense if _key(index, pid) != dense_paras[0]), cos[-1])
        out["dense_gap"] = float(cos[0] - first_other)
        out["dense_z"] = float((cos[0] - cos.mean()) / (cos.std() or 1.0))
    rows = index.sentence_rows.get(top[0], [])
    if rows:
        out["sentence_top"] = float(np.max(index.sentence_vectors[rows] @ r.query_vector))
    union = set().union(*(corpus.grams[k] for k in top))
    out["cover_top"] = _share(terms, corpus.idf, corpus.grams[top[0]].__contains__)
    out["cover_topk"] = _share(terms, corpus.idf, union.__contains__)
    out["unseen"] = _share(terms, corpus.idf, lambda t: not corpus.df.get(t))
    out["local"] = _local(index, corpus, terms, top)
    query = _normalize(index, r.query)
    words = [] if english else question_words(query)
    if not english:
        out["missing"] = _missing(corpus, words, top)
    out["terms"] = math.log1p(len(terms))
    bm = np.array([v for _, v in r.lexical], dtype=np.float64)
    if len(bm):
        out["lex_z"] = float((bm[0] - bm.mean()) / (bm.std() or 1.0))
    agree = []
    if dense_paras and lexical_paras:
        agree = [dense_paras[0] in lexical_paras[:top_k], lexical_paras[0] in dense_paras[:top_k]]
    out["agree"] = float(np.mean(agree)) if agree else 0.0
    ranks = [1 / (ps.index(top[0]) + 1) if top[0] in ps else 0.0 for ps in (dense_paras, lexical_paras)]
    out["fused_rank"] = float(np.mean(ranks))
    anchor = _anchor(corpus, terms, top)
    anchored = _anchored(corpus, anchor, top)
    texts = [corpus.texts[k] for k in anchored]
    # the years a paragraph is about: its own, its list intro's (Index.paragraph_years) and, when it
    # names one, its document title's (a statistical bulletin's date line says 2027, its title 2026);
    # one that names none may be about any year
    years = [index.paragraph_years.get(k, set()) for k in anchored]
    years = [y | set(YEAR.findall(index.titles.get(k[0], ""))) if y else y for y, k in zip(years, anchored)]
    # the sentences near the anchor, read only for a place or person asked (no sentence work otherwise)
    near_asked = any(k.name in NEAR_KINDS for k in kinds.asked(query))
    near = [_near(index, corpus, anchor, k) for k in anchored] if near_asked else None
    out["value_missing"] = value_missing(query, texts, years, near)
    out["english_dense"] = out["english"] * out["dense_top"]
    out["focus_dense"], out["focus_lex"] = (_focus(index, ranking) for ranking in (r.dense, r.lexical))
    if not english:
        chars = set("".join(words))
        idf = lambda ch: math.log((corpus.n + 1) / (corpus.char_df.get(ch, 0) + 0.5))  # noqa: E731
        out["chars_top"] = _share(chars, idf, corpus.texts[top[0]].__contains__)
        out["chars_topk"] = _share(chars, idf, lambda ch: any(ch in corpus.texts[k] for k in top))
    # A name in the top paragraph's document title is there: a statistical bulletin's paragraphs do
    # not repeat the city its title names.
    title = _normalize(index, index.titles.get(top[0][0], ""))
    if english:
        out["name_missing"] = float(_english_name_missing(index, corpus, r.query, title, top))
    else:
        names = [w for w in question_names(query) if w not in title]
        out["name_missing"] = float(any(all(w not in corpus.texts[k] for k in top) for w in names))
    return out


def _english_name_missing(index, corpus: _Corpus, query: str, title: str, top: list) -> bool:
    """Whether a name an English question gives (Lexicon.english_names) is in none of the `top`
    paragraphs nor the title: neither as written (GDP, COP15) nor as a Chinese word for it."""
    texts = [title, *(corpus.texts[k] for k in top)]
    latin = " ".join(texts).lower()
    for words, chinese in index.lexicon.english_names(query):
        written = any(re.search(rf"(?<![a-z0-9]){re.escape(w.lower())}(?![a-z0-9])", latin) for w in words)
        if not written and not any(form in t for c in chinese for form in _written_forms(index, c) for t in texts):
            return True
    return False


def _written_forms(index, word: str) -> list[str]:
    """How a text may write a dictionary's `word`: as is; its first two characters (厦门市 / 厦门, 克罗地亚 /
    克罗埃西亚); a count in digits (十二月 / 12月)."""
    word = _normalize(index, word)
    out = [word, word[:2]] if len(word) > 2 else [word]
    m = re.match(r"[一二三四五六七八九十]+", word)
    if m and (n := _count(m.group())) is not None:
        out.append(f"{n}{word[m.end() :]}")
    return out


def question_names(text: str) -> list[str]:
    """The names a (normalized) Chinese question gives: words of two or more characters jieba tags
    as a person's, a place's, a body's or another proper noun (its HMM on, for names it does not know)."""
    import jieba.posseg

    from qa.indexing import cedict

    # jieba tags everyday words as names (师傅, 东西, 普通, 上门); CC-CEDICT tells them apart: a word it
    # gives a meaning of its own and never writes as a proper noun is not a name. Words it lacks
    # (苇宁, 王建国, and jieba's 河里, 马路边) still count.
    return [w for w, flag in jieba.posseg.lcut(text) if len(w) > 1 and flag in kinds.NAME_TAGS and not cedict.plain(w)]


def _focus(index, ranking) -> float:
    """Share of the first FOCUS_K passages of `ranking` that belong to the first one's document."""
    docs = [index.passages[pid].doc for pid, _ in ranking[:FOCUS_K]]
    return sum(d == docs[0] for d in docs) / len(docs) if docs else 0.0


def _key(index, pid: int) -> tuple[str, int]:
    p = index.passages[pid]
    return (p.doc, p.paragraph)


def features(s: Mapping[str, float]) -> list[float]:
    """The model's input vector, in FEATURES order."""
    return [float(s[f]) for f in FEATURES]


def feature_names() -> list[str]:
    return list(FEATURES)


# -- the fitted model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """The fitted model of Settings.abstention_file (written by bench/calibrate.py)."""

    features: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    std: np.ndarray
    threshold: float
    probe_quantile: float | None = None  # qa/answering/probes.py; None: the fitted threshold everywhere
    english: bool = True  # fitted on English questions too (a corpus's own model may not be: model_for)
    # The model for wide indexes (`decide`, `wide_weight`), fitted on Chinese questions only; None: one model for all.
    wide: Calibration | None = None
    # A wide model's: the index threshold from which it decides alone (the lowest its corpora had).
    full_at: float | None = None
    # A wide model's: the general model's mean confidence of the absent-thing probes on an index from
    # which it decides alone (the lowest its corpora had; `absent_weight`); None: not read.
    absent_full: float | None = None

    def confidence(self, s: Mapping[str, float]) -> float:
        """Probability-like score in [0, 1] that the top passages answer the question."""
        row = np.asarray([[s[f] for f in self.features]], dtype=np.float64)
        return float(probability(row, self.mean, self.std, self.weights, self.bias)[0])

    def confidences(self, X: np.ndarray, veto: np.ndarray) -> np.ndarray:
        """`confidence` of each row of X (signals in FEATURES order); 0 where `veto` (nothing in common)
        and the model is not sure without words (`without_words`)."""
        cols = [FEATURES.index(f) for f in self.features]
        return without_words(probability(X[:, cols], self.mean, self.std, self.weights, self.bias), veto)


def probability(X: np.ndarray, mean, std, weights, bias: float) -> np.ndarray:
    """The fitted model on rows of signals (the model's own columns): logistic of the standardized
    signals' weighted sum. One formula for deciding, the probes and bench/calibrate.py's fit."""
    z = ((X - mean) / std) @ weights + bias
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


@lru_cache(maxsize=4)
def load_calibration(path: Path) -> Calibration:
    """The calibration at `path`, checked against the signals this code computes."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no abstention calibration there; refit it with: {COMMAND}") from None
    return parse_calibration(text, str(path))


@lru_cache(maxsize=8)
def parse_calibration(text: str, where: str, fix: str = f"refit it with: {COMMAND}") -> Calibration:
    """The calibration in `text` (JSON; `where` names it in messages), checked against the signals this code computes."""
    try:
        m = json.loads(text)
    except ValueError as e:
        raise CalibrationError(f"{where} is not valid JSON ({e}); {fix}") from None
    got = m.get("features") if isinstance(m, dict) else None
    if not isinstance(got, list) or not got or any(f not in FEATURES for f in got):
        unknown = [f for f in got or [] if f not in FEATURES] if isinstance(got, list) else got
        raise CalibrationError(
            f"{where} was fitted for signals the code does not compute ({unknown}; it computes "
            f"{', '.join(FEATURES)}); {fix}"
        )
    try:
        arrays = [np.asarray(m[k], dtype=np.float64) for k in ("weights", "mean", "std")]
        bias, threshold = float(m["bias"]), float(m["threshold"])
        quantile = None if m.get("probe_quantile") is None else float(m["probe_quantile"])
    except (KeyError, TypeError, ValueError) as e:
        raise CalibrationError(f"{where} lacks a usable {e} entry; {fix}") from None
    if quantile is not None and not 0.0 <= quantile <= 1.0:
        raise CalibrationError(f"{where}: probe_quantile {quantile} is not in [0, 1]; {fix}")
    if any(a.shape != (len(got),) for a in arrays) or not np.all(arrays[2] > 0):
        raise CalibrationError(f"{where}: weights, mean and std need {len(got)} values each (std > 0); {fix}")
    wide = None
    if m.get("wide") is not None:
        if quantile is None:
            raise CalibrationError(f"{where}: a wide model needs the probes (probe_quantile) that choose it; {fix}")
        wide = parse_calibration(json.dumps(m["wide"]), f"{where} (its wide model)", fix)
        try:
            full_at = float(m["wide"]["full_at"])
        except (KeyError, TypeError, ValueError):
            raise CalibrationError(f"{where}: its wide model lacks a usable full_at; {fix}") from None
        if not full_at > threshold:
            raise CalibrationError(f"{where}: its wide model's full_at {full_at} is not above the threshold; {fix}")
        absent_full = m["wide"].get("absent_full")
        if absent_full is not None and not (isinstance(absent_full, (int, float)) and 0.0 < absent_full <= 1.0):
            raise CalibrationError(f"{where}: its wide model's absent_full {absent_full!r} is not in (0, 1]; {fix}")
        wide = replace(wide, english=False, full_at=full_at, absent_full=absent_full)
    return Calibration(tuple(got), arrays[0], bias, arrays[1], arrays[2], threshold, quantile, wide=wide)


def nothing_in_common(s: Mapping[str, float]) -> bool:
    """A Chinese question none of whose words is in any of the top paragraphs (今天天气怎么样, asked of a
    work report): whatever the embedding finds close, these paragraphs likely do not say it. Declined
    unless the model is sure of it all the same (`without_words`; the linear model, fitted on
    questions that mostly share words with the text, would otherwise answer 今天天气怎么样 at 0.41 on
    the general threshold alone). Over every corpus's questions, tune and held out, the rule alone
    declined 6 of 69 unanswerable questions of the report, 42 of 400 of CMRC, 6 of 300 of DRCD, 1 of
    16 of gov3, and 5 answerable questions, all gov3's (of its 98, asked in everyday words: 养狗要去
    哪里办证 of a text that says 犬只登记), none elsewhere (bench/calibrate.py's signals, 2026-12-06)."""
    return not s["english"] and s["terms"] > 0 and s["cover_topk"] == 0


# A question that has nothing in common with the top paragraphs is declined unless the model is at
# least this sure of it, on its own (more likely than not, the level below which an answer carries
# the caution by default: Settings.sure_confidence). Asked in everyday words, a question can share
# no word with the text that answers it (狗 / 犬只, 寄到家 / 邮寄, 活到多少岁 / 预期寿命) while the
# model, reading the embedding's closeness, is sure it does. Over every corpus's questions, tune and
# held out, with the model it answers (bench/calibrate.py's fit at 2e770f3): the unanswerable
# questions with nothing in common scored at most .161 (红烧肉怎么做 of gov3's documents; CMRC and
# DRCD at most .068), the answerable ones .045-.900, 8 of 12 above .5 (2026-12-06).
SURE_WITHOUT_WORDS = 0.5


def without_words(confidence, veto):
    """`confidence` (a number or an array), 0 where `veto` (nothing_in_common) unless it reaches
    SURE_WITHOUT_WORDS: the decline of a question sharing no word with the top paragraphs, as
    `decide`, the probes and the fits apply it to each model's confidence."""
    return np.where(np.asarray(veto) & (np.asarray(confidence) < SURE_WITHOUT_WORDS), 0.0, confidence)


def vetoed(X: np.ndarray) -> np.ndarray:
    """`nothing_in_common` of each row of signals (FEATURES order), for the fits."""
    return np.array([nothing_in_common(dict(zip(FEATURES, row))) for row in X], bool)


# A corpus's own model (`qa calibrate`), at the top of its documents' folder and kept in its index.
OWN_FILE = "abstention.json"
OWN_FIX = "fit it again with: qa calibrate QUESTIONS.jsonl --out FOLDER/abstention.json, or remove it"


@lru_cache(maxsize=8)
def own_calibration(text: str, where: str, model: str | None = None) -> Calibration:
    """A corpus's own model from its abstention.json text, checked against this code's signals and,
    given `model`, against the embedding model it was fitted with (its cosines are that model's)."""
    got = parse_calibration(text, where, OWN_FIX)
    about = json.loads(text)
    fitted_with = about.get("model")
    if model is not None and fitted_with not in (None, model):
        raise CalibrationError(f"{where} was fitted with the model {fitted_with}, the index uses {model}; {OWN_FIX}")
    return replace(got, english=bool(about.get("english_questions", 1)))


def model_for(index, settings: Settings, english: bool = False) -> Calibration:
    """The model that decides for `index`: its corpus's own (abstention.json kept at `qa build`) when
    it has a usable one, else the general one (Settings.abstention_file). An own model that no longer
    fits (fitted with another embedding model, or for signals this code dropped) is passed over with
    a warning, once per index version; so is one fitted on no English question, for an `english`
    one (cross-lingual cosines sit lower: such a model declined every English question about CMRC
    and DRCD articles)."""
    text = getattr(index, "corpus_files", {}).get(OWN_FILE)
    if text:
        try:
            own = own_calibration(text, f"the index's {OWN_FILE}", index.manifest.get("model"))
            if own.english or not english:
                return own
        except CalibrationError as e:
            _warn_once(index.version, f"{e}; deciding with the general model")
    return load_calibration(Path(settings.abstention_file))


@lru_cache(maxsize=32)
def _warn_once(version: str, message: str) -> None:
    import logging

    logging.getLogger(__name__).warning(message)


def index_threshold(index, retriever, settings: Settings) -> float:
    """This index's threshold: its own model's (`model_for`), else the fitted one, raised to the
    probe questions' quantile when they score higher here (qa/answering/probes.py). Asks every
    probe unless a previous process kept the result in Settings.cache_dir."""
    from qa.answering import probes

    model = model_for(index, settings)
    if model.probe_quantile is None:
        return model.threshold

    def compute() -> float:
        return probes.threshold_of(model, probes.signals(retriever, index, settings.abstain_top_k))

    return probes.remembered(index.version, Path(settings.abstention_file), settings.cache_dir, compute)


def wide_weight(model: Calibration, threshold: float | None) -> float:
    """How much the wide model decides for an index whose threshold is `threshold` (`index_threshold`):
    0 when its probe questions leave the fitted threshold (a narrow index: the 80th percentile of
    their confidences, the quantile at the fit (the 75th since 2026-12-07), .01-.09 on the report,
    plans, regulations, a manual and news, against a fitted .13), rising linearly to 1 where they
    raise it as far as on the encyclopedia corpora the wide model was fitted on (`full_at`, ~.25 on CMRC and DRCD). A ramp, not a switch: the
    statistic grows with an index's size and spread, and 27 plans, notices, news stories and a
    manual indexed together already reach .115; there the wide model alone would double the false
    declines (docs/retrieval.md)."""
    wide = model.wide
    if wide is None or threshold is None or threshold <= model.threshold:
        return 0.0
    return min(1.0, (threshold - model.threshold) / (wide.full_at - model.threshold))


# Where the absent-thing probes start giving an index the wide model: at this share of their level on
# the wide model's corpora (Calibration.absent_full). Asked about people, places and works it lacks,
# an index of articles about such things (an encyclopedia) answers with passages that match a little
# and looks sure of them; a plan, a notice, a manual or a report has nothing to match them with. The
# general model's mean confidence of those 50 probes (2026-12-07): CMRC .114, DRCD .078 (absent_full),
# drcd2 .070, wiki .113, wiki2 .107; every narrow corpus .004-.037 (gov7, a statistical bulletin, the
# highest), and the 57 government documents, news and a manual of tests/test_wide_share.py together
# .040 (a share of .02 from here, under the .152 its threshold gives it). The level grows with the
# number of articles: 12 of wiki's articles alone .051, 8 of wiki2's .036 (none). Half of the wide
# corpora's lowest: a rule, not a fit. wiki2's 24 articles, whose probes leave its threshold where it
# was (`wide_weight` alone gave it no share), get all of the wide model this way.
ABSENT_FROM = 0.5


def absent_weight(full: float, level: float) -> float:
    """The wide model's share for an index whose absent-thing probes (probes.absent_rows) score a mean
    `level` under the general model: 0 up to ABSENT_FROM x `full` (Calibration.absent_full), rising
    linearly to 1 at `full`. probes.raised turns it into the index threshold `wide_weight` reads."""
    start = ABSENT_FROM * full
    return float(min(1.0, max(0.0, (level - start) / (full - start))))


def mixed(model: Calibration, weight: float, confidence, cut):
    """The confidence and the cut with the wide model's share `weight` (`wide_weight`) mixed in:
    `confidence` is (the general model's, the wide one's), `cut` the index threshold. Numbers or
    arrays alike (decide, bench/calibrate.py, bench/own.py)."""
    general, wide = confidence
    if np.ndim(weight) == 0 and not weight:
        return general, cut
    return (1 - weight) * general + weight * wide, (1 - weight) * cut + weight * model.wide.threshold


def which(index, settings: Settings, threshold: float | None) -> str:
    """Which model decides for `index` (Chinese questions) at its `threshold`: "own" (its corpus's
    abstention.json), "wide" (the general model with its wide one mixed in, `wide_weight`) or "general"."""
    model = model_for(index, settings)
    if model is not load_calibration(Path(settings.abstention_file)):
        return "own"
    return "wide" if wide_weight(model, threshold) else "general"


def decide(r, index, settings: Settings, threshold: float | None = None) -> Decision:
    """Decide whether the retrieval result `r` answers its question: not when it has nothing in
    common with the top paragraphs, else by the fitted model and the index's `threshold`
    (`index_threshold`; the fitted one when None). On a wide index the general model's wide one
    takes its share (`wide_weight`) of the Chinese questions' confidence and cut."""
    english = is_english(r.query)
    model = model_for(index, settings, english)
    if model is not model_for(index, settings):  # an English question the corpus's own model never saw
        threshold = None
    weight = 0.0 if english else wide_weight(model, threshold)
    s = signals(r, index, settings.abstain_top_k)
    cut = model.threshold if threshold is None else threshold
    conf = 0.0
    if r.hits:
        veto = nothing_in_common(s)
        general = float(without_words(model.confidence(s), veto))
        wide = weight and float(without_words(model.wide.confidence(s), veto))
        conf, cut = mixed(model, weight, (general, wide), cut)
    return Decision(bool(r.hits) and conf >= cut, conf, MappingProxyType(s))
