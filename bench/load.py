"""Load: N concurrent chat clients against a live `qa serve` on loopback, with rebuilds in the middle.

    .venv/bin/python bench/load.py                        # 16 clients, 60 s, one rebuild at 30 s
    .venv/bin/python bench/load.py --clients 32 --seconds 120
    .venv/bin/python bench/load.py --rebuilds 5           # then 5 more rebuilds, RSS after each
    .venv/bin/python bench/load.py --env QA_BATCH_QUERIES=0   # one question at a time through the model
    .venv/bin/python bench/load.py --repo /tmp/baseline   # serve another checkout's code (same venv)
    .venv/bin/python bench/load.py --json

What happens (everything in a temporary folder; data/, index/ and the model cache are not touched):

  1. copy --data (default data/, the report) and build an index of it with `python -m qa build`;
  2. start `python -m qa serve` on a free loopback port over that copy; wait for /healthz;
  3. each client loops POST /api/ask over the questions of eval/dev.jsonl (with their history)
     for --seconds; a request counts as an error if it fails or answers anything but 200;
  4. at --rebuild-at of the run, one client of the Documents tab adds a new document (an article
     from --new-docs) through the UI's /add_documents endpoint, which stores it and rebuilds;
  5. afterwards, --rebuilds more add-and-rebuild rounds with no load, printing the server's RSS
     after each, to show whether memory returns to its level.

Printed: requests served, throughput, p50/p95/max latency, errors (must be 0), the server's RSS
before the load, its peak (VmHWM) and RSS at the end, and how long each rebuild took.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEW_DOCS = Path("/work/shared/benchmarks/cmrc2018-trial/docs")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (VmRSS now, VmHWM the peak), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))] if s else float("nan")


def questions(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            out.append({"question": q["question"], "history": q.get("history") or []})
    return out


def new_documents(folder: Path, n: int) -> list[tuple[str, str]]:
    """(title, text) of n articles to add, or made-up ones when the benchmark corpus is not there."""
    files = sorted(folder.glob("*.txt"))[:n] if folder.is_dir() else []
    docs = [(f"load-{i}-{f.stem}", f.read_text(encoding="utf-8")) for i, f in enumerate(files)]
    while len(docs) < n:
        i = len(docs)
        docs.append(
            (f"load-{i}", "\n".join(f"第{i}号测试文档的第{j}段，记录了编号为{i * 100 + j}的事项。" for j in range(40)))
        )
    return docs


class Server:
    def __init__(self, repo: Path, root: Path, data: Path, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "serve.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_CACHE_DIR"}
        full_env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(repo), **env)
        self.env = full_env
        args = ["serve", "--port", str(self.port), "--data", str(data), "--index", str(root / "index")]
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "qa", *args], cwd=repo, env=full_env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_healthy(self, timeout: float = 600) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"qa serve exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit("qa serve did not become healthy")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def add_and_rebuild(url: str, title: str, text: str, token: str = "") -> float:
    """Paste a document into the Documents tab's endpoint (store + rebuild); return the seconds it took."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/add_documents"]["parameters"]
    args = [None, title, text, "add", token][: len(params)]  # older servers take no token
    t0 = time.perf_counter()
    status = client.predict(*args, api_name="/add_documents")[0]
    if "status-ok" not in status:
        raise RuntimeError(f"rebuild failed: {status[:300]}")
    return time.perf_counter() - t0


