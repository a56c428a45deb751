"""Pure function: retrieval result -> extractive answer whose every sentence carries a [n] citation."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from qa.answering.kinds import Kind, preferred, simplified
from qa.indexing.chunking import is_item
from qa.indexing.lexical import tokens
from qa.indexing.store import Index
from qa.indexing.synonyms import Lexicon
from qa.search.retriever import Retrieval, asks_for_list, ordinal_hint
from qa.text import is_english
from qa.types import Answer, Citation, Hit

NOT_FOUND = "文档中没有找到这个问题的答案。下面列出最接近的段落，仅供参考，并不是答案。"
NOT_FOUND_EN = "The documents do not answer this question. The nearest passages are listed below for reference; they are not an answer."
# Shown beside an answer given with low confidence (Answer.unsure).
CAUTION = "把握不大：文档可能没有直接回答这个问题，下面是最接近的原文，请核对出处。"
CAUTION_EN = (
    "Low confidence: the documents may not answer this directly. Below is what comes closest; check the sources."
)

# Sentence choice. Each candidate sentence of the top paragraphs (and each pair of neighbours:
# a sentence whose fact continues in the next, a clause whose subject sits in the one before)
# scores cosine(question, sentence) + LEXICAL_BONUS x the rarity-weighted share of the question's
# terms it holds + KIND_BONUS if it states a value of the asked kind + a small rank prior.
# Figures: answer holds the asked fact / the first sentence holds it / sentences per answer,
# macro-averaged over the tune parts of six corpora (report dev, gov, manual, news, cmrc, drcd),
# the answer composed whatever abstention decides, on the same retrievals (a throwaway harness
# caching them; bench/quality.py measures the whole pipeline). The compose this replaced: 0.799 /
# 0.676 / 1.88; as set below: 0.836 / 0.748 / 1.59. Each sweep changes one constant from there.
LEXICAL_BONUS = 0.2  # 0.15, 0.2, 0.3, 0.45: holds 0.833, 0.836, 0.828, 0.814
# Per rank step above the last paragraph: 0.02, 0.04, 0.08: holds 0.841, 0.836, 0.832 at 1.68,
# 1.59, 1.54 sentences (0.02 buys its holds with longer answers).
RANK_BONUS = 0.04
# Further sentences must score within this of the best: 0.04, 0.06, 0.08: holds 0.822, 0.836,
# 0.843 at 1.45, 1.59, 1.75 sentences.
KEEP_WITHIN = 0.06
KIND_BONUS = 0.1  # 0, 0.05, 0.1, 0.2: holds 0.829, 0.834, 0.836, 0.833
# What two neighbours pay over one sentence (they hold more terms, so they would always win):
# 0.05, 0.08, 0.12: holds 0.832, 0.836, 0.831; never a pair: 0.825.
PAIR_COST = 0.08
# A sentence carries its document's title words: a Wikipedia article's later sentences say "本鱼"
# for the name its first sentence spells out, which then won every question about the fish.
# Without: holds 0.813, first 0.705.
TITLE_TERMS = True
# Two neighbours that read as one statement pay less: the second points back (他/其/此/这…:
# "其定位为基隆港的辅助港" names its subject in the clause before), or the first is only a
# clause (ends in ；/：/，). 0.02, 0.04, 0.08 (= PAIR_COST): holds 0.836, 0.836, 0.831; first
# 0.735, 0.748, 0.751.
LINKED_PAIR_COST = 0.04
# A sentence opening with a connective of consequence (因此, 所以, 于是 …) points back as a pronoun
# does: what it follows from, often the asked reason, is the sentence before ("…维生素C含量是单个
# 橙子的三倍。因此它有时也被称为笨蛋水果。" for 为什么称猴面包树为笨蛋水果). Joined on 2026-12-07, the
# sweep harness above on the tune parts of 13 corpora and the held-out parts of 20: answers holding
# the fact +1 / -0 each (drcd tune, drcd2 held out), nothing else moved.
_POINTS_BACK = re.compile(
    r"^\s*(?:他|她|它|其|此|这|這|该|該|上述|前者|后者|後者|该[^\W\d]|本[^\W\d]?"
    r"|因此|因而|所以|于是|於是|从而|從而|由此|故而|故此|可见|可見)"
)
_CLAUSE_END = re.compile(r"[；;：:，,]\s*$")
# A question in the text (a FAQ's 问：…？) or a heading restates what is asked; the answer is
# what follows it. 0, 0.3, 1: holds 0.805, 0.836, 0.836.
RESTATES_PENALTY = 0.3
_RESTATES = re.compile(r"[？?][”’」』）)\"']*\s*$|^\s*#")
# A short line that states a value of the asked kind is a table's row, not a heading: a contact
# list's "澄东区招生办 0748-8231547" answers 电话是多少 (the penalty had it lose to a sentence of another
# paragraph that held some other number). A question or a Markdown heading still restates.
# bench/quality.py sweep of the tune parts of thirteen corpora (answers holding the fact): +3 / -0
# (gov8, gov9 twice: three phone numbers, one asked in English), nothing else moved.
# A sentence most of whose words are the question's echoes it ("東羅馬建築為磚石結構，局部地方加以
# 混凝土。" for 東羅馬建築為磚石結構，局部地方加以混凝土。以及採用什麼風格的建築形式?): it scores
# high, but what is asked often follows in the next sentence. A run of the echo and the sentence
# after it scores as the echo alone (not less by PAIR_COST) and is taken in its place (a tie puts
# the run first). Share of the sentence's terms found in the question, swept on the tune parts of
# nine corpora (the harness above; answers holding the fact, of 1310 / macro over the corpora /
# sentences per answer; the report's fact-first stays 0.886 throughout): off 1153 / 0.8156 / 1.79;
# 0.5 1155 / 0.8161 / 1.83; 0.45 1158 / 0.8168 / 1.84; 0.4 1160 / 0.8176 / 1.85; 0.35 1164 /
# 0.8191 / 1.88; 0.3 1165 / 0.8195 / 1.90; 0.25 1165 / 0.8195 / 1.94. Runs of the echo and the
# sentence before it too (the answer then opens with that sentence): 1165 / 0.8190 / 1.90 at 0.35,
# but the report's fact-first fell to 0.812. No pair cost instead of the echo's score (the run
# then outranks the echo and crowds out a third sentence): 1163 at 0.4.
# An echo that points back (_POINTS_BACK: "其喜劇結構嚴謹…" for 誰的喜劇結構嚴謹…?) leaves its subject,
# often what is asked, in the sentence before: that run scores as the echo alone too (doing so for
# every echo is the sweep above that lost the report's fact-first). bench/quality.py at c2332d9,
# every corpus: answers holding the fact +4 / -1 (drcd tune +3 / -1, cmrc held out +1), nothing
# else moved.
ECHO_SHARE = 0.35
# A title or heading is a short line that ends no sentence (a news headline, "（一）指导思想");
# it names the topic, the answer is in the text under it. Up to 20, 40, 60, any length: holds
# 0.824, 0.836, 0.836, 0.826 (news 0.744 -> 0.791, gov 0.837 -> 0.860 at 40).
HEADING_CHARS = 40
_ENDS = re.compile(r"[。！？!?；;.…][”’」』）)\"']*\s*$")
# A follow-up's query is its own words plus the earlier question; terms only the earlier
# question brings are context, not what is asked now ("那书面交流的呢？" after a question on
# 交流发言 must lead with 书面交流). Swept 1, 0.5, 0.25, 0.1: fact-first 0.859, 0.881, 0.889, 0.889.
INHERITED_WEIGHT = 0.25
# A question naming a list item by its ordinal (第六项, the sixth task) is answered by the item's
# lead sentence (六是…); its words alone lose to incidental matches (第二 in 第二个履约周期).
# Only an ordinal with an item word counts: 第三方, 第三轮 and "second phase" are no list items
# (a bare ordinal moved "second phase of COP15" to 二是…). Swept 0, 0.05, 0.3, 1: no change at
# 7767a29 (dropping announcements already fixes 第六项呢); with the working tree's retrieval and
# grown dev set, 0 -> 0.05..1 fixed "那第二项呢？" (+1).
ITEM_BONUS = 0.3
_ITEM_REF = re.compile(
    r"第[一二三四五六七八九十]{1,2}(?:项|条|点|个方面|方面)|\b\w+ (?:task|item|point|priority|area|one)s?\b", re.I
)
# A sentence that only announces a list ("会议确认,2023年要抓好以下要点使命。") restates an
# enumeration question; the items answer it. List answers start with the items instead, and
# other answers do not cite it: fact-first 0.859 -> 0.889.
_ANNOUNCES = re.compile(r"(?:以下|如下|下列|下面)[\u4e00-\u9fff]{0,8}[。：:]?\s*$|[：:]\s*$")


@dataclass(frozen=True)
class _Asked:
    """What a question asks for, as sentence scoring uses it."""

    vector: np.ndarray
    terms: dict[str, float]  # query term -> weight in the lexical overlap
    kinds: tuple[Kind, ...]  # the kinds of value an answer sentence should state
    items: tuple[str, ...]  # list-item markers it names by ordinal ("六是")
    lexicon: Lexicon  # the index's: sentences are matched in its matching form

    @classmethod
    def of(cls, r: Retrieval, lexicon: Lexicon) -> _Asked:
        own = _terms(r.question, lexicon)
        terms = {t: 1.0 if t in own else INHERITED_WEIGHT for t in _terms(r.query, lexicon)}
        items = tuple(h for m in _ITEM_REF.finditer(simplified(r.query)) for h in ordinal_hint(m.group()).split())
        return cls(r.query_vector, terms, tuple(preferred(r.query)), items, lexicon)


@dataclass(frozen=True)
class _Sentence:
    row: int
    rank: int  # of its paragraph among the hits
    text: str
    terms: frozenset[str]


def _terms(text: str, lexicon: Lexicon) -> set[str]:
    """The terms BM25 sees for `text`: its words, a list-item ordinal as 六是, the dictionary's Chinese for English."""
    extra = ordinal_hint(text)
    if is_english(text):
        extra = f"{extra} {lexicon.english_terms(text)}"
    return _words(f"{text} {extra}", lexicon)


