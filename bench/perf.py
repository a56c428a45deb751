"""Scale benchmark: build, disk, cold start, warm ask and ANN recall at 1x, 100x, ... the report, each beside its limit.

    .venv/bin/python bench/perf.py --sizes 1,100,10000 --threads 1 --questions 40 --keep /tmp/perf
    .venv/bin/python bench/perf.py --sizes 1 --json                      # the report alone, JSON
    .venv/bin/python bench/perf.py --sizes 10000 --keep /tmp/perf --reuse-index   # re-time asks only

How the corpora are made (bench/corpus.py; deterministic):

  1x        the report itself (data/)
  100x      sentence-level reshuffles of the report, the CMRC 2018 trial and DRCD dev articles until
            the corpus holds 100x the report's characters; embedded by the real model (`qa build`)
  >= --synthetic-from (default 1000)x
            the same kind of text, but the passage and sentence vectors are synthetic: every pool
            sentence is embedded once with the real model, a generated sentence gets the vector of
            its pool sentence, a passage the normalized mean of the vectors of the sentences it is
            made of (plus its title's hash vector). The build is the real builder in a child
            process with that lookup in place of the model, so chunking, BM25, the FAISS index
            (HNSW from 100k passages) and the files on disk are the real ones; questions are
            embedded by the real model. Embedding that much for real here would take hours: the
            table projects it from the 100x throughput.

What is measured for each size, and the limit beside it (same run, same threads):

  qa build          `python -m qa build CORPUS --index DIR` wall time and peak RSS (wait4);
                    throughput = passages / (manifest build_seconds - model load), against the
                    bare sentence-transformers fp32 `encode` (batch 32) of the same passages' texts
                    (at most --bare-sample of them, a seeded sample)
  disk              the version folder's files
  cold start        `qa ask` as one process; `qa serve` from spawn to the first 200 of POST /api/ask
  warm ask          QAService.retrieve + compose on --questions questions spread over eval/dev.jsonl
                    (with their history): p50/p95 of the whole and of embed (the model's call),
                    search (the rest of retrieve: dense + BM25 + fusion + abstention signals) and
                    answer (compose); limit = p50 of one bare fp32 query embedding + p50 of one exact
                    FAISS search (IndexFlatIP, k = candidates) over the same vectors
  recall@10         of the index's own search against exact search, the same questions' vectors

Progress goes to stderr, the table (or --json) to stdout; results are also written to
KEEP/perf.json. Run heavy sizes with `nice -n 10`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import percentile, pick_questions  # noqa: E402  (bench/latency.py)

from qa.config import from_env  # noqa: E402

TARGETS = {
    "build_ratio": 1.0,  # build throughput / bare fp32 passage throughput
    "report_build_s": 10.0,
    "p50_ms": 50.0,
    "p50_over_limit": 1.5,
    "serve_s": 15.0,
    "recall": 0.95,
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def child_env(threads: int) -> dict:
    return {**os.environ, "QA_PROGRESS": "0", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads)}


class PeakWatch:
    """A child's peak RSS, from VmHWM in /proc (its own address space's high-water mark).

    Not wait4's ru_maxrss: Linux carries the maximum over execve, so a child forked from this
    process (model + index in memory) would report this process's size."""

    def __init__(self, pid: int):
        import threading

        self.pid, self.kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        path = f"/proc/{self.pid}/status"
        while not self._stop.is_set():
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.kb = max(self.kb, int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                pass
            self._stop.wait(0.05)

    def stop(self) -> float:
        """Peak RSS in MB (call before the child is reaped)."""
        self._stop.set()
        self._thread.join()
        return self.kb / 1024


def run_child(cmd: list[str], env: dict) -> dict:
    """Run a child to completion: wall seconds, its peak RSS, stdout; fail loudly."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        watch = PeakWatch(proc.pid)
        # waitid(WNOWAIT): the child has exited but is not reaped, so its /proc entry is still readable.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        wall = time.perf_counter() - t0
        peak = watch.stop()
        _, status, usage = os.wait4(proc.pid, 0)  # CPU time is the child's own (unlike ru_maxrss)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` failed ({proc.returncode}): {stderr.strip()[-800:]}")
    return {"seconds": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": peak, "stdout": stdout}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_serve(index: Path, question: str, env: dict, timeout: float = 1800) -> dict:
    """`qa serve` from spawn to its first answer over POST /api/ask; the server's peak RSS."""
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "qa", "serve", "--index", str(index), "--port", str(port)]
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        watch = PeakWatch(proc.pid)
        seconds = None
        try:
            while time.perf_counter() - t0 < timeout and proc.poll() is None:
                try:
                    r = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": question}, timeout=timeout)
                    if r.status_code == 200:
                        seconds = time.perf_counter() - t0
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        finally:
            peak = watch.stop()
            proc.terminate()
            proc.wait()
        if seconds is None:
            err.seek(0)
            raise SystemExit(f"qa serve gave no answer: {err.read().decode(errors='replace')[-800:]}")
    return {"seconds": seconds, "peak_mb": peak}


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


