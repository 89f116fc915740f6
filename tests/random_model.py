"""A tiny randomly initialised Llama with the bundled model's real tokenizer, saved as a Hugging
Face directory: fast enough for the default test run, real enough to exercise loading, chat
templates, batching, padding and LoRA adapters. Its text is gibberish by design."""

from __future__ import annotations

from pathlib import Path


def build_random_model(directory: Path, gguf_path: Path, *, seed: int = 0) -> Path:
    """Write a 1-layer, 32-wide Llama plus the GGUF tokenizer to `directory`; returns it."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_random_adapter(directory: Path, model_dir: Path, *, seed: int = 1) -> Path:
    """A LoRA adapter on the random model with non-zero weights, so it changes the outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    config = LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(directory)
    return directory
