"""Optional generation against a small local server that speaks the OpenAI chat completions API."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa.answering.generate import clean, endpoint, rewrite
from qa.config import Settings
from qa.types import Answer, Citation

PARA1 = "2023年，全国地级及以上城市细颗粒物平均浓度为30微克/立方米。这是一个不该发送的整段背景句子。"
PARA2 = "重污染天数比率为1.6%。另一句与问题无关的内容，同样不该发送。"
SENT1 = "2023年，全国地级及以上城市细颗粒物平均浓度为30微克/立方米。"
SENT2 = "重污染天数比率为1.6%。"
EXTRACTIVE = f"{SENT1}[1]{SENT2}[2]"


def _answer(found: bool = True) -> Answer:
    cites = (
        Citation(1, "report.txt", 3, PARA1, (SENT1,), ((0, len(SENT1)),), 0.9, "报告"),
        Citation(2, "report.txt", 7, PARA2, (SENT2,), ((0, len(SENT2)),), 0.8, "报告"),
    )
    return Answer("2023年PM2.5浓度是多少？", found, EXTRACTIVE, cites, "2023年PM2.5浓度是多少？")


class _Server:
    """Canned replies per test; records every request it receives."""

    def __init__(self):
        self.status = 200
        self.content: str | None = "ok"
        self.raw: bytes | None = None  # sent verbatim instead of a JSON reply
        self.delay = 0.0
        self.requests: list[dict] = []
        self.release = threading.Event()  # set at teardown so a "slow" handler stops waiting
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                if server.delay:
                    server.release.wait(server.delay)
                payload = server.raw
                if payload is None:
                    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": server.content}}]}
                    payload = json.dumps(reply, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(server.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def settings(self, **kw) -> Settings:
        return Settings(llm_url=self.url, llm_model="qwen-test", llm_api_key="sk-test", llm_timeout=2.0).replace(**kw)


@pytest.fixture
def llm(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # a proxy in the environment must not intercept 127.0.0.1
    s = _Server()
    # A short poll interval keeps shutdown() from waiting the default 0.5 s per test.
    thread = threading.Thread(target=s.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield s
    s.release.set()
    s.httpd.shutdown()
    s.httpd.server_close()


def test_request_carries_question_and_only_cited_sentences(llm):
    llm.content = "细颗粒物平均浓度为30微克/立方米[1]。"
    rewrite(_answer(), llm.settings())
    (req,) = llm.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["body"]
    assert body["model"] == "qwen-test" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    user = body["messages"][1]["content"]
    assert "2023年PM2.5浓度是多少？" in user
    assert f"[1] {SENT1}" in user and f"[2] {SENT2}" in user
    sent = json.dumps(body, ensure_ascii=False)
    assert "不该发送" not in sent  # the rest of the paragraphs stays home


def test_no_auth_header_without_key(llm):
    llm.content = "浓度为30微克/立方米[1]。"
    rewrite(_answer(), llm.settings(llm_api_key=""))
    assert "Authorization" not in llm.requests[0]["headers"]


def test_reply_with_valid_markers_is_used(llm):
    llm.content = "2023年PM2.5平均浓度为30微克/立方米[1]，重污染天数比率为1.6%[2]。"
    original = _answer()
    out = rewrite(original, llm.settings())
    assert out.generated is True
    assert out.answer == llm.content
    assert out.citations == original.citations and out.found and out.question == original.question
    assert original.answer == EXTRACTIVE and original.generated is False  # the input is not mutated


def test_invalid_marker_is_removed(llm):
    llm.content = "平均浓度为30微克/立方米[1][9]，重污染天数比率为1.6% [9]。"
    out = rewrite(_answer(), llm.settings())
    assert out.generated is True
    assert out.answer == "平均浓度为30微克/立方米[1]，重污染天数比率为1.6%。"


@pytest.mark.parametrize(
    "content",
    ["平均浓度为30微克/立方米[9]。", "这些句子不能回答这个问题。", "", "   "],
    ids=["only-invalid-marker", "no-marker", "empty", "blank"],
)
def test_reply_without_valid_marker_falls_back(llm, content, caplog):
    llm.content = content
    with caplog.at_level(logging.WARNING, logger="qa.answering.generate"):
        out = rewrite(_answer(), llm.settings())
    assert out.generated is False and out.answer == EXTRACTIVE
    assert len(caplog.records) == 1


@pytest.mark.parametrize(
    "status, raw, content",
    [
        (500, b'{"error": "boom"}', None),
        (200, b"not json {", None),
        (200, b'{"choices": []}', None),
        (200, b'{"id": "x"}', None),
        (200, None, None),  # content: null
    ],
    ids=["http-500", "invalid-json", "no-choices", "no-choices-key", "null-content"],
)
def test_bad_replies_fall_back(llm, status, raw, content, caplog):
    llm.status, llm.raw, llm.content = status, raw, content
    with caplog.at_level(logging.WARNING, logger="qa.answering.generate"):
        out = rewrite(_answer(), llm.settings())
    assert out == _answer()
    assert len(caplog.records) == 1 and "\n" not in caplog.records[0].getMessage()


def test_slow_server_times_out_and_falls_back(llm, caplog):
    import time

    llm.delay, llm.content = 5.0, "浓度为30微克/立方米[1]。"
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="qa.answering.generate"):
        out = rewrite(_answer(), llm.settings(llm_timeout=0.5))
    assert time.monotonic() - start < 2.0
    assert out == _answer()
    assert "timed out" in caplog.text.lower()


def test_connection_refused_falls_back(caplog, monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    settings = Settings(llm_url=f"http://127.0.0.1:{port}/v1", llm_model="m", llm_timeout=2.0)
    with caplog.at_level(logging.WARNING, logger="qa.answering.generate"):
        out = rewrite(_answer(), settings)
    assert out == _answer()
    assert len(caplog.records) == 1


def test_not_found_answer_is_never_sent(llm):
    llm.content = "浓度为30微克/立方米[1]。"
    declined = _answer(found=False)
    assert rewrite(declined, llm.settings()) is declined
    assert llm.requests == []


def test_full_url_is_used_as_is(llm):
    llm.content = "浓度为30微克/立方米[1]。"
    rewrite(_answer(), llm.settings(llm_url=llm.url + "/chat/completions"))
    assert llm.requests[0]["path"] == "/v1/chat/completions"


def test_endpoint_and_clean():
    assert endpoint("http://h/v1/") == "http://h/v1/chat/completions"
    assert endpoint("http://h/v1/chat/completions") == "http://h/v1/chat/completions"
    assert clean("甲［1］乙【2，9】丙[1, 2]丁[3]", {1, 2}) == "甲[1]乙[2]丙[1][2]丁"
    assert clean("<think>[1] 草稿</think>答案[1]", {1}) == "答案[1]"
