"""Generate a corpus N times the size of the report (in characters), for the scale benchmarks.

    .venv/bin/python bench/corpus.py 100 /tmp/corpus-100      # ~100x the report: ~5,200 passages
    .venv/bin/python bench/corpus.py 10000 /tmp/corpus-10000  # ~10,000x: ~500,000 passages

How the text is made (deterministic: the same N gives the same files):

- The pool: the report (`data/`) and the articles of the two shared benchmarks nobody here
  wrote (CMRC 2018 trial, simplified Chinese Wikipedia; DRCD dev, traditional Chinese), read
  with the project's own reader.
- Generated document k reshuffles source document k mod S at the sentence level: its
  paragraphs in a new order, and each paragraph rebuilt with as many sentences as it had,
  drawn from the sentences of the whole source document (so passages are new combinations,
  not copies of the source's). Paragraph lengths, vocabulary and the mix of simplified,
  traditional and "spun" text stay those of the pool.
- Files are written one paragraph per line until the corpus holds N x the report's characters.
  N = 1 copies the report itself.

Progress goes to stderr; the last line on stdout is a JSON summary (documents, paragraphs,
characters, bytes).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.documents import discover, read_document  # noqa: E402
from qa.indexing.chunking import split_sentences  # noqa: E402

REPORT = ROOT / "data"
SHARED = Path("/work/shared/benchmarks")
POOL = (REPORT, SHARED / "cmrc2018-trial" / "docs", SHARED / "drcd-dev" / "docs")


def _pool(folders) -> list[tuple[str, list[int], list[str]]]:
    """(name, paragraph sentence counts, sentences) of every readable source document."""
    out = []
    for folder in folders:
        if not Path(folder).is_dir():
            print(f"corpus: {folder} not found, left out of the pool", file=sys.stderr)
            continue
        for f in discover([folder])[0]:
            doc = read_document(f, 50_000_000)
            counts, sentences = [], []
            for p in doc.paragraphs:
                if p.boilerplate:
                    continue
                parts = [p.text[s:e].strip() for s, e in split_sentences(p.text)]
                parts = [x for x in parts if x]
                if parts:
                    counts.append(len(parts))
                    sentences.extend(parts)
            if sentences:
                out.append((f.stem, counts, sentences))
    return out


def report_chars() -> int:
    return sum(len(p.text) + 1 for f in discover([REPORT])[0] for p in read_document(f, 50_000_000).paragraphs)


def generate(factor: float, out: Path, pool_folders=POOL, seed: int = 12) -> dict:
    """Write ~factor x the report's characters of reshuffled documents into `out` (replaced)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if factor == 1:
        for f in discover([REPORT])[0]:
            shutil.copy(f, out / f.name)
        files = list(out.iterdir())
        nbytes = sum(f.stat().st_size for f in files)
        return {"factor": 1, "documents": len(files), "characters": report_chars(), "bytes": nbytes}
    pool = _pool(pool_folders)
    target = int(factor * report_chars())
    rng = random.Random(seed)
    chars = nbytes = paragraphs = k = 0
    while chars < target:
        name, counts, sentences = pool[k % len(pool)]
        order = counts[:]
        rng.shuffle(order)
        lines = ["".join(rng.choice(sentences) for _ in range(n)) for n in order]
        text = "\n".join(lines) + "\n"
        path = out / f"g{k:06d}_{name}.txt"
        path.write_text(text, encoding="utf-8")
        chars += len(text)
        nbytes += len(text.encode("utf-8"))
        paragraphs += len(lines)
        k += 1
        if k % 500 == 0:
            print(f"\rcorpus: {k} documents, {chars / target:.0%}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return {"factor": factor, "documents": k, "paragraphs": paragraphs, "characters": chars, "bytes": nbytes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("factor", type=float, help="size as a multiple of the report's characters (1, 100, 10000)")
    ap.add_argument("out", type=Path, help="folder to write (replaced if it exists)")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args(argv)
    if args.factor <= 0:
        ap.error(f"factor must be > 0, got {args.factor}")
    print(json.dumps(generate(args.factor, args.out, seed=args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