def _words(text: str, lexicon: Lexicon) -> set[str]:
    """Bigrams and Latin words of `text` in the index's matching form (single characters say little)."""
    return {t for t in tokens(lexicon.normalize(text)) if len(t) > 1 or t.isascii()}


def _score_windows(
    asked: _Asked, sentences: list[_Sentence], index: Index, top_k: int, longest: int
) -> list[tuple[float, tuple[int, ...]]]:
    """(score, rows) for every sentence and every run of neighbours up to `longest` in one paragraph, best first."""
    if not sentences:
        return []
    cos = index.sentence_vectors[[s.row for s in sentences]] @ asked.vector
    # Rarity among the candidates: a term in every sentence (the article's name) tells none apart.
    df: dict[str, int] = {}
    for s in sentences:
        for t in s.terms & asked.terms.keys():
            df[t] = df.get(t, 0) + 1
    weight = {t: asked.terms[t] * math.log(1 + len(sentences) / n) for t, n in df.items()}
    total = sum(weight.values()) or 1.0
    matched = [s.terms & weight.keys() for s in sentences]
    states = [[k.states(s.text) for k in asked.kinds] for s in sentences]
    echoes = {s.row for s in sentences if _echoes(s.text, asked)}
    out = []
    for i, s in enumerate(sentences):
        for n in range(1, longest + 1):
            run = sentences[i : i + n]
            if len(run) < n or run[-1].row - s.row != n - 1 or any(x.rank != s.rank for x in run):
                break  # neighbours only within one paragraph
            held = frozenset().union(*matched[i : i + n])
            score = float(max(cos[i : i + n])) + LEXICAL_BONUS * sum(weight[t] for t in held) / total
            stated = [any(st[j] for st in states[i : i + n]) for j in range(len(asked.kinds))]
            if stated:
                score += KIND_BONUS * sum(stated) / len(stated)
            score += RANK_BONUS * (top_k - 1 - s.rank) - sum(_pair_cost(a.text, b.text) for a, b in zip(run, run[1:]))
            table_row = any(stated) and not any(_asks(x.text) for x in run)  # not a heading
            if not table_row and all(_restates(x.text) for x in run):
                score -= RESTATES_PENALTY
            if asked.items and s.text.lstrip().startswith(asked.items):
                score += ITEM_BONUS
            out.append((score, tuple(x.row for x in run)))
    alone = {rows[0]: v for v, rows in out if len(rows) == 1}
    back = {s.row for s in sentences if s.row in echoes and _POINTS_BACK.match(s.text)}

    def echo_of(rows: tuple[int, ...]) -> int | None:
        """The echo a run scores as (ECHO_SHARE): the one leading it, or one that points back ending it."""
        return rows[0] if rows[0] in echoes else rows[-1] if rows[-1] in back else None

    out = [(v if (echo := echo_of(rows)) is None else max(v, alone[echo]), rows) for v, rows in out]
    out.sort(key=lambda x: (-x[0], -len(x[1])))  # on a tie the echo's run goes before the echo alone
    return out


