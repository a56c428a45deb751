"""The `qa` command. Domain errors become one line on stderr and a meaningful exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from qa.errors import BadInputError, QAError

EPILOG = """\
examples:
  qa build                                   index data/ into index/
  qa build notes/ report.pdf --index my-index   files or folders (.txt .md .pdf .docx .html), any index folder
  qa ask "2023年生态环境保护的重点任务有哪些？"
  qa ask --json "全国完成了多少座尾矿库环境风险排查？"
  qa ask "那核安全方面呢？" --history "2023年的重点任务有哪些？"
  qa eval eval/dev.jsonl --details out.jsonl
  qa calibrate eval/dev.jsonl --out data/abstention.json   fit "do the documents say?" to your questions
  qa serve                                   chat UI on http://127.0.0.1:7860

settings come from flags, then QA_* environment variables (QA_INDEX_DIR, QA_DATA_DIR,
QA_MODEL, QA_CACHE_DIR, QA_TOP_K, QA_CHUNK_CHARS, QA_HOST, QA_PORT, QA_LLM_URL, ...);
see README.md.

exit codes: 0 ok, 1 other error, 2 bad input, 3 index missing, 4 index corrupt or
mismatched, 5 model unavailable, 6 another build of the index is running, 130 interrupted.
"""


CALIBRATE_EPILOG = """\
example: qa calibrate my-questions.jsonl --out data/abstention.json && qa build data/

Questions as for qa eval, with "gold": [] for a question the documents do not answer: at least
60 answerable and 20 unanswerable, written by the people who will ask. The cut is read off 5-fold
cross-validation; the file is written only when that declines more unanswerable questions than
the model the index uses now (--force writes it anyway). Remove the file and rebuild to go back
to the general model.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qa",
        description="Offline question answering over your documents, with every answer sentence cited "
        "to the exact paragraph and sentence it comes from.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"qa {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, help_, epilog=None):
        sp = sub.add_parser(
            name, help=help_, description=help_, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        sp.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: $QA_INDEX_DIR or index/)")
        sp.add_argument(
            "--model",
            metavar="NAME",
            help="embedding model: sentence-transformers name or path "
            "(default: $QA_MODEL or the bundled multilingual-e5-small)",
        )
        return sp

    b = add(
        "build",
        "index documents (.txt .md .pdf .docx .html .htm) into an index folder (atomically: the old index stays "
        "until the new one is complete); files that cannot be read are listed with the reason and skipped",
        "example: qa build data/ --index index/",
    )
    b.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: $QA_DATA_DIR or data/)"
    )
    b.add_argument("--chunk-chars", type=int, metavar="N", help="max characters per embedded chunk (default 200)")
    b.add_argument("--json", action="store_true", help="print the manifest as JSON")
    b.add_argument(
        "--full",
        action="store_true",
        help="embed every paragraph again (default: reuse the vectors of paragraphs the index already holds)",
    )
    b.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="how long to wait for another build of the same index (default $QA_BUILD_WAIT or 600; 0 refuses)",
    )

    a = add("ask", "answer one question with cited sentences", 'example: qa ask --json "谁作了工作报告？"')
    a.add_argument("question", help="the question (Chinese or English)")
    a.add_argument(
        "--top-k",
        type=int,
        metavar="N",
        help="paragraphs the answer draws on (default 3); list answers cite every item",
    )
    a.add_argument(
        "--history", nargs="*", default=[], metavar="Q", help="earlier questions of the conversation, oldest first"
    )
    a.add_argument("--json", action="store_true", help='print {"question","found","answer","citations":[...]}')

    e = add(
        "eval",
        "measure retrieval and answers on a JSON Lines question set",
        "example: qa eval eval/dev.jsonl --details /tmp/details.jsonl",
    )
    e.add_argument("file", type=Path, help='JSON Lines: {"question", "gold": [paragraph numbers], "file"?, "history"?}')
    e.add_argument("--details", type=Path, metavar="OUT", help="write one JSON line per question with its ranking")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")

    c = add(
        "calibrate",
        "fit the decision whether the documents answer a question to questions written for these documents "
        "(answerable ones and ones they do not answer): a model of the corpus's own, written as abstention.json "
        "for the top of the documents' folder, which the next qa build keeps in the index",
        CALIBRATE_EPILOG,
    )
    c.add_argument(
        "file", type=Path, help='JSON Lines: {"question", "gold": [paragraph numbers] or [], "file"?, "history"?}'
    )
    c.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="where to write the model: FOLDER/abstention.json, or the folder",
    )
    c.add_argument(
        "--max-false",
        type=float,
        default=0.03,
        metavar="SHARE",
        help="share of answerable questions it may decline, cross-validated (default 0.03)",
    )
    c.add_argument("--force", action="store_true", help="write the model even when it does no better")

    s = add(
        "serve",
        "start the chat UI and JSON API (builds the index first if there is none)",
        "examples:\n  qa serve --port 8080\n  QA_TOKEN=s3cret qa serve --host 0.0.0.0   "
        "(on the network: adding, removing and rebuilding need the token)",
    )
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 7860)")
    s.add_argument("--data", type=Path, metavar="DIR", help="documents folder used for (re)builds (default data/)")
    s.add_argument(
        "--insecure",
        action="store_true",
        help="listen beyond 127.0.0.1 without a token (by default that needs QA_TOKEN: anyone who can reach "
        "the server could change the documents)",
    )
    return p


