"""`curate decontam` and `curate dedup` against the public evaluation sets."""

from __future__ import annotations

import json

import pytest

from curate.cli import main
from curate.decontam import DecontamConfig, DedupConfig, find_matches, run as decontaminate, run_dedup, read_benchmark
from db import BadInput, open_store
from tests.curate.curation_store import add_problems, add_samples, trace
from tests.conftest import WORKSPACE_DATA

MATH500_FIRST = (
    "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.  Enter your answer in the "
    "form $(r,\\theta),$ where $r > 0$ and $0 \\le \\theta < 2 \\pi.$"
)


@pytest.fixture
def math500(shared_data):
    return shared_data / "simpleRL-reason" / "math500" / "test.jsonl"


def _candidates(store):
    add_problems(
        store,
        [
            # verbatim copy of MATH-500's first problem, with different spacing and case
            {"problem_id": "copy", "question": "  " + MATH500_FIRST.upper().replace("  ", " ") + "\n"},
            # MATH-500's isosceles-triangle problem with another number: most 8-grams shared
            {
                "problem_id": "variant",
                "question": "In a certain isosceles right triangle, the altitude to the hypotenuse "
                "has length $6$.  What is the area of the triangle?",
            },
            # shares only the boilerplate "express your answer as a common fraction" with many MATH-500 items
            {
                "problem_id": "boilerplate",
                "question": "What is $0.8\\overline{4}-0.\\overline{4}$? Express your answer as a common fraction.",
            },
            # one letter changed: fuzzy ratio above 95
            {"problem_id": "typo", "question": MATH500_FIRST.replace("polar", "polat")},
            {"problem_id": "clean", "question": "How many positive divisors does 2024 have?"},
        ],
    )


def test_copies_variants_and_typos_match_but_boilerplate_does_not(db_path, math500):
    store = open_store(db_path)
    _candidates(store)
    result = decontaminate(store, DecontamConfig(against=(math500,)))
    matches = {(r["problem_id"], r["method"]): r for r in result.matches.iter_rows(named=True)}
    assert matches[("copy", "exact")]["matched_item"] == "test/precalculus/807.json"
    assert ("copy", "ngram") not in matches  # an exact match is recorded once
    assert matches[("variant", "ngram")]["matched_item"] == "test/prealgebra/1640.json"
    assert 0.3 < matches[("variant", "ngram")]["overlap"] < 1.0
    assert ("typo", "fuzzy") in matches and matches[("typo", "fuzzy")]["overlap"] >= 0.95
    contaminated = set(store.query("SELECT DISTINCT problem_id FROM contamination")["problem_id"].to_list())
    assert contaminated == {"copy", "variant", "typo"}
    store.close()


def test_any_shared_ngram_rule_would_flag_boilerplate(db_path, math500):
    store = open_store(db_path)
    _candidates(store)
    problems = store.query("SELECT problem_id, question FROM problems WHERE problem_id = 'boilerplate'")
    loose = find_matches(problems, read_benchmark(math500), n=8, min_share=0.01, fuzzy=95)
    assert loose.height > 0  # open-r1's any-8-gram rule fires here; the default share does not
    store.close()


def test_qwq_prompts_match_after_the_instruction_is_removed(db_path, shared_data):
    first = json.loads((shared_data / "Qwen2.5-Math" / "aime24" / "test.jsonl").read_text().splitlines()[0])
    store = open_store(db_path)
    add_problems(store, [{"problem_id": "aime", "question": first["problem"]}])
    result = decontaminate(
        store,
        DecontamConfig(
            against=(
                shared_data / "QwQ" / "aime24.jsonl",
                shared_data / "Qwen2.5-Math" / "olympiadbench" / "test.jsonl",
            )
        ),
    )
    assert result.matches.filter(problem_id="aime")["method"].to_list() == ["exact"]
    assert result.matches["benchmark"].to_list() == ["QwQ/aime24.jsonl"]
    store.close()


