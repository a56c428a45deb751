"""Evaluate the current index on a question set in-process with settings overrides: python bench/quick.py eval/dev.jsonl fusion=rrf"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from qa.config import from_env
from qa.evaluate import evaluate, format_report, read_questions
from qa.serving.service import QAService

overrides = {}
defaults = from_env()
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    overrides[k] = type(getattr(defaults, k))(v)
svc = QAService(from_env(**overrides))
print(
    format_report(
        evaluate(
            svc,
            read_questions(sys.argv[1]),
            details=os.environ.get("QUICK_DETAILS", "/tmp/quick_details.jsonl"),
            progress=False,
        )
    )
)
