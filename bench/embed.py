"""Embedding throughput of each QA_BACKEND against the bare sentence-transformers fp32 model, same texts, same threads.

    .venv/bin/python bench/embed.py                                   # the CMRC articles' passages
    .venv/bin/python bench/embed.py data --texts passages+sentences   # what a report build embeds
    .venv/bin/python bench/embed.py --backends torch,onnx,onnx-fp32 --rounds 3 --threads 1

The texts are exactly what `qa build` embeds (builder.plan: passages with their context, and with
--texts passages+sentences the sentences too), with the passage prompt. The bare limit is
SentenceTransformer.encode(batch_size=32, fp32) on the passages alone. The runs are interleaved
(limit, backend 1, backend 2 ..., then again) --rounds times and the median taken, so a busy
machine slows all of them alike; ratios are what to read. Also prints each backend's cosine to the
bare model's vectors (min and mean).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.config import from_env  # noqa: E402
from qa.embedding import _source, make_embedder  # noqa: E402
from qa.indexing import builder as indexer  # noqa: E402

CMRC = Path("/work/shared/benchmarks/cmrc2018-trial/docs")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=CMRC if CMRC.is_dir() else ROOT / "data")
    ap.add_argument("--texts", choices=("passages", "passages+sentences"), default="passages")
    ap.add_argument("--backends", default="torch,onnx-fp32,onnx")
    ap.add_argument("--limit", type=int, default=400, help="at most this many passages (default 400)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    settings = from_env()
    docs, _ = indexer.load_documents([args.corpus], settings)
    units = list(indexer.plan(docs, settings).units.values())
    passages = [t for u in units for t in u.passage_texts][: args.limit]
    texts = passages
    if args.texts == "passages+sentences":
        keep = set(passages)
        texts = passages + [t for u in units if set(u.passage_texts) <= keep for t in u.sentence_texts]
    bare = SentenceTransformer(_source(settings.model, settings.cache_dir), device="cpu")
    prompt = "passage: "
    embedders = {b: make_embedder(settings.model, settings.cache_dir, b) for b in args.backends.split(",")}
    for e in embedders.values():
        e.embed_batch(["warm up"], "passage")
    bare.encode(["warm up"], prompt=prompt)
    times: dict[str, list[float]] = {"bare fp32 (passages)": [], **{b: [] for b in embedders}}
    reference = None
    cosines = {}
    for r in range(args.rounds):
        t0 = time.perf_counter()
        reference = bare.encode(passages, prompt=prompt, batch_size=32, normalize_embeddings=True)
        times["bare fp32 (passages)"].append(time.perf_counter() - t0)
        for name, e in embedders.items():
            t0 = time.perf_counter()
            v = e.embed_batch(texts, "passage")
            times[name].append(time.perf_counter() - t0)
            cos = (v[: len(passages)] * reference).sum(1)
            cosines[name] = (float(cos.min()), float(cos.mean()))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), file=sys.stderr)
    base = statistics.median(times["bare fp32 (passages)"])
    out = {
        "corpus": str(args.corpus),
        "passages": len(passages),
        "texts": len(texts),
        "threads": args.threads,
        "loadavg": os.getloadavg()[0],
        "rows": {
            k: {
                "seconds": round(statistics.median(v), 2),
                "passages_per_s": round(len(passages) / statistics.median(v), 2),
                "ratio_to_bare": round(base / statistics.median(v), 3),
                **({"cos_min": round(cosines[k][0], 5), "cos_mean": round(cosines[k][1], 5)} if k in cosines else {}),
            }
            for k, v in times.items()
        },
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{out['passages']} passages ({out['texts']} texts embedded by each backend: {args.texts}), "
        f"{args.threads} threads, load {out['loadavg']:.1f}, median of {args.rounds}"
    )
    print(f"{'':<22}{'s':>8}{'passages/s':>12}{'x bare':>8}{'cos min':>9}{'cos mean':>9}")
    for k, r in out["rows"].items():
        cos = f"{r['cos_min']:>9.5f}{r['cos_mean']:>9.5f}" if "cos_min" in r else ""
        print(f"{k:<22}{r['seconds']:>8.2f}{r['passages_per_s']:>12.2f}{r['ratio_to_bare']:>8.2f}{cos}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
