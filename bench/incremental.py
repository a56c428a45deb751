"""Incremental vs full builds: add one document to a corpus of 100+ and time `qa build`.

    .venv/bin/python bench/incremental.py                      # the CMRC 2018 trial articles (128)
    .venv/bin/python bench/incremental.py --docs DIR --json

Steps, each a `python -m qa build` subprocess timed end to end (interpreter start, imports, model
load when something must be embedded, reading, chunking, embedding, BM25, writing, publishing),
into a temporary folder:

  full       all documents but the last, nothing to reuse
  add one    the same plus the last document: only its paragraphs are embedded
  unchanged  the same corpus again: nothing is embedded (the model is not even loaded)
  remove one the last document removed again
  full again the whole corpus with --full (every paragraph embedded again), for comparison

Each line shows the wall time and what the manifest says was embedded and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = Path("/work/shared/benchmarks/cmrc2018-trial/docs")


def build(data: Path, index: Path, *extra: str) -> dict:
    env = {**os.environ, "QA_PROGRESS": "0"}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "qa", "build", str(data), "--index", str(index), "--json", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"qa build failed: {done.stderr[-1000:]}")
    m = json.loads(done.stdout)
    return {
        "seconds": round(wall, 1),
        "documents": m["counts"]["documents"],
        "paragraphs_embedded": m["reused"]["embedded"],
        "paragraphs_reused": m["reused"]["paragraphs"],
        "build_seconds_in_manifest": m["build_seconds"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=Path, default=DOCS, help="folder of documents (default: CMRC 2018 trial)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    files = sorted(f for f in args.docs.iterdir() if f.is_file() and not f.name.startswith("."))
    if len(files) < 2:
        raise SystemExit(f"{args.docs}: need at least two documents")
    root = Path(tempfile.mkdtemp(prefix="qa-incr-"))
    try:
        data, index = root / "data", root / "index"
        data.mkdir()
        for f in files[:-1]:
            shutil.copy(f, data / f.name)
        rows = {}
        print(f"{len(files)} documents from {args.docs}", file=sys.stderr)
        rows["full"] = build(data, index)
        shutil.copy(files[-1], data / files[-1].name)
        rows["add one"] = build(data, index)
        rows["unchanged"] = build(data, index)
        (data / files[-1].name).unlink()
        rows["remove one"] = build(data, index)
        shutil.copy(files[-1], data / files[-1].name)
        rows["full again"] = build(data, index, "--full")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'step':<12}{'wall s':>8}{'docs':>6}{'embedded':>10}{'reused':>8}")
    for step, r in rows.items():
        print(
            f"{step:<12}{r['seconds']:>8}{r['documents']:>6}{r['paragraphs_embedded']:>10}{r['paragraphs_reused']:>8}"
        )
    ratio = rows["add one"]["seconds"] / rows["full again"]["seconds"]
    print(f"adding one document took {ratio:.0%} of a full build's time")


if __name__ == "__main__":
    main()
