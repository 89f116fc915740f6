"""`curate merge OUT IN...`: bring stores written on several machines together, exactly once.

Inputs: store files IN... (opened read-only, never changed), typically one per `curate generate
--shard K/N` machine. Output: OUT (created when missing) gains their `problems`, `samples`,
`verdicts`, `review_events` and `runs` rows, plus one `runs` row (kind "merge") with the counts.
Command: `curate merge OUT IN... [--memory-limit 2GB]`.

- Rows are matched by the table's primary key. A row OUT lacks is added; an identical row is
  already there (so merging again adds nothing); a row whose key OUT holds with other values is
  a conflict: the whole merge is refused (exit 2) with a report of the table, the key and, for
  each column that differs, both values, and OUT is left as it was. Three cases are not
  conflicts but progress: a sample in status `error` gives way to the same sample with a final
  status (ok, truncated, empty); a verdict of content other than its sample's in OUT (say, of
  that `error` copy) gives way with it to the verdict of the current content; and a run still
  `running` gives way to the same run finished.
- Rows compare on every column but the bookkeeping of how they were made (run_id, created_at,
  elapsed_ms, latency_s, cost_usd, endpoint): the same problem set ingested, or the same file
  imported, on each machine gives the same rows.
- Review events are numbered per store, so they are matched by what they say (sample, reviewer,
  decision, note, corrected answer, time), renumbered in OUT in time order, and a revert points
  at the renumbered event it takes back; each keeps the content hash it was decided on.
- Every IN must have OUT's schema version (open an older store with this version's `curate
  stats` to migrate it first); a newer one needs a newer toolkit.
- Scores, selections, duplicates and contamination are derived from the merged rows: run
  `curate score`, `select`, `dedup`, `decontam` on OUT. Exports, train and eval tables stay in
  the store that made them.

How: each IN is ATTACHed read-only; one transaction does the checks and INSERT ... SELECTs in
DuckDB (no rows become Python objects), under `memory_limit`, so a kill leaves OUT as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from db import BadInput, Store
from db.store import retry_locked

TABLES = ("problems", "samples", "verdicts", "runs")  # merged by primary key; review_events apart
# Bookkeeping of how a row was made, not what it says: copies of one row may differ in it.
IGNORED = ("run_id", "created_at", "elapsed_ms", "latency_s", "cost_usd", "endpoint")
# A stored row in this state (SQL over the row's alias `{row}`) gives way to the incoming copy, and
# an incoming one in it is skipped. A verdict is superseded when it was made of content other than
# its sample's in OUT (merged before verdicts): it went stale with the `error` copy that gave way.
SUPERSEDED = {
    "samples": "{row}.status = 'error'",
    "verdicts": "{row}.content_hash IS NOT NULL AND EXISTS (SELECT 1 FROM main.samples m "
    "WHERE m.sample_id = {row}.sample_id AND m.content_hash IS DISTINCT FROM {row}.content_hash)",
    "runs": "{row}.status = 'running'",
}
EVENT_IDENTITY = ("sample_id", "reviewer", "decision", "note", "corrected_answer", "created_at")
SHOWN_CONFLICTS = 5
SHOWN_CHARS = 60  # of each value in a conflict report
DEFAULT_MEMORY_LIMIT = "2GB"


@dataclass(frozen=True)
class MergeConfig:
    inputs: tuple[str, ...]
    memory_limit: str = DEFAULT_MEMORY_LIMIT


@dataclass
class TableCounts:
    added: int = 0
    present: int = 0  # identical rows OUT already held
    replaced: int = 0  # OUT's superseded copies replaced by the incoming one
    skipped: int = 0  # incoming superseded copies of rows OUT holds final


@dataclass
class MergeResult:
    run_id: str
    inputs: tuple[str, ...]
    tables: dict[str, TableCounts] = field(default_factory=dict)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def primary_key(store: Store, table: str) -> list[str]:
    rows = store.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [table],
    ).fetchall()
    return list(rows[0][0])


def columns_of(store: Store, database: str, table: str) -> list[str]:
    return [
        row[0]
        for row in store.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' AND table_name = ? "
            "ORDER BY column_index",
            [database, table],
        ).fetchall()
    ]


def check_inputs(store: Store, config: MergeConfig) -> list[Path]:
    if not config.inputs:
        raise BadInput("name at least one store to merge", field="IN")
    out = store.path.resolve()
    paths = []
    for name in config.inputs:
        path = Path(name)
        if not path.is_file():
            raise BadInput("no such store", file=name, field="IN")
        if path.resolve() == out:
            raise BadInput("is the output store itself", file=name, field="IN")
        if path.resolve() in paths:
            raise BadInput("named twice", file=name, field="IN")
        with path.open("rb") as handle:
            if handle.read(12)[8:12] != b"DUCK":
                raise BadInput("not a DuckDB store", file=name, field="IN")
        paths.append(path.resolve())
    return paths


def run(store: Store, config: MergeConfig) -> MergeResult:
    """Merge `config.inputs` into `store` in one transaction; see the module docstring."""
    paths = check_inputs(store, config)
    version = store.schema_version()
    aliases = []
    with store.memory_limit(config.memory_limit):
        try:
            for number, path in enumerate(paths):
                alias = f"_merge_in{number}"
                # --wait covers the inputs too: a shard still being written is waited for like the output.
                attach = f"ATTACH {_literal(str(path))} AS {alias} (READ_ONLY)"
                retry_locked(lambda sql=attach: store.execute(sql), path)
                aliases.append(alias)
                theirs = store.scalar(f"SELECT coalesce(max(version), 0) FROM {alias}.schema_version")
                if theirs != version:
                    hint = (
                        "open it once with this toolkit (e.g. `curate stats --db IN`) to migrate it"
                        if theirs < version
                        else "merge with the newer toolkit that wrote it"
                    )
                    raise BadInput(
                        f"schema version {theirs}, the output store has {version}: {hint}", file=str(path), field="IN"
                    )
            with store.transaction(), store.run("merge", {"inputs": [str(p) for p in paths]}) as record:
                result = MergeResult(run_id=record.run_id, inputs=tuple(str(p) for p in paths))
                for table in (*TABLES, "review_events"):
                    result.tables[table] = TableCounts()
                for alias, path in zip(aliases, paths):
                    for table in TABLES:
                        _merge_table(store, alias, path, table, result.tables[table])
                    _merge_events(store, alias, result.tables["review_events"])
                record.counts = {
                    f"{table}_{name}": value
                    for table, counts in result.tables.items()
                    for name, value in counts.__dict__.items()
                }
            return result
        finally:
            for alias in aliases:
                store.execute(f"DETACH DATABASE IF EXISTS {alias}")


def _merge_table(store: Store, alias: str, path: Path, table: str, counts: TableCounts) -> None:
    key = primary_key(store, table)
    ours = columns_of(store, store.scalar("SELECT current_database()"), table)
    theirs = columns_of(store, alias, table)
    if ours != theirs:
        raise BadInput(f"table {table} has columns {theirs}, the output store {ours}", file=str(path), field="IN")
    compared = [c for c in ours if c not in key and c not in IGNORED]
    src, dst = f"{alias}.{_ident(table)}", f"main.{_ident(table)}"
    on = " AND ".join(f"s.{_ident(c)} = o.{_ident(c)}" for c in key)
    same = " AND ".join(f"s.{_ident(c)} IS NOT DISTINCT FROM o.{_ident(c)}" for c in compared) or "true"
    stale = SUPERSEDED.get(table)
    s_stale, o_stale = (f"({stale.format(row='s')})", f"({stale.format(row='o')})") if stale else ("false", "false")
    overlap = f"FROM {src} s JOIN {dst} o ON {on}"
    differing = f"{overlap} WHERE NOT ({same}) AND NOT {s_stale} AND NOT {o_stale}"
    conflicts = store.scalar(f"SELECT count(*) {differing}")
    if conflicts:
        raise BadInput(
            f"{conflicts} {table} rows conflict with the output store "
            f"({_describe_conflicts(store, table, key, compared, differing)}); nothing was merged",
            file=str(path),
            field="IN",
        )
    present = store.scalar(f"SELECT count(*) {overlap} WHERE ({same})")
    replaced = store.scalar(f"SELECT count(*) {overlap} WHERE NOT ({same}) AND {o_stale} AND NOT {s_stale}")
    skipped = store.scalar(f"SELECT count(*) {overlap} WHERE NOT ({same}) AND {s_stale}")
    if replaced:
        store.execute(
            f"DELETE FROM {dst} o WHERE {o_stale} AND EXISTS (SELECT 1 FROM {src} s WHERE {on} AND NOT {s_stale})"
        )
    names = ", ".join(_ident(c) for c in ours)
    written = store.execute(
        f"INSERT INTO {dst} ({names}) SELECT {names} FROM {src} s WHERE NOT EXISTS (SELECT 1 FROM {dst} o WHERE {on})"
    ).fetchone()
    counts.added += int(written[0]) - replaced if written else 0
    counts.present += present
    counts.replaced += replaced
    counts.skipped += skipped


def _shown_value(value: object) -> str:
    if value is None:
        return "NULL"
    text = str(value)
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")


def _describe_conflicts(store: Store, table: str, key: list[str], compared: list[str], differing: str) -> str:
    """The first SHOWN_CONFLICTS conflicting rows: table, key, and each differing column's two values."""
    differences = ", ".join(
        f"CASE WHEN s.{_ident(c)} IS DISTINCT FROM o.{_ident(c)} THEN "
        f"[{_literal(c)}, left(CAST(s.{_ident(c)} AS VARCHAR), {SHOWN_CHARS + 1}), "
        f"left(CAST(o.{_ident(c)} AS VARCHAR), {SHOWN_CHARS + 1})] END"
        for c in compared
    )
    shown = store.execute(
        f"SELECT {', '.join('s.' + _ident(c) for c in key)}, [d FOR d IN [{differences}] IF d IS NOT NULL] "
        f"{differing} ORDER BY ALL LIMIT {SHOWN_CONFLICTS}"
    ).fetchall()
    described = []
    for row in shown:
        where = ", ".join(f"{c}={_shown_value(v)}" for c, v in zip(key, row[:-1]))
        values = "; ".join(
            f"{column} is {_shown_value(theirs)} in this store, {_shown_value(ours)} in the output store"
            for column, theirs, ours in row[-1]
        )
        described.append(f"{table} ({where}): {values}")
    return " | ".join(described)


