"""LoRA SFT of the student on an export: the training loop.

Contract
- `train_sft(data, model, out, config, db=...)` reads an export (train.data.read_export),
  renders and masks it through the student's chat template, packs it (train.pack), trains LoRA
  adapters with AdamW, a linear warmup then cosine decay, gradient accumulation and clipping, and
  writes under `out`:
    adapter/      the adapter to use (the best one by validation loss when there is a val split)
    best/         the best adapter so far;   checkpoint/  the state a killed run resumes from
  With `runs=K` it trains K seeds (seed, seed+1, ...) under out/seed-S/ and reports mean and spread.
- Validation loss (token-weighted mean over the val split) every `eval_every` steps and at the
  end; after `patience` evaluations without improvement the run stops early and the best adapter
  stands. A rerun with the same `out` continues from the last checkpoint (config must match).
- Several processes: run under `torchrun` / `accelerate launch`; each rank trains on its share of
  every step's rows (gloo on CPU, nccl on GPU); rank 0 alone writes files and the store.
  `parallel="ddp"` keeps a whole model per rank (gradients all-reduced); `parallel="fsdp"` shards
  every decoder layer's weights and adapters over the ranks (FSDP2 `fully_shard`; embeddings and
  the output layer, frozen, stay whole), for students that do not fit one card. Both give the
  losses of one process with the same rows per step; checkpoints hold whole tensors either way.
- Tables: one `runs` row (kind "train") per command, one `train_runs` row per seed, and
  `train_metrics` rows (train loss per step, val loss per evaluation), flushed at every
  evaluation and checkpoint in short write transactions, so the store is not held for the run.
- Before any model loads: `--db` must name an existing store (exit 2 otherwise, like every command
  that reads one), and on a GPU (or with `--memory-gb`) the memory plan of train.plan must fit the
  card (exit 2 naming what to lower).
- Speed settings: `resolve_speed` turns the auto settings into what the run uses on its device
  (precision, attention, compile, checkpointing); train_runs records them beside what was measured
  (time to the first step, tokens/s after it, peak memory, dynamo graphs compiled).
  bench/gpu_train.py and bench/gpu_check.sh measure through `train_sft` itself.
- Command: `train sft --data EXPORT --model PATH_OR_ID --out DIR [--config train.toml] [...]`.

Caveats: bf16 on GPU and fp32 on CPU by default (`precision`). The loss of a step is the mean over
its labelled tokens on all ranks; a row is one micro-batch (no padding between examples).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import statistics
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from db.config_file import config_values, read_toml
from db.errors import BadInput, is_interrupt
from db.store import recorded_run, refuse_missing_store
from train.data import read_export, render_all
from train.model import (
    ALL_LINEAR,
    ATTENTION,
    PackedLoss,
    attach_lora,
    enable_checkpointing,
    load_model,
    load_tokenizer,
    resolve_model,
    set_row_checkpointing,
    apply_fused_kernels,
    fused_kernels_installed,
    varlen_kernel_problem,
)
from train.pack import PackedRow, pack_rows, shuffled
from train.plan import GIB, check_memory, largest_fitting_row, plan_memory

MODEL_FILE = "train_model.json"  # beside every saved adapter: which base model (and GGUF file) it belongs to

STORE_WAIT_S = 30.0  # a short write waits this long for another writer (the review app) to finish


@dataclass(frozen=True)
class SFTConfig:
    """Every knob of a run; `train sft` flags and the TOML file (`[sft]` table or top level) set them."""

    lora_rank: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = ALL_LINEAR
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03  # share of the steps spent warming up linearly from 0
    min_lr_ratio: float = 0.0  # cosine decays to learning_rate * min_lr_ratio
    epochs: float = 3.0
    max_steps: int | None = None  # overrides epochs when set
    tokens_per_batch: int = 8192  # capacity of one packed row (one micro-batch)
    seq_len: int = 16384  # longest example kept; longer ones follow `overlong`
    grad_accum: int = 1  # micro-batches (rows) per optimizer step and process
    max_grad_norm: float = 1.0
    seed: int = 0
    precision: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) / bf16 / fp32
    grad_ckpt: str = "auto"  # on / off / auto (only rows longer than tokens_per_batch)
    attention: str = "auto"  # auto (GPU: varlen, or sdpa when its kernel is missing; CPU: sdpa) / sdpa / eager / flex_attention / flash_attention_2 / varlen
    compile: str = "auto"  # on / off / auto (on for CUDA): torch.compile each decoder layer
    loss_chunk_tokens: int = 2048
    parallel: str = "ddp"  # ddp / fsdp: how several processes (torchrun) share the model
    fused_kernels: str = "auto"  # auto (on with CUDA when the gpu extra is installed) / on / off: Liger-Kernel
    memory_gb: float | None = None  # plan against this much GPU memory (default: the card's; 0: no check)
    overlong: str = "drop"  # drop / truncate
    eval_every: int = 50
    patience: int = 3  # evaluations without improvement before stopping
    min_delta: float = 0.0
    save_every: int = 50

    def __post_init__(self) -> None:
        checks = [
            (self.lora_rank > 0, "lora_rank", "must be positive"),
            (self.learning_rate > 0, "learning_rate", "must be positive"),
            (self.tokens_per_batch > 1 and self.seq_len > 1, "tokens_per_batch", "rows need at least 2 tokens"),
            (self.grad_accum >= 1, "grad_accum", "must be at least 1"),
            (self.epochs > 0 or (self.max_steps or 0) > 0, "epochs", "must be positive (or set max_steps)"),
            (self.precision in ("auto", "bf16", "fp32"), "precision", "auto, bf16 or fp32"),
            (self.grad_ckpt in ("auto", "on", "off"), "grad_ckpt", "auto, on or off"),
            (
                self.attention == "auto" or self.attention in ATTENTION,
                "attention",
                "auto or one of " + ", ".join(ATTENTION),
            ),
            (self.overlong in ("drop", "truncate"), "overlong", "drop or truncate"),
            (self.compile in ("auto", "on", "off"), "compile", "auto, on or off"),
            (self.fused_kernels in ("auto", "on", "off"), "fused_kernels", "auto, on or off"),
            (self.parallel in ("ddp", "fsdp"), "parallel", "ddp or fsdp"),
            (self.eval_every >= 1 and self.save_every >= 1, "eval_every", "must be at least 1"),
            (0 <= self.warmup_ratio < 1, "warmup_ratio", "must be in [0, 1)"),
            (self.loss_chunk_tokens >= 1, "loss_chunk_tokens", "must be at least 1"),
            (self.memory_gb is None or self.memory_gb >= 0, "memory_gb", "must be >= 0 (0: no check)"),
        ]
        for ok, name, message in checks:
            if not ok:
                raise BadInput(message, field=name)


def load_config(path: str | Path | None = None, **overrides: Any) -> SFTConfig:
    """An SFTConfig from a TOML file (if any) with non-None `overrides` on top."""
    values: dict[str, Any] = {}
    if path is not None:
        table = read_toml(path, field="--config")
        values = config_values(table.get("sft", table), SFTConfig, file=str(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "target_modules" in values:
        targets = values["target_modules"]
        values["target_modules"] = tuple(targets.split(",") if isinstance(targets, str) else targets)
    return SFTConfig(**values)


@dataclass
class SeedResult:
    """One seed's training run (a train_runs row); `train sft` prints one line per seed."""

    seed: int
    out_dir: Path
    train_run_id: str
    status: str  # ok / early_stopped
    steps: int
    best_step: int | None
    best_val_loss: float | None
    final_train_loss: float | None
    tokens_seen: int
    counts: dict = field(default_factory=dict)


