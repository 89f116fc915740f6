#!/usr/bin/env bash
# The GPU check of `train sft`, one script, at most 7 minutes (300 s + 100 s of timeouts plus imports) on one H200 or H100.
#
# 1. bench/gpu_train.py: `train sft` itself (train.sft.train_sft), one run per setting: LoRA r=16
#    (all linear) on a Qwen2.5-7B-shaped model, random bf16 weights, R1-like trace lengths packed
#    into 8,192-token rows; time to first step, real tokens/s after it and peak memory per variant
#    (varlen + compiled layers = the default, varlen = PyTorch's bundled FlashAttention-2,
#    sdpa + block mask, flex_attention).
# 2. The reference baseline beside it: bench/ext/gpu_anchor.py (a copy of ../shared/bench/gpu_anchor.py,
#    which takes environment variables, not flags): PACKED_ONLY=1 NO_CKPT=1 times its ideal packed
#    stream of 8,192-token rows without checkpointing (ANCHORS.md: 9,100 tok/s on an H200) and skips
#    its padded and generate parts; its 16,384-token row after that may run out of memory on purpose.
#
# `bash bench/gpu_train.sh --tiny` checks the script on a CPU (2-layer model, few steps).
#
# Needs on the machine: python3 with torch (CUDA), transformers >= 5, peft >= 0.15 and this project's
# dependencies (bash scripts/setup.sh installs them; bench/gpu_check.sh is the whole-path check). Output: a table on stdout; logs and JSON under $OUT (default /tmp).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
python3 - <<'PY'
import torch, transformers, peft
print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
      f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'NO CUDA'}")
PY
SHAPE=(--steps 8 --variants varlen+compile,varlen,sdpa,flex)
ANCHOR_ENV=()
if [ "${1:-}" = "--tiny" ]; then
    SHAPE=(--tiny --steps 3 --variants varlen,sdpa)
    ANCHOR_ENV=(TINY=1)
fi
echo "== train sft GPU path (bench/gpu_train.py) =="
timeout 300 python3 bench/gpu_train.py --rows 8192 "${SHAPE[@]}" --json "$OUT/gpu_train.json" 2>&1 \
    | grep --line-buffered -v -i "warn" | tee "$OUT/gpu_train.log"
if [ -f bench/ext/gpu_anchor.py ]; then
    echo "== baseline: gpu_anchor.py, packed 8k rows, no checkpointing =="
    env "${ANCHOR_ENV[@]}" OUT="$OUT" PACKED_ONLY=1 NO_CKPT=1 timeout 100 python3 bench/ext/gpu_anchor.py 2>&1 \
        | grep --line-buffered -E "^\{" | tee "$OUT/anchor.log"
else
    echo "bench/ext/gpu_anchor.py missing: copy ../shared/bench/gpu_anchor.py there first"
fi
