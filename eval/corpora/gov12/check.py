"""Check the gov12 held-out questions against the documents they cite."""

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from qa.documents import read_document  # noqa: E402

EXPECTED_TYPES = {
    "paraphrase": 38,
    "number": 8,
    "list": 6,
    "who": 3,
    "when": 3,
    "where": 3,
    "English": 8,
    "traditional": 4,
    "unanswerable": 12,
}


def check() -> list[str]:
    problems = []
    questions = [
        json.loads(line) for line in (HERE / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    ids = Counter(q["id"] for q in questions)
    problems += [f"duplicate id {qid}" for qid, n in ids.items() if n > 1]
    cache = {}
    for q in questions:
        qid = q["id"]
        if q.get("split") != "heldout":
            problems.append(f"{qid}: split is not heldout")
        if q["type"] == "unanswerable":
            if q["file"] is not None or q["gold"] or q["key"]:
                problems.append(f"{qid}: unanswerable must have no file, gold or key")
            continue
        path = HERE / "docs" / q["file"]
        if not path.exists():
            problems.append(f"{qid}: missing file {q['file']}")
            continue
        if path not in cache:
            cache[path] = {p.number: p.text for p in read_document(path).paragraphs}
        paragraphs = cache[path]
        missing = [n for n in q["gold"] if n not in paragraphs]
        if not q["gold"] or missing:
            problems.append(f"{qid}: bad gold {q['gold']}")
            continue
        stray = [n for n in q.get("items", []) if n not in q["gold"]]
        if stray:
            problems.append(f"{qid}: items not in gold {stray}")
        bad_len = [k for k in q["key"] if not 2 <= len(k) <= 15]
        if bad_len:
            problems.append(f"{qid}: key length out of range {bad_len}")
        texts = [paragraphs[n] for n in q["gold"]]
        if not any(k in t for k in q["key"] for t in texts):
            problems.append(f"{qid}: no key found in gold paragraphs")
        absent = [k for k in q["key"] if not any(k in t for t in texts)]
        if absent:
            problems.append(f"{qid}: keys not in any gold paragraph {absent}")
    types = Counter(q["type"] for q in questions)
    if dict(types) != EXPECTED_TYPES:
        problems.append(f"type counts {dict(types)} differ from {EXPECTED_TYPES}")
    print(f"{len(questions)} questions, types: {dict(Counter(q['type'] for q in questions))}")
    return problems


if __name__ == "__main__":
    found = check()
    for problem in found:
        print(problem)
    print(f"{len(found)} problems")
