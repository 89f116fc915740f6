"""Speed figures of the review app (`curate review`), driven headless, beside named baselines.

Store: N samples (default 100,000: 10,000 problems x 10 samples, ~600-character traces with
verdicts, scores and a selection) plus one problem whose first sample carries a ~100 KB trace.
Built once under --dir and reused.

1. First screen: from starting the app to the first sample on screen (queue of N loaded, the
   sample fetched and shown). Goal: under 1 s. Beside it: the queue load alone, and the first
   frame of a Textual app that shows one line (the floor any Textual app pays).
2. Next / previous sample: key press to the next sample on screen, over --steps presses of j
   then k. Goal: under 50 ms. Baseline: the same app with prefetch off (every step opens the
   store and fetches the sample), which is what the open-per-operation design costs without it.
3. A 100 KB trace: time to show it, then --scroll-steps page-down presses, each timed. Baseline:
   Textual's own read-only TextArea (soft wrap) holding the same text, same size and keys.
4. Held key: --held `j` presses on a 33 ms clock (a terminal's key repeat, which does not wait
   for the app), from a cold cache, --holds times at different places; settle is the time from
   the last press to the first frame that shows the target sample's content (nothing of a held
   key is left to do then: its timer has fired and the target is fetched and drawn). Goal: under
   150 ms. Also printed: the time until the app is idle (the neighbours of the target prefetched
   too). Beside it: one uncached step (the no-prefetch next/previous median).
5. Idle: the app's CPU time (all threads) over --idle-s seconds with nothing pressed. Goal:
   under 2% of a core. Baseline: the one-line Textual app, idle as long.

Run: `python bench/review.py [--samples 100000] [--steps 40] [--scroll-steps 40] [--held 40]
[--holds 5] [--idle-s 30] [--dir DIR]`.
Times are wall clock from the key press (`App.simulate_key`) or the app's start to the first
composed frame that shows the new state (see `Paints`); the process's CPU time is printed beside
the first screen and the presses, as the figure a busy machine disturbs least.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.curate.review.builder

import polars as pl  # noqa: E402
from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import Static, TextArea  # noqa: E402

from db import open_store  # noqa: E402
from curate.review import app as review_app  # noqa: E402
from curate.review.config import ReviewConfig, ReviewSettings  # noqa: E402
from curate.review.data import ReviewData  # noqa: E402
from curate.review.trace_view import TraceView  # noqa: E402
from tests.curate.review.builder import build_store, reasoning_text  # noqa: E402

SIZE = (120, 40)
BIG_PROBLEM = "big:0"


def big_trace(target_bytes: int = 100_000) -> str:
    """A ~100 KB R1-style trace: many paragraphs of LaTeX-laden reasoning."""
    parts, size, i = [], 0, 0
    while size < target_bytes:
        paragraph = reasoning_text(i, i, paragraphs=2) + (" Hmm, wait." * (i % 4))
        parts.append(paragraph)
        size += len(paragraph) + 2
        i += 1
    return "\n\n".join(parts)


def prepare_store(directory: Path, samples: int) -> Path:
    path = directory / f"review-bench-{samples}.duckdb"
    if path.exists():
        return path
    per_problem = 10
    started = time.perf_counter()
    build_store(path, samples // per_problem, per_problem, judge=False)
    with open_store(path) as store, store.transaction():
        store.insert_frame(
            "problems",
            pl.DataFrame(
                {
                    "problem_id": [BIG_PROBLEM],
                    "source": ["big"],
                    "question": ["A problem with a very long trace."],
                    "gold_answer": ["42"],
                    "question_hash": ["big"],
                }
            ),
        )
        store.insert_frame(
            "samples",
            pl.DataFrame(
                {
                    "sample_id": ["big-0", "big-1"],
                    "problem_id": [BIG_PROBLEM] * 2,
                    "model": ["deepseek-r1"] * 2,
                    "params_hash": ["ph"] * 2,
                    "sample_index": [0, 1],
                    "reasoning": [big_trace(), "short"],
                    "content": ["So the answer is $\\boxed{42}$."] * 2,
                    "status": ["ok"] * 2,
                }
            ),
        )
    print(f"built {path} ({samples:,} samples) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def summary(values_s: list[float]) -> str:
    ms = sorted(v * 1000 for v in values_s)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


class Paints:
    """The frames the app composes for the terminal: when, and what state they show.

    Headless, Textual composes every frame and then skips writing it; the hook on `_display`
    (where a composed frame goes) records its time and `probe()` (the state under test: the
    sample shown, the scroll offset). Timing this way leaves out Pilot's own waits for the
    process to go idle, which would also wait for the background prefetch.
    """

    def __init__(self, app: App):
        self.frames: list[tuple[float, object]] = []
        self.probe = lambda: None
        original = app._display

        def display(screen, renderable) -> None:
            if renderable is not None:
                self.frames.append((time.perf_counter(), self.probe()))
            original(screen, renderable)

        app._display = display

    async def shown(self, since: float, predicate, timeout_s: float = 120.0) -> float:
        """The time of the first frame after `since` whose state satisfies `predicate`."""
        deadline = time.perf_counter() + timeout_s
        checked = 0
        while True:
            for at, state in self.frames[checked:]:
                if at >= since and predicate(state):
                    return at
            checked = len(self.frames)
            if time.perf_counter() > deadline:
                raise TimeoutError("the app did not show it in time")
            await asyncio.sleep(0.0005)


async def wait_until(condition, timeout_s: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.0005)


async def wait_idle(app) -> None:
    await wait_until(lambda: not app.busy)
    await asyncio.sleep(0.05)


def shown_id(app) -> str | None:
    return getattr(app.screen, "shown_id", None)


async def first_screen_and_steps(db: Path, steps: int, prefetch: bool) -> dict:
    config = ReviewConfig(path=db.parent / "no-config.toml")
    app = review_app.ReviewApp(ReviewSettings(db, "bench", "all"), config)
    app.prefetch_radius = review_app.PREFETCH_RADIUS if prefetch else 0
    paints = Paints(app)
    # The first screen's sample comes without its siblings; then its full details replace it.
    paints.probe = lambda: (shown_id(app), getattr(getattr(app.screen, "_shown", None), "siblings_read", False))
    started, started_cpu = time.perf_counter(), time.process_time()
    async with app.run_test(size=SIZE):
        first = await paints.shown(started, lambda state: state[0] is not None) - started
        first_cpu = time.process_time() - started_cpu
        full = await paints.shown(started, lambda state: state[1]) - started
        paints.probe = lambda: shown_id(app)
        await wait_idle(app)
        step_times, step_cpu = [], []
        for key in ["j"] * steps + ["k"] * steps:
            await wait_idle(app)  # a reviewer reads between keys: the prefetch of the last step is done
            target = app.queue.sample_ids[app.queue.step(app.index, 1 if key == "j" else -1)]
            t, t_cpu = time.perf_counter(), time.process_time()
            app.simulate_key(key)
            step_times.append(await paints.shown(t, lambda state: state == target) - t)
            step_cpu.append(time.process_time() - t_cpu)
        await wait_idle(app)
    return {"first": first, "first_cpu": first_cpu, "full": full, "steps": step_times, "step_cpu": step_cpu}


async def held_key_settle(db: Path, presses: int, start: int, interval_s: float = 0.033) -> dict:
    """`presses` j presses `interval_s` apart from `start`, cache cold; last press to the target on screen."""
    config = ReviewConfig(path=db.parent / "no-config.toml")
    app = review_app.ReviewApp(ReviewSettings(db, "bench", "all"), config)
    paints = Paints(app)
    paints.probe = lambda: shown_id(app)
    async with app.run_test(size=SIZE):
        await wait_until(lambda: shown_id(app) is not None)
        await wait_idle(app)
        app.index = start  # somewhere nothing was prefetched
        app.cache = type(app.cache)()
        app.show_current()
        await wait_until(lambda: shown_id(app) == app.current_id)
        await wait_idle(app)
        target = app.queue.sample_ids[app.index + presses]
        # On a fixed clock, as a terminal repeats a key whatever the app is doing: Textual's
        # input thread stamps each key when it reads it (time.monotonic()), and the app handles
        # it when it gets to it. Here the keys are posted from the app's own event loop, so they
        # carry the time the terminal would have sent them, and settle runs from that time for
        # the last one (never from a later posting).
        clock, clock_monotonic = time.perf_counter(), time.monotonic()
        for n in range(presses):
            await asyncio.sleep(max(0.0, clock + n * interval_s - time.perf_counter()))
            key = events.Key("j", "j")
            key.time = clock_monotonic + n * interval_s
            app.post_message(key)
        last = clock + (presses - 1) * interval_s
        settle = await paints.shown(last, lambda state: state == target) - last
        await wait_until(lambda: not app.busy)
        idle = time.perf_counter() - last
        await wait_idle(app)
    return {"settle": settle, "idle": idle}


async def idle_cpu(app: App, seconds: float, ready) -> float:
    """Share of one core the app's process uses over `seconds` of doing nothing."""
    async with app.run_test(size=SIZE):
        await wait_until(ready)
        await asyncio.sleep(1.0)
        t, t_cpu = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        return (time.process_time() - t_cpu) / (time.perf_counter() - t)


