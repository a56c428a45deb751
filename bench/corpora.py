"""Every evaluation corpus in one place: its documents, its questions and their tune/heldout parts.

    from bench.corpora import CORPORA, questions
    questions("cmrc", "heldout")           # list of question dicts, each with "split"
    CORPORA["gov"].docs                    # folders/files to index

| corpus | documents | questions | parts |
|---|---|---|---|
| report | data/ | eval/dev.jsonl, eval/test.jsonl | dev = tune, test = heldout |
| report-hant | data/ | the report's questions in Traditional characters (OpenCC s2t) | as report |
| cmrc | $QA_BENCHMARKS/cmrc2018-trial/docs | its questions.jsonl | by document (below) |
| drcd | $QA_BENCHMARKS/drcd-dev/docs | its questions.jsonl | by document (below) |
| cmrc-en, drcd-en | the CMRC / DRCD documents | eval/corpora/english-*.jsonl | their "split" |
| gov, gov3, gov7, gov8, gov9, manual, news, wiki2 | eval/corpora/<name>/docs | eval/corpora/<name>/questions.jsonl | their "split" |
| mixed | eval/mixed/ | eval/mixed.jsonl | all heldout |
| gov2 | eval/corpora/gov2/docs | eval/corpora/gov2/questions.jsonl | all heldout |
| gov4 | eval/corpora/gov4/docs | eval/corpora/gov4/questions.jsonl | all heldout |
| gov5 | eval/corpora/gov5/docs | eval/corpora/gov5/questions.jsonl | all heldout |
| gov6 | eval/corpora/gov6/docs | eval/corpora/gov6/questions.jsonl | all heldout |
| drcd2 | eval/corpora/drcd2/docs | eval/corpora/drcd2/questions.jsonl | all heldout |
| wiki | eval/corpora/wiki/docs | eval/corpora/wiki/questions.jsonl | all heldout |

QA_BENCHMARKS defaults to `<repo>/../shared/benchmarks` (from a git worktree elsewhere, the one
beside its main checkout); where neither exists (CI's bare machine), to eval/benchmarks-heldout,
a copy of the CMRC and DRCD held-out halves only (scripts/vendor_heldout.py), so their floors in
tests/test_eval_floor.py run everywhere. A corpus whose files are missing is skipped with a message.

Split rule for question files without a "split" field (the shared benchmarks): an answerable
question goes where its document goes, a document going to `tune` when the first byte of the
SHA-256 of its file name (UTF-8) is even, else `heldout`; an unanswerable question (no file) goes
by the same rule applied to its id. So no held-out document is ever seen through a tuning question,
and about half of each set lands in each part.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
PARTS = ("tune", "heldout")
HELDOUT_COPY = EVAL / "benchmarks-heldout"


def _main_checkout(root: Path) -> Path:
    """The repository's main checkout: `root` itself, or the one a git worktree belongs to."""
    dot_git = root / ".git"
    if dot_git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(dot_git.read_text(encoding="utf-8").split(":", 1)[1].strip())
        if gitdir.parent.name == "worktrees":
            return gitdir.parent.parent.parent
    return root


def benchmarks_dir() -> Path:
    """The shared benchmarks folder: $QA_BENCHMARKS, else <repo>/../shared/benchmarks (for a git
    worktree, beside its main checkout when not beside the worktree)."""
    if os.environ.get("QA_BENCHMARKS"):
        return Path(os.environ["QA_BENCHMARKS"]).expanduser()
    near = ROOT.parent / "shared" / "benchmarks"
    main = _main_checkout(ROOT).parent / "shared" / "benchmarks"
    if not near.is_dir() and not main.is_dir():
        # A bare machine (CI): the copy of the held-out halves kept in the repository
        # (scripts/vendor_heldout.py); their tune parts are empty there.
        return HELDOUT_COPY
    return near if near.is_dir() or not main.is_dir() else main


