"""`curate review --stats`: decisions per reviewer and reviewer agreement, printed without the UI.

Agreement is measured on accept / reject / flag (a skip is no judgement): the share of samples
judged by two or more reviewers on which all of them agree, and Cohen's kappa for each pair of
reviewers over the samples both judged ("—" where chance agreement is total, e.g. both always
accepted). Reads the store read-only. Nothing here imports Textual.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.table import Table

from db.console import stdout
from curate.query import frame_table
from curate.review.data import review_stats
from curate.review.queries import Agreement


def agreement_table(agreement: Agreement) -> Table:
    table = Table(title="agreement", header_style="bold")
    for column in ("reviewers", "samples", "agreed", "share", "kappa"):
        table.add_column(column, justify="left" if column == "reviewers" else "right")
    share = agreement.share
    table.add_row(
        "all (2+ reviewers)",
        str(agreement.samples_multi),
        str(agreement.samples_agreed),
        "—" if share is None else f"{share:.3f}",
        "",
    )
    for pair in agreement.pairs:
        kappa = pair["kappa"]
        table.add_row(
            f"{pair['reviewer_a']} + {pair['reviewer_b']}",
            str(pair["samples"]),
            str(pair["agreed"]),
            f"{pair['agreed'] / pair['samples']:.3f}",
            "—" if kappa is None else f"{kappa:.3f}",
        )
    return table


def print_review_stats(path: Path | str | None) -> tuple[pl.DataFrame, Agreement]:
    counts, agreement = review_stats(path)
    if counts.height == 0:
        stdout.print("no review decisions yet: start with `curate review`")
        return counts, agreement
    stdout.print(
        frame_table(counts, title="decisions per reviewer (current decision per sample; events = rows written)")
    )
    stdout.print(agreement_table(agreement))
    return counts, agreement
