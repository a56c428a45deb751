"""The multi-corpus quality benchmark: every evaluation corpus through the real pipeline, one table.

    OMP_NUM_THREADS=1 .venv/bin/python bench/quality.py --cache /tmp/qa-quality      # all corpora, ~15 min
    .venv/bin/python bench/quality.py --corpora report,gov,cmrc --parts heldout --limit 60
    .venv/bin/python bench/quality.py --cache /tmp/qa-quality --markdown docs/quality.md --json /tmp/quality.json

For each corpus (bench/corpora.py) it builds an index of the corpus's documents with the code
`qa build` runs (into --cache DIR/<corpus docs>, reused and updated incrementally between runs, or
a temporary folder), asks every question of each part through QAService.retrieve + compose as
`qa eval` does (follow-ups with their history), and prints one row per corpus x part:

  n / ans / un   questions, answerable, unanswerable
  R@1 R@5 MRR    rank of the first gold paragraph (MRR@10), answerable questions
  holds          answerable questions whose answer holds a key (qa.evaluate.holds; declined = no)
  declined       share of unanswerable questions declined
  false          share of answerable questions declined
  unsure wrong   share of the wrong answers (an unanswerable question answered, an answer without
                 its key) shown with the low-confidence caution (Settings.sure_confidence)
  unsure right   share of the right answers (holding a key) shown with it

Beside it, the baseline measured in the same run: every non-boilerplate paragraph embedded whole
with the same model, the question alone embedded, paragraphs ranked by cosine (no lexical side, no
synonyms, no history); it declines when the top cosine is under ONE threshold, the highest that
declines <= 5% of the answerable questions of the tune parts of all corpora in the run, pooled
(every tune question, also under --limit). Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpora import PARTS, Corpus, available, questions  # noqa: E402
from qa.evaluate import gold_rank, judge_all, metrics  # noqa: E402

BASELINE_BUDGET = 0.05  # share of pooled tune answerable questions the baseline threshold may decline


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def one_thread_onnx(threads: int) -> None:
    """ONNX Runtime ignores OMP_NUM_THREADS: give its sessions `threads` intra-op threads too."""
    from qa.embedding import onnx

    init = onnx.OnnxRunner.__init__

    def patched(self, model_dir, precision="int8", threads_=threads):
        init(self, model_dir, precision, threads_)

    onnx.OnnxRunner.__init__ = patched


# -- vectors cached on disk between runs (the baseline's paragraphs and every question) ------------
class VectorCache:
    """Embeddings keyed by (kind, text) in one .npz file, so reruns embed only what is new."""

    def __init__(self, embedder, path: Path | None):
        self.embedder, self.path = embedder, path
        self.vectors: dict[str, np.ndarray] = {}
        if path and path.is_file():
            with np.load(path) as z:
                self.vectors = dict(zip(z["keys"].tolist(), z["vectors"]))
        self.dirty = False

    @staticmethod
    def _key(kind: str, text: str) -> str:
        return hashlib.sha256(f"{kind}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:24]

    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        keys = [self._key(kind, t) for t in texts]
        todo = sorted({(k, t) for k, t in zip(keys, texts) if k not in self.vectors}, key=lambda kt: -len(kt[1]))
        for i in range(0, len(todo), 256):
            batch = todo[i : i + 256]
            for (k, _), v in zip(batch, self.embedder.embed_batch([t for _, t in batch], kind)):
                self.vectors[k] = v
            self.dirty = True
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 1), np.float32)

    def save(self) -> None:
        if self.path and self.dirty:
            keys = list(self.vectors)
            tmp = self.path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
            tmp.replace(self.path)
            self.dirty = False


class Baseline:
    """Whole paragraphs, dense cosine only: the plain design the pipeline has to beat."""

    def __init__(self, docs, vectors: VectorCache):
        paras = [(d.name, p.number, p.text) for d in docs for p in d.paragraphs if not p.boilerplate]
        self.keys = [(d, n) for d, n, _ in paras]
        self.vectors = vectors
        self.matrix = vectors.embed([t for _, _, t in paras], "passage")

    def rank(self, qs: list[dict]) -> list[tuple[int | None, float]]:
        """(1-based rank of the first gold paragraph or None, top cosine) for each question."""
        if not qs:
            return []
        scores = self.vectors.embed([q["question"] for q in qs], "query") @ self.matrix.T
        out = []
        for q, row in zip(qs, scores):
            order = np.argsort(-row, kind="stable")
            out.append((gold_rank(q, (self.keys[j] for j in order)), float(row[order[0]])))
        return out


def baseline_threshold(pairs: list[tuple[dict, float]], budget: float = BASELINE_BUDGET) -> float:
    """The highest top-cosine cut that declines <= `budget` of the answerable questions among `pairs`."""
    from bench.calibrate import choose_threshold

    conf = np.array([c for _, c in pairs])
    y = np.array([1.0 if q["gold"] else 0.0 for q, _ in pairs])
    return choose_threshold(conf, y, budget)


# -- the pipeline ----------------------------------------------------------------------------------
def build(corpus: Corpus, settings, embedder, folder: Path, synonyms: bool = True, own: bool = True):
    """Index the corpus's documents with `qa build`'s code into `folder`; returns (settings, documents).

    The corpus's synonyms file, examples (docs/synonyms.md) and own abstention model (`qa
    calibrate`, docs/abstention.md) go in as `qa build` takes them, unless `synonyms` or `own` is
    False (the general mechanisms alone)."""
    from qa.answering.abstain import OWN_FILE
    from qa.indexing import builder as indexer
    from qa.indexing.synonyms import FILE

    left_out = {name for name, keep in ((FILE, synonyms), (OWN_FILE, own)) if not keep}

    s = settings.replace(index_dir=folder, data_dir=corpus.docs[0])
    t0 = time.perf_counter()
    with indexer.lock(s):
        docs, skipped = indexer.load_documents(corpus.docs, s)
        corpus_files = {k: v for k, v in indexer.corpus_files(corpus.docs).items() if k not in left_out}
        index = indexer.build_documents(docs, s, embedder, None, True, skipped, corpus_files)
    r = index.manifest["reused"]
    log(
        f"{corpus.name}: {len(docs)} documents indexed in {time.perf_counter() - t0:.1f}s "
        f"({r['embedded']} paragraphs embedded, {r['paragraphs']} reused)"
        + (f"; {len(skipped)} files not indexed" if skipped else "")
    )
    return s, docs


def index_folder(corpus: Corpus) -> str:
    """The index's folder name under --cache: one per set of documents."""
    digest = hashlib.sha256(str(corpus.docs).encode("utf-8")).hexdigest()[:8]
    return f"index-{corpus.docs[0].name}-{digest}"


def ask_all(service, qs: list[dict], label: str) -> tuple[list[dict], list[str]]:
    from tqdm import tqdm

    with tqdm(total=len(qs), desc=label, file=sys.stderr, leave=False, mininterval=2) as bar:
        rows, skipped, _ = judge_all(service, qs, lambda i, row: bar.update())
    return rows, skipped


def summarize(rows: list[dict], base: list[tuple[int | None, float]], qs: list[dict], t: float) -> dict:
    """One table row: the pipeline's figures and the baseline's on the same questions."""
    m = metrics(rows) if rows else {"questions": 0, "answerable": 0, "unanswerable": 0}
    ans = [b for b, q in zip(base, qs) if q["gold"]]
    un = [b for b, q in zip(base, qs) if not q["gold"]]
    share = lambda k, n: round(k / n, 3) if n else None  # noqa: E731
    return {
        "n": len(qs),
        "answerable": m.get("answerable", 0),
        "unanswerable": m.get("unanswerable", 0),
        "recall@1": m.get("recall@1"),
        "recall@5": m.get("recall@5"),
        "mrr@10": m.get("mrr@10"),
        "holds": m.get("holds"),
        "declined": share(m.get("declined", 0), m.get("unanswerable", 0)),
        "false": share(m.get("wrongly_declined", 0), m.get("answerable", 0)),
        "unsure_wrong": m.get("unsure_wrong"),
        "unsure_right": m.get("unsure_right"),
        "base_recall@1": share(sum(r == 1 for r, _ in ans), len(ans)),
        "base_recall@5": share(sum(1 for r, _ in ans if r and r <= 5), len(ans)),
        "base_declined": share(sum(c < t for _, c in un), len(un)),
        "base_false": share(sum(c < t for _, c in ans), len(ans)),
    }


COLUMNS = [
    ("corpus", "corpus"),
    ("part", "part"),
    ("n", "n"),
    ("answerable", "ans"),
    ("unanswerable", "un"),
    ("recall@1", "R@1"),
    ("recall@5", "R@5"),
    ("mrr@10", "MRR@10"),
    ("holds", "holds"),
    ("declined", "declined"),
    ("false", "false"),
    ("unsure_wrong", "unsure wrong"),
    ("unsure_right", "unsure right"),
    ("base_recall@1", "base R@1"),
    ("base_recall@5", "base R@5"),
    ("base_declined", "base declined"),
    ("base_false", "base false"),
]


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table, padded so it also reads as plain text."""

    def cell(v) -> str:
        if v is None:
            return "·"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    head = [h for _, h in COLUMNS]
    cells = [[cell(r.get(k)) for k, _ in COLUMNS] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    text = 2  # the first columns are names, left-aligned; the rest are figures

    def line(values: list[str]) -> str:
        padded = (v.ljust(w) if i < text else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) if i < text else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), rule, *(line(c) for c in cells)])


def commit() -> str:
    """The commit the code ran at, "+changes" when qa/ or bench/ differ from it."""
    run = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    head = run("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if run("status", "--porcelain", "--", "qa", "bench", "eval", "data") else "")


def threshold_origin(info: dict) -> str:
    if not info["threshold_from"]:
        return "given with --threshold"
    return f"the highest declining <= {BASELINE_BUDGET:.0%} of the pooled tune answerable questions of " + ", ".join(
        info["threshold_from"]
    )


def markdown(rows: list[dict], command: str, info: dict) -> str:
    return f"""# Quality on every evaluation corpus

Written by `bench/quality.py` (do not edit by hand); regenerate with:

    {command}

Commit {info["commit"]}, {info["date"]}, {info["seconds"]:.0f} s, model {info["model"]} ({info["backend"]}).
Corpora and their tune/heldout parts: bench/corpora.py. Columns: bench/quality.py's docstring;
in short `holds` = share of answerable questions whose answer contains one of the question's keys
(declined counts as not holding), `declined` = share of unanswerable questions declined, `false` =
share of answerable questions declined; `unsure wrong` / `unsure right` = share of the wrong / right
answers shown with the low-confidence caution (Settings.sure_confidence). Baseline: whole paragraphs, dense cosine only, declines
under one top-cosine threshold ({info["threshold"]:.4f}, {threshold_origin(info)}).
{own_note(info)}

{table(rows)}
"""


def own_note(info: dict) -> str:
    """Which corpora a model of their own decided for (`qa calibrate`, docs/abstention-own.md), and
    which the general model's wide one took part for (abstain.wide_weight)."""
    wide = info.get("wide_abstention") or []
    wide_note = (
        f" The general model's wide one (docs/abstention.md: an index whose probe questions look answerable) "
        f"took its share of deciding the Chinese questions of: {', '.join(wide)}."
        if wide
        else ""
    )
    if info.get("general_abstention"):
        return "Every corpus decided by the general abstention model (`--general-abstention`)." + wide_note
    own = info.get("own_abstention") or []
    if not own:
        return "Every corpus decided by the general abstention model (docs/abstention.md)." + wide_note
    return (
        f"Decided by a model of their own (an abstention.json beside the documents, `qa calibrate`, fitted on "
        f"their tune part, whose rows are in-sample for it): {', '.join(own)}; the others by the general model."
        + wide_note
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--corpora", help="comma-separated corpus names (default: all; see bench/corpora.py)")
    ap.add_argument("--parts", default="tune,heldout", help="comma-separated parts: tune, heldout (default both)")
    ap.add_argument("--cache", type=Path, help="folder kept between runs for the indexes and vectors (faster reruns)")
    ap.add_argument("--limit", type=int, help="at most N questions per corpus part (a fixed sample)")
    ap.add_argument("--markdown", type=Path, help="also write the table with its command and commit to FILE")
    ap.add_argument("--json", type=Path, help="write per-question details and the table to FILE")
    ap.add_argument(
        "--threshold",
        type=float,
        help="the baseline's top-cosine threshold (default: fitted in the run); give docs/quality.md's "
        "to compare a run over some corpora with the full table",
    )
    ap.add_argument("--no-synonyms", action="store_true", help="index without the corpora's synonyms.tsv files")
    ap.add_argument(
        "--general-abstention",
        action="store_true",
        help="index without the corpora's own abstention.json (qa calibrate): the general model decides everywhere",
    )
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not parts or any(p not in PARTS for p in parts):
        ap.error(f"--parts takes tune and/or heldout, got {args.parts!r}")
    if args.limit is not None and args.limit <= 0:
        ap.error(f"--limit must be > 0, got {args.limit}")
    names = [n.strip() for n in args.corpora.split(",") if n.strip()] if args.corpora else None
    try:
        corpora = available(names, say=log)
    except ValueError as e:
        ap.error(str(e))
    if not corpora:
        log("no corpus to run")
        return 2

    from qa.config import from_env
    from qa.embedding import make_embedder
    from qa.serving.service import QAService
    from qa.text import is_english

    if os.environ.get("OMP_NUM_THREADS"):
        one_thread_onnx(int(os.environ["OMP_NUM_THREADS"]))
    settings = from_env()
    embedder = make_embedder(settings.model, settings.cache_dir, settings.backend)
    t_start = time.perf_counter()
    results, details, pooled_tune, own, wide = [], [], [], [], []
    with ExitStack() as stack:
        work = args.cache or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qa-quality-")))
        work.mkdir(parents=True, exist_ok=True)
        vectors = VectorCache(embedder, work / f"vectors-{hashlib.sha256(settings.model.encode()).hexdigest()[:8]}.npz")
        for corpus in corpora:
            # Corpora over the same documents share one index folder (report and report-hant, cmrc and cmrc-en).
            suffix = ("-no-synonyms" if args.no_synonyms else "") + ("-general" if args.general_abstention else "")
            folder = work / (index_folder(corpus) + suffix)
            s, docs = build(corpus, settings, embedder, folder, not args.no_synonyms, not args.general_abstention)
            service = QAService(s, embedder=embedder)
            which = service.health().get("abstention")  # the model deciding its Chinese questions (abstain.which)
            if which == "own":
                own.append(corpus.name)
            elif which == "wide" and not all(is_english(q["question"]) for q in questions(corpus)):
                wide.append(corpus.name)  # not cmrc-en: its English questions go to the general model
            base = Baseline(docs, vectors)
            tune_all = questions(corpus, "tune")
            pooled_tune += list(zip(tune_all, (c for _, c in base.rank(tune_all))))
            for part in parts:
                qs = questions(corpus, part, args.limit)
                if not qs:
                    log(f"{corpus.name}/{part}: no questions")
                    continue
                t0 = time.perf_counter()
                rows, skipped = ask_all(service, qs, f"{corpus.name}/{part}")
                for problem in skipped:
                    log(f"{corpus.name}/{part}: {problem}; skipped")
                log(f"{corpus.name}/{part}: {len(qs)} questions in {time.perf_counter() - t0:.1f}s")
                results.append({"corpus": corpus.name, "part": part, "qs": qs, "rows": rows, "base": base.rank(qs)})
            vectors.save()
    t = baseline_threshold(pooled_tune) if args.threshold is None else args.threshold
    table_rows = []
    for r in results:
        table_rows.append({"corpus": r["corpus"], "part": r["part"], **summarize(r["rows"], r["base"], r["qs"], t)})
        by_id = {row["id"]: row for row in r["rows"]}
        for q, (brank, cos) in zip(r["qs"], r["base"]):
            row = by_id.get(q.get("id"), {})
            details.append(
                {
                    "id": q.get("id"),
                    "corpus": r["corpus"],
                    "part": r["part"],
                    "type": q.get("type", ""),
                    "question": q["question"],
                    "answerable": bool(q["gold"]),
                    "rank": row.get("rank"),
                    "found": row.get("found"),
                    "declined": None if not row else not row["found"],
                    "confidence": row.get("confidence"),
                    "holds": row.get("holds"),
                    "answer": row.get("answer"),
                    "skipped": not row,
                    "base_rank": brank,
                    "base_cosine": round(cos, 4),
                    "base_declined": cos < t,
                }
            )
    given = argv if argv is not None else sys.argv[1:]
    command = "OMP_NUM_THREADS=1 .venv/bin/python bench/quality.py " + " ".join(given)
    info = {
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": time.perf_counter() - t_start,
        "model": settings.model,
        "backend": getattr(embedder, "backend", settings.backend),
        "threshold": t,
        "threshold_from": sorted({q["corpus"] for q, _ in pooled_tune}) if args.threshold is None else None,
        "general_abstention": args.general_abstention,
        "own_abstention": own,
        "wide_abstention": wide,
    }
    log(f"done in {info['seconds']:.0f}s; baseline threshold {t:.4f}: {threshold_origin(info)}")
    print(table(table_rows))
    if args.markdown:
        args.markdown.write_text(markdown(table_rows, command.strip(), info), encoding="utf-8")
        log(f"wrote {args.markdown}")
    if args.json:
        payload = {"command": command.strip(), **info, "table": table_rows, "questions": details}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