def compose(r: Retrieval, index: Index, found: bool, max_sentences: int = 4, top_k: int = 3) -> Answer:
    """Pick the sentences that answer the question from the top_k paragraphs; number citations by first use.

    A list answer cites all the list's items (and its intro, unless the intro only announces them), whatever top_k is.
    """
    if not r.hits:
        return Answer(r.question, False, _not_found(r.question), (), r.query)
    asked = _Asked.of(r, index.lexicon)
    if not found:
        nearest = [_best_in(h.doc, h.paragraph, asked, index) for h in r.hits[:top_k]]
        picked = [(s, h.score) for s, h in zip(nearest, r.hits) if s is not None]
        citations, _ = _cite(picked, index, r)
        return Answer(r.question, False, _not_found(r.question), tuple(citations), r.query)

    if r.list_intro is not None:
        chosen = _list_sentences(r, asked, index)
    else:
        chosen = _best_sentences(r, asked, index, max_sentences, top_k)
        if chosen and asks_for_list(r.question):
            chosen = _items_in_paragraph(chosen, index) or chosen
    citations, marker = _cite(chosen, index, r)
    parts = [f"{_text(index, row).strip()}[{marker[index.sentences[row][:2]]}]" for row, _ in chosen]
    return Answer(
        r.question, True, "".join(parts) if not _spaced(parts) else " ".join(parts), tuple(citations), r.query
    )


