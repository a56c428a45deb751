"""Follow-up questions resolved from the conversation's earlier questions, without an LLM.

"那核安全方面呢？" after "2023年生态环境保护的重点任务有哪些？" becomes
"核安全 2023年的有哪些": the new question's own content first, then the earlier question's,
with anything the new question replaces swapped out: a year, an ordinal, or (when "那X呢" names
a topic X of its own) the earlier question's topic words, so only its year and way of asking stay.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Openers and closers that mark a question as leaning on the previous one.
_LEAD = re.compile(r"^\s*(?:那么|那|还有|另外|以及|并且|而|和|跟|同样|再问一下|再问|那在|至于|关于)\s*")
_TAIL = re.compile(
    r"(?:方面|的情况|情况|这块|这一块|这方面)?\s*(?:呢|吗|怎么样|如何|怎样|又如何|有哪些|是什么)?\s*[？?。.!！]*\s*$"
)
_EN_LEAD = re.compile(r"^\s*(?:and|what about|how about|and what about|what of|then)\b[\s,]*", re.I)
# Words that point back ("他", "这个", "该", "它", "they", "it").
_PRONOUN = re.compile(
    r"(?:他们|她们|它们|他|她|它|这个|那个|这些|那些|该|此|上述|前者|后者|其中)"
    r"|\b(?:he|she|it|they|this|that|them|those|these|his|her|its|their)\b",
    re.I,
)
_YEAR = re.compile(r"(?:19|20)\d{2}\s*年?|去年|今年|明年|前年|last year|this year|next year", re.I)
_ORDINAL = re.compile(r"第[一二三四五六七八九十\d]+(?:项|个|条|点|是)?|[一二三四五六七八九十]是")
from qa.text import CJK as _CJK  # noqa: E402

# A question with at most this many content characters (CJK) or words (Latin) after removing
# its follow-up markers is treated as incomplete. 4 keeps "2023年的重点任务有哪些" (6)
# standalone while "那核安全方面呢" (3), "第六项呢" (3) and "固体废物呢" (4) lean on the history;
# a question ending in 呢 leans on it up to 8 characters ("那大气污染防治方面呢").
SHORT_CJK = 4
SHORT_CJK_NE = 8
SHORT_WORDS = 4
_NE = re.compile(r"呢\s*[？?。.!！]*\s*$")  # "那X呢": asks the previous question again about X


def is_followup(question: str) -> bool:
    """True when the question cannot stand alone: a follow-up opener/closer, a back-pointer, or too little content."""
    q = question.strip()
    if _LEAD.match(q) or _EN_LEAD.match(q):
        return True
    core = _core(q)
    if _CJK.search(q):
        n = len(_CJK.findall(core.replace("的", "")))
        ends_ne = bool(re.search(r"呢\s*[？?]*\s*$", q))
        return n <= SHORT_CJK or (ends_ne and n <= SHORT_CJK_NE) or bool(_PRONOUN.search(q) and n <= 10)
    words = re.findall(r"[A-Za-z0-9]+", core)
    return len(words) <= SHORT_WORDS and bool(_PRONOUN.search(q) or len(words) <= 2)


def _core(q: str) -> str:
    q = _LEAD.sub("", q)
    q = _EN_LEAD.sub("", q)
    q = _TAIL.sub("", q)
    return q.strip(" ，,。？?")


def _switches_topic(question: str, core: str) -> bool:
    """'那X呢' where X names a topic of its own: X replaces the previous question's topic.

    Not when X is only a year, an ordinal, a pointer back or a question-frame word (进展, 目标,
    具体内容: abstain's content words leave those out); those keep the previous topic. Keeping
    the old topic beside a new one let the old one win ("那监测方面呢" after a question on
    climate change ranked the climate paragraph first): dev follow-ups R@1 0.846 -> 0.923.
    """
    if not _NE.search(question) or _PRONOUN.search(question) or not _CJK.search(core):
        return False
    from qa.answering.abstain import content_words

    return any(not w.isdigit() for w in content_words(_ORDINAL.sub(" ", _YEAR.sub(" ", core))))


def _without_topic(previous: str) -> str:
    """The previous question minus the words that name its topic: its year and its asking words stay."""
    if not _CJK.search(previous):
        return previous
    import jieba

    from qa.answering.abstain import content_words

    words = jieba.lcut(previous, HMM=False)
    return "".join(w for w in words if w.isdigit() or not content_words(w)).strip()


def resolve(question: str, history: Sequence[str]) -> str:
    """The question as retrieval should see it, given earlier questions (oldest first)."""
    history = [h for h in history if h and h.strip()]
    if not history or not is_followup(question):
        return question.strip()
    previous = resolve(history[-1], history[:-1])  # chains: a follow-up of a follow-up
    own = _core(question)
    context = _without_topic(previous) if _switches_topic(question, own) else previous
    core = own or question.strip()
    for pattern in (_YEAR, _ORDINAL):
        if pattern.search(core):
            context = pattern.sub(" ", context)
    return f"{core} {context}".strip()
