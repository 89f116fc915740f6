"""`evaluate report` and `evaluate compare` on eval runs written straight into a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from db import open_store
from eval.report import build_report, compare_runs


def add_run(
    store,
    run_id: str,
    outcomes: dict[str, list[bool]],
    *,
    label: str,
    group: str | None = None,
    seed: int = 0,
    level: int | None = None,
    budget: int | None = None,
    words: int = 100,
    problems: str = "test",
) -> None:
    store.insert_rows(
        "eval_runs",
        [
            {
                "eval_run_id": run_id,
                "model": "m",
                "backend": "openai",
                "problems": problems,
                "samples": 4,
                "seed": seed,
                "length_level": level,
                "word_budget": budget,
                "run_group": group or run_id,
                "label": label,
                "status": "ok",
            }
        ],
    )
    rows = []
    for problem_id, row in outcomes.items():
        for index, correct in enumerate(row):
            rows.append(
                {
                    "eval_run_id": run_id,
                    "problem_id": problem_id,
                    "sample_index": index,
                    "correct": correct,
                    "verdict": "correct" if correct else "incorrect",
                    "answer_key": "right" if correct else "wrong",
                    "words": words,
                    "length_tokens": 2 * words,
                }
            )
    store.insert_rows("eval_samples", rows)


@pytest.fixture
def filled_store(db_path: Path) -> Path:
    with open_store(db_path) as store:
        store.insert_rows(
            "problems",
            [
                {
                    "problem_id": f"t:{p}",
                    "source": "t",
                    "question": p,
                    "gold_answer": "1",
                    "question_hash": p,
                    "section": section,
                    "year": year,
                }
                for p, section, year in [("a", "speed", 2019), ("b", "individual", 2019), ("c", "individual", 2020)]
            ],
        )
        # base: 2/4, 0/4, 0/4 -> 1/6; student seeds: 7/12 and 9/12 -> mean 2/3, std sqrt(2)/12
        add_run(
            store, "base", {"t:a": [True, False, True, False], "t:b": [False] * 4, "t:c": [False] * 4}, label="base"
        )
        add_run(
            store,
            "stu/seed-0",
            {"t:a": [True] * 4, "t:b": [True, True, False, False], "t:c": [True, False, False, False]},
            label="student",
            group="stu",
        )
        add_run(
            store,
            "stu/seed-1",
            {"t:a": [True] * 4, "t:b": [True, True, True, False], "t:c": [True, True, False, False]},
            label="student",
            group="stu",
            seed=1,
        )
        add_run(
            store,
            "len/len-1",
            {"t:a": [True] * 4, "t:b": [True] * 4, "t:c": [False] * 4},
            label="student",
            group="len",
            level=1,
            budget=400,
            words=220,
        )
        add_run(
            store,
            "len/len-2",
            {"t:a": [True] * 4, "t:b": [False] * 4, "t:c": [False] * 4},
            label="student",
            group="len",
            level=2,
            budget=30,
            words=31,
        )
        store.insert_rows(
            "train_metrics",
            [
                {"train_run_id": "tr", "step": step, "split": split, "loss": loss}
                for step, split, loss in [(10, "train", 2.0), (20, "train", 1.5), (20, "val", 1.7), (40, "val", 1.9)]
            ],
        )
    return db_path


def test_report_tables(filled_store: Path, tmp_path: Path) -> None:
    report = build_report(filled_store, None, tmp_path / "out")
    text = report.markdown
    # the case study's table: base one run (SE shown), student two seeds (std across them)
    assert "| base | 16.67 ± 16.67 SE |" in text
    assert f"| student | 66.67 ± {100 * 2**0.5 / 12:.2f} (2 runs) |" in text
    # per section: speed is problem a only; student runs 4/4 both -> 100, base 2/4 -> 50
    assert "| speed | 50.00 | 100.00 |" in text
    # per year: 2020 is problem c: base 0, student 1/4 and 2/4 -> 37.5
    assert "| 2020 | 0.00 | 37.50 |" in text
    # the length study
    assert "| student | R1 | 400 | 66.67 | 1 | 220.0 | 440.0 |" in text
    assert "| student | R2 | 30 | 33.33 | 1 | 31.0 | 62.0 |" in text
    # per section and level: individual is b and c: R1 (1 + 0) / 2, R2 0
    assert "| student | individual | 50.00 | 0.00 |" in text
    assert "| student | speed | 100.00 | 100.00 |" in text
    names = sorted(p.name for p in report.files)
    assert names == ["accuracy.png", "length_study.png", "report.md", "train_loss.png"]
    assert (tmp_path / "out" / "report.md").read_text() == text
    for path in report.files:
        assert path.stat().st_size > 1000


def test_report_command_selects_by_label_and_group(filled_store: Path, evaluate) -> None:
    code, out, err = evaluate("report", "student")
    assert code == 0, err
    assert "| base |" not in out and "stu/seed-1" in out and "R2" in out
    code, out, _err = evaluate("report", "stu")
    assert "len/len-1" not in out
    code, _out, err = evaluate("report", "nobody")
    assert code == 2 and "nobody" in err


def test_compare_pools_seeds_and_tests_the_difference(filled_store: Path, evaluate) -> None:
    result = compare_runs(filled_store, "stu", "base", resamples=2000)
    # student shares per problem pooled over both seeds: a 8/8, b 5/8, c 3/8; base: 2/4, 0, 0
    assert result.problems == 3
    assert result.pass_at_1_a == pytest.approx((1 + 5 / 8 + 3 / 8) / 3)
    assert result.difference.difference == pytest.approx((0.5 + 5 / 8 + 3 / 8) / 3)
    assert result.difference.low > 0
    # solved (more than half right): student a, b; base none -> 2 discordant, exact p = 2 * 1/4
    assert (result.mcnemar.only_a, result.mcnemar.only_b) == (2, 0)
    assert result.mcnemar.p_value == pytest.approx(0.5)
    code, out, err = evaluate("compare", "stu", "base")
    assert code == 0, err
    assert "| difference A - B (points) | +50.00 |" in out
    assert "McNemar p-value | 0.5 (exact binomial)" in out


def test_smoothed_loss_ends_at_the_real_loss_and_follows_a_steady_fall():
    # Before, an exponential average of a 16-step run falling from 3.0 to 0.5 ended near 1.1.
    from eval.report import smooth

    falling = [3.0 - 2.5 * step / 15 for step in range(16)]
    smoothed = smooth(falling)
    assert smoothed[-1] == falling[-1] and smoothed[0] == falling[0]
    assert max(abs(a - b) for a, b in zip(smoothed, falling)) < 1e-9
    noisy = [1.0, 3.0] * 20
    inner = smooth(noisy)[5:-5]
    assert max(inner) - min(inner) < 1.0  # the noise is averaged away inside
