"""Local generation: the padded batched loop against transformers' continuous batching.

Same prompts, same model, temperature 0, one engine after the other in one process: wall
seconds, generated tokens per second, and how many texts are identical between the two. The
prompts mix one-line answers with step-by-step ones, so rows of one padded chunk finish at
different lengths (what continuous batching is for).

Run: python bench/local_engines.py [--model tiny] [--prompts 32] [--max-tokens 160] [--batch-size 16] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def prompts(n: int) -> list[list[dict]]:
    return [
        [
            {
                "role": "user",
                "content": f"What is {a} + {3 * a}? Answer briefly."
                if a % 2
                else f"Explain step by step how to compute {a} times {a + 7}, then give the answer.",
            }
        ]
        for a in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=16, help="chunk size of the batched loop")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    from curate.local_generation import LocalGenerator

    chats = prompts(args.prompts)
    rows, texts = [], {}
    for engine in ("batched", "continuous"):
        generator = LocalGenerator(args.model, batch_size=args.batch_size, device=args.device, engine=engine)
        tic = time.perf_counter()
        out = generator.generate(chats, max_new_tokens=args.max_tokens, temperature=0.0, top_p=1.0, seed=0)
        seconds = time.perf_counter() - tic
        tokens = sum(c.completion_tokens for c in out)
        texts[engine] = [c.text for c in out]
        rows.append(
            {"engine": engine, "seconds": round(seconds, 1), "tokens": tokens, "tok_s": round(tokens / seconds, 1)}
        )
        print(json.dumps(rows[-1]), flush=True)
        del generator
    same = sum(a == b for a, b in zip(texts["batched"], texts["continuous"]))
    print(
        f"identical texts: {same} of {len(chats)}; continuous / batched time: {rows[1]['seconds'] / rows[0]['seconds']:.2f}x"
    )


if __name__ == "__main__":
    main()