@dataclass(frozen=True)
class Corpus:
    """An evaluation corpus: what to index and where its questions come from."""

    name: str
    docs: tuple[Path, ...]  # folders or files to index
    files: tuple[Path, ...]  # JSON Lines question files
    about: str
    parts_of: dict[str, str] = field(default_factory=dict)  # question file name -> part, when the file decides
    traditional: bool = False  # questions converted to Traditional characters (OpenCC s2t)

    @property
    def heldout_only(self) -> bool:
        """Every question file is held out (mixed, gov2, gov4, gov5, gov6, drcd2, wiki): nothing of it may be tuned on."""
        return bool(self.parts_of) and all(self.parts_of.get(f.name) == "heldout" for f in self.files)

    def missing(self) -> list[Path]:
        """Files or folders this corpus needs that are not there."""
        return [p for p in (*self.docs, *self.files) if not p.exists()]


def _corpora() -> dict[str, Corpus]:
    bench = benchmarks_dir()
    cmrc, drcd = bench / "cmrc2018-trial", bench / "drcd-dev"
    report = dict(
        docs=(ROOT / "data",),
        files=(EVAL / "dev.jsonl", EVAL / "test.jsonl"),
        parts_of={"dev.jsonl": "tune", "test.jsonl": "heldout"},
    )
    out = [
        Corpus("report", about="the work report (data/)", **report),
        Corpus("report-hant", about="the report's questions in Traditional characters", traditional=True, **report),
        Corpus("cmrc", (cmrc / "docs",), (cmrc / "questions.jsonl",), "CMRC 2018 trial, 128 Wikipedia articles"),
        Corpus("drcd", (drcd / "docs",), (drcd / "questions.jsonl",), "DRCD dev, 60 Traditional Wikipedia articles"),
        Corpus("cmrc-en", (cmrc / "docs",), (EVAL / "corpora" / "english-cmrc.jsonl",), "English questions, CMRC"),
        Corpus("drcd-en", (drcd / "docs",), (EVAL / "corpora" / "english-drcd.jsonl",), "English questions, DRCD"),
    ]
    for name, about in (
        ("gov", "four government documents"),
        ("gov3", "four government documents of a third city, written after gov2 (tune + heldout)"),
        ("gov7", "a statistical bulletin, an admissions charter, a renewal notice, by a helper (tune + heldout)"),
        ("gov8", "an emergency plan (1.1 numbering), a service guide, a policy Q&A, by a helper (tune + heldout)"),
        ("gov9", "three FAQs in three Q&A layouts, by a helper after the Q&A rules landed (tune + heldout)"),
        ("manual", "a product manual + FAQ"),
        ("news", "seven news stories"),
        ("wiki2", "24 encyclopedia-style articles in look-alike pairs, by a helper (tune + heldout by article)"),
    ):
        folder = EVAL / "corpora" / name
        out.append(Corpus(name, (folder / "docs",), (folder / "questions.jsonl",), about))
    out.append(
        Corpus(
            "mixed",
            (EVAL / "mixed",),
            (EVAL / "mixed.jsonl",),
            "PDF, docx, HTML, Big5 files (held out only)",
            parts_of={"mixed.jsonl": "heldout"},
        )
    )
    for name, about in (
        ("gov2", "three government documents of another city, written after the system was tuned"),
        ("gov4", "three government documents of a fourth city, written after the gov3 refit"),
        ("gov5", "three government documents of a fifth city, written after the wide model landed"),
        ("gov6", "three Traditional-Chinese documents of a Taiwan-style county, written by a helper"),
        ("drcd2", "DRCD dev articles 120-239, 60 Traditional Wikipedia articles not in drcd"),
        ("wiki", "30 encyclopedia-style articles written for it, questions also about 30 not indexed"),
        ("news2", "36 news stories on unrelated subjects, by a helper, questions also about absent ones"),
        ("news3", "20 stories of one city's evening paper, by a helper, after the short-document rule"),
        ("gov10", "a housing notice, garbage-sorting opinions and a speech of a tenth city, by a helper"),
        ("gov11", "a rural plan, a hospital guide and a disclosure report of an eleventh city, by a helper"),
        ("gov12", "a smoking-control regulation, a Traditional-character care guide and a bulletin, by a helper"),
    ):
        folder = EVAL / "corpora" / name
        out.append(
            Corpus(
                name,
                (folder / "docs",),
                (folder / "questions.jsonl",),
                f"{about} (held out only, never tuned on)",
                parts_of={"questions.jsonl": "heldout"},
            )
        )
    return {c.name: c for c in out}


