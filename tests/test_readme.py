"""The user guide (docs/GUIDE.md, moved out of the README) runs as written.

Every ```bash block under "## User guide" runs, in order, in one temporary folder that has the
repository's `tests/`, `examples/` and `scripts/` linked in and the project's console scripts on
the PATH. A block whose first line is `# no-test: REASON` is skipped (commands that need a
network endpoint, an API key or a GPU). Background jobs a block starts (`cmd &`) are stopped
when the block ends. Slow: the guide includes `curate demo`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "GUIDE.md"
GUIDE_HEADING = "## User guide"
NO_TEST = "# no-test"
LINKED = ("tests", "examples", "scripts")
BLOCK_TIMEOUT_S = 900
_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)


def guide_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every bash block after the user-guide heading."""
    start = text.index(GUIDE_HEADING)
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text, start)]


def runnable(code: str) -> bool:
    return not code.lstrip().startswith(NO_TEST)


def test_guide_blocks_are_found_and_the_marker_is_recognised():
    blocks = guide_blocks(GUIDE.read_text(encoding="utf-8"))
    assert any("curate demo" in code for _, code in blocks)
    assert any(not runnable(code) for _, code in blocks)
    assert guide_blocks("## User guide\n```bash\n# no-test: gpu\nx\n```\n") == [(2, "# no-test: gpu\nx\n")]
    assert not runnable("# no-test: gpu\nx\n") and runnable("x\n")


@pytest.fixture(scope="module")
def guide_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    for name in LINKED:
        (folder / name).symlink_to(REPO / name)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(
    "line, code",
    [b for b in guide_blocks(GUIDE.read_text(encoding="utf-8")) if runnable(b[1])],
    ids=lambda value: f"line{value}" if isinstance(value, int) else "",
)
def test_readme_block_runs(line: int, code: str, guide_dir: Path):
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("CURATE_DB", None)
    # Output goes to a file, not a pipe: a background job (`server &`) would hold a pipe open forever.
    log_path = guide_dir / f"block-{line}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", code],
            cwd=guide_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            process.wait(timeout=BLOCK_TIMEOUT_S)
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)  # background jobs the block started
            except ProcessLookupError:
                pass
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert process.returncode == 0, (
        f"docs/GUIDE.md line {line} failed (exit {process.returncode}):\n{code}\n{output[-4000:]}"
    )
