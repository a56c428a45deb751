"""`qa build`: files -> documents -> passages -> vectors + BM25 -> an index folder, swapped in atomically."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.documents import discover, read_document
from qa.embedding import Embedder
from qa.errors import BadInputError
from qa.indexing import store
from qa.indexing import synonyms as lexicon
from qa.indexing.chunking import context_text, passages_of, split_sentences
from qa.indexing.lexical import BM25
from qa.types import Document, Passage

Progress = Callable[[float, str], None]
BATCH = 32


def load_documents(paths: Iterable[str | Path], settings: Settings) -> list[Document]:
    """Read every file first, so one bad file stops the build before anything is written."""
    files = discover(paths)
    return [read_document(f, settings.max_file_bytes) for f in files]


def build(
    paths: Iterable[str | Path], settings: Settings, embedder: Embedder, progress: Progress | None = None
) -> store.Index:
    """Build an index of `paths` into settings.index_dir; the previous index stays until the new one is complete."""
    if progress:
        progress(0.0, "reading documents")
    return build_documents(load_documents(paths, settings), settings, embedder, progress)


def build_documents(
    docs: list[Document], settings: Settings, embedder: Embedder, progress: Progress | None = None
) -> store.Index:
    """Index documents already read (see `build`)."""
    t0 = time.perf_counter()
    say = progress or (lambda f, m: None)
    passages: list[Passage] = []
    texts: list[str] = []  # embedded
    lexical_texts: list[str] = []  # BM25-indexed
    for doc in docs:
        by_number = {p.number: p.text for p in doc.paragraphs}
        for p in passages_of(doc, settings.chunk_chars, settings.chunk_overlap, first_id=len(passages)):
            passages.append(p)
            texts.append(lexicon.normalize(context_text(p, by_number)))
            lexical_texts.append(context_text(p, by_number, title=False))
    if not passages:
        raise BadInputError("nothing to index: the documents have no text")
    sentences, sentence_texts = [], []
    for doc in docs:
        for para in doc.paragraphs:
            if para.boilerplate:
                continue
            for s, e in split_sentences(para.text):
                sentences.append((doc.name, para.number, s, e))
                sentence_texts.append(lexicon.normalize(para.text[s:e]))
    todo = texts + sentence_texts
    chunks = []
    for i in range(0, len(todo), BATCH):
        chunks.append(embedder.embed_batch(todo[i : i + BATCH], "passage"))
        done = min(i + BATCH, len(todo))
        say(0.02 + 0.93 * done / len(todo), f"embedding {done}/{len(todo)} passages and sentences")
    all_vectors = np.vstack(chunks).astype(np.float32)
    vectors, sentence_vectors = all_vectors[: len(texts)], all_vectors[len(texts) :]
    say(0.96, "building the lexical index")
    lexical = BM25.build(lexical_texts)  # tokens() normalizes
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    documents = [_document_record(d, passages, built_at) for d in docs]
    manifest = {
        "format_version": store.FORMAT_VERSION,
        "model": embedder.name,
        "dim": int(vectors.shape[1]),
        "chunking": {
            "chunk_chars": settings.chunk_chars,
            "chunk_overlap": settings.chunk_overlap,
            "context": "title (dense only) + list intro lead + paragraph lead",
        },
        "lexicon": lexicon.version(),
        "documents": [
            {k: d[k] for k in ("name", "title", "sha256", "encoding", "paragraphs_count", "passages_count")}
            for d in documents
        ],
        "counts": {
            "documents": len(docs),
            "paragraphs": sum(len(d.paragraphs) for d in docs),
            "passages": len(passages),
        },
        "built_at": built_at,
        "build_seconds": round(time.perf_counter() - t0, 2),
    }
    manifest["counts"]["sentences"] = len(sentences)
    index = store.Index(manifest, store.make_faiss(vectors), passages, documents, lexical, sentences, sentence_vectors)
    say(0.98, "writing the index")
    store.save(index, settings.index_dir)
    say(1.0, "done")
    return index


def _document_record(doc: Document, passages: list[Passage], built_at: str) -> dict:
    return {
        "name": doc.name,
        "title": doc.title,
        "path": doc.path,
        "sha256": doc.sha256,
        "encoding": doc.encoding,
        "paragraphs": [p.text for p in doc.paragraphs],
        "paragraphs_count": len(doc.paragraphs),
        "passages_count": sum(1 for p in passages if p.doc == doc.name),
        "indexed_at": built_at,
    }
