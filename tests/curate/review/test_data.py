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