# -- synthetic vectors ----------------------------------------------------------------------------


def _hash_vector(text: str, dim: int) -> np.ndarray:
    v = np.random.default_rng(zlib.crc32(text.encode("utf-8", "surrogatepass"))).standard_normal(dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


class PoolEmbedder:
    """Passage vectors without the model: a text's vector is the normalized mean of its sentences' pool vectors.

    Sentences not in the pool (titles, a split that differs) get a hash-seeded random vector.
    Queries are not its business: a real model embeds them."""

    def __init__(self, name: str, sentences: list[str], vectors: np.ndarray):
        from qa.indexing.chunking import split_sentences

        self.name, self._split = name, split_sentences
        self.row = {s: i for i, s in enumerate(sentences)}
        # Pool rows, then hash vectors as they are needed (capacity doubles: no copy per call).
        self.dim = vectors.shape[1]
        self.matrix = np.zeros((2 * len(vectors) + 1024, self.dim), np.float32)
        self.matrix[: len(vectors)] = vectors
        self.seconds = 0.0

    def _row(self, piece: str) -> int:
        row = self.row.get(piece)
        if row is None:
            row = self.row[piece] = len(self.row)
            if row == len(self.matrix):
                self.matrix = np.vstack([self.matrix, np.zeros_like(self.matrix)])
            self.matrix[row] = _hash_vector(piece, self.dim)
        return row

    def embed_batch(self, texts, kind: str) -> np.ndarray:
        if kind != "passage":
            raise ValueError("PoolEmbedder embeds passages only")
        t0 = time.perf_counter()
        rows, starts = [], []
        for text in texts:
            starts.append(len(rows))
            rows.extend(self._row(text[a:b].strip()) for a, b in (self._split(text) or [(0, len(text))]))
        out = np.add.reduceat(self.matrix[rows], starts, axis=0) if texts else np.zeros((0, self.dim), np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        self.seconds += time.perf_counter() - t0
        return out.astype(np.float32)


def pool_vectors(keep: Path, embedder) -> tuple[list[str], np.ndarray]:
    """Every pool sentence (normalized as builds embed them) and its real vector, cached in `keep`."""
    import corpus

    from qa.indexing.synonyms import Lexicon

    sentences = sorted({Lexicon().normalize(s) for _, _, parts in corpus._pool(corpus.POOL) for s in parts})
    digest = hashlib.sha256("\n".join([embedder.name, *sentences]).encode()).hexdigest()[:16]
    cache = keep / f"pool-{digest}.npy"
    if cache.exists():
        return sentences, np.load(cache)
    log(f"pool: embedding {len(sentences)} pool sentences once with the real model ...")
    t0 = time.perf_counter()
    order = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))
    vectors = np.empty((len(sentences), embedder.dim), np.float32)
    for i in range(0, len(order), 256):
        rows = order[i : i + 256]
        vectors[rows] = embedder.embed_batch([sentences[r] for r in rows], "passage")
    log(f"pool: {len(sentences)} sentences in {time.perf_counter() - t0:.0f} s")
    np.save(cache, vectors)
    return sentences, vectors


def synthetic_build(corpus_dir: Path, index_dir: Path, pool_file: Path) -> None:
    """(child process) Build an index of `corpus_dir` with PoolEmbedder vectors; print a JSON summary."""
    from qa.indexing import builder

    settings = from_env(index_dir=index_dir)
    sentences = json.loads(pool_file.read_text(encoding="utf-8"))
    vectors = np.load(pool_file.with_suffix(".npy"), mmap_mode="r")
    embedder = PoolEmbedder(settings.model, sentences, np.asarray(vectors))
    t0 = time.perf_counter()
    builder.build([corpus_dir], settings, embedder)
    print(json.dumps({"seconds": time.perf_counter() - t0, "embed_seconds": embedder.seconds}))


