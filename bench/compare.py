"""Baselines and the current pipeline side by side on the same questions.

    .venv/bin/python bench/compare.py                       # eval/dev.jsonl and eval/test.jsonl
    .venv/bin/python bench/compare.py eval/dev.jsonl --json # machine-readable

Approaches (all use the same bundled embedding model and the documents in --data):

  paragraphs   whole paragraphs embedded, question embedded alone (the naive design)
  bm25-bigram  Okapi BM25 over Chinese character bigrams (+ Latin words), ~200-char chunks,
               no lexicon normalization, no title
  dense-chunk  dense over ~200-char sentence chunks (qa.indexing.chunking), no title
  rrf-title    reciprocal-rank fusion (k=60) of the two above, title prepended to every chunk
  pipeline     the current pipeline: a real index built with qa.indexing.builder.build into a temp
               folder, queried through qa.serving.service.QAService (history used for follow-ups)

A paragraph's rank is its best passage's rank. Baselines see the question alone (no history).
Metrics are over answerable questions (gold non-empty): recall@1, recall@5, MRR@10, the same
definitions as qa/evaluate.py. Progress goes to stderr, tables (or --json) to stdout.
Nothing in qa/ or index/ is modified.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from qa.config import from_env  # noqa: E402
from qa.embedding import SentenceTransformerEmbedder  # noqa: E402
from qa.evaluate import evaluate, format_report, read_questions  # noqa: E402
from qa.indexing.builder import load_documents  # noqa: E402
from qa.indexing.chunking import passages_of  # noqa: E402
from qa.indexing.lexical import BM25  # noqa: E402

DEFAULT_SETS = [ROOT / "eval" / "dev.jsonl", ROOT / "eval" / "test.jsonl"]
DEPTH = 40  # passages each baseline retriever returns before grouping by paragraph
RRF_K = 60  # Cormack et al. 2009
APPROACHES = [
    ("paragraphs", "whole paragraphs embedded (naive)"),
    ("bm25-bigram", "BM25 over Chinese character bigrams"),
    ("dense-chunk", "dense over ~200-char sentence chunks"),
    ("rrf-title", "RRF of BM25 + dense, title in the chunk"),
    ("pipeline", "current pipeline (qa build + QAService)"),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- a plain bigram BM25 (no lexicon normalization, unlike qa.indexing.lexical.tokens) -----------------
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def bigram_tokens(text: str) -> list[str]:
    """Chinese character bigrams (a lone character stands for itself) plus lowercase Latin words/numbers."""
    text = text.lower()
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    out.extend(_WORD.findall(text))
    return out


class BigramBM25(BM25):
    """qa.indexing.lexical.BM25's scoring, with bigram_tokens instead of the normalized uni+bigrams."""

    tokenize = staticmethod(bigram_tokens)


