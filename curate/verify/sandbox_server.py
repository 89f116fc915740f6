"""The sandbox's fork server: one warm interpreter that forks a limited child per check.

Run as a script by curate/verify/sandbox.py, which imports only its framing from here. It uses
only the standard library, so `python -I` runs it with nothing of the project on the path:

    unshare --net --mount --pid --ipc --uts --fork --kill-child --mount-proc -- \\
        python -I sandbox_server.py --read-only --uid UID      (namespaces mode)
    python -I sandbox_server.py --work-root DIR                (no isolation, --unsafe-local)

Protocol on fds 0/1 (moved to private fds at start): length-prefixed JSON frames. The server
first sends {"ready": true, "writable": [mounts it could not make read-only]}; then for each
request {"program", "tests", "limits"} it sends one result {"outcome", "results", "exit",
"output", "output_bytes", "elapsed_ms"} (see `_run_one`).

Inside a new mount namespace the server remounts every mount read-only and puts a fresh
tmpfs on /tmp, so the child's working directory is the only writable place. Each child:
own session and process group, death signal when the server dies, stdin /dev/null, stdout
and stderr into one capped pipe, the marker pipe on fd 3, every other fd closed, rlimits
(CPU, address space, file size, processes, open files, no core), a uid of its own (root
mode), no new privileges, an environment of four variables. The child runs the program,
then the tests' `run_tests(report)`, then writes `token + "\\n" + json(results)` to fd 3 and
calls os._exit: only a child that got to that line produces the marker, so sys.exit,
atexit hooks, os._exit or a closed fd 3 all end without one. After each check the server kills
the child's group and sweeps up every process the check left (`_sweep`), then reaps them.
"""

from __future__ import annotations

import argparse
import builtins
import ctypes
import fcntl
import gc
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time

# Modules solutions commonly import: loaded once here, so a child's import is a dict lookup.
_WARM_MODULES = (
    "bisect collections copy dataclasses datetime decimal fractions functools hashlib heapq "
    "itertools math operator random re statistics string typing unicodedata"
)
MARKER_FD = 3
MARKER_CAP = 1 << 20
FAILURES_KEPT = 20
TEXT_CAP = 300
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_CHILD_SUBREAPER = 36
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME, _MS_REMOUNT, _MS_BIND = 1024, 2048, 1 << 21, 32, 4096
_MS_MOVE, _MS_REC = 8192, 16384
_MOUNT_FLAGS = {
    "nosuid": _MS_NOSUID,
    "nodev": _MS_NODEV,
    "noexec": _MS_NOEXEC,
    "noatime": _MS_NOATIME,
    "nodiratime": _MS_NODIRATIME,
    "relatime": _MS_RELATIME,
}
_libc = ctypes.CDLL(None, use_errno=True)


# -- framing ----------------------------------------------------------------------------------
def read_frame(fd: int):
    """One JSON frame from fd, or None at end of file."""
    header = _read_exact(fd, 4)
    if header is None:
        return None
    body = _read_exact(fd, struct.unpack(">I", header)[0])
    return None if body is None else json.loads(body)


def write_frame(fd: int, message) -> None:
    body = json.dumps(message).encode()
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- the mount namespace ----------------------------------------------------------------------
def _mount_points() -> list[tuple[str, set[str]]]:
    """(mount point, its per-mount options) from /proc/self/mountinfo, outermost first."""
    points = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")  # "\040" is a space
            points.append((point, set(fields[5].split(","))))
    return points


def _remount_read_only(keep: str) -> list[str]:
    """Remount every mount but `keep` read-only (this namespace only); returns those still writable."""
    for point, options in _mount_points():
        if point == keep:
            continue
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        for name, bit in _MOUNT_FLAGS.items():
            if name in options:
                flags |= bit
        _libc.mount(None, point.encode(), None, flags, None)  # failures are reported below
    writable = []
    for point, _options in _mount_points():
        if point == keep:
            continue
        try:
            if not os.statvfs(point).f_flag & os.ST_RDONLY:
                writable.append(point)
        except OSError:
            pass  # a mount point hidden under another mount: not reachable from here
    return writable