# ---- processes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> Dist:
    """Join the process group when launched by torchrun/accelerate (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, device)


def _all_sum(value: torch.Tensor, env: Dist) -> torch.Tensor:
    if env.world > 1:
        dist.all_reduce(value)
    return value


# ---- the schedule -----------------------------------------------------------------------------


def lr_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Multiplier of the peak learning rate at optimizer step `step` (0-based): warmup, then cosine."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


# ---- the public entry point -------------------------------------------------------------------


def train_sft(
    data: str | Path,
    model: str,
    out: str | Path,
    config: SFTConfig | None = None,
    *,
    db: str | Path | None = None,
    gguf_file: str | None = None,
    runs: int = 1,
    resume: bool = True,
    progress: bool = True,
) -> list[SeedResult]:
    """Train `runs` seeds; returns one result per seed (on rank 0; other ranks get an empty list)."""
    config = config or SFTConfig()
    if runs < 1:
        raise BadInput("must be at least 1", field="--runs")
    refuse_missing_store(db)  # a training run is recorded in an existing store, never a new empty one
    env = setup_distributed()
    out = Path(out)
    split = read_export(data)
    if not split["train"]:
        raise BadInput("no training examples (split 'train')", file=str(data), field="split")
    model_path, gguf = resolve_model(model, gguf_file)
    tokenizer = load_tokenizer(model_path, gguf)
    rendered = {
        name: render_all(tokenizer, conversations, config.seq_len, config.overlong)
        for name, conversations in split.items()
    }
    counts = {
        f"{name}_{key}": value
        for name, report in rendered.items()
        for key, value in (
            ("examples", len(split[name])),
            ("kept", len(report.examples)),
            ("overlong", report.overlong),
            ("dropped", report.dropped),
            ("truncated", report.truncated),
            ("longest_tokens", report.longest),
        )
    }
    if env.main and (progress or any(counts[f"{name}_overlong"] for name in rendered)):
        _say_counts(counts, config)  # quiet runs still say when examples were dropped or cut
    if not rendered["train"].examples:
        raise BadInput(f"every training example is longer than seq_len={config.seq_len} tokens", field="--seq-len")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    train_rows = pack_rows(rendered["train"].examples, config.tokens_per_batch, pad_id)
    val_rows = pack_rows(rendered["val"].examples, config.tokens_per_batch, pad_id)
    counts.update(
        train_rows=len(train_rows),
        val_rows=len(val_rows),
        train_tokens=sum(r.real_tokens for r in train_rows),
        train_label_tokens=sum(r.label_tokens for r in train_rows),
    )
    meta = {"model": model, "model_path": model_path, "gguf_file": gguf}
    speed = resolve_speed(config, env.device, env.world)
    if env.main and speed.note:
        from db.console import stderr

        stderr.print(speed.note, highlight=False, soft_wrap=True)
    longest_example = max(len(e) for e in rendered["train"].examples)
    plan_peak = _check_memory_plan(config, speed, model_path, gguf, env, longest_example, progress)

    results: list[SeedResult] = []
    # Only rank 0 records; the store is opened for the bookkeeping only, never held while training.
    recording = (
        recorded_run(
            db,
            "train",
            {**asdict(config), "data": str(data), "model": model, "out": str(out), "runs": runs},
            wait_s=STORE_WAIT_S,
        )
        if env.main
        else nullcontext()
    )
    with recording as record:
        group_run_id = record.run_id if record else None
        if record:
            record.counts_of = lambda: {"runs": len(results), **summarize(results)}
        for index in range(runs):
            seed = config.seed + index
            run_out = out / f"seed-{seed}" if runs > 1 else out
            results.append(
                _train_one(
                    replace(config, seed=seed),
                    env,
                    model_path,
                    gguf,
                    meta,
                    train_rows,
                    val_rows,
                    run_out,
                    data,
                    db,
                    group_run_id,
                    counts,
                    resume,
                    progress,
                    speed,
                    plan_peak,
                )
            )
    if env.world > 1:
        dist.destroy_process_group()
    return results if env.main else []


def _say_counts(counts: dict, config: SFTConfig) -> None:
    from db.console import note, stderr

    for name in ("train", "val"):
        line = f"{name}: {counts[f'{name}_examples']} examples, {counts[f'{name}_kept']} kept"
        if counts[f"{name}_overlong"]:
            line += (
                f"; {counts[f'{name}_overlong']} longer than seq_len={config.seq_len} tokens "
                f"(longest {counts[f'{name}_longest_tokens']}): {counts[f'{name}_dropped']} dropped, "
                f"{counts[f'{name}_truncated']} truncated (--overlong {config.overlong})"
            )
        # Dropped or cut examples are always said; plain counts are a passing note.
        if counts[f"{name}_overlong"]:
            stderr.print(line, highlight=False, soft_wrap=True)
        else:
            note(line)


# ---- one seed ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Speed:
    """The speed and memory settings a run uses on its device (the auto ones resolved); train_runs columns."""

    device: str
    world_size: int
    parallel: str  # none (one process) / ddp / fsdp
    precision: str  # bf16 / fp32
    attention: str
    compiled: bool
    fused_kernels: bool
    grad_ckpt: str
    tokens_per_batch: int
    loss_chunk_tokens: int
    note: str | None = None  # why a setting differs from what auto would pick on a working install

    @property
    def dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.precision == "bf16" else torch.float32


def choose_attention(requested: str, device_type: str, varlen_problem: str | None) -> tuple[str, str | None]:
    """(attention, note): auto is varlen on CUDA (the measured path; flash_attention_2 only when asked),
    sdpa when the bundled kernel's signature changed (said in the note) and on CPU."""
    if requested == "varlen" and device_type == "cuda" and varlen_problem:
        raise BadInput(f"varlen attention cannot run: {varlen_problem}; use --attention sdpa", field="--attention")
    if requested != "auto":
        return requested, None
    if device_type != "cuda":
        return "sdpa", None
    if varlen_problem:
        return "sdpa", f"attention: sdpa with block masks, not varlen ({varlen_problem})"
    # PyTorch's bundled FlashAttention-2 kernel: 1.55x sdpa+block mask on an H200 (docs/BENCHMARKS.md).
    return "varlen", None


