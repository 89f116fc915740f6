"""The DuckDB store shared by every stage (see db/store.py for the contract)."""

from db.errors import BadInput, StoreLocked
from db.store import DEFAULT_DB, Store, migrate, open_store, resolve_db_path

__all__ = ["BadInput", "StoreLocked", "Store", "open_store", "migrate", "resolve_db_path", "DEFAULT_DB"]