def _not_found(question: str) -> str:
    return NOT_FOUND_EN if is_english(question) else NOT_FOUND


def caution(question: str) -> str:
    """The note shown beside an answer given with low confidence, in the question's language."""
    return CAUTION_EN if is_english(question) else CAUTION


def _spaced(parts: list[str]) -> bool:
    return all(p[:1].isascii() for p in parts)


def _text(index: Index, row: int) -> str:
    doc, para, s, e = index.sentences[row]
    return index.paragraphs[(doc, para)][s:e]


def _restates(text: str) -> bool:
    """A question in the text, a Markdown heading, or a title: a short line with no sentence end."""
    return _asks(text) or (len(text.strip()) <= HEADING_CHARS and not _ENDS.search(text))


def _asks(text: str) -> bool:
    """A question in the text or a Markdown heading (what restates even when it states a value)."""
    return bool(_RESTATES.search(text))


def _echoes(text: str, asked: _Asked) -> bool:
    """Whether at least ECHO_SHARE of the sentence's terms are the question's."""
    own = _words(text, asked.lexicon)
    return bool(own) and len(own & asked.terms.keys()) >= ECHO_SHARE * len(own)


def _pair_cost(first: str, second: str) -> float:
    """What giving two neighbouring sentences costs over one (less when they read as one statement)."""
    linked = _POINTS_BACK.match(second) or _CLAUSE_END.search(first)
    return LINKED_PAIR_COST if linked else PAIR_COST


