"""What moved between two runs of bench/quality.py: the table cells, then each question that changed.

    .venv/bin/python bench/quality.py --cache /tmp/qa-quality --json /tmp/before.json
    # ... change the code ...
    .venv/bin/python bench/quality.py --cache /tmp/qa-quality --json /tmp/after.json
    .venv/bin/python bench/quality_diff.py /tmp/before.json /tmp/after.json [--part tune]

The table lists every corpus x part of the second run with each figure as `before -> after` where
it moved (a corpus new in the second run shows its figures alone). Below it, every question whose
rank, decision (declined or answered) or answer-holds-the-fact changed, so a change that helps one
corpus and hurts another shows which questions paid. Questions are matched by corpus and id.
Reads the two files only: no model, no index.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COLUMNS = ("recall@1", "recall@5", "mrr@10", "holds", "declined", "false")
CHANGES = ("rank", "declined", "holds")


def load(path: Path) -> dict:
    """A --json file of bench/quality.py (its table and per-question details)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path}: not a bench/quality.py --json file ({e})") from None
    if not isinstance(data, dict) or "table" not in data or "questions" not in data:
        raise SystemExit(f"{path}: not a bench/quality.py --json file (no table or questions); write one with --json")
    return data


def _cell(before, after) -> str:
    if after is None:
        return "·"
    if before is None or abs(before - after) < 1e-9:
        return f"{after:.3f}"
    return f"{before:.3f} -> {after:.3f}"


def table(before: dict, after: dict, parts: set[str]) -> str:
    """Markdown rows of `after`'s table, each figure shown with its value in `before` when it moved."""
    old = {(r["corpus"], r["part"]): r for r in before["table"]}
    lines = ["| corpus | part | " + " | ".join(COLUMNS) + " |", "|---|---|" + "---|" * len(COLUMNS)]
    for r in after["table"]:
        if r["part"] not in parts:
            continue
        o = old.get((r["corpus"], r["part"]), {})
        cells = [_cell(o.get(c), r.get(c)) for c in COLUMNS]
        lines.append(f"| {r['corpus']} | {r['part']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def changed(before: dict, after: dict, parts: set[str]) -> list[str]:
    """One line per question of `after` whose rank, decision or holds differs from `before`."""
    old = {(q["corpus"], q["id"]): q for q in before["questions"]}
    out = []
    for q in after["questions"]:
        p = old.get((q["corpus"], q["id"]))
        if p is None or q["part"] not in parts:
            continue
        moved = [f"{k} {p.get(k)} -> {q.get(k)}" for k in CHANGES if p.get(k) != q.get(k)]
        if moved:
            out.append(
                f"{q['corpus']} {q['part']} {q['id']} ({q.get('type', '')}): {', '.join(moved)}  {q['question']}"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("before", type=Path, help="bench/quality.py --json output of the earlier run")
    ap.add_argument("after", type=Path, help="bench/quality.py --json output of the later run")
    ap.add_argument("--part", choices=("tune", "heldout"), help="only this part (default both)")
    args = ap.parse_args(argv)
    before, after = load(args.before), load(args.after)
    parts = {args.part} if args.part else {"tune", "heldout"}
    print(f"{before.get('commit', '?')} -> {after.get('commit', '?')}\n")
    print(table(before, after, parts))
    lines = changed(before, after, parts)
    print(f"\n{len(lines)} question(s) changed" + (":" if lines else ""))
    for line in lines:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
