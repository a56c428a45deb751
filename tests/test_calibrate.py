"""bench/calibrate.py's fit and threshold rule on made-up signals (no model, no corpus)."""

import json
from pathlib import Path

import numpy as np
import pytest

from bench import calibrate


def _data(rng):
    # cmrc: 400 questions where the signal tells answerable apart; cmrc-en: 20 where it points the other way
    x = np.r_[rng.normal(0, 1, 400), rng.normal(0, 1, 20)]
    y = np.r_[(x[:400] + rng.normal(0, 0.5, 400) > 0), (x[400:] < 0)].astype(float)
    corpus = np.array(["cmrc"] * 400 + ["cmrc-en"] * 20)
    return x[:, None], y, corpus


def test_a_small_english_set_weighs_within_its_corpus(monkeypatch):
    X, y, corpus = _data(np.random.default_rng(0))
    within = calibrate.fit(X, y, corpus)["weights"][0]
    monkeypatch.setattr(calibrate, "WEIGH_WITH", {})
    alone = calibrate.fit(X, y, corpus)["weights"][0]
    assert within > 0 and within > 2 * alone  # alone, 20 questions pull as hard as 400


def test_the_threshold_keeps_each_corpus_averaged_false_declines_within_budget():
    conf = np.array([0.1, 0.2, 0.3, 0.9, 0.95, 0.4, 0.5, 0.8])
    y = np.array([0, 0, 1, 1, 1, 0, 1, 1], float)
    groups = np.array(["a"] * 5 + ["b"] * 3)
    t = calibrate.choose_threshold(conf, y, 0.0, groups)
    assert calibrate.weighted_false(conf, y, groups, t) == 0.0
    assert calibrate.rates(conf[groups == "a"], y[groups == "a"], t) == (1.0, 0.0)


def test_evaluate_reads_the_shipped_files_budgets_and_wide_corpora(tmp_path):
    from qa.config import Settings

    cal, budget, wide_budget, wide, fitted_on = calibrate.shipped(Path(Settings().abstention_file))
    rule = json.loads(Path(Settings().abstention_file).read_text(encoding="utf-8"))["rule"]
    assert f"<= {budget:.1%} of answerable tune questions declined" in rule
    assert cal.wide is not None and wide_budget is not None and wide and wide <= set(fitted_on)
    # a file whose rule does not say its budget cannot be measured as fitted: the message says the fix
    raw = json.loads(Path(Settings().abstention_file).read_text(encoding="utf-8"))
    raw["rule"] = "hand-written"
    bad = tmp_path / "abstention.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SystemExit, match="fit it again with"):
        calibrate.shipped(bad)


def test_set_absent_writes_the_wide_corpora_s_lowest_absent_probe_level_and_nothing_else(tmp_path):
    from qa.answering import abstain, probes
    from qa.config import Settings

    shipped = json.loads(Path(Settings().abstention_file).read_text(encoding="utf-8"))
    n, k = len(probes.questions()), len(abstain.FEATURES)
    m = {"weights": np.zeros(k), "bias": -0.5, "mean": np.zeros(k), "std": np.ones(k)}  # confidence .38 ...
    veto = {c: np.zeros(n, bool) for c in ("cmrc", "drcd", "gov")}
    veto["drcd"][probes.absent_rows()] = True  # ... but 0 where a probe shares no word with its top paragraphs
    veto["drcd"][-10:] = False  # 10 of drcd's 50 absent-thing probes do
    probe = {c: (np.zeros((n, k)), v) for c, v in veto.items()}
    assert calibrate.absent_level(m, probe, {"cmrc", "drcd"}) == pytest.approx(10 / 50 / (1 + np.exp(0.5)))
    path = tmp_path / "abstention.json"
    path.write_text(json.dumps(shipped), encoding="utf-8")
    cal = calibrate._amend(path, "bench/calibrate.py --set-absent", True, None, 0.1)
    assert cal.wide.absent_full == 0.1
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["wide"].pop("absent_command") == "bench/calibrate.py --set-absent"
    assert written["wide"].pop("absent_full") == 0.1 and written["wide"].pop("absent_rule")
    for entry in (written["wide"], shipped["wide"]):
        for key in [key for key in entry if key.startswith("absent")]:
            entry.pop(key)
    assert written == shipped
    # --dry-run: the same model, the file untouched
    before = path.read_text(encoding="utf-8")
    assert calibrate._amend(path, "x", False, None, 0.2).wide.absent_full == 0.2
    assert path.read_text(encoding="utf-8") == before
    # --set-quantile: the quantile too, and the command that chose it
    cal = calibrate._amend(path, "bench/calibrate.py --set-quantile", True, 0.7, 0.1)
    assert cal.probe_quantile == 0.7 and cal.wide.absent_full == 0.1
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["probe_quantile"] == 0.7 and written["quantile_command"] == "bench/calibrate.py --set-quantile"


def test_a_fit_without_a_wide_model_is_not_written_over_a_file_with_one(tmp_path):
    from qa.config import Settings

    shipped = Path(Settings().abstention_file)
    assert calibrate._raw(shipped).get("wide")  # main() refuses to overwrite it with a fit that has none
    raw = json.loads(shipped.read_text(encoding="utf-8"))
    raw.pop("wide")
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(raw), encoding="utf-8")
    assert not calibrate._raw(plain).get("wide") and not calibrate._raw(tmp_path / "missing.json").get("wide")
