"""`qa build`: files -> documents -> passages -> vectors + BM25 -> a new version of the index folder.

Builds are incremental: every indexed paragraph has a content key (a hash of exactly what is
embedded for its passages and sentences), and a paragraph whose key the current version
already holds takes its vectors from there; only new or changed paragraphs are embedded.
Documents with the same text under two names are indexed once. One build at a time per index
folder (a file lock, across processes); see versions.py for how a version is published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from qa import stores
from qa.answering import abstain
from qa.config import Settings
from qa.documents import Skipped, load
from qa.embedding import Embedder
from qa.errors import BadInputError, CalibrationError, QAError
from qa.indexing import store, versions
from qa.indexing.chunking import context_text, passages_of, split_sentences
from qa.indexing.lexical import BM25
from qa.indexing.synonyms import Lexicon, read_corpus_file
from qa.types import Document, Passage

Progress = Callable[[float, str], None]
STEP = 256  # texts per embedding call (the embedder splits them into forward passes); progress is reported per call
# Part of every paragraph key: change it when the way vectors are computed changes (not the model,
# which the manifest checks), so the next build re-embeds instead of mixing two kinds of vectors.
EMBEDDING_METHOD = "passages and sentences embedded separately, v1"
# An embedder that can pool token ranges (embed_spans: the ONNX runner) embeds each passage once and
# takes a sentence's vector from the tokens of its passage's own forward pass, instead of running
# the model again on the sentence alone (issue 12: that second pass was half the build's work).
POOLED_METHOD = "passages embedded, sentences pooled from their passage's tokens, v2"


def embedding_method(embedder) -> str:
    """The way `embedder` gives sentence vectors (part of every paragraph key)."""
    return POOLED_METHOD if callable(getattr(embedder, "embed_spans", None)) else EMBEDDING_METHOD


@dataclass
class Unit:
    """One indexed paragraph: what is embedded for its passages and its sentences, and its content key."""

    passage_texts: list[str]
    sentence_texts: list[str]
    key: str = ""
    passage_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None
    method: str = EMBEDDING_METHOD

    def __post_init__(self):
        blob = json.dumps([self.method, self.passage_texts, self.sentence_texts], ensure_ascii=False)
        self.key = hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class Plan:
    """What a build will index: unique documents, their passages, sentences and paragraph units."""

    docs: list[Document]
    duplicates: list[dict] = field(default_factory=list)  # {"name", "same_as"}
    passages: list[Passage] = field(default_factory=list)
    lexical_texts: list[str] = field(default_factory=list)
    sentences: list[tuple[str, int, int, int]] = field(default_factory=list)
    units: dict[tuple[str, int], Unit] = field(default_factory=dict)  # (doc, paragraph) -> unit


def load_documents(paths: Iterable[str | Path], settings: Settings) -> tuple[list[Document], list[Skipped]]:
    """Read every file first: (documents, files skipped with the reason); no readable document is an error."""
    return load(paths, settings.max_file_bytes)


def corpus_files(paths: Iterable[str | Path]) -> dict[str, str]:
    """The corpus data files (synonyms.tsv, examples.txt, abstention.json) at the top of the folders
    among `paths`, by name. The lines of several folders' synonyms or examples add up; an abstention
    model is fitted to one corpus, so two of them are an error (BadInputError)."""
    paths = list(paths)
    found = {}
    for name in store.CORPUS_FILES:
        text, sources = read_corpus_file(paths, name)
        if name == abstain.OWN_FILE and len(sources) > 1:
            raise BadInputError(
                f"{' and '.join(sources)}: each folder has its own {name}, and one index decides with one; "
                f"keep the one fitted to these documents together (qa calibrate), or neither"
            )
        found[name] = text
    return {name: text for name, text in found.items() if text.strip()}


def lock(settings: Settings, progress: Progress | None = None):
    """The index folder's build lock: wait up to settings.build_wait seconds for another build."""
    say = progress or (lambda f, m: None)
    return versions.build_lock(settings.index_dir, wait=settings.build_wait, on_wait=lambda msg: say(0.0, msg))


