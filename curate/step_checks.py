"""The step-check tables' one writer and one pending rule (db/migrations/020_step_checks.sql).

`curate verify --steps` (checker "steps/N", curate.verify.check_steps) and `curate judge
--steps` (checker "judge:MODEL") both store what they found here: `pending_samples` names the
samples that have no check of a checker for their current content (new, regenerated, or a
changed gold or question), `replace_checks` writes one batch of checked samples, replacing any
earlier rows of the same checker for them, in one transaction. Offsets are into
`curate.traces.full_response(reasoning, content)`, the text both checkers read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import polars as pl

from db.store import Store

CHECK_SCHEMA: dict[str, pl.DataType] = {
    "sample_id": pl.String,
    "checker": pl.String,
    "claim_index": pl.Int32,
    "claim_start": pl.Int32,
    "claim_end": pl.Int32,
    "claim": pl.String,
    "status": pl.String,
    "retracted": pl.Boolean,
    "reason": pl.String,
    "content_hash": pl.String,
    "run_id": pl.String,
}
SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "sample_id": pl.String,
    "checker": pl.String,
    "content_hash": pl.String,
    "claims": pl.Int32,
    "elapsed_ms": pl.Float64,
    "run_id": pl.String,
}


@dataclass(frozen=True)
class CheckedSample:
    """What one checker found in one sample: its claims (StepCheck-like: start, end, claim,
    status, retracted, reason), for the content hash it read."""

    sample_id: str
    content_hash: str
    claims: Sequence
    elapsed_ms: float | None = None


def pending_samples(store: Store, checker: str, where: str = "TRUE", params: list | None = None) -> list[tuple]:
    """(rowid, sample_id) of the samples `s` matching `where` without a `checker` check of their
    current content, in rowid order (batches then read neighbouring row groups)."""
    return store.execute(
        "SELECT s.rowid, s.sample_id FROM samples s "
        f"WHERE ({where}) AND NOT EXISTS (SELECT 1 FROM step_check_samples c WHERE c.sample_id = s.sample_id "
        "AND c.checker = ? AND c.content_hash = s.content_hash) ORDER BY s.rowid",
        [*(params or []), checker],
    ).fetchall()


def replace_checks(store: Store, checker: str, checked: list[CheckedSample], run_id: str | None) -> int:
    """Store the checks of `checked` under `checker`, replacing that checker's earlier rows for
    those samples; returns the claim rows written."""
    if not checked:
        return 0
    ids = [item.sample_id for item in checked]
    claims = pl.DataFrame(
        [
            {
                "sample_id": item.sample_id,
                "checker": checker,
                "claim_index": index,
                "claim_start": claim.start,
                "claim_end": claim.end,
                "claim": claim.claim,
                "status": claim.status,
                "retracted": bool(claim.retracted),
                "reason": claim.reason,
                "content_hash": item.content_hash,
                "run_id": run_id,
            }
            for item in checked
            for index, claim in enumerate(item.claims)
        ],
        schema=CHECK_SCHEMA,
    )
    samples = pl.DataFrame(
        [
            {
                "sample_id": item.sample_id,
                "checker": checker,
                "content_hash": item.content_hash,
                "claims": len(item.claims),
                "elapsed_ms": item.elapsed_ms,
                "run_id": run_id,
            }
            for item in checked
        ],
        schema=SAMPLE_SCHEMA,
    )
    with store.transaction():
        # step_checks has no index: it is scanned only when some of these samples were checked before.
        earlier = store.execute(
            "SELECT sample_id FROM step_check_samples WHERE checker = ? AND list_contains(?, sample_id)", [checker, ids]
        ).fetchall()
        if earlier:
            earlier_ids = [row[0] for row in earlier]
            for table in ("step_checks", "step_check_samples"):
                store.execute(
                    f"DELETE FROM {table} WHERE checker = ? AND list_contains(?, sample_id)", [checker, earlier_ids]
                )
        store.insert_frame("step_check_samples", samples)
        return store.insert_frame("step_checks", claims)
