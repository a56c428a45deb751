"""Bad input everywhere: questions of invisible characters, invalid code points, oversized and deeply
nested JSON, long histories, invalid UTF-8 arguments, a broken index behind the API, bad eval rows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from qa.errors import BadInputError
from qa.indexing import store
from qa.inputs import clean_history, clean_question, normalize
from qa.serving.api import MAX_BODY
from qa.serving.service import QAService
from tests.conftest import QA_BIN, run_qa
from tests.fakes import FakeEmbedder

QUESTION = "全国完成了多少座尾矿库环境风险排查？"


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("\u200b尾矿库\u200d排查\ufeff？", "尾矿库排查？"),
        ("  尾矿库\t\n排查\r\n ", "尾矿库 排查"),
        ("\u202e尾矿库\u202c\u2066排查\u2069", "尾矿库排查"),
        ("trail\x00ing\x07 \x1b[31mred", "trailing [31mred"),
        ("line\u2028sep\u2029para\x85nel", "line sep para nel"),
        ("soft\u00adhyphen\u2060joined", "softhyphenjoined"),
        ("\ufdd0非字符\uffff", "非字符"),
        ("emoji 👍🏽 stays", "emoji 👍🏽 stays"),
        ("全角　空格", "全角 空格"),
    ],
)
def test_normalize_removes_what_cannot_be_seen(raw, clean):
    assert normalize(raw) == clean


@pytest.mark.parametrize(
    "invisible", ["\u200b\u200c\u200d", "\ufeff\u2060", "\x00\x01\x7f", "\u202e\u202c", " \t\n\u3000"]
)
def test_a_question_of_only_invisible_characters_is_empty(invisible):
    with pytest.raises(BadInputError, match="question is empty"):
        clean_question(invisible, 1000)


@pytest.mark.parametrize("bad", ["\ud800", "问\udfff题", "\udc80abc"])
def test_a_lone_surrogate_is_refused_with_a_message(bad):
    with pytest.raises(BadInputError, match=r"invalid character \(U\+D[89A-F][0-9A-F]{2}"):
        clean_question(bad, 1000)


def test_history_is_bounded_and_cleaned():
    assert clean_history([f"问{i}" for i in range(50)], 20, 100) == [f"问{i}" for i in range(30, 50)]
    assert clean_history(["\u200b", "  好 ", "长" * 300], 20, 100) == ["好", "长" * 100]
    with pytest.raises(BadInputError):
        clean_history("not a list", 20, 100)
    with pytest.raises(BadInputError, match="invalid character"):
        clean_history(["\ud800"], 20, 100)


def test_the_service_refuses_invisible_questions_before_loading_anything(tmp_path):
    from qa.config import Settings

    service = QAService(Settings(index_dir=tmp_path / "none"), embedder=FakeEmbedder())
    for q in ("\u200b\u200b", "\x00", "\ufeff \u2060"):
        with pytest.raises(BadInputError, match="empty"):
            service.ask(q)
    assert service._state is None


# ------------------------------------------------------------------------------ the JSON API


@pytest.fixture
def api(fake_build):
    from fastapi.testclient import TestClient

    from qa.serving.app import create_app

    settings, _, _ = fake_build()
    service = QAService(settings, embedder=FakeEmbedder())
    with TestClient(create_app(service)) as client:
        yield client, settings


def post_raw(client, body: bytes):
    return client.post("/api/ask", content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    "body, status, words",
    [
        ('{"question": "\\u200b\\u200c\\u2060\\ufeff"}', 400, "empty"),
        ('{"question": "\\u0000\\u0007"}', 400, "empty"),
        ('{"question": "\\ud800"}', 400, "invalid character"),
        ('{"question": "好", "history": ["\\udfff"]}', 400, "invalid character"),
        ('{"question": "好", "history": [1]}', 400, "history"),
        ('{"question": "好", "history": ' + json.dumps(["问"] * 21) + "}", 400, "over the 20 limit"),
        ("[" * 100_000 + "]" * 100_000, 400, "nested too deeply"),
        ('{"a":' * 30_000 + "1" + "}" * 30_000, 400, "nested too deeply"),
        (b'{"question": "\xff\xfe"}', 400, "UTF-8"),
        ("", 400, "JSON"),
        ("null", 400, "JSON object"),
        ('{"question": ["x"]}', 400, "question"),
        ('{"question": "' + "问" * 2000 + '"}', 400, "limit"),
    ],
)
def test_api_client_errors_are_400_with_a_message(api, body, status, words):
    client, _ = api
    r = post_raw(client, body if isinstance(body, bytes) else body.encode("utf-8"))
    assert r.status_code == status, r.text[:300]
    assert words in r.json()["error"]


def test_api_oversized_body_is_413(api):
    client, _ = api
    r = post_raw(client, json.dumps({"question": "好", "pad": "x" * (MAX_BODY + 10)}).encode())
    assert r.status_code == 413 and "body is over" in r.json()["error"]


def test_api_normalizes_the_question(api):
    client, _ = api
    r = client.post("/api/ask", json={"question": "\u200b全国完成了多少座\u200d尾矿库环境风险排查？\ufeff"})
    assert r.status_code == 200
    assert r.json()["question"] == QUESTION  # what retrieval saw, without the invisible characters


def test_api_server_side_trouble_is_503(api):
    client, settings = api
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200
    # Another process publishes a damaged version: the server keeps serving the one it has and says so.
    vdir = store.current_dir(settings.index_dir)
    damaged = vdir.parent / "20990101T000000000000Z-bad000"
    shutil.copytree(vdir, damaged)
    (damaged / "vectors.faiss").write_bytes(b"garbage")
    (settings.index_dir / "CURRENT").write_text(damaged.name + "\n", encoding="utf-8")
    r = client.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 200
    health = client.get("/healthz").json()
    assert health["ok"] is True and health["version"] == vdir.name and "does not match" in health["error"]


def test_api_without_an_index_is_503(tmp_path):
    from fastapi.testclient import TestClient

    from qa.config import Settings
    from qa.serving.app import create_app

    service = QAService(Settings(index_dir=tmp_path / "none", data_dir=tmp_path / "d"), embedder=FakeEmbedder())
    with TestClient(create_app(service)) as client:
        r = client.post("/api/ask", json={"question": QUESTION})
        assert r.status_code == 503 and "qa build" in r.json()["error"]
        assert client.get("/healthz").status_code == 503


# ------------------------------------------------------------------------------ the command line


def test_invalid_utf8_in_a_cli_question_is_one_line(fake_build):
    settings, _, _ = fake_build()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_PROGRESS="0", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    for args in ([b"ask", b"\xff\xfe\xe5\xb0"], [b"ask", QUESTION.encode(), b"--history", b"ok", b"\xc3\x28"]):
        done = subprocess.run(
            [os.fsencode(QA_BIN), *args, b"--index", os.fsencode(settings.index_dir)],
            env=env,
            capture_output=True,
            timeout=120,
        )
        err = done.stderr.decode("utf-8", "replace")
        assert done.returncode == 2, err
        assert len(err.strip().splitlines()) == 1 and "not valid UTF-8" in err and "Traceback" not in err


def test_a_cli_question_of_zero_width_characters_is_empty(fake_build):
    settings, _, _ = fake_build()
    done = run_qa("ask", "\u200b\u200c\u200d\ufeff", "--index", settings.index_dir)
    assert done.returncode == 2 and "question is empty" in done.stderr and done.stdout == ""


# ------------------------------------------------------------------------------ qa eval


def test_eval_reports_bad_rows_and_goes_on(fake_build, tmp_path, capsys, monkeypatch):
    from qa.cli import main

    settings, _, emb = fake_build()
    rows = [
        json.dumps({"question": QUESTION, "gold": [9]}, ensure_ascii=False).encode(),
        b"not json",
        b'{"question": 3, "gold": [1]}',
        b'{"question": "\xff\xfe", "gold": [1]}',
        b'{"question": "\\u200b", "gold": [1]}',
        b'{"question": "ok?", "gold": ["nine"]}',
        b'{"question": "ok?", "gold": [1], "history": "x"}',
        b"[" * 50_000,
        json.dumps({"question": "谁主持开幕会？", "gold": [24]}, ensure_ascii=False).encode(),
    ]
    qs = tmp_path / "q.jsonl"
    qs.write_bytes(b"\n".join(rows) + b"\n")
    monkeypatch.setattr("qa.serving.service.QAService.embedder", property(lambda self: emb))
    for k in [k for k in os.environ if k.startswith("QA_") and k != "QA_CACHE_DIR"]:
        monkeypatch.delenv(k)
    code = main(["eval", str(qs), "--index", str(settings.index_dir), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["questions"] == 2
    warnings = [ln for ln in err.splitlines() if ln.startswith("qa: warning:")]
    for line_no, words in (
        (2, "not valid JSON"),
        (3, '"question"'),
        (4, "UTF-8"),
        (6, "integers"),
        (7, "history"),
        (8, "nested"),
    ):
        assert any(f"q.jsonl:{line_no}:" in w and words in w for w in warnings), (line_no, warnings)
    assert any("line 5" in w and "empty" in w for w in warnings)
    assert len(report["bad_rows"]) == 6 and len(report["skipped"]) == 1
