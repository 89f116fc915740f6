"""The `train` command: a thin Typer layer over train.sft and train.merge.

`train sft` trains LoRA adapters on an export (results on stdout, progress on stderr, rows in
train_runs / train_metrics); `train merge` folds an adapter into its base model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from db.console import DbOption, ExitCodeGroup, run_app

app = typer.Typer(
    cls=ExitCodeGroup,
    name="train",
    help="LoRA SFT of the student on an export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """LoRA SFT of the student on an export."""


def _opt(flag: str, help: str, *aliases: str):
    return typer.Option(None, flag, *aliases, help=help, show_default=False)


@app.command()
def sft(
    data: Path = typer.Option(
        ..., "--data", help="Export: JSONL/parquet with messages + split, or a folder with train.jsonl and val.jsonl."
    ),
    model: str = typer.Option(
        ..., "--model", help="Base model folder, hub id, .gguf file, or 'tiny' (bundled SmolLM2-135M GGUF)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output folder: adapter/, best/, checkpoint/ (seed-S/ each with --runs > 1)."
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", help="TOML file with any of the settings below (\\[sft] table or top level); flags win."
    ),
    db: Optional[Path] = DbOption,
    gguf_file: Optional[str] = typer.Option(None, "--gguf-file", help="GGUF file name inside the --model folder."),
    runs: int = typer.Option(1, "--runs", help="Train this many seeds (seed, seed+1, ...) and report mean and spread."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUT/checkpoint when one is there."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
    lora_rank: Optional[int] = _opt("--lora-rank", "LoRA rank [16]."),
    lora_alpha: Optional[float] = _opt("--lora-alpha", "LoRA alpha [32]."),
    lora_dropout: Optional[float] = _opt("--lora-dropout", "LoRA dropout [0]."),
    target_modules: Optional[str] = _opt(
        "--target-modules", "Comma-separated module names (default: all linear projections q,k,v,o,gate,up,down)."
    ),
    learning_rate: Optional[float] = _opt("--lr", "Peak learning rate [1e-4].", "--learning-rate"),
    warmup_ratio: Optional[float] = _opt(
        "--warmup-ratio", "Share of steps of linear warmup before the cosine decay [0.03]."
    ),
    min_lr_ratio: Optional[float] = _opt("--min-lr-ratio", "Cosine floor as a share of the peak [0]."),
    weight_decay: Optional[float] = _opt("--weight-decay", "AdamW weight decay [0]."),
    epochs: Optional[float] = _opt("--epochs", "Epochs over the packed train rows [3]."),
    max_steps: Optional[int] = _opt("--max-steps", "Optimizer steps; overrides --epochs."),
    tokens_per_batch: Optional[int] = _opt("--tokens-per-batch", "Capacity of a packed row, one micro-batch [8192]."),
    seq_len: Optional[int] = _opt(
        "--seq-len", "Longest example kept, in tokens [16384]; longer ones follow --overlong."
    ),
    overlong: Optional[str] = _opt(
        "--overlong", "drop (default) or truncate examples longer than --seq-len; counted either way."
    ),
    grad_accum: Optional[int] = _opt("--grad-accum", "Rows per optimizer step and process [1]."),
    max_grad_norm: Optional[float] = _opt("--max-grad-norm", "Gradient clipping norm [1.0]."),
    seed: Optional[int] = _opt("--seed", "Seed of the first run [0]."),
    precision: Optional[str] = _opt("--precision", "auto (bf16 on GPU, fp32 on CPU), bf16 or fp32."),
    grad_ckpt: Optional[str] = _opt(
        "--grad-ckpt", "Gradient checkpointing: on, off, auto (rows longer than --tokens-per-batch only)."
    ),
    attention: Optional[str] = _opt(
        "--attention",
        "auto (GPU: varlen, or sdpa when torch's flash kernel changed; CPU: sdpa), sdpa, eager, flex_attention, "
        "flash_attention_2 (needs flash-attn) or varlen.",
    ),
    compile: Optional[str] = _opt("--compile", "torch.compile each decoder layer: on, off, auto (on for CUDA)."),
    loss_chunk_tokens: Optional[int] = _opt(
        "--loss-chunk-tokens", "Tokens per chunk of the vocabulary projection in the loss [2048]."
    ),
    parallel: Optional[str] = _opt(
        "--parallel",
        "Under torchrun: ddp (a whole model per GPU, the default) or fsdp (decoder layers sharded over the GPUs, "
        "for students that do not fit one card).",
    ),
    fused_kernels: Optional[str] = _opt(
        "--fused-kernels",
        "Liger-Kernel fused RMSNorm, SwiGLU, RoPE and linear cross-entropy: auto (on with CUDA when "
        "`pip install trace-distill[gpu]` put them there), on or off.",
    ),
    memory_gb: Optional[float] = _opt(
        "--memory-gb",
        "GPU memory to plan for, in GiB (default: the card's; 0 skips the check). Refuses a plan that does not fit.",
    ),
    eval_every: Optional[int] = _opt("--eval-every", "Validation loss every N steps [50]."),
    patience: Optional[int] = _opt("--patience", "Stop after N evaluations without improvement [3]."),
    min_delta: Optional[float] = _opt("--min-delta", "Smallest val-loss drop that counts as improvement [0]."),
    save_every: Optional[int] = _opt("--save-every", "Checkpoint every N steps (and at every evaluation) [50]."),
) -> None:
    """LoRA SFT on an export: loss on assistant tokens only, packed rows, early stopping on val loss."""
    from train.sft import load_config, print_results, train_sft

    settings = load_config(
        config,
        lora_rank=lora_rank,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=target_modules,
        learning_rate=learning_rate,
        warmup_ratio=warmup_ratio,
        min_lr_ratio=min_lr_ratio,
        weight_decay=weight_decay,
        epochs=epochs,
        max_steps=max_steps,
        tokens_per_batch=tokens_per_batch,
        seq_len=seq_len,
        overlong=overlong,
        grad_accum=grad_accum,
        max_grad_norm=max_grad_norm,
        seed=seed,
        precision=precision,
        grad_ckpt=grad_ckpt,
        attention=attention,
        compile=compile,
        loss_chunk_tokens=loss_chunk_tokens,
        parallel=parallel,
        fused_kernels=fused_kernels,
        memory_gb=memory_gb,
        eval_every=eval_every,
        patience=patience,
        min_delta=min_delta,
        save_every=save_every,
    )
    results = train_sft(
        data, model, out, settings, db=db, gguf_file=gguf_file, runs=runs, resume=resume, progress=progress
    )
    print_results(results)


@app.command()
def merge(
    adapter: Path = typer.Option(..., "--adapter", help="Adapter folder written by `train sft` (OUT/adapter)."),
    out: Path = typer.Option(..., "--out", help="Folder for the merged model (safetensors + config + tokenizer)."),
    dtype: str = typer.Option("auto", "--dtype", help="auto (the base checkpoint's), bf16 or fp32."),
    base: Optional[str] = typer.Option(
        None, "--base", help="Base model folder or id, when not the one the adapter names."
    ),
) -> None:
    """Fold a LoRA adapter into its base model: a plain transformers model (and vLLM-servable)."""
    from db.console import stdout
    from train.merge import merge_adapter

    stdout.print(str(merge_adapter(adapter, out, dtype, base)), highlight=False)


def main(argv: list[str] | None = None) -> None:
    run_app(app, argv)


if __name__ == "__main__":
    main()