# -- baselines built in memory -----------------------------------------------------------------
class Baselines:
    """Units (paragraph or chunk) with their (doc, paragraph) keys; vectors embedded once."""

    def __init__(self, docs, embedder, chunk_chars: int, overlap: int):
        self.embedder = embedder
        self._qcache: dict[str, np.ndarray] = {}
        paras = [(d.name, p.number, p.text) for d in docs for p in d.paragraphs if not p.boilerplate]
        chunks = [p for d in docs for p in passages_of(d, chunk_chars, overlap)]
        self.para_keys = [(d, n) for d, n, _ in paras]
        self.chunk_keys = [(p.doc, p.paragraph) for p in chunks]
        plain = [p.text for p in chunks]
        titled = [f"{p.title}\n{p.text}" for p in chunks]
        log(f"baselines: {len(paras)} paragraphs, {len(chunks)} chunks of <= {chunk_chars} chars")
        t0 = time.perf_counter()
        self.para_index = self._faiss(self._embed(list(t for _, _, t in paras)))
        self.chunk_index = self._faiss(self._embed(plain))
        self.titled_index = self._faiss(self._embed(titled))
        log(f"baselines: embedded {len(paras) + 2 * len(chunks)} texts in {time.perf_counter() - t0:.1f}s")
        self.bm25_plain = BigramBM25.build(plain)
        self.bm25_titled = BigramBM25.build(titled)

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed_batch(texts, "passage")

    @staticmethod
    def _faiss(vectors: np.ndarray):
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index

    def query_vectors(self, questions: list[str]) -> None:
        """Embed every not-yet-seen question in one batch (cached across question sets)."""
        todo = sorted({q for q in questions if q not in self._qcache})
        if todo:
            for q, v in zip(todo, self.embedder.embed_batch(todo, "query")):
                self._qcache[q] = v

    def _dense(self, index, question: str) -> list[tuple[int, float]]:
        k = min(DEPTH, index.ntotal)
        scores, ids = index.search(self._qcache[question][None, :].astype(np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    @staticmethod
    def _rrf(*rankings) -> list[tuple[int, float]]:
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, (i, _) in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
        return sorted(fused.items(), key=lambda kv: -kv[1])

    def rank(self, name: str, question: str) -> list[tuple[str, int]]:
        """Paragraphs (doc, number), best first; a paragraph ranks where its best unit does."""
        if name == "paragraphs":
            units, keys = self._dense(self.para_index, question), self.para_keys
        elif name == "bm25-bigram":
            units, keys = self.bm25_plain.top(question, DEPTH), self.chunk_keys
        elif name == "dense-chunk":
            units, keys = self._dense(self.chunk_index, question), self.chunk_keys
        elif name == "rrf-title":
            units = self._rrf(self._dense(self.titled_index, question), self.bm25_titled.top(question, DEPTH))
            keys = self.chunk_keys
        else:
            raise ValueError(name)
        seen: list[tuple[str, int]] = []
        for i, _ in units:
            if keys[i] not in seen:
                seen.append(keys[i])
        return seen


def gold_rank(q: dict, ranked: list[tuple[str, int]]) -> int | None:
    """1-based rank of the first gold paragraph (in q['file'] if given), else None."""
    for pos, (doc, para) in enumerate(ranked, 1):
        if para in q["gold"] and (not q.get("file") or q["file"] == doc):
            return pos
    return None


def summarize(ranks: list[int | None]) -> dict:
    n = len(ranks)
    if not n:
        return {"answerable": 0}
    return {
        "answerable": n,
        "recall@1": round(sum(r == 1 for r in ranks) / n, 3),
        "recall@5": round(sum(1 for r in ranks if r and r <= 5) / n, 3),
        "mrr@10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 3),
    }


def table(name: str, rows: dict[str, dict]) -> str:
    n = next(iter(rows.values())).get("answerable", 0)
    out = [
        f"## {name} ({n} answerable questions)",
        "",
        f"| {'approach':<42} | {'R@1':>5} | {'R@5':>5} | {'MRR@10':>6} |",
        f"|{'-' * 44}|{'-' * 7}|{'-' * 7}|{'-' * 8}|",
    ]
    for key, label in APPROACHES:
        m = rows[key]
        out.append(f"| {label:<42} | {m['recall@1']:>5.3f} | {m['recall@5']:>5.3f} | {m['mrr@10']:>6.3f} |")
    return "\n".join(out)


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "questions", nargs="*", type=Path, help="JSON Lines question sets (default: eval/dev.jsonl eval/test.jsonl)"
    )
    ap.add_argument("--data", type=Path, default=ROOT / "data", help="documents to index (default data/)")
    ap.add_argument("--json", action="store_true", help="print all results as one JSON object")
    args = ap.parse_args(argv)
    sets = args.questions or DEFAULT_SETS
    questions = {_show(p): read_questions(p) for p in sets}

    t_start = time.perf_counter()
    settings = from_env(data_dir=args.data)
    embedder = SentenceTransformerEmbedder(settings.model, settings.cache_dir)
    log(f"loading {settings.model} (cache {settings.cache_dir})")
    t0 = time.perf_counter()
    embedder.dim  # noqa: B018 - loads the model
    log(f"model loaded in {time.perf_counter() - t0:.1f}s")

    docs = load_documents([args.data], settings)
    base = Baselines(docs, embedder, settings.chunk_chars, settings.chunk_overlap)

    from qa.indexing import builder as indexer
    from qa.serving.service import QAService

    results: dict = {"data": str(args.data), "model": settings.model, "sets": {}}
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        pipe_settings = settings.replace(index_dir=Path(tmp) / "index")
        t0 = time.perf_counter()
        indexer.build([args.data], pipe_settings, embedder)
        log(f"pipeline: index built in {time.perf_counter() - t0:.1f}s into {pipe_settings.index_dir}")
        service = QAService(pipe_settings, embedder=embedder)

        for name, qs in questions.items():
            answerable = [q for q in qs if q["gold"]]
            log(f"{name}: {len(qs)} questions, {len(answerable)} answerable")
            base.query_vectors([q["question"] for q in answerable])
            rows: dict[str, dict] = {}
            for key, _ in APPROACHES[:-1]:
                ranks = [gold_rank(q, base.rank(key, q["question"])) for q in answerable]
                rows[key] = summarize(ranks)
            log(f"{name}: running the pipeline")
            report = evaluate(service, qs, progress=True)
            rows["pipeline"] = {k: report.get(k) for k in ("answerable", "recall@1", "recall@5", "mrr@10")}
            results["sets"][name] = {"approaches": rows, "pipeline_report": report}

    results["seconds"] = round(time.perf_counter() - t_start, 1)
    log(f"done in {results['seconds']}s")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    for name, r in results["sets"].items():
        print(table(name, r["approaches"]))
        print()
        print(f"### current pipeline on {name}, by question type")
        print()
        print(format_report(r["pipeline_report"]))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
