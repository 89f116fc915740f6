"""Answer first: the final answer and every boxed answer marked in the trace, a key to jump to
the final answer, the verifier's reason and differing boxed answers in the side panel, empty
reasoning on one line, and the LaTeX -> Unicode toggle (raw by default)."""

from __future__ import annotations

from db import open_store
from curate.review.trace_view import TraceView
from tests.curate.review.builder import build_store
from tests.curate.review.conftest import make_app, press, settle


def trace_of(app) -> TraceView:
    return app.screen.query_one("#trace", TraceView)


async def test_boxed_answers_are_marked_and_the_answer_key_jumps_to_the_final_one(tmp_path, config):
    db = build_store(tmp_path / "long.duckdb", 1, 2, paragraphs=120)
    with open_store(db) as store:
        store.execute(
            "UPDATE samples SET reasoning = '\\boxed{7} early guess' || chr(10) || reasoning WHERE sample_id = 's00000-1'"
        )
    app = make_app(db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        trace = trace_of(app)
        boxes = [trace.text[a:b] for a, b in zip(*trace._marks["boxed"])]
        assert boxes == ["\\boxed{7}", "\\boxed{3}"]
        (start,), (end,) = trace._marks["answer"]
        assert trace.text[start:end] == "\\boxed{3}" and start > trace.bodies[1][0]  # in the final content
        assert trace.scroll_y == 0
        await press(pilot, "=")
        assert trace.scroll_y > 0 and trace.scroll_y <= trace.row_of(start) < trace.scroll_y + trace.size.height


async def test_side_panel_shows_the_verifiers_reason_and_flags_different_boxed_answers(review_db, config):
    with open_store(review_db) as store:
        store.execute("UPDATE samples SET content = 'first \\boxed{4}, no: \\boxed{5}' WHERE sample_id = 's00000-0'")
    app = make_app(review_db, config, queue="all")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "j", "j", "j")
        assert app.current_id == "s00000-0"
        details = str(app.screen.query_one("#details").render())
        assert "Verdict incorrect" in details and "Why     not equal" in details
        assert "Boxed   2 different: 4 · 5" in details


async def test_empty_reasoning_is_one_line(review_db, config):
    with open_store(review_db) as store:
        store.execute("UPDATE samples SET reasoning = '' WHERE sample_id = 's00000-1'")
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert trace_of(app).text.startswith("── reasoning: empty ──\n\n── final content")


async def test_the_unicode_toggle_converts_latex_and_raw_is_the_default(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        trace = trace_of(app)
        assert "\\dfrac{6}{2}" in trace.text and "$\\boxed{3}$" in trace.text
        await press(pilot, "m")
        assert "\\dfrac" not in trace.text and "6/2" in trace.text and "x₁" in trace.text
        (start,), (end,) = trace._marks["answer"]
        assert trace.text[start:end] == "⟦3⟧"
        await press(pilot, "j")  # the next sample is shown converted too
        assert "\\frac" not in trace_of(app).text
        await press(pilot, "m")
        assert "\\dfrac{" in trace_of(app).text
