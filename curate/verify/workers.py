"""Killable SymPy worker processes: every comparison is bounded in wall time.

Contract: `WorkerPool(size, timeout, compare, memory_limit=, warm_up=)` starts `size` processes
(forked after SymPy is imported, so a replacement starts in milliseconds; `warm_up=False` forks
without SymPy, for pools that never use it, such as the SQL checker's); `pool.run(tasks)` takes
argument tuples of `compare` (default `symbolic.sympy_compare(gold, answer, context)`) and
returns, in order, `(result | None, elapsed_ms)`: what `compare` returned (an `Outcome` for
SymPy), or None when the task ran past `timeout` seconds (its worker was killed with SIGKILL and
replaced) or its worker died.
A signal alarm cannot do this: SymPy can hang inside C-level loops that never return to the
interpreter, and alarms only work on the main thread.

Each worker limits its own address space to `memory_limit` (4 GiB by default) more than it
inherited from the fork (a parent that loaded torch maps GBs), so a runaway allocation fails inside the worker instead of
swapping the machine, and dies with its parent: the kernel sends it SIGKILL
when the parent exits (PR_SET_PDEATHSIG, Linux), and a watchdog thread exits when the parent's
pid changes (other systems, or a parent that died before the signal was armed). A worker stuck
in SymPy never reads its pipe, so the pipe alone cannot tell it that the parent is gone.
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait

from curate.verify.equivalence import Outcome

MEMORY_LIMIT_BYTES = 4 * 1024**3
_PRELOAD = "curate.verify.symbolic"
_PR_SET_PDEATHSIG = 1
WATCHDOG_INTERVAL_S = 0.5


def _die_with_parent(parent_pid: int) -> None:
    """Arm PR_SET_PDEATHSIG and start the watchdog thread (module doc)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl in this libc: the watchdog still covers it

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCHDOG_INTERVAL_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def mapped_bytes() -> int:
    """This process's address space now (Linux /proc/self/statm), the base its limit adds to."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _worker_main(conn: Connection, compare, parent_pid: int, memory_limit: int) -> None:
    _die_with_parent(parent_pid)
    try:
        import resource

        # On top of what the fork inherited: a parent that loaded torch and a model maps GBs already.
        limit = mapped_bytes() + memory_limit
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # not on Linux, or a lower hard limit is already set
    while True:
        try:
            message = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if message is None:
            return
        task_id, *arguments = message
        started = time.perf_counter()
        try:
            outcome = compare(*arguments)
        except MemoryError:
            outcome = Outcome("unparseable", "too large to evaluate (memory limit)")
        except Exception as error:  # a SymPy failure on one pair must not end the worker
            outcome = Outcome("unparseable", f"SymPy failed: {type(error).__name__}")
        conn.send((task_id, outcome, (time.perf_counter() - started) * 1000))


# Pairs that make SymPy import what it loads lazily (evalf, trig, logs, polynomials) in the
# parent, once, so that forked workers do not each repeat it on their first comparisons.
_WARM_UP = [
    ("\\sin 2x", "2\\sin x\\cos x"),
    ("\\log_2 8", "3"),
    ("\\sqrt{3+2\\sqrt2}", "1+\\sqrt2"),
    ("y = 2x + 3", "2x - y + 3 = 0"),
    ("(x+1)^2", "x^2+2x+1"),
    ("e^{i\\pi}", "-1"),
]
_warmed = False


def _sympy_compare():
    return importlib.import_module(_PRELOAD).sympy_compare


def _warm_up() -> None:
    global _warmed
    if not _warmed:
        for gold, answer in _WARM_UP:
            _sympy_compare()(gold, answer)
        _warmed = True


def _context(warm_up: bool = True) -> mp.context.BaseContext:
    """fork on Linux, with SymPy imported first (unless `warm_up` is False) so every worker (and
    every replacement of a killed one) starts with it loaded, in milliseconds. forkserver and spawn
    would re-import the caller's __main__ in each worker, which breaks scripts without a main guard."""
    if sys.platform.startswith("linux"):
        if warm_up:
            _warm_up()
        return mp.get_context("fork")
    return mp.get_context("spawn")


class _Worker:
    def __init__(self, context: mp.context.BaseContext, compare, memory_limit: int):
        parent, child = context.Pipe(duplex=True)
        arguments = (child, compare, os.getpid(), memory_limit)
        self.process = context.Process(target=_worker_main, args=arguments, daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        self.task: int | None = None
        self.started = 0.0

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=1)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class WorkerPool:
    """A fixed number of worker processes (SymPy by default) with a hard per-task timeout."""

    def __init__(
        self,
        size: int | None = None,
        timeout: float = 5.0,
        compare=None,
        *,
        memory_limit: int = MEMORY_LIMIT_BYTES,
        warm_up: bool = True,
    ):
        self.size = max(1, size or os.cpu_count() or 1)
        self.timeout = timeout
        self.memory_limit = memory_limit
        self._context = _context(warm_up)
        self.compare = compare or _sympy_compare()  # (*task) -> Outcome, run inside the worker
        self._workers: list[_Worker] = []

    def _ensure_started(self) -> None:
        while len(self._workers) < self.size:
            self._workers.append(_Worker(self._context, self.compare, self.memory_limit))

    def run(self, tasks: list[tuple], on_done=None) -> list[tuple[Outcome | None, float]]:
        """Results of `compare`'s argument tuples in order; None for a task that timed out.

        `on_done(count)` is called as results arrive (for progress bars)."""
        results: list[tuple[Outcome | None, float] | None] = [None] * len(tasks)
        if not tasks:
            return []
        self._ensure_started()
        queue = deque(range(len(tasks)))
        busy: dict[Connection, _Worker] = {}
        idle = list(self._workers)
        while queue or busy:
            while queue and idle:
                worker = idle.pop()
                task_id = queue.popleft()
                worker.task = task_id
                worker.started = time.monotonic()
                try:
                    worker.conn.send((task_id, *tasks[task_id]))
                except (BrokenPipeError, OSError):
                    worker = self._replace(worker)
                    worker.task = task_id
                    worker.started = time.monotonic()
                    worker.conn.send((task_id, *tasks[task_id]))
                busy[worker.conn] = worker
            nearest = min(w.started for w in busy.values()) + self.timeout
            ready = wait(list(busy), timeout=max(0.0, nearest - time.monotonic()))
            for conn in ready:
                worker = busy.pop(conn)
                try:
                    task_id, outcome, _ = conn.recv()
                    wall_ms = (time.monotonic() - worker.started) * 1000  # includes the round trip
                    results[task_id] = (outcome, wall_ms)
                except (EOFError, OSError):
                    # The worker died (memory limit, crash): report it like a timeout.
                    results[worker.task] = (None, (time.monotonic() - worker.started) * 1000)
                    worker = self._replace(worker)
                worker.task = None
                idle.append(worker)
                if on_done:
                    on_done(1)
            now = time.monotonic()
            for conn, worker in list(busy.items()):
                if now - worker.started >= self.timeout:
                    busy.pop(conn)
                    results[worker.task] = (None, (now - worker.started) * 1000)
                    idle.append(self._replace(worker))
                    if on_done:
                        on_done(1)
        return results  # type: ignore[return-value]

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        fresh = _Worker(self._context, self.compare, self.memory_limit)
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