def choose_fused_kernels(requested: str, device_type: str, installed: bool) -> bool:
    """Liger-Kernel's fused kernels: auto uses them on CUDA when installed; on refuses where they cannot run."""
    if requested == "on" and (device_type != "cuda" or not installed):
        why = "they need a CUDA device" if device_type != "cuda" else "pip install 'trace-distill[gpu]' first"
        raise BadInput(f"fused kernels cannot run here: {why}", field="--fused-kernels")
    return requested != "off" and device_type == "cuda" and installed


def resolve_speed(config: SFTConfig, device: torch.device, world_size: int = 1) -> Speed:
    """What `config`'s auto settings mean on `device`."""
    bf16 = config.precision == "bf16" or (config.precision == "auto" and device.type == "cuda")
    problem = varlen_kernel_problem() if device.type == "cuda" else None
    attention, note = choose_attention(config.attention, device.type, problem)
    return Speed(
        device=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        world_size=world_size,
        parallel=config.parallel if world_size > 1 else "none",
        precision="bf16" if bf16 else "fp32",
        attention=attention,
        compiled=config.compile == "on" or (config.compile == "auto" and device.type == "cuda"),
        fused_kernels=choose_fused_kernels(config.fused_kernels, device.type, fused_kernels_installed()),
        grad_ckpt=config.grad_ckpt,
        tokens_per_batch=config.tokens_per_batch,
        loss_chunk_tokens=config.loss_chunk_tokens,
        note=note,
    )


