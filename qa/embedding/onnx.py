"""The same sentence-transformers model run by ONNX Runtime: no torch at run time, int8 weights.

The model folder's transformer is exported once to `<folder>/onnx/model.onnx` (torch's
exporter, only then; the weights in `model.onnx.data` beside it, memory-mapped); for QA_BACKEND=onnx it is also quantized once to int8 (`model_qint8.onnx`,
ONNX Runtime's dynamic quantization: int8 weights per output channel, activations quantized on
the fly). Tokenization
is the folder's own `tokenizer.json` through `tokenizers`; pooling and normalization follow
the folder's sentence-transformers modules (mean or CLS pooling, then L2 normalization).

Why: importing torch and sentence-transformers alone costs ~8 s, and on this CPU (AVX-512 VNNI)
int8 matrix products run several times faster than fp32 ones; bench/perf.py measures both
against the bare sentence-transformers model, and bench/README.md has the figures.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.errors import ModelUnavailableError

EXPORTER_VERSION = 1
_MARKER = "qa-onnx.json"  # written last: its presence means the folder is complete
FILES = {"fp32": "model.onnx", "int8": "model_qint8.onnx"}
PRECISIONS = tuple(FILES)


def onnx_dir(model_dir: Path) -> Path:
    return Path(model_dir) / "onnx"


def prepare_onnx(model_dir: Path, precision: str = "fp32", progress: bool = True) -> Path:
    """Export `model_dir` (a sentence-transformers folder) to ONNX once, and quantize it to int8 the
    first time int8 is asked for; return the onnx folder."""
    from qa.embedding.bundled import exclusive_lock

    target = onnx_dir(model_dir)
    model = target / FILES[precision]
    if _is_complete(target) and _is_external(model):
        return target
    _check_layout(Path(model_dir))
    try:
        with exclusive_lock(Path(model_dir) / ".onnx.lock"):
            if not _is_complete(target):
                _export_folder(Path(model_dir), target, progress)
            if not model.is_file():  # int8: made from the fp32 export
                if progress:
                    print("Quantizing the embedding model to int8 (once) ...", file=sys.stderr)
                tmp = target / f".{FILES[precision]}.tmp-{os.getpid()}"
                try:
                    _quantize(target / FILES["fp32"], tmp)
                    os.rename(tmp, model)
                finally:
                    tmp.unlink(missing_ok=True)
            if not _is_external(model):  # exported or quantized by an earlier version, weights inside
                if progress:
                    print(f"Moving the weights of {model.name} into a file of their own (once) ...", file=sys.stderr)
                _externalize(model)
    except OSError as exc:
        raise ModelUnavailableError(
            f"cannot export the embedding model to ONNX in {target}: {exc}. It needs ~600 MB in a writable "
            "folder; set QA_BACKEND=torch to run the model with sentence-transformers instead."
        ) from exc
    return target


def _export_folder(model_dir: Path, target: Path, progress: bool) -> None:
    """Export into a temporary folder, then rename it into place: it appears complete or not at all."""
    tmp = Path(tempfile.mkdtemp(prefix=".onnx-tmp-", dir=model_dir))
    try:
        if progress:
            print(f"Exporting the embedding model to ONNX (once, ~30 s) in {target} ...", file=sys.stderr)
        _export(model_dir, tmp / FILES["fp32"])
        _externalize(tmp / FILES["fp32"])
        (tmp / _MARKER).write_text(json.dumps({"exporter": EXPORTER_VERSION}) + "\n")
        os.chmod(tmp, 0o755)
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _weights(model: Path) -> Path:
    return model.with_name(model.name + ".data")


def _is_external(model: Path) -> bool:
    """Whether the model's weights are in its `.data` file (the graph alone is a fraction of their size)."""
    try:
        return model.stat().st_size < _weights(model).stat().st_size
    except OSError:
        return False


def _externalize(model: Path) -> None:
    """Move the weights of the ONNX file `model` into `<name>.data` beside it, in place.

    ONNX Runtime memory-maps weights kept outside the graph instead of parsing and copying them:
    a session of the fp32 model (470 MB, most of it the 250k-token embedding table) starts in
    ~0.1 s instead of ~0.85 s, holds ~400 MB less, and computes the same outputs bit for bit."""
    import onnx

    graph = onnx.load(str(model))
    tmp = Path(tempfile.mkdtemp(prefix=".onnx-ext-", dir=model.parent))
    try:
        onnx.save_model(
            graph,
            str(tmp / model.name),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=_weights(model).name,
            size_threshold=1024,
        )
        for f in tmp.iterdir():
            os.chmod(f, 0o644)
        # The weights first: a graph that names them always finds them whole (the old graph holds its own).
        os.replace(tmp / _weights(model).name, _weights(model))
        os.replace(tmp / model.name, model)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _is_complete(target: Path) -> bool:
    try:
        return json.loads((target / _MARKER).read_text()).get("exporter") == EXPORTER_VERSION
    except (OSError, ValueError):
        return False


def _modules(model_dir: Path) -> list[dict]:
    try:
        return json.loads((model_dir / "modules.json").read_text())
    except (OSError, ValueError):
        return []


