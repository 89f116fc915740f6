"""The writer lock: one writer at a time even while that writer has closed the store file.

A long writer (`curate generate`) closes the DuckDB file between its batches so that readers
(`curate sql`, `curate stats`, the review app) can open it read-only while it runs
(`Store.release`). DuckDB's own file lock then protects nothing, so the writer first takes an
`flock` on `STORE.writer` beside the store and keeps it until it closes the store; every
read-write open checks that lock after connecting and treats a held one like DuckDB's lock
(wait for `--wait` seconds, then `StoreLocked`). The file holds the writer's pid only (never its
command line, which may carry a key). The lock file is removed by its holder on close; one left
by a killed writer is free (the kernel drops a dead process's flock) and is removed by the
next writer that takes it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def lock_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".writer")


class WriterLock:
    """An exclusive flock on STORE.writer, held from `take()` to `release()`."""

    def __init__(self, store_path: Path, handle):
        self.path = lock_path(store_path)
        self._handle = handle

    @classmethod
    def take(cls, store_path: Path) -> "WriterLock | None":
        """The lock, or None when another live process holds it."""
        handle = open(lock_path(store_path), "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return cls(store_path, handle)

    def release(self) -> None:
        """Remove the lock file, then drop the lock (in that order, so no one takes a file being removed)."""
        if self._handle is None:
            return
        self.path.unlink(missing_ok=True)
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


def held_by_another(store_path: Path) -> str | None:
    """The pid (as written) of another process holding the writer lock, else None (also when
    this process holds it); a stale lock file left by a killed writer is removed."""
    path = lock_path(store_path)
    if not path.exists():
        return None
    lock = WriterLock.take(store_path)
    if lock is not None:
        lock.release()
        return None
    try:
        pid = path.read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"
    return None if pid == str(os.getpid()) else pid  # this process's own released store