def test_eval_set_ingested_as_split_test_is_matched_and_not_checked_itself(db_path, math500):
    store = open_store(db_path)
    _candidates(store)
    items = [json.loads(line) for line in math500.read_text().splitlines()[:5]]
    add_problems(
        store, [{"problem_id": f"math500:{i['unique_id']}", "question": i["problem"], "split": "test"} for i in items]
    )
    result = decontaminate(store, DecontamConfig(against_split="test"))
    assert set(result.matches["problem_id"].to_list()) == {"copy", "typo"}
    assert set(result.matches["benchmark"].to_list()) == {"split:test"}
    assert result.checked == 5
    store.close()


def test_decontam_command_reports_each_match_and_reruns_replace(db_path, math500, capsys):
    with open_store(db_path) as store:
        _candidates(store)
    counts = []
    for _ in range(2):
        with pytest.raises(SystemExit) as stop:
            main(["decontam", "--against", str(math500), "--db", str(db_path)])
        assert stop.value.code == 0
        with open_store(db_path) as store:
            counts.append(store.scalar("SELECT count(*) FROM contamination"))
    out = capsys.readouterr().out
    assert "3 of 5 problems match" in out and "test/precalculus/807.json" in out and "variant" in out
    assert counts[0] == counts[1] >= 3


def test_benchmark_without_a_question_field_exits_2_naming_the_line(db_path, tmp_path, capsys):
    bad = tmp_path / "bench.jsonl"
    bad.write_text('{"problem": "fine"}\n{"answer": "no question here"}\n')
    with pytest.raises(SystemExit) as stop:
        main(["decontam", "--against", str(bad), "--db", str(db_path)])
    assert stop.value.code == 2
    assert "bench.jsonl:2" in capsys.readouterr().err
    with pytest.raises(BadInput, match="--against"):
        decontaminate(open_store(db_path), DecontamConfig())


SHARED = WORKSPACE_DATA


def test_humaneval_mbpp_and_spider_files_as_shipped_find_their_own_problems(db_path, tmp_path, capsys):
    # The stored code and SQL questions wrap the source's text in instructions and a schema.
    files = {name: SHARED / name for name in ("code/humaneval.jsonl", "code/mbpp.jsonl", "sql/spider_dev_public.json")}
    if not all(path.exists() for path in files.values()):
        pytest.skip(f"{SHARED} (code and sql sets) not present")
    for name, path in files.items():
        if name.endswith(".jsonl"):
            rows = path.read_text(encoding="utf-8").splitlines()[:2]
            (tmp_path / path.name).write_text("\n".join(rows) + "\n", encoding="utf-8")
            extra = []
        else:
            (tmp_path / path.name).write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))[:2]))
            extra = ["--databases", str(SHARED / "sql" / "database")]
        with pytest.raises(SystemExit) as stop:
            main(
                ["ingest", str(tmp_path / path.name), "--split", "train", "--source", path.stem, "--db", str(db_path)]
                + extra
            )
        assert stop.value.code == 0
    with pytest.raises(SystemExit) as stop:
        main(["decontam", *(arg for path in files.values() for arg in ("--against", str(path))), "--db", str(db_path)])
    assert stop.value.code == 0, capsys.readouterr().err
    with open_store(db_path, read_only=True) as store:
        matched = store.query("SELECT problem_id, method, matched_item FROM contamination ORDER BY ALL").rows()
        domains = store.query("SELECT DISTINCT domain FROM problems ORDER BY 1")["domain"].to_list()
    assert domains == ["code", "sql"] and len(matched) == 6
    assert {method for _, method, _ in matched} == {"exact"}
    assert ("humaneval:HumanEval/0", "exact", "line 1") in matched and ("mbpp:Mbpp/3", "exact", "line 2") in matched
    with open_store(db_path) as store:  # a split of the store compares the same texts
        store.execute("UPDATE problems SET split = 'test' WHERE problem_id LIKE '%spider%'")
        result = decontaminate(store, DecontamConfig(against_split="test"))
    assert result.checked == 4 and result.matches.height == 0  # the code problems are no Spider questions


