"""Lexical engines on our tokens: the former JSON BM25, bm25s (what qa uses) and tantivy.

    .venv/bin/python bench/lexical.py data                        # the report
    .venv/bin/python bench/corpus.py 100 /tmp/c100 && .venv/bin/python bench/lexical.py /tmp/c100
    .venv/bin/python bench/lexical.py /tmp/c100 --engines bm25s,tantivy --json

For each engine: build time (from token lists), size on disk, load time, query latency over the
questions of eval/dev.jsonl (p50/p95, top 40 as the retriever asks), and agreement with the JSON
BM25's ranking (top 1 the same, top 10 in the same order, overlap of the top 40). Tokenization
(qa.indexing.lexical.tokens: normalized CJK uni+bigrams, Latin words) is shared and timed once.
tantivy gets the tokens space-joined through its whitespace tokenizer; its ids come back through
a fast field (that lookup is timed too).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.config import from_env  # noqa: E402
from qa.indexing.builder import corpus_files, load_documents  # noqa: E402
from qa.indexing.chunking import context_text, passages_of  # noqa: E402
from qa.indexing.lexical import BM25, tokens  # noqa: E402
from qa.indexing.synonyms import FILE, Lexicon  # noqa: E402

K = 40


class JsonBM25:
    """The hand-written BM25 qa used before bm25s (postings in a JSON file), kept here as the baseline."""

    def __init__(self, postings, doc_len, k1=1.2, b=0.75):
        self.postings, self.doc_len, self.k1, self.b = postings, doc_len, k1, b
        n = len(doc_len)
        self.avgdl = sum(doc_len) / n if n else 0.0
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}

    @classmethod
    def build(cls, token_lists):
        postings, doc_len = {}, []
        for i, toks in enumerate(token_lists):
            counts = Counter(toks)
            doc_len.append(sum(counts.values()))
            for term, tf in counts.items():
                postings.setdefault(term, []).append([i, tf])
        return cls(postings, doc_len)

    def top(self, terms, k):
        out = {}
        for term in terms:
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                norm = tf + self.k1 * (1 - self.b + self.b * self.doc_len[i] / self.avgdl)
                out[i] = out.get(i, 0.0) + idf * tf * (self.k1 + 1) / norm
        return sorted(out.items(), key=lambda kv: -kv[1])[:k]

    def save(self, path: Path):
        data = {"k1": self.k1, "b": self.b, "doc_len": self.doc_len, "postings": self.postings}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path):
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["postings"], data["doc_len"], data["k1"], data["b"])


def _disk(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def run_json(toks, queries, folder):
    t0 = time.perf_counter()
    engine = JsonBM25.build(toks)
    built = time.perf_counter() - t0
    engine.save(folder / "lexical.json")
    t0 = time.perf_counter()
    engine = JsonBM25.load(folder / "lexical.json")
    loaded = time.perf_counter() - t0
    return built, loaded, lambda q: engine.top(q, K)


class PretokenizedBM25(BM25):
    """qa's BM25 fed the shared token lists (space-joined; splitting them again is the identity)."""

    tokenize = staticmethod(str.split)


def run_bm25s(toks, queries, folder):
    t0 = time.perf_counter()
    engine = PretokenizedBM25.build([" ".join(t) for t in toks])
    built = time.perf_counter() - t0
    engine.save(folder)
    t0 = time.perf_counter()
    engine = PretokenizedBM25.load(folder)
    loaded = time.perf_counter() - t0
    return built, loaded, lambda q: engine.top(" ".join(q), K)


def run_tantivy(toks, queries, folder):
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_integer_field("id", stored=True, indexed=False)
    schema = sb.build()
    t0 = time.perf_counter()
    index = tantivy.Index(schema, path=str(folder))
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    for i, t in enumerate(toks):
        writer.add_document(tantivy.Document(body=" ".join(t), id=i))
    writer.commit()
    writer.wait_merging_threads()
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = tantivy.Index.open(str(folder))
    index.reload()
    searcher = index.searcher()
    loaded = time.perf_counter() - t0

    def query(q):
        if not q:
            return []
        should = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in q]
        hits = searcher.search(tantivy.Query.boolean_query(should), K).hits
        # Segment-local doc ids are not passage ids: read ours from the stored field.
        return [(int(searcher.doc(addr).get_first("id")), score) for score, addr in hits]

    return built, loaded, query


ENGINES = {"json": run_json, "bm25s": run_bm25s, "tantivy": run_tantivy}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="documents to index (a folder or files)")
    ap.add_argument("--engines", default="json,bm25s,tantivy")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev.jsonl")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    settings = from_env()
    docs, _ = load_documents([args.corpus], settings)
    # qa matches in the corpus's matching form (its synonyms.tsv, docs/synonyms.md); timed with the tokens.
    lexicon = Lexicon(corpus_files([args.corpus]).get(FILE, ""))
    texts = []
    for doc in docs:
        by_number = {p.number: p.text for p in doc.paragraphs}
        for p in passages_of(doc, settings.chunk_chars, settings.chunk_overlap, first_id=len(texts)):
            texts.append(context_text(p, by_number, title=False))
    t0 = time.perf_counter()
    toks = [tokens(lexicon.normalize(t)) for t in texts]
    tokenize_s = time.perf_counter() - t0
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines()]
    queries = [list(dict.fromkeys(tokens(lexicon.normalize(q)))) for q in questions]
    out = {"passages": len(texts), "tokenize_s": round(tokenize_s, 2), "queries": len(queries), "engines": {}}
    reference = None
    tmp = Path(tempfile.mkdtemp(prefix="qa-lexical-"))
    try:
        for name in args.engines.split(","):
            folder = tmp / name
            folder.mkdir()
            built, loaded, query = ENGINES[name](toks, queries, folder)
            query(queries[0])
            times, ranked = [], []
            for q in queries:
                t0 = time.perf_counter()
                ranked.append(query(q))
                times.append(time.perf_counter() - t0)
            row = {
                "build_s": round(built, 2),
                "disk_mb": round(_disk(folder) / 1e6, 2),
                "load_ms": round(1000 * loaded, 1),
                "query_p50_ms": round(1000 * float(np.median(times)), 3),
                "query_p95_ms": round(1000 * float(np.percentile(times, 95)), 3),
            }
            if reference is None:
                reference = ranked
            else:
                pairs = [(a, b) for a, b in zip(reference, ranked) if a]
                row["top1_same"] = round(np.mean([a[0][0] == (b[0][0] if b else None) for a, b in pairs]), 3)
                row["top10_same_order"] = round(
                    np.mean([[i for i, _ in a[:10]] == [i for i, _ in b[:10]] for a, b in pairs]), 3
                )
                row["top40_overlap"] = round(
                    np.mean([len({i for i, _ in a} & {i for i, _ in b}) / len(a) for a, b in pairs]), 3
                )
            out["engines"][name] = row
            print(f"{name}: {row}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['passages']} passages, tokenized in {out['tokenize_s']} s; {out['queries']} questions, top {K}")
    print(
        f"{'engine':<9}{'build s':>9}{'disk MB':>9}{'load ms':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'top1':>7}{'top10':>7}{'top40':>7}"
    )
    for name, r in out["engines"].items():
        agree = "".join(
            f"{r[k]:>7.3f}" if k in r else f"{'(ref)':>7}" for k in ("top1_same", "top10_same_order", "top40_overlap")
        )
        print(
            f"{name:<9}{r['build_s']:>9.2f}{r['disk_mb']:>9.2f}{r['load_ms']:>9.1f}{r['query_p50_ms']:>9.3f}"
            f"{r['query_p95_ms']:>9.3f}{agree}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