def _merge_events(store: Store, alias: str, counts: TableCounts) -> None:
    """Review events by content; renumbered in OUT, reverts pointed at the renumbered events."""
    match = " AND ".join(f"s.{c} IS NOT DISTINCT FROM o.{c}" for c in EVENT_IDENTITY)
    store.execute(
        f"CREATE OR REPLACE TEMP TABLE _merge_events AS "
        f"SELECT s.event_id AS old_id, (SELECT min(o.event_id) FROM main.review_events o WHERE {match}) AS new_id, "
        f"s.created_at FROM {alias}.review_events s"
    )
    try:
        counts.present += store.scalar("SELECT count(*) FROM _merge_events WHERE new_id IS NOT NULL")
        store.execute(
            "UPDATE _merge_events m SET new_id = n.id FROM ("
            "SELECT old_id, nextval('review_event_seq') AS id FROM "
            "(SELECT old_id FROM _merge_events WHERE new_id IS NULL ORDER BY created_at, old_id)) n "
            "WHERE m.old_id = n.old_id"
        )
        written = store.execute(
            f"INSERT INTO main.review_events (event_id, sample_id, reviewer, decision, note, corrected_answer, "
            f"reverts_event_id, created_at, content_hash) "
            f"SELECT m.new_id, s.sample_id, s.reviewer, s.decision, s.note, s.corrected_answer, r.new_id, s.created_at, "
            f"s.content_hash "
            f"FROM {alias}.review_events s JOIN _merge_events m ON m.old_id = s.event_id "
            f"LEFT JOIN _merge_events r ON r.old_id = s.reverts_event_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM main.review_events o WHERE o.event_id = m.new_id) "
            f"ORDER BY m.new_id"
        ).fetchone()
        counts.added += int(written[0]) if written else 0
    finally:
        store.execute("DROP TABLE IF EXISTS _merge_events")


def summary_lines(result: MergeResult) -> list[str]:
    lines = []
    for table, counts in result.tables.items():
        extra = "".join(
            [
                f", replaced {counts.replaced} (error -> final / stale verdict -> current / running -> finished)"
                if counts.replaced
                else "",
                f", skipped {counts.skipped} superseded" if counts.skipped else "",
            ]
        )
        lines.append(f"{table}: added {counts.added}, already there {counts.present}{extra}")
    lines.append(f"merged {len(result.inputs)} stores (run {result.run_id})")
    return lines