def _version() -> str:
    from qa import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.command:
        _parser().print_help()
        return 2
    try:
        from qa.config import from_env

        settings = from_env(
            index_dir=args.index,
            model=args.model,
            chunk_chars=getattr(args, "chunk_chars", None),
            top_k=getattr(args, "top_k", None),
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            data_dir=getattr(args, "data", None),
            build_wait=getattr(args, "wait", None),
        )
        _check_text_arguments(args)
        return COMMANDS[args.command](args, settings)
    except QAError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("qa: interrupted; the previous index is untouched", file=sys.stderr)
        return 130


def _check_text_arguments(args) -> None:
    """Arguments that are not valid UTF-8 reach Python as lone surrogates; name them instead of failing later."""
    for what, value in (
        ("question", getattr(args, "question", None)),
        *(("--history", h) for h in args.__dict__.get("history") or ()),
    ):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                byte = value[e.start]
                raise BadInputError(
                    f"the {what} argument is not valid UTF-8 (byte 0x{ord(byte) - 0xDC00:02x} at position {e.start}); "
                    "check your terminal's encoding (e.g. LANG=zh_CN.UTF-8) and type it again"
                ) from None


def cmd_build(args, settings) -> int:
    from qa.embedding import make_embedder
    from qa.indexing import builder as indexer

    paths = args.paths or [settings.data_dir]
    t0 = time.perf_counter()
    # The lock first: a build that waited for another one reads the files as they are after it.
    with indexer.lock(settings, lambda _, msg: print(f"qa: {msg}", file=sys.stderr, flush=True)):
        docs, skipped = indexer.load_documents(paths, settings)  # fail on bad input before loading the model
        embedder = make_embedder(settings.model, settings.cache_dir, settings.backend)  # loads only if needed
        with _ProgressBar("building") as bar:
            index = indexer.build_documents(
                docs, settings, embedder, bar.update, not args.full, skipped, indexer.corpus_files(paths)
            )
    m = index.manifest
    if args.json:
        print(json.dumps(m, ensure_ascii=False, indent=2))
        return 0
    for d in docs:
        pages = f", {d.pages} pages" if d.pages else ""
        encoding = f", {d.encoding}" if d.encoding else ""
        print(f"  {d.name}: {d.kind}{pages}, {len(d.paragraphs)} paragraphs{encoding}, 《{d.title}》", file=sys.stderr)
        for note in d.notes:
            print(f"    note: {note}", file=sys.stderr)
    for dup in m["duplicates"]:
        print(f"  {dup['name']}: same text as {dup['same_as']}, indexed once", file=sys.stderr)
    own = _own_model_line(index.corpus_files.get("abstention.json"))
    if own:
        print(own, file=sys.stderr)
    if skipped:
        print(f"not indexed ({len(skipped)}):", file=sys.stderr)
        for s in skipped:
            print(f"  {s.path}: {s.reason}", file=sys.stderr)
    c, r = m["counts"], m["reused"]
    print(
        f"indexed {c['documents']} document(s), {c['paragraphs']} paragraphs, {c['passages']} passages, "
        f"{c['sentences']} sentences into {settings.index_dir}/ in {time.perf_counter() - t0:.1f}s "
        f"(model {m['model']}, dim {m['dim']}; {r['embedded']} paragraphs embedded, {r['paragraphs']} reused; "
        f"version {index.version})" + (f"; {len(skipped)} file(s) not indexed, listed above" if skipped else "")
    )
    return 0


def _own_model_line(text: str | None) -> str:
    """What `qa build` says of the corpus's own abstention model (qa calibrate's figures), "" without one."""
    if not text:
        return ""
    about = json.loads(text)
    q, cv = about.get("questions") or {}, about.get("cross_validated") or {}
    fitted = f"fitted on {q['answerable']} answerable and {q['unanswerable']} unanswerable questions" if q else "fitted"
    if {"declined", "false"} <= set(cv):
        fitted += f"; cross-validated it declined {cv['declined']:.0%} of the unanswerable, {cv['false']:.0%} of the answerable"
    return f"  abstention.json: the corpus's own model decides whether the documents answer ({fitted})"


def cmd_ask(args, settings) -> int:
    from qa.serving.service import QAService

    service = QAService(settings)
    answer = service.ask(args.question, args.history)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return 0
    if answer.unsure:
        from qa.answering.compose import caution

        print(caution(answer.question))
    print(answer.answer)
    if answer.citations:
        print()
        print("引用 / citations:" if answer.found else "最接近的段落（不是答案）/ nearest passages (not an answer):")
        for c in answer.citations:
            page = f" 第{c.page}页" if c.page else ""
            print(f"[{c.n}] {c.doc}{page} 第{c.paragraph}段 (score {c.score:.2f}): {' … '.join(c.highlights)}")
    return 0


