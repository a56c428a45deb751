"""Retrieval-only ranks of every corpus's questions under settings overrides, one line per setting.

    OMP_NUM_THREADS=1 .venv/bin/python bench/sweep.py --cache /tmp/qa-quality base lexical_weight=1.5 SENTENCE_WEIGHT=0.75

Each CONFIG is `base` (the code as it stands) or comma-separated NAME=VALUE pairs: a lowercase NAME is a
field of qa.config.Settings (lexical_weight, candidates ...), an UPPERCASE one a constant of
qa/search/retriever.py (SENTENCE_WEIGHT, SHORT_PENALTY ...), set for that line and restored after.
Every answerable question of the chosen part (--part, tune by default: sweep on tune, report held
out with bench/quality.py) is retrieved as `qa ask` retrieves it (the built index, history for
follow-ups); nothing is composed or decided, so a line takes seconds per corpus once the indexes
are built (the same --cache folder as bench/quality.py's: its indexes are reused).

Printed per line and corpus: questions ranked first / in the top 5 / answerable, and after the
first line the change against it; then TOTAL. With --moves, every question whose rank crossed 1 or
5 against the first line. The settings that landed were swept this way on the tune parts (their
figures are in the comments at each constant and in docs/retrieval.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_CORPORA = "report,cmrc,drcd,cmrc-en,drcd-en,gov,gov3,gov7,gov8,gov9,manual,news,wiki2"


def parse_config(text: str) -> tuple[dict[str, float], dict[str, float]]:
    """'base' or 'a=1,B=2' -> (Settings overrides, retriever constants)."""
    settings, constants = {}, {}
    if text == "base":
        return settings, constants
    for pair in text.split(","):
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"{pair!r}: write NAME=VALUE (or 'base')")
        (constants if name.isupper() else settings)[name] = float(value)
    return settings, constants


def counts(ranks: dict[str, int | None]) -> tuple[int, int, int]:
    """(ranked first, in the top 5, questions)."""
    return (
        sum(1 for r in ranks.values() if r == 1),
        sum(1 for r in ranks.values() if r and r <= 5),
        len(ranks),
    )


def summary(results: dict[str, dict[str, dict[str, int | None]]]) -> list[str]:
    """One line per config (results: config -> corpus -> question id -> rank), changes against the first."""
    lines, first = [], next(iter(results), None)
    for config, by_corpus in results.items():
        cells, total1, total5 = [], 0, 0
        for corpus, ranks in by_corpus.items():
            r1, r5, n = counts(ranks)
            cell = f"{corpus} {r1}/{r5}/{n}"
            if config != first:
                b1, b5, _ = counts(results[first][corpus])
                total1, total5 = total1 + r1 - b1, total5 + r5 - b5
                cell += f" ({r1 - b1:+d},{r5 - b5:+d})"
            cells.append(cell)
        lines.append(
            f"{config}: " + "  ".join(cells) + (f"  TOTAL R@1 {total1:+d} R@5 {total5:+d}" if config != first else "")
        )
    return lines


def moves(results: dict[str, dict[str, dict[str, int | None]]]) -> list[str]:
    """The questions whose rank crossed 1 or 5 against the first config."""
    first = next(iter(results), None)
    out = []
    for config, by_corpus in list(results.items())[1:]:
        for corpus, ranks in by_corpus.items():
            for qid, rank in ranks.items():
                before = results[first][corpus].get(qid)
                if any((before is not None and before <= k) != (rank is not None and rank <= k) for k in (1, 5)):
                    out.append(f"{config}: {corpus} {qid} {before} -> {rank}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("configs", nargs="+", metavar="CONFIG", help="'base' or NAME=VALUE[,NAME=VALUE...]")
    ap.add_argument(
        "--corpora", default=DEFAULT_CORPORA, help=f"comma-separated corpus names (default: {DEFAULT_CORPORA})"
    )
    ap.add_argument("--part", default="tune", choices=("tune", "heldout"), help="which part to rank (default: tune)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/qa-quality"), help="bench/quality.py's cache folder")
    ap.add_argument("--moves", action="store_true", help="also list the questions that crossed rank 1 or 5")
    ap.add_argument("--json", type=Path, help="write every rank to FILE (config -> corpus -> question id -> rank)")
    args = ap.parse_args(argv)
    try:  # bad syntax fails before any model loads
        configs = [(c, *parse_config(c)) for c in args.configs]
    except ValueError as e:
        ap.error(str(e))
    os.environ.setdefault("QA_PROGRESS", "0")

    import qa.search.retriever as retriever_module
    from bench.corpora import available, questions
    from bench.quality import build, index_folder, log
    from qa.config import from_env
    from qa.embedding import make_embedder
    from qa.evaluate import gold_rank
    from qa.indexing import store
    from qa.inputs import clean_history, clean_question
    from qa.search.retriever import Retriever

    settings = from_env()
    for _, overrides, constants in configs:
        for name in constants:
            if not hasattr(retriever_module, name):
                ap.error(f"qa/search/retriever.py has no constant {name}")
        for name in overrides:
            if not hasattr(settings, name):
                ap.error(f"qa.config.Settings has no field {name}")
    embedder = make_embedder(settings.model, settings.cache_dir, settings.backend)
    results: dict[str, dict[str, dict[str, int | None]]] = {c: {} for c, _, _ in configs}
    for corpus in available([n for n in args.corpora.split(",") if n], say=log):
        s, _ = build(corpus, settings, embedder, args.cache / index_folder(corpus))
        index = store.load(s.index_dir, model=embedder.name)
        qs = [q for q in questions(corpus, args.part) if q.get("gold")]
        for name, overrides, constants in configs:
            saved = {k: getattr(retriever_module, k) for k in constants}
            try:
                for k, v in constants.items():
                    setattr(retriever_module, k, type(saved[k])(v))
                retriever = Retriever(
                    index, embedder, s.replace(**{k: type(getattr(s, k))(v) for k, v in overrides.items()})
                )
                ranks = {}
                for q in qs:  # cleaned as `qa ask` cleans them (bench/calibrate.py's collect does the same)
                    history = clean_history(q.get("history") or [], s.max_history, s.max_question_chars)
                    hits = retriever.search(clean_question(q["question"], s.max_question_chars), history).hits
                    ranks[str(q["id"])] = gold_rank(q, [(h.doc, h.paragraph) for h in hits])
            finally:
                for k, v in saved.items():
                    setattr(retriever_module, k, v)
            results[name][corpus.name] = ranks
        log(f"{corpus.name}: {len(qs)} questions x {len(configs)} settings")
    print("\n".join(summary(results)))
    if args.moves:
        print("\n".join(moves(results)))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
