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
from functools import lru_cache
from pathlib import Path

CALIBRATION = Path(__file__).with_name("data") / "abstention.json"
FEATURES = ("dense_top", "dense_margin", "sentence_top", "coverage", "unknown")


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
