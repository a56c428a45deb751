"""Fit the abstention model on the dev set and write qa/data/abstention.json.

    python bench/calibrate.py [eval/dev.jsonl] [--check eval/test.jsonl]

Needs a built index (qa build). Collects retrieval signals for every question, fits an
L2-regularized logistic regression (answerable vs not) on standardized features, then picks
the threshold: the midpoint of the widest range that declines >= 90% of unanswerable
questions while declining <= 5% of answerable ones (or, if none does, the best balanced
accuracy). Prints the fit, the chosen threshold and the rates, on the check set too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa import abstain  # noqa: E402
from qa.config import from_env  # noqa: E402
from qa.evaluate import read_questions  # noqa: E402
from qa.service import QAService  # noqa: E402

L2 = 1.0  # ridge strength; the dev set is small (~140 questions), keep weights modest
MAX_WRONG_DECLINE = 0.05
MIN_DECLINE = 0.90


def collect(service: QAService, questions: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    X, y = [], []
    for q in questions:
        r, _ = service.retrieve(q["question"], q.get("history") or [])
        X.append(abstain.features(r.signals))
        y.append(1.0 if q["gold"] else 0.0)
    return np.array(X), np.array(y)


def fit(X: np.ndarray, y: np.ndarray, steps: int = 5000, lr: float = 0.1) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    mean, std = X.mean(0), X.std(0)
    std[std == 0] = 1.0
    Z = (X - mean) / std
    # Balance the classes: unanswerable questions are the minority but matter as much.
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    w, b = np.zeros(Z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(Z @ w + b)))
        g = (p - y) * weight
        w -= lr * (Z.T @ g / len(y) + L2 * w / len(y))
        b -= lr * g.mean()
    return w, b, mean, std


def rates(conf: np.ndarray, y: np.ndarray, t: float) -> tuple[float, float]:
    declined_un = float(np.mean(conf[y == 0] < t)) if (y == 0).any() else 1.0
    wrong = float(np.mean(conf[y == 1] < t)) if (y == 1).any() else 0.0
    return declined_un, wrong


def choose_threshold(conf: np.ndarray, y: np.ndarray) -> float:
    grid = np.linspace(0.01, 0.99, 99)
    ok = [t for t in grid if rates(conf, y, t)[0] >= MIN_DECLINE and rates(conf, y, t)[1] <= MAX_WRONG_DECLINE]
    if ok:
        return float((min(ok) + max(ok)) / 2)
    return float(max(grid, key=lambda t: rates(conf, y, t)[0] + 1 - rates(conf, y, t)[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dev", nargs="?", default="eval/dev.jsonl")
    ap.add_argument("--check", default="eval/test.jsonl", help="held-out set to report on (not used for fitting)")
    ap.add_argument("--out", default=str(abstain.CALIBRATION))
    args = ap.parse_args()
    os.environ.setdefault("QA_PROGRESS", "0")
    service = QAService(from_env())
    X, y = collect(service, read_questions(Path(args.dev)))
    w, b, mean, std = fit(X, y)
    model = {"features": [f"{f}:zh" for f in abstain.FEATURES] + [f"{f}:en" for f in abstain.FEATURES] + ["english"],
             "weights": w.round(4).tolist(), "bias": round(b, 4), "mean": mean.round(5).tolist(),
             "std": std.round(5).tolist(), "trained_on": args.dev, "command": "python bench/calibrate.py"}
    conf = 1 / (1 + np.exp(-(((X - mean) / std) @ w + b)))
    model["threshold"] = round(choose_threshold(conf, y), 3)
    Path(args.out).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    abstain._model.cache_clear()
    for name, value in zip(model["features"], model["weights"]):
        print(f"  {name:<20}{value:+.3f}")
    d, wr = rates(conf, y, model["threshold"])
    print(f"threshold {model['threshold']}  dev: unanswerable declined {d:.3f}, answerable wrongly declined {wr:.3f}")
    if args.check and Path(args.check).exists():
        Xc, yc = collect(service, read_questions(Path(args.check)))
        cc = 1 / (1 + np.exp(-(((Xc - mean) / std) @ w + b)))
        d, wr = rates(cc, yc, model["threshold"])
        print(f"check ({args.check}): unanswerable declined {d:.3f}, answerable wrongly declined {wr:.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