def run_load(server: Server, qs: list[dict], clients: int, seconds: float, rebuild_at: float, doc) -> dict:
    import httpx

    latencies: list[float] = []
    slowest: list[tuple[float, float, str]] = []  # (latency, start offset, question)
    errors: list[str] = []
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + seconds
    peak_rss = [rss_mb(server.proc.pid)]

    def client(k: int) -> None:
        with httpx.Client(timeout=60) as http:
            i = k * 7
            while time.monotonic() < deadline:
                q = qs[i % len(qs)]
                i += 1
                t0 = time.perf_counter()
                try:
                    r = http.post(f"{server.url}/api/ask", json=q)
                    ok, why = r.status_code == 200, f"HTTP {r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as e:
                    ok, why = False, f"{type(e).__name__}: {e}"
                took = time.perf_counter() - t0
                with lock:
                    (latencies.append(took) if ok else errors.append(why))
                    if ok and took > 2.0:
                        slowest.append((round(took, 1), round(time.monotonic() - start - took, 1), q["question"][:30]))

    def sampler() -> None:
        while time.monotonic() < deadline:
            peak_rss.append(rss_mb(server.proc.pid))
            time.sleep(0.5)

    rebuild: dict = {}

    def rebuilder() -> None:
        time.sleep(seconds * rebuild_at)
        rebuild["at_s"] = round(seconds * rebuild_at, 1)
        try:
            rebuild["seconds"] = round(add_and_rebuild(server.url, *doc), 2)
        except Exception as e:  # noqa: BLE001 - reported, counts as an error
            errors.append(f"rebuild: {e}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    threads += [threading.Thread(target=sampler), threading.Thread(target=rebuilder)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": len(latencies),
        "throughput_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(1000 * percentile(latencies, 50), 1),
        "p95_ms": round(1000 * percentile(latencies, 95), 1),
        "max_ms": round(1000 * max(latencies), 1) if latencies else None,
        "mean_ms": round(1000 * statistics.mean(latencies), 1) if latencies else None,
        "slowest": sorted(slowest, reverse=True)[:5],
        "errors": len(errors),
        "error_samples": errors[:5],
        "rebuild": rebuild,
        "rss_sampled_peak_mb": round(max(peak_rss), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--rebuild-at", type=float, default=0.5, help="fraction of the run at which to rebuild")
    p.add_argument("--rebuilds", type=int, default=0, help="add-and-rebuild rounds after the load (memory)")
    p.add_argument("--data", type=Path, default=ROOT / "data")
    p.add_argument("--new-docs", type=Path, default=NEW_DOCS, help="folder of .txt articles to add")
    p.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev.jsonl")
    p.add_argument("--repo", type=Path, default=ROOT, help="checkout whose qa package is served")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="extra environment for the server")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    env = dict(kv.split("=", 1) for kv in args.env)
    root = Path(tempfile.mkdtemp(prefix="qa-load-"))
    server = None
    try:
        shutil.copytree(args.data, root / "data")
        log(f"building the index of {args.data} ...")
        build_env = {**os.environ, "QA_PROGRESS": "0", "PYTHONPATH": str(args.repo)}
        subprocess.run(
            [sys.executable, "-m", "qa", "build", str(root / "data"), "--index", str(root / "index")],
            cwd=args.repo,
            env=build_env,
            check=True,
            capture_output=True,
        )
        server = Server(args.repo, root, root / "data", env)
        server.wait_healthy()
        qs = questions(args.questions)
        docs = new_documents(args.new_docs, 1 + args.rebuilds)
        import httpx

        for q in qs[:5]:  # warm up
            httpx.post(f"{server.url}/api/ask", json=q, timeout=60)
        before = rss_mb(server.proc.pid)
        log(f"server up ({before:.0f} MB); {args.clients} clients for {args.seconds:.0f} s ...")
        result = run_load(server, qs, args.clients, args.seconds, args.rebuild_at, docs[0])
        result["rss_before_mb"] = round(before, 1)
        result["rss_after_load_mb"] = round(rss_mb(server.proc.pid), 1)
        rounds = []
        for title, text in docs[1:]:
            seconds = add_and_rebuild(server.url, title, text)
            rounds.append({"rebuild_s": round(seconds, 2), "rss_mb": round(rss_mb(server.proc.pid), 1)})
            log(f"rebuild {len(rounds)}: {seconds:.1f} s, RSS {rounds[-1]['rss_mb']:.0f} MB")
        result["rebuild_rounds"] = rounds
        result["rss_peak_mb"] = round(rss_mb(server.proc.pid, "VmHWM"), 1)
        result["rss_end_mb"] = round(rss_mb(server.proc.pid), 1)
        result["server_env"] = env
    finally:
        if server:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    r = result
    print(
        f"{r['clients']} clients, {r['seconds']} s: {r['requests']} requests served ({r['throughput_per_s']}/s), "
        f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, max {r['max_ms']} ms, errors {r['errors']}"
    )
    for took, at, q in r["slowest"][:3]:
        print(f"  slow: {took} s, sent at {at} s: {q}")
    if r["error_samples"]:
        print("  errors: " + " | ".join(r["error_samples"]))
    if r["rebuild"]:
        print(f"rebuild during the load at {r['rebuild'].get('at_s')} s took {r['rebuild'].get('seconds')} s")
    print(
        f"server RSS: {r['rss_before_mb']} MB before, {r['rss_after_load_mb']} MB after the load, "
        f"peak {r['rss_peak_mb']} MB, {r['rss_end_mb']} MB at the end"
    )
    for i, round_ in enumerate(r["rebuild_rounds"], 1):
        print(f"  rebuild {i}: {round_['rebuild_s']} s, RSS {round_['rss_mb']} MB")


if __name__ == "__main__":
    main()
