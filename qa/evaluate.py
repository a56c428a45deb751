"""`qa eval`: retrieval and answer quality on a JSON Lines question set, overall and by question type."""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from qa.errors import BadInputError

RANKED_KEPT = 10
LIST_DEPTH = 8  # every item of a list question should be within this many paragraphs


def read_questions(path: Path, problems: list[str] | None = None) -> list[dict]:
    """Parse an eval file; a bad line is skipped and described in `problems` (or on stderr), not fatal.

    Raises BadInputError only when the file is missing or holds no usable question."""
    if not Path(path).is_file():
        raise BadInputError(f"{path}: no such file")
    found: list[str] = [] if problems is None else problems
    out = []
    for no, raw in enumerate(Path(path).read_bytes().splitlines(), 1):
        if not raw.strip():
            continue
        q, why = _parse_row(raw)
        if why:
            found.append(f"{path}:{no}: {why}; skipped")
        else:
            out.append(dict(q, _line=no))
    if problems is None:
        for problem in found:
            print(f"warning: {problem}", file=sys.stderr)
    if not out:
        detail = f" ({found[0]})" if found else ""
        raise BadInputError(f"{path}: no usable questions in the file{detail}")
    return out


def _parse_row(raw: bytes) -> tuple[dict | None, str | None]:
    """One line of an eval file -> (question, None) or (None, what is wrong with it)."""
    try:
        q = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        return None, f"not valid UTF-8 (byte {e.start})"
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as e:
        return None, f"not valid JSON ({e})"
    if not isinstance(q, dict) or not isinstance(q.get("question"), str) or not isinstance(q.get("gold"), list):
        return None, 'each line needs "question" (string) and "gold" (list of paragraph numbers)'
    if not all(isinstance(g, int) and not isinstance(g, bool) for g in q["gold"]):
        return None, '"gold" must list paragraph numbers (integers)'
    if "file" in q and q["file"] is not None and not isinstance(q["file"], str):
        return None, '"file" must be a file name (string)'
    history = q.get("history")
    if history is not None and (not isinstance(history, list) or not all(isinstance(h, str) for h in history)):
        return None, '"history" must be a list of earlier questions (strings)'
    return q, None


_MARKER = re.compile(r"\[\d+\]")
_SPACE = re.compile(r"\s+")


@cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s").convert


def _plain(text: str) -> str:
    return _SPACE.sub("", _MARKER.sub("", text))


def holds(answer_text: str, keys) -> bool:
    """Whether the answer states the fact: one of `keys` occurs in it, citation markers like [3] and all
    whitespace removed, compared as written and again with both sides in Simplified characters (OpenCC
    t2s), since keys copied from Traditional documents meet answers to Simplified questions and back."""
    text = _plain(answer_text or "")
    wanted = [_plain(k) for k in keys or () if isinstance(k, str) and _plain(k)]
    if not text or not wanted:
        return False
    if any(k in text for k in wanted):
        return True
    t2s = _t2s()
    text = t2s(text)
    return any(t2s(k) in text for k in wanted)


def keys_of(q: dict) -> list[str]:
    """The strings that state a question's fact: "key" (benchmark format) or "facts" (the report's sets)."""
    return list(q.get("key") or q.get("facts") or [])


def _is_gold(q: dict, doc: str, paragraph: int) -> bool:
    return paragraph in q["gold"] and (not q.get("file") or q["file"] == doc)


def gold_rank(q: dict, ranked) -> int | None:
    """1-based rank of the first of q's gold paragraphs among `ranked` ((doc, paragraph, ...) rows), or None."""
    return next((i for i, (d, p, *_) in enumerate(ranked, 1) if _is_gold(q, d, p)), None)


def judge(q: dict, answer, ranked: list[tuple[str, int, float]]) -> dict:
    """Per-question outcome: gold rank, list coverage, first-sentence fact, decision."""
    rank = gold_rank(q, ranked)
    row = {
        "id": q.get("id"),
        "question": q["question"],
        "type": q.get("type", ""),
        "gold": q["gold"],
        "found": answer.found,
        "unsure": answer.unsure,
        "answer": answer.answer,
        "rank": rank,
        "ranked": [
            {"doc": d, "paragraph": p, "score": round(s, 4)} for d, p, s in ranked[: max(RANKED_KEPT, LIST_DEPTH)]
        ],
    }
    if q.get("items"):
        top = {p for d, p, _ in ranked[:LIST_DEPTH] if not q.get("file") or d == q["file"]}
        row["items_covered"] = all(i in top for i in q["items"])
    if q["gold"] and keys_of(q):
        row["holds"] = answer.found and holds(answer.answer, keys_of(q))
    if q.get("facts") and q["gold"]:
        first = answer.answer.split("[", 1)[0] if answer.found else ""
        row["fact_first"] = any(f in first for f in q["facts"])
    return row