def memory_plan(config: SFTConfig, speed: Speed, model_config, longest_example: int):
    """train.plan's plan for this run. An example longer than a row gets a row of its own: with
    grad_ckpt auto it runs with recompute, with off without, and with on every row recomputes."""
    longest_row = max(config.tokens_per_batch, longest_example)
    plain, recompute = {
        "on": (0, longest_row),
        "off": (longest_row, 0),
        "auto": (config.tokens_per_batch, longest_example if longest_example > config.tokens_per_batch else 0),
    }[config.grad_ckpt]
    return plan_memory(
        model_config,
        bytes_per_value=2 if speed.precision == "bf16" else 4,
        compiled=speed.compiled,
        loss_chunk_tokens=config.loss_chunk_tokens,
        lora_rank=config.lora_rank,
        targets=config.target_modules,
        row_tokens=plain,
        ckpt_row_tokens=recompute,
    )


def what_to_lower(config: SFTConfig, speed: Speed, model_config, longest_example: int, card_gib: float) -> str:
    """The largest --tokens-per-batch that fits, or --grad-ckpt on when no row size does."""
    from train.plan import HEADROOM

    def fits(tokens: int, **changes) -> bool:
        changed = replace(config, tokens_per_batch=tokens, **changes)
        return memory_plan(changed, speed, model_config, longest_example).peak_gib <= card_gib * HEADROOM

    tokens = largest_fitting_row(fits, config.tokens_per_batch)
    if tokens is not None:
        return f"lower --tokens-per-batch to {tokens}"
    if config.grad_ckpt != "on" and fits(config.tokens_per_batch, grad_ckpt="on"):
        return "use --grad-ckpt on"
    return "this model does not fit this card with LoRA in this precision; use a smaller student or more GPUs"


def _check_memory_plan(
    config: SFTConfig, speed: Speed, model_path: str, gguf: str | None, env: Dist, longest: int, progress: bool
) -> float | None:
    """The planned peak (GiB) when there is a card (or --memory-gb) to plan for; BadInput when it does not fit."""
    if config.memory_gb == 0 or (config.memory_gb is None and env.device.type != "cuda"):
        return None
    from transformers import AutoConfig

    model_config = AutoConfig.from_pretrained(model_path, **({"gguf_file": gguf} if gguf else {}))
    card_gib = config.memory_gb or torch.cuda.get_device_properties(env.device).total_memory / GIB
    plan = memory_plan(config, speed, model_config, longest)
    check_memory(plan, card_gib, lambda: what_to_lower(config, speed, model_config, longest, card_gib))
    if env.main and progress:
        from db.console import stderr

        stderr.print(f"memory plan: {plan.describe()} of {card_gib:.1f} GiB", highlight=False, soft_wrap=True)
    return plan.peak_gib


