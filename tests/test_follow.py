"""A running `qa serve` follows the index on disk: a `qa build` from another process is served within seconds."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import run_qa

pytestmark = pytest.mark.slow

WETLAND = "星河湾湿地公园简介\n星河湾湿地公园在2023年共记录到候鸟217种，其中黑脸琵鹭首次在园区越冬。\n"


def _wait_for(server, predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while True:
        health = httpx.get(f"{server.url}/healthz", timeout=30).json()
        if predicate(health) or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def test_an_outside_build_is_served_within_seconds(live_server):
    before = httpx.get(f"{live_server.url}/healthz", timeout=30).json()
    assert before["documents"] == 1 and before["version"]
    (live_server.data_dir / "wetland.txt").write_text(WETLAND, encoding="utf-8")
    done = run_qa("build", live_server.data_dir, "--index", live_server.index_dir)
    assert done.returncode == 0, done.stderr
    assert "1 paragraphs embedded" in done.stdout or "2 paragraphs embedded" in done.stdout  # only the new file
    t0 = time.monotonic()
    health = _wait_for(live_server, lambda h: h["documents"] == 2)
    assert health["documents"] == 2 and health["version"] != before["version"], health
    assert time.monotonic() - t0 < 5
    body = httpx.post(
        f"{live_server.url}/api/ask", json={"question": "星河湾湿地公园记录到多少种候鸟？"}, timeout=60
    ).json()
    assert body["citations"][0]["doc"] == "wetland.txt"

    (live_server.data_dir / "wetland.txt").unlink()
    done = run_qa("build", live_server.data_dir, "--index", live_server.index_dir)
    assert done.returncode == 0, done.stderr
    health = _wait_for(live_server, lambda h: h["documents"] == 1)
    assert health["documents"] == 1
    body = httpx.post(
        f"{live_server.url}/api/ask", json={"question": "星河湾湿地公园记录到多少种候鸟？"}, timeout=60
    ).json()
    assert all(c["doc"] != "wetland.txt" for c in body["citations"])
