"""One version of the index on disk: passage vectors (a store) + passages + documents + BM25 + manifest.json.

Where versions live and how one becomes current atomically: versions.py. Files of a version
(see docs/index-format.md):
    manifest.json    format version, model, dim, chunking, lexicon, the store, per-document hashes, counts, file hashes
    vectors.faiss    the passage vectors (FAISS store, the default; qa/stores/): flat or HNSW by size, memory-mapped
    passages.jsonl   one Passage per line
    documents.json   documents with their paragraph texts (citations show whole paragraphs)
    lexical.*        the bm25s BM25 index over the same passages (memory-mapped arrays + vocabulary)
    sentences.jsonl  every sentence of every paragraph: doc, paragraph, start, end (offsets in the paragraph)
    sentences.npy    their vectors (row i == sentence i), used to pick the sentences that answer; memory-mapped
    synonyms.tsv     the corpus's synonyms file, when its folder had one (the index's lexicon: Index.lexicon)
    examples.txt     the corpus's example questions, when its folder had them (the UI's "Try" buttons)
    paragraph_stats.json  how many paragraphs hold each bigram and character (abstention's rarity weights), when
                     the build counted them; read on the first question (Index.corpus_stats)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from qa.documents import discovery
from qa.errors import IndexCorruptError, IndexMissingError
from qa.indexing import versions
from qa.indexing.lexical import BM25
from qa.indexing.records import PassageRecords, load_array, passage_fields, read_rows
from qa.indexing.synonyms import FILE as SYNONYMS
from qa.indexing.synonyms import Lexicon
from qa.stores import VectorStore, open_store
from qa.text import YEAR
from qa.types import Passage

FORMAT_VERSION = 3
# Besides these, a version holds the files its store lists in the manifest (vectors.faiss for FAISS)
# and, unless the store answers the BM25 side itself (Milvus), the bm25s files (BM25.FILES).
FILES = ("passages.jsonl", "documents.json", "sentences.jsonl", "sentences.npy")
# Files beside the documents that describe the corpus (docs/synonyms.md); a version keeps a copy
# of those its build found, listed in the manifest's "corpus_files".
CORPUS_FILES = discovery.CORPUS_FILES
EXAMPLES = "examples.txt"
# Abstention's paragraph statistics (qa/answering/abstain.py corpus_statistics), counted by the build.
# Optional: a version built before they were stored has none, and abstention counts them itself.
STATS = "paragraph_stats.json"


def _lexical_files(described: dict) -> tuple[str, ...]:
    return () if described.get("lexical") else BM25.FILES


@dataclass
class Index:
    """A loaded (or freshly built) index. `paragraphs[(doc, n)]` is paragraph n's text."""

    manifest: dict
    vectors: VectorStore  # passage vectors by passage id (qa/stores/)
    passages: Sequence[Passage]  # a list when built, PassageRecords (read on demand) when loaded
    documents: list[dict]
    lexical: BM25
    sentences: list[tuple[str, int, int, int]]  # (doc, paragraph, start, end)
    sentence_vectors: np.ndarray
    corpus_files: dict[str, str] = field(default_factory=dict)  # name (CORPUS_FILES) -> text
    stats: dict | None = None  # abstention's paragraph statistics (STATS): counted by the build, or read
    stats_file: Path | None = None  # a loaded version's STATS file, read on first use (corpus_stats)

    def corpus_stats(self) -> dict | None:
        """Abstention's paragraph statistics as the build counted them, read from the version on
        first use (a question needs them, opening the index does not); None when it has none."""
        if self.stats is None and self.stats_file is not None:
            try:
                self.stats = json.loads(self.stats_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                # Checked when the index was loaded, so gone since (two newer builds published and
                # collected the version): abstention counts them from the paragraphs instead.
                self.stats_file = None
        return self.stats

    @cached_property
    def lexicon(self) -> Lexicon:
        """The corpus's matching knowledge, from the index's own copy of its synonyms file, and its
        own words by their pinyin (for the names an English question spells)."""
        from qa.indexing.pinyin import Names

        return Lexicon(self.corpus_files.get(SYNONYMS, ""), names=Names(self._vocabulary))

    def _vocabulary(self):
        """The corpus's terms in matching form: BM25's vocabulary, or (a store whose lexical side lives
        in a server, Milvus) the same terms read off the paragraphs (Names.uses reads unigrams too)."""
        vocab = getattr(getattr(self.lexical, "engine", None), "vocab_dict", None)
        if vocab is not None:
            return vocab
        from qa.indexing.lexical import tokens

        return {t for text in self.paragraphs.values() for t in tokens(self.lexicon.normalize(text))}

    @cached_property
    def titles(self) -> dict[str, str]:
        """Each document's title by name (once per index: building it per question cost ~5 ms at 7,700 documents)."""
        return {d["name"]: d["title"] for d in self.documents}

    @property
    def examples(self) -> list[str]:
        """The corpus's example questions (examples.txt: one a line, # comments), for the UI."""
        text = self.corpus_files.get(EXAMPLES, "")
        return [q.strip() for q in text.splitlines() if q.strip() and not q.lstrip().startswith("#")]

    @property
    def version(self) -> str:
        """The id of the version folder this index was saved as or loaded from ("" before saving)."""
        return self.manifest.get("version", "")

    def passage_matrix(self) -> np.ndarray:
        """The passage vectors as one (passages, dim) array (for reuse by the next build)."""
        return self.vectors.vectors()

    @property
    def sentence_rows(self) -> dict[tuple[str, int], list[int]]:
        """Rows of `sentences` / `sentence_vectors` per (doc, paragraph)."""
        cached = getattr(self, "_sentence_rows", None)
        if cached is None:
            cached = {}
            for row, (doc, para, _, _) in enumerate(self.sentences):
                cached.setdefault((doc, para), []).append(row)
            self._sentence_rows = cached
        return cached

    @property
    def list_items(self) -> dict[tuple[str, int], list[tuple[str, int]]]:
        """Each list intro's item paragraphs (一是… 二是…), in document order, from the passages' `parent`."""
        cached = getattr(self, "_list_items", None)
        if cached is None:
            cached = {}
            if isinstance(self.passages, PassageRecords):  # only the list items' lines are parsed
                rows = self.passages.with_parent()
            else:
                rows = passage_fields(self.passages, "doc", "paragraph", "parent")
            for doc, paragraph, parent in rows:
                if parent is not None:
                    items = cached.setdefault((doc, parent), [])
                    if (doc, paragraph) not in items:
                        items.append((doc, paragraph))
            self._list_items = cached
        return cached

    @property
    def paragraph_years(self) -> Mapping[tuple[str, int], set[str]]:
        """The years each paragraph speaks of: its own and, for a list item, its intro's (the items
        under "2023年要抓好以下重点任务" never name the year themselves). Found per paragraph when
        first read: a question reads its candidates' (a scan of every paragraph took 2.4 s at 513,373 passages)."""
        cached = getattr(self, "_paragraph_years", None)
        if cached is None:
            cached = self._paragraph_years = ParagraphYears(self.paragraphs, self.list_items)
        return cached

    @property
    def paragraph_pages(self) -> dict[tuple[str, int], int]:
        """The page each paragraph of a paged document (PDF) starts on."""
        cached = getattr(self, "_paragraph_pages", None)
        if cached is None:
            cached = {
                (d["name"], i + 1): page
                for d in self.documents
                for i, page in enumerate(d.get("paragraph_pages") or ())
                if page is not None
            }
            self._paragraph_pages = cached
        return cached

    @property
    def paragraphs(self) -> dict[tuple[str, int], str]:
        cached = getattr(self, "_paragraphs", None)
        if cached is None:
            cached = {(d["name"], i + 1): t for d in self.documents for i, t in enumerate(d["paragraphs"])}
            self._paragraphs = cached
        return cached


class ParagraphYears(Mapping):
    """paragraph -> its years and its list intros' (Index.paragraph_years), each found when first read.

    The same sets as the scan it replaces: every paragraph's own years, then, list by list in
    `list_items` order, each item's set joined with its intro's set as it stood then (an intro that
    is itself an item of an earlier list brings that list's intro's years too). Filling the cache is
    idempotent (the same set whichever thread stores it): no lock."""

    def __init__(self, paragraphs: dict[tuple[str, int], str], list_items: dict):
        self._paragraphs, self._lists, self._cache = paragraphs, len(list_items), {}
        self._intros: dict[tuple[str, int], list[tuple[int, tuple[str, int]]]] = {}  # item -> [(list no., intro)]
        for n, (intro, items) in enumerate(list_items.items()):
            for item in items:
                self._intros.setdefault(item, []).append((n, intro))

    def _before(self, key: tuple[str, int], lists: int) -> set[str]:
        """`key`'s years once the first `lists` lists have been joined in."""
        out = set(YEAR.findall(self._paragraphs[key]))
        for n, intro in self._intros.get(key, ()):
            if n >= lists:
                break
            if intro in self._paragraphs:
                out |= self._before(intro, n)
        return out

    def __getitem__(self, key: tuple[str, int]) -> set[str]:
        years = self._cache.get(key)
        if years is None:
            years = self._cache[key] = self._before(key, self._lists)
        return years

    def __iter__(self):
        return iter(self._paragraphs)

    def __len__(self) -> int:
        return len(self._paragraphs)


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_files(index: Index, folder: Path) -> dict:
    """Write every file of the version; return the store's manifest entry (it lists the store's files)."""
    described = index.vectors.save(folder)
    versions.checkpoint("wrote the vector store")
    with open(folder / "passages.jsonl", "w", encoding="utf-8") as f:
        for p in index.passages:
            f.write(json.dumps(dataclasses.asdict(p), ensure_ascii=False) + "\n")
    versions.checkpoint("wrote passages.jsonl")
    (folder / "documents.json").write_text(json.dumps(index.documents, ensure_ascii=False), encoding="utf-8")
    versions.checkpoint("wrote documents.json")
    if not described.get("lexical"):
        index.lexical.save(folder)
        versions.checkpoint("wrote the lexical index")
    with open(folder / "sentences.jsonl", "w", encoding="utf-8") as f:
        for sent in index.sentences:
            f.write(json.dumps(list(sent), ensure_ascii=False) + "\n")
    versions.checkpoint("wrote sentences.jsonl")
    np.save(folder / "sentences.npy", np.asarray(index.sentence_vectors, dtype=np.float32))
    versions.checkpoint("wrote sentences.npy")
    for name, text in index.corpus_files.items():
        (folder / name).write_text(text, encoding="utf-8")
    stats = index.corpus_stats()
    if stats is not None:
        (folder / STATS).write_text(json.dumps(stats, ensure_ascii=False), encoding="utf-8")
        versions.checkpoint(f"wrote {STATS}")
    return described


def save(index: Index, folder: Path) -> str:
    """Write `index` as a new immutable version of `folder` and make it current; return its id.

    Holds the folder's build lock (re-entrant: the builder already holds it). Any failure or
    crash before the pointer moves leaves the previous version current; see versions.py."""
    folder = Path(folder)
    with versions.build_lock(folder):
        version = versions.new_version_id()
        stage = versions.staging(folder, version)
        try:
            described = _write_files(index, stage)
            names = [*described.get("files", []), *_lexical_files(described), *FILES, *index.corpus_files]
            names += [STATS] if (stage / STATS).exists() else []
            manifest = dict(index.manifest, version=version, store=described, corpus_files=sorted(index.corpus_files))
            manifest["files"] = {name: _sha(stage / name) for name in names}
            (stage / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
            versions.checkpoint("wrote manifest.json")
            versions.seal(stage, [*names, "manifest.json"])
            previous = versions.publish(folder, stage, version)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
        index.manifest = manifest
        # Keep the version just replaced: a reader may have read the pointer a moment ago.
        versions.collect(folder, keep={version, previous} - {None})
    return version


def read_manifest(folder: Path) -> dict:
    """The manifest of the current version in `folder`, or an error saying what to run."""
    return _read_manifest(Path(folder), current_dir(Path(folder)))


def current_dir(folder: Path) -> Path:
    """The current version's folder, or an error saying what to run."""
    version = versions.current_version(folder)
    if version is None:
        if versions.is_legacy(folder):
            raise IndexCorruptError(
                f"{folder}/ has index format 1 (one flat folder), this qa reads {FORMAT_VERSION}; "
                f"rebuild with: qa build --index {folder}"
            )
        raise IndexMissingError(f"no index in {folder}/; build one with: qa build --index {folder}")
    return versions.version_dir(folder, version)


def _read_manifest(folder: Path, vdir: Path) -> dict:
    path = vdir / "manifest.json"
    if not vdir.is_dir():
        raise IndexCorruptError(
            f"{folder}/{versions.POINTER} names version {vdir.name}, which is missing; rebuild with: qa build --index {folder}"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"{path} is unreadable ({e}); rebuild with: qa build --index {folder}") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(
            f"{path} is not an index manifest (expected a JSON object); rebuild with: qa build --index {folder}"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"{folder}/ has index format {manifest.get('format_version')!r}, this qa reads {FORMAT_VERSION}; "
            f"rebuild with: qa build --index {folder}"
        )
    return manifest


def load(
    folder: Path, model: str | None = None, dim: int | None = None, verify: bool = True, ef_search: int = 0
) -> Index:
    """Load and check the current version: files present and unchanged, counts agree, built with `model`.

    `ef_search` is the HNSW search breadth to use (0: the one the version was built with).

    If a newer build replaces the version while it is being read (and a later one removes it),
    the pointer has moved: read the new current version instead of reporting damage."""
    folder = Path(folder)
    for _ in range(3):
        vdir = current_dir(folder)
        try:
            return _load_version(folder, vdir, model, dim, verify, ef_search)
        except (IndexCorruptError, FileNotFoundError):
            if versions.current_version(folder) == vdir.name:
                raise
    return _load_version(folder, current_dir(folder), model, dim, verify, ef_search)


def _load_version(
    folder: Path, vdir: Path, model: str | None, dim: int | None, verify: bool, ef_search: int = 0
) -> Index:
    manifest = _read_manifest(folder, vdir)
    fix = f"rebuild with: qa build --index {folder}"
    if model is not None and manifest.get("model") != model:
        raise IndexCorruptError(
            f"{folder}/ was built with model {manifest.get('model')!r} but the configured model is {model!r}; "
            f"{fix}, or set QA_MODEL={manifest.get('model')}"
        )
    described = manifest.get("store") if isinstance(manifest.get("store"), dict) else {}
    corpus_names = [n for n in manifest.get("corpus_files") or () if n in CORPUS_FILES]
    stats_names = [STATS] if STATS in (manifest.get("files") or {}) else []  # none in versions built before
    for name in [*described.get("files", []), *_lexical_files(described), *FILES, *corpus_names, *stats_names]:
        p = vdir / name
        if not p.exists():
            raise IndexCorruptError(f"{p} is missing; {fix}")
        if verify and manifest.get("files", {}).get(name) != _sha(p):
            raise IndexCorruptError(
                f"{folder}/ version {vdir.name}: {name} does not match manifest.json (changed or damaged); {fix}"
            )
    try:
        vectors = open_store(described, vdir, ef_search)
        passages = PassageRecords(vdir / "passages.jsonl")  # parsed line by line as questions read them
        documents = json.loads((vdir / "documents.json").read_text(encoding="utf-8"))
        if described.get("lexical"):  # the store searches the BM25 terms itself
            from qa.stores.milvus_store import MilvusLexical

            lexical = MilvusLexical(vectors, len(passages))
        else:
            lexical = BM25.load(vdir)
        sentences = [tuple(row) for row in read_rows(vdir / "sentences.jsonl")]
        sentence_vectors = load_array(vdir / "sentences.npy")
        corpus_files = {n: (vdir / n).read_text(encoding="utf-8") for n in corpus_names}
    except FileNotFoundError:
        raise
    except Exception as e:  # noqa: BLE001 - any parse failure means the same thing to the user
        raise IndexCorruptError(f"{folder}/ cannot be read ({type(e).__name__}: {e}); {fix}") from None
    counts = manifest.get("counts", {})
    if vectors.count() != len(passages) or counts.get("passages") != len(passages) or len(lexical) != len(passages):
        raise IndexCorruptError(
            f"{folder}/ is inconsistent: {vectors.count()} vectors, {len(passages)} passages, "
            f"manifest says {counts.get('passages')}; {fix}"
        )
    if len(sentences) != sentence_vectors.shape[0]:
        raise IndexCorruptError(
            f"{folder}/ is inconsistent: {len(sentences)} sentences, {sentence_vectors.shape[0]} vectors; {fix}"
        )
    if dim is not None and vectors.dim != dim:
        raise IndexCorruptError(f"{folder}/ holds {vectors.dim}-dim vectors but the model gives {dim}; {fix}")
    index = Index(manifest, vectors, passages, documents, lexical, sentences, sentence_vectors, corpus_files)
    index.stats_file = vdir / STATS if stats_names else None
    if manifest.get("lexicon") != index.lexicon.version:
        # The passages were normalized (BM25 terms, vectors) by another version of the matching code.
        raise IndexCorruptError(
            f"{folder}/ was built with another version of the matching normalization "
            f"(qa/indexing/synonyms.py METHOD); {fix}"
        )
    return index