def judge_all(
    service, questions: list[dict], on_row: Callable[[int, dict | None], None] | None = None
) -> tuple[list[dict], list[str], list[float]]:
    """Ask every question (with its history) and judge it: (rows, skipped, seconds per question).

    A question the service refuses (empty, only invisible characters ...) is described in `skipped`
    and the rest still run. `on_row(i, row or None)` is called after each question."""
    rows, latencies, skipped = [], [], []
    for i, q in enumerate(questions, 1):
        t0 = time.perf_counter()
        try:
            r, decision = service.retrieve(q["question"], q.get("history") or [])
        except BadInputError as err:  # e.g. a question of only invisible characters
            skipped.append(f"line {q.get('_line', i)}: {err}")
            if on_row:
                on_row(i, None)
            continue
        answer = service.compose(r, decision)
        latencies.append(time.perf_counter() - t0)
        ranked = [(h.doc, h.paragraph, h.score) for h in r.hits]
        row = judge(q, answer, ranked)
        row["confidence"] = round(decision.confidence, 4)
        if q.get("full") and q.get("history"):
            # The same question asked in full: a follow-up should rank as well as it.
            full, _ = service.retrieve(q["full"])
            row["full_rank"] = judge(q, answer, [(h.doc, h.paragraph, h.score) for h in full.hits])["rank"]
        rows.append(row)
        if on_row:
            on_row(i, row)
    return rows, skipped, latencies


def evaluate(service, questions: list[dict], details: Path | None = None, progress: bool = True) -> dict:
    """Run every question through retrieval and answering; return the metrics (and write details)."""
    out = open(details, "w", encoding="utf-8") if details else None

    def on_row(i: int, row: dict | None) -> None:
        if out and row:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        if progress:
            print(f"\reval {i}/{len(questions)}", end="", file=sys.stderr, flush=True)

    try:
        rows, skipped, latencies = judge_all(service, questions, on_row)
    finally:
        if out:
            out.close()
    if progress:
        print(file=sys.stderr)
    if not rows:
        raise BadInputError(f"no question could be asked ({skipped[0] if skipped else 'none given'})")
    report = metrics(rows)
    report["latency_ms_median"] = round(1000 * statistics.median(latencies), 1)
    report["skipped"] = skipped
    return report


def _summary(rows: list[dict]) -> dict:
    ans = [r for r in rows if r["gold"]]
    n = len(ans)
    if not n:
        return {"answerable": 0}
    rr = [1 / r["rank"] if r["rank"] and r["rank"] <= 10 else 0.0 for r in ans]
    facts = [r["fact_first"] for r in ans if "fact_first" in r]
    held = [r["holds"] for r in ans if "holds" in r]
    return {
        "answerable": n,
        "recall@1": round(sum(1 for r in ans if r["rank"] == 1) / n, 3),
        "recall@5": round(sum(1 for r in ans if r["rank"] and r["rank"] <= 5) / n, 3),
        "mrr@10": round(sum(rr) / n, 3),
        "wrongly_declined": sum(1 for r in ans if not r["found"]),
        "fact_in_first_sentence": round(sum(facts) / len(facts), 3) if facts else None,
        "holds": round(sum(held) / len(held), 3) if held else None,
    }