def _candidates(hits, index: Index) -> list[_Sentence]:
    """The sentences of `hits`' paragraphs in order, with their terms (and their document title's)."""
    titles = index.titles
    out = []
    for rank, h in enumerate(hits):
        extra = _words(titles.get(h.doc, ""), index.lexicon) if TITLE_TERMS else set()
        for row in index.sentence_rows.get((h.doc, h.paragraph), []):
            text = _text(index, row)
            out.append(_Sentence(row, rank, text, frozenset(_words(text, index.lexicon) | extra)))
    return out


def _best_in(doc: str, para: int, asked: _Asked, index: Index) -> int | None:
    windows = _score_windows(asked, _candidates([Hit(doc, para, 0.0)], index), index, 1, 1)
    return windows[0][1][0] if windows else None


def _best_sentences(
    r: Retrieval, asked: _Asked, index: Index, max_sentences: int, top_k: int
) -> list[tuple[int, float]]:
    """The best-scoring sentences (or runs of neighbours) of the top_k paragraphs, best first; a bare list announcement only if nothing else."""
    windows = _score_windows(asked, _candidates(r.hits[:top_k], index), index, top_k, min(2, max_sentences))
    windows = [w for w in windows if not any(_ANNOUNCES.search(_text(index, row)) for row in w[1])] or windows
    if not windows:
        return []
    best = windows[0][0]
    chosen: list[tuple[int, float]] = []
    for v, rows in windows:
        if v < best - KEEP_WITHIN:
            break
        if len(chosen) + len(rows) <= max_sentences and not any(row in dict(chosen) for row in rows):
            chosen.extend((row, v) for row in rows)
    return _with_reasons(chosen, index)


# A FAQ's answer often opens with a bare yes or no ("答：可以。", "不能。", "答：會。") and gives the
# conditions in the sentence after it: chosen alone, it answers 能申请吗 without saying who may.
# Tune parts of 13 corpora (answers holding the fact, the sweep of RESTATES_PENALTY's row rule):
# +2 / -0 (gov3); held out (20 corpora) none moved.
_BARE_REPLY = re.compile(
    r"^\s*(?:答[：:]\s*)?(?:不|没)?(?:可以|能|会|會|需要|須|须|用|有|是|是的|对|對|要|行|应当|應當)[的。！!]*\s*$"
    r"|^\s*(?:A[：:.]\s*)?(?:yes|no)\b[.!,]?\s*$",
    re.I,
)


# A clause that ends in a semicolon leaves its sentence unfinished: "夫妻双方均符合条件的，租房补贴可以分别
# 申领；" answers 买房补贴能拿两份吗 only with the clause after it ("购房补贴只能享受一份。"). The clause after
# is given too, one at most, unless it opens a list item of its own (二是…, （二）…: the next item
# of a list answers another question). bench/quality.py, every corpus (2026-12-07): answers holding
# the fact, tune +1 / -0 (gov3), held out +6 / -0 (cmrc, gov4, gov5, gov6, gov7, gov9); 86 of 1613
# tune answers changed, 1.8 characters longer on average.
_OPEN_CLAUSE = re.compile(r"[；;][”’」』）)\"']*\s*$")


