#!/usr/bin/env bash
# Every test in one command: set up (including chromium for the browser tests), then run the
# whole suite, slow tests (real model, real index, real browser) included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_OFFLINE=1 QA_PROGRESS=0
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -m "slow or not slow" --timeout=900 "$@"
