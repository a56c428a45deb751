"""Shared fixtures. Add yours below; keep each one independent of test order."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bundled_model_dir() -> Path:
    """The bundled model converted once per machine, where the app keeps it (QA_CACHE_DIR,
    else $XDG_CACHE_HOME/qa, else ~/.cache/qa), so tests and real runs share one copy."""
    from qa.embedding.bundled import prepare_bundled_model

    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    cache = Path(os.environ.get("QA_CACHE_DIR") or Path(xdg) / "qa")
    return prepare_bundled_model(cache, progress=False)


# ---------------------------------------------------------------- core suite (ingest..cli)


ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "data" / "000_2a377fbb1db50b86.txt"
QA_BIN = Path(sys.executable).with_name("qa")
CORPUS_FILES = ("synonyms.tsv", "examples.txt")  # the report's corpus data (docs/synonyms.md)
# ... and its own abstention model (qa calibrate, docs/abstention.md): fitted with the real model's
# signals, so only indexes built with the real model take it (a fake embedder's build refuses it)
REAL_MODEL_FILES = (*CORPUS_FILES, "abstention.json")


@pytest.fixture
def fake_build(tmp_path):
    """Build an index of `paths` with the FakeEmbedder into tmp_path/<name>; returns (settings, index, embedder)."""
    from qa.config import Settings
    from qa.indexing import builder as indexer
    from tests.fakes import FakeEmbedder

    def build(paths=None, name="index", embedder=None, **settings_kw):
        if paths is None:
            data = tmp_path / "data"
            data.mkdir(exist_ok=True)
            shutil.copy(REPORT, data / REPORT.name)
            for corpus_file in CORPUS_FILES:  # the report's synonyms and example questions, beside it
                shutil.copy(REPORT.parent / corpus_file, data / corpus_file)
            paths = [data]
        settings = Settings(
            index_dir=tmp_path / name, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", **settings_kw
        )
        embedder = embedder or FakeEmbedder()
        return settings, indexer.build(paths, settings, embedder), embedder

    return build


def tree_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path (to prove an index was left untouched).

    The build lock's files are not index data: a build that failed may have created them."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file() and not p.name.startswith("build.lock")
    }


def run_qa(*args, env_extra: dict | None = None, cwd: Path | None = None, timeout: float = 600):
    """Run the installed `qa` console script; QA_* variables from the caller's env are dropped first.

    The script imports the installed package: run from a git worktree that shares another checkout's
    editable venv, it runs that checkout's code unless PYTHONPATH names the worktree
    (`PYTHONPATH=$PWD .venv/bin/python -m pytest -m slow`); CI's fresh clone has its own venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_CACHE_DIR"}
    env["QA_PROGRESS"] = "0"
    env.update(env_extra or {})
    return subprocess.run(
        [str(QA_BIN), *map(str, args)], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def real_index(tmp_path_factory) -> Path:
    """ONE index of a copy of data/ built with the real bundled model through `qa build`, shared by slow tests."""
    root = tmp_path_factory.mktemp("real")
    data = root / "data"
    shutil.copytree(ROOT / "data", data)
    index = root / "index"
    done = run_qa("build", data, "--index", index, cwd=root)
    assert done.returncode == 0, done.stderr
    (root / "build.stdout").write_text(done.stdout, encoding="utf-8")  # for the CLI test of the summary
    assert (index / "CURRENT").exists()
    return index


@pytest.fixture(scope="session")
def real_service(real_index):
    """A QAService over the session index with the real model loaded once in this process."""
    from qa.config import from_env
    from qa.serving.service import QAService

    env = {k: v for k, v in os.environ.items() if k == "QA_CACHE_DIR"}
    return QAService(from_env(env, index_dir=real_index))


# ---------------------------------------------------------------- UI and API suite (qa serve)


# gradio_client and the app must not call home from tests either.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    index_dir: Path
    log: Path
    proc: subprocess.Popen

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-n:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, real_index) -> LiveServer:
    """`qa serve` in a subprocess on a free port, one per test module, over its own copies of
    data/ (the report) and of the session's real index, so modules can change their corpus freely."""
    import httpx

    root = tmp_path_factory.mktemp("serve")
    data, index, log = root / "data", root / "index", root / "serve.log"
    data.mkdir()
    for name in (REPORT.name, *REAL_MODEL_FILES):  # the report, its synonyms, example questions, own model
        shutil.copy(REPORT.parent / name, data / name)
    shutil.copytree(real_index, index)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_CACHE_DIR"}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_DISABLE_TELEMETRY="1", PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qa",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data",
                str(data),
                "--index",
                str(index),
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", data, index, log, proc)
    deadline = time.monotonic() + 300  # model load on a cold 2-core machine; the index is prebuilt
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"qa serve exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"qa serve did not become healthy in 300 s:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
