"""Abstention on an index of many related documents: how much of the wide model decides there, and at what cost.

    OMP_NUM_THREADS=1 .venv/bin/python bench/wide_share.py --index /tmp/qa-bulk [--general-only]
    OMP_NUM_THREADS=1 .venv/bin/python bench/wide_share.py --index /tmp/qa-mix --also cmrc

Builds (once, into --index) the 57 documents tests/test_wide_share.py indexes together: the narrow
corpora's documents (gov, gov2, gov3, gov4, manual, news), the folder of PDF/Word/HTML/Big5 files and
eval/corpora/govbulk. Then asks it every question of those corpora, tune and held out alike (none
of these figures is fitted on), and prints per corpus the answerable questions wrongly declined and
the unanswerable ones declined, with the wide model's share (abstain.wide_weight) the index's probes
give it. --general-only sets that share to 0 (the general model at the same index threshold), to
see what the share costs or buys. --also adds other corpora of bench/corpora.py (e.g. cmrc: 128
encyclopedia articles), their documents to the index and their questions to the table: one folder
holding narrow documents and articles alike. Use another --index for each --also (an index is built
once, from what the first run put in it). Rebuild (delete --index) after a change to chunking or
embedding: the probes' result is remembered per index version.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpora import CORPORA, questions  # noqa: E402
from bench.quality import one_thread_onnx  # noqa: E402

NARROW = ("gov", "gov2", "gov3", "gov4", "manual", "news", "mixed")
BULK = ROOT / "eval" / "corpora" / "govbulk" / "docs"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--index", type=Path, default=Path("/tmp/qa-bulk"), help="where the index is built and kept")
    ap.add_argument("--general-only", action="store_true", help="give the wide model no share")
    ap.add_argument(
        "--also", default="", metavar="NAMES", help="comma-separated corpora indexed and asked too (e.g. cmrc)"
    )
    args = ap.parse_args(argv)
    also = tuple(n for n in args.also.split(",") if n)
    unknown = [n for n in also if n not in CORPORA]
    if unknown:
        ap.error(f"unknown corpus {', '.join(unknown)}; choose from {', '.join(CORPORA)}")
    names = NARROW + tuple(n for n in also if n not in NARROW)
    from qa.answering import abstain
    from qa.config import from_env
    from qa.embedding import make_embedder
    from qa.indexing.builder import build
    from qa.indexing.versions import POINTER
    from qa.serving.service import QAService

    one_thread_onnx(int(os.environ.get("OMP_NUM_THREADS", "1")))
    settings = from_env().replace(index_dir=args.index)
    embedder = make_embedder(settings.model, settings.cache_dir, settings.backend)
    if not (args.index / POINTER).exists():
        build([BULK] + [CORPORA[name].docs[0] for name in names], settings, embedder)
    if args.general_only:
        abstain.wide_weight = lambda model, threshold: 0.0
    service = QAService(settings, embedder=embedder)
    health = service.health()
    print(f"{health['documents']} documents; wide share {health['wide_share']}; abstention {health['abstention']}")
    total = [0, 0, 0, 0]
    print("| corpus | answerable | false | unanswerable | declined |\n|---|---:|---:|---:|---:|")
    for name in names:
        counts = [0, 0, 0, 0]  # answerable, wrongly declined, unanswerable, declined
        for q in questions(CORPORA[name], "all"):
            _, decision = service.retrieve(q["question"], q.get("history") or [])
            row = 0 if q["gold"] else 2
            counts[row] += 1
            counts[row + 1] += not decision.found
        total = [t + c for t, c in zip(total, counts)]
        print(_row(name, counts))
    print(_row("all", total))
    return 0


def _row(name: str, c: list[int]) -> str:
    return f"| {name} | {c[0]} | {c[1] / max(c[0], 1):.3f} ({c[1]}) | {c[2]} | {c[3] / max(c[2], 1):.3f} ({c[3]}) |"


if __name__ == "__main__":
    sys.exit(main())