# -- one size ---------------------------------------------------------------------------------------


def make_corpus(size: int, folder: Path) -> dict:
    import corpus

    summary = folder.parent / "corpus.json"
    if folder.is_dir() and summary.exists() and json.loads(summary.read_text()).get("factor") == size:
        return json.loads(summary.read_text())
    log(f"{size}x: generating the corpus ...")
    out = corpus.generate(size, folder)
    summary.write_text(json.dumps(out))
    return out


def bare_throughput(bare, settings, corpus_dir: Path, sample: int, seed: int = 5) -> dict:
    """Passages per second of the bare fp32 model on the passages a build embeds (a seeded sample)."""
    import random

    from qa.indexing import builder

    docs, _ = builder.load_documents([corpus_dir], settings)
    texts = [t for u in builder.plan(docs, settings).units.values() for t in u.passage_texts]
    if len(texts) > sample:
        texts = random.Random(seed).sample(texts, sample)
    t0, c0 = time.perf_counter(), time.process_time()
    bare.encode(texts, prompt="passage: ", batch_size=32, normalize_embeddings=True)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"passages": len(texts), "seconds": seconds, "per_s": len(texts) / seconds, "per_cpu_s": len(texts) / cpu}


class TimedEmbedder:
    """The service's embedder with the time spent in it counted."""

    def __init__(self, inner):
        self.inner, self.name, self.seconds = inner, inner.name, 0.0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_batch(self, texts, kind):
        t0 = time.perf_counter()
        try:
            return self.inner.embed_batch(texts, kind)
        finally:
            self.seconds += time.perf_counter() - t0


def warm_asks(settings, model, bare, questions: list[dict]) -> dict:
    """Warm asks split into embed / search / answer, the embed+exact-search limit, recall@10 vs exact."""
    import faiss

    from qa.indexing.synonyms import Lexicon
    from qa.serving.service import QAService

    timed = TimedEmbedder(model)
    service = QAService(settings, embedder=timed)
    t0 = time.perf_counter()
    service.ask(questions[0]["question"], questions[0].get("history") or [])
    first_ms = 1000 * (time.perf_counter() - t0)
    service.ask(questions[-1]["question"], questions[-1].get("history") or [])  # warm-up
    parts: dict[str, list[float]] = {"total": [], "embed": [], "search": [], "answer": []}
    qvs = []
    for q in questions:
        timed.seconds = 0.0
        t0 = time.perf_counter()
        r, decision = service.retrieve(q["question"], q.get("history") or [])
        t1 = time.perf_counter()
        service.compose(r, decision)
        t2 = time.perf_counter()
        qvs.append(r.query_vector)
        parts["total"].append(1000 * (t2 - t0))
        parts["embed"].append(1000 * timed.seconds)
        parts["search"].append(1000 * (t1 - t0 - timed.seconds))
        parts["answer"].append(1000 * (t2 - t1))
    index, _ = service._current()
    k = min(settings.candidates, len(index.passages))
    matrix = index.passage_matrix()
    exact = faiss.IndexFlatIP(matrix.shape[1])
    exact.add(matrix)
    del matrix
    bare_ms, exact_ms = [], []
    queries = np.vstack(qvs).astype(np.float32)
    for q, qv in zip(questions, queries):
        t0 = time.perf_counter()
        bare.encode([Lexicon().normalize(q["question"])], prompt="query: ", normalize_embeddings=True)
        bare_ms.append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        exact.search(qv.reshape(1, -1), k)
        exact_ms.append(1000 * (time.perf_counter() - t0))
    described = index.manifest.get("store", {})
    recall = 1.0
    if described.get("index") != "IndexFlatIP":
        _, truth = exact.search(queries, 10)
        got = [[pid for pid, _ in index.vectors.search(qv, 10)] for qv in queries]
        recall = float(np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)]))
    out = {
        "first_ask_ms": first_ms,
        **{f"{name}_p50_ms": statistics.median(v) for name, v in parts.items()},
        **{f"{name}_p95_ms": percentile(v, 95) for name, v in parts.items()},
        "limit_embed_p50_ms": statistics.median(bare_ms),
        "limit_search_p50_ms": statistics.median(exact_ms),
        "recall_at_10": recall,
        "questions": len(questions),
    }
    out["limit_p50_ms"] = out["limit_embed_p50_ms"] + out["limit_search_p50_ms"]
    return out