def test_dedup_marks_exact_and_near_duplicates_and_keeps_the_problem_with_gold(db_path, capsys):
    store = open_store(db_path)
    add_problems(
        store,
        [
            {"problem_id": "a", "question": "Find the sum of all primes below 20.", "gold_answer": None},
            {"problem_id": "b", "question": "find the SUM of all primes   below 20.", "gold_answer": "77"},
            {"problem_id": "c", "question": "Find the sum of all primes below 20 .", "gold_answer": None},
            {"problem_id": "d", "question": "Find the product of all primes below 20.", "gold_answer": None},
            {"problem_id": "t", "question": "Find the sum of all primes below 20.", "split": "test"},
        ],
    )
    add_samples(store, [{"sample_id": "s", "problem_id": "a", **trace("2+3+5+7+11+13+17+19", "77")}])
    result = run_dedup(store, DedupConfig())
    rows = {r["problem_id"]: r for r in result.duplicates.iter_rows(named=True)}
    assert set(rows) == {"a", "c"}
    assert rows["a"]["duplicate_of"] == "b" and rows["a"]["method"] == "exact"
    assert rows["c"]["duplicate_of"] == "b" and rows["c"]["method"] == "fuzzy" and rows["c"]["similarity"] >= 95
    store.close()
    with pytest.raises(SystemExit) as stop:
        main(["dedup", "--db", str(db_path)])
    assert stop.value.code == 0
    assert "2 duplicates among 4 problems" in capsys.readouterr().out


def test_near_pairs_by_length_window_equal_all_pairs():
    import random

    import numpy as np
    from rapidfuzz import fuzz, process

    from curate.decontam import near_pairs

    rng = random.Random(3)
    words = ["the", "of", "x", "find", "integer", "\\frac{1}{2}", "prime", "such", "that", "n", "=", "+"]
    base = ["".join(rng.choices("abcdefgh ", k=rng.randint(20, 400))) for _ in range(200)]
    base += [" ".join(rng.choices(words, k=rng.randint(3, 80))) for _ in range(200)]
    base += ["".join(rng.choices("ab", k=rng.randint(0, 8))) for _ in range(40)]  # short: no q-gram bound
    base += ["a" * rng.randint(1, 60) for _ in range(20)]  # one q-gram repeated

    def edit(text: str) -> str:
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(["z", "", "qq"]) + text[at + 1 :]
        return text

    texts = base + [edit(t) for t in base[::2]]  # near copies: inserts, deletes, replacements anywhere
    for fuzzy in (95.0, 90.0, 80.0, 60.0):
        scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=fuzzy, dtype=np.float32)
        brute = {frozenset((int(a), int(b))) for a, b in zip(*np.nonzero(scores)) if a != b}
        found = {frozenset(pair) for pair in near_pairs(texts, fuzzy, block=37) if pair[0] != pair[1]}
        assert found == brute and len(brute) >= 100


