"""Offline, Chinese-first question answering over documents with sentence-level citations.

Data flows: files -> ingest (paragraphs) -> chunking (passages) -> embedding (vectors)
-> store (FAISS + BM25 + manifest on disk) -> retrieval (ranked hits) -> answer (cited
sentences) -> cli / app.
"""

__version__ = "0.1.0"