def metrics(rows: list[dict]) -> dict:
    """Overall and per-type figures from judged rows."""
    report = {"questions": len(rows), **_summary(rows)}
    un = [r for r in rows if not r["gold"]]
    report["unanswerable"] = len(un)
    report["declined"] = sum(1 for r in un if not r["found"])
    # The caution on low-confidence answers (Settings.sure_confidence): the share of the wrong
    # answers that carry it (an unanswerable question answered, or an answer without the asked
    # fact: it should) and of the right ones (it should not).
    answered = [r for r in rows if r["found"] and (not r["gold"] or "holds" in r)]
    wrong = [r for r in answered if not r["gold"] or not r["holds"]]
    right = [r for r in answered if r["gold"] and r["holds"]]
    for key, group in (("unsure_wrong", wrong), ("unsure_right", right)):
        report[key] = round(sum(1 for r in group if r.get("unsure")) / len(group), 3) if group else None
    report["answered_wrong"], report["answered_right"] = len(wrong), len(right)
    pairs = [r for r in rows if "full_rank" in r]
    if pairs:
        at = lambda key, k: round(sum(1 for r in pairs if r[key] and r[key] <= k) / len(pairs), 3)  # noqa: E731
        report["followup_vs_full"] = {
            "questions": len(pairs),
            "followup_recall@1": at("rank", 1),
            "full_recall@1": at("full_rank", 1),
            "followup_recall@5": at("rank", 5),
            "full_recall@5": at("full_rank", 5),
        }
    lists = [r for r in rows if "items_covered" in r]
    if lists:
        report["list_items_in_top8"] = round(sum(r["items_covered"] for r in lists) / len(lists), 3)
    by_type: dict[str, dict] = {}
    for t in sorted({r["type"] for r in rows if r["type"]}):
        group = [r for r in rows if r["type"] == t]
        by_type[t] = {
            "questions": len(group),
            **(
                _summary(group)
                if any(r["gold"] for r in group)
                else {"declined": sum(1 for r in group if not r["found"])}
            ),
        }
    report["by_type"] = by_type
    return report


def format_report(m: dict) -> str:
    """Human-readable table of the metrics."""
    lines = [f"questions: {m['questions']} ({m.get('answerable', 0)} answerable, {m['unanswerable']} unanswerable)"]
    if m.get("answerable"):
        lines.append(f"recall@1 {m['recall@1']:.3f}   recall@5 {m['recall@5']:.3f}   MRR@10 {m['mrr@10']:.3f}")
        lines.append(f"answerable wrongly declined: {m['wrongly_declined']}/{m['answerable']}")
        if m.get("holds") is not None:
            lines.append(f"answer holds the fact (a key in the answer; declined = no): {m['holds']:.3f}")
        if m.get("fact_in_first_sentence") is not None:
            lines.append(f"fact in the answer's first sentence: {m['fact_in_first_sentence']:.3f}")
    if m["unanswerable"]:
        lines.append(f"unanswerable declined: {m['declined']}/{m['unanswerable']}")
    if m.get("abstention"):
        which = {
            "own": "the corpus's own (abstention.json, qa calibrate)",
            "wide": "the general one's for wide indexes (many unrelated articles; English questions: the general one)",
        }.get(m["abstention"], "the general one")
        lines.append(f"decided by the abstention model: {which}")
    if m.get("unsure_wrong") is not None or m.get("unsure_right") is not None:
        share = lambda v: "·" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(
            f"answers shown with a low-confidence caution: {share(m.get('unsure_wrong'))} of the "
            f"{m['answered_wrong']} wrong ones, {share(m.get('unsure_right'))} of the {m['answered_right']} right ones"
        )
    if "list_items_in_top8" in m:
        lines.append(f"list questions with every item in the top {LIST_DEPTH}: {m['list_items_in_top8']:.3f}")
    if "followup_vs_full" in m:
        f = m["followup_vs_full"]
        lines.append(
            f"follow-ups vs the same questions asked in full ({f['questions']}): recall@1 "
            f"{f['followup_recall@1']:.3f} vs {f['full_recall@1']:.3f}, recall@5 "
            f"{f['followup_recall@5']:.3f} vs {f['full_recall@5']:.3f}"
        )
    lines.append(f"median latency per question: {m.get('latency_ms_median', 0):.1f} ms")
    if m.get("skipped"):
        lines.append(f"questions skipped: {len(m['skipped'])} (" + "; ".join(m["skipped"][:3]) + ")")
    lines.append("")
    lines.append(f"{'type':<14}{'n':>4}{'R@1':>8}{'R@5':>8}{'MRR':>8}{'declined':>10}{'holds':>8}")
    for t, s in m.get("by_type", {}).items():
        if s.get("answerable"):
            held = f"{s['holds']:>8.3f}" if s.get("holds") is not None else ""
            lines.append(
                f"{t:<14}{s['questions']:>4}{s['recall@1']:>8.3f}{s['recall@5']:>8.3f}{s['mrr@10']:>8.3f}"
                f"{s['wrongly_declined']:>10}{held}"
            )
        else:
            lines.append(f"{t:<14}{s['questions']:>4}{'':>24}{s['declined']:>10}")
    return "\n".join(lines)