def _config_key(config: SFTConfig, data: str | Path, meta: dict) -> str:
    """What a checkpoint must match to be resumed (frequencies and patience may change)."""
    keyed = {k: v for k, v in asdict(config).items() if k not in ("eval_every", "save_every", "patience", "min_delta")}
    blob = json.dumps([keyed, str(Path(data).resolve()), meta["model"], meta["gguf_file"]], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _train_one(
    config: SFTConfig,
    env: Dist,
    model_path: str,
    gguf: str | None,
    meta: dict,
    train_rows: list[PackedRow],
    val_rows: list[PackedRow],
    out: Path,
    data: str | Path,
    db: str | Path | None,
    group_run_id: str | None,
    counts: dict,
    resume: bool,
    progress: bool,
    speed: Speed,
    plan_peak: float | None,
) -> SeedResult:
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    attention = speed.attention
    base = load_model(model_path, gguf, speed.dtype, attention, env.device)
    if speed.fused_kernels:
        apply_fused_kernels(base)
    peft_model = attach_lora(base, config.lora_rank, config.lora_alpha, config.lora_dropout, config.target_modules)
    if config.grad_ckpt != "off":
        enable_checkpointing(peft_model)
    peft_model.train()
    loss_model = PackedLoss(peft_model, attention, config.loss_chunk_tokens, fused=speed.fused_kernels)
    graphs_before = _compiled_graphs()
    layers = list(peft_model.get_base_model().model.layers)
    sharded = env.world > 1 and config.parallel == "fsdp"
    if sharded:
        from torch.distributed.fsdp import fully_shard

        for layer in layers:
            fully_shard(layer)
    if speed.compiled:
        # Per-layer compile fuses LoRA and norm kernels: +21% tokens/s on an H200 (docs/BENCHMARKS.md).
        for layer in layers:
            layer.compile()
    if env.world > 1 and not sharded:
        loss_model = torch.nn.parallel.DistributedDataParallel(
            loss_model, device_ids=[env.device.index] if env.device.type == "cuda" else None
        )
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate, weight_decay=config.weight_decay, fused=env.device.type == "cuda"
    )
    per_step = config.grad_accum * env.world
    steps_per_epoch = math.ceil(len(train_rows) / per_step)
    total = config.max_steps or max(1, math.ceil(config.epochs * steps_per_epoch))
    warmup = int(config.warmup_ratio * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup, config.min_lr_ratio))

    key = _config_key(config, data, meta)
    state = {
        "step": 0,
        "best_val": None,
        "best_step": None,
        "bad_evals": 0,
        "tokens": 0,
        "train_run_id": None,
        "last_loss": None,
        "stopped": False,
    }
    checkpoint = out / "checkpoint" / "state.pt"
    if resume and checkpoint.exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if saved["config_key"] != key:
            raise BadInput(
                "a checkpoint from a different config or data is there; use another --out or --no-resume",
                file=str(checkpoint),
                field="--out",
            )
        if sharded:
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                set_model_state_dict,
                set_optimizer_state_dict,
            )

            whole = StateDictOptions(full_state_dict=True, strict=False)
            set_model_state_dict(peft_model, saved["adapter"], options=whole)
            set_optimizer_state_dict(peft_model, optimizer, saved["optimizer"], options=whole)
        else:
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(peft_model, saved["adapter"])
            optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        random.setstate(saved["rng_python"])
        torch.set_rng_state(saved["rng_torch"])
        if env.device.type == "cuda" and saved.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(saved["rng_cuda"], env.device)
        state.update(saved["state"])
        if env.main:
            from db.console import stderr

            stderr.print(f"resuming {out} from step {state['step']} of {total}", highlight=False, soft_wrap=True)
    elif env.main and out.exists() and not resume:
        shutil.rmtree(out / "checkpoint", ignore_errors=True)
    if env.main:
        out.mkdir(parents=True, exist_ok=True)
        if state["train_run_id"] is None:
            state["train_run_id"] = f"{group_run_id or 'train'}-seed{config.seed}"
        _store_train_run(db, state["train_run_id"], group_run_id, config, data, meta, out, counts, speed, plan_peak)

    metrics: list[dict] = []
    order_cache: dict[int, list[PackedRow]] = {}

    def row_at(index: int) -> PackedRow:
        epoch, position = divmod(index, len(train_rows))
        if epoch not in order_cache:
            order_cache.clear()
            order_cache[epoch] = shuffled(train_rows, config.seed * 100_003 + epoch)
        return order_cache[epoch][position]

    def evaluate() -> float | None:
        if not val_rows:
            return None
        inner = loss_model.module if env.world > 1 and not sharded else loss_model
        peft_model.eval()
        sums = torch.zeros(2, dtype=torch.float64, device=env.device)
        with torch.no_grad():
            for row in val_rows[env.rank :: env.world]:
                loss_sum, n = inner(*_on(row, env.device))
                sums += torch.stack([loss_sum.double(), n.double()])
        peft_model.train()
        _all_sum(sums, env)
        return (sums[0] / sums[1]).item() if sums[1] > 0 else None

    def adapter_weights() -> dict:
        """The adapter's whole tensors (every rank calls it: gathering shards is collective)."""
        from peft import get_peft_model_state_dict

        weights = get_peft_model_state_dict(peft_model)
        return {k: v.full_tensor() if hasattr(v, "full_tensor") else v for k, v in weights.items()}

    def save_adapter(where: Path, weights: dict) -> None:
        tmp = where.with_name(where.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        peft_model.save_pretrained(tmp, state_dict=weights)
        (tmp / MODEL_FILE).write_text(json.dumps(meta, indent=1))
        shutil.rmtree(where, ignore_errors=True)
        tmp.rename(where)

    def checkpoint_tensors() -> tuple[dict, dict]:
        """(adapter, optimizer) state to save; under FSDP gathered whole (every rank calls it)."""
        if not sharded:
            from peft import get_peft_model_state_dict

            return get_peft_model_state_dict(peft_model), optimizer.state_dict()
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
            get_optimizer_state_dict,
        )

        whole = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=True)
        return get_model_state_dict(peft_model, options=whole), get_optimizer_state_dict(
            peft_model, optimizer, options=whole
        )

    def save_checkpoint(adapter: dict, optimizer_state: dict) -> None:
        folder = out / "checkpoint"
        tmp = out / "checkpoint.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save(
            {
                "config_key": key,
                "adapter": adapter,
                "optimizer": optimizer_state,
                "scheduler": scheduler.state_dict(),
                "rng_python": random.getstate(),
                "rng_torch": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state(env.device) if env.device.type == "cuda" else None,
                "state": dict(state),
            },
            tmp / "state.pt",
        )
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # the old checkpoint goes only once the new one is whole

    bar = _progress(env.main and progress, total, state["step"])
    started = time.perf_counter()
    if env.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(env.device)
    # The first step of a process includes compile and warm-up: timed apart from the steps after it.
    timing = {"first_step_s": None, "later_s": 0.0, "later_tokens": 0}
    try:
        while state["step"] < total and not state["stopped"]:
            step = state["step"]
            tic = time.perf_counter()
            rows = [
                row_at((step * config.grad_accum + j) * env.world + r)
                for j in range(config.grad_accum)
                for r in range(env.world)
            ]
            step_labels = sum(row.label_tokens for row in rows)
            mine = rows[env.rank :: env.world] if env.world > 1 else rows
            loss_total = torch.zeros((), dtype=torch.float64, device=env.device)
            for j, row in enumerate(mine):
                if config.grad_ckpt != "off":
                    set_row_checkpointing(peft_model, config.grad_ckpt == "on" or len(row) > config.tokens_per_batch)
                sync = env.world > 1 and j < len(mine) - 1
                with _no_gradient_sync(loss_model, layers, sharded) if sync else nullcontext():
                    loss_sum, _ = loss_model(*_on(row, env.device))
                    # Mean over the step's labelled tokens on all ranks (DDP averages gradients over ranks).
                    (loss_sum * env.world / max(1, step_labels)).backward()
                loss_total += loss_sum.detach().double()
            grad_norm = torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            lr = optimizer.param_groups[0]["lr"]  # the rate this step uses; scheduler.step() moves to the next
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            train_loss = (_all_sum(loss_total, env) / max(1, step_labels)).item()
            step_tokens = sum(row.real_tokens for row in rows)
            state["tokens"] += step_tokens
            state["step"] = step + 1
            state["last_loss"] = train_loss
            if env.device.type == "cuda":
                torch.cuda.synchronize(env.device)
            seconds = time.perf_counter() - tic
            if timing["first_step_s"] is None:
                timing["first_step_s"] = time.perf_counter() - started
            else:
                timing["later_s"] += seconds
                timing["later_tokens"] += step_tokens
            metrics.append(
                {
                    "step": state["step"],
                    "split": "train",
                    "loss": train_loss,
                    "lr": lr,
                    "grad_norm": float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm),
                    "tokens": state["tokens"],
                    "tokens_per_s": step_tokens / seconds,
                    "epoch": state["step"] * per_step / len(train_rows),
                }
            )
            last = state["step"] == total
            if state["step"] % config.eval_every == 0 or last:
                val_loss = evaluate()
                if val_loss is not None:
                    metrics.append(
                        {
                            "step": state["step"],
                            "split": "val",
                            "loss": val_loss,
                            "tokens": state["tokens"],
                            "epoch": state["step"] * per_step / len(train_rows),
                        }
                    )
                    if state["best_val"] is None or val_loss < state["best_val"] - config.min_delta:
                        state.update(best_val=val_loss, best_step=state["step"], bad_evals=0)
                        weights = adapter_weights()
                        if env.main:
                            save_adapter(out / "best", weights)
                    else:
                        state["bad_evals"] += 1
                        state["stopped"] = state["bad_evals"] >= config.patience
            if env.main:
                bar.update(state["step"], train_loss, state["tokens"] / (time.perf_counter() - started))
            if (
                state["step"] % config.save_every == 0
                or state["step"] % config.eval_every == 0
                or last
                or state["stopped"]
            ):
                saved_tensors = checkpoint_tensors()
                if env.main:
                    _store_metrics(db, state["train_run_id"], metrics)
                    metrics.clear()
                    save_checkpoint(*saved_tensors)
    except BaseException as error:
        if env.main:
            bar.close()
            _store_metrics(db, state["train_run_id"], metrics)
            status = "interrupted" if is_interrupt(error) else "failed"
            _store_train_finish(db, state, status, _measured(timing, env, graphs_before))
        raise
    final_weights = adapter_weights() if state["best_step"] is None else None
    if env.main:
        bar.close()
        if state["best_step"] is not None:
            shutil.rmtree(out / "adapter", ignore_errors=True)
            shutil.copytree(out / "best", out / "adapter")
        else:
            save_adapter(out / "adapter", final_weights)
        _store_metrics(db, state["train_run_id"], metrics)
        measured = _measured(timing, env, graphs_before)
        _store_train_finish(db, state, "early_stopped" if state["stopped"] else "ok", measured)
        if progress:
            _say_speed(measured, speed)
    if env.world > 1:
        dist.barrier()
    return SeedResult(
        config.seed,
        out,
        state["train_run_id"],
        "early_stopped" if state["stopped"] else "ok",
        state["step"],
        state["best_step"],
        state["best_val"],
        state["last_loss"],
        state["tokens"],
        counts,
    )


