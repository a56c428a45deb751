#!/usr/bin/env bash
# The main job in one command: set up, then start the chat UI on the bundled report
# (the first run prepares the model and builds index/ from data/, with progress shown).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/qa serve "$@"
