"""Each index's own decision threshold, read off questions it cannot answer (the probes).

The fitted threshold (Settings.abstention_file) is one number for every corpus, and the same
question that is not in the documents scores differently by corpus. An index of many unrelated
articles (an encyclopedia) meets a question about an article it lacks with passages that match a
little, so such questions score high there; a narrow plan or manual matches them with nothing.
One threshold low enough for the narrow corpora's colloquial questions answers many of the
encyclopedia's absent-article questions.

So each index is asked the probe questions of qa/data/probes.txt once (everyday knowledge, and
people, places and works made up for the purpose; drawn from no evaluation corpus), and its
threshold is the larger of the fitted one and the `probe_quantile`-th quantile of the probes'
confidences: an index that seems to answer what it does not hold must be surer before it answers.
No labels are involved, so it works on documents nobody here has seen. The probes about absent
things (made-up people, places and works, after ABSENT_MARK) also say how much the wide model
decides (`raised`, abstain.absent_weight): an encyclopedia answers them with passages that match a
little, and its threshold goes at least as far up the wide model's ramp as they put it. The
quantile is chosen by bench/calibrate.py on the tune parts of the evaluation corpora and kept in
the calibration file (docs/abstention.md has the thresholds it gives each corpus). A narrow
index's probes score far below the fitted threshold, which then stands unchanged.

Asking the probes takes ~2 s on the report (150 retrievals): the service does it when it loads a
version (while the previous one still answers), and the result is kept in Settings.cache_dir under
the version's id and the digests of the calibration and probe files and of the code that scores
them (an upgrade asks again), so the next process (a one-shot `qa ask`) reads it instead.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

PROBES_FILE = Path(__file__).resolve().parent.parent / "data" / "probes.txt"
KEEP = 100  # thresholds kept on disk (21 bytes each); the oldest go first (every build is a new version)


# The comment line from which on the probes ask about absent things (made-up people, places and
# works, as one asks an encyclopedia): `absent_rows`.
ABSENT_MARK = "# Absent things:"


@lru_cache(maxsize=1)
def _read() -> tuple[tuple[str, ...], int]:
    """The probe questions (comments and blank lines skipped), and how many come before ABSENT_MARK."""
    out: list[str] = []
    start = None
    for line in PROBES_FILE.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if s.startswith(ABSENT_MARK) and start is None:
            start = len(out)
        elif s and not s.startswith("#"):
            out.append(s)
    return tuple(out), len(out) if start is None else start


def questions() -> tuple[str, ...]:
    """The probe questions."""
    return _read()[0]


def absent_rows() -> slice:
    """Where the probes about absent things are among `questions()` (and the rows of `signals`)."""
    return slice(_read()[1], None)


def absent_level(confidences: np.ndarray) -> float | None:
    """The mean of the absent-thing probes' `confidences` (all probes', in `questions()` order): how
    answerable an index makes what it lacks look (abstain.absent_weight); None when there are none."""
    absent = confidences[absent_rows()]
    return float(np.mean(absent)) if len(absent) else None


def signals(retriever, index, top_k: int) -> np.ndarray:
    """Each probe's abstention signals on this index (rows in abstain.FEATURES order) and, last, 1.0
    when it has nothing in common with its top paragraphs (declined whatever the model says)."""
    from qa.answering import abstain

    rows = []
    for q in questions():
        s = abstain.signals(retriever.search(q), index, top_k)
        rows.append([*abstain.features(s), float(abstain.nothing_in_common(s))])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(abstain.FEATURES) + 1)


def threshold(fitted: float, confidences: np.ndarray, quantile: float | None) -> float:
    """The index's threshold: the fitted one, or the probes' `quantile`-th confidence when higher."""
    if quantile is None or not len(confidences):
        return fitted
    return max(fitted, float(np.quantile(confidences, quantile)))


def threshold_of(model, rows: np.ndarray) -> float:
    """The threshold `model` (abstain.Calibration) gives an index whose probes' signals are `rows` (`signals`)."""
    return raised(model, model.confidences(rows[:, :-1], rows[:, -1] > 0))


def raised(model, confidences: np.ndarray) -> float:
    """The threshold `model` gives an index whose probes score `confidences` (in `questions()` order):
    `threshold`; and, for a model with a wide one that reads the absent-thing probes, at least as far
    up the wide model's ramp (abstain.wide_weight) as they put the index (abstain.absent_weight)."""
    t = threshold(model.threshold, confidences, model.probe_quantile)
    wide, level = model.wide, absent_level(confidences)
    if wide is None or wide.absent_full is None or level is None:
        return t
    from qa.answering import abstain

    share = abstain.absent_weight(wide.absent_full, level)
    return max(t, model.threshold + share * (wide.full_at - model.threshold))


@functools.cache
def _code() -> bytes:
    """A digest of the code the probes' signals come from (retrieval, the signals, the text they
    read): a threshold kept by an older version of it is asked again, not read back."""
    root = Path(__file__).resolve().parent.parent
    files = sorted(f for sub in ("answering", "search", "indexing") for f in (root / sub).glob("*.py"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in [*files, root / "text.py"])).digest()


def remembered(version: str, calibration: Path, cache_dir: Path, compute: Callable[[], float]) -> float:
    """`compute()` for index `version` under `calibration`, kept on disk in `cache_dir` (version ids are
    unique: a timestamp and random digits). An index never saved (no version) is not kept; a cache that
    cannot be read or written is recomputed, never an error."""
    if not version or not version.replace("-", "").replace("_", "").isalnum():
        return compute()  # never saved, or an id that is not a plain folder name: nothing kept
    digest = hashlib.sha256(Path(calibration).read_bytes() + PROBES_FILE.read_bytes() + _code()).hexdigest()[:16]
    path = Path(cache_dir) / "thresholds" / f"{version}-{digest}.json"
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"threshold": value}), encoding="utf-8")
        tmp.replace(path)
        kept = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    return value
