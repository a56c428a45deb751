"""Whether the documents answer a question: a small logistic model over a few retrieval signals.

No single score separates answerable from unanswerable questions (a dense cosine alone reached
~0.75 balanced accuracy). The questions the report does not answer are mostly near-topic ones
that ask for a detail it never gives (酒店, 年龄, 成交额, 预算, 名字); so the main signals are
about the question's *words* (jieba segmentation of the lexicon-normalized question):

- ``missing``: share of its content words found in none of the top paragraphs (a word the
  corpus never uses counts fully, one used elsewhere in the corpus counts half);
- ``focus_missing``: the word next to the question word (哪个[酒店], 多大[年龄], [预算]是多少)
  is among the missing ones;
- ``number_missing``: a number or year the corpus never mentions (2024 in a report on 2023);
- ``value_missing``: the question asks for a value of a recognizable form (how many X, a share,
  money, an age, a head count, a day, the names of a set) and no top paragraph states one: "多少
  个省" needs "N个省", "比例是多少" a percentage, "25个城市具体是哪些" more than "新增25个城市";
  a count must come from a paragraph about the question's year (own or list intro's years);
- ``sentence_top``: best cosine between the question and a sentence of the top paragraph.

``focus_missing`` (the word the question asks about is missing) is computed and shown in
``signals`` but not used: dev 5-fold CV was better without it once ``value_missing`` existed
(declined 0.719 vs 0.704 at wrongly declined 0.037 vs 0.046). Answer-kind words (态度, 措施,
职务, 成果 ...) are not content: a passage answers "什么态度" without the word 态度.

English questions get their own weights: the dense cosines and ``missing`` = share of their
content words the English glossary cannot translate. Weights and threshold live in
qa/data/abstention.json, fitted on eval/dev.jsonl by `python bench/calibrate.py`, which also
prints 5-fold cross-validated rates on dev and the rates on the held-out test set.
The limit (measured): questions in words the documents never use and the lexicon or glossary
does not map (English "grassroots research", a standard word a spun document replaced) look
exactly like unanswerable ones; and a reason, a portfolio or a speech's content the report
doesn't give is not a value of a recognizable form (docs/retrieval.md lists what is left).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import jieba
import numpy as np

from qa.answering import kinds as answer_types
from qa.answering.kinds import DIGITS, MEASURE_WORDS, NUMBER
from qa.config import Settings
from qa.errors import CalibrationError
from qa.indexing.lexical import tokens
from qa.indexing.synonyms import Lexicon
from qa.text import CJK as _CJK
from qa.text import YEAR

jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO; the CLI output stays clean

# The command that fits qa/data/abstention.json (Settings.abstention_file).
COMMAND = "python bench/calibrate.py"
ZH_FEATURES = ("missing", "number_missing", "value_missing", "sentence_top")
EN_FEATURES = ("dense_top", "sentence_top", "missing", "value_missing")
# A missing word the corpus uses elsewhere is weaker evidence (the answer may be ranked lower)
# than one it never uses. 0.5 beat 1.0 (every missing word alike) in 5-fold CV on dev.
ELSEWHERE_WEIGHT = 0.5

# Words that ask rather than say: they carry no content to look for in the documents.
_ASKING = re.compile(
    r"什么时候|什么|哪个|哪些|哪里|哪儿|哪一|哪年|哪位|哪家|多少|多大|多长|几个|几项|几台|几颗|几座|几次|几|"
    r"怎么样|怎么|怎样|如何|为什么|为何|是否|是不是|有没有|请问|谁|吗|呢|吧|啊|啥|咋|干|做了|有|是|的|了|在|和|与|对|都|要|会|还|就|也|这|那|个|次|么"
)
# Question-frame words: they shape the question but name nothing to find (read off question
# phrasing in general, not off the documents): a missing 情况 or 进展 says nothing.
_FRAME = set(
    "时候 这次 今年 去年 情况 具体 分别 主要 包括 方面 进展 一共 已经 应当 应该 怎么回事 咋样 一个 之一 这些"
    " 其中 目前 现在 当前 哪几个 还有 除了 这方面 他 她 它 他们 是从 共 被 做 得 说 第几个 哪一年 哪次 什么样".split()
) | set(
    # Answer-kind words: they name the kind of answer wanted (an attitude, a change, a measure, a
    # title), which a passage gives without using the word ("什么态度" is answered by 从严把关).
    # Chosen as a class of question phrasing, not off the report; a missing one is no evidence.
    "态度 地位 作用 意义 变化 要求 打算 安排 计划 处理 措施 举措 办法 做法 议程 职务 职位 身份 形势"
    " 原因 根本原因 目标 成果 成效 效果 特点 评价 影响 经验 思路 方向 体现 表现 内容 具体内容"
    # and the verbs that go with them (取得什么成果, 采取哪些措施, 担任什么职务)
    " 取得 采取 担任".split()
)
_QUESTION_WORD = re.compile(r"什么|哪|多少|几|谁|如何|多大|多长")
_HAS_WORD = re.compile(r"[\u3400-\u9fff0-9a-z]")
_EN_WORD = re.compile(r"[a-z0-9]+")
# English function and question words: not content to translate.
_EN_STOP = set(
    "what which who whom whose when where why how is are was were be been the a an of in on at to for by"
    " with and or did do does has have had that this these those its it their there made make many much"
    " from as about into over under were will would can could should may also than then not any some all"
    " each other such out up one two three first second third been being"
    # question-frame words, the English side of _FRAME: they ask, they name nothing to find
    " say said says saying doing done carrying carried call called calls change changed changes past main"
    " s mention mentioned regarding".split()
)


_CORPUS: list = [None, None]  # [index, its prepared text]: the last index seen (Index is unhashable)


def _corpus(index) -> tuple[dict, dict, str]:
    """Normalized text and token set of every paragraph, and the whole corpus; once per index."""
    if _CORPUS[0] is not index:
        texts = {k: index.lexicon.normalize(v).lower() for k, v in index.paragraphs.items()}
        toks = {k: set(tokens(v)) for k, v in texts.items()}
        _CORPUS[:] = [index, (texts, toks, "\n".join(texts.values()))]
    return _CORPUS[1]


def _words(query: str) -> list[str]:
    return [w for w in jieba.lcut(query.lower(), HMM=False) if _HAS_WORD.search(w)]


def content_words(query: str) -> list[str]:
    """Words of the question that name something: no asking, frame or single-character words (numbers kept)."""
    return [w for w in _words(query) if w not in _FRAME and not _ASKING.fullmatch(w) and (len(w) > 1 or w.isdigit())]


def focus_word(query: str) -> str | None:
    """The word the question asks about: right after the first question word, else just before it."""
    ws = _words(query)
    for i, w in enumerate(ws):
        if _QUESTION_WORD.search(w) and w != "为什么":
            if ws[i + 1 : i + 2] and ws[i + 1] in _FRAME:
                return None  # 什么态度, 哪些措施: the question names the kind of answer, no thing to look for
            # The next word, over a measure word or particle (多少[个]隐患, 什么[的]名字).
            after = [x for x in ws[i + 1 : i + 3] if x not in _FRAME and len(x) > 1][:1]
            after = after if ws[i + 1 : i + 2] and (len(ws[i + 1]) == 1 or after[:1] == ws[i + 1 : i + 2]) else []
            before = [x for x in ws[max(0, i - 3) : i] if x not in _FRAME and len(x) > 1 and not _ASKING.fullmatch(x)]
            return (after or before[-1:] or [None])[0]
    return None


def _found(word: str, text: str, toks: set) -> bool:
    """`word` occurs in a paragraph, or (3+ characters) all its bigrams do."""
    if word in text:
        return True
    return len(word) >= 3 and all(word[i : i + 2] in toks for i in range(len(word) - 1))


def missing_words(words: list[str], top: list, texts: dict, toks: dict, corpus: str) -> list[str]:
    """Content words found in none of the `top` paragraphs; numbers only count if the corpus never has them."""
    return [
        w for w in words if (w not in corpus if w.isdigit() else not any(_found(w, texts[k], toks[k]) for k in top))
    ]


# "How many X": 多少/几, an optional measure word, then what is counted (not 第几, an ordinal,
# not 哪几, which ones, and not 几年/几月, a time). A passage answers it with a number before that measure word or noun.
_HOW_MANY = re.compile(
    rf"(?<![第哪这那])(?:多少|几)(?![年月天日号时])(千伏|周年|[{MEASURE_WORDS}人轮吨万亿])?([\u4e00-\u9fff]{{0,2}})"
)
# "X 是多少" / "X 下降了多少": the counted thing comes before the question word.
_HOW_MUCH_AFTER = re.compile(r"([\u4e00-\u9fff]{2})(?:了|是|有|为|共|一共|具体|大约|总共)*(?:多少|几)(?:[？?。!！]|$)")
# How far apart a number and the thing it counts may be (2.1亿吨粗钢: 亿吨 between).
NUMBER_SPAN = 4
# ... and a measure word and the noun it counts (三颗[生态环境]卫星).
UNIT_SPAN = 6
# ... and a noun and its count written after it (候鸟[]217种, 城市[达到]25个).
NOUN_TO_COUNT = 8


def _quantity_pattern(query: str) -> re.Pattern | None:
    """What a passage must contain to say how many (None: the question doesn't ask how many)."""
    after = _HOW_MUCH_AFTER.search(query)
    if after and not _HOW_MANY.search(query[: after.start(0) + 2]):
        word = re.escape(after.group(1))
        return re.compile(rf"{word}[^。；]{{0,8}}?\d|{NUMBER}[^。；]{{0,{NUMBER_SPAN}}}{word}")
    m = _HOW_MANY.search(query)
    if not m:
        return None
    # what is counted: its first two characters (多少个[行动]目标 is not 1.6万个[行政]村)
    unit, noun = m.group(1) or "", m.group(2).lstrip("的了被是在有和与")[:2]
    if not noun:  # a bare unit (有多少个?) -> any "N个"
        return re.compile(rf"{NUMBER}{re.escape(unit)}") if unit else None
    noun, unit = re.escape(noun), re.escape(unit)
    # The count before the noun (25个城市, 2.1亿吨粗钢) or after it (候鸟217种, 城市达到25个).
    before = rf"{NUMBER}{unit}[^。；，,\d]{{0,{UNIT_SPAN if unit else NUMBER_SPAN}}}{noun}"
    after = rf"{noun}[^。；]{{0,{NOUN_TO_COUNT}}}?{DIGITS}{unit}"
    return re.compile(f"{before}|{after}")


# "具体是哪些 / 包括哪些 X / 分别叫什么": the question wants the members named.
_WHICH = re.compile(r"哪些|哪个|哪几|具体是|分别|包括哪|叫什么|名单|名称|名字")
# A number and a measure word (and up to 2 characters) right before a word: it is counted there.
_COUNTED = NUMBER + rf"[{MEASURE_WORDS}][^。；，,、\d]{{0,2}}$"


# A count the question quotes ("这25个城市具体是哪些"), and how a passage names the members it
# counts: "北京、天津等25个城市" before, "25个城市（…）" / "：…" / "，包括…" after.
_QUOTED_COUNT = re.compile(DIGITS + rf"\s*[{MEASURE_WORDS}]")
_NAMED_BEFORE = re.compile(r"[、，,][^。；]{0,16}等$")
_NAMED_AFTER = re.compile(r"[^。；，,]{0,8}?(?:[（(：:]|[,，]\s*(?:包括|即|分别|主要有))")


def counted_only(query: str, top_texts: list[str]) -> bool:
    """The question asks which X, and the top passages only count X ("新增25个城市"), never name them."""
    q = query
    if not _WHICH.search(q):
        return False
    quoted = _QUOTED_COUNT.search(q)
    if quoted:  # where the passages give that very count, are the members named next to it?
        at = [(t[: m.start()], t[m.end() :]) for t in top_texts for m in re.finditer(re.escape(quoted.group(0)), t)]
        if at:
            return not any(_NAMED_BEFORE.search(b[-24:]) or _NAMED_AFTER.match(a) for b, a in at)
    focus = focus_word(query)
    if not focus or len(focus) < 2:
        return False
    seen = [t[: m.start()] for t in top_texts for m in re.finditer(re.escape(focus), t)]
    return bool(seen) and all(re.search(_COUNTED, before[-12:]) for before in seen)


def value_missing(
    query: str, top_texts: list[str], top_years: list[set] | None = None, anchored: list[str] | None = None
) -> float:
    """1.0 when the question asks for a value (how many, a share, money, an age, a day, the members
    of a counted set) none of `top_texts` states. A count must come from a passage about the
    question's year (the 2022 figure does not answer "how many in 2023"); a value of a kind (a
    person, a place, a day ...) from one of `anchored`, the passages about the question's most
    specific word (a name in paragraph 24 does not say who spoke for 浙江省 in paragraph 23)."""
    q = query
    wanted = [(kind.stated, anchored or top_texts) for kind in answer_types.asked(q)]
    quantity = _quantity_pattern(q)
    if quantity:
        asked = set(YEAR.findall(q))
        years = top_years or [set()] * len(top_texts)
        wanted.append((quantity, [t for t, y in zip(top_texts, years) if not asked or not y or asked & y]))
    missing = any(not any(p.search(t) for t in texts) for p, texts in wanted)
    return float(missing or counted_only(query, top_texts))


def english_missing(query: str, lexicon: Lexicon) -> float:
    """Share of an English question's content words that no glossary phrase of the corpus covers."""
    words = [w for w in _EN_WORD.findall(query.lower()) if w not in _EN_STOP and not w.isdigit()]
    pattern = lexicon.glossary_pattern
    found = pattern.finditer(query) if pattern else ()
    covered = {w for m in found for w in _EN_WORD.findall(m.group(0).lower())}
    return sum(w not in covered for w in words) / len(words) if words else 0.0


def _anchored(words: list[str], top: list, texts: dict, toks: dict) -> list:
    """The top paragraphs that hold the question's most specific word: the content word found in
    the fewest of them (but at least one), the longer on a tie. All of `top` when none is found."""
    found = {w: [k for k in top if _found(w, texts[k], toks[k])] for w in words if not w.isdigit()}
    found = {w: ks for w, ks in found.items() if ks}
    if not found:
        return top
    anchor = min(found, key=lambda w: (len(found[w]), -len(w)))
    return found[anchor]


def signals(r, index, top_k: int) -> dict:
    """Evidence that the documents answer the question, read off a retrieval result."""
    query, hits = r.query, r.hits
    texts, toks, corpus = _corpus(index)
    raw, query = query, index.lexicon.normalize(query)  # the words are matched in the index's matching form
    years = index.paragraph_years
    top = [(h.doc, h.paragraph) for h in hits[:top_k]]
    english = not _CJK.search(query)
    anchored = None
    if not english:
        words = content_words(query)
        anchored = [texts[k] for k in _anchored(words, top, texts, toks)]
    out = {
        "english": float(english),
        "missing": 0.0,
        "focus_missing": 0.0,
        "number_missing": 0.0,
        "value_missing": value_missing(query, [texts[k] for k in top], [years[k] for k in top], anchored),
    }
    if english:
        out["missing"] = english_missing(raw, index.lexicon)
    else:
        miss = missing_words(words, top, texts, toks, corpus)
        if words:
            out["missing"] = sum(1.0 if w not in corpus else ELSEWHERE_WEIGHT for w in miss) / len(words)
        out["focus_missing"] = float(focus_word(query) in miss)
        out["number_missing"] = float(any(w.isdigit() for w in miss))
    sent_top = 0.0
    if hits:
        rows = index.sentence_rows.get(top[0], [])
        if rows:
            sent_top = float(np.max(index.sentence_vectors[rows] @ r.query_vector))
    out["sentence_top"] = sent_top
    out["dense_top"] = float(r.dense[0][1]) if r.dense else 0.0
    return out


def features(signals: dict) -> list[float]:
    """Feature vector: Chinese signals (zero for English), English signals (zero for Chinese), the language."""
    en = signals.get("english", 0.0)
    return [signals[f] * (1 - en) for f in ZH_FEATURES] + [signals[f] * en for f in EN_FEATURES] + [en]


def feature_names() -> list[str]:
    return [f"{f}:zh" for f in ZH_FEATURES] + [f"{f}:en" for f in EN_FEATURES] + ["english"]


@dataclass(frozen=True)
class Decision:
    """Whether the retrieved paragraphs answer the question, how sure the model is, and why."""

    found: bool
    confidence: float  # the calibrated model's probability-like score in [0, 1]
    signals: Mapping[str, float]


@dataclass(frozen=True)
class Calibration:
    """The fitted model of qa/data/abstention.json (written by bench/calibrate.py)."""

    features: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    std: np.ndarray
    threshold: float
    command: str

    def confidence(self, signals: Mapping[str, float]) -> float:
        """Probability-like score in [0, 1] that the top passages answer the question."""
        z = self.bias + float(((np.asarray(features(signals)) - self.mean) / self.std) @ self.weights)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@lru_cache(maxsize=4)
def load_calibration(path: Path) -> Calibration:
    """The calibration at `path`, checked against the features this code computes."""
    fix = f"refit it with: {COMMAND}"
    try:
        m = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no abstention calibration there; {fix}") from None
    except ValueError as e:
        raise CalibrationError(f"{path} is not valid JSON ({e}); {fix}") from None
    names = feature_names()
    if not isinstance(m, dict) or m.get("features") != names:
        got = m.get("features") if isinstance(m, dict) else None
        raise CalibrationError(f"{path} was fitted for the features {got}, but the code computes {names}; {fix}")
    try:
        arrays = [np.asarray(m[k], dtype=np.float64) for k in ("weights", "mean", "std")]
        bias, threshold = float(m["bias"]), float(m["threshold"])
    except (KeyError, TypeError, ValueError) as e:
        raise CalibrationError(f"{path} lacks a usable {e} entry; {fix}") from None
    if any(a.shape != (len(names),) for a in arrays):
        raise CalibrationError(f"{path}: weights, mean and std need {len(names)} values each; {fix}")
    return Calibration(tuple(names), arrays[0], bias, arrays[1], arrays[2], threshold, m.get("command", COMMAND))


def decide(r, index, settings: Settings) -> Decision:
    """Decide whether the retrieval result `r` answers its question (declined below the fitted threshold)."""
    model = load_calibration(Path(settings.abstention_file))
    s = signals(r, index, settings.abstain_top_k)
    conf = model.confidence(s) if r.hits else 0.0
    return Decision(bool(r.hits) and conf >= model.threshold, conf, MappingProxyType(s))


def warm_up() -> None:
    """Load the segmenter's dictionary now (~1.5 s) rather than on the first question."""
    jieba.initialize()