CORPORA = _corpora()


def split_of_name(name: str) -> str:
    """'tune' or 'heldout' for a document (or an unanswerable question's id), stable across runs and machines."""
    return PARTS[hashlib.sha256(name.encode("utf-8")).digest()[0] % 2]


def split_of(q: dict, file_part: str | None = None) -> str:
    """A question's part: the file's part if it decides, else its "split", else the document rule."""
    if file_part:
        return file_part
    if q.get("split") in PARTS:
        return q["split"]
    return split_of_name(q["file"] if q.get("file") else str(q.get("id")))


@cache
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def to_traditional(q: dict) -> dict:
    """The question (and its history and full form) in Traditional characters; keys stay as written in the documents."""
    s2t = _converter("s2t").convert
    out = dict(q, question=s2t(q["question"]))
    if q.get("history"):
        out["history"] = [s2t(h) for h in q["history"]]
    if q.get("full"):
        out["full"] = s2t(q["full"])
    return out


def _read(corpus: Corpus) -> list[dict]:
    from qa.evaluate import read_questions

    rows = []
    for f in corpus.files:
        for q in read_questions(f):
            q = dict(q, split=split_of(q, corpus.parts_of.get(f.name)), corpus=corpus.name)
            rows.append(to_traditional(q) if corpus.traditional else q)
    return rows


def questions(corpus: str | Corpus, part: str = "all", limit: int | None = None) -> list[dict]:
    """The questions of a corpus's part ("tune", "heldout" or "all"), each with "split" and "corpus".

    `limit` takes a fixed sample of at most that many, answerable and unanswerable in proportion,
    the same on every run."""
    c = CORPORA[corpus] if isinstance(corpus, str) else corpus
    if part not in (*PARTS, "all"):
        raise ValueError(f"part must be one of tune, heldout, all; got {part!r}")
    missing = c.missing()
    if missing:
        raise FileNotFoundError(f"corpus {c.name}: {missing[0]} not found (set QA_BENCHMARKS?)")
    rows = [q for q in _read(c) if part == "all" or q["split"] == part]
    return sample(rows, limit, f"{c.name}/{part}") if limit else rows


def sample(rows: list[dict], limit: int, seed: str) -> list[dict]:
    """At most `limit` rows, answerable and unanswerable in proportion, in file order."""
    if len(rows) <= limit:
        return rows
    rng = random.Random(seed)
    answerable = [i for i, q in enumerate(rows) if q["gold"]]
    unanswerable = [i for i, q in enumerate(rows) if not q["gold"]]
    k = round(limit * len(answerable) / len(rows))
    keep = rng.sample(answerable, k) + rng.sample(unanswerable, min(limit - k, len(unanswerable)))
    return [rows[i] for i in sorted(keep)]


def available(names: list[str] | None = None, say=print) -> list[Corpus]:
    """The named corpora (default all) whose files exist; each missing one is named with the reason."""
    out = []
    for name in names or list(CORPORA):
        if name not in CORPORA:
            raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
        missing = CORPORA[name].missing()
        if missing:
            say(f"corpus {name}: skipped, {missing[0]} not found (set QA_BENCHMARKS to the shared benchmarks folder)")
        else:
            out.append(CORPORA[name])
    return out
