-- 011: the live review events rule in one place, and bulk decisions undone as one.
-- review_live: events that are decisions (not a revert) and not taken back by a revert; the
-- review app, review_current and every per-reviewer count read it.
-- batch_id: set on every event of one bulk action (the event_id of its first event), so one
-- undo reverts the whole batch.
ALTER TABLE review_events ADD COLUMN batch_id BIGINT;

CREATE OR REPLACE VIEW review_live AS
SELECT e.* FROM review_events e
WHERE e.decision <> 'revert'
  AND e.event_id NOT IN (SELECT reverts_event_id FROM review_events WHERE reverts_event_id IS NOT NULL);

-- Each reviewer's current decision per sample (a skip included: it marks the sample seen).
CREATE OR REPLACE VIEW review_reviewer_current AS
SELECT * EXCLUDE (rn) FROM (
    SELECT l.*, row_number() OVER (PARTITION BY l.sample_id, l.reviewer ORDER BY l.event_id DESC) AS rn
    FROM review_live l
) WHERE rn = 1;

-- Current review decision per sample, store-wide: the newest live event that is not a skip.
CREATE OR REPLACE VIEW review_current AS
SELECT * EXCLUDE (rn) FROM (
    SELECT l.*, row_number() OVER (PARTITION BY l.sample_id ORDER BY l.event_id DESC) AS rn
    FROM review_live l
    WHERE l.decision <> 'skip'
) WHERE rn = 1;
