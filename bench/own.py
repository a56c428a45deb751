"""A corpus's own abstention model (`qa calibrate`) against the general one, on held-out questions.

    OMP_NUM_THREADS=1 .venv/bin/python bench/own.py --cache /tmp/qa-calibrate [--markdown FILE]

For every corpus with enough labeled tune questions (qa/answering/fit.py MIN_ANSWERABLE and
MIN_UNANSWERABLE) it fits the corpus's own model on its tune part the way `qa calibrate` does
(threshold read off 5-fold cross-validation within --max-false) and asks its held-out part, beside
the general model (qa/data/abstention.json at each index's probe threshold, its wide model mixed in
where the probes raise it: CMRC and DRCD, abstain.wide_weight) on the same questions.
A corpus listed in SOURCE is asked with the model of another one: the report's questions in
Traditional characters (the same documents: data/abstention.json serves both), and drcd2 (DRCD
articles nobody here read, held out only) with the model fitted on drcd's tune part, to see
whether a model fitted on one corpus carries to new documents of the same kind. Signals come from
bench/calibrate.py's cache (--cache), so a run after calibrate takes seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import calibrate  # noqa: E402
from bench.corpora import available  # noqa: E402
from qa.answering import abstain, fit, probes  # noqa: E402
from qa.config import from_env  # noqa: E402
from qa.errors import QAError  # noqa: E402

CORPORA = ("report", "report-hant", "cmrc", "drcd", "drcd2", "gov", "gov3", "manual", "news")
SOURCE = {"report-hant": "report", "drcd2": "drcd"}  # asked with the model fitted on another corpus's tune part


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/qa-calibrate"), help="bench/calibrate.py's cache")
    ap.add_argument("--max-false", type=float, default=0.03, help="qa calibrate's --max-false (default 0.03)")
    ap.add_argument("--markdown", type=Path, help="also write the table to FILE")
    args = ap.parse_args(argv)
    corpora = available(list(CORPORA), say=calibrate.log)
    data = calibrate.collect(corpora, args.cache)
    X, y, part, corpus = data["X"], data["y"], data["part"], data["corpus"]
    veto = abstain.vetoed(X)
    general = abstain.load_calibration(Path(from_env().abstention_file))
    conf = general.confidences(X, veto)
    own: dict[str, tuple[dict, float, tuple[float, float]] | str] = {}
    lines = [
        f"Own models: `qa calibrate`'s fit on each corpus's tune part (max false {args.max_false:.0%}, "
        f"{fit.FOLDS}-fold cross-validated cut), asked on its held-out part. Each cell: unanswerable "
        "declined / answerable declined (false).",
        "",
        "| corpus | model fitted on | tune ans/un | cross-validated (tune) | own (heldout) | general (heldout) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for c in [c.name for c in corpora]:
        src = SOURCE.get(c, c)
        if src not in own:
            sel = (corpus == src) & (part == "tune")
            try:
                own[src] = fit.own(X[sel], y[sel], veto[sel], args.max_false)
            except QAError as e:  # too few questions
                own[src] = str(e).split(":")[0]
        held = (corpus == c) & (part == "heldout")
        t_general = probes.threshold_of(general, data["probes"][c])
        weight = abstain.wide_weight(general, t_general)  # the wide model's share of its (Chinese) questions
        wide = general.wide.confidences(X[held], veto[held]) if weight else None
        mine_conf, cut = abstain.mixed(general, weight, (conf[held], wide), t_general)
        general_rates = calibrate.rates(mine_conf - cut, y[held], 0.0)
        tune = (corpus == src) & (part == "tune")
        counts = f"{int(y[tune].sum())}/{int((y[tune] == 0).sum())}"
        if isinstance(own[src], str):
            lines.append(f"| {c} | {src} | {counts} | too few | | {_pair(general_rates)} |")
            continue
        m, t, cv = own[src]
        mine = calibrate.rates(fit.score(m, X[held], veto[held]), y[held], t)
        lines.append(f"| {c} | {src} | {counts} | {_pair(cv)} | {_pair(mine)} | {_pair(general_rates)} |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        from bench.quality import commit

        command = "OMP_NUM_THREADS=1 .venv/bin/python bench/own.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        args.markdown.write_text(
            f"# A corpus's own abstention model against the general one\n\nWritten by `bench/own.py` (do not edit "
            f"by hand) at commit {commit()}; regenerate with:\n\n    {command.strip()}\n\n"
            f"{__doc__.split(chr(10) * 2, 2)[2]}\n{table}\n",
            encoding="utf-8",
        )
        calibrate.log(f"wrote {args.markdown}")
    return 0


def _pair(p) -> str:
    return f"{p[0]:.3f} / {p[1]:.3f}"


if __name__ == "__main__":
    sys.exit(main())
