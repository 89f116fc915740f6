"""The DuckDB store shared by every stage (see db/store.py for the contract)."""

from db.errors import BadInput, StoreLocked, is_interrupt
from db.store import DEFAULT_DB, RunRecord, Store, migrate, open_store, resolve_db_path, stage_store

__all__ = [
    "BadInput",
    "StoreLocked",
    "is_interrupt",
    "Store",
    "open_store",
    "migrate",
    "resolve_db_path",
    "DEFAULT_DB",
    "RunRecord",
    "stage_store",
]
