"""The BM25 side: character uni+bigrams of normalized text, indexed with bm25s at `qa build`, stored with the index.

bm25s (a maintained BM25 engine on sparse matrices) precomputes every (passage, term) score at
build time and stores them as three numpy arrays plus a vocabulary; they are memory-mapped on
load, so a large index costs no load time and only the pages a query touches. Chinese needs our
own tokens (`tokens`), which bm25s takes as they are. Scores are Okapi BM25 with Lucene's idf,
identical to the hand-written JSON BM25 this replaced (tantivy was measured too: faster to
build, but its one-byte length norms reorder the top 10 of most questions; bench/README.md).
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
# Function characters that carry no topic; they still count in document length.
_STOP = set("的了和与及在是为对把将要等中上下也都而以之其这那个")


def tokens(text: str) -> list[str]:
    """CJK unigrams (minus function characters) and bigrams, plus lowercase Latin words and numbers.

    `text` should be in its matching form already (Index.lexicon.normalize), passages and questions alike."""
    text = text.lower()
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        out.extend(c for c in run if c not in _STOP)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    out.extend(_WORD.findall(text))
    return out


def _score_matrix(ids: np.ndarray, lengths: np.ndarray, n_terms: int, k1: float, b: float) -> dict:
    """bm25s's score matrix (CSC: one column per term, rows = passages) from every passage's term ids, concatenated.

    The arithmetic is bm25s's (scoring._build_scores_and_indices_for_matrix with Lucene idf and
    tfc): idf by math.log in float64 stored as float32, tf as float32, the length norm in float64."""
    n_docs = len(lengths)
    docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    # One entry per (term, passage), sorted by term then passage: the CSC order, with its count.
    pairs, tf = np.unique(ids * n_docs + docs, return_counts=True)
    terms, rows = np.divmod(pairs, n_docs)
    df = np.bincount(terms, minlength=n_terms)
    idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d else 0.0 for d in df.tolist()], np.float32)
    avg = np.float64(lengths.mean()) if n_docs else np.float64(1.0)
    tf = tf.astype(np.float32)
    tfc = tf / (k1 * ((1 - b) + b * lengths[rows] / avg) + tf)
    indptr = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
    return {
        "data": (idf[terms] * tfc).astype(np.float32),
        "indices": rows.astype(np.int32),
        "indptr": indptr,
        "num_docs": n_docs,
    }


class BM25:
    """Okapi BM25 over a fixed list of passages (row i == FAISS row i), on a bm25s index."""

    tokenize = staticmethod(tokens)  # subclasses may score other tokenizations (bench/compare.py)
    # bm25s's files, named for the index version folder they sit in (bm25s's own names would collide).
    _NAMES = {
        "params_name": "lexical.params.json",
        "vocab_name": "lexical.vocab.json",
        "data_name": "lexical.data.npy",
        "indices_name": "lexical.indices.npy",
        "indptr_name": "lexical.indptr.npy",
    }
    FILES = tuple(_NAMES.values())

    IMPLIED = True  # `top` takes the terms passages hold implicitly (retriever.NAME_CHARS)

    def __init__(self, engine):
        self.engine = engine  # bm25s.BM25, or _Saved when opened from disk
        self.k1, self.b = float(engine.k1), float(engine.b)
        # bm25s scores tf / (tf + k1 * norm); classic Okapi multiplies by (k1 + 1). The factor
        # keeps scores on the scale they always had (z-score fusion is indifferent to it).
        self._scale = self.k1 + 1.0

    def __len__(self) -> int:
        return int(self.engine.scores["num_docs"])

    def __eq__(self, other: object) -> bool:
        """The same terms with the same scores for the same passages."""
        if not isinstance(other, BM25):
            return NotImplemented
        a, b = self.engine.scores, other.engine.scores
        return (
            (self.k1, self.b) == (other.k1, other.b)
            and self.engine.vocab_dict == other.engine.vocab_dict
            and all(np.array_equal(a[key], b[key]) for key in ("data", "indices", "indptr", "num_docs"))
        )

    __hash__ = None  # mutable engine inside: equal indexes need not hash alike

    # k1 1.2, b 0.75 (Lucene's defaults) stay: swept on the tune parts of nine corpora (bench/quality.py,
    # 2026-12-06, R@1 moved): b 0.5 report/drcd/manual +1 each, news -1, holds gov/gov3 -1; b 0.9 gov
    # and news -1, gov3 R@5 +1; k1 0.8 cmrc/drcd/gov -1, news -2; k1 1.6 gov3 and news -1.
    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> BM25:
        """Index `texts` (row i = text i): bm25s's Lucene BM25, its score matrix computed here with numpy.

        bm25s's own `index` walks every passage in Python three times (vocabulary, document
        frequencies, a Counter per passage): most of a large build's BM25 time. This computes the
        same float32 scores (same operations in the same precision; tests/test_stores.py checks
        against bm25s) from one array of token ids, and hands bm25s the finished matrix."""
        import bm25s

        engine = bm25s.BM25(k1=k1, b=b, method="lucene", idf_method="lucene")
        vocab: dict[str, int] = {}
        lengths = np.zeros(len(texts), np.int64)
        ids = array("q")  # 8 bytes a token: a list would hold a pointer per token as well
        for row, text in enumerate(texts):
            terms = cls.tokenize(text)
            lengths[row] = len(terms)
            ids.extend(vocab.setdefault(t, len(vocab)) for t in terms)
        if texts and not vocab:  # bm25s needs one term; "" is never a query term
            vocab[""], lengths[0], ids = 0, 1, array("q", [0])
        engine.scores = _score_matrix(np.frombuffer(ids, np.int64), lengths, len(vocab), k1, b)
        engine.vocab_dict = vocab
        engine.unique_token_ids_set = set(vocab.values())
        engine.nonoccurrence_array = None
        return cls(engine)

    def _term_ids(self, query: str) -> np.ndarray:
        vocab = self.engine.vocab_dict
        # Each query term counts once, however often the question repeats it.
        return np.fromiter(dict.fromkeys(vocab[t] for t in self.tokenize(query) if t in vocab), dtype=np.int64)

    def _score_array(self, query: str) -> np.ndarray:
        """Score of every passage (0 for those sharing no term with the query)."""
        s = self.engine.scores
        n, indptr = int(s["num_docs"]), s["indptr"]
        terms = self._term_ids(query)
        if not len(terms):
            return np.zeros(n)
        spans = [(int(indptr[t]), int(indptr[t + 1])) for t in terms]
        rows = np.concatenate([s["indices"][a:b] for a, b in spans])
        values = np.concatenate([s["data"][a:b] for a, b in spans]).astype(np.float64)
        return np.bincount(rows, weights=values, minlength=n) * self._scale

    def _implied(self, query: str, implied: Mapping[int, Collection[str]], n: int) -> np.ndarray:
        """The credit `top` adds for the query terms passages hold implicitly (`implied`)."""
        s, vocab = self.engine.scores, self.engine.vocab_dict
        postings = {}  # query term -> (sorted rows holding it, its idf), read once per query
        for t in set(self.tokenize(query)):
            if t in vocab:
                a, b = int(s["indptr"][vocab[t]]), int(s["indptr"][vocab[t] + 1])
                postings[t] = (s["indices"][a:b], math.log(1 + (n - (b - a) + 0.5) / ((b - a) + 0.5)))
        credit = np.zeros(n)
        for row, terms in implied.items():
            for t in postings.keys() & terms:
                holders, idf = postings[t]
                at = int(np.searchsorted(holders, row))
                if at < len(holders) and holders[at] == row:
                    continue  # it writes the term itself: its own score counts
                credit[row] += idf  # idf * tf / (tf + k1) * _scale at tf 1 and the average length
        return credit

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every passage sharing a term with `query` (query terms counted once each)."""
        scores = self._score_array(query)
        hit = np.flatnonzero(scores)
        return dict(zip(hit.tolist(), scores[hit].tolist()))

    def top(self, query: str, k: int, implied: Mapping[int, Collection[str]] | None = None) -> list[tuple[int, float]]:
        """The k best passages sharing a term with `query`, best first (ties: lower passage id first).

        `implied`: passage id -> terms it holds without writing them (its document's name, which an
        article's later paragraphs replace by 该镇 / 他): each such query term the passage lacks adds
        what it would with one occurrence at the average length (its idf, on this scale)."""
        if k <= 0:
            return []
        scores = self._score_array(query)
        if implied:
            scores = scores + self._implied(query, implied, len(scores))
        hit = np.flatnonzero(scores)
        if len(hit) > k:  # keep everything tied with the k-th, so the cut below is by id, not by chance
            kth = np.partition(scores[hit], len(hit) - k)[len(hit) - k]
            hit = hit[scores[hit] >= kth]
        hit = hit[np.lexsort((hit, -scores[hit]))][:k]
        return [(int(i), float(scores[i])) for i in hit]

    def save(self, folder: Path) -> None:
        """Write the bm25s files (the names in FILES) into `folder`."""
        self.engine.save(str(folder), show_progress=False, **self._NAMES)

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> BM25:
        """Open the files `save` wrote; the score arrays are memory-mapped.

        Read here as bm25s's own `load` reads them, without importing bm25s and scipy (~0.13 s of
        every `qa ask` and server start): questions need only the arrays and the vocabulary."""
        import json

        folder = Path(folder)
        params = json.loads((folder / cls._NAMES["params_name"]).read_text(encoding="utf-8"))
        if params.get("method") != "lucene":  # not written by `build`: let bm25s read what it wrote
            import bm25s

            return cls(bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False, **cls._NAMES))
        vocab = json.loads((folder / cls._NAMES["vocab_name"]).read_text(encoding="utf-8"))
        from qa.indexing.records import load_array

        scores = {key: load_array(folder / cls._NAMES[f"{key}_name"], mmap) for key in ("data", "indices", "indptr")}
        scores["num_docs"] = params.get("num_docs")
        return cls(_Saved(params, vocab, scores))


class _Saved:
    """A saved bm25s index as `BM25` uses it (k1, b, scores, vocab_dict), opened without bm25s."""

    def __init__(self, params: dict, vocab_dict: dict[str, int], scores: dict):
        self.params, self.vocab_dict, self.scores = params, vocab_dict, scores
        self.k1, self.b = params["k1"], params["b"]

    def save(self, save_dir: str, **names) -> None:
        """Write it again through bm25s, with the parameters it was saved with."""
        import bm25s

        engine = bm25s.BM25(**{k: v for k, v in self.params.items() if k not in ("num_docs", "version")})
        engine.scores, engine.vocab_dict = self.scores, self.vocab_dict
        engine.unique_token_ids_set = set(self.vocab_dict.values())
        engine.nonoccurrence_array = None
        engine.save(save_dir, **names)