def run_size(size: int, args, settings, model, bare, questions, reference: dict | None) -> dict:
    base = args.keep / f"x{size}"
    corpus_dir, index_dir = base / "corpus", base / "index"
    base.mkdir(parents=True, exist_ok=True)
    row: dict = {"size": size, "corpus": make_corpus(size, corpus_dir)}
    synthetic = size >= args.synthetic_from
    row["synthetic_vectors"] = synthetic
    env = child_env(args.threads)
    if not (args.reuse_index and (index_dir / "CURRENT").exists()):
        shutil.rmtree(index_dir, ignore_errors=True)
        if synthetic:
            sentences, vectors = pool_vectors(args.keep, model)
            pool_file = args.keep / "pool-current.json"
            pool_file.write_text(json.dumps(sentences, ensure_ascii=False), encoding="utf-8")
            np.save(pool_file.with_suffix(".npy"), vectors)
            log(f"{size}x: building with pool vectors (child process) ...")
            cmd = [sys.executable, str(Path(__file__)), "--synthetic-build", str(corpus_dir), str(index_dir)]
            r = run_child([*cmd, str(pool_file)], env)
            inner = json.loads(r["stdout"].strip().splitlines()[-1])
            row["build"] = {"wall_s": r["seconds"], "peak_mb": r["peak_mb"], "lookup_s": inner["embed_seconds"]}
        else:
            log(f"{size}x: qa build ...")
            r = run_child([sys.executable, "-m", "qa", "build", str(corpus_dir), "--index", str(index_dir)], env)
            row["build"] = {"wall_s": r["seconds"], "cpu_s": r["cpu_s"], "peak_mb": r["peak_mb"]}
    from qa.indexing import store

    manifest = store.read_manifest(index_dir)
    row["counts"] = manifest["counts"]
    row["store"] = {k: v for k, v in manifest["store"].items() if k != "files"}
    if settings.ef_search and "ef_search" in row["store"]:  # QA_EF_SEARCH: what the asks below search with
        row["store"]["ef_search"] = settings.ef_search
    row["disk_mb"] = folder_mb(store.current_dir(index_dir))
    if "build" in row:
        row["build"]["build_seconds"] = manifest["build_seconds"]
        n = manifest["counts"]["passages"]
        if synthetic:
            if reference and reference.get("build", {}).get("passages_per_s"):
                row["build"]["projected_embed_h"] = n / reference["build"]["passages_per_s"] / 3600
        else:
            row["build"]["passages_per_s"] = n / max(1e-9, manifest["build_seconds"] - args.model_load_s)
            log(f"{size}x: bare fp32 encode on the same passages ...")
            row["bare"] = bare_throughput(bare, settings, corpus_dir, args.bare_sample)
            row["build"]["ratio"] = row["build"]["passages_per_s"] / row["bare"]["per_s"]
    log(f"{size}x: qa ask, one cold process ...")
    r = run_child([sys.executable, "-m", "qa", "ask", questions[0]["question"], "--index", str(index_dir)], env)
    row["cold_ask"] = {"seconds": r["seconds"], "cpu_s": r["cpu_s"], "peak_mb": r["peak_mb"]}
    b = row.get("build") or {}
    if "ratio" in b and "cpu_s" in b:
        # CPU seconds do not grow with the machine's load as wall seconds do: the build's, less what one
        # `qa ask` process spends (interpreter, imports, model load), against the bare encode's CPU.
        b["passages_per_cpu_s"] = row["counts"]["passages"] / max(1e-9, b["cpu_s"] - r["cpu_s"])
        b["ratio_cpu"] = b["passages_per_cpu_s"] / row["bare"]["per_cpu_s"]
    log(f"{size}x: qa serve to its first answer ...")
    row["cold_serve"] = cold_serve(index_dir, questions[0]["question"], env)
    log(f"{size}x: warm asks ...")
    row["warm"] = warm_asks(settings.replace(index_dir=index_dir), model, bare, questions)
    log(f"{size}x: done: {json.dumps(row, ensure_ascii=False)[:400]}")
    return row


# -- the table ----------------------------------------------------------------------------------


