"""`curate review`: a terminal app for human review of teacher traces.

Inputs: the store (problems, samples, and when present verdicts, scores, selections).
Output: append-only `review_events` rows (accept / reject / flag / skip, notes, corrected
answers; undo appends a 'revert' row); the current decision per sample is the view
`review_current`. Command: `curate review [--db PATH] [--reviewer NAME] [--queue Q]
[--filter SQL] [--config FILE] [--stats]`.

Layout: `app.py` (the Textual app and its state), one widget or screen per module,
`keys.py` (the key table, as data), `queries.py` (the SQL, plain functions over a Store),
`data.py` (opening the store per operation, the loaded queue, the job runner), `config.py`
(the config file), `stats.py` (`--stats`), `app.tcss`. Only modules under curate/review
import Textual, and only those the app loads; `curate --help` and `--stats` load none.

Caveat: the store is opened per operation and closed, so other commands can use it while the
app is open; a write meeting another writer waits `wait_s` seconds, then is reported and
dropped (nothing half-written), and the reviewer presses the key again.
"""
