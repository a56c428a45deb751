"""Fitting the abstention model to labeled questions (answerable, and not answered by the documents).

Two users: bench/calibrate.py fits the general model on the tune parts of every evaluation corpus
(each corpus weighing the same), and `qa calibrate` fits a corpus's own model on questions written
for its documents (docs/abstention.md). Both: scikit-learn's logistic regression on standardized
signals (qa/answering/abstain.py FEATURES), classes balanced; the threshold is the highest cut that
declines at most a budget of the answerable questions.

A corpus's own threshold is read off out-of-fold confidences (FOLDS-fold cross-validation), not
off the questions the model was fitted on, which it scores too well: on the report's 254 dev
questions the in-sample cut declined more of the held-out answerable ones than the budget.
"""

from __future__ import annotations

import numpy as np

C = 1.0  # inverse L2 strength of the logistic fit
FOLDS = 5
# Fewer labeled questions than this fit a model that does not carry to the next questions: on the
# evaluation corpora with ~40 answerable and 6-8 unanswerable tune questions (gov, manual, news), an
# own model declined fewer held-out unanswerable questions than the general one, or more answerable
# ones; with 200+ and 50+ (the report, CMRC, DRCD) it declined far more at the same false declines.
MIN_ANSWERABLE = 60
MIN_UNANSWERABLE = 20


def cuts(conf: np.ndarray) -> np.ndarray:
    """Every distinct cut between the confidences (and beyond both ends)."""
    c = np.unique(np.concatenate([conf, [-1e9, 1e9]]))
    return (c[:-1] + c[1:]) / 2


def rates(conf: np.ndarray, y: np.ndarray, t: float) -> tuple[float, float]:
    """(share of unanswerable declined, share of answerable declined) at cut `t`."""
    declined_un = float(np.mean(conf[y == 0] < t)) if (y == 0).any() else float("nan")
    false = float(np.mean(conf[y == 1] < t)) if (y == 1).any() else float("nan")
    return declined_un, false


def weighted_false(conf: np.ndarray, y: np.ndarray, groups: np.ndarray, t: float) -> float:
    """Share of answerable questions declined at `t`, each group (corpus) weighing the same."""
    per = [np.mean(conf[(groups == g) & (y == 1)] < t) for g in np.unique(groups) if ((groups == g) & (y == 1)).any()]
    return float(np.mean(per))


def choose_threshold(conf: np.ndarray, y: np.ndarray, budget: float, groups=None) -> float:
    """Highest cut (most unanswerable declined) that keeps answerable declined <= `budget`
    (with `groups`: the average of each group's share)."""
    groups = np.zeros(len(y), int) if groups is None else np.asarray(groups)
    cs = cuts(conf)
    ok = [t for t in cs if weighted_false(conf, y, groups, t) <= budget]
    return float(max(ok)) if ok else float(cs[0])


def fit(X: np.ndarray, y: np.ndarray, groups=None, c: float = C) -> dict:
    """Standardize, then a class-balanced logistic regression in which every group (corpus) weighs the same."""
    from sklearn.linear_model import LogisticRegression

    groups = np.zeros(len(y), int) if groups is None else np.asarray(groups)
    mean, std = X.mean(0), X.std(0)
    std[std == 0] = 1.0
    w = np.zeros(len(y))
    for g in np.unique(groups):
        for label in (0, 1):
            m = (groups == g) & (y == label)
            if m.any():  # each group 1 in all; within it, each class half (when it has both)
                w[m] = 1.0 / m.sum() / (2 if ((groups == g) & (y != label)).any() else 1)
    w[y == 0] *= w[y == 1].sum() / w[y == 0].sum()  # the classes balanced over all groups
    model = LogisticRegression(C=c, max_iter=5000).fit((X - mean) / std, y, sample_weight=w * len(y) / w.sum())
    return {"weights": model.coef_[0], "bias": float(model.intercept_[0]), "mean": mean, "std": std}


def score(m: dict, X: np.ndarray, veto: np.ndarray | None = None) -> np.ndarray:
    """The model's confidence; 0 where `veto` (abstain.nothing_in_common) unless the model is sure
    without words (abstain.without_words)."""
    from qa.answering import abstain

    conf = abstain.probability(X, m["mean"], m["std"], m["weights"], m["bias"])
    return abstain.without_words(conf, veto) if veto is not None else conf


def cross_validated(X: np.ndarray, y: np.ndarray, veto: np.ndarray, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Each question's confidence under a model fitted without its fold (stratified by label)."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        out[test] = score(fit(X[train], y[train]), X[test], veto[test])
    return out


def own(X: np.ndarray, y: np.ndarray, veto: np.ndarray, budget: float) -> tuple[dict, float, tuple[float, float]]:
    """A corpus's own model on all its questions, the threshold that keeps the cross-validated share
    of answerable questions declined within `budget`, and the cross-validated rates at it."""
    n_ans, n_un = int((y == 1).sum()), int((y == 0).sum())
    if n_ans < MIN_ANSWERABLE or n_un < MIN_UNANSWERABLE:
        from qa.errors import BadInputError

        raise BadInputError(
            f"{n_ans} answerable and {n_un} unanswerable questions: a model of its own needs at least "
            f"{MIN_ANSWERABLE} and {MIN_UNANSWERABLE} (fewer fit one that does not carry to the next "
            f'questions); write more ("gold": [] for a question the documents do not answer), or keep the general model'
        )
    cv = cross_validated(X, y, veto)
    t = choose_threshold(cv, y, budget)
    return fit(X, y), t, rates(cv, y, t)


def entry(fitted: dict, threshold: float, features, probe_quantile: float | None = None) -> dict:
    """A fitted model as the calibration files hold it (abstain.parse_calibration reads it): its
    features, rounded weights and standardization, threshold and probe quantile."""
    return {
        "features": list(features),
        "weights": np.round(fitted["weights"], 4).tolist(),
        "bias": round(float(fitted["bias"]), 4),
        "mean": np.round(fitted["mean"], 5).tolist(),
        "std": np.round(fitted["std"], 5).tolist(),
        "threshold": round(float(threshold), 4),
        "probe_quantile": probe_quantile,
    }


def own_file(fitted: dict, threshold: float, **about) -> dict:
    """The JSON of a corpus's own model (abstain.own_calibration reads it): the model, its threshold,
    no probes (the threshold was read off this corpus's own questions), and `about` it (the command,
    the questions, the cross-validated rates, the embedding model the signals came from)."""
    from qa.answering import abstain

    return {
        **entry(fitted, threshold, abstain.FEATURES),
        "rule": (
            f"logistic regression (C={C}, classes balanced) on this corpus's questions; threshold: the highest "
            f"keeping the {FOLDS}-fold cross-validated share of answerable questions declined within max_false"
        ),
        **about,
    }