def _with_reasons(chosen: list[tuple[int, float]], index: Index) -> list[tuple[int, float]]:
    """Each chosen sentence that cannot stand alone followed by the one after it in its paragraph (the
    two count as one sentence of the answer's max_sentences): a bare reply ("答：可以。") by what it
    says yes to, a clause ending in a semicolon by the clause that completes it (_OPEN_CLAUSE)."""
    taken = {row for row, _ in chosen}
    out = []
    for row, v in chosen:
        out.append((row, v))
        after = row + 1
        if (
            after not in taken
            and after < len(index.sentences)
            and index.sentences[after][:2] == index.sentences[row][:2]
            and _needs_next(_text(index, row), _text(index, after))
        ):
            out.append((after, v))
            taken.add(after)
    return out


def _needs_next(text: str, after: str) -> bool:
    """Whether sentence `text` needs the one after it, `after`, to say something (_with_reasons)."""
    return bool(_BARE_REPLY.match(text)) or (bool(_OPEN_CLAUSE.search(text)) and not is_item(after))


def _items_in_paragraph(chosen: list[tuple[int, float]], index: Index) -> list[tuple[int, float]] | None:
    """For a list question whose best sentence sits in a paragraph listing items (一是…；二是…, a tight
    Markdown list): every item sentence of it, after the best sentence when that introduces them."""
    best, score = chosen[0]
    rows = index.sentence_rows[index.sentences[best][:2]]
    items = [row for row in rows if is_item(_text(index, row))]
    if len(items) < 2 or best > items[-1]:
        return None
    lead = [best] if best < items[0] else []
    return [(row, score) for row in lead + items]


def _list_sentences(r: Retrieval, asked: _Asked, index: Index) -> list[tuple[int, float]]:
    """The intro's most relevant sentence unless it only announces the list, then each item's lead sentence, in document order."""
    doc, intro = r.list_intro
    chosen = []
    best = _best_in(doc, intro, asked, index)
    if best is not None and not _ANNOUNCES.search(_text(index, best)):
        chosen.append((best, 1.0))
    items = sorted(h.paragraph for h in r.hits if h.doc == doc and h.passages and h.passages[0].parent == intro)
    items = items or [para for _, para in index.list_items.get((doc, intro), [])]
    for para in dict.fromkeys(items):
        rows = index.sentence_rows.get((doc, para), [])
        if rows:
            chosen.append((rows[0], 1.0))
    return chosen


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    """The span without the whitespace at its ends (a sentence keeps the spaces after it)."""
    piece = text[s:e]
    return s + len(piece) - len(piece.lstrip()), e - len(piece) + len(piece.rstrip())


def _cite(chosen: list[tuple[int, float]], index: Index, r: Retrieval) -> tuple[list[Citation], dict]:
    """One citation per paragraph, numbered by first use, highlighting the chosen sentences in it."""
    score_of = {(h.doc, h.paragraph): h.score for h in r.hits}
    order: list[tuple[str, int]] = []
    spans: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for row, _ in chosen:
        doc, para, s, e = index.sentences[row]
        key = (doc, para)
        if key not in spans:
            order.append(key)
            spans[key] = []
        spans[key].append((s, e))
    marker = {key: n for n, key in enumerate(order, 1)}
    titles = index.titles
    citations = []
    for key in order:
        text = index.paragraphs[key]
        ordered = [_trim(text, s, e) for s, e in sorted(spans[key])]
        citations.append(
            Citation(
                n=marker[key],
                doc=key[0],
                paragraph=key[1],
                text=text,
                highlights=tuple(text[s:e] for s, e in ordered),  # a span is exactly its highlight
                spans=tuple(ordered),
                score=float(score_of.get(key, 0.0)),
                title=titles.get(key[0], ""),
                page=index.paragraph_pages.get(key),
            )
        )
    return citations, marker
