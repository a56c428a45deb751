"""The JSON API and Gradio's named endpoint against a live `qa serve` (real model, real index)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

slow = pytest.mark.slow  # everything against the live server; the in-process tests at the end are fast

# question -> the report's paragraph that answers it (data/000_2a377fbb1db50b86.txt, one paragraph a line)
KNOWN = {
    "全国完成了多少座尾矿库环境风险排查？": 9,
    "2023年核与辐射安全监管的重点任务": 20,
    "谁主持开幕会？": 24,
}


def ask(server, payload, **kw):
    return httpx.post(f"{server.url}/api/ask", json=payload, timeout=60, **kw)


@slow
@pytest.mark.parametrize("question,paragraph", KNOWN.items())
def test_api_ask_cites_the_paragraph_that_answers(live_server, question, paragraph):
    r = ask(live_server, {"question": question, "history": []})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"question", "found", "answer", "citations"} <= body.keys()
    assert body["question"] == question and body["found"] is True
    first = body["citations"][0]
    assert (first["n"], first["doc"], first["paragraph"]) == (1, "000_2a377fbb1db50b86.txt", paragraph)
    assert {"text", "highlights", "score"} <= first.keys() and first["highlights"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers and markers <= {c["n"] for c in body["citations"]}


@slow
def test_api_ask_returns_what_qa_ask_json_prints(live_server):
    from tests.conftest import run_qa

    question = "全国完成了多少座尾矿库环境风险排查？"
    api = ask(live_server, {"question": question}).json()
    done = run_qa("ask", "--json", "--index", live_server.index_dir, question)
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout)
    assert api.keys() == cli.keys()
    assert (api["found"], api["answer"]) == (cli["found"], cli["answer"])
    strip = lambda cs: [{k: v for k, v in c.items() if k != "score"} for c in cs]  # noqa: E731 - scores may differ in the last digit
    assert strip(api["citations"]) == strip(cli["citations"])


@slow
def test_api_ask_uses_history_for_a_follow_up(live_server):
    r = ask(live_server, {"question": "那核安全方面呢？", "history": ["2023年生态环境保护的重点任务有哪些？"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "2023" in body["query"] and "核" in body["query"]  # retrieval saw the conversation
    assert 20 in [c["paragraph"] for c in body["citations"]]


@slow
def test_api_ask_declines_what_the_documents_do_not_say(live_server):
    body = ask(live_server, {"question": "如何做红烧肉？"}).json()
    assert body["found"] is False
    assert "[1]" not in body["answer"]


@slow
@pytest.mark.parametrize(
    "payload",
    [
        {"question": ""},
        {"question": "   "},
        {"history": ["x"]},
        {"question": 42},
        {"question": "好问题", "history": "not a list"},
        ["not", "an", "object"],
    ],
)
def test_api_ask_rejects_bad_requests_with_400_and_a_message(live_server, payload):
    r = ask(live_server, payload)
    assert r.status_code == 400
    assert r.json()["error"].strip()


@slow
def test_api_ask_rejects_a_body_that_is_not_json(live_server):
    r = httpx.post(
        f"{live_server.url}/api/ask", content=b"{not json", timeout=30, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["error"]


@slow
def test_api_ask_reports_a_too_long_question_as_400(live_server):
    r = ask(live_server, {"question": "问" * 5000})
    assert r.status_code == 400 and "limit" in r.json()["error"]


@slow
def test_healthz_reports_the_index(live_server):
    r = httpx.get(f"{live_server.url}/healthz", timeout=30)
    assert r.status_code == 200
    h = r.json()
    assert h["ok"] is True and h["error"] is None
    assert h["documents"] == 1 and h["passages"] > 25
    assert h["model"] and h["built_at"]
    assert h["abstention"] == "own"  # the report's data/abstention.json decides (qa calibrate)


@slow
def test_gradio_client_chat_endpoint_cites_and_streams_the_answer(live_server):
    from gradio_client import Client

    client = Client(live_server.url, verbose=False)
    question, chat, panel = client.predict("全国完成了多少座尾矿库环境风险排查？", [], api_name="/chat")
    assert question == ""
    assert [m["role"] for m in chat] == ["user", "assistant"]
    reply = json.dumps(chat[-1]["content"], ensure_ascii=False)  # a string or a list of text blocks
    assert 'href=\\"#cite-1-1\\"' in reply
    assert re.search(r'id="cite-1-1"[^>]*data-paragraph="9"', panel)
    assert "<mark>" in panel

    # A follow-up: the earlier messages go back in, their user questions become the history.
    earlier = [
        {"role": "user", "content": [{"type": "text", "text": "2023年生态环境保护的重点任务有哪些？"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "…"}]},
    ]
    _, chat2, panel2 = client.predict("那核安全方面呢？", earlier, api_name="/chat")
    assert len(chat2) == 4
    latest = panel2.split("</details>")[0]  # the newest turn comes first
    assert re.search(r'id="cite-2-\d+"[^>]*data-paragraph="20"', latest)
    assert "Searched as:" in panel2 and "2023" in panel2


@slow
def test_gradio_client_lists_only_the_intended_endpoints(live_server):
    from gradio_client import Client

    api = Client(live_server.url, verbose=False).view_api(print_info=False, return_format="dict")
    names = set(api["named_endpoints"])
    assert {"/chat", "/add_documents", "/rebuild", "/remove_document"} <= names
    assert not any("lambda" in n for n in names)


# -- the API layer in-process, with a stand-in service (fast) ---------------------------------


class StubService:
    """Answers with one citation; `broken` makes it behave like a missing index."""

    def __init__(self, broken=False):
        from qa.config import Settings

        self.broken = broken
        self.settings = Settings(max_file_bytes=1000)

    def ask(self, question, history=()):
        from qa.errors import BadInputError, IndexMissingError
        from qa.types import Answer, Citation

        if self.broken:
            raise IndexMissingError("no index at index/; run: qa build")
        if len(question) > 100:
            raise BadInputError("the question is over the 100 limit")
        cite = Citation(1, "a.txt", 3, "句子。", ("句子。",), ((0, 3),), 0.9)
        return Answer(question, True, "句子。[1]", (cite,), " ".join([*history, question]))

    def health(self):
        if self.broken:
            return {
                "ok": False,
                "index": "index",
                "documents": 0,
                "passages": 0,
                "model": "m",
                "built_at": None,
                "error": "no index at index/; run: qa build",
            }
        return {
            "ok": True,
            "index": "index",
            "documents": 1,
            "passages": 1,
            "model": "m",
            "built_at": "2026-01-01T00:00:00+00:00",
            "error": None,
        }

    def documents(self):
        return []

    def examples(self):
        return ["样例问题？"]


@pytest.fixture(scope="module")
def client_for():
    from fastapi.testclient import TestClient

    from qa.serving.app import create_app

    return lambda service: TestClient(create_app(service))


def test_in_process_ask_returns_the_answer_json_and_passes_history(client_for):
    r = client_for(StubService()).post("/api/ask", json={"question": "问？", "history": ["前一问"]})
    assert r.status_code == 200
    body = r.json()
    assert body["answer"] == "句子。[1]" and body["query"] == "前一问 问？"
    assert body["citations"][0]["paragraph"] == 3 and body["citations"][0]["spans"] == [[0, 3]]


def test_in_process_client_errors_are_400_and_server_state_503(client_for):
    client = client_for(StubService())
    r = client.post("/api/ask", json={"question": "长" * 200})
    assert r.status_code == 400 and r.json() == {"error": "the question is over the 100 limit"}
    r = client_for(StubService(broken=True)).post("/api/ask", json={"question": "问？"})
    assert r.status_code == 503 and "qa build" in r.json()["error"]


def test_in_process_healthz_is_503_without_an_index(client_for):
    r = client_for(StubService(broken=True)).get("/healthz")
    assert r.status_code == 503 and r.json()["ok"] is False and "qa build" in r.json()["error"]
    assert client_for(StubService()).get("/healthz").status_code == 200


def test_in_process_page_is_served_and_names_no_remote_host(client_for):
    page = client_for(StubService()).get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    remote = re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text)
    assert remote == []


def test_in_process_upload_over_the_file_limit_is_refused_before_it_is_stored(client_for):
    client = client_for(StubService())  # max_file_bytes=1000
    small = client.post("/gradio_api/upload", files={"files": ("a.txt", "短文。".encode() * 10, "text/plain")})
    assert small.status_code == 200, small.text
    big = client.post("/gradio_api/upload", files={"files": ("b.txt", b"x" * 5000, "text/plain")})
    assert big.status_code == 413, big.text