def _mount(source: str | None, target: str, kind: str | None, flags: int, options: str | None = None) -> None:
    encoded = [None if value is None else value.encode() for value in (source, target, kind, options)]
    if _libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]) != 0:
        raise OSError(ctypes.get_errno(), f"mount {source} on {target}: {os.strerror(ctypes.get_errno())}")


def _mount_tmpfs(path: str, size: int) -> None:
    _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size},mode=0755")


def _closed_ancestor(path: str) -> str | None:
    """The outermost directory above `path` that other users may not pass through."""
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:depth])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def _expose_python(staging: str) -> None:
    """Make the interpreter's import path reachable for the check's uid when it lives under a
    private directory (a pyenv under /root): that directory is covered with an empty tmpfs and
    only the import path is bound back into it, so the rest of it is hidden, not exposed."""
    hidden = {}
    for entry in sys.path:
        if os.path.isdir(entry):
            ancestor = _closed_ancestor(os.path.realpath(entry))
            if ancestor is not None:
                hidden[os.path.realpath(entry)] = ancestor
    for index, entry in enumerate(hidden):
        os.mkdir(f"{staging}/{index}")
        _mount(entry, f"{staging}/{index}", None, _MS_BIND | _MS_REC)
    for ancestor in sorted(set(hidden.values())):
        _mount_tmpfs(ancestor, 1 << 20)
    for index, entry in enumerate(hidden):
        os.makedirs(entry, exist_ok=True)
        _mount(f"{staging}/{index}", entry, None, _MS_MOVE)
        os.rmdir(f"{staging}/{index}")


# -- the child --------------------------------------------------------------------------------
def _describe(error: BaseException) -> str:
    try:
        text = str(error)
    except BaseException:  # an exception class of the program's own whose __str__ fails
        text = "<unprintable>"
    name = type(error).__name__
    if isinstance(error, SyntaxError):
        return f"SyntaxError at line {error.lineno}: {error.msg}"[:TEXT_CAP]
    line = _program_line(error)
    return (f"{name}: {text}" if text else name)[:TEXT_CAP] + line


def _program_line(error: BaseException) -> str:
    """' (answer line N)' for the innermost frame of the answer in the traceback."""
    found = ""
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<answer>":
            found = f" (answer line {trace.tb_lineno})"
        trace = trace.tb_next
    return found


