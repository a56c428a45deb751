"""Check a held-out question set written for its own documents (eval/corpora/<name>/questions.jsonl
against <name>/docs): ids unique, every question held out, an unanswerable one cites nothing, an
answerable one cites paragraphs that exist (as `qa.documents.read_document` numbers them), its list
items are among them, every key (2-15 characters) is in one of them, and the count of each question
type is what the corpus's types.json says (its README's counts):

    .venv/bin/python eval/corpora/checking.py gov12
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def problems(folder: Path, types: dict[str, int] | None = None) -> list[str]:
    """What is wrong with `folder`'s questions.jsonl (nothing: an empty list); `types`: the expected
    count of each question type."""
    sys.path.insert(0, str(ROOT))
    from qa.documents import read_document

    questions = [
        json.loads(line)
        for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    out = [f"duplicate id {qid}" for qid, n in Counter(q["id"] for q in questions).items() if n > 1]
    read: dict[Path, dict[int, str]] = {}
    for q in questions:
        qid = q["id"]
        if q.get("split") != "heldout":
            out.append(f"{qid}: split is not heldout")
        if q["type"] == "unanswerable":
            if q["file"] is not None or q["gold"] or q["key"]:
                out.append(f"{qid}: unanswerable must have no file, gold or key")
            continue
        path = folder / "docs" / q["file"]
        if not path.exists():
            out.append(f"{qid}: missing file {q['file']}")
            continue
        if path not in read:
            read[path] = {p.number: p.text for p in read_document(path).paragraphs}
        paragraphs = read[path]
        if not q["gold"] or any(n not in paragraphs for n in q["gold"]):
            out.append(f"{qid}: bad gold {q['gold']}")
            continue
        if stray := [n for n in q.get("items", []) if n not in q["gold"]]:
            out.append(f"{qid}: items not in gold {stray}")
        if not q["key"]:
            out.append(f"{qid}: no key")
        if bad := [k for k in q["key"] if not 2 <= len(k) <= 15]:
            out.append(f"{qid}: key length out of range {bad}")
        texts = [paragraphs[n] for n in q["gold"]]
        if absent := [k for k in q["key"] if not any(k in t for t in texts)]:
            out.append(f"{qid}: keys not in any gold paragraph {absent}")
    found = dict(Counter(q["type"] for q in questions))
    if types is not None and found != types:
        out.append(f"type counts {found} differ from {types}")
    return out


def expected_types(folder: Path) -> dict[str, int] | None:
    """The question type counts `folder`'s types.json gives (None: it has none)."""
    path = folder / "types.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def main(argv: list[str]) -> int:
    """Print each named corpus's problems and their count; exit status 1 when there are any."""
    if not argv:
        print("usage: .venv/bin/python eval/corpora/checking.py CORPUS [CORPUS ...]   (e.g. gov12)")
        return 2
    total = 0
    for name in argv:
        folder = Path(__file__).resolve().parent / name
        found = problems(folder, expected_types(folder))
        for problem in found:
            print(f"{name}: {problem}")
        print(f"{name}: {len(found)} problems")
        total += len(found)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
