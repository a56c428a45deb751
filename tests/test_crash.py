"""Crash injection: a build killed at every step of publishing a version leaves an index that answers.

A first build in this process records the name of every step of the save (versions.checkpoint).
Then, for each step, a fresh copy of a two-version index is rebuilt in a subprocess that dies
with os._exit at exactly that step (no cleanup, no finally: as a SIGKILL or a power cut after the
step's data reached the disk). Afterwards the index must load, be the old or the new version
whole, answer a question with citations, and the next build must succeed and leave nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from qa.config import Settings
from qa.indexing import builder as indexer
from qa.indexing import store, versions
from qa.serving.service import QAService
from tests.conftest import REPORT, ROOT
from tests.fakes import FakeEmbedder

NEW_DOC = "星河湾湿地公园简介\n星河湾湿地公园在2023年共记录到候鸟217种，其中黑脸琵鹭首次在园区越冬。\n"

CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from qa.config import Settings
    from qa.indexing import builder, versions
    from tests.fakes import FakeEmbedder

    crash_at, seen = int(sys.argv[1]), []

    def checkpoint(step):
        seen.append(step)
        if len(seen) == crash_at:
            os._exit(9)

    versions.checkpoint = checkpoint
    settings = Settings(index_dir=Path(sys.argv[2]), data_dir=Path(sys.argv[3]), cache_dir=Path(sys.argv[3]))
    builder.build([settings.data_dir], settings, FakeEmbedder())
    os._exit(0)
    """
)


def _settings(root):
    return Settings(index_dir=root / "index", data_dir=root / "data", cache_dir=root / "cache")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """An index with two versions (so publishing a third also removes one) and the steps of a save."""
    root = tmp_path_factory.mktemp("crash-base")
    (root / "data").mkdir()
    shutil.copy(REPORT, root / "data" / REPORT.name)
    settings = _settings(root)
    indexer.build([settings.data_dir], settings, FakeEmbedder())
    (root / "data" / "note.txt").write_text("第一版说明。\n", encoding="utf-8")
    old = indexer.build([settings.data_dir], settings, FakeEmbedder())
    (root / "data" / "wetland.txt").write_text(NEW_DOC, encoding="utf-8")  # the build each crash interrupts
    probe = root / "probe"
    shutil.copytree(root, probe)
    steps = []
    real = versions.checkpoint
    versions.checkpoint = steps.append
    try:
        indexer.build([probe / "data"], _settings(probe), FakeEmbedder())
    finally:
        versions.checkpoint = real
    return root, old.version, steps


def test_the_save_has_the_steps_the_design_names(base):
    _, _, steps = base
    for step in (
        "staging folder created",
        "wrote the vector store",
        "wrote manifest.json",
        "fsynced sentences.npy",
        "staging folder fsynced",
        "version folder renamed into place",
        "pointer temp fsynced",
        "pointer replaced",
        "index folder fsynced",
    ):
        assert step in steps
    assert any(s.startswith("removed ") for s in steps)  # the oldest version is collected
    assert steps.index("pointer replaced") > steps.index("version folder renamed into place")


def test_a_crash_at_every_step_leaves_an_index_that_answers(base, tmp_path):
    root, old_version, steps = base
    script = CHILD.format(root=str(ROOT))
    outcomes = []
    for k, step in enumerate(steps, 1):
        case = tmp_path / f"step{k}"
        shutil.copytree(root, case, ignore=shutil.ignore_patterns("probe"))
        done = subprocess.run(
            [sys.executable, "-c", script, str(k), str(case / "index"), str(case / "data")],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == 9, f"step {k} ({step}) did not crash: {done.stderr[-2000:]}"
        settings = _settings(case)
        index = store.load(settings.index_dir)  # whole: hashes and counts are checked
        names = {d["name"] for d in index.documents}
        if index.version == old_version:
            assert "wetland.txt" not in names, step
        else:
            assert steps.index(step) >= steps.index("pointer replaced"), (
                f"new version current before the pointer moved ({step})"
            )
            assert "wetland.txt" in names
        answer = QAService(settings, embedder=FakeEmbedder()).ask("全国完成了多少座尾矿库环境风险排查？")
        assert answer.citations and answer.citations[0].doc == REPORT.name, step
        outcomes.append((step, "old" if index.version == old_version else "new"))
        # The next build succeeds and cleans up whatever the crash left.
        rebuilt = indexer.build([settings.data_dir], settings, FakeEmbedder())
        kept = {p.name for p in (settings.index_dir / versions.VERSIONS).iterdir()}
        assert rebuilt.version in kept and len(kept) == 2, (step, kept)
        assert not [p for p in settings.index_dir.iterdir() if p.name.startswith(f"{versions.POINTER}.tmp")]
        shutil.rmtree(case)
    switched = [s for s, o in outcomes if o == "new"]
    assert switched and switched[0] == "pointer replaced", outcomes
