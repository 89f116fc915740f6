"""Local transformers generation: the offline backend of `curate generate --backend local` and
`evaluate run --model PATH`.

Contract
- `LocalGenerator(model, gguf_file=, adapter=, device=, dtype=, batch_size=)` loads a causal LM
  and its tokenizer once. `model` is a Hugging Face model directory or hub id, a `.gguf` file
  path, or "tiny" (the bundled SmolLM2-135M-Instruct GGUF of `curate.assets`). `adapter` is a
  peft LoRA directory applied on top and merged into the weights.
- `generate(messages_list, max_new_tokens=, temperature=, top_p=, seed=)` renders each chat
  through the tokenizer's chat template (a tokenizer without one gets the messages' contents
  joined by blank lines), sorts the prompts by token length, and runs them in chunks of
  `batch_size` with left padding and the KV cache. It returns one `LocalCompletion` per input,
  in input order.
- `engine="continuous"` hands all prompts of a `generate` call to transformers' continuous
  batching (`generate_batch`: paged attention, a finished row's slot goes to the next prompt, no
  padding) instead of the padded chunks; at temperature 0 it gives the same texts (tested on the
  tiny model). It is opt-in: on the CPU it ran 2.7x slower than the chunks (docs/BENCHMARKS.md).
  `continuous_batching_available()` says whether the installed transformers has it.
- Deterministic given the seed and the same inputs: chunk i samples under `seed + i`.
  Temperature 0 is greedy decoding. A different batch size or a different set of prompts
  changes the padding and the chunking, so the samples differ (as with any batched sampler).

Caveats: `latency_s` is the wall time of the chunk a completion was generated in (all rows of a
chunk finish together). `completion_tokens` counts the generated tokens up to and including
the end-of-sequence token; `finish_reason` is "stop" when that token was produced and "length"
when `max_new_tokens` ran out first. Nothing here touches the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

TINY = "tiny"


@dataclass(frozen=True)
class LocalCompletion:
    text: str
    finish_reason: str  # "stop" | "length"
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _resolve_dtype(dtype: torch.dtype | str | None, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype != "auto":
        return getattr(torch, dtype)
    # bf16 on GPUs; CPU matmuls in bf16 are slower than fp32 on most machines.
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def _model_location(model: str | Path, gguf_file: str | None) -> tuple[str, str | None]:
    """(directory or hub id, gguf file name or None) for from_pretrained."""
    if str(model) == TINY:
        from curate.assets import tiny_model_gguf

        path = tiny_model_gguf()
        return str(path.parent), path.name
    path = Path(model)
    if gguf_file is None and path.suffix == ".gguf":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such GGUF file")
        return str(path.parent), path.name
    return str(model), gguf_file


ENGINES = ("batched", "continuous")


def continuous_batching_available() -> bool:
    from transformers import GenerationMixin

    return hasattr(GenerationMixin, "generate_batch")


class LocalGenerator:
    """A causal LM loaded once, generating batched chat completions."""

    def __init__(
        self,
        model: str | Path,
        *,
        gguf_file: str | None = None,
        adapter: str | Path | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | str | None = None,
        batch_size: int = 16,
        engine: str = "batched",
    ):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
        if engine == "continuous" and not continuous_batching_available():
            import transformers

            raise ValueError(f"transformers {transformers.__version__} has no continuous batching (generate_batch)")
        self.batch_size = batch_size
        self.engine = engine
        self.device = torch.device(device) if device is not None else _default_device()
        self.dtype = _resolve_dtype(dtype, self.device)
        location, gguf_name = _model_location(model, gguf_file)
        self.name = str(model)
        extra = {"gguf_file": gguf_name} if gguf_name else {}
        self.tokenizer = AutoTokenizer.from_pretrained(location, **extra)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        # Weights load straight onto the GPU: no CPU copy of a 7B model first.
        placement = {"device_map": {"": self.device}} if self.device.type != "cpu" else {}
        network = AutoModelForCausalLM.from_pretrained(location, dtype=self.dtype, **extra, **placement)
        if adapter is not None:
            from peft import PeftModel

            # Merged LoRA weights generate at the base model's speed.
            network = PeftModel.from_pretrained(network, str(adapter)).merge_and_unload()
        self.model = network.to(self.device).eval()
        self.eos_token_ids = self._eos_ids()

    @classmethod
    def tiny(cls, **kw) -> "LocalGenerator":
        """The bundled SmolLM2-135M-Instruct (GGUF), for offline runs and tests."""
        return cls(TINY, **kw)

    def _eos_ids(self) -> list[int]:
        configured = self.model.generation_config.eos_token_id
        ids = configured if isinstance(configured, list) else [configured]
        ids = [i for i in ids if i is not None]
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    def render(self, messages: list[dict]) -> str:
        """The prompt text of one chat, as the model sees it."""
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(m["content"] for m in messages) + "\n\n"

    def prompt_token_ids(self, messages_list: list[list[dict]]) -> list[list[int]]:
        # The rendered template already holds the special tokens it needs.
        return [
            self.tokenizer(self.render(messages), add_special_tokens=False)["input_ids"] for messages in messages_list
        ]

    @torch.inference_mode()
    def generate(
        self,
        messages_list: list[list[dict]],
        *,
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        seed: int,
    ) -> list[LocalCompletion]:
        """One completion per chat, in input order."""
        if max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        prompts = self.prompt_token_ids(messages_list)
        if self.engine == "continuous":
            return self._generate_continuous(prompts, max_new_tokens, temperature, top_p, seed)
        # Longest first: similar lengths share a chunk (less padding) and memory peaks at once.
        order = sorted(range(len(prompts)), key=lambda i: (-len(prompts[i]), i))
        results: list[LocalCompletion | None] = [None] * len(prompts)
        for chunk_index, start in enumerate(range(0, len(order), self.batch_size)):
            rows = order[start : start + self.batch_size]
            chunk = self._generate_chunk(
                [prompts[i] for i in rows],
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                top_p=top_p,
                seed=seed + chunk_index,
            )
            for row, completion in zip(rows, chunk):
                results[row] = completion
        return results  # type: ignore[return-value]

    def _generate_continuous(
        self, prompts: list[list[int]], max_new_tokens: int, temperature: float, top_p: float, seed: int
    ) -> list[LocalCompletion]:
        from transformers import GenerationConfig

        started = time.perf_counter()
        torch.manual_seed(seed)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {}
        generation = GenerationConfig(
            max_new_tokens=max_new_tokens,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            do_sample=temperature > 0,
            **sampling,
        )
        outputs = list(self.model.generate_batch(prompts, generation_config=generation, progress_bar=False).values())
        latency = time.perf_counter() - started
        if len(outputs) != len(prompts) or any(o.error for o in outputs):
            failed = next((o.error for o in outputs if o.error), "missing results")
            raise RuntimeError(f"continuous batching failed: {failed}")
        completions = []
        for prompt, output in zip(prompts, outputs):  # results come back in request order (req_0, req_1, ...)
            tokens = list(output.generated_tokens)
            stop_at = next((i for i, t in enumerate(tokens) if t in self.eos_token_ids), None)
            kept = tokens if stop_at is None else tokens[:stop_at]
            completions.append(
                LocalCompletion(
                    text=self.tokenizer.decode(kept, skip_special_tokens=True),
                    finish_reason="length" if stop_at is None else "stop",
                    prompt_tokens=len(prompt),
                    completion_tokens=len(kept) + (0 if stop_at is None else 1),
                    latency_s=latency,
                )
            )
        return completions

    def _generate_chunk(
        self, prompts: list[list[int]], *, max_new_tokens: int, temperature: float, top_p: float, seed: int
    ) -> list[LocalCompletion]:
        started = time.perf_counter()
        batch = self.tokenizer.pad({"input_ids": prompts}, padding=True, return_tensors="pt").to(self.device)
        torch.manual_seed(seed)
        sampling = (
            {"do_sample": True, "temperature": temperature, "top_p": top_p}
            if temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        output = self.model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.eos_token_ids,
            use_cache=True,
            **sampling,
        )
        latency = time.perf_counter() - started
        generated = output[:, batch["input_ids"].shape[1] :].tolist()
        completions = []
        for prompt, tokens in zip(prompts, generated):
            stop_at = next((i for i, t in enumerate(tokens) if t in self.eos_token_ids), None)
            kept = tokens if stop_at is None else tokens[:stop_at]
            completions.append(
                LocalCompletion(
                    text=self.tokenizer.decode(kept, skip_special_tokens=True),
                    finish_reason="length" if stop_at is None else "stop",
                    prompt_tokens=len(prompt),
                    completion_tokens=len(kept) + (0 if stop_at is None else 1),
                    latency_s=latency,
                )
            )
        return completions
