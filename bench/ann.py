"""HNSW parameter sweep: recall@10 against exact search and search latency, by M and efSearch.

    .venv/bin/python bench/ann.py /tmp/perf/x10000/index                    # the vectors of a built index
    .venv/bin/python bench/ann.py /tmp/perf/x10000/index --m 16,32 --ef 64,128,256,512,1024
    .venv/bin/python bench/ann.py /tmp/perf/x2000/index --json

The passage vectors are those of an index `qa build` or bench/perf.py made (bench/perf.py says how
its large corpora and their synthetic vectors are made). The queries are real questions embedded
by the real model, as `ask` embeds them (normalized, query prompt): eval/dev.jsonl, then the
questions of the shared CMRC 2018 and DRCD benchmarks, up to --queries. For each M an
IndexHNSWFlat is built as the store builds it (efConstruction from qa/stores/faiss_store.py),
then for each efSearch: recall@10 (the share of the exact top 10 found, averaged over the
queries), p50 / p95 of one single-query search (one thread), and the graph's build time and size.
The last line names the smallest efSearch that reaches --target recall at the store's M.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from qa.config import from_env  # noqa: E402
from qa.stores import faiss_store  # noqa: E402

SHARED = Path("/work/shared/benchmarks")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def questions(limit: int) -> list[str]:
    """Question texts: the report's dev set first, then the shared benchmarks'."""
    out: list[str] = []
    for path in (
        ROOT / "eval" / "dev.jsonl",
        SHARED / "cmrc2018-trial" / "questions.jsonl",
        SHARED / "drcd-dev" / "questions.jsonl",
    ):
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line).get("question")
                if q and q not in out:
                    out.append(q)
    step = max(1, len(out) // limit)
    return out[::step][:limit]


def query_vectors(texts: list[str], settings) -> np.ndarray:
    from qa.embedding import make_embedder
    from qa.indexing.synonyms import Lexicon

    model = make_embedder(settings.model, settings.cache_dir, settings.backend)
    return model.embed_batch([Lexicon().normalize(t) for t in texts], "query").astype(np.float32)


def sweep(vectors: np.ndarray, queries: np.ndarray, ms: list[int], efs: list[int], ef_construction: int) -> list[dict]:
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    exact_ms = []
    for q in queries:
        t0 = time.perf_counter()
        exact.search(q.reshape(1, -1), 10)
        exact_ms.append(1000 * (time.perf_counter() - t0))
    rows = [
        {
            "M": 0,
            "ef_search": 0,
            "recall_at_10": 1.0,
            "p50_ms": statistics.median(exact_ms),
            "p95_ms": float(np.percentile(exact_ms, 95)),
            "build_s": 0.0,
            "index_mb": vectors.nbytes / 1e6,
        }
    ]
    del exact
    for m in ms:
        log(f"M {m}: building HNSW over {len(vectors):,} vectors (efConstruction {ef_construction}) ...")
        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        t0 = time.perf_counter()
        index.add(vectors)
        build_s = time.perf_counter() - t0
        size_mb = faiss.serialize_index(index).nbytes / 1e6
        for ef in efs:
            index.hnsw.efSearch = ef
            _, got = index.search(queries, 10)
            recall = float(np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)]))
            times = []
            for q in queries:
                t0 = time.perf_counter()
                index.search(q.reshape(1, -1), 10)
                times.append(1000 * (time.perf_counter() - t0))
            rows.append(
                {
                    "M": m,
                    "ef_search": ef,
                    "recall_at_10": recall,
                    "p50_ms": statistics.median(times),
                    "p95_ms": float(np.percentile(times, 95)),
                    "build_s": build_s,
                    "index_mb": size_mb,
                }
            )
            log(f"M {m} ef {ef}: recall@10 {recall:.3f}, p50 {rows[-1]['p50_ms']:.2f} ms")
        del index
    return rows


def render(out: dict) -> str:
    lines = [
        f"    {out['command']}",
        "",
        f"{out['passages']:,} passages ({out['index']}), {out['queries']} questions, load average "
        f"{out['loadavg']:.1f}, one thread; measured {out['date']}.",
        "",
        "| index | M | efSearch | recall@10 | search p50 / p95 ms | build s | index MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in out["rows"]:
        name = "exact (IndexFlatIP)" if not r["M"] else "IndexHNSWFlat"
        lines.append(
            f"| {name} | {r['M'] or '-'} | {r['ef_search'] or '-'} | {r['recall_at_10']:.3f} | "
            f"{r['p50_ms']:.2f} / {r['p95_ms']:.2f} | {r['build_s']:.0f} | {r['index_mb']:,.0f} |"
        )
    best = next(
        (r for r in out["rows"] if r["M"] == faiss_store.HNSW_M and r["ef_search"] == out["recommended_ef_search"]),
        None,
    )
    lines.append("")
    if best:
        lines.append(
            f"Smallest efSearch reaching recall@10 {out['target']} at M {faiss_store.HNSW_M}: "
            f"**{best['ef_search']}** (p50 {best['p50_ms']:.2f} ms)."
        )
    else:
        lines.append(f"No efSearch tried reaches recall@10 {out['target']} at M {faiss_store.HNSW_M}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--render"]:  # --render OUT.json [--write-readme]: the table of an earlier --json run
        out = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        out.setdefault("command", "bench/ann.py " + out["index"].split("/versions/")[0] + " --json")
        print(render(out))
        if "--write-readme" in argv:
            from perf import write_readme

            write_readme(render(out), "ann.py")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", type=Path, help="an index folder (its current version's vectors are swept)")
    ap.add_argument("--m", default=f"16,{faiss_store.HNSW_M}", help="HNSW M values (default 16,32)")
    ap.add_argument("--ef", default="32,64,128,256,512,1024,2048", help="efSearch values")
    ap.add_argument("--queries", type=int, default=400, help="questions used as queries (default 400)")
    ap.add_argument("--target", type=float, default=0.95, help="recall@10 the recommendation must reach")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write-readme", action="store_true", help="also put the table into bench/README.md")
    args = ap.parse_args(argv)
    import faiss

    faiss.omp_set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from qa.indexing import store

    settings = from_env()
    manifest = store.read_manifest(args.index)
    folder = store.current_dir(args.index)
    from qa.stores import open_store

    vectors = np.ascontiguousarray(open_store(manifest["store"], folder).vectors(), dtype=np.float32)
    texts = questions(args.queries)
    log(f"{len(vectors):,} vectors from {folder}; embedding {len(texts)} questions ...")
    queries = query_vectors(texts, settings)
    rows = sweep(
        vectors,
        queries,
        [int(x) for x in args.m.split(",")],
        [int(x) for x in args.ef.split(",")],
        faiss_store.HNSW_EF_CONSTRUCTION,
    )
    at_m = [r for r in rows if r["M"] == faiss_store.HNSW_M and r["recall_at_10"] >= args.target]
    best = min(at_m, key=lambda r: r["ef_search"]) if at_m else None
    out = {
        "command": "bench/ann.py " + " ".join(argv),
        "index": str(folder),
        "passages": len(vectors),
        "queries": len(texts),
        "target": args.target,
        "loadavg": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rows": rows,
        "recommended_ef_search": best and best["ef_search"],
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    text = render(out)
    print(text)
    if args.write_readme:
        from perf import write_readme

        write_readme(text, "ann.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