def _f(x, fmt="{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def table(result: dict) -> str:
    rows = result["rows"]
    head = "| | " + " | ".join(f"{r['size']:,}x" for r in rows) + " | target |"
    lines = [head, "|---" * (len(rows) + 2) + "|"]

    def add(label, cells, target=""):
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    def idx(r):
        s = r["store"]
        return s.get("index", s.get("kind", "?")) + (f" M{s['M']} ef{s['ef_search']}" if "M" in s else "")

    add(
        "documents / passages / sentences",
        [f"{r['counts']['documents']:,} / {r['counts']['passages']:,} / {r['counts']['sentences']:,}" for r in rows],
    )
    add("vectors", ["synthetic (pool)" if r["synthetic_vectors"] else "real model" for r in rows])
    add("index type", [idx(r) for r in rows])

    def build_cell(r):
        b = r.get("build")
        if not b:
            return "(reused)"
        return f"{b['wall_s']:.1f} s"

    add("build, end to end (qa build / synthetic builder)", [build_cell(r) for r in rows], "< 10 s (1x)")

    def thr(r):
        b = r.get("build") or {}
        if "ratio_cpu" in b:
            return (
                f"{b['passages_per_cpu_s']:.1f} vs bare {r['bare']['per_cpu_s']:.1f} per CPU s = **{b['ratio_cpu']:.2f}x** "
                f"(wall: {b['passages_per_s']:.1f}/s vs {r['bare']['per_s']:.1f}/s = {b['ratio']:.2f}x)"
            )
        if "ratio" in b:
            return f"wall: {b['passages_per_s']:.1f}/s vs bare {r['bare']['per_s']:.1f}/s = **{b['ratio']:.2f}x**"
        if "projected_embed_h" in b:
            return f"embedding synthetic ({b['lookup_s']:.0f} s of lookups); real: ~{b['projected_embed_h']:.1f} h at the 100x rate"
        return "-"

    add("build throughput (passages, model loaded) vs bare fp32 encode", [thr(r) for r in rows], ">= 1.0x")
    add("build peak RSS", [_f((r.get("build") or {}).get("peak_mb"), "{:,.0f} MB") for r in rows])
    add("index on disk", [f"{r['disk_mb']:,.1f} MB" for r in rows])
    add(
        "qa ask, one cold process",
        [f"{r['cold_ask']['seconds']:.1f} s ({r['cold_ask']['peak_mb']:,.0f} MB)" for r in rows],
    )
    add(
        "qa serve → first answer",
        [f"{r['cold_serve']['seconds']:.1f} s ({r['cold_serve']['peak_mb']:,.0f} MB)" for r in rows],
        "< 15 s",
    )
    add("first ask in a process (loads the index)", [f"{r['warm']['first_ask_ms']:,.0f} ms" for r in rows])
    add(
        "**warm ask p50 / p95** (limit: bare embed + exact search)",
        [
            f"**{w['total_p50_ms']:.1f}** / {w['total_p95_ms']:.1f} ms ({w['limit_p50_ms']:.1f}; "
            f"{w['total_p50_ms'] / w['limit_p50_ms']:.2f}x)"
            for w in (r["warm"] for r in rows)
        ],
        "< 50 ms, <= 1.5x",
    )
    add(
        "  embed p50 (limit: bare query embedding)",
        [f"{r['warm']['embed_p50_ms']:.1f} ms ({r['warm']['limit_embed_p50_ms']:.1f})" for r in rows],
    )
    add(
        "  search p50 (limit: exact FAISS search)",
        [f"{r['warm']['search_p50_ms']:.1f} ms ({r['warm']['limit_search_p50_ms']:.2f})" for r in rows],
    )
    add("  answer p50", [f"{r['warm']['answer_p50_ms']:.1f} ms" for r in rows])
    add("recall@10 vs exact search", [f"{r['warm']['recall_at_10']:.3f}" for r in rows], ">= .95")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--synthetic-build"]:
        synthetic_build(Path(argv[1]), Path(argv[2]), Path(argv[3]))
        return 0
    if argv[:1] == ["--render"]:  # --render A.json[,B.json] [--write-readme]: one table from earlier runs
        runs = [json.loads(Path(f).read_text(encoding="utf-8")) for f in argv[1].split(",")]
        by_size: dict[int, dict] = {}  # a later run's figures replace an earlier one's (a reused index keeps its build)
        for r in (r for run in runs for r in run["rows"]):
            by_size[r["size"]] = {**by_size.get(r["size"], {}), **r}
        merged = {**runs[0], "rows": [by_size[k] for k in sorted(by_size)]}
        merged["command"] = "\n    ".join(
            f"{run['command']}    # {run['date']}, load {run['loadavg_start']:.1f} -> {run['loadavg_end']:.1f}, "
            f"code {run.get('code', '?')}"
            for run in runs
        )
        merged["date"] = " to ".join([runs[0]["date"], runs[-1]["date"]])
        merged["loadavg_start"] = max(run["loadavg_start"] for run in runs)
        merged["loadavg_end"] = max(run["loadavg_end"] for run in runs)
        merged["code"] = ", ".join(run.get("code", "?") for run in runs)
        text = report(merged, runs[0].get("synthetic_from", 1000))
        print(text)
        if "--write-readme" in argv:
            write_readme(text)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes", default="1,100,1000", help="multiples of the report, comma-separated (default 1,100,1000)"
    )
    ap.add_argument("--threads", type=int, default=1, help="model threads here and in the children (default 1)")
    ap.add_argument("--questions", type=int, default=40, help="warm asks per size (default 40)")
    ap.add_argument("--keep", type=Path, help="keep corpora, indexes and perf.json here (default: a temp folder)")
    ap.add_argument("--synthetic-from", type=int, default=1000, help="sizes from this one on get synthetic vectors")
    ap.add_argument("--bare-sample", type=int, default=1000, help="passages the bare model encodes per size")
    ap.add_argument("--reuse-index", action="store_true", help="keep an index already in --keep (times asks only)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--write-readme",
        action="store_true",
        help="also put the table into bench/README.md (between its perf.py markers)",
    )
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="qa-perf-")
        args.keep = Path(tmp.name)
    args.keep.mkdir(parents=True, exist_ok=True)

    import torch
    from sentence_transformers import SentenceTransformer

    from qa.embedding import _source, make_embedder

    torch.set_num_threads(args.threads)
    settings = from_env()
    t0 = time.perf_counter()
    model = make_embedder(settings.model, settings.cache_dir, settings.backend)
    model.embed_batch(["warm up"], "query")
    args.model_load_s = time.perf_counter() - t0
    bare = SentenceTransformer(_source(settings.model, settings.cache_dir), device="cpu")
    bare.encode(["warm up"], prompt="query: ")
    questions = pick_questions(ROOT / "eval" / "dev.jsonl", args.questions)
    result = {
        "command": "".join(f"{k}={v} " for k, v in os.environ.items() if k == "QA_EF_SEARCH")
        + "bench/perf.py "
        + " ".join(argv),
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "backend": getattr(model, "backend", settings.backend),
        "model_load_s": args.model_load_s,
        "loadavg_start": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "code": subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "synthetic_from": args.synthetic_from,
        "rows": [],
    }
    reference = None
    for size in sizes:
        row = run_size(size, args, settings, model, bare, questions, reference)
        if not row["synthetic_vectors"] and "build" in row:
            reference = row
        result["rows"].append(row)
        (args.keep / "perf.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    result["loadavg_end"] = os.getloadavg()[0]
    (args.keep / "perf.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(report(result, args.synthetic_from))
    if args.write_readme:
        write_readme(report(result, args.synthetic_from))
    if tmp is not None:
        tmp.cleanup()
    return 0


README = ROOT / "bench" / "README.md"


def write_readme(text: str, script: str = "perf.py") -> None:
    """Replace the table between the script's markers in bench/README.md (figures are never typed by hand)."""
    marks = (f"<!-- {script} table: written by bench/{script} --write-readme -->", f"<!-- /{script} table -->")
    doc = README.read_text(encoding="utf-8")
    start, end = doc.index(marks[0]) + len(marks[0]), doc.index(marks[1])
    README.write_text(doc[:start] + "\n" + text + "\n" + doc[end:], encoding="utf-8")


def report(result: dict, synthetic_from: int) -> str:
    return "\n".join(
        [
            f"    {result['command']}",
            "",
            f"{result['cpus']} CPUs, {result['threads']} thread(s), backend {result['backend']}, load average "
            f"{result['loadavg_start']:.1f} -> {result['loadavg_end']:.1f}; measured {result['date']} "
            f"(code {result.get('code', '?')}).",
            "Corpora: 1x = the report (data/); larger = sentence-level reshuffles of the report, CMRC 2018 trial "
            f"and DRCD dev articles (bench/corpus.py); from {synthetic_from:,}x on the vectors are synthetic "
            "(each pool sentence embedded once by the real model; a passage = the normalized mean of its "
            "sentences' vectors), questions embedded by the real model.",
            "",
            table(result),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