async def big_trace_review(db: Path, scroll_steps: int) -> dict:
    config = ReviewConfig(path=db.parent / "no-config.toml")
    app = review_app.ReviewApp(ReviewSettings(db, "bench", "all", f"problem_id = '{BIG_PROBLEM}'"), config)
    paints = Paints(app)
    async with app.run_test(size=SIZE):
        await wait_until(lambda: shown_id(app) == "big-0")
        await wait_idle(app)
        app.simulate_key("j")  # to the short sample, then time the way back to the 100 KB one
        await wait_until(lambda: shown_id(app) == "big-1")
        await wait_idle(app)
        app.cache = type(app.cache)()  # not prefetched: fetch, wrap and show from the store
        paints.probe = lambda: shown_id(app)
        t = time.perf_counter()
        app.simulate_key("k")
        show = await paints.shown(t, lambda state: state == "big-0") - t
        trace = app.screen.query_one("#trace", TraceView)
        scrolls = await scroll_steps_timed(app, paints, trace, scroll_steps)
        rows = trace.row_count
        await wait_idle(app)
    return {"show": show, "scrolls": scrolls, "rows": rows}


async def scroll_steps_timed(app: App, paints: Paints, view, steps: int) -> list[float]:
    paints.probe = lambda: view.scroll_y
    times = []
    for _ in range(steps):
        await asyncio.sleep(0.02)
        before = view.scroll_y
        t = time.perf_counter()
        app.simulate_key("pagedown")
        times.append(await paints.shown(t, lambda state: state > before) - t)
    return times


