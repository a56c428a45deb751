"""Check gov10 questions: gold paragraphs exist and a key occurs in a gold paragraph.
Run from /work/main:  .venv/bin/python eval/corpora/gov10/check.py"""

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
from qa.documents import read_document  # noqa: E402

docs = {}
problems = []
ids = set()
types = Counter()
for _line_no, line in enumerate((HERE / "questions.jsonl").read_text(encoding="utf-8").splitlines(), 1):
    if not line.strip():
        continue
    q = json.loads(line)
    qid = q.get("id")
    types[q["type"]] += 1
    if qid in ids:
        problems.append(f"{qid}: duplicate id")
    ids.add(qid)
    if q.get("split") != "heldout":
        problems.append(f"{qid}: split is not heldout")
    if q["type"] == "unanswerable":
        if q["file"] is not None or q["gold"] or q["key"]:
            problems.append(f"{qid}: unanswerable must have file null, empty gold and key")
        continue
    path = HERE / "docs" / q["file"]
    if not path.exists():
        problems.append(f"{qid}: missing file {q['file']}")
        continue
    if q["file"] not in docs:
        docs[q["file"]] = {p.number: p.text for p in read_document(path).paragraphs}
    paras = docs[q["file"]]
    if not q["gold"]:
        problems.append(f"{qid}: empty gold")
    for g in q["gold"]:
        if g not in paras:
            problems.append(f"{qid}: gold paragraph {g} does not exist")
    for it in q.get("items", []):
        if it not in q["gold"]:
            problems.append(f"{qid}: item {it} not in gold")
    if not q["key"]:
        problems.append(f"{qid}: empty key")
    if not any(k in paras.get(g, "") for k in q["key"] for g in q["gold"]):
        problems.append(f"{qid}: no key found in gold paragraphs")
    for k in q["key"]:
        if not any(k in paras.get(g, "") for g in q["gold"]):
            problems.append(f"{qid}: key {k!r} not in any gold paragraph")

for name, paras in sorted(docs.items()):
    print(f"{name}: {len(paras)} paragraphs")
print("questions:", sum(types.values()), dict(types))
for p in problems:
    print("PROBLEM", p)
print(f"{len(problems)} problems")
sys.exit(1 if problems else 0)
