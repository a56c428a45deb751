"""Settings: one frozen object, read from QA_* environment variables and CLI flags, passed explicitly.

Every setting a deployment may change lives here (QA_<NAME> or a flag), with the reason for its
value next to it: the model, how many passages and paragraphs are read, the fusion and its
weights, the caution level, the limits on input. The fitted abstention model and its threshold
live in one data file (`abstention_file`, by default qa/data/abstention.json), written by
`python bench/calibrate.py` on the tuning parts of the evaluation corpora (never their held-out
parts). The constants of each ranking or answering rule (the year penalty, the short-paragraph
prior, the sentence tie-break, list expansion in qa/search/retriever.py; sentence scoring in
qa/answering/compose.py) stay beside the rule with the sweep that chose them: they are part of
the rule, measured together with it on the benchmark (docs/retrieval.md), not a deployment knob.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path

from qa.embedding import BACKENDS, BUNDLED_MODEL
from qa.errors import BadInputError


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa"


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Field `x` is read from env var `QA_X` (e.g. QA_TOP_K=8)."""

    data_dir: Path = Path("data")
    index_dir: Path = Path("index")
    cache_dir: Path = dataclasses.field(default_factory=_default_cache)
    model: str = BUNDLED_MODEL
    # How the model runs: "torch" (sentence-transformers), "onnx" (ONNX Runtime, int8 weights) or
    # "onnx-fp32"; "auto" picks per model (qa/embedding/__init__.py says which and why).
    backend: str = "auto"
    # Where passage vectors live (qa/stores/): "faiss" (files in each index version, the default),
    # "milvus://HOST:PORT" (a Milvus server) or "milvus-lite" (in-process, inside each version).
    store: str = "faiss"
    # Candidates an HNSW index (corpora from 100k passages, qa/stores/faiss_store.py) examines per
    # search: recall against exact search grows with it, and so does search time. 0 searches with
    # the value the index was built with (faiss_store.HNSW_EF_SEARCH, chosen by bench/ann.py).
    ef_search: int = 0

    # Chunking. e5-small reads 512 tokens, but its embeddings blur long inputs: passages of
    # ~1-4 sentences (<= 200 chars) retrieved best on the dev set. Overlap is in sentences.
    chunk_chars: int = 200
    chunk_overlap: int = 1

    # Retrieval.
    # Paragraphs the answer's sentences (or, when declined, the nearest passages) come from.
    # 3: the right paragraph is in the top 3 for ~97% of dev questions; more adds noise.
    top_k: int = 3
    candidates: int = 40  # passages each retriever contributes before fusion
    # How dense and BM25 rankings are combined: "zscore" (score-aware) or "rrf" (rank only).
    fusion: str = "zscore"
    rrf_k: int = 60  # reciprocal-rank-fusion constant (Cormack et al. 2009 default)
    dense_weight: float = 1.0
    # BM25 z-scores count double: over the normalized vocabulary they are the sharper signal.
    # Swept 0.7-3.0 on dev: R@1 0.870 (0.7), 0.878 (1.0), 0.913 (2.0), 0.904 (3.0).
    lexical_weight: float = 2.0
    # ... but for an English question BM25 sees only the Chinese terms the corpus glossary and
    # CC-CEDICT give it (qa/indexing/synonyms.py), a weaker signal than a question's own words.
    # Swept on the English questions of the tune parts (bench/quality.py --parts tune, with
    # QA_ENGLISH_LEXICAL_WEIGHT), R@1 report / report without synonyms / cmrc-en / drcd-en:
    # 0.5 -> .69/.58/1.0/.92, 1.0 -> .96/.69/.92/.85, 2.0 -> .96/.69/.85/.85 (0 -> .31 on the report).
    english_lexical_weight: float = 1.0

    # Abstention (qa/answering/abstain.py): the paragraphs whose text the decision reads (3: the
    # right paragraph is in the top 3 for ~97% of dev questions), and the fitted model. A
    # different top-k changes the signals: refit the model after changing it.
    abstain_top_k: int = 3
    abstention_file: Path = Path(__file__).parent / "data" / "abstention.json"
    # An answer given with a confidence under this is shown with a caution (the documents may not
    # say it; check the sources). 0.5: the fitted model (classes balanced) finds it no more likely
    # than not that the documents answer; not tuned. bench/quality.py prints how many of the wrong
    # answers (an unanswerable question answered, or an answer without the asked fact) and of the
    # right ones carry it (docs/quality.md, columns "unsure wrong" and "unsure right").
    sure_confidence: float = 0.5

    # Answer composition.
    max_sentences: int = 4  # sentences in the extractive answer
    max_question_chars: int = 1000

    # Ingestion limits: bigger inputs are refused with a message, not half-indexed.
    max_file_bytes: int = 20_000_000

    # Builds: how long a build waits for another build of the same index folder (seconds;
    # 0 refuses at once, -1 waits for ever). The lock is a file in the index folder.
    build_wait: float = 600.0

    # UI / API.
    host: str = "127.0.0.1"
    port: int = 7860
    # Secret that actions changing documents or the index require (UI token field, or
    # "Authorization: Bearer ..." for API clients). `qa serve` on a non-loopback address
    # refuses to start without it unless --insecure.
    token: str = dataclasses.field(default="", repr=False)
    # Concurrent questions share one forward pass of the model (qa/serving/batcher.py); 0 sends
    # them one at a time (the bench/load.py comparison).
    batch_queries: bool = True
    # Conversation turns the service looks at (the latest ones); an API request with more is refused.
    max_history: int = 20

    # Optional generation through an OpenAI-compatible chat endpoint; off when llm_url is empty.
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 30.0

    def replace(self, **changes) -> Settings:
        """Return a copy with `changes` applied (None values are ignored, so CLI flags can pass through)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _convert(name: str, default, raw: str):
    kind = type(default)
    try:
        if isinstance(default, Path):
            return Path(raw).expanduser()
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        return kind(raw)
    except ValueError:
        raise BadInputError(
            f"QA_{name.upper()}={raw!r} is not a valid {kind.__name__}; unset it or fix the value"
        ) from None


def from_env(environ: dict | None = None, **overrides) -> Settings:
    """Build Settings from QA_* variables, then apply non-None `overrides` (CLI flags win)."""
    env = os.environ if environ is None else environ
    values = {}
    hints = {f.name: f for f in fields(Settings)}
    defaults = Settings()
    for name in hints:
        raw = env.get(f"QA_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = _convert(name, getattr(defaults, name), raw)
    settings = defaults.replace(**values).replace(**overrides)
    validate(settings)
    return settings


def validate(s: Settings) -> None:
    """Reject settings that cannot work, saying which and why."""
    positive = (
        "chunk_chars",
        "top_k",
        "abstain_top_k",
        "candidates",
        "rrf_k",
        "max_sentences",
        "max_question_chars",
        "max_file_bytes",
        "max_history",
    )
    for name in positive:
        if getattr(s, name) <= 0:
            raise BadInputError(f"{name} must be > 0, got {getattr(s, name)}")
    if s.backend not in BACKENDS:
        raise BadInputError(f"backend must be one of {', '.join(BACKENDS)}, got {s.backend!r}")
    try:
        from qa.stores import parse

        parse(s.store)
    except ValueError as e:
        raise BadInputError(str(e)) from None
    if s.fusion not in ("zscore", "rrf"):
        raise BadInputError(f"fusion must be 'zscore' or 'rrf', got {s.fusion!r}")
    if s.ef_search < 0:
        raise BadInputError(f"ef_search must be >= 0 (0: the index's own), got {s.ef_search}")
    if not 0 <= s.sure_confidence <= 1:
        raise BadInputError(f"sure_confidence must be in 0..1 (0: never a caution), got {s.sure_confidence}")
    if s.chunk_overlap < 0:
        raise BadInputError(f"chunk_overlap must be >= 0, got {s.chunk_overlap}")
    if not 0 < s.port < 65536:
        raise BadInputError(f"port must be in 1..65535, got {s.port}")