class StaticBaseline(App):
    def compose(self) -> ComposeResult:
        yield Static("hello")


async def static_first_paint() -> float:
    """Start to first frame of a Textual app showing one line: the floor under the first screen."""
    app = StaticBaseline()
    paints = Paints(app)
    started = time.perf_counter()
    async with app.run_test(size=SIZE):
        return await paints.shown(started, lambda state: True) - started


class TextAreaBaseline(App):
    def compose(self) -> ComposeResult:
        yield TextArea(id="baseline", read_only=True, soft_wrap=True)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()


async def text_area_baseline(text: str, scroll_steps: int) -> dict:
    app = TextAreaBaseline()
    paints = Paints(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        area = app.query_one(TextArea)
        paints.probe = lambda: len(area.text)
        t = time.perf_counter()
        area.load_text(text)
        show = await paints.shown(t, lambda state: state == len(text)) - t
        scrolls = await scroll_steps_timed(app, paints, area, scroll_steps)
    return {"show": show, "scrolls": scrolls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--scroll-steps", type=int, default=40)
    parser.add_argument("--held", type=int, default=40)
    parser.add_argument("--holds", type=int, default=5)
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "review-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    db = prepare_store(args.dir, args.samples)

    load_before = os.getloadavg()[0]
    t, t_cpu = time.perf_counter(), time.process_time()
    loaded = ReviewData(db, "bench").load_queue("all", None)
    queue_s, queue_cpu = time.perf_counter() - t, time.process_time() - t_cpu

    static_first = asyncio.run(static_first_paint())
    with_prefetch = asyncio.run(first_screen_and_steps(db, args.steps, prefetch=True))
    without_prefetch = asyncio.run(first_screen_and_steps(db, args.steps, prefetch=False))
    big = asyncio.run(big_trace_review(db, args.scroll_steps))
    with open_store(db, read_only=True) as store:
        text = store.scalar("SELECT reasoning FROM samples WHERE sample_id = 'big-0'")
    baseline = asyncio.run(text_area_baseline(text, args.scroll_steps))
    holds = [asyncio.run(held_key_settle(db, args.held, len(loaded.queue) // 2 + 1000 * n)) for n in range(args.holds)]
    settles = [hold["settle"] for hold in holds]
    idles = [hold["idle"] for hold in holds]
    idle_app = review_app.ReviewApp(ReviewSettings(db, "bench", "all"), ReviewConfig(path=db.parent / "no-config.toml"))
    idle = asyncio.run(idle_cpu(idle_app, args.idle_s, lambda: shown_id(idle_app) is not None and not idle_app.busy))
    idle_base = asyncio.run(idle_cpu(StaticBaseline(), args.idle_s, lambda: True))

    print(
        f"store: {db} ({len(loaded.queue):,} samples in the queue), terminal {SIZE[0]}x{SIZE[1]}; "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print("wall clock; 'cpu' is this process's CPU time (all threads), less sensitive to a busy machine")
    print(f"{'figure':<44} {'review app':<44} baseline")
    print(
        f"{'queue load (' + format(len(loaded.queue), ',') + ' rows, light columns)':<44} {queue_s * 1000:.0f} ms (cpu {queue_cpu * 1000:.0f} ms; store opened, queried, closed)"
    )
    print(
        f"{'first screen (goal < 1 s)':<44} {with_prefetch['first'] * 1000:.0f} ms (cpu {with_prefetch['first_cpu'] * 1000:.0f} ms; app start included; siblings too at {with_prefetch['full'] * 1000:.0f} ms)"
        f"{'':<3} one-line Textual app: {static_first * 1000:.0f} ms"
    )
    print(
        f"{'next/previous, ' + str(2 * args.steps) + ' presses (goal < 50 ms)':<44} "
        f"{summary(with_prefetch['steps']):<44} no prefetch: {summary(without_prefetch['steps'])}"
    )
    print(
        f"{'  cpu per press (median)':<44} {statistics.median(with_prefetch['step_cpu']) * 1000:.1f} ms{'':<37} "
        f"no prefetch: {statistics.median(without_prefetch['step_cpu']) * 1000:.1f} ms"
    )
    print(
        f"{'100 KB trace: show (' + format(len(text), ',') + ' chars, ' + str(big['rows']) + ' rows)':<44} "
        f"{big['show'] * 1000:.0f} ms (fetch + wrap + draw){'':<13} TextArea load: {baseline['show'] * 1000:.0f} ms"
    )
    print(
        f"{'100 KB trace: ' + str(args.scroll_steps) + ' page-downs':<44} "
        f"{summary(big['scrolls']):<44} TextArea: {summary(baseline['scrolls'])}"
    )
    print(
        f"{'held j: ' + str(args.held) + ' presses 33 ms apart, settle (goal < 150 ms)':<44} "
        f"{'median ' + format(statistics.median(settles) * 1000, '.0f') + ' ms, max ' + format(max(settles) * 1000, '.0f') + ' ms (' + str(args.holds) + ' holds)':<44} "
        f"one uncached step: {statistics.median(without_prefetch['steps']) * 1000:.0f} ms"
    )
    print(f"{'  held j: last press to idle (median)':<44} {statistics.median(idles) * 1000:.0f} ms")
    print(
        f"{'idle CPU over ' + format(args.idle_s, 'g') + ' s (goal < 2% of a core)':<44} "
        f"{idle * 100:.2f}%{'':<39} one-line Textual app: {idle_base * 100:.2f}%"
    )
    print(
        f"{'100 KB trace: total of the page-downs':<44} {sum(big['scrolls']) * 1000:.0f} ms{'':<38} "
        f"TextArea: {sum(baseline['scrolls']) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
