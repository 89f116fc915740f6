"""Helpers for the score/select/decontam/export tests: write problems, samples, verdicts and
review events straight into a store (the way the stages write them), and build small
Hugging Face tokenizers with a chosen chat template."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from db.store import Store

QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# The stock DeepSeek-R1-Distill behaviour: assistant turns lose everything up to </think>.
R1_DISTILL_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}<|User|>{{ message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "<|Assistant|>{{ content }}<|end_of_sentence|>{% endif %}{% endfor %}"
)
NO_END_TEMPLATE = "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"


def question_hash(question: str) -> str:
    return hashlib.sha256(" ".join(question.lower().split()).encode()).hexdigest()[:16]


def add_problems(store: Store, rows: list[dict]) -> None:
    """rows: problem_id, question, gold_answer (None allowed), optional source/split."""
    frame = pl.DataFrame(
        [
            {
                "problem_id": r["problem_id"],
                "source": r.get("source", "test-set"),
                "source_id": r["problem_id"],
                "question": r["question"],
                "gold_answer": r.get("gold_answer"),
                "split": r.get("split", "train"),
                "question_hash": question_hash(r["question"]),
            }
            for r in rows
        ],
        schema={
            "problem_id": pl.String,
            "source": pl.String,
            "source_id": pl.String,
            "question": pl.String,
            "gold_answer": pl.String,
            "split": pl.String,
            "question_hash": pl.String,
        },
    )
    store.insert_frame("problems", frame)


def add_samples(store: Store, rows: list[dict]) -> None:
    """rows: sample_id, problem_id, reasoning, content, optional status/model/sample_index."""
    frame = pl.DataFrame(
        [
            {
                "sample_id": r["sample_id"],
                "problem_id": r["problem_id"],
                "model": r.get("model", "teacher"),
                "params_hash": "p",
                "sample_index": r.get("sample_index", i),
                "reasoning": r.get("reasoning"),
                "content": r.get("content"),
                "status": r.get("status", "ok"),
            }
            for i, r in enumerate(rows)
        ],
        schema={
            "sample_id": pl.String,
            "problem_id": pl.String,
            "model": pl.String,
            "params_hash": pl.String,
            "sample_index": pl.Int32,
            "reasoning": pl.String,
            "content": pl.String,
            "status": pl.String,
        },
    )
    store.insert_frame("samples", frame)


def add_verdicts(store: Store, rows: list[tuple[str, str | None, str]]) -> None:
    """rows: (sample_id, extracted answer, verdict)."""
    frame = pl.DataFrame(
        [{"sample_id": s, "verifier": "sympy/1", "answer": a, "verdict": v} for s, a, v in rows],
        schema={"sample_id": pl.String, "verifier": pl.String, "answer": pl.String, "verdict": pl.String},
    )
    store.insert_frame("verdicts", frame)


def add_review(store: Store, sample_id: str, decision: str, corrected_answer: str | None = None) -> None:
    store.execute(
        "INSERT INTO review_events (sample_id, reviewer, decision, corrected_answer) VALUES (?, 'tester', ?, ?)",
        [sample_id, decision, corrected_answer],
    )


def trace(steps: str, answer: str) -> dict:
    """An R1-shaped sample body: reasoning, then a short final solution with one boxed answer."""
    return {"reasoning": steps, "content": f"So the answer is $\\boxed{{{answer}}}$."}


def build_tokenizer(path: Path, chat_template: str, end_token: str = "<|im_end|>") -> Path:
    """A small fast tokenizer (word-level, every word one token) with the given chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    specials = ["<|im_start|>", "<|im_end|>", "<|User|>", "<|Assistant|>", "<|end_of_sentence|>"]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="[UNK]",
        eos_token=end_token,
        additional_special_tokens=[t for t in specials if t != end_token],
    )
    tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(str(path))
    return path


SCORE_DEFAULTS = {
    "length_tokens": 1000,
    "length_words": 700,
    "tokenizer": "test",
    "think_closed": True,
    "boxed_count": 1,
    "repetition_ratio": 0.0,
    "language_mix_ratio": 0.0,
    "cluster": 1,
    "cluster_answer": None,
    "agreement": 1.0,
    "is_majority": True,
    "pseudo_label": False,
    "correct": True,
    "answer": None,
}


def add_scores(store: Store, rows: list[dict]) -> None:
    """Score rows as `curate score` writes them: defaults above, overridden per row (sample_id, problem_id)."""
    frame = pl.DataFrame(
        [{**SCORE_DEFAULTS, **row} for row in rows],
        schema={
            "sample_id": pl.String,
            "problem_id": pl.String,
            "length_tokens": pl.Int32,
            "length_words": pl.Int32,
            "tokenizer": pl.String,
            "think_closed": pl.Boolean,
            "boxed_count": pl.Int32,
            "repetition_ratio": pl.Float64,
            "language_mix_ratio": pl.Float64,
            "cluster": pl.Int32,
            "cluster_answer": pl.String,
            "agreement": pl.Float64,
            "is_majority": pl.Boolean,
            "pseudo_label": pl.Boolean,
            "correct": pl.Boolean,
            "answer": pl.String,
        },
    )
    store.insert_frame("scores", frame)


def add_problem_scores(store: Store, rows: list[dict]) -> None:
    """rows: problem_id plus any problem_scores column (defaults: 4 samples, all agreeing, gold)."""
    defaults = {
        "n_samples": 4,
        "n_answered": 4,
        "n_clusters": 1,
        "majority_answer": None,
        "agreement": 1.0,
        "runner_up": 0.0,
        "has_gold": True,
        "n_correct": 4,
        "pass_rate": 1.0,
        "pseudo_label": False,
        "difficulty": 0.0,
    }
    store.insert_rows("problem_scores", [{**defaults, **row} for row in rows])


def add_step_checks(
    store: Store, sample_id: str, claims: list[tuple[str, str, bool]], checker: str = "steps/1"
) -> None:
    """Step checks of one sample as `curate verify --steps` stores them, for its current content:
    claims are (claim text, status, retracted), found in the sample's text (full_response)."""
    from curate.traces import full_response

    reasoning, content, content_hash = store.execute(
        "SELECT reasoning, content, content_hash FROM samples WHERE sample_id = ?", [sample_id]
    ).fetchone()
    text = full_response(reasoning, content)
    store.execute(
        "INSERT INTO step_check_samples (sample_id, checker, content_hash, claims) VALUES (?, ?, ?, ?)",
        [sample_id, checker, content_hash, len(claims)],
    )
    for index, (claim, status, retracted) in enumerate(claims):
        start = text.index(claim)
        store.execute(
            "INSERT INTO step_checks (sample_id, checker, claim_index, claim_start, claim_end, claim, status, "
            "retracted, reason, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                sample_id,
                checker,
                index,
                start,
                start + len(claim),
                claim,
                status,
                retracted,
                f"{status} claim",
                content_hash,
            ],
        )
