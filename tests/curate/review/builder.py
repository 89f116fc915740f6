"""Deterministic review stores for the review tests and `bench/review.py`.

Rows go in through `store.insert_frame`, the way the stages write them. Texts carry raw LaTeX
(backslashes, underscores, braces, `\\boxed{}`) so a view that mangles them shows in a snapshot.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from db import open_store

MODEL = "deepseek-r1"


def reasoning_text(problem: int, index: int, paragraphs: int = 3) -> str:
    lines = [
        f"Okay, problem {problem}: we need $\\sum_{{k=1}}^{{{problem + 2}}} k^2$ and then reduce mod 7.",
        "",
    ]
    for p in range(paragraphs):
        lines.append(
            f"Step {p + 1}: using $\\frac{{n(n+1)(2n+1)}}{{6}}$ with n = {problem + 2}, "
            f"the value is \\dfrac{{{(problem + 2) * (problem + 3)}}}{{2}} times something; "
            f"check a_{{{p}}} = x_1 * y_2 and 2^{{{p + index}}} stays under 10^{{6}}."
        )
    lines += ["", "Wait, let me double-check the last step." if index % 2 else "So the answer follows."]
    return "\n".join(lines)


def answer_for(problem: int, index: int) -> str:
    # Every third sample of a problem gets a wrong answer, so verdicts and clusters differ.
    gold = (problem * 7 + 3) % 97
    return str(gold if index % 3 else gold + 1)


def build_store(
    path: Path,
    n_problems: int = 3,
    samples_per_problem: int = 3,
    *,
    verdicts: bool = True,
    scores: bool = True,
    judge: bool = False,
    select: bool = True,
    paragraphs: int = 3,
    problem_id: str = "demo:{:05d}",
    models: tuple[str, ...] = (MODEL,),
) -> Path:
    """A store with problems, samples and (optionally) verdicts, scores, judge verdicts, selections."""
    problems = pl.DataFrame(
        {
            "problem_id": [problem_id.format(p) for p in range(n_problems)],
            "source": ["demo"] * n_problems,
            "source_id": [f"{p:05d}" for p in range(n_problems)],
            "question": [
                f"Problem {p}. Find $\\left(\\sum_{{k=1}}^{{{p + 2}}} k^2\\right) \\bmod 97$ where $x_1 \\ge 0$."
                for p in range(n_problems)
            ],
            "gold_answer": [str((p * 7 + 3) % 97) for p in range(n_problems)],
            "split": ["train"] * n_problems,
            "year": [2020 + p % 5 for p in range(n_problems)],
            "question_hash": [f"h{p}" for p in range(n_problems)],
        }
    )
    rows = [(p, i) for p in range(n_problems) for i in range(samples_per_problem)]
    samples = pl.DataFrame(
        {
            "sample_id": [f"s{p:05d}-{i}" for p, i in rows],
            "problem_id": [problem_id.format(p) for p, _ in rows],
            "model": [models[i % len(models)] for _, i in rows],
            "params_hash": ["ph"] * len(rows),
            "sample_index": [i for _, i in rows],
            "reasoning": [reasoning_text(p, i, paragraphs) for p, i in rows],
            "content": [
                f"The sum is computed above, so the answer is $\\boxed{{{answer_for(p, i)}}}$." for p, i in rows
            ],
            "finish_reason": ["stop"] * len(rows),
            "status": ["ok"] * len(rows),
            "completion_tokens": [200 + 10 * i for _, i in rows],
        }
    )
    with open_store(path) as store, store.transaction():
        store.insert_frame("problems", problems)
        store.insert_frame("samples", samples)
        if verdicts:
            store.insert_frame(
                "verdicts",
                pl.DataFrame(
                    {
                        "sample_id": samples["sample_id"],
                        "verifier": ["sympy/1"] * len(rows),
                        "answer": [answer_for(p, i) for p, i in rows],
                        "answer_source": ["boxed"] * len(rows),
                        "verdict": ["correct" if i % 3 else "incorrect" for _, i in rows],
                        "reason": ["equal" if i % 3 else "not equal" for _, i in rows],
                        "form_ok": [True] * len(rows),
                    }
                ),
            )
        if judge:
            # The judge disagrees with SymPy on the first sample of every problem.
            store.insert_frame(
                "verdicts",
                pl.DataFrame(
                    {
                        "sample_id": samples["sample_id"],
                        "verifier": ["judge:demo-judge"] * len(rows),
                        "answer": [answer_for(p, i) for p, i in rows],
                        "answer_source": ["judge"] * len(rows),
                        "verdict": ["correct" if (i % 3 or i == 0) else "incorrect" for _, i in rows],
                    }
                ),
            )
        if scores:
            store.insert_frame(
                "scores",
                pl.DataFrame(
                    {
                        "sample_id": samples["sample_id"],
                        "problem_id": samples["problem_id"],
                        "length_tokens": [200 + 10 * i for _, i in rows],
                        "length_words": [150 + 7 * i for _, i in rows],
                        "repetition_ratio": [round(0.01 * (i + 1), 3) for _, i in rows],
                        "cluster": [0 if i % 3 else 1 for _, i in rows],
                        "agreement": [round(2 / 3, 3) if i % 3 else round(1 / 3, 3) for _, i in rows],
                    }
                ),
            )
        if select:
            picked = [(p, i) for p, i in rows if i == 1]
            store.insert_frame(
                "selections",
                pl.DataFrame(
                    {
                        "selection_id": ["sel-1"] * len(picked),
                        "policy": ["shortest_correct"] * len(picked),
                        "sample_id": [f"s{p:05d}-{i}" for p, i in picked],
                        "problem_id": [problem_id.format(p) for p, _ in picked],
                        "rank": [1] * len(picked),
                    }
                ),
            )
    return path


PROGRAM = "def add(a, b):\n    return a - b\n"
QUERY = "SELECT name FROM singer WHERE age > 30 ORDER BY name;"


def build_code_and_sql_store(path: Path) -> Path:
    """A code problem (MBPP-style tests in meta) and an SQL problem (its database in meta), two
    samples each, with the verdicts the code and SQL checkers store: the program or query they
    ran as the answer, their report as the reason (none for the second samples: not found)."""
    problems = pl.DataFrame(
        {
            "problem_id": ["mbpp:00001", "spider:00001"],
            "source": ["mbpp", "spider"],
            "source_id": ["00001", "00001"],
            "question": ["Write a function add(a, b) returning a + b.", "Names of the singers older than 30."],
            "gold_answer": [None, "SELECT name FROM singer WHERE age > 30 ORDER BY name"],
            "question_hash": ["hc", "hs"],
            "domain": ["code", "sql"],
            "meta": [
                '{"test_list": ["assert add(1, 1) == 2", "assert add(2, 3) == 5", "assert add(0, 0) == 0"]}',
                '{"database": "concert_singer.sqlite"}',
            ],
        }
    )
    samples = pl.DataFrame(
        {
            "sample_id": ["c0", "c1", "q0", "q1"],
            "problem_id": ["mbpp:00001", "mbpp:00001", "spider:00001", "spider:00001"],
            "model": [MODEL] * 4,
            "params_hash": ["ph"] * 4,
            "sample_index": [0, 1, 0, 1],
            "reasoning": ["Add the two numbers.", "Hmm.", "Filter on age, sort by name.", "Hmm."],
            "content": [
                f"Here it is:\n```python\n{PROGRAM}```",
                "I am not sure.",
                f"```sql\n{QUERY}\n```",
                "I cannot tell.",
            ],
            "finish_reason": ["stop"] * 4,
            "status": ["ok"] * 4,
            "completion_tokens": [50] * 4,
        }
    )
    verdicts = pl.DataFrame(
        {
            "sample_id": ["c0", "c1", "q0", "q1"],
            "verifier": ["code/1", "code/1", "sql/1", "sql/1"],
            "answer": [PROGRAM, None, QUERY, None],
            "answer_source": ["python_block", None, "sql_block", None],
            "verdict": ["incorrect", "no_answer", "incorrect", "no_answer"],
            "reason": [
                "1/3 tests passed: AssertionError at test 2: assert add(2, 3) == 5",
                "the whole final answer (no code block)",
                "3 rows, gold has 4",
                "no SQL query in the final answer",
            ],
        }
    )
    with open_store(path) as store, store.transaction():
        store.insert_frame("problems", problems)
        store.insert_frame("samples", samples)
        store.insert_frame("verdicts", verdicts)
    return path