def _questions(path: Path) -> tuple[list[dict], list[str]]:
    """The usable questions of a `qa eval` file, and the rows left out (each said as a warning)."""
    from qa.evaluate import read_questions

    problems: list[str] = []
    questions = read_questions(path, problems)
    for problem in problems:
        print(f"qa: warning: {problem}", file=sys.stderr)
    return questions, problems


def cmd_eval(args, settings) -> int:
    from qa.evaluate import evaluate, format_report
    from qa.serving.service import QAService

    questions, problems = _questions(args.file)
    service = QAService(settings)
    report = evaluate(service, questions, details=args.details, progress=not args.json)
    report["bad_rows"] = problems
    report["abstention"] = service.health().get("abstention")
    for skipped in report["skipped"]:
        print(f"qa: warning: {args.file}: {skipped}; skipped", file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


def cmd_calibrate(args, settings) -> int:
    import numpy as np
    from tqdm import tqdm

    from qa.answering import abstain, fit
    from qa.serving.service import QAService
    from qa.text import is_english

    if not 0 <= args.max_false < 1:
        raise BadInputError(f"--max-false must be a share in [0, 1), got {args.max_false}")
    if args.out.is_dir():  # a folder: the file qa build reads there
        args.out = args.out / abstain.OWN_FILE
    questions, _ = _questions(args.file)
    service = QAService(settings)
    rows, y, now, english = [], [], [], 0
    quiet = os.environ.get("QA_PROGRESS", "1") == "0"
    for q in tqdm(questions, desc="asking", unit="q", file=sys.stderr, disable=quiet):
        r, decision = service.retrieve(q["question"], q.get("history") or [])
        rows.append(abstain.features(decision.signals))
        y.append(bool(q["gold"]))
        now.append(decision.found)
        english += is_english(r.query)
    X, y, now = np.array(rows, dtype=np.float64), np.array(y, dtype=float), np.array(now)
    veto = abstain.vetoed(X)
    model, t, (declined, false) = fit.own(X, y, veto, args.max_false)
    now_declined, now_false = float(np.mean(~now[y == 0])), float(np.mean(~now[y == 1]))
    n_ans, n_un = int(y.sum()), int((y == 0).sum())
    print(f"{n_ans} answerable and {n_un} unanswerable questions ({args.file})")
    print(
        f"  the model the index uses now: declines {now_declined:.1%} of the unanswerable, {now_false:.1%} of the answerable"
    )
    print(
        f"  its own, {fit.FOLDS}-fold cross-validated:   declines {declined:.1%} of the unanswerable, {false:.1%} of the answerable"
    )
    better = declined > now_declined and false <= max(now_false, args.max_false)
    if not better and not args.force:
        print("qa: the model of its own does no better here; nothing written (--force writes it)", file=sys.stderr)
        return 1
    out = fit.own_file(
        model,
        t,
        command=f"qa calibrate {args.file} --out {args.out} --max-false {args.max_false}",
        questions={"file": args.file.name, "answerable": n_ans, "unanswerable": n_un},
        cross_validated={"declined": round(declined, 3), "false": round(false, 3), "max_false": args.max_false},
        before={"declined": round(now_declined, 3), "false": round(now_false, 3)},
        model=service.embedder.name,
        english_questions=english,
    )
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    except OSError as e:
        raise BadInputError(f"cannot write {args.out} ({e.strerror or e}); give --out a writable file") from None
    print(f"wrote {args.out}; rebuild to use it: qa build {args.out.parent}")
    if not english:
        print(
            "qa: note: none of the questions is in English, so English questions stay with the general model",
            file=sys.stderr,
        )
    if args.out.name != abstain.OWN_FILE:
        print(f"qa: warning: qa build reads the file called {abstain.OWN_FILE} at the top of a folder", file=sys.stderr)
    return 0


def cmd_serve(args, settings) -> int:
    from qa.serving.app import serve

    serve(settings, insecure=args.insecure)
    return 0


COMMANDS = {"build": cmd_build, "ask": cmd_ask, "eval": cmd_eval, "calibrate": cmd_calibrate, "serve": cmd_serve}


class _ProgressBar:
    """tqdm on stderr when it's a terminal or when asked; a quiet line per step otherwise."""

    def __enter__(self):
        from tqdm import tqdm

        self._bar = tqdm(
            total=100,
            desc=self._desc,
            unit="%",
            file=sys.stderr,
            disable=os.environ.get("QA_PROGRESS", "1") == "0",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
        )
        return self

    def __init__(self, desc: str):
        self._desc = desc

    def update(self, fraction: float, message: str) -> None:
        self._bar.n = round(100 * fraction)
        self._bar.set_postfix_str(message)

    def __exit__(self, *exc):
        self._bar.close()
        return False


if __name__ == "__main__":
    raise SystemExit(main())
