"""The public API: check, check_many, extract_answer, equivalent, canonical_key, check_form."""

from __future__ import annotations

import time

from curate.verify import (
    VERIFIER_VERSION,
    Verdict,
    canonical_key,
    check,
    check_form,
    check_many,
    equivalent,
    extract_answer,
)
from curate.verify.equivalence import Outcome
from curate.verify.workers import WorkerPool


def test_check_reports_answer_source_reason_and_form():
    verdict = check("<think>try 6/8</think>So the answer is $\\boxed{\\frac{6}{8}}$.", "0.75")
    assert isinstance(verdict, Verdict)
    assert (verdict.verdict, verdict.answer, verdict.answer_source) == ("correct", "\\frac{6}{8}", "boxed")
    assert verdict.form_ok is False and "lowest terms" in verdict.form_reason
    assert VERIFIER_VERSION == "sympy/5"


def test_strict_form_turns_an_unsimplified_correct_answer_into_incorrect():
    verdict = check("\\boxed{\\sqrt{8}}", "2\\sqrt{2}", strict_form=True)
    assert verdict.verdict == "incorrect" and "not simplified" in verdict.reason
    assert check("\\boxed{2\\sqrt{2}}", "2\\sqrt{2}", strict_form=True).verdict == "correct"


def test_strict_form_rejects_a_decimal_approximation():
    assert check("\\boxed{0.667}", "\\frac23").verdict == "correct"
    assert check("\\boxed{0.667}", "\\frac23", strict_form=True).verdict == "incorrect"


def test_check_many_keeps_order_and_shares_repeated_pairs():
    pairs = [("\\boxed{2}", "2"), ("\\boxed{x+1}", "1+x"), ("nothing", "3"), ("\\boxed{2}", "2"), ("\\boxed{3}", "2")]
    verdicts = check_many(pairs, workers=2)
    assert [v.verdict for v in verdicts] == ["correct", "correct", "no_answer", "correct", "incorrect"]


def test_extract_answer_returns_answer_and_source():
    assert extract_answer("The final answer is $12$.") == ("12", "final_answer_phrase")
    assert extract_answer("<think>\\boxed{3}") == (None, None)


def test_equivalent_and_canonical_key_for_clustering():
    assert equivalent("x^2+2x+1", "(x+1)^2")
    assert not equivalent("\\frac{1}{2004!}", "\\frac{1}{2006!}")
    assert canonical_key("\\frac{6}{8}") == canonical_key("0.75") == canonical_key("3/4")
    assert canonical_key("10,080") == canonical_key("10080")
    assert canonical_key("\\{2, 1\\}") == canonical_key("1, 2")
    assert canonical_key("\\sqrt{2}") is None  # needs SymPy
    assert canonical_key("25\\%") is None  # two readings


def test_check_form_not_applicable_to_text_and_choice():
    assert check_form("\\text{Evelyn}")[0] is None
    assert check_form("(C)")[0] is None
    assert check_form(None) == (None, None)
    assert check_form("\\frac{9}{5}") == (True, None)


def test_a_1mb_response_and_hostile_answers_return_unparseable():
    big = "x " * 500_000 + "\\boxed{" + "(" * 300 + "1" + ")" * 300 + "}"
    assert check(big, "1").verdict == "unparseable"
    assert check("\\boxed{10^{10^{10^{10}}}}", "1").verdict == "unparseable"
    assert check("\\boxed{1000000!}", "1").verdict == "unparseable"


def _never_returns(gold: str, answer: str) -> Outcome:
    while True:
        time.sleep(1)


def _echo(gold: str, answer: str) -> Outcome:
    return Outcome("correct" if gold == answer else "incorrect", "echo")


def test_a_hung_comparison_is_killed_and_the_worker_replaced():
    with WorkerPool(1, timeout=0.3, compare=_never_returns) as pool:
        results = pool.run([("1", "1"), ("2", "2")])
        assert [outcome for outcome, _ in results] == [None, None]
        first_pid = pool._workers[0].process.pid
        pool.compare = _echo
        pool._workers[0] = pool._replace(pool._workers[0])
        assert pool._workers[0].process.pid != first_pid
        ((outcome, _),) = pool.run([("3", "3")])
        assert outcome.status == "correct"


def test_timeout_verdict_names_the_limit():
    from curate.verify.checker import Verifier

    with Verifier(workers=1, timeout=0.3) as verifier:
        verifier._pool_for().compare = _never_returns
        (verdict,) = verifier.verdicts([("\\boxed{x+1}", "1+x")])
    assert verdict.verdict == "timeout" and "0.3 s" in verdict.reason


def test_workers_die_with_their_parent_even_mid_comparison(tmp_path):
    """kill -9 of the process that owns the pool: its worker (stuck in a comparison) must go too."""
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "owner.py"
    script.write_text(
        "import sys, time\n"
        "from curate.verify.workers import WorkerPool\n"
        "from tests.curate.verify.test_api import _never_returns\n"
        "pool = WorkerPool(2, timeout=600, compare=_never_returns)\n"
        "pool._ensure_started()\n"
        "print(' '.join(str(w.process.pid) for w in pool._workers), flush=True)\n"
        "pool.run([('1', '1'), ('2', '2')])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    pids = [int(p) for p in owner.stdout.readline().split()]
    time.sleep(0.5)  # both workers are now inside the comparison
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)  # clean up before failing
    assert alive == []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def _allocates(gold: str, answer: str) -> Outcome:
    block = bytearray(64 * 1024**2)  # an ordinary comparison's worth of memory, and some
    return Outcome("correct" if block and gold == answer else "incorrect", "allocated")


def test_the_memory_limit_counts_from_what_the_parent_already_maps():
    """A parent with a large address space (torch and a model loaded in the same process) forks
    workers that start above 4 GiB; the limit must leave each of them room to compare."""
    import mmap

    reserved = mmap.mmap(-1, 5 * 1024**3)  # 5 GiB of address space, never touched
    try:
        with WorkerPool(1, timeout=30, compare=_allocates) as pool:
            ((outcome, _),) = pool.run([("1", "1")])
    finally:
        reserved.close()
    assert outcome is not None and outcome.status == "correct", outcome