def _edited(rng, text: str, vocabulary: list[str]) -> str:
    """A near copy the way collections repeat a problem: one word replaced, a word dropped, two
    words swapped, or one to five character typos."""
    words = text.split(" ")
    kind = rng.choice(["word", "drop", "swap", "typos"])
    if kind == "word":
        words[rng.randrange(len(words))] = rng.choice(vocabulary)
    elif kind == "drop" and len(words) > 3:
        del words[rng.randrange(len(words))]
    elif kind == "swap" and len(words) > 3:
        at = rng.randrange(len(words) - 1)
        words[at], words[at + 1] = words[at + 1], words[at]
    text = " ".join(words)
    if kind == "typos":
        for _ in range(rng.randint(1, 5)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(["x", "", "e ", "1"]) + text[at + 1 :]
    return text


def _all_pairs(texts: list[str], fuzzy: float) -> set[frozenset[int]]:
    import numpy as np
    from rapidfuzz import fuzz, process

    found = set()
    for start in range(0, len(texts), 1000):
        scores = process.cdist(texts[start : start + 1000], texts, scorer=fuzz.ratio, score_cutoff=fuzzy, workers=2)
        found |= {frozenset((start + int(a), int(b))) for a, b in zip(*np.nonzero(scores)) if start + a != b}
    return found


def test_near_pairs_by_minhash_equal_all_pairs_on_edited_math500(math500):
    import random

    from curate.decontam import near_pairs, normalise

    rng = random.Random(5)
    questions = [json.loads(line)["problem"] for line in math500.read_text().splitlines()]
    vocabulary = [word for question in questions for word in question.split()]
    copies = [_edited(rng, question, vocabulary) for question in rng.sample(questions, 400)]
    texts = list(dict.fromkeys(normalise(q) for q in questions + copies))  # distinct, as dedup passes them
    assert sum(len(text) < 50 for text in texts) >= 10  # some take the exact short-text path
    for fuzzy in (95.0, 90.0, 80.0):
        brute = _all_pairs(texts, fuzzy)
        found = {frozenset(pair) for pair in near_pairs(texts, fuzzy, exact_below=0)}
        assert found == brute and len(brute) >= 300


@pytest.mark.slow
def test_dedup_command_above_the_exact_size_marks_every_near_copy(db_path, shared_data, capsys):
    import random

    from curate.decontam import EXACT_BELOW, normalise

    rng = random.Random(8)
    questions = []
    for name, field in [
        ("simpleRL-reason/math500/test.jsonl", "problem"),
        ("grade-school-math/test.jsonl", "question"),
        ("Qwen2.5-Math/olympiadbench/test.jsonl", "question"),
        ("Qwen2.5-Math/minerva_math/test.jsonl", "problem"),
    ]:
        questions += [json.loads(line)[field] for line in (shared_data / name).read_text().splitlines()]
    vocabulary = [word for question in questions for word in question.split()]
    questions += [_edited(rng, q, vocabulary) for q in rng.choices(questions, k=EXACT_BELOW + 300 - len(questions))]
    questions += [q.upper() for q in questions[:50]]  # exact duplicates after normalisation
    rows = [{"problem_id": f"q{i:05d}", "question": q, "gold_answer": None} for i, q in enumerate(questions)]
    add_problems(open_store(db_path), rows)
    # what every pair compared gives: all problems in a group but its first (by id) are duplicates
    texts = [normalise(q) for q in questions]
    first_of = {}
    parent = [first_of.setdefault(text, i) for i, text in enumerate(texts)]
    distinct = sorted(set(parent))
    for pair in _all_pairs([texts[i] for i in distinct], 95.0):
        a, b = sorted(distinct[i] for i in pair)
        while parent[a] != a:
            a = parent[a]
        while parent[b] != b:
            b = parent[b]
        parent[max(a, b)] = min(a, b)
    expected = {f"q{i:05d}" for i in range(len(texts)) if parent[i] != i}
    with pytest.raises(SystemExit) as stop:
        main(["dedup", "--db", str(db_path)])
    assert stop.value.code == 0
    assert f"{len(expected)} duplicates among {len(questions)} problems" in capsys.readouterr().out
    marked = open_store(db_path).query("SELECT problem_id, method, similarity FROM problem_duplicates")
    assert set(marked["problem_id"].to_list()) == expected and len(expected) > 2000
    assert marked.filter(marked["method"] == "exact").height >= 50


def test_near_pairs_by_minhash_takes_short_texts_no_texts_and_lone_surrogates():
    from curate.decontam import near_pairs

    long = "a question long enough for minhash, with a lone surrogate \ud800 read from json"
    assert sorted(map(sorted, near_pairs(["ab", "abc", "x" * 10, "x" * 11], 90.0, exact_below=0))) == [[2, 3], [2, 3]]
    assert near_pairs(
        [long, long + "!", "an unrelated question of quite some length, about primes"], 90.0, exact_below=0
    ) == [(0, 1)]
    assert near_pairs([], 90.0, exact_below=0) == []
