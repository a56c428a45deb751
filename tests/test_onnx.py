"""The ONNX Runtime backend: chosen by QA_BACKEND, same vectors as sentence-transformers, no torch at run time."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from qa.embedding import BUNDLED_MODEL, OnnxEmbedder, SentenceTransformerEmbedder, make_embedder
from qa.errors import ModelUnavailableError
from tests.test_embedding import TEXTS, _cos

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ fast


@pytest.mark.parametrize(
    "backend, cls, precision",
    [("torch", SentenceTransformerEmbedder, None), ("onnx", OnnxEmbedder, "int8"), ("onnx-fp32", OnnxEmbedder, "fp32")],
)
def test_backend_setting_picks_the_runner(tmp_path, backend, cls, precision):
    e = make_embedder(BUNDLED_MODEL, tmp_path, backend)
    assert type(e) is cls and e.name == BUNDLED_MODEL
    assert getattr(e, "precision", None) == precision
    assert list(tmp_path.iterdir()) == []  # nothing prepared until first use


def test_auto_runs_the_bundled_model_in_onnx_fp32_and_others_in_torch(tmp_path):
    bundled = make_embedder(BUNDLED_MODEL, tmp_path, "auto")
    assert type(bundled) is OnnxEmbedder and bundled.precision == "fp32"
    assert type(make_embedder("some/hub-model", tmp_path, "auto")) is SentenceTransformerEmbedder
    with pytest.raises(ValueError, match="backend must be one of"):
        make_embedder(BUNDLED_MODEL, tmp_path, "tensorrt")


def test_bad_backend_is_a_settings_error():
    from qa.config import from_env
    from qa.errors import BadInputError

    with pytest.raises(BadInputError, match="backend must be one of"):
        from_env({"QA_BACKEND": "gpu"})


def test_onnx_needs_a_local_folder(tmp_path):
    e = OnnxEmbedder("intfloat/multilingual-e5-small", tmp_path)
    with pytest.raises(ModelUnavailableError, match="QA_BACKEND=torch"):
        e.embed_query("x")


def test_onnx_refuses_a_pooling_it_would_get_wrong(tmp_path):
    from qa.embedding.onnx import prepare_onnx

    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_max_tokens": True}))
    with pytest.raises(ModelUnavailableError, match="QA_BACKEND=torch"):
        prepare_onnx(tmp_path, progress=False)
    assert not (tmp_path / "onnx").exists()


def test_onnx_constructor_validates_and_imports_nothing_heavy(tmp_path):
    with pytest.raises(ValueError, match="precision"):
        OnnxEmbedder(BUNDLED_MODEL, tmp_path, precision="int4")
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from qa.embedding import make_embedder
        e = make_embedder({BUNDLED_MODEL!r}, Path({str(tmp_path)!r}), "onnx")
        print(sorted(m for m in ("torch", "onnxruntime", "transformers") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_forward_passes_take_every_row_once_within_the_token_budget():
    from qa.embedding.onnx import _runs

    lengths = [512, 300, 200, 120, 100, 60, 60, 30, 12, 12, 12, 5]  # longest first, as encode sorts them
    order = list(range(100, 100 + len(lengths)))
    runs = list(_runs(order, lengths, batch_size=4, max_tokens=512))
    assert [r for run in runs for r in run] == order
    for run in runs:
        width = lengths[order.index(run[0])]
        assert 1 <= len(run) <= 4 and (len(run) == 1 or len(run) * width <= 512)
    assert [len(r) for r in runs] == [1, 1, 2, 4, 4]  # the 512-token text alone; short ones capped by batch_size


def test_weights_move_out_of_the_graph_with_the_same_outputs(tmp_path):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from qa.embedding.onnx import _externalize, _is_external

    weights = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 32])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    x = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)

    def run():
        return ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]

    before = run()
    assert not _is_external(model)
    _externalize(model)
    assert _is_external(model) and model.stat().st_size < 1024 < (tmp_path / "model.onnx.data").stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.onnx.data"]  # no temporary left
    np.testing.assert_array_equal(run(), before)


# ------------------------------------------------------------------------------ slow


@pytest.fixture(scope="module")
def cache(bundled_model_dir):
    return bundled_model_dir.parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_onnx_vectors_agree_with_sentence_transformers(cache, kind):
    reference = SentenceTransformerEmbedder(BUNDLED_MODEL, cache).embed_batch(TEXTS, kind)
    fp32 = make_embedder(BUNDLED_MODEL, cache, "onnx-fp32").embed_batch(TEXTS, kind)
    int8 = make_embedder(BUNDLED_MODEL, cache, "onnx").embed_batch(TEXTS, kind)
    assert fp32.shape == int8.shape == reference.shape and int8.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, rtol=1e-5)
    assert _cos(fp32, reference).min() > 0.99999  # the same computation
    assert _cos(int8, reference).min() > 0.99  # int8 weights and activations: close (0.997 on average), not equal
    # What retrieval needs from it: each text's nearest neighbour among the others is unchanged
    # wherever the reference's choice is not a near-tie (int8 moves cosines by ~0.003).
    ref_sim, int8_sim = reference @ reference.T, int8 @ int8.T
    np.fill_diagonal(ref_sim, -1)
    np.fill_diagonal(int8_sim, -1)
    ranked = np.sort(ref_sim, axis=1)
    clear = ranked[:, -1] - ranked[:, -2] > 0.01
    assert clear.sum() >= len(TEXTS) // 2
    assert (ref_sim.argmax(1) == int8_sim.argmax(1))[clear].all()


@pytest.mark.slow
def test_onnx_backend_runs_without_torch(cache):
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from qa.embedding import make_embedder
        e = make_embedder({BUNDLED_MODEL!r}, Path({str(cache)!r}), "onnx")
        v = e.embed_batch(["生态环境部", "尾矿库"], "passage")
        print(v.shape, "torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[-2] == "(2, 384) False"


@pytest.mark.slow
def test_onnx_vectors_do_not_depend_on_how_texts_share_a_forward_pass(cache):
    e = make_embedder(BUNDLED_MODEL, cache, "onnx-fp32")
    together = e.embed_batch(TEXTS, "passage")
    alone = np.vstack([e.embed_batch([t], "passage") for t in TEXTS])
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_a_sentence_pooled_from_its_passage_is_close_to_it_embedded_alone(cache):
    e = make_embedder(BUNDLED_MODEL, cache, "onnx-fp32")
    first, second = "会议部署了2023年重点任务。", "全国完成1万余座尾矿库环境风险排查。"
    passage = first + second
    vectors, spans = e.embed_spans([passage], [[(0, len(first)), (len(first), len(passage)), (900, 950)]])
    np.testing.assert_allclose(vectors, e.embed_batch([passage], "passage"), rtol=0, atol=1e-6)  # the same pass
    pooled_first, pooled_second, outside = spans[0]
    alone = e.embed_batch([first, second], "passage")
    assert outside is None  # no token there
    assert float(pooled_first @ alone[0]) > 0.85 and float(pooled_second @ alone[1]) > 0.85
    assert float(pooled_first @ alone[0]) > float(pooled_first @ alone[1])  # each is its own sentence