def build(
    paths: Iterable[str | Path],
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
    reuse: bool = True,
) -> store.Index:
    """Build an index of `paths` into settings.index_dir; the previous version serves until the new one is published.

    The lock is taken before the files are read, so a build that waited for another one
    indexes the files as they are after it."""
    with lock(settings, progress):
        if progress:
            progress(0.0, "reading documents")
        paths = list(paths)
        docs, skipped = load_documents(paths, settings)
        return build_documents(docs, settings, embedder, progress, reuse, skipped, corpus_files(paths))


def plan(
    docs: list[Document], settings: Settings, lexicon: Lexicon | None = None, method: str = EMBEDDING_METHOD
) -> Plan:
    """Chunk every document (once per distinct text) and key every paragraph by what is embedded for it.

    Passages and sentences are embedded, and BM25-indexed, in the lexicon's matching form."""
    lexicon = lexicon or Lexicon()
    out = Plan(docs=[])
    seen: dict[str, str] = {}
    for doc in docs:
        text_key = hashlib.sha256(
            "\n".join(p.text for p in doc.paragraphs).encode("utf-8", "surrogatepass")
        ).hexdigest()
        if text_key in seen:
            out.duplicates.append({"name": doc.name, "same_as": seen[text_key]})
            continue
        seen[text_key] = doc.name
        out.docs.append(doc)
        by_number = {p.number: p.text for p in doc.paragraphs}
        passage_texts: dict[int, list[str]] = {}
        for p in passages_of(doc, settings.chunk_chars, settings.chunk_overlap, first_id=len(out.passages)):
            out.passages.append(p)
            passage_texts.setdefault(p.paragraph, []).append(lexicon.normalize(context_text(p, by_number)))
            out.lexical_texts.append(lexicon.normalize(context_text(p, by_number, title=False)))
        for para in doc.paragraphs:
            if para.boilerplate:
                continue
            sentence_texts = []
            for s, e in split_sentences(para.text):
                out.sentences.append((doc.name, para.number, s, e))
                sentence_texts.append(lexicon.normalize(para.text[s:e]))
            out.units[(doc.name, para.number)] = Unit(passage_texts.get(para.number, []), sentence_texts, method=method)
    if not out.passages:
        raise BadInputError("nothing to index: the documents have no text")
    return out


def previous_vectors(settings: Settings, model: str) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str | None]:
    """Vectors of every paragraph in the current version, by content key, and that version's id.

    Nothing is reused from a missing or damaged index, or one built with another model."""
    try:
        old = store.load(settings.index_dir, model=model)
    except QAError:
        return {}, None
    matrix = old.passage_matrix()
    rows: dict[tuple[str, int], list[int]] = {}
    for p in old.passages:
        rows.setdefault((p.doc, p.paragraph), []).append(p.id)
    sentence_rows = old.sentence_rows
    out = {}
    for d in old.documents:
        for number, key in enumerate(d.get("paragraph_keys") or (), 1):
            if key and key not in out:
                out[key] = (
                    matrix[rows.get((d["name"], number), [])],
                    old.sentence_vectors[sentence_rows.get((d["name"], number), [])],
                )
    return out, old.version


def _current(settings: Settings) -> str | None:
    try:
        return versions.current_version(settings.index_dir)
    except QAError:
        return None


def embed_units(embedder: Embedder, units: list[Unit], progress: Progress) -> None:
    """Fill in the passage and sentence vectors of `units` (the paragraphs no version holds yet)."""
    if units and units[0].method == POOLED_METHOD:
        return _embed_pooled(embedder, units, progress)
    texts = [t for u in units for t in (*u.passage_texts, *u.sentence_texts)]
    embed = lambda batch, _: (embedder.embed_batch(batch, "passage"), None)  # noqa: E731
    vectors, _ = _longest_first(texts, embed, progress, "passages and sentences")
    row = 0
    for u in units:
        n, m = len(u.passage_texts), len(u.sentence_texts)
        u.passage_vectors, u.sentence_vectors = vectors[row : row + n], vectors[row + n : row + n + m]
        row += n + m


