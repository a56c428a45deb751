"""The long-running side: one loaded index + embedder shared by the UI and the HTTP API.

Contract (the UI codes against this):
- `QAService(settings)` is cheap; the model and index load on first use, once per process.
- `ask(question, history=())` -> `qa.types.Answer` (same object `qa ask --json` prints).
- `ask` and `retrieve` normalize the question and history first (qa/inputs.py): invisible
  characters removed, empty or invalid text refused with BadInputError.
- The service answers from the version the index folder's CURRENT names: it checks the pointer
  on every question and loads a version another process published (the old one serves meanwhile).
- `health()` -> dict: {"ok": bool, "index": str, "version": str | None (the version served),
  "documents": int, "passages": int, "model": str, "built_at": str, "error": str | None (also set
  when a newer version on disk failed to load and the served one is older)}.
- `documents()` -> list of dicts {"name", "title", "kind", "pages", "paragraphs", "passages",
  "encoding", "indexed_at"} for the documents in the serving index.
- `skipped()` -> list of dicts {"path", "reason"}: files the serving index's build did not index.
- `examples()` -> list of str: the corpus's example questions (examples.txt beside its documents,
  kept in the index; docs/synonyms.md), [] without one.
- `save_upload(name, data: bytes)` / `save_text(title, text)`: validate (decodable, non-empty,
  supported extension, size) and store under settings.data_dir; raise BadInputError otherwise,
  storing nothing. Return the stored file name.
- `remove_document(name)`: move it from settings.data_dir to a backup (the index changes on rebuild).
- `rebuild(progress=None, rollback=())`: build a new version from settings.data_dir (only new
  or changed paragraphs are embedded; the build lock is shared with `qa build` in other
  processes), then serve it; `ask` keeps answering from the old version until then. `progress(fraction: float, message: str)` is called along the way.
  On failure the old index keeps serving and the `rollback` files (saved for this rebuild) are
  deleted. `clear_documents()` / `restore_documents(moved)` move the corpus aside and back for
  "replace the corpus". Overwritten, removed and replaced documents are kept in
  data_dir/.backups/<when>-<why>/ (never deleted by the app).
- `ensure_index(progress=None)`: build from data_dir if there is no index yet.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from qa.answering import abstain
from qa.answering.abstain import Decision
from qa.answering.compose import compose
from qa.config import Settings
from qa.documents import SUFFIXES, parse_document
from qa.documents.discovery import CORPUS_FILES
from qa.errors import BadInputError, IndexBusyError, IndexMissingError, QAError
from qa.indexing import versions
from qa.inputs import clean_history, clean_question
from qa.search.retriever import Retrieval
from qa.serving.batcher import QueryBatcher
from qa.types import Answer

Progress = Callable[[float, str], None]
BACKUPS = ".backups"  # inside data_dir: hidden, so builds skip it


class QAService:
    """Serve questions from one index; rebuilds swap a new index in without interrupting answers."""

    def __init__(self, settings: Settings, embedder=None):
        self.settings = settings
        self._embedder = embedder
        self._state = None  # (Index, Retriever), replaced whole on swap
        self._load_lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._failed_version: str | None = None  # a published version that could not be loaded
        self._thresholds: dict[tuple[str, int], float] = {}  # (version, id(index)) -> its decision threshold
        self._threshold_lock = threading.Lock()
        self._follow_error: str | None = None

    # -- loading -------------------------------------------------------------------------
    @property
    def embedder(self):
        """The model, behind a micro-batcher so concurrent questions share forward passes (QA_BATCH_QUERIES)."""
        if self._embedder is None:
            from qa.embedding import make_embedder

            model = make_embedder(self.settings.model, self.settings.cache_dir, self.settings.backend)
            self._embedder = QueryBatcher(model) if self.settings.batch_queries else model
        return self._embedder

    def _current(self):
        """The (Index, Retriever) to answer from: the version CURRENT names on disk.

        Reading the pointer is one small file read, so it is checked on every call: a build
        published by another process is picked up by the next question. Only one thread loads
        a new version; the others keep answering from the one they have meanwhile. A new version
        that fails to load is not retried until the pointer moves again (the old one keeps serving)."""
        state = self._state
        if state is None:
            with self._load_lock:
                if self._state is None:
                    self._state = self._open()
                return self._state
        try:
            disk = versions.current_version(self.settings.index_dir)
        except QAError as err:
            self._follow_error = str(err)
            return state
        if disk is None or disk == state[0].version or disk == self._failed_version:
            return state
        if self._load_lock.acquire(blocking=False):
            try:
                if self._state is state:
                    try:
                        self._state = self._open()
                        self._follow_error = None
                    except QAError as err:
                        self._failed_version, self._follow_error = disk, str(err)
            finally:
                self._load_lock.release()
        return self._state

    def _open(self):
        from qa.errors import IndexCorruptError
        from qa.indexing import store
        from qa.search import followup
        from qa.search.retriever import Retriever

        # Check the index on disk first: a missing or damaged index should not cost a model load.
        # The index carries its own lexicon (its copy of the corpus's synonyms file; store.load checks it).
        index = store.load(self.settings.index_dir, model=self.embedder.name, ef_search=self.settings.ef_search)
        if index.vectors.dim != self.embedder.dim:
            raise IndexCorruptError(
                f"{self.settings.index_dir}/ holds {index.vectors.dim}-dim vectors but the model gives "
                f"{self.embedder.dim}; rebuild with: qa build --index {self.settings.index_dir}"
            )
        followup.warm_up()
        retriever = Retriever(index, self.embedder, self.settings)
        self._threshold(index, retriever)  # the probes run here, while a previous version still serves
        return index, retriever

    def _threshold(self, index, retriever) -> float:
        """The index's decision threshold (abstain.index_threshold), computed once per loaded index."""
        key = (index.version, id(index))
        got = self._thresholds.get(key)
        if got is None:
            with self._threshold_lock:
                got = self._thresholds.get(key)
                if got is None:
                    got = abstain.index_threshold(index, retriever, self.settings)
                    # the one being replaced may still answer a question or two; older ones never
                    self._thresholds = {**dict(list(self._thresholds.items())[-1:]), key: got}
        return got

    # -- questions -----------------------------------------------------------------------
    def check_question(self, question: str) -> str:
        """The normalized question (invisible characters removed), or BadInputError saying what is wrong."""
        return clean_question(question, self.settings.max_question_chars)

    def check_history(self, history: Sequence[str]) -> list[str]:
        """The latest settings.max_history earlier questions, normalized."""
        return clean_history(history, self.settings.max_history, self.settings.max_question_chars)

    def retrieve(self, question: str, history: Sequence[str] = ()) -> tuple[Retrieval, Decision]:
        """Ranked paragraphs and the decision whether they answer, before an answer is written."""
        q = self.check_question(question)
        history = self.check_history(history)
        index, retriever = self._current()
        r = retriever.search(q, history)
        return r, abstain.decide(r, index, self.settings, self._threshold(index, retriever))

    def ask(self, question: str, history: Sequence[str] = ()) -> Answer:
        """Answer a question (earlier questions of the conversation in `history`, oldest first):
        resolve and retrieve -> decide -> compose -> (optional rewrite)."""
        r, decision = self.retrieve(question, history)
        answer = self.compose(r, decision)
        if decision.found and self.settings.llm_url:
            from qa.answering.generate import rewrite

            answer = rewrite(answer, self.settings)
        return answer

    def compose(self, r: Retrieval, decision: Decision) -> Answer:
        """The extractive answer for a retrieval result (the nearest passages when it was declined)."""
        index, _ = self._current()
        answer = compose(r, index, decision.found, self.settings.max_sentences, self.settings.top_k)
        unsure = decision.found and decision.confidence < self.settings.sure_confidence
        return dataclasses.replace(answer, confidence=round(decision.confidence, 4), unsure=unsure)

    # -- the index -----------------------------------------------------------------------
    def health(self) -> dict:
        """What is being served (not what the disk holds, though a difference is reported)."""
        try:
            index, retriever = self._current()
        except QAError as e:
            return {
                "ok": False,
                "index": str(self.settings.index_dir),
                "version": None,
                "documents": 0,
                "passages": 0,
                "model": self.settings.model,
                "built_at": None,
                "error": str(e),
            }
        m, threshold = index.manifest, self._threshold(index, retriever)
        return {
            "ok": True,
            "index": str(self.settings.index_dir),
            "version": index.version,
            "documents": m["counts"]["documents"],
            "passages": m["counts"]["passages"],
            "model": m["model"],
            "built_at": m["built_at"],
            # which model decides whether the documents answer (abstain.which): the corpus's own (qa
            # calibrate), the general one's for wide indexes (many unrelated articles), or the general one
            "abstention": abstain.which(index, self.settings, threshold),
            # how much of that the general model's wide one decides (abstain.wide_weight; 0 for an own model)
            "wide_share": round(abstain.wide_weight(abstain.model_for(index, self.settings), threshold), 3),
            "error": self._follow_error,  # e.g. a newer version on disk that failed to load
        }

    def documents(self) -> list[dict]:
        index, _ = self._current()
        return [
            {
                "name": d["name"],
                "title": d["title"],
                "kind": d.get("kind", "text"),
                "pages": d.get("pages"),
                "paragraphs": d["paragraphs_count"],
                "passages": d["passages_count"],
                "encoding": d["encoding"],
                "indexed_at": d["indexed_at"],
            }
            for d in index.documents
        ]

    def examples(self) -> list[str]:
        """The serving corpus's example questions (its examples.txt, kept in the index); none without one."""
        index, _ = self._current()
        return list(index.examples)

    def skipped(self) -> list[dict]:
        index, _ = self._current()
        return list(index.manifest.get("skipped") or [])

    def ensure_index(self, progress: Progress | None = None) -> None:
        try:
            self._current()
        except IndexMissingError:
            self.rebuild(progress)

    def rebuild(self, progress: Progress | None = None, rollback: Sequence[Path] = ()) -> dict:
        """Build from data_dir into index_dir and swap it in; on failure delete `rollback` files and re-raise."""
        from qa.indexing import builder as indexer
        from qa.indexing import store
        from qa.search.retriever import Retriever

        if not self._build_lock.acquire(blocking=False):
            raise IndexBusyError("a rebuild is already running; wait for it to finish (正在重建索引，请稍候)")
        try:
            index = indexer.build([self.settings.data_dir], self.settings, self.embedder, progress)
            # Load back what was written, so serving state == disk state.
            index = store.load(self.settings.index_dir, model=self.embedder.name, ef_search=self.settings.ef_search)
            with self._load_lock:
                self._state = (index, Retriever(index, self.embedder, self.settings))
                self._failed_version = self._follow_error = None
            return index.manifest
        except BaseException:
            for path in rollback:
                Path(path).unlink(missing_ok=True)
            raise
        finally:
            self._build_lock.release()
            release_memory()

    # -- the corpus ----------------------------------------------------------------------
    # Nothing here deletes the only copy of a document: a file that is overwritten, removed or
    # set aside by "replace the corpus" is first moved or copied into data_dir/.backups/<when>/.
    def _backup_dir(self, why: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = Path(self.settings.data_dir) / BACKUPS / f"{stamp}-{secrets.token_hex(3)}-{why}"
        folder.mkdir(parents=True)
        return folder

    def check_upload(self, name: str, data: bytes):
        """The Document an upload would become, or BadInputError saying why it can't be indexed."""
        safe = _safe_name(name)
        if Path(safe).suffix.lower() not in SUFFIXES:
            kinds = " ".join(SUFFIXES)
            raise BadInputError(f"{name}: unsupported file type; upload {kinds} (只支持 {kinds} 文件)")
        if len(data) > self.settings.max_file_bytes:
            raise BadInputError(
                f"{name}: {len(data):,} bytes is over the {self.settings.max_file_bytes:,}-byte limit (文件太大)"
            )
        return parse_document(data, Path(safe))  # raises BadInputError for empty/binary/undecodable

    def save_upload(self, name: str, data: bytes, journal: list | None = None) -> str:
        """Validate an uploaded file and store it in data_dir; nothing is stored if it can't be indexed.

        A different file already under that name is copied to data_dir/.backups first. `journal`
        (if given) gets (stored path, backup path or None) so the caller can undo the change."""
        doc = self.check_upload(name, data)
        safe = doc.name
        target = Path(self.settings.data_dir) / safe
        target.parent.mkdir(parents=True, exist_ok=True)
        backup = None
        if target.exists() and target.read_bytes() != data:
            backup = self._backup_dir("overwritten") / safe
            shutil.copy2(target, backup)
        tmp = target.with_name(f".{safe}.part")
        tmp.write_bytes(data)
        existed = target.exists()
        tmp.replace(target)
        if journal is not None and (backup or not existed):
            journal.append((target, backup))
        return doc.name

    def save_text(self, title: str, text: str, journal: list | None = None) -> str:
        """Store pasted text as a UTF-8 .txt document named after its title."""
        if not (text or "").strip():
            raise BadInputError("the pasted text is empty; paste some text (粘贴的文本为空)")
        name = _safe_name((title or "").strip() or "pasted")
        if Path(name).suffix.lower() not in (".txt", ".md"):  # pasted text is text, whatever its title says
            name += ".txt"
        return self.save_upload(name, text.encode("utf-8"), journal)

    def undo(self, journal: list) -> None:
        """Undo save_upload calls: put overwritten files back, delete files that were new."""
        for target, backup in reversed(journal):
            if backup:
                shutil.copy2(backup, target)
            else:
                Path(target).unlink(missing_ok=True)

    def remove_document(self, name: str) -> Path:
        """Move a document out of data_dir into a backup folder (the index changes on rebuild); return where."""
        target = Path(self.settings.data_dir) / _safe_name(name)
        if not target.is_file():
            raise BadInputError(f"{name}: no such document in {self.settings.data_dir}")
        backup = self._backup_dir("removed") / target.name
        target.replace(backup)
        return backup

    def clear_documents(self) -> list[Path]:
        """Move every document aside (for 'replace the corpus') into a new backup folder; return the moved files.

        The corpus's synonyms and examples (docs/synonyms.md) go with the documents they describe.
        Earlier backups are never touched, so replacing twice keeps both earlier corpora."""
        files = [
            f
            for f in sorted(Path(self.settings.data_dir).glob("*"))
            if f.is_file() and (f.suffix.lower() in SUFFIXES or f.name in CORPUS_FILES)
        ]
        if not files:
            return []
        backup = self._backup_dir("replaced")
        moved = []
        for f in files:
            f.replace(backup / f.name)
            moved.append(backup / f.name)
        return moved

    def restore_documents(self, moved: Sequence[Path]) -> None:
        for f in moved:
            f.replace(Path(self.settings.data_dir) / f.name)
        for folder in {f.parent for f in moved}:
            if not any(folder.iterdir()):
                folder.rmdir()


def release_memory() -> None:
    """Give the memory a build used back to the system.

    A build allocates and frees a lot (the previous version loaded for reuse, batches of
    activations, the new index's files); glibc keeps freed heap pages in its arenas, so without
    this a server's RSS grows by hundreds of MB with each rebuild and never comes back."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def _safe_name(name: str) -> str:
    """A file name that stays inside data_dir: no folders, no leading dots, no control characters."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f/:*?\"<>|]", "_", base).lstrip(".").strip()
    if not base:
        raise BadInputError(f"{name!r} is not a usable file name")
    return base[:120]