def _check_layout(model_dir: Path) -> None:
    """Refuse folders this runner would embed differently from sentence-transformers."""
    types = [m.get("type", "").rsplit(".", 1)[-1] for m in _modules(model_dir)]
    if types[:2] != ["Transformer", "Pooling"] or not set(types[2:]) <= {"Normalize"}:
        raise ModelUnavailableError(
            f"{model_dir} is not a Transformer + Pooling (+ Normalize) sentence-transformers folder, which the "
            "ONNX runner needs; set QA_BACKEND=torch"
        )
    if _pooling(model_dir) not in ("mean", "cls"):
        raise ModelUnavailableError(f"{model_dir} pools with {_pooling(model_dir)!r}; set QA_BACKEND=torch")


def _pooling(model_dir: Path) -> str:
    path = next(model_dir / m["path"] / "config.json" for m in _modules(model_dir) if m["type"].endswith("Pooling"))
    cfg = json.loads(path.read_text())
    if isinstance(cfg.get("pooling_mode"), str):  # newer sentence-transformers write the mode by name
        return {"mean_tokens": "mean", "cls_token": "cls"}.get(cfg["pooling_mode"], cfg["pooling_mode"])
    modes = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v]
    mode = modes[0].removeprefix("pooling_mode_") if len(modes) == 1 else "+".join(modes)
    return {"mean_tokens": "mean", "cls_token": "cls"}.get(mode, mode)


def _export(model_dir: Path, out: Path) -> None:
    """torch.onnx (TorchScript exporter): input_ids + attention_mask -> token embeddings."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.tensor([[0, 100, 200, 300, 2], [0, 5, 6, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    axes = {0: "batch", 1: "tokens"}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks
        torch.onnx.export(
            TokenEmbeddings(model),
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["token_embeddings"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_embeddings": axes},
            opset_version=17,
            dynamo=False,
        )


def _quantize(src: Path, out: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # it advises "pre-processing" on every call
    quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True)


def _env_threads() -> int:
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:
        return 0


class OnnxRunner:
    """Tokenize, run the exported transformer, pool and normalize: sentence-transformers' encode, in ONNX Runtime."""

    def __init__(self, model_dir: Path, precision: str = "int8", threads: int = 0):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = onnx_dir(model_dir)
        options = ort.SessionOptions()
        # 0: OMP_NUM_THREADS if set (torch honours it; ONNX Runtime does not read it), else one per core.
        options.intra_op_num_threads = threads or _env_threads()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(folder / FILES[precision]), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        st = json.loads((Path(model_dir) / "sentence_bert_config.json").read_text())
        self.tokenizer.enable_truncation(int(st.get("max_seq_length") or 512))  # set once: encode is then thread-safe
        self.tokenizer.no_padding()
        self.pooling = _pooling(Path(model_dir))
        self.pad_id = self.tokenizer.token_to_id("<pad>") or 0
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
        spans: Sequence[Sequence[tuple[int, int]]] | None = None,
    ) -> np.ndarray | tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """L2-normalized vectors of `texts` (prompts already prepended), in passes of similar token lengths.

        With `spans` (character ranges of each text), also the L2-normalized mean of the token
        embeddings inside each range, from the same forward pass (None for a range no token lies in,
        e.g. past the model's window)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        pooled_spans: list[list[np.ndarray | None]] = [[] for _ in texts]
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")  # similar lengths share a batch
        out = np.empty((len(texts), self.dim), np.float32)
        for rows in _runs(order, [len(encodings[i].ids) for i in order], batch_size):
            width = len(encodings[rows[0]].ids)
            ids = np.full((len(rows), width), self.pad_id, np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for k, row in enumerate(rows):
                tokens = encodings[row].ids
                ids[k, : len(tokens)] = tokens
                mask[k, : len(tokens)] = 1
            tokens_out = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            if self.pooling == "cls":
                pooled = tokens_out[:, 0]
            else:
                pooled = (tokens_out * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            if spans is not None:
                for k, row in enumerate(rows):
                    offsets = encodings[row].offsets
                    pooled_spans[row] = _pool_spans(tokens_out[k, : len(offsets)], offsets, spans[row])
            if progress:
                progress(len(rows))
        return (out, pooled_spans) if spans is not None else out


def _pool_spans(tokens: np.ndarray, offsets, spans) -> list[np.ndarray | None]:
    """Mean of the token embeddings whose characters lie inside each (start, end) range, normalized."""
    starts = np.array([a for a, _ in offsets])
    ends = np.array([b for _, b in offsets])
    real = ends > starts  # special tokens have an empty range
    out: list[np.ndarray | None] = []
    for start, end in spans:
        inside = real & (ends > start) & (starts < end)
        if not inside.any():
            out.append(None)
            continue
        v = tokens[inside].mean(0)
        out.append((v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32))
    return out


# Tokens (rows x padded width) per forward pass. Small passes run faster per token on the CPU
# than batches of 32 texts (their activations stay in cache), and the vectors are bit-identical
# whatever the batching: the report's 149 build texts took 6.0 s in passes of <= 512 tokens,
# 8.3-9.1 s in batches of 32 (one thread; 256 and 1 text a pass also ~6.0 s, 2,048 tokens 7.3 s).
# 512 is also the model's window, so the longest text still runs alone.
MAX_TOKENS = 512


def _runs(order: Sequence[int], lengths: Sequence[int], batch_size: int, max_tokens: int = MAX_TOKENS):
    """Split rows sorted longest first into forward passes of <= batch_size rows and <= max_tokens padded tokens."""
    start = 0
    while start < len(order):
        width = max(1, lengths[start])
        n = max(1, min(batch_size, max_tokens // width, len(order) - start))
        yield order[start : start + n]
        start += n
