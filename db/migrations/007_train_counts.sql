-- 007: what `train sft` reports per seed beyond 001's columns.
-- counts: examples per split, kept, overlong / dropped / truncated, rows and tokens after packing;
-- last_step: the optimizer step reached (a resumed run continues from its checkpoint's step).
ALTER TABLE train_runs ADD COLUMN counts JSON;
ALTER TABLE train_runs ADD COLUMN last_step INTEGER;
