"""An exposed server: the file-reference attack, the admin token, where it may listen, recoverable documents.

In-process (FastAPI TestClient over the real app, a real QAService with the FakeEmbedder), so
the requests go through Gradio's own routes exactly as a remote client's would.
"""

from __future__ import annotations

import json

import pytest

from qa.errors import BadInputError
from qa.serving import security
from qa.serving.service import QAService
from tests.conftest import run_qa
from tests.fakes import FakeEmbedder

SECRET = "机密：服务器上的私人文件，不应被任何客户端读到。绝密代号青鸾。\n"
NEW_DOC = "星河湾湿地公园简介\n星河湾湿地公园在2023年共记录到候鸟217种。\n"


@pytest.fixture
def app_for(fake_build, tmp_path):
    """(TestClient, service, settings) for a real service with `token`, over a fresh FakeEmbedder index."""
    from fastapi.testclient import TestClient

    from qa.serving.app import create_app

    clients = []

    def make(token=""):
        settings, _, _ = fake_build()
        settings = settings.replace(token=token)
        service = QAService(settings, embedder=FakeEmbedder())
        client = TestClient(create_app(service))
        client.__enter__()
        clients.append(client)
        return client, service, settings

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def call(client, api_name, data, headers=None, expect="complete") -> list:
    """Call a named Gradio endpoint over HTTP the way any client can; return its final output."""
    r = client.post(f"/gradio_api/call/{api_name}", json={"data": data}, headers=headers or {})
    assert r.status_code == 200, r.text
    event = r.json()["event_id"]
    stream = client.get(f"/gradio_api/call/{api_name}/{event}", headers=headers or {})
    lines = stream.text.splitlines()
    events = [(a[7:], b[6:]) for a, b in zip(lines, lines[1:]) if a.startswith("event: ") and b.startswith("data: ")]
    kind, payload = events[-1]
    assert kind == expect, stream.text[-2000:]
    return json.loads(payload)


def file_ref(path) -> dict:
    return {"path": str(path), "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def test_a_file_reference_to_a_server_path_is_refused_and_never_read(app_for, tmp_path):
    client, service, settings = app_for()
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET, encoding="utf-8")
    before = sorted(p.name for p in settings.data_dir.iterdir())
    call(client, "add_documents", [[file_ref(secret)], "", "", "add", ""], expect="error")
    assert sorted(p.name for p in settings.data_dir.iterdir()) == before
    body = client.post("/api/ask", json={"question": "绝密代号是什么？"}).json()
    assert "青鸾" not in json.dumps(body, ensure_ascii=False)
    # A symlink inside the upload folder that points out of it is refused too.
    root = security.upload_root()
    root.mkdir(parents=True, exist_ok=True)
    link = root / f"qa-test-link-{tmp_path.name}.txt"
    link.symlink_to(secret)
    try:
        call(client, "add_documents", [[file_ref(link)], "", "", "add", ""], expect="error")
    finally:
        link.unlink()
    assert sorted(p.name for p in settings.data_dir.iterdir()) == before


def test_the_handler_reads_only_regular_files_inside_the_upload_folder(tmp_path):
    root, outside = tmp_path / "uploads", tmp_path / "secret.txt"
    (root / "abc").mkdir(parents=True)
    outside.write_text(SECRET, encoding="utf-8")
    good = root / "abc" / "a.txt"
    good.write_text("好。", encoding="utf-8")
    (root / "abc" / "link.txt").symlink_to(outside)
    assert security.uploaded_file(str(good), root) == good.resolve()
    for bad in (
        outside,
        root / "abc" / "link.txt",
        root / "abc" / ".." / ".." / "secret.txt",
        root / "abc",
        "/etc/passwd",
    ):
        with pytest.raises(BadInputError, match="not a file uploaded to this server"):
            security.uploaded_file(str(bad), root)


def test_gradio_file_route_does_not_serve_server_files(app_for, tmp_path):
    client, _, _ = app_for()
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    for path in (secret, "/etc/passwd"):
        r = client.get(f"/gradio_api/file={path}")
        assert r.status_code in (403, 404), (path, r.status_code)
        assert "青鸾" not in r.text and "root:" not in r.text


def test_a_real_upload_then_add_works(app_for):
    client, service, settings = app_for()
    up = client.post("/gradio_api/upload", files={"files": ("wetland.txt", NEW_DOC.encode(), "text/plain")})
    assert up.status_code == 200, up.text
    path = up.json()[0]
    out = call(client, "add_documents", [[{"path": path, "meta": {"_type": "gradio.FileData"}}], "", "", "add", ""])
    assert "status-ok" in out[0] and "wetland.txt" in out[0]
    assert (settings.data_dir / "wetland.txt").read_text(encoding="utf-8") == NEW_DOC


