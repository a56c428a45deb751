"""The BM25 side: character uni+bigrams of normalized text, built at `qa build`, stored with the index."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from qa.indexing.synonyms import normalize

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
# Function characters that carry no topic; they still count in document length.
_STOP = set("的了和与及在是为对把将要等中上下也都而以之其这那个")


def tokens(text: str) -> list[str]:
    """Normalized CJK unigrams (minus function characters) and bigrams, plus lowercase Latin words and numbers."""
    text = normalize(text).lower()
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        out.extend(c for c in run if c not in _STOP)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    out.extend(_WORD.findall(text))
    return out


class BM25:
    """Okapi BM25 over a fixed list of passages (row i == FAISS row i)."""

    tokenize = staticmethod(tokens)  # subclasses may score other tokenizations (bench/compare.py)

    def __init__(self, postings: dict[str, list[list[int]]], doc_len: list[int], k1: float = 1.2, b: float = 0.75):
        self.postings = postings
        self.doc_len = doc_len
        self.k1, self.b = k1, b
        n = len(doc_len)
        self.avgdl = sum(doc_len) / n if n else 0.0
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> BM25:
        postings: dict[str, list[list[int]]] = {}
        doc_len = []
        for i, text in enumerate(texts):
            counts = Counter(cls.tokenize(text))
            doc_len.append(sum(counts.values()))
            for term, tf in counts.items():
                postings.setdefault(term, []).append([i, tf])
        return cls(postings, doc_len, k1, b)

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every passage sharing a term with `query` (query terms counted once each)."""
        out: dict[int, float] = {}
        for term in set(self.tokenize(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                norm = tf + self.k1 * (1 - self.b + self.b * self.doc_len[i] / self.avgdl)
                out[i] = out.get(i, 0.0) + idf * tf * (self.k1 + 1) / norm
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        s = self.scores(query)
        return sorted(s.items(), key=lambda kv: -kv[1])[:k]

    def save(self, path: Path) -> None:
        data = {"k1": self.k1, "b": self.b, "doc_len": self.doc_len, "postings": self.postings}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> BM25:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["postings"], data["doc_len"], data["k1"], data["b"])
