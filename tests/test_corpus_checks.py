"""The held-out sets written for their own documents (eval/corpora/gov10 ...) hold together:
eval/corpora/checking.py finds nothing wrong with them, and would find a wrong key or gold."""

import importlib.util
import json
import shutil

import pytest

from tests.conftest import ROOT

CORPORA = ROOT / "eval" / "corpora"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checking = _load(CORPORA / "checking.py", "checking")


@pytest.mark.parametrize("corpus", sorted(p.parent.name for p in CORPORA.glob("*/types.json")))
def test_every_checked_corpus_is_consistent(corpus):
    assert checking.problems(CORPORA / corpus, checking.expected_types(CORPORA / corpus)) == []
    assert checking.main([corpus]) == 0


def test_the_check_finds_a_wrong_key_gold_and_type_count(tmp_path):
    folder = tmp_path / "gov12"
    shutil.copytree(CORPORA / "gov12", folder)
    rows = [json.loads(line) for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    answerable = [q for q in rows if q["gold"]]
    answerable[0]["key"] = ["文中没有的话"]
    answerable[1]["gold"] = [9999]
    rows[-1]["id"] = rows[0]["id"]
    (folder / "questions.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in rows), encoding="utf-8"
    )
    found = checking.problems(folder, {"paraphrase": 1})
    assert any("keys not in any gold paragraph" in p for p in found)
    assert any("bad gold [9999]" in p for p in found)
    assert any(p.startswith("duplicate id") for p in found)
    assert any(p.startswith("type counts") for p in found)