def _longest_first(texts: list[str], embed, progress: Progress, what: str, spans=None) -> tuple[np.ndarray, list]:
    """`embed(texts, spans)` -> (vectors, per-text extras) over `texts` longest first, in calls of
    STEP: every batch inside a call holds texts of about one length, so little of each forward pass
    is padding. Returns the vectors and the extras in `texts` order."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors, extras = np.zeros((0, 0), np.float32), [None] * len(texts)
    for i in range(0, len(order), STEP):
        rows = order[i : i + STEP]
        part, part_extras = embed([texts[r] for r in rows], spans and [spans[r] for r in rows])
        if i == 0:
            vectors = np.empty((len(texts), part.shape[1]), np.float32)
        vectors[rows] = part
        for r, extra in zip(rows, part_extras or ()):
            extras[r] = extra
        done = min(i + STEP, len(texts))
        progress(0.02 + 0.93 * done / len(texts), f"embedding {done}/{len(texts)} {what}")
    return vectors, extras


def _embed_pooled(embedder, units: list[Unit], progress: Progress) -> None:
    """Each passage through the model once; a sentence's vector pooled from the tokens of the
    passage that holds it (its last occurrence: the chunk comes after the title and context). A
    sentence no passage holds whole, or one past the model's window, is embedded on its own."""
    texts, spans, where = [], [], []  # where[unit][sentence] = (text row, span index) or None
    for u in units:
        first, placed = len(texts), []
        texts.extend(u.passage_texts)
        spans.extend([] for _ in u.passage_texts)
        for sentence in u.sentence_texts:
            hit = next(((j, at) for j, p in enumerate(u.passage_texts) if (at := p.rfind(sentence)) >= 0), None)
            if hit:
                j, at = hit
                spans[first + j].append((at, at + len(sentence)))
                hit = (first + j, len(spans[first + j]) - 1)
            placed.append(hit)
        where.append(placed)
    vectors, pooled = _longest_first(texts, embedder.embed_spans, progress, "passages", spans)
    sentences = [[pooled[at[0]][at[1]] if at else None for at in placed] for placed in where]
    alone = [(k, m) for k, vs in enumerate(sentences) for m, v in enumerate(vs) if v is None]
    if alone:
        for (k, m), v in zip(alone, embedder.embed_batch([units[k].sentence_texts[m] for k, m in alone], "passage")):
            sentences[k][m] = v
    row, dim = 0, embedder.dim
    for u, vs in zip(units, sentences):
        n = len(u.passage_texts)
        u.passage_vectors = vectors[row : row + n] if len(vectors) else np.zeros((0, dim), np.float32)
        u.sentence_vectors = np.array(vs, np.float32).reshape(len(vs), dim)
        row += n


def build_documents(
    docs: list[Document],
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
    reuse: bool = True,
    skipped: Sequence[Skipped] = (),
    corpus: dict[str, str] | None = None,
) -> store.Index:
    """Index documents already read (see `build`); reuse the current version's vectors unless `reuse` is False.

    `skipped` (files that could not be read) are listed in the manifest; `corpus` (from
    `corpus_files`) is kept in the version and its synonyms file is the index's lexicon."""
    t0 = time.perf_counter()
    say = progress or (lambda f, m: None)
    with lock(settings, progress):
        corpus = dict(corpus or {})
        if abstain.OWN_FILE in corpus:
            # A damaged file fails the build before any work (the old index keeps serving); one fitted
            # with another embedding model is kept, and the general model decides until it is refit.
            where = f"the documents' {abstain.OWN_FILE}"
            abstain.own_calibration(corpus[abstain.OWN_FILE], where)
            try:
                abstain.own_calibration(corpus[abstain.OWN_FILE], where, embedder.name)
            except CalibrationError as e:
                say(0.0, f"warning: {e}; the general model decides meanwhile")
                logging.getLogger(__name__).warning("%s; the general model decides meanwhile", e)
        lexicon = Lexicon(corpus.get(store.SYNONYMS, ""))
        work = plan(docs, settings, lexicon, embedding_method(embedder))
        known, parent = previous_vectors(settings, embedder.name) if reuse else ({}, _current(settings))
        todo: dict[str, Unit] = {}
        for unit in work.units.values():
            if unit.key in known:
                unit.passage_vectors, unit.sentence_vectors = known[unit.key]
            else:
                todo.setdefault(unit.key, unit)
        say(0.02, f"{len(work.units) - len(todo)} paragraphs unchanged, {len(todo)} to embed")
        embed_units(embedder, list(todo.values()), say)
        for unit in work.units.values():
            if unit.passage_vectors is None:  # the same paragraph twice in one build: embedded once
                unit.passage_vectors, unit.sentence_vectors = (
                    todo[unit.key].passage_vectors,
                    todo[unit.key].sentence_vectors,
                )
        index = _assemble(work, embedder, settings, parent, len(work.units) - len(todo), t0, skipped, lexicon)
        index.corpus_files = corpus
        say(0.98, "writing the index")
        store.save(index, settings.index_dir)
        say(1.0, "done")
        return index


