"""Copy the HELD-OUT half of the shared benchmarks into eval/benchmarks-heldout/ for CI.

    python scripts/vendor_heldout.py [SHARED_BENCHMARKS]     # default: bench.corpora.benchmarks_dir()

CI runs on a bare machine without ../shared/benchmarks; the CMRC and DRCD floors in
tests/test_eval_floor.py sit on their held-out parts only, so this copies exactly those: the
documents whose name bench.corpora.split_of_name puts in "heldout", and the questions of the
held-out part, in file order (so `questions(corpus, "heldout", limit)` draws the same sample as
with the full folder). The sources' licences (CC BY-SA) ask that the attribution travels with
every copy: each source README is copied too. Nothing of the tune half is copied, so the copy
cannot be tuned on by accident.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpora import split_of, split_of_name  # noqa: E402

OUT = ROOT / "eval" / "benchmarks-heldout"


def main() -> None:
    from bench.corpora import benchmarks_dir

    src = Path(sys.argv[1]) if len(sys.argv) > 1 else benchmarks_dir()
    for name in ("cmrc2018-trial", "drcd-dev"):
        s, d = src / name, OUT / name
        if d.exists():
            shutil.rmtree(d)
        (d / "docs").mkdir(parents=True)
        shutil.copy2(s / "README.md", d / "README.md")
        docs = [f for f in sorted((s / "docs").iterdir()) if split_of_name(f.name) == "heldout"]
        for f in docs:
            shutil.copy2(f, d / "docs" / f.name)
        rows = [json.loads(line) for line in (s / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line]
        kept = [q for q in rows if split_of(q) == "heldout"]
        (d / "questions.jsonl").write_text(
            "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in kept), encoding="utf-8"
        )
        print(f"{name}: {len(docs)} documents, {len(kept)} of {len(rows)} questions (held-out part)")


if __name__ == "__main__":
    main()
