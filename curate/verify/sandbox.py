"""A sandbox for untrusted Python: warm fork servers in namespaces, a marker for success.

Contract: `Sandbox(workers, limits, unsafe_local=False, isolation="auto")`;
`sandbox.run_many([Job(program, tests, test_count), ...]) -> [Run, ...]` in order (and
`run(job)`); `sandbox.isolation` says what it got; `close()` stops the servers. A Job's
`tests` is Python source that defines `run_tests(report)`; it runs after the program in the
program's globals and calls `report(index)` or `report(index, error)` once per test.
`Run.all_passed` only when the child wrote the marker (a random token on fd 3, written after
the tests returned) and every one of `test_count` tests reported success; the exit code never
decides.

Isolation, in the order tried (docs/SANDBOX.md):
- `namespaces` (root): `unshare --net --mount --pid --ipc --uts`: no network, every mount
  read-only but a private tmpfs on /tmp, the server is pid 1 of its own PID namespace (the
  check sees and can signal nothing outside, and everything inside dies with the server), each
  server's children run as a uid of their own, which makes the process-count limit theirs.
- `user-namespaces` (not root and user namespaces allowed, or asked for by name): the same
  namespaces under `unshare --user --map-root-user`; no uid change, but each child enters a
  user namespace of its own, so it holds no capability over the server's mounts.
- `none`: only with `unsafe_local=True` (the CLI's `--unsafe-local`); otherwise `Sandbox`
  refuses with `SandboxUnavailable`. The rlimits, process group, fresh directory, clean
  environment and the killing of leftovers still apply; network and file system are the user's.
Each worker is one server (curate/verify/sandbox_server.py) running one check at a time; a
server that dies is replaced and its check answered with `outcome="error"`.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Queue
from typing import Sequence

from curate.verify.sandbox_server import read_frame, write_frame

SERVER_SCRIPT = Path(__file__).with_name("sandbox_server.py")
ISOLATIONS = ("namespaces", "user-namespaces", "none")
_NAMESPACE_FLAGS = ["--net", "--mount", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc"]
# Random per server, far above any uid in /etc/passwd: two sandboxes on a machine share none.
_UID_RANGE = (1_000_000_000, 2_000_000_000)
_SERVER_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
_REPLY_GRACE_S = 10.0


class SandboxUnavailable(RuntimeError):
    """No isolation could be set up and the caller did not accept running without it."""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0
    cpu_s: float | None = None  # None: the wall-time limit + 1 s, so that the wall timer decides
    memory_bytes: int = 1 << 30  # address space on top of the warm interpreter's own
    file_bytes: int = 16 << 20  # the largest file a check may write
    processes: int = 8  # processes of the check's uid at once (namespaces mode)
    open_files: int = 64
    output_bytes: int = 16 << 10  # stdout+stderr kept; the rest is read and dropped

    @property
    def cpu_limit_s(self) -> float:
        return self.cpu_s if self.cpu_s is not None else self.wall_s + 1.0


@dataclass(frozen=True)
class Job:
    program: str
    tests: str
    test_count: int


@dataclass(frozen=True)
class Run:
    outcome: str  # finished | timeout | no_marker | tampered | error
    passed: int
    test_count: int
    failures: tuple[tuple[int, str], ...]  # (test index, "AssertionError: ..."), the first few
    stopped: str | None  # why the program or its tests stopped before the end, if they did
    exit: str  # "exit code 0", "killed by SIGXCPU", ...
    output: str  # the first Limits.output_bytes of stdout and stderr
    output_bytes: int
    elapsed_ms: float
    detail: str = ""  # what went wrong outside the program (a server that died)
    repeated: tuple[int, ...] = field(default=())

    @property
    def all_passed(self) -> bool:
        return (
            self.outcome == "finished"
            and self.stopped is None
            and self.test_count > 0
            and self.passed == self.test_count
            and not self.repeated
        )


def _server_command(isolation: str, uid: int | None) -> list[str] | None:
    script = [sys.executable, "-I", str(SERVER_SCRIPT)]
    if isolation == "none":
        return script
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    if isolation == "namespaces":
        return [unshare, *_NAMESPACE_FLAGS, "--", *script, "--read-only", "--uid", str(uid)]
    return [unshare, "--user", "--map-root-user", *_NAMESPACE_FLAGS, "--", *script, "--read-only"]


class _Server:
    """One fork server process and its pipes."""

    def __init__(self, isolation: str):
        self.isolation = isolation
        # A uid of its own needs root and the namespaces (elsewhere the Python installation may be
        # unreadable for it); under user namespaces only the user's own uid is mapped.
        self.uid = random.randrange(*_UID_RANGE) if isolation == "namespaces" else None
        command = _server_command(isolation, self.uid)
        if command is None:
            raise OSError("no unshare command on PATH")
        self.work_root = None
        if isolation == "none":
            self.work_root = tempfile.mkdtemp(prefix="curate-sandbox-")
            command += ["--work-root", self.work_root]
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            env=_SERVER_ENV,
            cwd="/",
            start_new_session=True,  # Ctrl-C in the terminal reaches the parent, which stops it
        )
        ready = read_frame(self.process.stdout.fileno())
        if not ready or not ready.get("ready"):
            self.close()
            raise OSError(f"the sandbox server did not start ({isolation}): {self.error_text()}")
        self.writable = tuple(ready.get("writable", ()))
        if self.writable:
            self.close()
            raise OSError(f"mounts stay writable in the sandbox ({isolation}): {', '.join(self.writable)}")

    def error_text(self) -> str:
        self.errors.seek(0)
        text = self.errors.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else f"exit code {self.process.poll()}"

    def run(self, job: Job, limits: Limits) -> Run:
        request = {
            "program": job.program,
            "tests": job.tests,
            "limits": {**asdict(limits), "cpu_s": limits.cpu_limit_s},
        }
        # The server enforces the wall limit; this timer only catches a server that hangs itself.
        timer = threading.Timer(limits.wall_s + _REPLY_GRACE_S, self.process.kill)
        timer.start()
        try:
            write_frame(self.process.stdin.fileno(), request)
            reply = read_frame(self.process.stdout.fileno())
        except OSError:
            reply = None
        finally:
            timer.cancel()
        if reply is None:
            return _error_run(job, f"the sandbox server stopped ({self.error_text()})")
        summary = reply["results"] or {}
        if reply["outcome"] == "error":
            return _error_run(job, f"the sandbox could not confine the check: {summary.get('setup_error')}")
        return Run(
            outcome=reply["outcome"],
            passed=summary.get("passed", 0),
            test_count=job.test_count,
            failures=tuple((int(i), str(text)) for i, text in summary.get("failures", ())),
            stopped=summary.get("stopped"),
            exit=reply["exit"],
            output=reply["output"],
            output_bytes=reply["output_bytes"],
            elapsed_ms=reply["elapsed_ms"],
            repeated=tuple(summary.get("repeated", ())),
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe:
                pipe.close()  # end of file: the server returns from its loop
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.errors.close()
        if self.work_root:
            shutil.rmtree(self.work_root, ignore_errors=True)


def _error_run(job: Job, detail: str) -> Run:
    return Run("error", 0, job.test_count, (), None, "", "", 0, 0.0, detail)


class Sandbox:
    """`workers` fork servers with the best isolation this machine allows (module doc)."""

    def __init__(
        self, workers: int = 1, limits: Limits = Limits(), unsafe_local: bool = False, isolation: str = "auto"
    ):
        if isolation not in ("auto", *ISOLATIONS):
            raise ValueError(f"isolation must be auto or one of {', '.join(ISOLATIONS)}")
        self.workers = max(1, workers)
        self.limits = limits
        self.unsafe_local = unsafe_local
        self._lock = threading.Lock()
        self._servers: list[_Server] = []
        self._idle: Queue[_Server] = Queue()
        self.isolation, first = self._start_first(isolation)
        self._add(first)

    def _start_first(self, wanted: str) -> tuple[str, _Server]:
        tried = []
        for isolation in ISOLATIONS if wanted == "auto" else (wanted,):
            if isolation == "none" and not self.unsafe_local:
                break
            if isolation == "user-namespaces" and os.geteuid() == 0 and wanted == "auto":
                continue  # root gets the full namespaces mode (or this one when it asks for it)
            try:
                return isolation, _Server(isolation)
            except OSError as error:
                tried.append(f"{isolation}: {error}")
        raise SandboxUnavailable(
            "no sandbox isolation is available here ("
            + ("; ".join(tried) or f"{wanted} needs unsafe_local")
            + "): untrusted code is not run without it unless you pass --unsafe-local"
        )

    def _add(self, server: _Server) -> None:
        self._servers.append(server)
        self._idle.put(server)

    def _checkout(self) -> _Server:
        with self._lock:
            if self._idle.empty() and len(self._servers) < self.workers:
                self._add(_Server(self.isolation))
        return self._idle.get()

    def _checkin(self, server: _Server) -> None:
        if not server.alive():
            with self._lock:
                self._servers.remove(server)
                server.close()
                replacement = _Server(self.isolation)
                self._servers.append(replacement)
            server = replacement
        self._idle.put(server)

    @property
    def writable_mounts(self) -> tuple[str, ...]:
        """Mounts the namespaces mode could not make read-only (empty when all are)."""
        return self._servers[0].writable if self._servers else ()

    def run(self, job: Job, limits: Limits | None = None) -> Run:
        """Run one job (under `limits`, default the sandbox's)."""
        server = self._checkout()
        try:
            return server.run(job, limits or self.limits)
        finally:
            self._checkin(server)

    def run_many(self, jobs: Sequence[Job], limits: Limits | None = None) -> list[Run]:
        """Runs in the order of `jobs`, up to `workers` at a time."""
        if len(jobs) <= 1 or self.workers == 1:
            return [self.run(job, limits) for job in jobs]
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda job: self.run(job, limits), jobs))

    def close(self) -> None:
        with self._lock:
            for server in self._servers:
                server.close()
            self._servers.clear()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