def test_with_a_token_every_corpus_action_needs_it(app_for):
    client, service, settings = app_for(token="s3cret-token")
    names = lambda: sorted(p.name for p in settings.data_dir.iterdir() if p.is_file())  # noqa: E731
    before, version = names(), service.health()["version"]
    for api_name, data in (
        ("add_documents", [[], "新文档", NEW_DOC, "add"]),
        ("add_documents", [[], "新文档", NEW_DOC, "replace"]),
        ("rebuild", []),
        ("remove_document", [names()[0]]),
    ):
        for token in ("", "wrong", "s3cret"):
            out = call(client, api_name, [*data, token])
            assert "admin token" in out[0], (api_name, token, out[0])
        out = call(client, api_name, [*data, "nope"], headers={"Authorization": "Bearer also-wrong"})
        assert "admin token" in out[0]
    assert names() == before and service.health()["version"] == version
    # Chat needs no token.
    assert client.post("/api/ask", json={"question": "全国完成了多少座尾矿库环境风险排查？"}).status_code == 200
    out = call(client, "add_documents", [[], "新文档", NEW_DOC, "add", "s3cret-token"])
    assert "status-ok" in out[0]
    out = call(client, "remove_document", ["新文档.txt", ""], headers={"Authorization": "Bearer s3cret-token"})
    assert "status-ok" in out[0] and names() == before


def test_the_token_field_shows_only_when_a_token_is_set(app_for):
    client, _, _ = app_for()
    config = client.get("/config").json()
    admin = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "admin-token"]
    assert admin and admin[0]["props"]["visible"] is False
    client, _, _ = app_for(token="x")
    config = client.get("/config").json()
    admin = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "admin-token"]
    assert admin[0]["props"]["visible"] is True and admin[0]["props"]["type"] == "password"


@pytest.mark.parametrize(
    "host, token, insecure, ok",
    [
        ("127.0.0.1", "", False, True),
        ("localhost", "", False, True),
        ("::1", "", False, True),
        ("0.0.0.0", "", False, False),
        ("192.168.1.5", "", False, False),
        ("myhost.example", "", False, False),
        ("0.0.0.0", "t", False, True),
        ("0.0.0.0", "", True, True),
    ],
)
def test_where_the_server_may_listen(host, token, insecure, ok):
    if ok:
        security.check_exposure(host, token, insecure)
    else:
        with pytest.raises(BadInputError, match="QA_TOKEN.*--insecure"):
            security.check_exposure(host, token, insecure)


def test_qa_serve_on_all_addresses_without_a_token_refuses_to_start(tmp_path):
    done = run_qa("serve", "--host", "0.0.0.0", "--port", "1", "--index", tmp_path / "i", timeout=60)
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0" in done.stderr and "QA_TOKEN" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ recoverable documents


def _backups(settings):
    return sorted(
        p.relative_to(settings.data_dir / ".backups").as_posix()
        for p in (settings.data_dir / ".backups").rglob("*.txt")
    )


def test_replacing_the_corpus_twice_keeps_both_earlier_corpora(fake_build):
    settings, _, _ = fake_build()
    service = QAService(settings, embedder=FakeEmbedder())
    first = service.clear_documents()
    service.save_upload("b.txt", NEW_DOC.encode())
    second = service.clear_documents()
    assert first[0].parent != second[0].parent
    kept = _backups(settings)
    # the report, its examples.txt (the corpus's data goes with it: docs/synonyms.md) and b.txt
    assert len(kept) == 3 and any(k.endswith("-replaced/b.txt") for k in kept)
    assert any(k.endswith("-replaced/examples.txt") for k in kept) and not (settings.data_dir / "synonyms.tsv").exists()
    assert (
        first[0].exists()
        and first[0].read_bytes()
        == (settings.data_dir.parent / "data" / ".backups").joinpath(first[0].parent.name, first[0].name).read_bytes()
    )


def test_overwriting_a_document_keeps_a_copy_and_a_failed_rebuild_puts_it_back(fake_build, tmp_path):
    from qa.serving.app import DocsHandlers

    settings, _, _ = fake_build()
    service = QAService(settings, embedder=FakeEmbedder())
    name = next(p.name for p in sorted(settings.data_dir.iterdir()) if p.name.startswith("000_"))  # the report
    original = (settings.data_dir / name).read_bytes()
    upload = tmp_path / "up" / name
    upload.parent.mkdir()
    upload.write_text(NEW_DOC, encoding="utf-8")

    def failing(progress=None):
        raise RuntimeError("embedder crashed")

    service.rebuild = failing
    out = DocsHandlers(service, upload_root=upload.parent).add([str(upload)], "", "", "add", lambda *a, **k: None)
    assert "Rebuild failed" in out[0] and "RuntimeError" in out[0]
    assert (settings.data_dir / name).read_bytes() == original  # restored
    del service.rebuild
    out = DocsHandlers(service, upload_root=upload.parent).add([str(upload)], "", "", "add", lambda *a, **k: None)
    assert "status-ok" in out[0] and "kept in" in out[0]
    assert (settings.data_dir / name).read_text(encoding="utf-8") == NEW_DOC
    copies = list((settings.data_dir / ".backups").glob(f"*-overwritten/{name}"))
    assert [c.read_bytes() for c in copies][-1] == original


def test_removing_a_document_keeps_a_copy(fake_build):
    settings, _, _ = fake_build()
    service = QAService(settings, embedder=FakeEmbedder())
    name = next(p.name for p in sorted(settings.data_dir.iterdir()) if p.name.startswith("000_"))  # the report
    data = (settings.data_dir / name).read_bytes()
    backup = service.remove_document(name)
    assert not (settings.data_dir / name).exists() and backup.read_bytes() == data
    with pytest.raises(BadInputError, match="no such document"):
        service.remove_document(".backups")
