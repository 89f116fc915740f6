"""The schema of a SQLite or DuckDB database as CREATE statements, read without writing to it.

    from curate.verify.sql_schema import schema_text, dialect_of

`schema_text(path)` returns the database's CREATE TABLE and CREATE VIEW statements, one per
table or view, in the order the database lists them (SQLite: `sqlite_master`; DuckDB:
`duckdb_tables()` and `duckdb_views()`, whose `sql` column is the CREATE statement). The file
is opened read-only (SQLite `mode=ro`, DuckDB `read_only=True`), so a problem's database is
never changed by reading its schema. `dialect_of(path)` is "SQLite" or "DuckDB" by the suffix.
`curate ingest --domain sql` puts the schema into the question the teacher is asked.

Errors: a file that is missing or not a database of its kind raises `SchemaError` (this
package imports nothing from `db`; the caller turns it into bad input).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

DIALECTS = {".sqlite": "SQLite", ".sqlite3": "SQLite", ".db": "SQLite", ".duckdb": "DuckDB"}


class SchemaError(ValueError):
    """The database's schema could not be read."""


def dialect_of(path: str | Path) -> str:
    """ "SQLite" or "DuckDB", from the file's suffix (SchemaError for any other)."""
    suffix = Path(path).suffix.lower()
    if suffix not in DIALECTS:
        raise SchemaError(f"not a database file name (expected {', '.join(DIALECTS)}): {Path(path).name}")
    return DIALECTS[suffix]


def schema_text(path: str | Path) -> str:
    """The CREATE statements of every table and view in the database at `path`, one per line."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"no database file at {path}")
    statements = _duckdb_schema(path) if dialect_of(path) == "DuckDB" else _sqlite_schema(path)
    if not statements:
        raise SchemaError(f"the database at {path} has no tables")
    return "\n".join(statement.strip().rstrip(";") + ";" for statement in statements)


def _sqlite_schema(path: Path) -> list[str]:
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise SchemaError(f"cannot open {path} as SQLite: {error}") from error
    try:
        rows = con.execute(
            "SELECT sql FROM sqlite_master WHERE type IN ('table', 'view') AND sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
    except sqlite3.Error as error:
        raise SchemaError(f"cannot read {path} as SQLite: {error}") from error
    finally:
        con.close()
    return [row[0] for row in rows]


def _duckdb_schema(path: Path) -> list[str]:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise SchemaError(f"cannot open {path} as DuckDB: {error}") from error
    try:
        rows = con.execute(
            "SELECT sql FROM (SELECT schema_name, table_name AS name, sql FROM duckdb_tables() WHERE NOT internal "
            "UNION ALL SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal) "
            "WHERE sql IS NOT NULL ORDER BY schema_name, name"
        ).fetchall()
    except duckdb.Error as error:
        raise SchemaError(f"cannot read {path} as DuckDB: {error}") from error
    finally:
        con.close()
    return [row[0] for row in rows]