def _stack(parts: list[np.ndarray], dim: int) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    return np.vstack(parts).astype(np.float32) if parts else np.zeros((0, dim), np.float32)


def _assemble(
    work: Plan,
    embedder: Embedder,
    settings: Settings,
    parent,
    reused: int,
    t0: float,
    skipped: Sequence[Skipped] = (),
    lexicon: Lexicon | None = None,
) -> store.Index:
    """Vectors in passage / sentence order, BM25, the document records and the manifest."""
    units = list(work.units.values())  # in document and paragraph order, like the passages and sentences
    dim = next(u.passage_vectors.shape[1] for u in units if u.passage_vectors is not None and len(u.passage_vectors))
    vectors = _stack([u.passage_vectors for u in units], dim)
    sentence_vectors = _stack([u.sentence_vectors for u in units], dim)
    if len(vectors) != len(work.passages) or len(sentence_vectors) != len(work.sentences):
        raise AssertionError("passage/sentence vectors out of step with the passages")  # a bug, never user input
    lexical = BM25.build(work.lexical_texts)  # texts in matching form (plan)
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    # passages per document counted once: counting them per document walked every passage once per
    # document, hours at 76,000 documents / 515,000 passages (bench/perf.py --sizes 10000)
    passages_per_doc = Counter(p.doc for p in work.passages)
    documents = [_document_record(d, work, built_at, passages_per_doc[d.name]) for d in work.docs]
    manifest = {
        "format_version": store.FORMAT_VERSION,
        "model": embedder.name,
        "dim": int(dim),
        "store": {},  # the store's own description, written when the version is saved (store.save)
        "chunking": {
            "chunk_chars": settings.chunk_chars,
            "chunk_overlap": settings.chunk_overlap,
            "context": "title (dense only) + list intro lead + paragraph lead",
        },
        "lexicon": (lexicon or Lexicon()).version,  # the synonyms file's copy is in the version (store.py)
        "documents": [
            {
                k: d[k]
                for k in ("name", "title", "kind", "pages", "sha256", "encoding", "paragraphs_count", "passages_count")
            }
            for d in documents
        ],
        "duplicates": work.duplicates,
        "skipped": [s.to_json() for s in skipped],  # files not indexed, with the reason
        "counts": {
            "documents": len(work.docs),
            "paragraphs": sum(len(d.paragraphs) for d in work.docs),
            "passages": len(work.passages),
            "sentences": len(work.sentences),
            "skipped": len(skipped),
        },
        "parent": parent,
        "reused": {"paragraphs": reused, "embedded": len(work.units) - reused},
        "built_at": built_at,
        "build_seconds": round(time.perf_counter() - t0, 2),
    }
    vector_store = stores.build(settings.store, range(len(vectors)), vectors, lexical)
    index = store.Index(manifest, vector_store, work.passages, documents, lexical, work.sentences, sentence_vectors)
    # Counted here once, stored in the version (store.STATS), so no question has to count them over
    # every paragraph (qa/answering/abstain.py, where they are defined and read).
    index.stats = abstain.corpus_statistics(index.paragraphs.values(), (lexicon or Lexicon()).normalize)
    return index


def _document_record(doc: Document, work: Plan, built_at: str, passages: int) -> dict:
    return {
        "name": doc.name,
        "title": doc.title,
        "path": doc.path,
        "sha256": doc.sha256,
        "encoding": doc.encoding,
        "kind": doc.kind,
        "pages": doc.pages,
        "paragraphs": [p.text for p in doc.paragraphs],
        "paragraph_keys": [
            work.units[(doc.name, p.number)].key if (doc.name, p.number) in work.units else None for p in doc.paragraphs
        ],
        "aliases": [d["name"] for d in work.duplicates if d["same_as"] == doc.name],
        "paragraphs_count": len(doc.paragraphs),
        "passages_count": passages,
        "indexed_at": built_at,
        **({"paragraph_pages": [p.page for p in doc.paragraphs]} if doc.pages else {}),
        **({"headings": [p.heading for p in doc.paragraphs]} if any(p.heading for p in doc.paragraphs) else {}),
    }
