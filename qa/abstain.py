"""Whether the documents answer a question: a logistic model over several retrieval signals.

No single score separates answerable from unanswerable questions well (a dense cosine alone
reached ~0.75 balanced accuracy), so several signals vote: the best passage and sentence
cosines, how far the best passage stands out, how much of the question's (idf-weighted)
vocabulary the top paragraph covers, and how much of it the corpus has never seen. English
questions get their own weights because the lexical signals are silent for them. The weights
and threshold in qa/data/abstention.json are fitted on eval/dev.jsonl by
`python bench/calibrate.py`, which prints the fit and the resulting rates.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.lexical import tokens
from qa.lexicon import normalize

CALIBRATION = Path(__file__).with_name("data") / "abstention.json"
FEATURES = ("dense_top", "dense_margin", "sentence_top", "coverage", "novel")

# Words that ask rather than say: they carry no content to look for in the documents.
_ASKING = re.compile(
    r"什么时候|什么|哪个|哪些|哪里|哪儿|哪一|哪年|哪位|哪家|多少|多大|多长|几个|几项|几台|几颗|几座|几次|几|"
    r"怎么样|怎么|怎样|如何|为什么|为何|是否|是不是|有没有|请问|谁|吗|呢|吧|啊|啥|咋|干|做了|有|是|的|了|在|和|与|对|都|要|会|还|就|也|这|那|个|次|么"
)
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[0-9]+(?:\.[0-9]+)?|[a-z]*[0-9][a-z0-9.]*")  # numbers and codes; English words are the glossary's job
NOVEL_CAP = 6  # beyond a few unseen characters the question is off the documents either way


def _content_runs(query: str) -> list[str]:
    return _CJK_RUN.findall(_ASKING.sub(" ", normalize(query)))


def _covered(run: str, bigrams) -> int:
    """Characters of `run` that sit inside some bigram of `bigrams` (single characters count if known)."""
    hit = [False] * len(run)
    for i in range(len(run) - 1):
        if run[i : i + 2] in bigrams:
            hit[i] = hit[i + 1] = True
    if len(run) == 1 and run in bigrams:
        hit[0] = True
    return sum(hit)


def signals(index, query, qv, dense, lexical, hits, sentence_rows) -> dict:
    """Evidence that the documents answer the question, for `confidence` to weigh."""
    runs = _content_runs(query)
    chars = sum(len(r) for r in runs)
    vocab = index.lexical.idf
    novel = chars - sum(_covered(r, vocab) for r in runs)
    # Numbers and Latin words (a year, PM2.5, COP27) the documents never mention weigh like two characters.
    novel += 2 * sum(1 for w in _WORD.findall(normalize(query).lower()) if w not in vocab)
    top_cover = 0.0
    sent_top = 0.0
    if hits:
        key = (hits[0].doc, hits[0].paragraph)
        top_terms = set(tokens(index.paragraphs[key]))
        top_cover = sum(_covered(r, top_terms) for r in runs) / chars if chars else 0.0
        rows = sentence_rows.get(key, [])
        if rows:
            sent_top = float(np.max(index.sentence_vectors[rows] @ qv))
    dense_top = dense[0][1] if dense else 0.0
    dense_10 = float(np.mean([d for _, d in dense[:10]])) if dense else 0.0
    return {
        "dense_top": dense_top,
        "dense_margin": dense_top - dense_10,
        "sentence_top": sent_top,
        "coverage": top_cover,
        "novel": min(novel, NOVEL_CAP) / NOVEL_CAP,
        "english": 1.0 if not _CJK_RUN.search(query) else 0.0,
    }


def features(signals: dict) -> list[float]:
    """Feature vector: each signal, split by language so English questions get their own weights."""
    en = signals.get("english", 0.0)
    zh = [signals[f] * (1 - en) for f in FEATURES]
    eng = [signals[f] * en for f in FEATURES]
    return zh + eng + [en]


@lru_cache(maxsize=2)
def _model(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def confidence(signals: dict, path: Path = CALIBRATION) -> float:
    """Probability-like score in [0, 1] that the top passages answer the question."""
    m = _model(str(path))
    z = m["bias"] + sum(w * (x - mu) / sd for w, x, mu, sd in zip(m["weights"], features(signals), m["mean"], m["std"]))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def threshold(path: Path = CALIBRATION) -> float:
    return float(_model(str(path))["threshold"])
