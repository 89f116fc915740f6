"""The sandbox against hostile programs: each limit on its own, with the limit it hits.

Every program here runs in the real sandbox (fork server in namespaces, curate/verify/sandbox.py).
A test's program passes only when `run_tests` reports each test; the hostile ones try to pass
(or to do harm) another way. Skipped where this machine allows no isolation at all.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from curate.verify.sandbox import Job, Limits, Sandbox, SandboxUnavailable

ONE_TEST = """
def run_tests(report):
    try:
        assert f(2) == 4
    except BaseException as error:
        report(0, error)
    else:
        report(0)
"""
RIGHT = "def f(x):\n    return 2 * x\n"
WRONG = "def f(x):\n    return 3 * x\n"


@pytest.fixture(scope="module")
def sandbox():
    try:
        box = Sandbox(workers=1, limits=Limits(wall_s=5.0))
    except SandboxUnavailable as error:
        pytest.skip(f"no isolation on this machine: {error}")
    yield box
    box.close()


def run(sandbox: Sandbox, program: str, limits: Limits | None = None, tests: str = ONE_TEST):
    return sandbox.run(Job(program, tests, 1), limits)


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue  # exited while we looked
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
            if str(uid) in uids:
                found.append(int(entry.name))
    return found


def server_uid(sandbox: Sandbox) -> int | None:
    return sandbox._servers[0].uid


# -- the marker decides, not the exit code --------------------------------------------------
def test_right_program_passes_and_wrong_one_fails(sandbox):
    assert sandbox.isolation in ("namespaces", "user-namespaces")
    good, bad = run(sandbox, RIGHT), run(sandbox, WRONG)
    assert good.all_passed and good.outcome == "finished"
    assert not bad.all_passed and bad.failures == ((0, "AssertionError"),)


def test_sys_exit_before_the_asserts_fails(sandbox):
    result = run(sandbox, WRONG + "import sys\nsys.exit(0)\n")
    assert not result.all_passed
    assert "SystemExit" in result.stopped


def test_os_exit_zero_leaves_no_marker(sandbox):
    result = run(sandbox, WRONG + "import os\nos._exit(0)\n")
    assert (result.outcome, result.exit, result.all_passed) == ("no_marker", "exit code 0", False)


def test_atexit_hook_cannot_pass_a_wrong_program(sandbox):
    program = WRONG + "import atexit, os\natexit.register(lambda: os.write(3, b'ok\\n{}'))\n"
    result = run(sandbox, program)
    assert result.outcome == "finished" and not result.all_passed


def test_closing_the_marker_channel_fails(sandbox):
    result = run(sandbox, RIGHT + "import os\nos.close(3)\n")
    assert (result.outcome, result.all_passed) == ("no_marker", False)


def test_overwriting_the_marker_channel_fails(sandbox):
    program = RIGHT + "import os\nos.write(3, b'0' * 32 + b'\\n{\"passed\": 1}')\n"
    result = run(sandbox, program)
    assert (result.outcome, result.all_passed) == ("tampered", False)


def test_marker_channel_replaced_by_devnull_fails(sandbox):
    program = (
        RIGHT + "import os\nnull = os.open(os.devnull, os.O_WRONLY)\nfor fd in range(3, 60):\n    os.dup2(null, fd)\n"
    )
    result = run(sandbox, program)
    assert (result.outcome, result.all_passed) == ("no_marker", False)


def test_a_printed_fake_marker_is_only_output(sandbox):
    result = run(sandbox, WRONG + "print('passed'); import sys; sys.stderr.write('1/1 tests passed')\n")
    assert not result.all_passed and "passed" in result.output


def test_forked_copies_do_not_write_a_marker(sandbox):
    # The child copy leaves through the harness path too; only the harness's own pid may write.
    program = RIGHT + "import os\nif os.fork() == 0:\n    raise SystemExit(0)\nos.wait()\n"
    result = run(sandbox, program)
    assert result.outcome == "finished" and result.all_passed


# -- limits, one by one -----------------------------------------------------------------------
def test_infinite_loop_hits_the_wall_time_limit(sandbox):
    result = run(sandbox, "while True:\n    pass\n", Limits(wall_s=1.0))
    assert result.outcome == "timeout" and result.exit == "killed at the wall-time limit"


def test_sleeping_program_hits_the_wall_time_limit(sandbox):
    result = run(sandbox, "import time\ntime.sleep(60)\n", Limits(wall_s=0.5))
    assert result.outcome == "timeout"


def test_busy_loop_hits_the_cpu_time_limit(sandbox):
    result = run(sandbox, "while True:\n    pass\n", Limits(wall_s=20.0, cpu_s=1.0))
    assert (result.outcome, result.exit) == ("no_marker", "killed by SIGXCPU")
    assert result.elapsed_ms < 15_000


def test_eight_gigabytes_hit_the_address_space_limit(sandbox):
    result = run(sandbox, "block = bytearray(8 << 30)\n" + RIGHT)
    assert result.stopped.startswith("the program raised MemoryError")


def test_huge_file_hits_the_file_size_limit(sandbox):
    program = "with open('big', 'wb') as out:\n    out.write(b'x' * (64 << 20))\n"
    result = run(sandbox, program, Limits(file_bytes=1 << 20))
    assert "File too large" in result.stopped


def test_fork_bomb_hits_the_process_limit_and_leaves_nothing(sandbox):
    if server_uid(sandbox) is None:
        pytest.skip("the process limit is per uid: needs the namespaces mode's own uid")
    program = (
        "import os, time\ncount = 0\nwhile True:\n    pid = os.fork()\n"
        "    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n    count += 1\n    print(count, flush=True)\n"
    )
    result = run(sandbox, program, Limits(processes=8))
    assert "BlockingIOError" in result.stopped
    assert int(result.output.split()[-1]) < 8  # the harness itself is one of the eight
    assert processes_of(server_uid(sandbox)) == []


def test_classic_fork_bomb_costs_one_timeout(sandbox):
    result = run(
        sandbox,
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        Limits(wall_s=1.0),
    )
    assert result.outcome == "timeout"
    assert server_uid(sandbox) is None or processes_of(server_uid(sandbox)) == []
    assert run(sandbox, RIGHT).all_passed


def test_escaped_grandchild_is_swept(sandbox):
    if server_uid(sandbox) is None:
        pytest.skip("the sweep kills by uid: needs the namespaces mode")
    program = RIGHT + "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n    os._exit(0)\n"
    result = run(sandbox, program)
    assert result.all_passed
    assert processes_of(server_uid(sandbox)) == []


def test_huge_output_is_capped(sandbox):
    result = run(sandbox, "print('x' * (40 << 20))\n" + RIGHT, Limits(output_bytes=1000))
    assert result.all_passed
    assert len(result.output) == 1000 and result.output_bytes > 40 << 20


# -- what the program can reach -----------------------------------------------------------------
def test_no_network(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted = []

    def accept():
        try:
            accepted.append(listener.accept())
        except OSError:
            pass

    waiter = threading.Thread(target=accept)
    waiter.start()
    program = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n" + RIGHT
    result = run(sandbox, program)
    waiter.join()
    listener.close()
    assert "Network is unreachable" in result.stopped and accepted == []
    result = run(sandbox, "import socket\nsocket.getaddrinfo('example.com', 443)\n")
    assert result.stopped.startswith("the program raised gaierror")


def test_environment_has_no_user_variables(sandbox, monkeypatch):
    # The servers started before this variable existed, so also start a fresh sandbox under it.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-in-the-parent")
    program = (
        "import os, glob\nseen = str(dict(os.environ))\n"
        "for path in glob.glob('/proc/*/environ'):\n    try:\n        seen += open(path).read()\n"
        "    except OSError:\n        pass\nprint(sorted(os.environ))\n"
        "def f(x):\n    return 2 * x if 'sk-secret' not in seen else 0\n"
    )
    with Sandbox(limits=Limits(wall_s=5.0)) as fresh:
        result = run(fresh, program)
    assert result.all_passed, result
    assert "OPENAI_API_KEY" not in result.output


def test_writes_outside_the_working_directory_fail(sandbox, tmp_path):
    targets = [str(tmp_path / "escaped"), "/tmp/escaped", str(Path.cwd() / "escaped"), "/dev/shm/escaped"]
    program = (
        f"import os\nfailed = []\nfor path in {targets!r}:\n    try:\n        open(path, 'w').write('x')\n"
        "    except OSError as error:\n        failed.append(type(error).__name__)\n"
        "open('inside', 'w').write('fine')\nprint(failed, os.getcwd())\n"
        "def f(x):\n    return 2 * x if len(failed) == 4 else 0\n"
    )
    result = run(sandbox, program)
    assert result.all_passed, result.output
    assert not any(os.path.exists(path) for path in targets)


def test_remounting_read_write_fails(sandbox):
    program = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "remounted = libc.mount(None, b'/', None, 32 | 4096, None)\n"  # MS_REMOUNT | MS_BIND, read-write
        "def f(x):\n    return 2 * x if remounted != 0 else 0\n"
    )
    assert run(sandbox, program).all_passed


def test_killing_its_parent_or_group_costs_only_its_check(sandbox):
    server = sandbox._servers[0]
    for program in (
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        "import os, signal\nos.kill(1, signal.SIGKILL)\n",
        "import os, signal\nos.kill(-1, signal.SIGKILL)\n",
        "import os, signal\nos.killpg(0, signal.SIGKILL)\n",
    ):
        assert not run(sandbox, program + WRONG).all_passed
    assert sandbox._servers[0] is server and server.alive()
    assert run(sandbox, RIGHT).all_passed


def test_a_dead_server_is_replaced(sandbox):
    sandbox._servers[0].process.kill()
    sandbox._servers[0].process.wait()
    result = run(sandbox, RIGHT)
    assert result.outcome == "error" and "stopped" in result.detail
    assert run(sandbox, RIGHT).all_passed


def test_a_check_the_sandbox_cannot_confine_is_an_error_not_a_wrong_answer(sandbox):
    # A limit the kernel refuses (more open files than fs.nr_open) fails before the program runs.
    result = run(sandbox, RIGHT, Limits(open_files=1 << 40))
    assert result.outcome == "error" and "could not confine" in result.detail


# -- isolation choice ---------------------------------------------------------------------------
def test_no_isolation_is_refused_unless_unsafe_local():
    with pytest.raises(SandboxUnavailable, match="--unsafe-local"):
        Sandbox(isolation="none")


def test_no_unshare_on_path_refuses_then_unsafe_local_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="unsafe-local"):
        Sandbox()
    with Sandbox(unsafe_local=True) as unsafe:
        assert unsafe.isolation == "none"
        assert unsafe.run(Job(RIGHT, ONE_TEST, 1)).all_passed
        assert not unsafe.run(Job(WRONG + "import sys\nsys.exit(0)\n", ONE_TEST, 1)).all_passed
        # Even here what the check leaves behind dies: the server is a child subreaper.
        escaped = RIGHT + (
            "import os, time\nready, told = os.pipe()\npid = os.fork()\nif pid == 0:\n    os.setsid()\n"
            "    os.write(told, b'x')\n    time.sleep(60)\nos.read(ready, 1)\nprint(pid, flush=True)\n"
        )
        result = unsafe.run(Job(escaped, ONE_TEST, 1))
        assert result.all_passed
        assert not Path(f"/proc/{int(result.output.split()[0])}").exists()


def test_every_mount_is_read_only(sandbox):
    assert sandbox.writable_mounts == ()


def test_workers_run_in_parallel_in_order():
    with Sandbox(workers=2, limits=Limits(wall_s=5.0)) as box:
        jobs = [Job(RIGHT if i % 2 else WRONG, ONE_TEST, 1) for i in range(10)]
        results = box.run_many(jobs)
    assert [r.all_passed for r in results] == [bool(i % 2) for i in range(10)]


def test_disk_and_open_file_limits(sandbox):
    program = "for i in range(6):\n    with open(f'part{i}', 'wb') as out:\n        out.write(b'x' * (15 << 20))\n"
    assert "No space left on device" in run(sandbox, program).stopped
    program = "files = [open(f'f{i}', 'w') for i in range(200)]\n"
    assert "Too many open files" in run(sandbox, program).stopped


def test_user_namespaces_mode_keeps_the_mounts_read_only():
    # Without a user namespace of its own the check could remount / read-write and write here.
    probe = Path(__file__).with_name("escaped-from-the-sandbox")
    try:
        box = Sandbox(isolation="user-namespaces", limits=Limits(wall_s=5.0))
    except SandboxUnavailable as error:
        pytest.skip(f"no user namespaces here: {error}")
    escape = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "remounted = libc.mount(None, b'/', None, 32 | 4096, None)\n"  # MS_REMOUNT | MS_BIND, read-write
        "print(remounted, ctypes.get_errno())\n"
        f"try:\n    open({str(probe)!r}, 'w')\n    wrote = True\nexcept OSError:\n    wrote = False\n"
        "def f(x):\n    return 2 * x if remounted != 0 and not wrote else 0\n"
    )
    try:
        with box:
            assert box.isolation == "user-namespaces"
            assert run(box, RIGHT).all_passed and not run(box, WRONG).all_passed
            result = run(box, escape)
            assert not run(box, WRONG + "import os\nos._exit(0)\n").all_passed
        assert not probe.exists()
        assert result.all_passed, result
    finally:
        probe.unlink(missing_ok=True)
