"""The job runner and the detail cache behind the app (no Textual)."""

from __future__ import annotations

import threading

from db import open_store
from curate.review.data import PREFETCH, URGENT, DetailCache, JobRunner, ReviewData


def test_runner_runs_urgent_jobs_in_order_before_prefetches_and_reports_failures():
    runner = JobRunner()
    done, failed = [], []

    def job(name):
        return lambda: name

    runner.submit(job("prefetch-1"), done.append, failed.append, priority=PREFETCH)
    runner.submit(job("decide"), done.append, failed.append, is_write=True)
    runner.submit(lambda: 1 / 0, done.append, failed.append)
    runner.submit(job("undo"), done.append, failed.append, priority=URGENT, is_write=True)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop.is_set,))
    thread.start()
    runner.submit(lambda: stop.set() or "stop", done.append, failed.append, priority=PREFETCH)
    thread.join(timeout=30)
    assert done == ["decide", "undo", "prefetch-1", "stop"]
    assert [type(e) for e in failed] == [ZeroDivisionError]


def test_runner_finishes_queued_writes_on_cancel_and_drops_reads():
    runner = JobRunner()
    done = []
    runner.submit(lambda: "read", done.append, print)
    runner.submit(lambda: "write", done.append, print, is_write=True)
    runner.run(lambda: True)
    assert done == ["write"]


def test_detail_cache_keeps_the_most_recent_and_forgets_a_problem(review_db):
    details = ReviewData(review_db, "alice").details(["s00000-0", "s00000-1", "s00001-0"])
    cache = DetailCache(capacity=2)
    for detail in details:
        cache.put(detail)
    assert "s00000-0" not in cache and "s00000-1" in cache and "s00001-0" in cache
    cache.drop_problem("demo:00000")
    assert "s00000-1" not in cache and cache.get("s00001-0").problem_id == "demo:00001"


def test_check_migrates_a_store_that_lacks_a_migration_below_its_newest(review_db):
    with open_store(review_db) as store:  # as if 011 came after the store was migrated past it
        store.execute("DROP VIEW review_current; DROP VIEW review_reviewer_current; DROP VIEW review_live")
        store.execute("ALTER TABLE review_events DROP COLUMN batch_id")
        store.execute("CREATE VIEW review_current AS SELECT * FROM review_events")
        store.execute("DELETE FROM schema_version WHERE version = 11")
    ReviewData(review_db, "alice").check("pending", None)
    with open_store(review_db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM schema_version WHERE version = 11") == 1
        assert store.query("SELECT * FROM review_live").columns[-1] == "batch_id"


def test_a_first_page_lists_the_queue_head_and_the_whole_queue_follows_in_the_same_order(review_db):
    data = ReviewData(review_db, "alice")
    whole = data.whole_queue("all", None)
    first = data.load_queue("all", None, page=4)
    assert not first.queue.complete and first.queue.sample_ids == whole.sample_ids[:4]
    assert whole.complete and len(whole) == 9
    assert first.start == 0 and [d.sample_id for d in first.details] == [whole.sample_ids[0]]
    assert not first.details[0].siblings_read and first.details[0].siblings == []  # read after the first screen
    assert first.details[0].verdict is not None and first.details[0].sample["reasoning"]
    assert data.load_queue("all", None, page=9).queue.complete  # a page as long as the queue is all of it


def test_a_first_page_without_an_undecided_sample_gives_way_to_the_whole_queue(review_db):
    data = ReviewData(review_db, "alice")
    head = data.whole_queue("all", None).sample_ids[:4]
    with open_store(review_db) as store:
        for sample_id in head:
            store.execute(
                "INSERT INTO review_events (sample_id, reviewer, decision) VALUES (?, 'alice', 'accept')", [sample_id]
            )
    loaded = data.load_queue("all", None, page=4)
    assert loaded.queue.complete and len(loaded.queue) == 9
    assert loaded.start == 4  # where alice stopped, past the first page


def test_the_cursor_keeps_its_sample_when_the_queue_is_replaced(review_db):
    whole = ReviewData(review_db, "alice").whole_queue("all", None)
    assert whole.place(whole.sample_ids[5], 0) == 5
    assert whole.place("not-listed", 7) == 7 and whole.place("not-listed", 40) == 8


def test_a_dropped_sample_leaves_the_queue_and_the_cursor_keeps_its_sample_or_takes_the_next(review_db):
    queue = ReviewData(review_db, "alice").whole_queue("all", None)
    order = list(queue.sample_ids)
    assert queue.drop(order[1], 4) == 3 and queue.sample_ids[3] == order[4]  # before the cursor: it keeps its sample
    assert queue.drop(order[3], 2) == 2 and queue.sample_ids[2] == order[4]  # the cursor's: the next one
    assert queue.drop(order[8], 6) == 5 == len(queue) - 1  # the last, under the cursor: the one before
    assert queue.drop("not-listed", 3) == 3
    assert queue.sample_ids == [order[i] for i in (0, 2, 4, 5, 6, 7)]
    assert queue.frame["sample_id"].to_list() == queue.sample_ids
    assert queue.frame["problem_id"].to_list() == queue.problem_ids


def test_still_listed_asks_the_queue_under_its_filter(review_db):
    data = ReviewData(review_db, "alice")
    ids = ["s00000-1", "s00001-1"]
    assert data.still_listed("pending", None, ids) == set(ids)
    data.decide("s00000-1", "flag")
    assert data.still_listed("pending", None, ids) == {"s00001-1"}
    assert data.still_listed("flagged", None, ids) == {"s00000-1"}
    assert data.still_listed("all", "sample_index = 1 AND problem_id <> 'demo:00001'", ids) == {"s00000-1"}
    data.decide("s00001-1", "skip")  # a skip keeps a sample pending
    assert data.still_listed("pending", None, ids) == {"s00001-1"}