def _harness(request: dict, token: str) -> None:
    """Run the program and its tests in this (already limited) process, then write the marker."""
    # Taken before the program runs, so that patching os or json cannot change what they do here.
    write, dumps, exit_now, getpid = os.write, json.dumps, os._exit, os.getpid
    harness_pid = getpid()
    results: dict[int, str | None] = {}
    repeated: list[int] = []

    def report(index, error=None) -> None:
        if index in results:
            repeated.append(index)
            return
        results[index] = None if error is None else _describe(error)

    stopped = None
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        program = compile(request["program"], "<answer>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        stopped = "the program does not compile: " + _describe(error)
    else:
        try:
            exec(program, namespace)
        except BaseException as error:  # SystemExit included: a program that exits never reaches its tests
            stopped = "the program raised " + _describe(error) + " before the tests"
    if stopped is None:
        try:
            exec(compile(request["tests"], "<tests>", "exec", dont_inherit=True), namespace)
            namespace["run_tests"](report)
        except BaseException as error:
            stopped = "the tests stopped: " + _describe(error)
    failures = [(i, text) for i, text in sorted(results.items()) if text is not None]
    summary = {
        "passed": sum(1 for text in results.values() if text is None),
        "failures": failures[:FAILURES_KEPT],
        "stopped": stopped,
        "repeated": repeated[:FAILURES_KEPT],
    }
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass  # the program closed or replaced its streams: its output is not the verdict
    if getpid() != harness_pid:
        exit_now(0)  # a copy the program forked got here: only the harness itself may write the marker
    try:
        write(MARKER_FD, (token + "\n" + dumps(summary)).encode())
    except BaseException:
        pass  # fd 3 closed or replaced by the program: no marker, so no pass
    exit_now(0)


def _child(request: dict, token: str, workdir: str, output_fd: int, marker_fd: int, options) -> None:
    try:
        _confine(request, workdir, output_fd, marker_fd, options)
    except BaseException as error:  # the sandbox, not the program, failed: say so with the token
        os.write(MARKER_FD, (token + "\n" + json.dumps({"setup_error": _describe(error)})).encode())
        os._exit(70)
    _harness(request, token)


def _confine(request: dict, workdir: str, output_fd: int, marker_fd: int, options) -> None:
    """Everything the child does before the program runs (module doc), in this order."""
    os.setsid()
    output = fcntl.fcntl(output_fd, fcntl.F_DUPFD, 10)  # above 0-3, so no dup2 below overwrites it
    marker = fcntl.fcntl(marker_fd, fcntl.F_DUPFD, 10)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.dup2(marker, MARKER_FD)
    os.closerange(MARKER_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    os.chdir(workdir)
    limits = request["limits"]
    cpu = max(1, int(limits["cpu_s"] + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    address_space = options.base_bytes + limits["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Counted per uid: the count is this check's alone only when the uid is this server's alone.
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
    if options.uid is not None:
        os.setgroups([])
        os.setresgid(options.uid, options.uid, options.uid)
        os.setresuid(options.uid, options.uid, options.uid)
    elif options.read_only and _libc.unshare(_CLONE_NEWUSER) != 0:
        # Under user namespaces the check would keep the server's capabilities over this mount
        # namespace (it could remount / read-write); a user namespace of its own owns nothing.
        raise OSError(ctypes.get_errno(), "cannot leave the server's user namespace")
    # After the uid change, which clears it: the child dies with the server (no namespace case).
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"})


# -- one check --------------------------------------------------------------------------------
def _kill_all_visible() -> None:
    """kill(-1, SIGKILL) until nothing is left to signal: everything this process may signal."""
    try:
        for _ in range(1000):
            os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass  # nothing left


def _sweep(uid: int | None) -> None:
    """Kill every process the check left, escaped grandchildren included. As pid 1 of its own
    PID namespace the server signals everything in it but itself; otherwise a forked helper
    takes the check's uid and signals every process of that uid."""
    if os.getpid() == 1:
        _kill_all_visible()
        return
    if uid is None:
        _kill_descendants()
        return
    helper = os.fork()
    if helper == 0:
        try:
            os.setresuid(uid, uid, uid)
            _kill_all_visible()
        finally:
            os._exit(0)
    os.waitpid(helper, 0)


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            if fields[1] == me:
                found.append(int(entry))
    return found


def _kill_descendants() -> None:
    """Without a namespace or a uid of its own: the server is a child subreaper, so what the
    check left is reparented to it once its parent dies; kill its children until none is left."""
    for _ in range(100):
        children = _children()
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap(0.1)


def _reap(grace_s: float = 2.0) -> None:
    """Wait for every child, orphans included (pid 1 of the namespace adopts what the check left,
    all killed by the sweep), so none is left as a zombie counted against the next check."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.0005)


def _exit_text(status: int | None) -> str:
    if status is None:
        return "killed at the wall-time limit"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"killed by {name}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _run_one(request: dict, options, serial: int) -> dict:
    started = time.monotonic()
    limits = request["limits"]
    token = os.urandom(16).hex()
    workdir = os.path.join(options.work_root, f"check-{serial}")
    os.mkdir(workdir, 0o700)
    if options.uid is not None:
        os.chown(workdir, options.uid, options.uid)
    output_r, output_w = os.pipe()
    marker_r, marker_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(output_r)
            os.close(marker_r)
            _child(request, token, workdir, output_w, marker_w, options)
        finally:
            os._exit(70)
    os.close(output_w)
    os.close(marker_w)
    output, output_bytes, marker = bytearray(), 0, bytearray()
    status, timed_out = None, False
    pidfd = os.pidfd_open(pid)
    deadline = started + limits["wall_s"]
    open_fds = {output_r, marker_r}
    while status is None:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([*open_fds, pidfd], [], [], left)
        for fd in ready:
            if fd == pidfd:
                status = os.waitpid(pid, 0)[1]
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
            elif fd == output_r:
                output_bytes += len(chunk)
                output += chunk[: max(0, limits["output_bytes"] - len(output))]
            elif len(marker) <= MARKER_CAP:
                marker += chunk
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is empty already
    _sweep(options.uid)
    if status is None:
        status_after = os.waitpid(pid, 0)[1]
        del status_after  # killed by us: the exit status says nothing about the program
    _reap()
    os.close(pidfd)
    for fd in list(open_fds):  # every writer is dead now: read what is left up to end of file
        os.set_blocking(fd, False)
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break  # a writer outside the uid sweep (no-isolation mode) still holds it
            if not chunk:
                break
            if fd == output_r:
                output_bytes += len(chunk)
                output += chunk[: max(0, limits["output_bytes"] - len(output))]
            elif len(marker) <= MARKER_CAP:
                marker += chunk
    os.close(output_r)
    os.close(marker_r)
    shutil.rmtree(workdir, ignore_errors=True)
    outcome, results = _read_marker(bytes(marker), token)
    if results is not None and "setup_error" in results:
        outcome = "error"
    elif timed_out:
        outcome = "timeout"
    return {
        "outcome": outcome,
        "results": results,
        "exit": _exit_text(None if timed_out else status),
        "output": output.decode("utf-8", "replace"),
        "output_bytes": output_bytes,
        "elapsed_ms": (time.monotonic() - started) * 1000,
    }


def _read_marker(marker: bytes, token: str) -> tuple[str, dict | None]:
    """('finished', summary) for exactly the harness's one message, else why not."""
    if not marker:
        return "no_marker", None
    head, _, body = marker.partition(b"\n")
    if head != token.encode():
        return "tampered", None
    try:
        summary = json.loads(body)
    except ValueError:
        return "tampered", None
    return "finished", summary


# -- the server -------------------------------------------------------------------------------
def _arguments(argv: list[str]):
    parser = argparse.ArgumentParser()
    parser.add_argument("--uid", type=int, default=None)
    parser.add_argument("--work-root", default=None)
    parser.add_argument("--tmpfs-bytes", type=int, default=64 << 20)
    parser.add_argument("--read-only", action="store_true")
    return parser.parse_args(argv)


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def serve(argv: list[str]) -> None:
    options = _arguments(argv)
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the server stops
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans of a check become its children
    sys.dont_write_bytecode = True
    writable: list[str] = []
    if options.read_only:
        _mount_tmpfs("/tmp", options.tmpfs_bytes)
        if options.uid is not None:
            _expose_python("/tmp")
        writable = _remount_read_only(keep="/tmp")
        options.work_root = "/tmp"
    for name in _WARM_MODULES.split():
        __import__(name)
    gc.collect()
    gc.freeze()  # forked children then share the warm heap instead of copying it on first touch
    options.base_bytes = _mapped_bytes()
    write_frame(replies, {"ready": True, "writable": writable})
    serial = 0
    while True:
        request = read_frame(requests)
        if request is None:
            return
        serial += 1
        write_frame(replies, _run_one(request, options, serial))


if __name__ == "__main__":
    serve(sys.argv[1:])
