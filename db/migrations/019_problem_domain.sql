-- 019: a problem's domain picks the checker of its answers (curate/verify/domains.py): math (the
-- SymPy verifier, as before), code (programs run with their tests in the sandbox), sql (queries run
-- against the problem's database), choice (an option letter or text). What a non-math checker
-- reads beyond the gold answer (tests, database, options) is in `meta`, so from now on
-- db.store.CONTENT_HASH_SQL also hashes a non-math problem's meta; every existing problem is math
-- and concat_ws skips the NULL that math gives there, so no stored hash changes.
ALTER TABLE problems ADD COLUMN domain VARCHAR NOT NULL DEFAULT 'math';