@contextmanager
def _no_gradient_sync(loss_model, layers: list, sharded: bool):
    """Accumulate gradients locally for this micro-batch (the step's last one syncs)."""
    if not sharded:
        with loss_model.no_sync():
            yield
        return
    for layer in layers:
        layer.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        for layer in layers:
            layer.set_requires_gradient_sync(True)


def _compiled_graphs() -> int:
    """Graphs dynamo has compiled in this process so far (each recompile adds one)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def _measured(timing: dict, env: Dist, graphs_before: int) -> dict:
    """What this process measured: time to its first step, tokens/s after it, peak memory, graphs."""
    return {
        "first_step_s": timing["first_step_s"],
        "tokens_per_s": timing["later_tokens"] / timing["later_s"] if timing["later_s"] > 0 else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated(env.device) / GIB if env.device.type == "cuda" else None,
        "compiled_graphs": _compiled_graphs() - graphs_before,
    }


def _say_speed(measured: dict, speed: Speed) -> None:
    from db.console import note

    def fmt(value, unit: str, digits: int = 1) -> str:
        return "-" if value is None else f"{value:,.{digits}f}{unit}"

    line = (
        f"speed: first step after {fmt(measured['first_step_s'], ' s')}, then "
        f"{fmt(measured['tokens_per_s'], ' tok/s', 0)}; peak {fmt(measured['peak_memory_gib'], ' GiB')}; "
        f"{speed.attention}, {speed.precision}, compile {'on' if speed.compiled else 'off'}, "
        f"fused kernels {'on' if speed.fused_kernels else 'off'}"
    )
    if speed.compiled:
        # Row shapes change between steps: graphs beyond the first few are recompiles.
        line += f", {measured['compiled_graphs']} graphs compiled"
        from torch._dynamo import config as dynamo_config

        limit = getattr(dynamo_config, "recompile_limit", None) or getattr(dynamo_config, "cache_size_limit", 8)
        if measured["compiled_graphs"] >= limit:
            line += f" (dynamo's recompile limit is {limit}: later shapes may have run uncompiled)"
    note(line)


def _on(row: PackedRow, device: torch.device) -> tuple:
    return (row.input_ids.to(device), row.labels.to(device), row.position_ids.to(device), row.doc_lens)


# ---- progress ---------------------------------------------------------------------------------


class _Bar:
    """A rich progress bar on stderr with loss, tokens/s and ETA; a no-op when disabled."""

    def __init__(self, enabled: bool, total: int, done: int):
        self.progress = None
        if not enabled:
            return
        from db.console import progress_bar

        self.progress = progress_bar("loss {task.fields[loss]}", "{task.fields[tps]} tok/s", elapsed=False, eta=True)
        self.progress.start()
        self.task = self.progress.add_task("train", total=total, completed=done, loss="-", tps="-")

    def update(self, step: int, loss: float, tokens_per_s: float) -> None:
        if self.progress:
            self.progress.update(self.task, completed=step, loss=f"{loss:.4f}", tps=f"{tokens_per_s:,.0f}")

    def close(self) -> None:
        if self.progress:
            self.progress.stop()
            self.progress = None


def _progress(enabled: bool, total: int, done: int) -> _Bar:
    return _Bar(enabled, total, done)


# ---- the store --------------------------------------------------------------------------------


def _store(db: str | Path | None):
    from db import open_store

    return open_store(db, wait_s=STORE_WAIT_S)


def _speed_columns(speed: Speed, plan_peak: float | None) -> dict:
    columns = asdict(speed)
    columns.pop("note")
    return {**columns, "planned_peak_gib": plan_peak}


def _store_train_run(
    db,
    train_run_id: str,
    group_run_id: str | None,
    config: SFTConfig,
    data,
    meta: dict,
    out: Path,
    counts: dict,
    speed: Speed,
    plan_peak: float | None,
) -> None:
    from db.store import package_versions

    settings = _speed_columns(speed, plan_peak)
    with _store(db) as store, store.transaction():
        if store.query("SELECT 1 FROM train_runs WHERE train_run_id = ?", [train_run_id]).height:
            assignments = ", ".join(f"{name} = ?" for name in settings)
            store.execute(
                f"UPDATE train_runs SET status = 'running', finished_at = NULL, run_id = ?, {assignments} "
                "WHERE train_run_id = ?",
                [group_run_id, *settings.values(), train_run_id],
            )
            return
        store.insert_rows(
            "train_runs",
            [
                {
                    "train_run_id": train_run_id,
                    "run_id": group_run_id,
                    "data_path": str(data),
                    "model": meta["model"],
                    "out_dir": str(out),
                    "seed": config.seed,
                    "config": json.dumps(asdict(config)),
                    "versions": json.dumps(package_versions()),
                    "status": "running",
                    "counts": json.dumps(counts),
                    **settings,
                }
            ],
        )


def _store_metrics(db, train_run_id: str | None, metrics: list[dict]) -> None:
    if not metrics or train_run_id is None:
        return
    import polars as pl

    frame = pl.DataFrame([{**m, "train_run_id": train_run_id} for m in metrics], infer_schema_length=None)
    with _store(db) as store, store.transaction():
        store.insert_frame("train_metrics", frame, on_conflict="replace")


def _store_train_finish(db, state: dict, status: str, measured: dict) -> None:
    if state["train_run_id"] is None:
        return
    # A resumed run that had nothing left to do keeps what the earlier process measured.
    assignments = "".join(f", {name} = coalesce(?, {name})" for name in measured)
    with _store(db) as store, store.transaction():
        store.execute(
            "UPDATE train_runs SET status = ?, best_step = ?, best_val_loss = ?, final_train_loss = ?, "
            f"tokens_seen = ?, last_step = ?, finished_at = current_timestamp{assignments} WHERE train_run_id = ?",
            [
                status,
                state["best_step"],
                state["best_val"],
                state["last_loss"],
                state["tokens"],
                state["step"],
                *measured.values(),
                state["train_run_id"],
            ],
        )


def summarize(results: list[SeedResult]) -> dict:
    """Mean and spread (sample std) of best val loss and final train loss over the seeds."""
    out: dict[str, float | None] = {}
    for name in ("best_val_loss", "final_train_loss"):
        values = [getattr(r, name) for r in results if getattr(r, name) is not None]
        out[f"{name}_mean"] = statistics.fmean(values) if values else None
        out[f"{name}_std"] = statistics.stdev(values) if len(values) > 1 else None
    return out


def print_results(results: list[SeedResult]) -> None:
    """One line per seed on stdout, plus mean and spread when there are several (no-op when empty)."""
    if not results:
        return
    from rich.table import Table

    from db.console import stdout

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    table = Table("seed", "status", "steps", "best step", "best val loss", "final train loss", "tokens", "adapter")
    for r in results:
        table.add_row(
            str(r.seed),
            r.status,
            str(r.steps),
            str(r.best_step or "-"),
            fmt(r.best_val_loss),
            fmt(r.final_train_loss),
            f"{r.tokens_seen:,}",
            str(r.out_dir / "adapter"),
        )
    stdout.print(table)
    if len(results) > 1:
        stats = summarize(results)
        stdout.print(
            f"best val loss {fmt(stats['best_val_loss_mean'])} ± {fmt(stats['best_val_loss_std'])}, "
            f"final train loss {fmt(stats['final_train_loss_mean'])} ± {fmt(stats['final_train_loss_std'])} "
            f"(mean ± std over {len(results)} seeds)",
            highlight=False,
            soft_wrap=True,
        )
